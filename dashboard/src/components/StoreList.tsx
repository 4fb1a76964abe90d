import { useEffect, useRef, useState } from 'react';
import type { ListFilter } from '../api';
import { formatAgo, formatTime, needsBackup, provisionTime } from '../format';
import type { LiveMode } from '../live';
import { hrefFor } from '../router';
import type { Me, Store, StoreStatus } from '../types';
import { Link } from './Link';
import { StatusBadge } from './StatusBadge';

export interface StoreActions {
  retry: (s: Store) => void;
  askDelete: (s: Store) => void;
  /** Ids with a request in flight. */
  pending: ReadonlySet<string>;
}

export interface StoreListProps {
  me: Me;
  stores: Store[] | null;
  /** Stores matching the filter (null while loading). */
  total?: number | null;
  /** More pages can be loaded. */
  more?: boolean;
  onMore?: () => void;
  filter?: ListFilter;
  /** A new filter (the page puts it in its URL). */
  onFilter?: (f: ListFilter) => void;
  mode: LiveMode;
  error: string | null;
  actions: StoreActions;
  /** Re-renders every so often so "5 min ago" and running durations move. */
  now?: number;
  /** With backups configured: store id -> when its newest good backup
   * finished (Ready stores without one in 24 h are marked); null: not marked. */
  newestGood?: ReadonlyMap<string, string> | null;
}

export function LiveIndicator({ mode }: { mode: LiveMode }) {
  const text =
    mode === 'stream'
      ? 'Live'
      : mode === 'connecting'
        ? 'Connecting…'
        : 'Live updates unavailable: refreshing every 5 s while a store is busy';
  return (
    <p className={`live live-${mode}`} data-live={mode}>
      <span aria-hidden="true" className="live-dot" />
      {text}
    </p>
  );
}

const STATUS_CHOICES: StoreStatus[] = ['Provisioning', 'Ready', 'Failed', 'Deleting', 'DeleteFailed', 'Restoring'];
/** Typing in the search box applies after this pause. */
export const SEARCH_DELAY_MS = 300;

export function StoreList({
  me,
  stores,
  total = null,
  more = false,
  onMore,
  filter = {},
  onFilter,
  mode,
  error,
  actions,
  now: givenNow,
  newestGood = null,
}: StoreListProps) {
  // Without a clock from the app, times are relative to the first render.
  const [firstRender] = useState(() => Date.now());
  const now = givenNow ?? firstRender;
  const admin = me.role === 'admin';
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    document.title = 'Stores · Store Weaver';
  }, []);
  // The text boxes apply after a pause; the URL (filter) stays the truth.
  const [q, setQ] = useState(filter.q ?? '');
  const [owner, setOwner] = useState(filter.owner ?? '');
  // A new filter (the URL changed) resets the boxes to it, while rendering.
  const [shownFilter, setShownFilter] = useState({ q: filter.q ?? '', owner: filter.owner ?? '' });
  if ((filter.q ?? '') !== shownFilter.q || (filter.owner ?? '') !== shownFilter.owner) {
    const next = { q: filter.q ?? '', owner: filter.owner ?? '' };
    if (next.q !== shownFilter.q) setQ(next.q);
    if (next.owner !== shownFilter.owner) setOwner(next.owner);
    setShownFilter(next);
  }
  const apply = (f: ListFilter) => {
    const next: ListFilter = {};
    if (f.q?.trim()) next.q = f.q.trim();
    if (f.status) next.status = f.status;
    if (f.owner?.trim()) next.owner = f.owner.trim();
    onFilter?.(next);
  };
  // Only typing schedules a new filter, after a pause; a new filter cancels
  // a pending one.
  const pending = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  useEffect(() => {
    const t = pending;
    return () => clearTimeout(t.current);
  }, [filter.q, filter.owner]);
  const typed = (nextQ: string, nextOwner: string) => {
    setQ(nextQ);
    setOwner(nextOwner);
    clearTimeout(pending.current);
    if (nextQ.trim() === (filter.q ?? '') && nextOwner.trim() === (filter.owner ?? '')) return;
    pending.current = setTimeout(() => apply({ ...filter, q: nextQ, owner: nextOwner }), SEARCH_DELAY_MS);
  };
  const filtered = !!(filter.q || filter.status || filter.owner);
  const shown = stores ?? [];

  return (
    <>
      <div className="page-head">
        <h1 ref={heading} tabIndex={-1} id="page-title">
          {admin ? 'All stores' : 'Your stores'}
        </h1>
        <Link href={hrefFor({ name: 'new' })} className="button primary">
          New store
        </Link>
      </div>
      <LiveIndicator mode={mode} />
      {error ? (
        <p className="error" role="alert">
          {error}
        </p>
      ) : null}
      <form className="filters" role="search" onSubmit={(e) => {
        e.preventDefault();
        apply({ ...filter, q, owner });
      }}>
        <div className="field inline">
          <label htmlFor="store-search">Search</label>
          <input
            id="store-search"
            type="search"
            placeholder="Name, namespace or address"
            value={q}
            maxLength={100}
            onChange={(e) => typed(e.target.value, owner)}
          />
        </div>
        <div className="field inline">
          <label htmlFor="status-filter">Status</label>
          <select
            id="status-filter"
            value={filter.status ?? ''}
            onChange={(e) => apply({ ...filter, q, owner, status: e.target.value as StoreStatus | '' })}
          >
            <option value="">Any</option>
            {STATUS_CHOICES.map((st) => (
              <option key={st} value={st}>
                {st}
              </option>
            ))}
          </select>
        </div>
        {admin ? (
          <div className="field inline">
            <label htmlFor="owner-filter">Owner</label>
            <input
              id="owner-filter"
              type="search"
              placeholder="Everyone"
              value={owner}
              onChange={(e) => typed(q, e.target.value)}
            />
          </div>
        ) : null}
      </form>
      {stores !== null && total !== null ? (
        <p className="count" data-total={total}>
          {shown.length < total ? `Showing ${shown.length} of ${total}` : `${total} ${total === 1 ? 'store' : 'stores'}`}
          {filtered ? ' matching the filter' : ''}
        </p>
      ) : null}
      {stores === null ? (
        <p aria-busy="true">Loading stores…</p>
      ) : shown.length === 0 && filtered ? (
        <div className="empty">
          <p>No stores match the filter.</p>
          <p>
            <Link href={hrefFor({ name: 'list' })}>Show every store</Link>
          </p>
        </div>
      ) : shown.length === 0 ? (
        <div className="empty">
          <p>No stores yet.</p>
          <p>
            <Link href={hrefFor({ name: 'new' })}>Create your first store</Link>: a WooCommerce or Medusa shop with its
            own database, ready in a few minutes.
          </p>
        </div>
      ) : (
        <>
        <table className="stores">
          <caption className="visually-hidden">
            {admin ? 'Every store, newest first' : 'Your stores, newest first'}
          </caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              {admin ? <th scope="col">Owner</th> : null}
              <th scope="col">Status</th>
              <th scope="col">Address</th>
              <th scope="col">Created</th>
              <th scope="col">Provisioning</th>
              <th scope="col">
                <span className="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {shown.map((s) => (
              <StoreRow
                key={s.id}
                store={s}
                admin={admin}
                actions={actions}
                now={now}
                stale={newestGood !== null && needsBackup(s, newestGood.get(s.id), now)}
                newest={newestGood?.get(s.id)}
              />
            ))}
          </tbody>
        </table>
        {more ? (
          <p className="more">
            <button type="button" onClick={onMore}>
              Show more stores
            </button>
          </p>
        ) : null}
        </>
      )}
    </>
  );
}

