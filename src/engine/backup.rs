//! Backups and restores, run by a worker under the operation's lease: the
//! store's credentials, database and files streamed from its pods, sealed,
//! into the bucket (a backup); and back, after every part was read and
//! checked whole, into the store with its shop paused (a restore). A backup
//! is complete only once its manifest, written last, is in the bucket and
//! recorded; a restore touches nothing until the backup checked out.

use super::provision::{Context, MAX_CLAIMS, StepError, kube_step, step};
use crate::backup::manifest::{self, DATABASE_PART, FILES_PART, Manifest, SECRET_PART};
use crate::backup::{BackupConfig, Bucket, BucketError, Reason, seal};
use crate::cluster::CREDENTIALS_SECRET;
use crate::cluster::data::{self, DataError, Target};
use crate::cluster::namespace::{self as ns_ops, OwnedNamespace};
use crate::db::backups::{self, State};
use crate::db::ledger::{self, Lease, Outcome, Timing};
use crate::db::operations::Operation;
use crate::engines::{DataPart, Engine};
use crate::store::{self, Phase, Store};
use crate::text::bound_message;
use k8s_openapi::api::core::v1::Secret;
use kube::api::Api;
use std::collections::BTreeMap;
use tokio::time::Instant;
use uuid::Uuid;

const MAX_MESSAGE: usize = 1500;
/// The longest one part of a backup may take to dump (never a hang: a
/// command that stops sending is stopped).
const PART_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(3 * 3600);

/// `work`, stopped with a message after `limit`.
async fn bounded<T>(
    limit: std::time::Duration,
    what: &str,
    work: impl std::future::Future<Output = Result<T, DataError>>,
) -> Result<T, DataError> {
    tokio::time::timeout(limit, work).await.map_err(|_| {
        DataError::Stream(format!(
            "{what} took longer than {}s and was stopped",
            limit.as_secs()
        ))
    })?
}

impl From<DataError> for StepError {
    fn from(e: DataError) -> StepError {
        if e.is_transport() {
            StepError::Unreachable(e.to_string())
        } else {
            StepError::Failed(e.to_string())
        }
    }
}

impl From<BucketError> for StepError {
    fn from(e: BucketError) -> StepError {
        StepError::Failed(e.to_string())
    }
}

/// The store's credentials as they are in its Secret, after checking the
/// Secret is the store's.
async fn read_credentials(
    client: &kube::Client,
    ns: &OwnedNamespace,
    store_id: Uuid,
) -> Result<BTreeMap<String, String>, StepError> {
    let api: Api<Secret> = Api::namespaced(client.clone(), ns.name());
    let secret = api
        .get_opt(CREDENTIALS_SECRET)
        .await
        .map_err(kube_step("backing up the credentials"))?
        .ok_or_else(|| {
            StepError::Failed(format!(
                "the store has no Secret {CREDENTIALS_SECRET}; retry the store first"
            ))
        })?;
    let ours = secret
        .metadata
        .labels
        .as_ref()
        .and_then(|l| l.get(crate::cluster::STORE_ID_LABEL))
        .is_some_and(|v| *v == store_id.to_string());
    if !ours {
        return Err(StepError::Failed(format!(
            "Secret {}/{CREDENTIALS_SECRET} is not this store's (its store-id label differs); refusing to read it",
            ns.name()
        )));
    }
    Ok(secret
        .data
        .unwrap_or_default()
        .into_iter()
        .map(|(k, v)| (k, String::from_utf8_lossy(&v.0).into_owned()))
        .collect())
}

fn config(ctx: &Context) -> Result<(&BackupConfig, Bucket), StepError> {
    let cfg = ctx.cfg.backup.as_ref().ok_or_else(|| {
        StepError::Failed(
            "backups are not configured: set backup_bucket and backup_key (see docs/backups.md)"
                .into(),
        )
    })?;
    Ok((cfg, Bucket::new(&cfg.bucket)?))
}

