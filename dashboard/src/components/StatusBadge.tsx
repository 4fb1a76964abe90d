import { isChanging, phaseLabel } from '../format';
import type { StoreStatus } from '../types';

const ICON: Record<StoreStatus, string> = {
  Provisioning: '◔',
  Ready: '●',
  Failed: '✕',
  Deleting: '◌',
  DeleteFailed: '✕',
  Deleted: '○',
  Restoring: '◑',
};

/** The status as a coloured badge that always carries its text, with the
 * step while busy, and "upgrading"/"rolling back" on a Ready store that is
 * being changed (it keeps serving meanwhile, so it stays Ready). */
export function StatusBadge({ status, phase }: { status: StoreStatus; phase?: string }) {
  const busy = status === 'Provisioning' || status === 'Deleting' || status === 'Restoring';
  const changing = status === 'Ready' && !!phase && isChanging(phase);
  const showPhase = (busy && phase && phase !== 'done') || changing;
  return (
    <span className="status">
      <span className={`badge badge-${status.toLowerCase()}`} data-status={status}>
        <span aria-hidden="true" className={busy ? 'badge-icon spin' : 'badge-icon'}>
          {ICON[status] ?? '•'}
        </span>
        {status}
      </span>
      {showPhase && phase ? (
        <span className={changing ? 'phase phase-changing' : 'phase'}>
          {changing ? <span aria-hidden="true" className="badge-icon spin">◔</span> : null}
          {phaseLabel(phase)}
        </span>
      ) : null}
    </span>
  );
}