function StoreRow({
  store: s,
  admin,
  actions,
  now,
  stale,
  newest,
}: {
  store: Store;
  admin: boolean;
  actions: StoreActions;
  now: number;
  stale: boolean;
  newest?: string;
}) {
  const took = provisionTime(s, now);
  const pending = actions.pending.has(s.id);
  return (
    <tr data-store-id={s.id} data-store-name={s.name} data-status={s.status} data-no-backup={stale ? 'true' : undefined}>
      <th scope="row" data-label="Name">
        <Link href={hrefFor({ name: 'store', id: s.id })} className="store-name">
          {s.name}
        </Link>
      </th>
      {admin ? (
        <td data-label="Owner" className="owner">
          {s.owner}
        </td>
      ) : null}
      <td data-label="Status">
        <div>
          <StatusBadge status={s.status} phase={s.phase} />
          {stale ? (
            <span
              className="badge badge-warning no-backup"
              title={newest ? `Newest good backup: ${formatTime(newest)}` : 'No good backup yet'}
            >
              {newest ? 'no backup in 24 h' : 'never backed up'}
            </span>
          ) : null}
          {(s.status === 'Failed' || s.status === 'DeleteFailed') && s.error_message ? (
            <p className="reason">
              <span className="visually-hidden">Reason: </span>
              {s.error_message}
            </p>
          ) : null}
        </div>
      </td>
      <td data-label="Address">
        {s.url ? (
          s.status === 'Ready' ? (
            <a href={s.url} target="_blank" rel="noreferrer noopener" className="url">
              {s.url.replace(/^https?:\/\//, '')}
              <span className="visually-hidden"> (opens in a new tab)</span>
            </a>
          ) : (
            <span className="url muted">{s.url.replace(/^https?:\/\//, '')}</span>
          )
        ) : (
          '—'
        )}
      </td>
      <td data-label="Created">
        <time dateTime={s.created_at} title={formatTime(s.created_at)}>
          {formatAgo(s.created_at, now)}
        </time>
      </td>
      <td data-label="Provisioning">
        {took ? (took.running ? <span className="muted">{took.text} so far</span> : <span>took {took.text}</span>) : '—'}
      </td>
      <td className="row-actions">
        {s.can_retry ? (
          <button
            type="button"
            onClick={() => actions.retry(s)}
            disabled={pending}
            aria-label={`${s.retry_label === 'retry delete' ? 'Retry delete of' : 'Retry'} ${s.name}`}
          >
            {s.retry_label === 'retry delete' ? 'Retry delete' : 'Retry'}
          </button>
        ) : null}
        {s.can_delete ? (
          <button
            type="button"
            className="danger-outline"
            onClick={() => actions.askDelete(s)}
            disabled={pending}
            aria-label={`Delete ${s.name}`}
          >
            Delete
          </button>
        ) : null}
      </td>
    </tr>
  );
}