impl Context {
    /// Runs a backup operation to its end; the store stays as it was.
    pub async fn backup(
        &self,
        op: &Operation,
        lease: &Lease,
        store: &Store,
    ) -> Result<(), sqlx::Error> {
        let result = if op.claims > MAX_CLAIMS {
            Err(StepError::Failed(format!(
                "the backup was interrupted {} times (the workers running it stopped); giving up",
                op.claims - 1
            )))
        } else {
            let reason = op.params.reason.unwrap_or(Reason::Manual);
            self.take_backup(lease, store, reason, &op.requested_by)
                .await
        };
        let outcome = match result {
            Ok(m) => Outcome::BackedUp(format!(
                "backup {} complete: {} bytes in {} parts",
                m.backup_id,
                m.bytes(),
                m.parts.len()
            )),
            Err(StepError::Failed(m)) => {
                Outcome::BackupFailed(bound_message(&format!("backup failed: {m}"), MAX_MESSAGE))
            }
            Err(StepError::Unreachable(why)) => return self.hand_back(lease, &why).await,
            Err(StepError::Lost) => {
                tracing::warn!(op = lease.op_id, "lease lost: backup stopped");
                return Ok(());
            }
        };
        self.finish(lease, outcome, Timing::default()).await
    }

    /// Takes one backup of the store: its row first (running), the parts,
    /// the manifest last, then the row complete. A failed attempt's row says
    /// why and its objects are removed.
    pub(super) async fn take_backup(
        &self,
        lease: &Lease,
        store: &Store,
        reason: Reason,
        requested_by: &str,
    ) -> Result<Manifest, StepError> {
        let (cfg, bucket) = config(self)?;
        self.phase(lease, Phase::BackingUp).await?;
        let owned = ns_ops::verify(&self.client, &store.namespace_ref())
            .await
            .map_err(step("backing up"))?
            .ok_or_else(|| {
                StepError::Failed("the store has nothing in the cluster to back up".into())
            })?;
        let id = Uuid::now_v7();
        let engine = store.engine.spec();
        match ledger::backup_begun(
            &self.pool,
            lease,
            id,
            reason,
            engine.kind.as_str(),
            requested_by,
        )
        .await
        {
            Ok(true) => {}
            Ok(false) => return Err(StepError::Lost),
            Err(e) => return Err(StepError::Failed(format!("recording the backup: {e}"))),
        }
        let dir = manifest::directory(store.id, id);
        let started = chrono::Utc::now();
        let written = self
            .write_parts(cfg, &bucket, &owned, store, engine, &dir)
            .await;
        let result = match written {
            Ok((parts, counts)) => {
                let m = Manifest {
                    format: manifest::FORMAT,
                    backup_id: id,
                    store_id: store.id,
                    store_name: store.name.clone(),
                    namespace: store.namespace.clone(),
                    host: store::store_host(&store.namespace, &self.cfg.naming.suffix),
                    engine: engine.kind.as_str().to_string(),
                    chart_version: store.chart_version.clone(),
                    helm_revision: store.helm_revision,
                    settings: store.settings.clone(),
                    key_id: cfg.key.id(),
                    reason: reason.as_str().to_string(),
                    requested_by: requested_by.to_string(),
                    started_at: started,
                    finished_at: chrono::Utc::now(),
                    parts,
                    counts,
                };
                self.seal_manifest(&bucket, &dir, &m).await.map(|()| m)
            }
            Err(e) => Err(e),
        };
        let expires = (reason == Reason::Final).then(|| {
            chrono::Utc::now()
                + chrono::Duration::from_std(cfg.keep_deleted).unwrap_or(chrono::Duration::days(7))
        });
        match result {
            Ok(m) => match ledger::backup_ended(&self.pool, lease, id, Ok((&m, expires))).await {
                Ok(true) => Ok(m),
                Ok(false) => Err(StepError::Lost),
                Err(e) => Err(StepError::Failed(format!("recording the backup: {e}"))),
            },
            Err(StepError::Lost) => Err(StepError::Lost),
            Err(e) => {
                let why = match &e {
                    StepError::Failed(m) | StepError::Unreachable(m) => m.clone(),
                    StepError::Lost => String::new(),
                };
                if let Err(cleanup) = bucket.delete_below(&dir).await {
                    tracing::warn!(backup = %id, error = %cleanup, "could not remove a failed backup's objects");
                }
                let why = bound_message(&why, MAX_MESSAGE);
                let _ = ledger::backup_ended(&self.pool, lease, id, Err(&why)).await;
                Err(e)
            }
        }
    }

