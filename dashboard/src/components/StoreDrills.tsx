import { useCallback, useEffect, useRef, useState } from 'react';
import { Api, explain } from '../api';
import { drillResult, drillTook, isOpen, lastGoodWords, newestFinished } from '../drills';
import { formatTime } from '../format';
import type { DrillsView, Store } from '../types';
import { ConfirmDialog } from './ConfirmDialog';

/** How often the drills are asked for while one is under way. */
export const DRILL_POLL_MS = 5_000;
/** How long a drill under way is watched before the section asks for a Refresh instead (a drill takes minutes). */
export const DRILL_WATCH_MS = 30 * 60_000;

export interface StoreDrillsProps {
  api: Api;
  store: Store;
  /** Bumped by the detail's Refresh button. */
  refreshKey?: number;
  pollMs?: number;
  watchMs?: number;
}

/**
 * A store's restore drills: its last good restore (flagged when the newest
 * drill failed, with the reason), the next scheduled drill, the recent
 * drills, and "Run a drill" after a confirmation of what it does. While a
 * drill is under way the list is asked for again every few seconds, for at
 * most `watchMs` (the store's own record does not change during a drill, so
 * the live stream says nothing of it).
 */
export function StoreDrills({ api, store, refreshKey = 0, pollMs = DRILL_POLL_MS, watchMs = DRILL_WATCH_MS }: StoreDrillsProps) {
  const [view, setView] = useState<DrillsView | null>(null);
  // When the view was read: the ages are measured from it (no clock read while rendering).
  const [readAt, setReadAt] = useState(0);
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [asking, setAsking] = useState(false);
  const [busy, setBusy] = useState(false);
  const [confirmError, setConfirmError] = useState<string | null>(null);
  const [gaveUp, setGaveUp] = useState(false);
  const seq = useRef(0);
  // When the drill under way was first seen, for the watch's deadline.
  const watchingSince = useRef<number | null>(null);

  const load = useCallback(
    async (fresh: boolean) => {
      const mine = ++seq.current;
      try {
        const v = await api.drills(store.id);
        if (mine !== seq.current) return;
        setView(v);
        setReadAt(Date.now());
        setError(null);
      } catch (e) {
        if (mine !== seq.current) return;
        setError(`Cannot read the restore drills of “${store.name}”: ${explain(e)}`);
      }
      if (fresh) {
        watchingSince.current = null;
        setGaveUp(false);
      }
    },
    [api, store.id, store.name],
  );

  useEffect(() => {
    // load sets state only after its await (the API's answer).
    // eslint-disable-next-line react-hooks/set-state-in-effect
    void load(true);
  }, [load, refreshKey]);

  // Ask again while a drill is under way: one request after each answer, never two at once.
  const open = view?.drills.some(isOpen) ?? false;
  useEffect(() => {
    if (!open || gaveUp) {
      if (!open) watchingSince.current = null;
      return;
    }
    watchingSince.current ??= Date.now();
    const since = watchingSince.current;
    const t = setTimeout(() => {
      if (Date.now() - since >= watchMs) setGaveUp(true);
      else void load(false);
    }, pollMs);
    return () => clearTimeout(t);
  }, [open, gaveUp, view, load, pollMs, watchMs]);

  const run = async () => {
    setBusy(true);
    setConfirmError(null);
    try {
      await api.runDrill(store.id);
      setAsking(false);
      setNotice(`Restore drill of “${store.name}” queued: its newest complete backup is restored into a throwaway store, checked and deleted. This list follows it.`);
      // The list's answer shows the queued drill, and the watch follows it.
      void load(true);
    } catch (e) {
      setConfirmError(`Cannot run a restore drill of “${store.name}”: ${explain(e)}`);
      // A refusal because one is under way: show that one.
      void load(true);
    } finally {
      setBusy(false);
    }
  };

  const failing = view ? newestFinished(view.drills) : undefined;
  const flagged = failing?.outcome === 'failed' ? failing : undefined;
  const canRun = store.status !== 'Deleted' && store.status !== 'Deleting';
  return (
    <section aria-labelledby="drills-title" className="card">
      <h2 id="drills-title">Restore drills</h2>
      <p className="hint">
        A drill restores the newest complete backup into a throwaway store, checks that it starts and holds what the
        backup counts, then deletes it: proof that the backups restore. This store is not touched.
      </p>
      {view ? (
        <dl className="facts" data-testid="drill-facts">
          <dt>Last good restore</dt>
          <dd data-testid="last-good-restore" data-flagged={flagged ? 'true' : undefined}>
            {view.last_good_at ? (
              <time dateTime={view.last_good_at} title={formatTime(view.last_good_at)}>
                {lastGoodWords(view.last_good_at, readAt)}
              </time>
            ) : (
              'never'
            )}
            {flagged ? <span className="drill-flag"> · the newest drill failed</span> : null}
          </dd>
          <dt>Next scheduled drill</dt>
          <dd>
            {view.next_at
              ? `${formatTime(view.next_at)}${view.every_days ? ` (every ${view.every_days} ${view.every_days === 1 ? 'day' : 'days'})` : ''}`
              : 'none scheduled'}
          </dd>
        </dl>
      ) : null}
      {flagged ? (
        <p className="warning" data-testid="drill-failed">
          <strong>The newest drill failed</strong> ({formatTime(flagged.checked_at ?? flagged.finished_at ?? flagged.created_at)}):{' '}
          {flagged.detail ?? 'no reason was recorded'}
        </p>
      ) : null}
      {canRun ? (
        <div className="toolbar">
          <button
            type="button"
            onClick={() => {
              setConfirmError(null);
              setAsking(true);
            }}
            disabled={busy}
          >
            Run a drill…
          </button>
          {open ? <span className="muted small">a drill is under way</span> : null}
        </div>
      ) : null}
      {notice ? (
        <p className="notice" role="status">
          {notice}
        </p>
      ) : null}
      {gaveUp ? (
        <p className="muted" data-testid="drill-watch-ended">
          The drill is still under way; Refresh to see where it is.
        </p>
      ) : null}
      {error ? (
        <p className="error" role="alert">
          {error}
        </p>
      ) : null}
      {view === null ? (
        error ? null : <p aria-busy="true">Loading…</p>
      ) : view.drills.length === 0 ? (
        <p className="muted">No drills yet.</p>
      ) : (
        <table className="drills">
          <caption className="visually-hidden">Restore drills of {store.name}, newest first</caption>
          <thead>
            <tr>
              <th scope="col">When</th>
              <th scope="col">Reason</th>
              <th scope="col">Result</th>
              <th scope="col">Took</th>
              <th scope="col">Detail</th>
            </tr>
          </thead>
          <tbody>
            {view.drills.map((d) => (
              <tr key={d.id} data-drill-id={d.id} data-outcome={d.outcome ?? 'open'}>
                <th scope="row" data-label="When">
                  <time dateTime={d.created_at}>{formatTime(d.created_at)}</time>
                </th>
                <td data-label="Reason">{d.reason}</td>
                <td data-label="Result">
                  <span className={`drill-result drill-${d.outcome ?? 'open'}`}>{drillResult(d)}</span>
                </td>
                <td data-label="Took">{drillTook(d, readAt)}</td>
                <td data-label="Detail" className="drill-detail">
                  {d.detail ?? '—'}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {asking ? (
        <ConfirmDialog
          title={`Run a restore drill of “${store.name}”?`}
          confirmLabel="Run drill"
          busy={busy}
          error={confirmError}
          onCancel={() => setAsking(false)}
          onConfirm={() => void run()}
        >
          <p>
            The newest complete backup is restored into a throwaway store, checked (it must start and hold what the
            backup counts), then deleted. This store is not touched. It takes a few minutes.
          </p>
        </ConfirmDialog>
      ) : null}
    </section>
  );
}
