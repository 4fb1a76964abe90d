// The signed-in user's stores, kept live: the API's Server-Sent Events stream
// (`GET /api/stream`: a `snapshot` on connect, then one `store` event per
// change), and when the stream is unavailable, polling `GET /api/stores`
// every 5 s while any store is provisioning or deleting.

import { useCallback, useEffect, useRef, useState } from 'react';
import { Api, ApiError, explain } from './api';
import { isBusy } from './format';
import type { Store } from './types';

export const POLL_MS = 5000;
/** After the browser gives up on the stream (e.g. a non-200 answer). */
export const STREAM_RETRY_MS = 10_000;

export type LiveMode = 'connecting' | 'stream' | 'polling';

function newestFirst(a: Store, b: Store): number {
  if (a.created_at !== b.created_at) return a.created_at < b.created_at ? 1 : -1;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/** The list after one changed store: replaced, added, or (Deleted) removed. */
export function applyChange(list: Store[], changed: Store): Store[] {
  const i = list.findIndex((s) => s.id === changed.id);
  if (i >= 0 && list[i].updated_at > changed.updated_at) return list; // stale
  const rest = list.filter((s) => s.id !== changed.id);
  if (changed.status === 'Deleted') return rest;
  return [...rest, changed].sort(newestFirst);
}

export function anyBusy(list: Store[]): boolean {
  return list.some((s) => isBusy(s.status));
}

export interface LiveStores {
  stores: Store[] | null;
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

export function useLiveStores(api: Api, opts: LiveOptions = {}): LiveStores {
  const ES: EventSourceCtor | null =
    opts.EventSource !== undefined
      ? opts.EventSource
      : typeof EventSource === 'undefined'
        ? null
        : EventSource;
  const pollMs = opts.pollMs ?? POLL_MS;
  const retryMs = opts.retryMs ?? STREAM_RETRY_MS;
  const [stores, setStores] = useState<Store[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [mode, setMode] = useState<LiveMode>(ES && api.canStream() ? 'connecting' : 'polling');
  const alive = useRef(true);

  const refresh = useCallback(async () => {
    try {
      const list = await api.listStores();
      if (!alive.current) return;
      setStores(list);
      setError(null);
    } catch (e) {
      if (!alive.current) return;
      if (e instanceof ApiError && e.unauthenticated) return; // the app signs out
      setError(explain(e));
    }
  }, [api]);

  const upsert = useCallback((s: Store) => {
    setStores((prev) => applyChange(prev ?? [], s));
  }, []);

  // First load, and the stream.
  useEffect(() => {
    alive.current = true;
    void refresh();
    if (!ES || !api.canStream()) {
      setMode('polling');
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
      es.addEventListener('snapshot', (ev) => {
        try {
          const data = JSON.parse((ev as MessageEvent).data) as { stores: Store[] };
          setStores([...data.stores].sort(newestFirst));
          setError(null);
          setMode('stream');
        } catch {
          /* a malformed event: the next snapshot fixes it */
        }
      });
      es.addEventListener('store', (ev) => {
        try {
          const s = JSON.parse((ev as MessageEvent).data) as Store;
          setStores((prev) => applyChange(prev ?? [], s));
        } catch {
          /* ignore */
        }
      });
      es.addEventListener('error', (ev) => {
        const data = (ev as MessageEvent).data;
        if (typeof data === 'string' && data) {
          // An `error` event sent by the server (the list could not be read).
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
  }, [api, ES, refresh, retryMs]);

  // Polling while the stream is down and something is under way.
  const busy = stores ? anyBusy(stores) : false;
  useEffect(() => {
    if (mode === 'stream' || !busy) return;
    const t = setInterval(() => void refresh(), pollMs);
    return () => clearInterval(t);
  }, [mode, busy, pollMs, refresh]);

  return { stores, error, mode, upsert, refresh };
}
