// The JSON shapes of the Store Weaver API (src/serve/*.rs, /api/openapi.json).

export type StoreStatus = 'Provisioning' | 'Ready' | 'Failed' | 'Deleting' | 'DeleteFailed' | 'Deleted';

export type Phase =
  | 'queued'
  | 'namespace'
  | 'secrets'
  | 'installing'
  | 'waiting-for-ready'
  | 'cleaning-up'
  | 'uninstalling'
  | 'removing-namespace'
  | 'done';

/** `StoreOut`: the store record plus what can be done with it. */
export interface Store {
  id: string;
  name: string;
  namespace: string;
  owner: string;
  engine: string;
  status: StoreStatus;
  phase: Phase | string;
  url: string;
  error_message: string | null;
  attempts: number;
  created_at: string;
  updated_at: string;
  provision_started_at: string | null;
  ready_at: string | null;
  deleted_at: string | null;
  /** The uid of the namespace the engine created (null until it has). */
  namespace_uid: string | null;
  can_retry: boolean;
  /** What retry does: 'retry' provisions again, 'retry delete' deletes again. */
  retry_label: 'retry' | 'retry delete';
  can_delete: boolean;
}

/** `GET /api/stores`: one page. */
export interface StoreList {
  stores: Store[];
  /** Pass back as `cursor` for the next page; null on the last page. */
  next_cursor: string | null;
  /** Stores matching the filters (exact). */
  total: number;
}

export type Role = 'admin' | 'user';
export type AuthMode = 'password' | 'proxy' | 'demo';

/** `GET /api/me` */
export interface Me {
  user: string;
  role: Role;
  auth_mode: AuthMode;
  method: 'cookie' | 'bearer' | 'proxy' | 'demo';
}

/** `POST /api/session` (201) */
export interface SessionOut {
  user: string;
  role: Role;
  token: string;
  expires_at: string;
}

export interface Health {
  state: 'missing' | 'progressing' | 'ready' | 'degraded';
  summary: string;
  ready_workloads: number;
  workloads: number;
}

export interface Resource {
  kind: string;
  name: string;
  /** "1/1" for workloads and pods, "Bound" for claims, "" where it has no meaning. */
  ready: string;
  ok: boolean;
  status: string;
  created: string | null;
}

export interface EventLine {
  at: string | null;
  warning: boolean;
  reason: string;
  object: string;
  message: string;
  count: number;
}

/** `GET /api/stores/{id}/detail` */
export interface Detail {
  store: Store;
  health: Health;
  resources: Resource[];
  /** Newest first. */
  events: EventLine[];
}

export interface AuditEntry {
  id: number;
  at: string;
  actor: string;
  via: string;
  action: string;
  store_id: string | null;
  store_name: string | null;
  outcome: string;
  detail: string | null;
}

/** `GET /api/stores/{id}/timeline`: oldest first. */
export interface Timeline {
  entries: AuditEntry[];
  next_cursor: string | null;
  total: number;
}

/** `POST /api/stores/{id}/credentials` */
export interface Credentials {
  username: string;
  password: string;
  login_url: string;
}

/** The one error shape of every non-success response. */
export interface ErrorBody {
  error: string;
  code: string;
  field?: string;
  limit?: string;
}
