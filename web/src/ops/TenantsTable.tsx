import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { FLEET_STATUSES } from '../../../src/domain/fleet.ts';
import { PLANS } from '../../../src/domain/plans.ts';
import { Field, TextField } from '../Field.tsx';
import { callPlatform, type TenantFilters, type TenantRow, tenantsQuery } from './platform-api.ts';

const PAGE_SIZE = 20;
const NO_FILTERS: TenantFilters = { status: '', plan: '', templateId: '' };

/** Every tenant, filtered by status, plan and template, a page at a time (the API's cursors). */
export function TenantsTable({ token, onOpen }: { token: string; onOpen: (tenantId: string) => void }) {
  const [filters, setFilters] = useState<TenantFilters>(NO_FILTERS);
  // The cursors of the pages before this one, so "Previous" needs no cursor of its own from the API.
  const [cursors, setCursors] = useState<Array<string | null>>([null]);
  const cursor = cursors.at(-1) ?? null;
  const page = useQuery({
    queryKey: ['ops', 'tenants', filters, cursor],
    queryFn: () => callPlatform<{ tenants: TenantRow[]; nextCursor: string | null }>(token, tenantsQuery(filters, cursor, PAGE_SIZE)),
    placeholderData: (previous) => previous,
  });
  const filter = (patch: Partial<TenantFilters>) => {
    setFilters((f) => ({ ...f, ...patch }));
    setCursors([null]);
  };

  return (
    <section aria-labelledby="tenants-heading">
      <h2 id="tenants-heading" className="visually-hidden">
        Tenant list
      </h2>
      <div className="filters">
        <Field id="filter-status" label="Status">
          {(aria) => (
            <select {...aria} value={filters.status} onChange={(e) => filter({ status: e.target.value })}>
              <option value="">any</option>
              {FLEET_STATUSES.map((s) => (
                <option key={s}>{s}</option>
              ))}
            </select>
          )}
        </Field>
        <Field id="filter-plan" label="Plan">
          {(aria) => (
            <select {...aria} value={filters.plan} onChange={(e) => filter({ plan: e.target.value })}>
              <option value="">any</option>
              {PLANS.map((p) => (
                <option key={p}>{p}</option>
              ))}
            </select>
          )}
        </Field>
        <TextField id="filter-template" label="Template id" value={filters.templateId} onChange={(v) => filter({ templateId: v })} />
      </div>
      {page.isError && (
        <p className="error" role="alert">
          {page.error.message}
        </p>
      )}
      {page.data && page.data.tenants.length === 0 && <p>No tenant matches these filters.</p>}
      {page.data && page.data.tenants.length > 0 && (
        <div className="table-wrap">
          <table data-testid="tenants">
            <thead>
              <tr>
                <th scope="col">Tenant</th>
                <th scope="col">Status</th>
                <th scope="col">Plan</th>
                <th scope="col">Template</th>
              </tr>
            </thead>
            <tbody>
              {page.data.tenants.map((t) => (
                <tr key={t.id}>
                  <th scope="row">
                    <button type="button" className="link" onClick={() => onOpen(t.tenantId)}>
                      {t.tenantId}
                    </button>
                    <span className="hint"> {t.name}</span>
                  </th>
                  <td>{t.status ?? 'no fleet'}</td>
                  <td>{t.plan}</td>
                  <td>{t.templateId ?? '—'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <nav className="pager" aria-label="Tenant pages">
        <button type="button" disabled={cursors.length === 1} onClick={() => setCursors((c) => c.slice(0, -1))}>
          Previous page
        </button>
        <span data-testid="page-number">Page {cursors.length}</span>
        <button
          type="button"
          disabled={!page.data?.nextCursor}
          onClick={() => page.data?.nextCursor && setCursors((c) => [...c, page.data.nextCursor])}
        >
          Next page
        </button>
      </nav>
    </section>
  );
}