    /// A delete's first step, with backups configured: a final backup,
    /// kept for an undelete. Skipped when asked (`no_backup`), for a store
    /// that never became Ready (nothing of a merchant's to keep), or when
    /// this delete already took one (a resumed delete). A failed one stops the
    /// delete before anything is removed.
    pub(super) async fn final_backup(
        &self,
        op: &Operation,
        lease: &Lease,
        store: &Store,
    ) -> Result<(), StepError> {
        if self.cfg.backup.is_none() || op.params.no_backup {
            return Ok(());
        }
        let history = crate::db::operations::for_store(&self.pool, store.id)
            .await
            .map_err(|e| StepError::Failed(format!("reading the store's operations: {e}")))?;
        let ever_ran = history.iter().any(|o| {
            o.kind == crate::db::operations::Kind::Provision
                && o.state == crate::db::operations::State::Succeeded
        });
        let taken = backups::for_store(&self.pool, store.id, 20)
            .await
            .map_err(|e| StepError::Failed(format!("reading the store's backups: {e}")))?
            .into_iter()
            .any(|b| b.operation_id == op.id && b.state == State::Complete);
        if !ever_ran || taken {
            return Ok(());
        }
        let owned = ns_ops::verify(&self.client, &store.namespace_ref())
            .await
            .map_err(step("final backup"))?;
        if owned.is_none_or(|o| o.is_terminating()) {
            // Nothing left to back up: an earlier attempt got further.
            return Ok(());
        }
        match self
            .take_backup(lease, store, Reason::Final, &op.requested_by)
            .await
        {
            Ok(m) => {
                tracing::info!(store = %store.id, backup = %m.backup_id, "final backup taken");
                Ok(())
            }
            Err(StepError::Failed(why)) => Err(StepError::Failed(format!(
                "the final backup failed, nothing was removed: {why}; retry the delete, or delete without a final backup (store delete --no-backup)"
            ))),
            Err(e) => Err(e),
        }
    }

    /// The parts in the bucket and the counts of what the store holds.
    async fn write_parts(
        &self,
        cfg: &BackupConfig,
        bucket: &Bucket,
        owned: &OwnedNamespace,
        store: &Store,
        engine: &Engine,
        dir: &str,
    ) -> Result<(Vec<crate::backup::PartInfo>, BTreeMap<String, i64>), StepError> {
        bucket.check().await?;
        let mut parts = Vec::new();
        let creds = read_credentials(&self.client, owned, store.id).await?;
        let creds = serde_json::to_vec(&creds)
            .map_err(|e| StepError::Failed(format!("encoding the credentials: {e}")))?;
        parts.push(
            bucket
                .put_sealed(
                    &format!("{dir}{SECRET_PART}"),
                    SECRET_PART,
                    &cfg.key,
                    std::io::Cursor::new(creds),
                )
                .await?,
        );
        let b = &engine.backup;
        let mut data: Vec<(&str, &DataPart)> = vec![(DATABASE_PART, &b.database)];
        if let Some(files) = &b.files {
            data.push((FILES_PART, files));
        }
        for (name, part) in data {
            let pod = data::ready_pod(&self.client, owned, store.id, part.component).await?;
            let what = format!("dump the {name}");
            let at = Target {
                ns: owned,
                pod: &pod,
                container: part.container,
                what: &what,
            };
            let rel = format!("{dir}{name}");
            let run = data::run_reading(
                &self.client,
                &at,
                DataPart::argv(part.dump),
                |out| async move {
                    bucket
                        .put_sealed(&rel, name, &cfg.key, out)
                        .await
                        .map_err(|e| DataError::Stream(e.to_string()))
                },
            );
            let info = bounded(PART_TIMEOUT, &what, run).await?;
            parts.push(info);
        }
        let counts = self.count(owned, store, engine).await?;
        Ok((parts, counts))
    }

