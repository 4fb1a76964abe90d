// A store's release history (revisions, which is current, which were made by
// someone else, drift) and, for admins, the upgrade form and roll-back
// buttons. The server decides what is allowed; the page only hides what a
// non-admin cannot do and shows the server's refusal next to the field.

import { useCallback, useEffect, useRef, useState } from 'react';
import { Api, ApiError, explain } from '../api';
import { formatTime, isChanging, settingOfMessage, settingsText } from '../format';
import type { EngineInfo, History, Store } from '../types';

export interface StoreChangesProps {
  api: Api;
  store: Store;
  /** Admins see the upgrade form and the roll-back buttons. */
  admin: boolean;
  /** Changes on each reload of the page (the Refresh button). */
  refreshKey: number;
  /** The store the server answered a change with (202). */
  onChanged: (s: Store) => void;
}

export function StoreChanges({ api, store, admin, refreshKey, onChanged }: StoreChangesProps) {
  const [history, setHistory] = useState<History | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [rollingBack, setRollingBack] = useState(false);
  const [actionError, setActionError] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const seq = useRef(0);
  const id = store.id;

  const load = useCallback(async () => {
    const mine = ++seq.current;
    try {
      const h = await api.history(id);
      if (mine !== seq.current) return;
      setHistory(h);
      setError(null);
    } catch (e) {
      if (mine !== seq.current) return;
      // A missing store is the detail page's to say.
      if (!(e instanceof ApiError && e.status === 404)) setError(explain(e));
    }
  }, [api, id]);

  // Again whenever the store changes (a new revision, a change that ended).
  const version = `${store.status}/${store.phase}/${store.helm_revision}/${store.updated_at}`;
  useEffect(() => {
    // load sets state only after the API answered.
    // eslint-disable-next-line react-hooks/set-state-in-effect
    void load();
  }, [load, version, refreshKey]);

  const changeable = store.status === 'Ready' && !isChanging(store.phase);
  const current = store.helm_revision ?? 0;
  const earlier = history?.revisions.some((r) => r.revision < current) ?? false;

  const rollback = async (revision?: number) => {
    setRollingBack(true);
    setActionError(null);
    setDone(null);
    try {
      const out = await api.rollback(store.id, revision);
      onChanged(out);
      setDone(
        `Rolling “${store.name}” back to ${revision === undefined ? 'the previous revision' : `revision ${revision}`}; it stays Ready meanwhile.`,
      );
    } catch (e) {
      setActionError(explain(e));
    } finally {
      setRollingBack(false);
    }
  };

  return (
    <>
      <section aria-labelledby="history-title" className="card">
        <h2 id="history-title">History</h2>
        <p className="hint">The store&apos;s Helm release, newest revision first.</p>
        {error ? (
          <p className="error" role="alert">
            {error}
          </p>
        ) : null}
        {history?.drift ? (
          <div className="warning drift" role="alert">
            <strong>The release has drifted:</strong> {history.drift}
          </div>
        ) : null}
        {history === null ? (
          error ? null : <p aria-busy="true">Loading…</p>
        ) : history.revisions.length === 0 ? (
          <p className="muted">No Helm release yet.</p>
        ) : (
          <table className="history">
            <caption className="visually-hidden">Revisions of the release {store.namespace}</caption>
            <thead>
              <tr>
                <th scope="col">Revision</th>
                <th scope="col">Chart</th>
                <th scope="col">Helm status</th>
                <th scope="col">Settings</th>
                <th scope="col">Updated</th>
                {admin ? <th scope="col">Action</th> : null}
              </tr>
            </thead>
            <tbody>
              {history.revisions.map((r) => (
                <tr key={r.revision} className={r.current ? 'current' : undefined} data-revision={r.revision}>
                  <th scope="row" data-label="Revision">
                    {r.revision}
                    {r.current ? <span className="badge badge-ready">current</span> : null}
                  </th>
                  <td data-label="Chart">{r.chart_version}</td>
                  <td data-label="Helm status">
                    {r.status}
                    {r.description ? <span className="muted small"> · {r.description}</span> : null}
                  </td>
                  <td data-label="Settings">
                    {r.settings ? (
                      settingsText(r.settings)
                    ) : (
                      <span className="badge badge-warning" title="Someone changed the release outside Store Weaver (helm by hand)">
                        not made by Store Weaver
                      </span>
                    )}
                  </td>
                  <td data-label="Updated">{formatTime(r.updated)}</td>
                  {admin ? (
                    <td data-label="Action">
                      {r.current ? null : (
                        <button
                          type="button"
                          onClick={() => void rollback(r.revision)}
                          disabled={!changeable || rollingBack}
                          aria-label={`Roll back to revision ${r.revision}`}
                        >
                          Roll back to this
                        </button>
                      )}
                    </td>
                  ) : null}
                </tr>
              ))}
            </tbody>
          </table>
        )}
        {admin ? (
          <div className="toolbar">
            <button type="button" onClick={() => void rollback()} disabled={!changeable || rollingBack || !earlier} aria-busy={rollingBack}>
              {rollingBack ? 'Rolling back…' : 'Roll back'}
            </button>
            <span className="muted small">
              {changeable ? 'to the previous revision Store Weaver made' : 'only a Ready store with no change under way can be rolled back'}
            </span>
          </div>
        ) : null}
        {actionError ? (
          <p className="error" role="alert">
            {actionError}
          </p>
        ) : null}
        {done ? (
          <p className="notice" role="status">
            {done}
          </p>
        ) : null}
      </section>
      {admin ? (
        <UpgradeForm api={api} store={store} shipped={history?.shipped_chart ?? null} changeable={changeable} onChanged={onChanged} />
      ) : null}
    </>
  );
}

