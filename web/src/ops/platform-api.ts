import { callApi } from '../api.ts';

// Session storage only: the platform token is asked for once per tab and gone when the tab closes.
const STORAGE_KEY = 'agent-fleet.platform-token';

export function loadPlatformToken(): string | null {
  try {
    return sessionStorage.getItem(STORAGE_KEY);
  } catch {
    return null;
  }
}

export function savePlatformToken(token: string | null): void {
  if (token) sessionStorage.setItem(STORAGE_KEY, token);
  else sessionStorage.removeItem(STORAGE_KEY);
}

/** Calls a platform route with the X-Platform-Token header; errors carry the API's message. */
export function callPlatform<T>(token: string, path: string, init: RequestInit & { json?: unknown } = {}): Promise<T> {
  const headers = new Headers(init.headers);
  headers.set('x-platform-token', token);
  return callApi<T>(null, path, { ...init, headers });
}

/** A tenant as GET /api/tenants lists it. */
export interface TenantRow {
  id: string;
  tenantId: string;
  name: string;
  plan: string;
  kind: 'org' | 'personal';
  clerkOrgId: string | null;
  clerkUserId: string | null;
  status: string | null;
  templateId: string | null;
  createdAt: string;
}

export interface TenantFilters {
  status: string;
  plan: string;
  templateId: string;
}

/** The query string of one page of GET /api/tenants. */
export function tenantsQuery(f: TenantFilters, cursor: string | null, limit: number): string {
  const q = new URLSearchParams({ limit: String(limit) });
  if (f.status) q.set('status', f.status);
  if (f.plan) q.set('plan', f.plan);
  if (f.templateId.trim()) q.set('templateId', f.templateId.trim());
  if (cursor) q.set('cursor', cursor);
  return `/api/tenants?${q}`;
}
