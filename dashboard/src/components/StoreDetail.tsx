import { useCallback, useEffect, useRef, useState } from 'react';
import { Api, ApiError, explain } from '../api';
import { actionLabel, formatTime, isBusy, isChanging, phaseLabel, provisionTime, settingsText } from '../format';
import { hrefFor } from '../router';
import type { AuditEntry, Credentials, Detail, Me, Store } from '../types';
import { Link } from './Link';
import type { StoreActions } from './StoreList';
import { StatusBadge } from './StatusBadge';
import { StoreBackups } from './StoreBackups';
import { StoreChanges } from './StoreChanges';
import { StoreDrills } from './StoreDrills';

export const DETAIL_REFRESH_MS = 10_000;

export interface StoreDetailProps {
  api: Api;
  me: Me;
  id: string;
  /** The store as the live list knows it (newer than the last detail fetch). */
  live?: Store;
  actions: StoreActions;
  refreshMs?: number;
  /** Whether this server takes backups (null while unknown). */
  backupsConfigured?: boolean | null;
}

function newer(a: Store | undefined, b: Store | undefined): Store | undefined {
  if (!a) return b;
  if (!b) return a;
  return a.updated_at >= b.updated_at ? a : b;
}

export function StoreDetail({ api, me, id, live, actions, refreshMs = DETAIL_REFRESH_MS, backupsConfigured = null }: StoreDetailProps) {
  const [detail, setDetail] = useState<Detail | null>(null);
  const [record, setRecord] = useState<Store | undefined>(undefined);
  const [timeline, setTimeline] = useState<AuditEntry[] | null>(null);
  const [clusterError, setClusterError] = useState<string | null>(null);
  const [timelineError, setTimelineError] = useState<string | null>(null);
  const [missing, setMissing] = useState<string | null>(null);
  const [loading, setLoading] = useState(false);
  const [loadedAt, setLoadedAt] = useState<number | null>(null);
  // Bumped by the Refresh button: the history section reloads too.
  const [refreshKey, setRefreshKey] = useState(0);
  const seq = useRef(0);

  // Loads run on their own (first, when the store changes, while it is busy)
  // and on the Refresh button, which alone shows "Refreshing…".
  const load = useCallback(async () => {
    const mine = ++seq.current;
    const [d, t] = await Promise.allSettled([api.detail(id), api.timeline(id)]);
    if (mine !== seq.current) return;
    if (d.status === 'fulfilled') {
      setDetail(d.value);
      // Never back to an older record than a change's answer already gave.
      const fetched = d.value.store;
      setRecord((r) => newer(fetched, r));
      setClusterError(null);
      setMissing(null);
    } else if (d.reason instanceof ApiError && (d.reason.status === 404 || d.reason.status === 400)) {
      setMissing(d.reason.message);
    } else {
      // The cluster did not answer: still show the record.
      setClusterError(explain(d.reason));
      try {
        const s = await api.getStore(id);
        if (mine === seq.current) setRecord(s);
      } catch (e) {
        if (mine === seq.current && e instanceof ApiError && e.status === 404) setMissing(e.message);
      }
    }
    if (t.status === 'fulfilled') {
      setTimeline(t.value.entries);
      setTimelineError(null);
    } else if (!(t.reason instanceof ApiError && t.reason.status === 404)) {
      setTimelineError(explain(t.reason));
    }
    setLoading(false);
    setLoadedAt(Date.now());
  }, [api, id]);

  const store = newer(live, record);
  const version = store ? `${store.status}/${store.phase}/${store.updated_at}` : '';

  // Load now, again whenever the store changes, and every so often while busy.
  useEffect(() => {
    // load sets state only after its await (the API's answer), which is what
    // an effect may do; the rule does not look past the async call.
    // eslint-disable-next-line react-hooks/set-state-in-effect
    void load();
  }, [load, version]);
  const busy = store ? isBusy(store.status) || isChanging(store.phase) : false;
  useEffect(() => {
    if (!busy) return;
    const t = setInterval(() => void load(), refreshMs);
    return () => clearInterval(t);
  }, [busy, load, refreshMs]);

  useEffect(() => {
    document.title = `${store?.name ?? 'Store'} · Store Weaver`;
  }, [store?.name]);

  if (missing) {
    return (
      <>
        <h1 tabIndex={-1} id="page-title">
          Store not found
        </h1>
        <p className="error" role="alert">
          {missing}
        </p>
        <p>
          <Link href={hrefFor({ name: 'list' })}>Back to the stores</Link>
        </p>
      </>
    );
  }
  if (!store) {
    return (
      <>
        <h1 tabIndex={-1} id="page-title">
          Store
        </h1>
        {clusterError ? (
          <p className="error" role="alert">
            {clusterError}
          </p>
        ) : (
          <p aria-busy="true">Loading…</p>
        )}
      </>
    );
  }

  const took = provisionTime(store);
  const pending = actions.pending.has(store.id);
  const owner = store.owner === me.user;
  return (
    <>
      <p className="breadcrumb">
        <Link href={hrefFor({ name: 'list' })}>← Stores</Link>
      </p>
      <div className="page-head">
        <h1 tabIndex={-1} id="page-title">
          {store.name}
        </h1>
        <StatusBadge status={store.status} phase={store.phase} />
      </div>
      {(store.status === 'Failed' || store.status === 'DeleteFailed') && store.error_message ? (
        <div className="error failed-reason" role="alert">
          <strong>Why it failed:</strong> {store.error_message}
        </div>
      ) : null}
      <div className="toolbar">
        {store.can_retry ? (
          <button type="button" className="primary" onClick={() => actions.retry(store)} disabled={pending}>
            {store.retry_label === 'retry delete' ? 'Retry delete' : 'Retry'}
          </button>
        ) : null}
        {store.can_delete ? (
          <button type="button" className="danger-outline" onClick={() => actions.askDelete(store)} disabled={pending}>
            Delete…
          </button>
        ) : null}
        <button
          type="button"
          onClick={() => {
            setLoading(true);
            setRefreshKey((k) => k + 1);
            void load();
          }}
          disabled={loading}
          aria-busy={loading}
        >
          {loading ? 'Refreshing…' : 'Refresh'}
        </button>
        {loadedAt ? (
          <span className="muted small" aria-live="off">
            updated {formatTime(new Date(loadedAt).toISOString())}
          </span>
        ) : null}
      </div>

      <section aria-labelledby="overview-title" className="card">
        <h2 id="overview-title">Overview</h2>
        <dl className="facts">
          <dt>Address</dt>
          <dd>
            {store.status === 'Ready' ? (
              <a href={store.url} target="_blank" rel="noreferrer noopener">
                {store.url}
                <span className="visually-hidden"> (opens in a new tab)</span>
              </a>
            ) : (
              <span className="muted">{store.url || '—'}</span>
            )}
          </dd>
          <dt>Step</dt>
          <dd>{phaseLabel(store.phase)}</dd>
          {me.role === 'admin' || !owner ? (
            <>
              <dt>Owner</dt>
              <dd>{store.owner}</dd>
            </>
          ) : null}
          <dt>Namespace</dt>
          <dd>
            <code>{store.namespace}</code>
          </dd>
          <dt>Engine</dt>
          <dd>{store.engine}</dd>
          <dt>Created</dt>
          <dd>{formatTime(store.created_at)}</dd>
          <dt>Provisioning</dt>
          <dd>{took ? (took.running ? `${took.text} so far` : `took ${took.text}`) : '—'}</dd>
          <dt>Ready since</dt>
          <dd>{formatTime(store.ready_at)}</dd>
          <dt>Attempts</dt>
          <dd>{store.attempts}</dd>
          <dt>Chart version</dt>
          <dd data-testid="chart-version">{store.chart_version ?? '—'}</dd>
          <dt>Helm revision</dt>
          <dd data-testid="helm-revision">{store.helm_revision ?? '—'}</dd>
          <dt>Settings</dt>
          <dd data-testid="settings">
            <code>{settingsText(store.settings)}</code>
          </dd>
          {store.deleted_at ? (
            <>
              <dt>Deleted</dt>
              <dd>{formatTime(store.deleted_at)}</dd>
            </>
          ) : null}
          {detail?.health ? (
            <>
              <dt>Health</dt>
              <dd>
                <span className={`health health-${detail.health.state}`}>{detail.health.state}</span>
                {detail.health.workloads ? ` · ${detail.health.ready_workloads}/${detail.health.workloads} workloads ready` : ''}
                {detail.health.summary && !/^\d+\/\d+ workloads ready$/.test(detail.health.summary) ? (
                  <span className="muted"> · {detail.health.summary}</span>
                ) : null}
              </dd>
            </>
          ) : null}
        </dl>
      </section>

      {owner && (store.status === 'Ready' || store.status === 'Provisioning') ? (
        <CredentialsPanel api={api} store={store} />
      ) : null}

      <StoreBackups
        api={api}
        store={store}
        configured={backupsConfigured}
        refreshKey={refreshKey}
        onChanged={(s) => setRecord((r) => newer(s, r))}
      />

      {backupsConfigured !== false ? <StoreDrills api={api} store={store} refreshKey={refreshKey} /> : null}

      {store.status !== 'Deleted' && store.status !== 'Deleting' ? (
        <StoreChanges
          api={api}
          store={store}
          admin={me.role === 'admin'}
          refreshKey={refreshKey}
          onChanged={(s) => setRecord((r) => newer(s, r))}
        />
      ) : null}

      <section aria-labelledby="resources-title" className="card">
        <h2 id="resources-title">Resources</h2>
        {clusterError ? (
          <p className="error" role="alert">
            {clusterError}
          </p>
        ) : null}
        {detail === null ? (
          clusterError ? null : <p aria-busy="true">Loading…</p>
        ) : detail.resources.length === 0 ? (
          <p className="muted">
            {store.status === 'Deleted' ? 'The store is deleted: nothing is left in the cluster.' : 'No resources in the namespace yet.'}
          </p>
        ) : (
          <table className="resources">
            <caption className="visually-hidden">Kubernetes resources in {store.namespace}</caption>
            <thead>
              <tr>
                <th scope="col">Kind</th>
                <th scope="col">Name</th>
                <th scope="col">Ready</th>
                <th scope="col">Status</th>
              </tr>
            </thead>
            <tbody>
              {detail.resources.map((r) => (
                <tr key={`${r.kind}/${r.name}`} className={r.ok ? 'ok' : 'not-ok'}>
                  <td data-label="Kind">{r.kind}</td>
                  <th scope="row" data-label="Name">
                    {r.name}
                  </th>
                  <td data-label="Ready">
                    <span className={r.ok ? 'mark ok' : 'mark not-ok'}>
                      <span aria-hidden="true">{r.ok ? '✓' : '…'}</span> {r.ok ? 'ready' : 'not ready'}
                    </span>
                    {r.ready ? <span className="muted"> ({r.ready})</span> : null}
                  </td>
                  <td data-label="Status">{r.status || '—'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>

      <section aria-labelledby="events-title" className="card">
        <h2 id="events-title">Events</h2>
        <p className="hint">Kubernetes events in the store&apos;s namespace, newest first.</p>
        {detail === null ? null : detail.events.length === 0 ? (
          <p className="muted">No events.</p>
        ) : (
          <ol className="events">
            {detail.events.map((e, i) => (
              <li key={i} className={e.warning ? 'event warning' : 'event'}>
                <div className="event-head">
                  {e.warning ? <span className="badge badge-warning">Warning</span> : <span className="badge badge-normal">Normal</span>}
                  <strong>{e.reason}</strong>
                  <span className="muted">{e.object}</span>
                  <time dateTime={e.at ?? undefined} className="muted small">
                    {formatTime(e.at)}
                  </time>
                  {e.count > 1 ? <span className="muted small">×{e.count}</span> : null}
                </div>
                <p className="event-message">{e.message}</p>
              </li>
            ))}
          </ol>
        )}
      </section>

      <section aria-labelledby="timeline-title" className="card">
        <h2 id="timeline-title">Timeline</h2>
        <p className="hint">Who did what to this store, from the audit log.</p>
        {timelineError ? (
          <p className="error" role="alert">
            {timelineError}
          </p>
        ) : null}
        {timeline === null ? null : timeline.length === 0 ? (
          <p className="muted">Nothing recorded yet.</p>
        ) : (
          <ol className="timeline">
            {timeline.map((t) => (
              <li key={t.id} className={`outcome-${t.outcome}`}>
                <time dateTime={t.at}>{formatTime(t.at)}</time>{' '}
                <strong>{actionLabel(t.action)}</strong> <span className="outcome">{t.outcome}</span>{' '}
                <span className="muted">
                  by {t.actor} via {t.via}
                </span>
                {t.detail ? <p className="timeline-detail">{t.detail}</p> : null}
              </li>
            ))}
          </ol>
        )}
      </section>
    </>
  );
}

function CredentialsPanel({ api, store }: { api: Api; store: Store }) {
  const [creds, setCreds] = useState<Credentials | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [copied, setCopied] = useState(false);

  const reveal = async () => {
    setBusy(true);
    setError(null);
    try {
      setCreds(await api.credentials(store.id));
    } catch (e) {
      setError(explain(e));
    } finally {
      setBusy(false);
    }
  };
  const copy = async () => {
    if (!creds) return;
    try {
      await navigator.clipboard.writeText(creds.password);
      setCopied(true);
      setTimeout(() => setCopied(false), 2000);
    } catch {
      setError('The browser did not allow copying; select the password and copy it by hand.');
    }
  };

  return (
    <section aria-labelledby="creds-title" className="card">
      {/* What the login is for comes with it (the engine's admin). */}
      <h2 id="creds-title">{creds?.what ?? 'Store admin'}</h2>
      {creds ? (
        <>
          <dl className="facts">
            <dt>Sign-in page</dt>
            <dd>
              <a href={creds.login_url} target="_blank" rel="noreferrer noopener">
                {creds.login_url}
                <span className="visually-hidden"> (opens in a new tab)</span>
              </a>
            </dd>
            <dt>Username</dt>
            <dd>
              <code>{creds.username}</code>
            </dd>
            <dt>Password</dt>
            <dd>
              <code className="secret" data-testid="admin-password">
                {creds.password}
              </code>
            </dd>
          </dl>
          <div className="toolbar">
            <button type="button" onClick={() => void copy()}>
              {copied ? 'Copied' : 'Copy password'}
            </button>
            <button type="button" onClick={() => setCreds(null)}>
              Hide
            </button>
          </div>
        </>
      ) : (
        <>
          <p className="hint">The admin password is shown on request; each reveal is recorded in the store&apos;s timeline.</p>
          <button type="button" onClick={() => void reveal()} disabled={busy} aria-busy={busy}>
            {busy ? 'Fetching…' : 'Show admin credentials'}
          </button>
        </>
      )}
      {error ? (
        <p className="error" role="alert">
          {error}
        </p>
      ) : null}
    </section>
  );
}