function UpgradeForm({
  api,
  store,
  shipped,
  changeable,
  onChanged,
}: {
  api: Api;
  store: Store;
  shipped: string | null;
  changeable: boolean;
  onChanged: (s: Store) => void;
}) {
  const [values, setValues] = useState<Record<string, string>>({});
  const [busy, setBusy] = useState(false);
  const [fieldError, setFieldError] = useState<{ key: string; message: string } | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);
  // The store's engine's settings, from the server's own table.
  const [keys, setKeys] = useState<EngineInfo['settings']>([]);
  useEffect(() => {
    let live = true;
    api.engines().then(
      (list) => {
        if (live) setKeys(list.find((e) => e.name === store.engine)?.settings ?? []);
      },
      (err: unknown) => {
        if (live) setError(`The settings of this store's engine could not be loaded: ${explain(err)}`);
      },
    );
    return () => {
      live = false;
    };
  }, [api, store.engine]);

  const submit = async (e: React.FormEvent) => {
    e.preventDefault();
    const set: Record<string, string> = {};
    for (const k of keys) {
      const v = values[k.key]?.trim();
      if (v) set[k.key] = v;
    }
    setBusy(true);
    setFieldError(null);
    setError(null);
    setDone(null);
    try {
      const out = await api.upgrade(store.id, set);
      onChanged(out);
      setValues({});
      setDone(`Upgrading “${store.name}”: it stays Ready meanwhile, and is rolled back if its pods do not become ready in time.`);
    } catch (err) {
      const key = err instanceof ApiError && err.status === 422 ? settingOfMessage(
              err.message,
              keys.map((k) => k.key),
            )
          : null;
      if (key) setFieldError({ key, message: err instanceof Error ? err.message : String(err) });
      else setError(explain(err));
    } finally {
      setBusy(false);
    }
  };

  const idOf = (key: string) => `setting-${key.replace('.', '-')}`;
  return (
    <section aria-labelledby="upgrade-title" className="card">
      <h2 id="upgrade-title">Upgrade / change settings</h2>
      <p className="hint">
        Upgrades to the chart this Store Weaver ships{shipped ? ` (${shipped})` : ''} with the settings given; empty fields keep
        what the store has, <code>default</code> puts the chart&apos;s default back. The store stays Ready meanwhile.
      </p>
      <form onSubmit={(e) => void submit(e)} noValidate className="settings-form">
        {keys.map((k) => {
          const id = idOf(k.key);
          const bad = fieldError?.key === k.key;
          const now = store.settings[k.key];
          return (
            <div className="field" key={k.key}>
              <label htmlFor={id}>{k.key}</label>
              {k.kind === 'replicas' ? (
                <select
                  id={id}
                  value={values[k.key] ?? ''}
                  onChange={(e) => setValues({ ...values, [k.key]: e.target.value })}
                  aria-invalid={bad || undefined}
                  aria-describedby={bad ? `${id}-error` : `${id}-hint`}
                >
                  <option value="">keep ({now === undefined ? 'chart default' : String(now)})</option>
                  <option value="1">1: running</option>
                  <option value="0">0: paused (data kept)</option>
                  <option value="default">chart default</option>
                </select>
              ) : (
                <input
                  id={id}
                  type="text"
                  value={values[k.key] ?? ''}
                  placeholder={now === undefined ? 'chart default' : String(now)}
                  onChange={(e) => setValues({ ...values, [k.key]: e.target.value })}
                  aria-invalid={bad || undefined}
                  aria-describedby={bad ? `${id}-error ${id}-hint` : `${id}-hint`}
                  autoComplete="off"
                  spellCheck={false}
                />
              )}
              <p className="hint" id={`${id}-hint`}>
                {k.doc}
              </p>
              {bad ? (
                <p className="field-error" id={`${id}-error`} role="alert">
                  {fieldError.message}
                </p>
              ) : null}
            </div>
          );
        })}
        {error ? (
          <p className="error" role="alert">
            {error}
          </p>
        ) : null}
        {done ? (
          <p className="notice" role="status">
            {done}
          </p>
        ) : null}
        <div className="actions">
          {changeable ? null : <span className="muted small">Only a Ready store with no change under way can be upgraded.</span>}
          <button type="submit" className="primary" disabled={!changeable || busy} aria-busy={busy}>
            {busy ? 'Upgrading…' : 'Upgrade'}
          </button>
        </div>
      </form>
    </section>
  );
}
