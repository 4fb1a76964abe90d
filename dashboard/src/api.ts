// The API client: one function per endpoint of `store-weaver --serve`, every
// failure turned into an ApiError carrying the server's error shape.

import type {
  BackupList,
  BackupSchedule,
  BackupSummary,
  ScheduleBody,
  CloneBody,
  Credentials,
  DeletedList,
  Detail,
  Drill,
  DrillsView,
  EngineInfo,
  EngineName,
  ErrorBody,
  History,
  Me,
  SessionOut,
  Store,
  StoreList,
  StoreStatus,
  Timeline,
  UpgradeBody,
} from './types';

/** Stores per page of the list. */
export const PAGE_SIZE = 50;

/** What the store list shows (also in the page's URL). */
export interface ListFilter {
  /** A substring of the name, namespace or address. */
  q?: string;
  status?: StoreStatus | '';
  /** Admins: one owner's stores. */
  owner?: string;
}

/** Set on every response of a server running in demo auth mode. */
export const DEMO_MARK_HEADER = 'x-store-weaver-auth';
/** The header demo mode trusts (from anyone: demo only). */
export const DEMO_USER_HEADER = 'X-User-Id';
const DEMO_STORAGE_KEY = 'store-weaver.demo-user';

export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly field?: string;
  readonly limit?: string;
  /** Seconds, from the Retry-After header. */
  readonly retryAfter?: number;

  constructor(status: number, body: ErrorBody, retryAfter?: number) {
    super(body.error);
    this.name = 'ApiError';
    this.status = status;
    this.code = body.code;
    this.field = body.field;
    this.limit = body.limit;
    this.retryAfter = retryAfter;
  }

  get unauthenticated(): boolean {
    return this.status === 401;
  }
}

/** A sentence for a person, saying what went wrong and what to do. */
export function explain(err: unknown): string {
  if (!(err instanceof ApiError)) {
    return err instanceof Error ? err.message : String(err);
  }
  const wait = err.retryAfter ? ` Try again in ${err.retryAfter} s.` : '';
  if (err.status === 429) {
    switch (err.limit) {
      case 'MAX_STORES_PER_USER':
        return `You have reached your store limit, so no store was created (${err.message}). Delete a store you no longer need, or ask an operator to raise the limit.`;
      case 'MAX_STORES':
        return `The platform is full, so no store was created (${err.message}). Stores must be deleted first, or an operator can raise the limit.`;
      case 'create_rate_per_user':
      case 'create_rate_per_address':
        return `Slow down: ${err.message}.${err.message.includes('try again') ? '' : wait}`;
      case 'sign_in_rate':
      case 'sign_in_failures_address':
      case 'sign_in_failures_account':
        return `Too many failed sign-ins.${wait || ' Wait a minute and try again.'}`;
      case 'sign_in_concurrency':
        return `Another sign-in from your address is being checked.${wait || ' Try again in a second.'}`;
      default:
        return `${err.message}.${wait}`.replace(/\.\./g, '.');
    }
  }
  if (err.status === 0) return err.message;
  if (err.status >= 500) return `The server could not do it: ${err.message}`;
  return err.message;
}

export interface ApiOptions {
  /** Prefix of every path (default: same origin). */
  base?: string;
  fetch?: typeof fetch;
  storage?: Pick<Storage, 'getItem' | 'setItem' | 'removeItem'> | null;
}

function browserStorage(): ApiOptions['storage'] {
  try {
    return typeof sessionStorage === 'undefined' ? null : sessionStorage;
  } catch {
    return null;
  }
}

export class Api {
  private readonly base: string;
  private readonly fetchImpl: typeof fetch;
  private readonly storage: ApiOptions['storage'];
  /** The user sent as X-User-Id when the server runs in demo mode. */
  demoUser: string | null;
  /** Whether a response said the server runs in demo auth mode. */
  demoMode = false;
  /** Called on any 401, so the app can show the sign-in screen. */
  onUnauthorized: (() => void) | null = null;

  /** Sets (or with null clears) what is called on any 401. */
  setUnauthorizedHandler(handler: (() => void) | null): void {
    this.onUnauthorized = handler;
  }

  constructor(opts: ApiOptions = {}) {
    this.base = (opts.base ?? '').replace(/\/$/, '');
    this.fetchImpl = opts.fetch ?? ((...args) => fetch(...args));
    this.storage = opts.storage === undefined ? browserStorage() : opts.storage;
    this.demoUser = this.storage?.getItem(DEMO_STORAGE_KEY) ?? null;
  }

