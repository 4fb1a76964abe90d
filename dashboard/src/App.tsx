import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { Api, ApiError, explain, type ListFilter } from './api';
import { CreateStore } from './components/CreateStore';
import { DeleteConfirm } from './components/DeleteConfirm';
import { Link } from './components/Link';
import { RecentlyDeleted } from './components/RecentlyDeleted';
import { SignIn } from './components/SignIn';
import { StoreDetail } from './components/StoreDetail';
import { StoreList, type StoreActions } from './components/StoreList';
import { filterKey, useLiveStores, type LiveOptions } from './live';
import { hrefFor, navigate, parseRoute, useRoute } from './router';
import type { BackupSummary, Me, Store } from './types';

/** How often the backup summary (the list's "no good backup in 24 h" marks) is asked again. */
export const SUMMARY_REFRESH_MS = 60_000;

type Auth =
  | { state: 'checking' }
  | { state: 'signedOut'; mode: 'password' | 'demo'; notice?: string | null }
  | { state: 'signedIn'; me: Me };

export interface AppProps {
  api?: Api;
  live?: LiveOptions;
}

export function App({ api: given, live }: AppProps) {
  const api = useMemo(() => given ?? new Api(), [given]);
  const [auth, setAuth] = useState<Auth>({ state: 'checking' });
  const [error, setError] = useState<string | null>(null);

  const signedOut = useCallback(
    (notice?: string | null) => setAuth({ state: 'signedOut', mode: api.demoMode ? 'demo' : 'password', notice }),
    [api],
  );

  useEffect(() => {
    let done = false;
    api
      .me()
      .then((me) => !done && setAuth({ state: 'signedIn', me }))
      .catch((e) => {
        if (done) return;
        if (e instanceof ApiError && e.unauthenticated) signedOut();
        else setError(explain(e));
      });
    return () => {
      done = true;
    };
  }, [api, signedOut]);

  useEffect(() => {
    api.setUnauthorizedHandler(() =>
      setAuth((a) =>
        a.state === 'signedIn'
          ? { state: 'signedOut', mode: api.demoMode ? 'demo' : 'password', notice: 'Your session has ended. Sign in again.' }
          : a,
      ),
    );
    return () => {
      api.setUnauthorizedHandler(null);
    };
  }, [api]);

  if (auth.state === 'checking') {
    return (
      <main id="main" className="signin">
        {error ? (
          <div className="card">
            <h1>Store Weaver</h1>
            <p className="error" role="alert">
              {error}
            </p>
            <button type="button" onClick={() => window.location.reload()}>
              Try again
            </button>
          </div>
        ) : (
          <p aria-busy="true">Loading…</p>
        )}
      </main>
    );
  }
  if (auth.state === 'signedOut') {
    return (
      <SignIn
        api={api}
        mode={auth.mode}
        notice={auth.notice}
        onSignedIn={(me) => {
          setAuth({ state: 'signedIn', me });
          navigate(window.location.pathname, true);
        }}
      />
    );
  }
  return (
    <Shell
      api={api}
      me={auth.me}
      live={live}
      onSignOut={async () => {
        try {
          await api.signOut();
        } catch {
          /* the session is gone either way */
        }
        signedOut('You have signed out.');
      }}
    />
  );
}

