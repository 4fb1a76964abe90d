import { useId, useState } from 'react';
import { formatTime } from '../format';
import type { BackupSummary, Store } from '../types';
import { ConfirmDialog } from './ConfirmDialog';

export interface DeleteConfirmProps {
  store: Store;
  /** The server's backup summary (null: not known, e.g. it did not answer). */
  summary: BackupSummary | null;
  busy?: boolean;
  error?: string | null;
  onCancel: () => void;
  /** `noBackup`: the user chose to delete without the final backup. */
  onConfirm: (noBackup: boolean) => void;
}

/**
 * The delete confirmation, saying the truth about what is kept: with
 * backups configured a final backup is taken first and kept N days for an
 * undelete, unless the user explicitly ticks "delete without a backup";
 * without backups (or for a store that never became Ready, which has no
 * final backup to take) the delete cannot be undone.
 */
export function DeleteConfirm({ store, summary, busy, error, onCancel, onConfirm }: DeleteConfirmProps) {
  const [noBackup, setNoBackup] = useState(false);
  const [now] = useState(() => Date.now());
  const optOutId = useId();
  const days = summary?.configured ? summary.keep_deleted_days : null;
  // The engine skips the final backup of a store that never became Ready.
  const keeps = days !== null && days !== undefined && !!store.ready_at;
  const until = keeps ? formatTime(new Date(now + days * 86_400_000).toISOString()).slice(0, 10) : '';
  const removes = (
    <>
      the store is uninstalled and its namespace <code>{store.namespace}</code> deleted with all of its data (products,
      orders, database)
    </>
  );
  return (
    <ConfirmDialog
      title={`Delete “${store.name}”?`}
      confirmLabel={keeps && noBackup ? 'Delete without a backup' : 'Delete store'}
      busy={busy}
      error={error}
      onCancel={onCancel}
      onConfirm={() => onConfirm(keeps && noBackup)}
    >
      {keeps && !noBackup ? (
        <p data-testid="delete-consequence">
          A final backup (database, files, credentials) is taken first and kept {days} {days === 1 ? 'day' : 'days'},
          until {until}: <strong>Undelete</strong> under Recently deleted brings the store back until then. Then{' '}
          {removes}.
        </p>
      ) : (
        <p data-testid="delete-consequence">
          {keeps ? 'No final backup is taken: ' : 'This '}
          {keeps ? removes : <>uninstalls the store and deletes its namespace <code>{store.namespace}</code> and all of its data (products, orders, database)</>}
          . It cannot be undone.
          {summary === null ? ' (Whether backups are configured could not be checked.)' : ''}
          {summary?.configured && !store.ready_at ? ' The store never became Ready, so there is nothing to back up.' : ''}
        </p>
      )}
      {keeps ? (
        <p className="opt-out">
          <input id={optOutId} type="checkbox" checked={noBackup} onChange={(e) => setNoBackup(e.target.checked)} disabled={busy} />
          <label htmlFor={optOutId}>Delete without a backup: nothing is kept and the delete cannot be undone</label>
        </p>
      ) : null}
    </ConfirmDialog>
  );
}
