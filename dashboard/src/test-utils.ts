// Helpers for the unit tests: a scripted fetch, a fake EventSource, stores.

import { vi } from 'vitest';
import type { EngineInfo, Store } from './types';

export interface Call {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: unknown;
}

type ReplyObj = { status?: number; body?: unknown; headers?: Record<string, string> };
type Reply = ReplyObj | ((c: Call) => ReplyObj);

/** A fetch that answers `METHOD /path` from a table and records every call. */
export function scriptedFetch(table: Record<string, Reply | Reply[]>) {
  const calls: Call[] = [];
  const fn = vi.fn(async (input: RequestInfo | URL, init: RequestInit = {}) => {
    const url = new URL(String(input), 'http://test.local');
    const method = (init.method ?? 'GET').toUpperCase();
    const call: Call = {
      method,
      path: url.pathname + url.search,
      headers: { ...(init.headers as Record<string, string>) },
      body: init.body ? JSON.parse(String(init.body)) : undefined,
    };
    calls.push(call);
    const key = `${method} ${url.pathname}`;
    let entry = table[key] ?? table[`${method} ${call.path}`];
    if (Array.isArray(entry)) entry = entry.length > 1 ? entry.shift()! : entry[0];
    if (entry === undefined) {
      return new Response(JSON.stringify({ error: `no route ${key}`, code: 'not_found' }), {
        status: 404,
        headers: { 'Content-Type': 'application/json' },
      });
    }
    const r = typeof entry === 'function' ? entry(call) : entry;
    const status = r.status ?? 200;
    return new Response(status === 204 || r.body === undefined ? null : JSON.stringify(r.body), {
      status,
      headers: { 'Content-Type': 'application/json', ...(r.headers ?? {}) },
    });
  });
  return { fetch: fn as unknown as typeof fetch, calls };
}

export function store(over: Partial<Store> = {}): Store {
  return {
    id: '00000000-0000-4000-8000-000000000001',
    name: 'Acme Shoes',
    namespace: 'store-acme-shoes',
    owner: 'ann@example.com',
    engine: 'woocommerce',
    status: 'Ready',
    phase: 'done',
    url: 'http://acme-shoes.localhost',
    error_message: null,
    attempts: 1,
    chart_version: '0.1.0',
    helm_revision: 1,
    settings: {},
    created_at: '2026-11-25T10:00:00Z',
    updated_at: '2026-11-25T10:02:05Z',
    provision_started_at: '2026-11-25T10:00:01Z',
    ready_at: '2026-11-25T10:02:05Z',
    deleted_at: null,
    namespace_uid: null,
    can_retry: false,
    retry_label: 'retry',
    can_delete: true,
    ...over,
  };
}

/** An EventSource the test drives by hand. */
export class FakeEventSource {
  static instances: FakeEventSource[] = [];
  url: string;
  readyState = 0;
  private listeners = new Map<string, ((e: Event) => void)[]>();
  closed = false;

  constructor(url: string) {
    this.url = url;
    FakeEventSource.instances.push(this);
  }
  addEventListener(type: string, fn: (e: Event) => void) {
    this.listeners.set(type, [...(this.listeners.get(type) ?? []), fn]);
  }
  removeEventListener() {}
  close() {
    this.closed = true;
    this.readyState = 2;
  }
  emit(type: string, data?: unknown) {
    if (type === 'open') this.readyState = 1;
    const ev =
      data === undefined
        ? new Event(type)
        : new MessageEvent(type, { data: typeof data === 'string' ? data : JSON.stringify(data) });
    for (const fn of this.listeners.get(type) ?? []) fn(ev);
  }
  /** The connection drops; `closed`: the browser gives up (e.g. a 401). */
  fail(closed = false) {
    this.readyState = closed ? 2 : 0;
    this.emit('error');
  }
  static reset() {
    FakeEventSource.instances = [];
  }
  static last(): FakeEventSource {
    return FakeEventSource.instances[FakeEventSource.instances.length - 1];
  }
}

/** What `GET /api/engines` answers (a part of it), for the forms' tests. */
export const ENGINES: EngineInfo[] = [
  {
    name: 'woocommerce',
    title: 'WooCommerce',
    summary: 'WordPress + WooCommerce with MariaDB',
    admin: 'WordPress admin',
    settings: [
      { key: 'database.memory', doc: 'database memory limit, e.g. 2Gi (at least 256Mi)', kind: 'memory' },
      { key: 'database.volume', doc: 'size of the database volume, e.g. 5Gi (grow only)', kind: 'volume' },
      { key: 'replicas', doc: '1 runs the storefront, 0 pauses it (data kept)', kind: 'replicas' },
      { key: 'wordpress.cpu', doc: 'WordPress CPU limit, e.g. 500m or 2 (at least 100m)', kind: 'cpu' },
      { key: 'wordpress.image', doc: 'WordPress image tag, e.g. 6.8.3-php8.3-apache', kind: 'image' },
    ],
  },
  {
    name: 'medusa',
    title: 'Medusa',
    summary: 'MedusaJS server, worker and storefront with PostgreSQL and Redis',
    admin: 'Medusa admin',
    settings: [{ key: 'medusa.image', doc: 'Medusa image tag', kind: 'image' }],
  },
];
