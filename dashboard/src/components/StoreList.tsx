import { useEffect, useMemo, useRef, useState } from 'react';
import { formatAgo, formatTime, provisionTime } from '../format';
import type { LiveMode } from '../live';
import { hrefFor } from '../router';
import type { Me, Store } from '../types';
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
  mode: LiveMode;
  error: string | null;
  actions: StoreActions;
  /** Re-renders every so often so "5 min ago" and running durations move. */
  now?: number;
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

export function StoreList({ me, stores, mode, error, actions, now = Date.now() }: StoreListProps) {
  const admin = me.role === 'admin';
  const [owner, setOwner] = useState('');
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    document.title = 'Stores · Store Weaver';
  }, []);

  const owners = useMemo(() => Array.from(new Set((stores ?? []).map((s) => s.owner))).sort(), [stores]);
  const shown = useMemo(() => (stores ?? []).filter((s) => !owner || s.owner === owner), [stores, owner]);

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
      {admin && owners.length > 1 ? (
        <div className="field inline">
          <label htmlFor="owner-filter">Owner</label>
          <select id="owner-filter" value={owner} onChange={(e) => setOwner(e.target.value)}>
            <option value="">Everyone ({stores?.length ?? 0})</option>
            {owners.map((o) => (
              <option key={o} value={o}>
                {o}
              </option>
            ))}
          </select>
        </div>
      ) : null}
      {stores === null ? (
        <p aria-busy="true">Loading stores…</p>
      ) : shown.length === 0 ? (
        <div className="empty">
          <p>{admin && owner ? `${owner} has no stores.` : 'No stores yet.'}</p>
          <p>
            <Link href={hrefFor({ name: 'new' })}>Create your first store</Link>: a WordPress + WooCommerce shop with its
            own database, ready in a few minutes.
          </p>
        </div>
      ) : (
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
              <StoreRow key={s.id} store={s} admin={admin} actions={actions} now={now} />
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}

function StoreRow({ store: s, admin, actions, now }: { store: Store; admin: boolean; actions: StoreActions; now: number }) {
  const took = provisionTime(s, now);
  const pending = actions.pending.has(s.id);
  return (
    <tr data-store-id={s.id} data-store-name={s.name} data-status={s.status}>
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
          {s.status === 'Failed' && s.error_message ? (
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
          <button type="button" onClick={() => actions.retry(s)} disabled={pending} aria-label={`Retry ${s.name}`}>
            Retry
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
