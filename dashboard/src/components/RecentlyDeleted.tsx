import { useCallback, useEffect, useState } from 'react';
import { Api, explain } from '../api';
import { formatTime } from '../format';
import { hrefFor } from '../router';
import type { DeletedStore, Me, Store } from '../types';
import { ConfirmDialog } from './ConfirmDialog';
import { Link } from './Link';

export interface RecentlyDeletedProps {
  api: Api;
  me: Me;
  /** Whether this server takes backups (null while unknown). */
  configured: boolean | null;
  /** An undelete was accepted: the store as the server answered. */
  onUndeleted: (s: Store) => void;
}

/**
 * Deleted stores whose final backup is still kept, with "Undelete": the
 * store comes back under its old name and address from that backup.
 */
export function RecentlyDeleted({ api, me, configured, onUndeleted }: RecentlyDeletedProps) {
  const [stores, setStores] = useState<DeletedStore[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [confirming, setConfirming] = useState<DeletedStore | null>(null);
  const [confirmError, setConfirmError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const admin = me.role === 'admin';

  const load = useCallback(async () => {
    try {
      setStores((await api.deletedStores()).stores);
      setError(null);
    } catch (e) {
      setError(explain(e));
    }
  }, [api]);

  useEffect(() => {
    document.title = 'Recently deleted · Store Weaver';
    // load sets state only after its await (the API's answer).
    // eslint-disable-next-line react-hooks/set-state-in-effect
    void load();
  }, [load]);

  const undelete = async () => {
    const d = confirming;
    if (!d) return;
    setBusy(true);
    setConfirmError(null);
    try {
      const s = await api.undelete(d.id);
      setConfirming(null);
      onUndeleted(s);
    } catch (e) {
      setConfirmError(explain(e));
    } finally {
      setBusy(false);
    }
  };

  return (
    <>
      <p className="breadcrumb">
        <Link href={hrefFor({ name: 'list' })}>← Stores</Link>
      </p>
      <h1 tabIndex={-1} id="page-title">
        Recently deleted
      </h1>
      <p className="hint">
        A store deleted with a final backup can be brought back, under its old name and address, until that backup
        expires.
        {configured === false ? ' Backups are not configured on this server, so new deletes cannot be undone.' : ''}
      </p>
      {error ? (
        <p className="error" role="alert">
          {error}
        </p>
      ) : null}
      {stores === null ? (
        error ? null : <p aria-busy="true">Loading…</p>
      ) : stores.length === 0 ? (
        <div className="empty">
          <p>No deleted store can be brought back.</p>
        </div>
      ) : (
        <table className="stores deleted">
          <caption className="visually-hidden">Deleted stores that can be undeleted, newest first</caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              {admin ? <th scope="col">Owner</th> : null}
              <th scope="col">Deleted</th>
              <th scope="col">Final backup</th>
              <th scope="col">Undelete until</th>
              <th scope="col">
                <span className="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {stores.map((d) => (
              <tr key={d.id} data-store-name={d.name}>
                <th scope="row" data-label="Name">
                  <Link href={hrefFor({ name: 'store', id: d.id })} className="store-name">
                    {d.name}
                  </Link>
                  <span className="muted small"> {d.engine}</span>
                </th>
                {admin ? (
                  <td data-label="Owner" className="owner">
                    {d.owner}
                  </td>
                ) : null}
                <td data-label="Deleted">{formatTime(d.deleted_at)}</td>
                <td data-label="Final backup">{formatTime(d.backup.finished_at)}</td>
                <td data-label="Undelete until">{formatTime(d.backup.expires_at)}</td>
                <td className="row-actions">
                  <button
                    type="button"
                    className="primary"
                    onClick={() => {
                      setConfirmError(null);
                      setConfirming(d);
                    }}
                    aria-label={`Undelete ${d.name}`}
                  >
                    Undelete
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {confirming ? (
        <ConfirmDialog
          title={`Undelete “${confirming.name}”?`}
          confirmLabel="Undelete store"
          busy={busy}
          error={confirmError}
          onCancel={() => setConfirming(null)}
          onConfirm={() => void undelete()}
        >
          <p>
            The store is provisioned again at <code>{confirming.url}</code> and its database, files and credentials are
            written back from its final backup of {formatTime(confirming.backup.finished_at)}. It takes a few minutes.
          </p>
        </ConfirmDialog>
      ) : null}
    </>
  );
}