    /// What the store holds now, as the engine counts it.
    pub(super) async fn count(
        &self,
        owned: &OwnedNamespace,
        store: &Store,
        engine: &Engine,
    ) -> Result<BTreeMap<String, i64>, StepError> {
        let db = &engine.backup.database;
        let pod = data::ready_pod(&self.client, owned, store.id, db.component).await?;
        let mut counts = BTreeMap::new();
        for c in engine.backup.counts {
            let what = format!("count the {}", c.name);
            let at = Target {
                ns: owned,
                pod: &pod,
                container: db.container,
                what: &what,
            };
            // A database restarting (recovery after a crash, a start) refuses
            // connections for a moment: the count is asked again before it
            // fails the backup.
            let mut tries = 0;
            let text = loop {
                let run = data::run_text(&self.client, &at, DataPart::argv(c.command));
                match bounded(std::time::Duration::from_secs(120), &what, run).await {
                    Ok(t) => break t,
                    Err(e) if tries < 3 && !e.is_transport() => {
                        tries += 1;
                        tracing::warn!(store = %store.id, error = %e, "counting failed; asking again in 5 s");
                        tokio::time::sleep(std::time::Duration::from_secs(5)).await;
                    }
                    Err(e) => return Err(e.into()),
                }
            };
            let n = text.trim().parse::<i64>().map_err(|_| {
                StepError::Failed(format!(
                    "counting the {}: got {text:?}, not a number",
                    c.name
                ))
            })?;
            counts.insert(c.name.to_string(), n);
        }
        Ok(counts)
    }

    /// The manifest, written last; then each part's size checked in the
    /// bucket against it.
    async fn seal_manifest(
        &self,
        bucket: &Bucket,
        dir: &str,
        m: &Manifest,
    ) -> Result<(), StepError> {
        bucket
            .put_json(&format!("{dir}{}", manifest::OBJECT), m)
            .await?;
        let back: Manifest = bucket
            .get_json(&format!("{dir}{}", manifest::OBJECT))
            .await?;
        if back != *m {
            return Err(StepError::Failed(
                "the manifest read back differs from the one written".into(),
            ));
        }
        for p in &m.parts {
            let size = bucket.size(&format!("{dir}{}", p.object)).await?;
            if size != p.bytes {
                return Err(StepError::Failed(format!(
                    "{} has {size} bytes in the bucket, {} were written",
                    p.object, p.bytes
                )));
            }
        }
        Ok(())
    }

    /// Runs a restore in place to its end: Ready when the store came back
    /// healthy holding what the backup holds; untouched when the backup did
    /// not check out; Failed, with what to do, when it broke midway.
    pub async fn restore(
        &self,
        op: &Operation,
        lease: &Lease,
        store: &Store,
    ) -> Result<(), sqlx::Error> {
        let deadline = Instant::now() + self.cfg.provision_timeout;
        let result = if op.claims > MAX_CLAIMS {
            Err(Restore::Broke(format!(
                "the restore was interrupted {} times; giving up",
                op.claims - 1
            )))
        } else {
            self.restore_in_place(lease, store, op.params.restore, deadline)
                .await
        };
        let outcome = match result {
            Ok(detail) => Outcome::Restored(detail),
            Err(Restore::Refused(why)) => {
                // Nothing was touched: the store is what its pods say.
                let ready = self.view.health(store.id, &[]).state
                    == crate::cluster::health::HealthState::Ready;
                let msg = bound_message(
                    &format!("restore refused, the store is untouched: {why}"),
                    MAX_MESSAGE,
                );
                if ready {
                    Outcome::RestoreRefused(msg)
                } else {
                    Outcome::RestoreFailed(msg)
                }
            }
            Err(Restore::Broke(why)) => Outcome::RestoreFailed(bound_message(
                &format!(
                    "restore failed midway: {why}; the store's data may be partly restored: restore again, or restore another backup"
                ),
                MAX_MESSAGE,
            )),
            Err(Restore::Step(StepError::Unreachable(why))) => {
                return self.hand_back(lease, &why).await;
            }
            Err(Restore::Step(StepError::Lost)) => {
                tracing::warn!(op = lease.op_id, "lease lost: restore stopped");
                return Ok(());
            }
            Err(Restore::Step(StepError::Failed(why))) => Outcome::RestoreFailed(bound_message(
                &format!("restore failed: {why}"),
                MAX_MESSAGE,
            )),
        };
        self.finish(lease, outcome, Timing::default()).await
    }

