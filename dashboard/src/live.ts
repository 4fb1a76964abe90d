// The signed-in user's stores, a page at a time and kept live: the first
// page of `GET /api/stores` for the filter (more pages on request), then the
// API's Server-Sent Events stream (`GET /api/stream?snapshot=false`: one
// `store` event per change, a `resync` when changes may have been missed).
// A changed store that matches the filter enters the list (or moves); one
// that no longer matches leaves it. When the stream is unavailable, the first
// page is polled every 5 s while any store shown is provisioning or deleting.

import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { Api, ApiError, explain, type ListFilter } from './api';
import { isBusy, isChanging } from './format';
import type { Store } from './types';

export const POLL_MS = 5000;
/** After the browser gives up on the stream (e.g. a non-200 answer). */
export const STREAM_RETRY_MS = 10_000;

export type LiveMode = 'connecting' | 'stream' | 'polling';

/** Instants, not strings: chrono writes 0, 3, 6 or 9 fraction digits. */
function instant(t: string): number {
  const ms = Date.parse(t);
  // Date keeps milliseconds; the microseconds decide between close updates.
  const micros = /\.(\d+)/.exec(t)?.[1]?.padEnd(6, '0').slice(3, 6) ?? '000';
  return ms * 1000 + Number(micros);
}

function newestFirst(a: Store, b: Store): number {
  const d = instant(b.created_at) - instant(a.created_at);
  if (d !== 0) return d;
  return a.id < b.id ? 1 : a.id > b.id ? -1 : 0;
}

/** Whether a store belongs on a list with this filter (as the server decides). */
export function matches(s: Store, f: ListFilter): boolean {
  if (s.status === 'Deleted') return false;
  if (f.status && s.status !== f.status) return false;
  if (f.owner && s.owner !== f.owner.trim().toLowerCase()) return false;
  if (f.q) {
    const q = f.q.trim().toLowerCase();
    if (q && ![s.name, s.namespace, s.url].some((v) => v.toLowerCase().includes(q))) return false;
  }
  return true;
}

/**
 * The list after one changed store: replaced, added, or removed (deleted, or
 * it no longer matches the filter). Older news than what is shown is ignored.
 */
export function applyChange(list: Store[], changed: Store, filter: ListFilter = {}): Store[] {
  const i = list.findIndex((s) => s.id === changed.id);
  if (i >= 0 && instant(list[i].updated_at) > instant(changed.updated_at)) return list; // stale
  const rest = list.filter((s) => s.id !== changed.id);
  if (!matches(changed, filter)) return i >= 0 ? rest : list;
  return [...rest, changed].sort(newestFirst);
}

export function anyBusy(list: Store[]): boolean {
  return list.some((s) => isBusy(s.status) || isChanging(s.phase));
}

export interface LiveStores {
  stores: Store[] | null;
  /** Stores matching the filter on the server (kept in step with changes). */
  total: number | null;
  /** More pages to load. */
  more: boolean;
  loadMore: () => Promise<void>;
  error: string | null;
  mode: LiveMode;
  /** Records a store the API just returned (create, retry, delete). */
  upsert: (s: Store) => void;
  refresh: () => Promise<void>;
}

type EventSourceCtor = new (url: string, init?: EventSourceInit) => EventSource;

export interface LiveOptions {
  EventSource?: EventSourceCtor | null;
  pollMs?: number;
  retryMs?: number;
}

interface Page {
  /** The filter (its key) this page was loaded for. */
  key: string;
  stores: Store[];
  total: number;
  cursor: string | null;
}

/** A filter as a value: a new object with the same fields is the same filter. */
export function filterKey(filter: ListFilter): string {
  return JSON.stringify([filter.q ?? '', filter.status ?? '', filter.owner ?? '']);
}