function Shell({ api, me, live: liveOpts, onSignOut }: { api: Api; me: Me; live?: LiveOptions; onSignOut: () => void }) {
  const route = useRoute();
  // The list's filter lives in its URL; other pages keep the last one, so
  // coming back to the list does not reload it.
  const routeFilter = route.name === 'list' ? (route.filter ?? {}) : null;
  const [lastFilter, setLastFilter] = useState<ListFilter>(routeFilter ?? {});
  if (routeFilter && filterKey(routeFilter) !== filterKey(lastFilter)) setLastFilter(routeFilter);
  const live = useLiveStores(api, routeFilter ?? lastFilter, liveOpts);
  const [pending, setPending] = useState<ReadonlySet<string>>(new Set());
  const [confirming, setConfirming] = useState<Store | null>(null);
  const [confirmError, setConfirmError] = useState<string | null>(null);
  // A message about the last action, shown on the page it belongs to only.
  const [notice, setNoticeState] = useState<{ text: string; kind: 'ok' | 'error'; path: string } | null>(null);
  const setNotice = (n: { text: string; kind: 'ok' | 'error'; path?: string } | null) =>
    setNoticeState(n ? { ...n, path: n.path ?? hrefFor(parseRoute(window.location.pathname)).split('?')[0] } : null);
  const [announce, setAnnounce] = useState('');
  const [now, setNow] = useState(() => Date.now());
  const mainRef = useRef<HTMLElement>(null);
  // Bumped when a store's backup ends, so its mark in the list goes at once.
  const [backupsEnded, setBackupsEnded] = useState(0);
  const summary = useBackupSummary(api, backupsEnded);
  const newestGood = useMemo(
    () => (summary?.configured ? new Map(summary.newest_good.map((n) => [n.store_id, n.finished_at])) : null),
    [summary],
  );

  // Time moves: "2 min ago", "1 min 10 s so far".
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(t);
  }, []);

  // Focus the page heading on navigation, for screen readers and keyboards.
  const first = useRef(true);
  const storeId = route.name === 'store' ? route.id : '';
  useEffect(() => {
    if (first.current) {
      first.current = false;
      return;
    }
    const h = mainRef.current?.querySelector<HTMLElement>('h1');
    h?.focus();
  }, [route.name, storeId]);

  // Say status changes out loud (a polite live region): each new list is
  // compared, while rendering, with the statuses seen so far.
  const [seen, setSeen] = useState<{
    list: Store[] | null;
    status: ReadonlyMap<string, string>;
    phase: ReadonlyMap<string, string>;
  }>({
    list: null,
    status: new Map(),
    phase: new Map(),
  });
  if (live.stores && live.stores !== seen.list) {
    const status = new Map(seen.status);
    const phase = new Map(seen.phase);
    const changes: string[] = [];
    let backupEnded = false;
    for (const s of live.stores) {
      const before = status.get(s.id);
      if (before && before !== s.status) changes.push(`${s.name} is now ${s.status}.`);
      status.set(s.id, s.status);
      if (phase.get(s.id) === 'backing-up' && s.phase !== 'backing-up') backupEnded = true;
      phase.set(s.id, s.phase);
    }
    setSeen({ list: live.stores, status, phase });
    if (changes.length) setAnnounce(changes.join(' '));
    if (backupEnded) setBackupsEnded((n) => n + 1);
  }

  const setBusy = (id: string, on: boolean) =>
    setPending((p) => {
      const n = new Set(p);
      if (on) n.add(id);
      else n.delete(id);
      return n;
    });

  const actions: StoreActions = {
    pending,
    retry: async (s) => {
      setBusy(s.id, true);
      setNotice(null);
      try {
        const out = await api.retry(s.id);
        live.upsert(out);
        const again = s.retry_label === 'retry delete' ? 'deleting again' : 'provisioning again';
        setNotice({ text: `Retrying “${s.name}”: ${again}.`, kind: 'ok' });
      } catch (e) {
        setNotice({ text: `Cannot retry “${s.name}”: ${explain(e)}`, kind: 'error' });
      } finally {
        setBusy(s.id, false);
      }
    },
    askDelete: (s) => {
      setConfirmError(null);
      setConfirming(s);
    },
  };

  const doDelete = async (noBackup: boolean) => {
    const s = confirming;
    if (!s) return;
    setBusy(s.id, true);
    setConfirmError(null);
    try {
      const out = await api.deleteStore(s.id, noBackup);
      live.upsert(out);
      setConfirming(null);
      const kept = summary?.configured && !noBackup ? ' A final backup is taken first (see Recently deleted).' : '';
      setNotice({
        text: `Deleting “${s.name}”: uninstalling it and removing its namespace.${kept}`,
        kind: 'ok',
        path: hrefFor({ name: 'list' }),
      });
      if (route.name === 'store') navigate(hrefFor({ name: 'list' }));
    } catch (e) {
      setConfirmError(explain(e));
    } finally {
      setBusy(s.id, false);
    }
  };

  let page: React.ReactNode;
  switch (route.name) {
    case 'list':
      page = (
        <StoreList
          me={me}
          stores={live.stores}
          total={live.total}
          more={live.more}
          onMore={() => void live.loadMore()}
          filter={route.filter ?? {}}
          onFilter={(f) => navigate(hrefFor({ name: 'list', filter: f }), true)}
          mode={live.mode}
          error={live.error}
          actions={actions}
          now={now}
          newestGood={newestGood}
        />
      );
      break;
    case 'deleted':
      page = (
        <RecentlyDeleted
          api={api}
          me={me}
          configured={summary ? summary.configured : null}
          onUndeleted={(s) => {
            live.upsert(s);
            setNotice({
              text: `Undeleting “${s.name}”: it is provisioned again and its data written back from the final backup.`,
              kind: 'ok',
              path: hrefFor({ name: 'list' }),
            });
            navigate(hrefFor({ name: 'list' }));
          }}
        />
      );
      break;
    case 'new':
      page = (
        <CreateStore
          api={api}
          onCreated={(s) => {
            live.upsert(s);
            setNotice({
              text: `Store “${s.name}” created. Provisioning has started; it usually takes a few minutes.`,
              kind: 'ok',
              path: hrefFor({ name: 'list' }),
            });
            navigate(hrefFor({ name: 'list' }));
          }}
        />
      );
      break;
    case 'store':
      page = (
        <StoreDetail
          api={api}
          me={me}
          id={route.id}
          live={live.stores?.find((s) => s.id === route.id)}
          actions={actions}
          backupsConfigured={summary ? summary.configured : null}
        />
      );
      break;
    default:
      page = (
        <>
          <h1 tabIndex={-1}>Page not found</h1>
          <p>
            Nothing lives at <code>{route.path}</code>. <Link href="/">Go to the stores</Link>.
          </p>
        </>
      );
  }

  return (
    <>
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="top">
        <Link href="/" className="brand">
          <img src="/favicon.svg" alt="" width="24" height="24" /> Store Weaver
        </Link>
        <nav aria-label="Main">
          <Link href="/" aria-current={route.name === 'list' ? 'page' : undefined}>
            Stores
          </Link>
          <Link href={hrefFor({ name: 'new' })} aria-current={route.name === 'new' ? 'page' : undefined}>
            New store
          </Link>
          <Link href={hrefFor({ name: 'deleted' })} aria-current={route.name === 'deleted' ? 'page' : undefined}>
            Recently deleted
          </Link>
        </nav>
        <div className="who">
          <span className="user" title={`Signed in as ${me.user}`}>
            <span className="visually-hidden">Signed in as </span>
            {me.user}
          </span>
          {me.role === 'admin' ? <span className="badge badge-admin">admin</span> : null}
          {me.auth_mode === 'demo' ? <span className="badge badge-warning">demo mode</span> : null}
          {me.auth_mode !== 'proxy' ? (
            <button type="button" onClick={onSignOut}>
              Sign out
            </button>
          ) : null}
        </div>
      </header>
      <main id="main" ref={mainRef} tabIndex={-1}>
        {notice && notice.path === hrefFor(route).split('?')[0] ? (
          <div className={notice.kind === 'ok' ? 'notice' : 'error'} role={notice.kind === 'ok' ? 'status' : 'alert'}>
            <span>{notice.text}</span>
            <button type="button" className="link" onClick={() => setNotice(null)} aria-label="Dismiss message">
              ✕
            </button>
          </div>
        ) : null}
        {page}
      </main>
      <div className="visually-hidden" aria-live="polite" role="log">
        {announce}
      </div>
      {confirming ? (
        <DeleteConfirm
          store={confirming}
          summary={summary}
          busy={pending.has(confirming.id)}
          error={confirmError}
          onCancel={() => setConfirming(null)}
          onConfirm={(noBackup) => void doDelete(noBackup)}
        />
      ) : null}
    </>
  );
}

/** The backup summary, asked when the app opens, every minute after and
 * whenever `ended` changes (a store's backup ended), not with each page of
 * the list, which the server answers from memory. */
function useBackupSummary(api: Api, ended: number): BackupSummary | null {
  const [summary, setSummary] = useState<BackupSummary | null>(null);
  useEffect(() => {
    let done = false;
    const load = () =>
      api
        .backupSummary()
        .then((s) => !done && setSummary(s))
        .catch(() => {
          /* without it the list is unmarked and the delete dialog says what it cannot promise */
        });
    void load();
    const t = setInterval(load, SUMMARY_REFRESH_MS);
    return () => {
      done = true;
      clearInterval(t);
    };
  }, [api, ended]);
  return summary;
}