    async fn restore_in_place(
        &self,
        lease: &Lease,
        store: &Store,
        backup: Option<Uuid>,
        deadline: Instant,
    ) -> Result<String, Restore> {
        self.phase(lease, Phase::Restoring).await?;
        let owned = ns_ops::verify(&self.client, &store.namespace_ref())
            .await
            .map_err(step("restoring"))?
            .ok_or_else(|| {
                Restore::Refused(
                    "the store has nothing in the cluster; retry it, then restore".into(),
                )
            })?;
        let (m, bucket, key) = self.checked_backup(store, backup).await?;
        self.write_back(lease, &owned, store, &m, &bucket, &key, deadline, None)
            .await
    }

    /// The backup a restore uses, after checking every part whole against
    /// its manifest with the configured key: nothing is written before this.
    pub(super) async fn checked_backup(
        &self,
        store: &Store,
        backup: Option<Uuid>,
    ) -> Result<(Manifest, Bucket, seal::BackupKey), Restore> {
        let (cfg, bucket) = config(self).map_err(|e| match e {
            StepError::Failed(m) => Restore::Refused(m),
            other => Restore::Step(other),
        })?;
        let id = backup.ok_or_else(|| Restore::Refused("no backup was named".into()))?;
        let row = backups::get(&self.pool, id)
            .await
            .map_err(|e| Restore::Refused(format!("reading backup {id}: {e}")))?
            .ok_or_else(|| Restore::Refused(format!("backup {id} does not exist")))?;
        if row.state != State::Complete {
            return Err(Restore::Refused(format!(
                "backup {id} is {}, not complete",
                row.state.as_str()
            )));
        }
        let m = row
            .manifest
            .ok_or_else(|| Restore::Refused(format!("backup {id} has no manifest")))?;
        if m.engine != store.engine.as_str() {
            return Err(Restore::Refused(format!(
                "backup {id} is of a {} store and this is a {} store; a backup is restored into a store of its own engine",
                m.engine, store.engine
            )));
        }
        // The chart the data goes into: the one a store being provisioned
        // (an undelete, a clone) is installed with, else the one it runs.
        let in_place = store.status != crate::store::Status::Provisioning;
        let into = if in_place {
            store.chart_version.clone()
        } else {
            crate::helm::chart_version(&self.cfg.chart(store.engine).dir).ok()
        };
        match manifest::chart_fits(m.chart_version.as_deref(), into.as_deref()) {
            Ok(true) => tracing::info!(
                store = %store.id,
                backup = %id,
                taken = m.chart_version.as_deref().unwrap_or(""),
                into = into.as_deref().unwrap_or(""),
                "a backup of an older chart restored into a newer one: the shop migrates its data at start"
            ),
            Ok(false) => {}
            Err((taken, into)) => {
                let fix = if in_place {
                    format!(
                        "upgrade the store to chart {taken} first (`store upgrade \"{}\" --to {taken}`)",
                        store.name
                    )
                } else {
                    format!(
                        "restore it with a Store Weaver whose {} chart is {taken} or newer",
                        store.engine
                    )
                };
                return Err(Restore::Refused(format!(
                    "backup {id} was taken with chart {taken} and the store's chart is {into}, an older one: a backup is never restored into an older chart (its data may not fit); {fix}"
                )));
            }
        }
        if m.format > manifest::FORMAT {
            return Err(Restore::Refused(format!(
                "backup {id} was written by a newer Store Weaver (manifest format {}); upgrade Store Weaver to restore it",
                m.format
            )));
        }
        let dir = manifest::directory(m.store_id, m.backup_id);
        let in_bucket: Manifest = bucket
            .get_json(&format!("{dir}{}", manifest::OBJECT))
            .await
            .map_err(Restore::refused)?;
        if in_bucket != m {
            return Err(Restore::Refused(format!(
                "the manifest of backup {id} in the bucket differs from the one recorded; the bucket was changed, choose another backup"
            )));
        }
        for p in &m.parts {
            bucket
                .open_sealed::<Vec<u8>>(&format!("{dir}{}", p.object), p, &cfg.key, None)
                .await
                .map_err(Restore::refused)?;
        }
        Ok((m, bucket, cfg.key.clone()))
    }