export function useLiveStores(api: Api, filter: ListFilter = {}, opts: LiveOptions = {}): LiveStores {
  const ES: EventSourceCtor | null =
    opts.EventSource !== undefined
      ? opts.EventSource
      : typeof EventSource === 'undefined'
        ? null
        : EventSource;
  const pollMs = opts.pollMs ?? POLL_MS;
  const retryMs = opts.retryMs ?? STREAM_RETRY_MS;
  const streams = !!ES && api.canStream();
  const [loaded, setPage] = useState<Page | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [streamMode, setMode] = useState<LiveMode>('connecting');
  // Without EventSource (or a stream the API cannot open) the list polls.
  const mode: LiveMode = streams ? streamMode : 'polling';
  const alive = useRef(true);
  // The filter as a value: a new object with the same fields is the same filter.
  const key = filterKey(filter);
  const current = useMemo<ListFilter>(() => {
    const [q, status, owner] = JSON.parse(key) as [string, string, string];
    const f: ListFilter = {};
    if (q) f.q = q;
    if (status) f.status = status as ListFilter['status'];
    if (owner) f.owner = owner;
    return f;
  }, [key]);
  // A page loaded for another filter is not shown: the new one is loading.
  const page = loaded && loaded.key === key ? loaded : null;
  // For the stream's callbacks, which outlive a filter.
  const filterRef = useRef<ListFilter>(current);
  useEffect(() => {
    filterRef.current = current;
  }, [current]);
  const generation = useRef(0);

  const refresh = useCallback(async () => {
    const mine = ++generation.current;
    try {
      const first = await api.listStores(current);
      if (!alive.current || mine !== generation.current) return;
      setPage({ key, stores: first.stores, total: first.total, cursor: first.next_cursor });
      setError(null);
    } catch (e) {
      if (!alive.current || mine !== generation.current) return;
      if (e instanceof ApiError && e.unauthenticated) return; // the app signs out
      setError(explain(e));
    }
  }, [api, current, key]);
  const refreshRef = useRef(refresh);
  useEffect(() => {
    refreshRef.current = refresh;
  }, [refresh]);

  const cursor = page?.cursor;
  const loadMore = useCallback(async () => {
    if (!cursor) return;
    const mine = generation.current;
    try {
      const next = await api.listStores(current, cursor);
      if (!alive.current || mine !== generation.current) return;
      setPage((p) => {
        if (!p) return p;
        const seen = new Set(p.stores.map((s) => s.id));
        return {
          key: p.key,
          stores: [...p.stores, ...next.stores.filter((s) => !seen.has(s.id))],
          total: next.total,
          cursor: next.next_cursor,
        };
      });
    } catch (e) {
      if (!alive.current) return;
      if (e instanceof ApiError && e.unauthenticated) return;
      setError(explain(e));
    }
  }, [api, cursor, current]);

  const change = useCallback((s: Store) => {
    setPage((p) => {
      if (!p) return p;
      const had = p.stores.some((x) => x.id === s.id);
      const stores = applyChange(p.stores, s, filterRef.current);
      if (stores === p.stores) return p;
      const has = stores.some((x) => x.id === s.id);
      const total = p.total + (has && !had ? 1 : !has && had ? -1 : 0);
      return { ...p, stores, total: Math.max(total, stores.length) };
    });
  }, []);

  // First load, again whenever the filter changes.
  useEffect(() => {
    // refresh sets state only after its await (the API's answer), which is
    // what an effect may do; the rule does not look past the async call.
    // eslint-disable-next-line react-hooks/set-state-in-effect
    void refresh();
  }, [refresh]);

  // The stream, whatever the filter: each change is matched against it here.
  useEffect(() => {
    alive.current = true;
    if (!ES || !streams) {
      return () => {
        alive.current = false;
      };
    }
    let source: EventSource | null = null;
    let retryTimer: ReturnType<typeof setTimeout> | undefined;
    const open = () => {
      setMode((m) => (m === 'stream' ? m : 'connecting'));
      const es = new ES(api.streamUrl(), { withCredentials: true });
      source = es;
      es.addEventListener('open', () => {
        setMode('stream');
      });
      es.addEventListener('resync', () => {
        setMode('stream');
        void refreshRef.current();
      });
      es.addEventListener('store', (ev) => {
        try {
          change(JSON.parse((ev as MessageEvent).data) as Store);
        } catch {
          /* ignore */
        }
      });
      es.addEventListener('ended', () => {
        // The session is gone: asking the API signs out (401).
        es.close();
        api.me().catch(() => undefined);
      });
      es.addEventListener('error', (ev) => {
        const data = (ev as MessageEvent).data;
        if (typeof data === 'string' && data) {
          // An `error` event sent by the server.
          try {
            setError((JSON.parse(data) as { error: string }).error);
          } catch {
            setError(data);
          }
          return;
        }
        // The connection failed: poll until it is back.
        setMode('polling');
        if (es.readyState === 2 /* CLOSED: the browser will not retry */) {
          es.close();
          // A 401 closes the stream too: ask the API, which signs out on 401.
          api.me().catch(() => undefined);
          retryTimer = setTimeout(() => {
            if (alive.current) open();
          }, retryMs);
        }
      });
    };
    open();
    return () => {
      alive.current = false;
      clearTimeout(retryTimer);
      source?.close();
    };
  }, [api, ES, streams, change, retryMs]);

  // Polling while the stream is down and something shown is under way.
  const busy = page ? anyBusy(page.stores) : false;
  useEffect(() => {
    if (mode === 'stream' || !busy) return;
    const t = setInterval(() => void refresh(), pollMs);
    return () => clearInterval(t);
  }, [mode, busy, pollMs, refresh]);

  return {
    stores: page?.stores ?? null,
    total: page?.total ?? null,
    more: !!page?.cursor,
    loadMore,
    error,
    mode,
    upsert: change,
    refresh,
  };
}
