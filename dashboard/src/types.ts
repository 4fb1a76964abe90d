// The JSON shapes of the Store Weaver API, as the server declares them: the
// aliases below name types of src/api.gen.ts, which openapi-typescript
// generates from openapi.json, the document the Rust code derives (utoipa).
// A field renamed or retyped in src/serve/ therefore fails `tsc` here and
// wherever the dashboard uses it. Regenerate with scripts/gen-api-types.sh.

import type { components } from './api.gen';

type Schemas = components['schemas'];

export type StoreStatus = Schemas['Status'];
export type Phase = Schemas['Phase'];

/** `StoreOut`: the store record plus what can be done with it. */
export type Store = Schemas['StoreOut'];

/** `GET /api/stores`: one page. */
export type StoreList = Schemas['StoreList'];

export type Role = Schemas['Role'];

/** `GET /api/me` */
export type Me = Schemas['Me'];
export type AuthMode = Me['auth_mode'];

/** `POST /api/session` (201) */
export type SessionOut = Schemas['SessionOut'];

export type Health = Schemas['Health'];
export type Resource = Schemas['Resource'];
export type EventLine = Schemas['EventLine'];

/** `GET /api/stores/{id}/detail` */
export type Detail = Schemas['DetailOut'];

export type AuditEntry = Schemas['Entry'];

/** `GET /api/stores/{id}/timeline`: oldest first. */
export type Timeline = Schemas['Timeline'];

/** `POST /api/stores/{id}/credentials` */
export type Credentials = Schemas['Credentials'];

/** What an operator set for a store; a key left out is the chart's default. */
export type StoreSettings = Schemas['StoreSettings'];

/** `GET /api/stores/{id}/history` */
export type History = Schemas['History'];
export type HistoryEntry = Schemas['HistoryEntry'];

/** `POST /api/stores/{id}/upgrade` */
export type UpgradeBody = Schemas['UpgradeBody'];

/** `POST /api/stores/{id}/rollback` */
export type RollbackBody = Schemas['RollbackBody'];

/** The one error shape of every non-success response. */
export type ErrorBody = Schemas['Error'];

/** `GET /api/engines`: an engine and the settings its stores take. */
export type EngineInfo = Schemas['EngineOut'];
export type EngineName = Schemas['EngineKind'];

/** A backup of a store, as `GET /api/stores/{id}/backups` lists it. */
export type Backup = Schemas['Backup'];

/** `GET /api/stores/{id}/backups`: newest first. */
export type BackupList = Schemas['BackupList'];

/** `GET /api/backups/summary`: backups on or off, the keep time, each store's newest good backup. */
export type BackupSummary = Schemas['BackupSummary'];

/** `GET /api/stores/deleted`: deleted stores an undelete can still bring back. */
export type DeletedList = Schemas['DeletedList'];
export type DeletedStore = Schemas['DeletedStoreOut'];

/** `GET /api/stores/{id}/backup-schedule`: the interval that applies, the next scheduled backup, the newest good one. */
export type BackupSchedule = Schemas['ScheduleView'];

/** `PUT /api/stores/{id}/backup-schedule`: the store's own interval (null: the fleet's; 0: none). */
export type ScheduleBody = Schemas['ScheduleBody'];

/** A restore drill of a store: its newest complete backup restored into a throwaway store, checked, deleted. */
export type Drill = Schemas['Drill'];

/** `GET /api/stores/{id}/drills`: newest first, the last good restore, the next scheduled drill. */
export type DrillsView = Schemas['DrillsView'];

/** `POST /api/stores/{id}/clone`: the clone's name and, optionally, which backup it is made from. */
export type CloneBody = Schemas['CloneBody'];
