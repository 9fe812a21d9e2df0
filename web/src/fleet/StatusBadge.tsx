import type { Fleet } from './fleet-types.ts';
import { STATUS_MEANING } from './fleet-types.ts';

/** The fleet's status and, in words, what it means (never colour alone). */
export function StatusBadge({ status }: { status: Fleet['status'] }) {
  return (
    <p className="status-line">
      <span className={`badge badge-${status}`} data-testid="status-badge">
        {status}
      </span>{' '}
      <span data-testid="status-meaning">{STATUS_MEANING[status]}</span>
    </p>
  );
}