    /// The store's credentials as the backup holds them (undelete, clone).
    pub(super) async fn backed_up_credentials(
        &self,
        store: &Store,
        backup: Uuid,
    ) -> Result<(Manifest, BTreeMap<String, String>), Restore> {
        let (m, bucket, key) = self.checked_backup(store, Some(backup)).await?;
        let part = m
            .part(SECRET_PART)
            .ok_or_else(|| Restore::Refused("the backup holds no credentials".into()))?;
        let dir = manifest::directory(m.store_id, m.backup_id);
        let mut plain = Vec::new();
        bucket
            .open_sealed(
                &format!("{dir}{}", part.object),
                part,
                &key,
                Some(&mut plain),
            )
            .await
            .map_err(Restore::refused)?;
        let creds = serde_json::from_slice(&plain)
            .map_err(|e| Restore::Refused(format!("the backed-up credentials do not read: {e}")))?;
        Ok((m, creds))
    }

    /// A store just provisioned from a backup (an undelete, a clone): its
    /// data written in. The backup was checked whole before the store was
    /// created; each frame is authenticated again as it is written.
    pub(super) async fn restore_into_new(
        &self,
        lease: &Lease,
        store: &Store,
        m: &Manifest,
        deadline: Instant,
        rewrite: Option<&[String]>,
    ) -> Result<(), StepError> {
        self.phase(lease, Phase::Restoring).await?;
        let owned = ns_ops::verify(&self.client, &store.namespace_ref())
            .await
            .map_err(step("restoring"))?
            .ok_or_else(|| StepError::Failed("the store's namespace is gone".into()))?;
        let (cfg, bucket) = config(self)?;
        let result = self
            .write_back(
                lease, &owned, store, m, &bucket, &cfg.key, deadline, rewrite,
            )
            .await;
        match result {
            Ok(detail) => {
                tracing::info!(store = %store.id, %detail, "restored into the new store");
                Ok(())
            }
            Err(Restore::Step(e)) => Err(e),
            Err(Restore::Refused(why) | Restore::Broke(why)) => {
                Err(StepError::Failed(format!("restoring the backup: {why}")))
            }
        }
    }

