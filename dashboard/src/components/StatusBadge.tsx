import { phaseLabel } from '../format';
import type { StoreStatus } from '../types';

const ICON: Record<StoreStatus, string> = {
  Provisioning: '◔',
  Ready: '●',
  Failed: '✕',
  Deleting: '◌',
  DeleteFailed: '✕',
  Deleted: '○',
};

/** The status as a coloured badge that always carries its text. */
export function StatusBadge({ status, phase }: { status: StoreStatus; phase?: string }) {
  const busy = status === 'Provisioning' || status === 'Deleting';
  const showPhase = busy && phase && phase !== 'done';
  return (
    <span className="status">
      <span className={`badge badge-${status.toLowerCase()}`} data-status={status}>
        <span aria-hidden="true" className={busy ? 'badge-icon spin' : 'badge-icon'}>
          {ICON[status] ?? '•'}
        </span>
        {status}
      </span>
      {showPhase ? <span className="phase">{phaseLabel(phase)}</span> : null}
    </span>
  );
}
