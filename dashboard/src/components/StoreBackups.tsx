import { useCallback, useEffect, useRef, useState } from 'react';
import { Api, explain } from '../api';
import { formatBytes, formatDuration, formatTime, parseTime } from '../format';
import type { Backup, BackupSchedule, Store } from '../types';
import { CloneStore } from './CloneStore';
import { ConfirmDialog } from './ConfirmDialog';
import { ScheduleEditor } from './ScheduleEditor';

export interface StoreBackupsProps {
  api: Api;
  store: Store;
  /** Whether this server takes backups (null while unknown). */
  configured: boolean | null;
  /** Bumped by the detail's Refresh button. */
  refreshKey?: number;
  /** A backup or restore was accepted: the store as the server answered. */
  onChanged: (s: Store) => void;
}

/** "a1b2c3d4": the first 8 characters of a backup's id, as the command line shows it. */
export function shortId(id: string): string {
  return id.slice(0, 8);
}

function took(b: Backup): string {
  const start = parseTime(b.started_at);
  const end = parseTime(b.finished_at);
  return start && end ? formatDuration(end.getTime() - start.getTime()) : '—';
}

/** What a row says after its state: when it expires, or why it failed. */
function outcome(b: Backup): string {
  if (b.state === 'failed') return b.error ?? 'failed';
  if (b.state === 'purged') return 'purged';
  if (b.expires_at) return `kept until ${formatTime(b.expires_at)}`;
  if (b.state === 'running') return 'in progress';
  return 'kept';
}

/**
 * A store's backups (time, reason, state, size, duration, expiry or error),
 * "Back up now" for a Ready store, and "Restore" on each complete backup
 * after a confirmation that names it and says the shop is paused.
 */