    /// Writes a checked backup's database and files into the store: the
    /// shop paused for the database, resumed and healthy again, then the
    /// files; then the counts compared with the manifest's. `rewrite`: a
    /// command run in the database's container once the database is in,
    /// before the shop resumes (a clone's, see `clone.rs`).
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn write_back(
        &self,
        lease: &Lease,
        owned: &OwnedNamespace,
        store: &Store,
        m: &Manifest,
        bucket: &Bucket,
        key: &seal::BackupKey,
        deadline: Instant,
        rewrite: Option<&[String]>,
    ) -> Result<String, Restore> {
        let engine = store.engine.spec();
        let b = &engine.backup;
        let dir = manifest::directory(m.store_id, m.backup_id);
        self.guard(lease).await?;
        data::pause(&self.client, owned, store.id, b.pause)
            .await
            .map_err(Restore::broke)?;
        let db = self
            .write_part(
                owned,
                store,
                &b.database,
                m,
                DATABASE_PART,
                bucket,
                key,
                &dir,
                deadline,
            )
            .await;
        let db = match (db, rewrite) {
            (Ok(()), Some(argv)) => self
                .run_in(
                    owned,
                    store,
                    b.database.component,
                    b.database.container,
                    argv,
                )
                .await
                .map(drop)
                .map_err(Restore::broke),
            (db, _) => db,
        };
        // Resumed whatever the database step did: a store left paused
        // serves nobody.
        let resumed = data::resume(&self.client, owned, store.id, b.pause).await;
        db?;
        resumed.map_err(Restore::broke)?;
        let expected = self.expected_workloads(owned.name()).await?;
        self.view
            .wait_ready(store.id, &expected, deadline)
            .await
            .map_err(|h| {
                Restore::Broke(format!(
                    "the store did not become ready after its database was restored: {}",
                    h.summary
                ))
            })?;
        if let Some(files) = &b.files
            && m.part(FILES_PART).is_some()
        {
            self.guard(lease).await?;
            self.write_part(
                owned, store, files, m, FILES_PART, bucket, key, &dir, deadline,
            )
            .await?;
        }
        let now = self.count(owned, store, engine).await?;
        for (name, want) in &m.counts {
            let got = now.get(name).copied().unwrap_or(-1);
            if got != *want {
                return Err(Restore::Broke(format!(
                    "after the restore the store has {got} {name}, the backup has {want}"
                )));
            }
        }
        let counts = m
            .counts
            .iter()
            .map(|(k, v)| format!("{v} {k}"))
            .collect::<Vec<_>>()
            .join(", ");
        Ok(format!(
            "from backup {} of {} ({} bytes); it holds {}",
            m.backup_id,
            m.finished_at.format("%Y-%m-%d %H:%M UTC"),
            m.bytes(),
            if counts.is_empty() {
                "what it held".into()
            } else {
                counts
            }
        ))
    }

    #[allow(clippy::too_many_arguments)]
    async fn write_part(
        &self,
        owned: &OwnedNamespace,
        store: &Store,
        part: &DataPart,
        m: &Manifest,
        name: &str,
        bucket: &Bucket,
        key: &seal::BackupKey,
        dir: &str,
        deadline: Instant,
    ) -> Result<(), Restore> {
        let info = m
            .part(name)
            .ok_or_else(|| Restore::Broke(format!("the backup has no {name} part")))?;
        let pod = data::ready_pod(&self.client, owned, store.id, part.component)
            .await
            .map_err(Restore::broke)?;
        let what = format!("restore the {name}");
        let at = Target {
            ns: owned,
            pod: &pod,
            container: part.container,
            what: &what,
        };
        let rel = format!("{dir}{}", info.object);
        let run = data::run_writing(
            &self.client,
            &at,
            part.restore_argv(info.plain_bytes),
            |mut w| async move {
                bucket
                    .open_sealed(&rel, info, key, Some(&mut w))
                    .await
                    .map_err(|e| DataError::Stream(e.to_string()))
            },
        );
        let left = deadline.saturating_duration_since(Instant::now());
        bounded(left, &what, run).await.map_err(Restore::broke)
    }
}

/// Why a restore stopped.
pub(super) enum Restore {
    /// Before anything was written: the store is untouched.
    Refused(String),
    /// After writing began.
    Broke(String),
    Step(StepError),
}

impl Restore {
    fn refused(e: impl std::fmt::Display) -> Restore {
        Restore::Refused(e.to_string())
    }

    fn broke(e: DataError) -> Restore {
        if e.is_transport() {
            Restore::Step(StepError::Unreachable(e.to_string()))
        } else {
            Restore::Broke(e.to_string())
        }
    }
}

impl From<StepError> for Restore {
    fn from(e: StepError) -> Restore {
        Restore::Step(e)
    }
}