  async request<T>(
    method: string,
    path: string,
    body?: unknown,
    extraHeaders: Record<string, string> = {},
  ): Promise<T> {
    const headers: Record<string, string> = { Accept: 'application/json', ...extraHeaders };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    if (this.demoUser) headers[DEMO_USER_HEADER] = this.demoUser;
    let res: Response;
    try {
      res = await this.fetchImpl(this.base + path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        credentials: 'same-origin',
      });
    } catch (e) {
      throw new ApiError(0, {
        error: `Cannot reach the Store Weaver server (${e instanceof Error ? e.message : String(e)}). Check your connection and try again.`,
        code: 'network',
      });
    }
    if (res.headers.get(DEMO_MARK_HEADER)) this.demoMode = true;
    if (res.status === 204) return undefined as T;
    const text = await res.text();
    let json: unknown = undefined;
    if (text) {
      try {
        json = JSON.parse(text);
      } catch {
        json = undefined;
      }
    }
    if (!res.ok) {
      const retry = Number(res.headers.get('Retry-After'));
      const shape =
        json && typeof json === 'object' && typeof (json as ErrorBody).error === 'string'
          ? (json as ErrorBody)
          : { error: `${res.status} ${res.statusText || 'error'}`.trim(), code: 'http_' + res.status };
      const err = new ApiError(res.status, shape, Number.isFinite(retry) && retry > 0 ? retry : undefined);
      if (err.unauthenticated && this.onUnauthorized) this.onUnauthorized();
      throw err;
    }
    if (json === undefined) {
      throw new ApiError(res.status, {
        error: `The server sent an answer that is not JSON (${res.status}).`,
        code: 'bad_response',
      });
    }
    return json as T;
  }

  // ---- who is asking ----

  me(): Promise<Me> {
    return this.request<Me>('GET', '/api/me');
  }

  async signIn(email: string, password: string): Promise<SessionOut> {
    // The session comes back as an HttpOnly cookie; the token in the body is
    // not kept (scripts could read it), the cookie is enough for a browser.
    const out = await this.request<SessionOut>('POST', '/api/session', { email, password });
    return { ...out, token: '' };
  }

  /** Demo mode: no password; the server trusts the X-User-Id header. */
  useDemoUser(email: string | null): void {
    this.demoUser = email;
    if (email) this.storage?.setItem(DEMO_STORAGE_KEY, email);
    else this.storage?.removeItem(DEMO_STORAGE_KEY);
  }

  async signOut(): Promise<void> {
    try {
      if (!this.demoUser) await this.request<void>('DELETE', '/api/session');
    } finally {
      this.useDemoUser(null);
    }
  }

  // ---- stores ----

  /** One page of stores (newest first) matching `filter`. */
  listStores(filter: ListFilter = {}, cursor?: string | null, limit = PAGE_SIZE): Promise<StoreList> {
    const p = new URLSearchParams();
    p.set('limit', String(limit));
    if (filter.q) p.set('q', filter.q);
    if (filter.status) p.set('status', filter.status);
    if (filter.owner) p.set('owner', filter.owner);
    if (cursor) p.set('cursor', cursor);
    return this.request<StoreList>('GET', `/api/stores?${p.toString()}`);
  }

  createStore(name: string, idempotencyKey?: string, engine?: EngineName): Promise<Store> {
    const headers: Record<string, string> = {};
    if (idempotencyKey) headers['Idempotency-Key'] = idempotencyKey;
    return this.request<Store>('POST', '/api/stores', engine ? { name, engine } : { name }, headers);
  }

  /** The engines a store can run and each one's settings (fetched once). */
  engines(): Promise<EngineInfo[]> {
    this.enginesOnce ??= this.request<EngineInfo[]>('GET', '/api/engines').catch((e: unknown) => {
      this.enginesOnce = null;
      throw e;
    });
    return this.enginesOnce;
  }
  private enginesOnce: Promise<EngineInfo[]> | null = null;

  getStore(id: string): Promise<Store> {
    return this.request<Store>('GET', `/api/stores/${encodeURIComponent(id)}`);
  }

  detail(id: string): Promise<Detail> {
    return this.request<Detail>('GET', `/api/stores/${encodeURIComponent(id)}/detail`);
  }

  timeline(id: string): Promise<Timeline> {
    return this.request<Timeline>('GET', `/api/stores/${encodeURIComponent(id)}/timeline`);
  }

  retry(id: string): Promise<Store> {
    return this.request<Store>('POST', `/api/stores/${encodeURIComponent(id)}/retry`);
  }

  /** Delete; with `noBackup` no final backup is taken (the delete cannot be undone). */
  deleteStore(id: string, noBackup = false): Promise<Store> {
    return this.request<Store>('DELETE', `/api/stores/${encodeURIComponent(id)}${noBackup ? '?no_backup=true' : ''}`);
  }

  credentials(id: string): Promise<Credentials> {
    return this.request<Credentials>('POST', `/api/stores/${encodeURIComponent(id)}/credentials`);
  }

  // ---- backups ----

  /** A store's backups, newest first. */
  backups(id: string): Promise<BackupList> {
    return this.request<BackupList>('GET', `/api/stores/${encodeURIComponent(id)}/backups`);
  }

  /** Queue a backup of a Ready store. */
  backUp(id: string): Promise<Store> {
    return this.request<Store>('POST', `/api/stores/${encodeURIComponent(id)}/backups`);
  }

  /** Restore one of the store's complete backups into it (the newest without `backup`). */
  restore(id: string, backup?: string): Promise<Store> {
    return this.request<Store>('POST', `/api/stores/${encodeURIComponent(id)}/restore`, backup ? { backup } : {});
  }

  /** The store's backup schedule: the interval that applies and the next scheduled backup. */
  backupSchedule(id: string): Promise<BackupSchedule> {
    return this.request<BackupSchedule>('GET', `/api/stores/${encodeURIComponent(id)}/backup-schedule`);
  }

  /** Set the store's own backup interval: N hours (1–8760), 0 for none, null for the fleet's default. */
  setBackupSchedule(id: string, everyHours: number | null): Promise<BackupSchedule> {
    const body: ScheduleBody = { every_hours: everyHours };
    return this.request<BackupSchedule>('PUT', `/api/stores/${encodeURIComponent(id)}/backup-schedule`, body);
  }

  /** The store's restore drills (newest first), its last good restore and its next scheduled drill. */
  drills(id: string): Promise<DrillsView> {
    return this.request<DrillsView>('GET', `/api/stores/${encodeURIComponent(id)}/drills`);
  }

  /** Queue a restore drill of the store's newest complete backup (202: the drill as queued). */
  runDrill(id: string): Promise<Drill> {
    return this.request<Drill>('POST', `/api/stores/${encodeURIComponent(id)}/drills`);
  }

  /** A new store of the caller's made from one of this store's complete backups (the newest without `backup`). */
  cloneStore(id: string, name: string, backup?: string): Promise<Store> {
    const body: CloneBody = backup ? { name, backup } : { name };
    return this.request<Store>('POST', `/api/stores/${encodeURIComponent(id)}/clone`, body);
  }

  /** Bring a deleted store back from its final backup. */
  undelete(id: string): Promise<Store> {
    return this.request<Store>('POST', `/api/stores/${encodeURIComponent(id)}/undelete`);
  }

  /** Backups on or off, the keep time, and each visible store's newest good backup. */
  backupSummary(): Promise<BackupSummary> {
    return this.request<BackupSummary>('GET', '/api/backups/summary');
  }

  /** Deleted stores that can still be undeleted. */
  deletedStores(): Promise<DeletedList> {
    return this.request<DeletedList>('GET', '/api/stores/deleted');
  }

  // ---- changing running stores (admins; owners read the history) ----

  /** The release's revisions, which is current, and any drift. */
  history(id: string): Promise<History> {
    return this.request<History>('GET', `/api/stores/${encodeURIComponent(id)}/history`);
  }

  /** Upgrade to the shipped chart with `set` ("" or "default" puts a key's default back). */
  upgrade(id: string, set: Record<string, string>, to?: string): Promise<Store> {
    const body: UpgradeBody = to ? { set, to } : { set };
    return this.request<Store>('POST', `/api/stores/${encodeURIComponent(id)}/upgrade`, body);
  }

  /** Roll back to `revision`, or without one to the previous revision Store Weaver made. */
  rollback(id: string, revision?: number): Promise<Store> {
    return this.request<Store>('POST', `/api/stores/${encodeURIComponent(id)}/rollback`, revision === undefined ? {} : { revision });
  }

  /** The Server-Sent Events stream; EventSource sends the session cookie. */
  streamUrl(): string {
    // No full snapshot: a `resync` event says when to reload the page shown.
    return `${this.base}/api/stream?snapshot=false`;
  }

  /** EventSource cannot send the demo header, so demo mode polls instead. */
  canStream(): boolean {
    return !this.demoUser;
  }
}

export function newIdempotencyKey(): string {
  const c = globalThis.crypto;
  if (c && typeof c.randomUUID === 'function') return c.randomUUID();
  return `k-${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
}