export function StoreBackups({ api, store, configured, refreshKey = 0, onChanged }: StoreBackupsProps) {
  const [backups, setBackups] = useState<Backup[] | null>(null);
  const [schedule, setSchedule] = useState<BackupSchedule | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [confirming, setConfirming] = useState<Backup | null>(null);
  const [confirmError, setConfirmError] = useState<string | null>(null);
  const [askUndelete, setAskUndelete] = useState(false);
  const [openedAt] = useState(() => Date.now());
  const seq = useRef(0);

  const load = useCallback(async () => {
    const mine = ++seq.current;
    const [list, sched] = await Promise.allSettled([api.backups(store.id), api.backupSchedule(store.id)]);
    if (mine !== seq.current) return;
    if (list.status === 'fulfilled') {
      setBackups(list.value.backups);
      setError(null);
    } else {
      setError(explain(list.reason));
    }
    // The schedule is a detail: without it the list still stands.
    setSchedule(sched.status === 'fulfilled' ? sched.value : null);
  }, [api, store.id]);

  // Again whenever the store changes (a backup ends: its phase moves on).
  const version = `${store.status}/${store.phase}/${store.updated_at}/${refreshKey}`;
  useEffect(() => {
    // load sets state only after its await (the API's answer).
    // eslint-disable-next-line react-hooks/set-state-in-effect
    void load();
  }, [load, version]);

  const backUp = async () => {
    setBusy(true);
    setError(null);
    setNotice(null);
    try {
      const s = await api.backUp(store.id);
      onChanged(s);
      setNotice(`Backup of “${store.name}” queued; it appears here when it starts.`);
    } catch (e) {
      setError(`Cannot back up “${store.name}”: ${explain(e)}`);
    } finally {
      setBusy(false);
    }
  };

  // What the server answered a schedule change with is what the section shows.
  const scheduleSaved = (view: BackupSchedule) => {
    // A load started before the change would bring the old schedule back.
    seq.current++;
    setSchedule(view);
    setError(null);
    setNotice(`Backup schedule of “${store.name}” saved: ${view.described}.`);
  };

  const restore = async () => {
    const b = confirming;
    if (!b) return;
    setBusy(true);
    setConfirmError(null);
    try {
      const s = await api.restore(store.id, b.id);
      onChanged(s);
      setConfirming(null);
      setNotice(`Restoring “${store.name}” from backup ${shortId(b.id)} of ${formatTime(b.finished_at ?? b.started_at)}: the shop is paused until it is back.`);
    } catch (e) {
      setConfirmError(explain(e));
    } finally {
      setBusy(false);
    }
  };

  const undelete = async () => {
    setBusy(true);
    setConfirmError(null);
    try {
      const s = await api.undelete(store.id);
      onChanged(s);
      setAskUndelete(false);
      setNotice(`Undeleting “${store.name}”: it is provisioned again and its data written back from the final backup.`);
    } catch (e) {
      setConfirmError(explain(e));
    } finally {
      setBusy(false);
    }
  };

  // A deleted store comes back from its newest final backup while it is kept.
  const final =
    store.status === 'Deleted'
      ? backups?.find((b) => b.reason === 'final' && b.state === 'complete' && (parseTime(b.expires_at)?.getTime() ?? 0) > openedAt)
      : undefined;
  const canBackUp = store.status === 'Ready' && store.phase !== 'backing-up';
  const canRestore = store.status === 'Ready' || store.status === 'Failed';
  return (
    <section aria-labelledby="backups-title" className="card">
      <h2 id="backups-title">Backups</h2>
      {configured === false ? (
        <p className="hint">Backups are not configured on this server (see docs/backups.md): nothing can be backed up or restored.</p>
      ) : (
        <p className="hint">
          The store&apos;s database, files and credentials, encrypted in the backup bucket. A restore writes one back in
          place; the shop is paused meanwhile.
        </p>
      )}
      {schedule && configured !== false && store.status !== 'Deleted' ? (
        <dl className="facts" data-testid="backup-schedule">
          <dt>Schedule</dt>
          <dd>{schedule.described}</dd>
          <dt>Next scheduled</dt>
          <dd>{schedule.next_at ? formatTime(schedule.next_at) : 'none'}</dd>
          <dt>Newest good</dt>
          <dd>{schedule.newest_good_at ? formatTime(schedule.newest_good_at) : 'none yet'}</dd>
        </dl>
      ) : null}
      {schedule && configured !== false && store.status !== 'Deleted' ? (
        // A new answer (another own interval) starts the form from it.
        <ScheduleEditor key={String(schedule.own_hours)} api={api} store={store} schedule={schedule} onSaved={scheduleSaved} />
      ) : null}
      {configured !== false && store.status !== 'Deleted' ? (
        <div className="toolbar">
          <button type="button" onClick={() => void backUp()} disabled={busy || !canBackUp} aria-busy={busy}>
            Back up now
          </button>
          {!canBackUp ? (
            <span className="muted small">
              {store.phase === 'backing-up' ? 'a backup is running' : 'only a Ready store can be backed up'}
            </span>
          ) : null}
        </div>
      ) : null}
      {configured !== false && store.status !== 'Deleted' && store.status !== 'Deleting' ? (
        <CloneStore api={api} store={store} backups={backups?.filter((b) => b.state === 'complete') ?? []} />
      ) : null}
      {final ? (
        <div className="toolbar">
          <button
            type="button"
            className="primary"
            onClick={() => {
              setConfirmError(null);
              setAskUndelete(true);
            }}
            disabled={busy}
          >
            Undelete…
          </button>
          <span className="muted small">possible until {formatTime(final.expires_at)}</span>
        </div>
      ) : null}
      {notice ? (
        <p className="notice" role="status">
          {notice}
        </p>
      ) : null}
      {error ? (
        <p className="error" role="alert">
          {error}
        </p>
      ) : null}
      {backups === null ? (
        error ? null : <p aria-busy="true">Loading…</p>
      ) : backups.length === 0 ? (
        <p className="muted">No backups yet.</p>
      ) : (
        <table className="backups">
          <caption className="visually-hidden">Backups of {store.name}, newest first</caption>
          <thead>
            <tr>
              <th scope="col">Taken</th>
              <th scope="col">Reason</th>
              <th scope="col">State</th>
              <th scope="col">Size</th>
              <th scope="col">Took</th>
              <th scope="col">Kept / error</th>
              <th scope="col">
                <span className="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {backups.map((b) => (
              <tr key={b.id} data-backup-id={b.id} data-state={b.state}>
                <th scope="row" data-label="Taken">
                  <time dateTime={b.started_at}>{formatTime(b.started_at)}</time>{' '}
                  <code className="muted small">{shortId(b.id)}</code>
                </th>
                <td data-label="Reason">{b.reason}</td>
                <td data-label="State">
                  <span className={`backup-state backup-${b.state}`}>{b.state}</span>
                </td>
                <td data-label="Size">{b.state === 'complete' ? formatBytes(b.bytes) : '—'}</td>
                <td data-label="Took">{took(b)}</td>
                <td data-label="Kept / error" className={b.state === 'failed' ? 'backup-error' : undefined}>
                  {outcome(b)}
                </td>
                <td className="row-actions">
                  {b.state === 'complete' && canRestore && configured !== false ? (
                    <button
                      type="button"
                      onClick={() => {
                        setConfirmError(null);
                        setConfirming(b);
                      }}
                      disabled={busy}
                      aria-label={`Restore backup ${shortId(b.id)} of ${formatTime(b.started_at)}`}
                    >
                      Restore…
                    </button>
                  ) : null}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {confirming ? (
        <ConfirmDialog
          title={`Restore “${store.name}” from backup ${shortId(confirming.id)}?`}
          confirmLabel="Restore backup"
          busy={busy}
          error={confirmError}
          onCancel={() => setConfirming(null)}
          onConfirm={() => void restore()}
        >
          <p>
            The backup of {formatTime(confirming.finished_at ?? confirming.started_at)} ({confirming.reason},{' '}
            {formatBytes(confirming.bytes)}) replaces the store&apos;s database and files. The shop is paused during the
            restore and comes back when it is done; orders placed since the backup are lost.
          </p>
        </ConfirmDialog>
      ) : null}
      {askUndelete && final ? (
        <ConfirmDialog
          title={`Undelete “${store.name}”?`}
          confirmLabel="Undelete store"
          busy={busy}
          error={confirmError}
          onCancel={() => setAskUndelete(false)}
          onConfirm={() => void undelete()}
        >
          <p>
            The store is provisioned again at <code>{store.url}</code> and its database, files and credentials are
            written back from its final backup of {formatTime(final.finished_at)}. It takes a few minutes.
          </p>
        </ConfirmDialog>
      ) : null}
    </section>
  );
}
