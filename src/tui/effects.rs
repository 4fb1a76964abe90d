//! Commands become tokio tasks that report back as messages. Every database
//! and cluster call has a timeout, so a slow side shows up as an error in
//! the console, never as a frozen screen.

use super::backups::Undeletable;
use super::msg::{Action, Command, LogRequest, Msg};
use super::pods;
use crate::cluster::detail::{self, EventLine};
use crate::cluster::namespace;
use crate::db::{audit, backups, operations, stores};
use crate::engine::{self, Limits, Naming};
use crate::store::{Actor, NamespaceRef};
use chrono::Utc;
use futures::StreamExt;
use k8s_openapi::api::core::v1::Event;
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Api, ResourceExt};
use sqlx::PgPool;
use std::collections::BTreeMap;
use std::future::Future;
use std::time::Duration;
use tokio::sync::mpsc::UnboundedSender;
use tokio::task::AbortHandle;
use uuid::Uuid;

const DB_TIMEOUT: Duration = Duration::from_secs(10);
const CLUSTER_TIMEOUT: Duration = Duration::from_secs(15);
const AUDIT_LIMIT: i64 = 200;
/// A store's detail lists its newest backups, this many.
const BACKUPS_SHOWN: i64 = 50;
/// Deleted stores offered for an undelete, at most.
const UNDELETABLE_SHOWN: i64 = 100;
/// The events tail keeps the newest this many.
const EVENTS_KEPT: usize = 300;

pub struct Effects {
    pub tx: UnboundedSender<Msg>,
    pub pool: PgPool,
    pub client: Option<kube::Client>,
    /// A client without a read timeout, for logs that follow and wp runs
    /// (a quiet log is not a dead one).
    pub streaming: Option<kube::Client>,
    pub settings: std::sync::Arc<crate::config::Settings>,
    pub engine: std::sync::Arc<crate::engine::EngineConfig>,
    pub read_only: bool,
    pub actor: Actor,
    pub limits: Limits,
    pub urls: Naming,
    events: Option<AbortHandle>,
    logs: Option<AbortHandle>,
}

async fn timed<T, E: std::fmt::Display>(
    limit: Duration,
    what: &str,
    fut: impl Future<Output = Result<T, E>>,
) -> Result<T, String> {
    match tokio::time::timeout(limit, fut).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(crate::text::bound_message(&format!("{e:#}"), 300)),
        Err(_) => Err(format!("{what}: no answer after {}s", limit.as_secs())),
    }
}

impl Effects {
    pub fn new(
        tx: UnboundedSender<Msg>,
        pool: PgPool,
        clients: (Option<kube::Client>, Option<kube::Client>),
        settings: std::sync::Arc<crate::config::Settings>,
        engine: std::sync::Arc<crate::engine::EngineConfig>,
        read_only: bool,
        actor: Actor,
    ) -> Effects {
        let limits = crate::runtime::limits(&settings);
        let urls = crate::runtime::naming(&settings);
        Effects {
            tx,
            pool,
            client: clients.0,
            streaming: clients.1,
            settings,
            engine,
            read_only,
            actor,
            limits,
            urls,
            events: None,
            logs: None,
        }
    }

    fn spawn(&self, fut: impl Future<Output = Msg> + Send + 'static) {
        let tx = self.tx.clone();
        tokio::spawn(async move {
            let _ = tx.send(fut.await);
        });
    }

    pub fn run(&mut self, cmd: Command) {
        let pool = self.pool.clone();
        match cmd {
            Command::LoadStores => self.spawn(async move {
                let result = timed(DB_TIMEOUT, "database", stores::list(&pool, None)).await;
                Msg::StoresLoaded {
                    at: Utc::now(),
                    result,
                }
            }),
            Command::LoadStore { id, origin } => self.spawn(async move {
                let result = timed(DB_TIMEOUT, "database", stores::get(&pool, id)).await;
                Msg::StoreLoaded { id, result, origin }
            }),
            Command::LoadAudit(id) => self.spawn(async move {
                let result = timed(DB_TIMEOUT, "database", async {
                    let entries = audit::list(&pool, Some(id), AUDIT_LIMIT).await?;
                    let op = operations::active_for(&pool, id).await?;
                    Ok::<_, sqlx::Error>((entries, op))
                })
                .await;
                Msg::Audit { id, result }
            }),
            Command::LoadResources { id, namespace } => self.load_resources(id, namespace),
            Command::WatchEvents(target) => {
                if let Some(h) = self.events.take() {
                    h.abort();
                }
                if let (Some((id, ns)), Some(client)) = (target, self.client.clone()) {
                    let tx = self.tx.clone();
                    self.events =
                        Some(tokio::spawn(watch_events(client, id, ns, tx)).abort_handle());
                }
            }
            Command::Create(req) => self.create(req),
            Command::Retry { id, name } => self.act(Action::Retry, id, name, None),
            Command::Delete { id, name } => self.act(Action::Delete, id, name, None),
            Command::Backup { id, name } => self.act(Action::Backup, id, name, None),
            Command::Restore { id, name, backup } => self.act(Action::Restore, id, name, backup),
            Command::Undelete { id, name } => self.act(Action::Undelete, id, name, None),
            Command::LoadBackups(id) => {
                self.load_schedule(id);
                self.load_drills(id);
                self.load_backups(id)
            }
            Command::LoadDrills(id) => self.load_drills(id),
            Command::Drill { id, name } => self.drill(id, name),
            Command::SetSchedule {
                id,
                name,
                every_hours,
            } => self.set_schedule(id, name, every_hours),
            Command::Clone {
                source,
                source_name,
                name,
                owner,
            } => self.clone_store(source, source_name, name, owner),
            Command::LoadNewestGood => self.spawn(async move {
                let result = timed(DB_TIMEOUT, "database", backups::newest_good(&pool))
                    .await
                    .map(|rows| rows.into_iter().collect());
                Msg::NewestGood {
                    at: Utc::now(),
                    result,
                }
            }),
            Command::LoadDeleted => self.spawn(async move {
                Msg::Deleted(timed(DB_TIMEOUT, "database", undeletable(&pool)).await)
            }),
            Command::LoadContainers { id, namespace } => self.load_containers(id, namespace),
            Command::StreamLogs { stream, request } => self.stream_logs(stream, request),
            Command::StopLogs => {
                if let Some(h) = self.logs.take() {
                    h.abort();
                }
            }
            Command::Wp {
                seq,
                id,
                namespace,
                name,
                args,
            } => {
                let client = self.streaming.clone();
                let actor = self.actor.clone();
                let read_only = self.read_only;
                self.spawn(async move {
                    let result = match client {
                        Some(c) => {
                            pods::wp(&c, &pool, &actor, id, &namespace, &name, args, read_only)
                                .await
                        }
                        None => Err("no cluster connection".to_string()),
                    };
                    Msg::WpDone { seq, result }
                })
            }
            Command::LoadHistory { id } => self.load_history(id),
            Command::LoadFleet => self.spawn(async move {
                let result = async {
                    let runs =
                        timed(DB_TIMEOUT, "database", crate::db::fleet::list(&pool, 20)).await?;
                    let latest = match runs.first() {
                        Some(r) => Some(
                            timed(
                                DB_TIMEOUT,
                                "database",
                                crate::engine::fleet::detail_of(&pool, r.id),
                            )
                            .await?,
                        ),
                        None => None,
                    };
                    Ok(super::changes::fleet_lines(&runs, latest.as_ref()))
                }
                .await;
                Msg::Report {
                    which: super::msg::Report::Fleet,
                    result,
                }
            }),
            Command::Change { id, name, change } => self.change(id, name, change),
            Command::Doctor => {
                let settings = self.settings.clone();
                self.spawn(async move { Msg::Doctor(Ok(pods::doctor(&settings).await)) })
            }
        }
    }

    fn load_backups(&self, id: Uuid) {
        let pool = self.pool.clone();
        self.spawn(async move {
            let result = timed(
                DB_TIMEOUT,
                "database",
                backups::for_store(&pool, id, BACKUPS_SHOWN),
            )
            .await;
            Msg::Backups { id, result }
        })
    }

    /// The schedule that applies to the store and its next slot (the
    /// engine's view, as the API answers it).
    fn load_schedule(&self, id: Uuid) {
        let (pool, cfg) = (self.pool.clone(), self.engine.clone());
        self.spawn(async move {
            let result = timed(DB_TIMEOUT, "database", async {
                let store = existing(&pool, id).await?;
                engine::schedule::view(&pool, &cfg, &store, Utc::now()).await
            })
            .await;
            Msg::Schedule { id, result }
        })
    }

    /// The store's drills and last good restore (the engine's view, as
    /// `store drills` and the API answer it).
    fn load_drills(&self, id: Uuid) {
        let (pool, cfg) = (self.pool.clone(), self.engine.clone());
        self.spawn(async move {
            let result = timed(DB_TIMEOUT, "database", async {
                let store = existing(&pool, id).await?;
                engine::drill::view(&pool, &cfg, &store, Utc::now()).await
            })
            .await;
            Msg::Drills { id, result }
        })
    }

    /// Queues a restore drill; the engine's refusal (no backup yet, one
    /// already under way, backups off) comes back as the message.
    fn drill(&self, id: Uuid, name: String) {
        let (pool, cfg, actor) = (self.pool.clone(), self.engine.clone(), self.actor.clone());
        let read_only = self.read_only;
        self.spawn(async move {
            let result = if read_only {
                Err("read-only mode: restore drills are disabled".into())
            } else {
                timed(
                    DB_TIMEOUT,
                    "database",
                    engine::drill::request(
                        &pool,
                        &cfg,
                        &actor,
                        id,
                        None,
                        crate::db::drills::Reason::Manual,
                    ),
                )
                .await
                .map(|_| ())
            };
            Msg::DrillQueued { id, name, result }
        })
    }

    fn set_schedule(&self, id: Uuid, name: String, every_hours: Option<i32>) {
        let (pool, actor) = (self.pool.clone(), self.actor.clone());
        let read_only = self.read_only;
        self.spawn(async move {
            let result = if read_only {
                Err("read-only mode: changing the schedule is disabled".into())
            } else {
                timed(
                    DB_TIMEOUT,
                    "database",
                    engine::schedule::set(&pool, &actor, id, None, every_hours),
                )
                .await
                .map(|_| every_hours)
            };
            Msg::ScheduleSet { id, name, result }
        })
    }

    /// A clone from the source's newest complete backup (the engine checks
    /// the backup whole before it creates anything).
    fn clone_store(&self, source: Uuid, source_name: String, name: String, owner: String) {
        let (pool, cfg, actor) = (self.pool.clone(), self.engine.clone(), self.actor.clone());
        let (limits, read_only) = (self.limits, self.read_only);
        self.spawn(async move {
            let result = if read_only {
                Err("read-only mode: clones are disabled".into())
            } else {
                let req = engine::clone::CloneRequest {
                    source,
                    name,
                    backup: None,
                    owner,
                    scope: None,
                    idempotency_key: None,
                };
                timed(
                    DB_TIMEOUT,
                    "database",
                    engine::clone::clone(&pool, &cfg, limits, &actor, &req),
                )
                .await
            };
            Msg::Cloned {
                source: source_name,
                result,
            }
        })
    }

    fn load_resources(&self, id: Uuid, namespace: NamespaceRef) {
        let client = self.client.clone();
        self.spawn(async move {
            let result = match client {
                Some(c) => {
                    timed(CLUSTER_TIMEOUT, "cluster", async {
                        // Only what the store owns is shown.
                        match namespace::verify(&c, &namespace).await {
                            Ok(Some(owned)) => detail::resources(&c, &owned)
                                .await
                                .map_err(|e| e.to_string()),
                            Ok(None) => Ok(Vec::new()),
                            Err(e) => Err(e.to_string()),
                        }
                    })
                    .await
                }
                None => Err("no cluster connection".to_string()),
            };
            Msg::Resources { id, result }
        })
    }

    fn create(&self, req: engine::CreateRequest) {
        let pool = self.pool.clone();
        let (actor, limits, urls) = (self.actor.clone(), self.limits, self.urls.clone());
        self.spawn(async move {
            let res = tokio::time::timeout(
                DB_TIMEOUT,
                engine::create(&pool, limits, &urls, &actor, &req),
            )
            .await;
            Msg::Created(match res {
                Ok(Ok((store, _new))) => Ok(store),
                Ok(Err(e)) => Err(e.to_string()),
                Err(_) => Err(format!(
                    "no answer from the database after {}s; submitting again is safe (the request carries an idempotency key)",
                    DB_TIMEOUT.as_secs()
                )),
            })
        })
    }

    /// A request about one store (retry, delete, backup, restore from
    /// `backup`, undelete), answered with the store as it is now.
    fn act(&self, action: Action, id: Uuid, name: String, backup: Option<Uuid>) {
        let pool = self.pool.clone();
        let actor = self.actor.clone();
        self.spawn(async move {
            let result = match action {
                Action::Retry => {
                    timed(
                        DB_TIMEOUT,
                        "database",
                        engine::retry(&pool, &actor, id, None),
                    )
                    .await
                }
                Action::Delete => {
                    timed(
                        DB_TIMEOUT,
                        "database",
                        engine::delete(&pool, &actor, id, None),
                    )
                    .await
                }
                Action::Backup => {
                    timed(
                        DB_TIMEOUT,
                        "database",
                        engine::backup(&pool, &actor, id, None),
                    )
                    .await
                }
                Action::Restore => {
                    let backup = backup.map(|b| b.to_string());
                    timed(
                        DB_TIMEOUT,
                        "database",
                        engine::restore(&pool, &actor, id, None, backup.as_deref()),
                    )
                    .await
                }
                Action::Undelete => {
                    timed(
                        DB_TIMEOUT,
                        "database",
                        engine::undelete(&pool, &actor, id, None),
                    )
                    .await
                }
            };
            Msg::Acted {
                action,
                id,
                name,
                result,
            }
        })
    }

    fn load_containers(&self, id: Uuid, namespace: String) {
        let client = self.client.clone();
        self.spawn(async move {
            let result = match client {
                Some(c) => match tokio::time::timeout(
                    CLUSTER_TIMEOUT,
                    pods::containers(&c, id, &namespace),
                )
                .await
                {
                    Ok(r) => r,
                    Err(_) => Err(format!(
                        "cluster: no answer after {}s",
                        CLUSTER_TIMEOUT.as_secs()
                    )),
                },
                None => Err("no cluster connection".to_string()),
            };
            Msg::Containers { id, result }
        })
    }

    fn stream_logs(&mut self, stream: u64, request: LogRequest) {
        if let Some(h) = self.logs.take() {
            h.abort();
        }
        let tx = self.tx.clone();
        match self.streaming.clone() {
            Some(c) => {
                let task = pods::stream_logs(
                    c,
                    self.pool.clone(),
                    self.actor.clone(),
                    request,
                    stream,
                    tx,
                );
                self.logs = Some(tokio::spawn(task).abort_handle());
            }
            None => {
                let _ = tx.send(Msg::LogEnded {
                    stream,
                    error: Some("no cluster connection".into()),
                });
            }
        }
    }

    fn load_history(&self, id: Uuid) {
        let pool = self.pool.clone();
        let cfg = self.engine.clone();
        let client = self.client.clone();
        self.spawn(async move {
            let result = async {
                let client = client.ok_or("no cluster connection".to_string())?;
                let store = timed(DB_TIMEOUT, "database", stores::get(&pool, id))
                    .await?
                    .ok_or("the store is gone".to_string())?;
                let h = timed(
                    CLUSTER_TIMEOUT,
                    "helm",
                    crate::engine::changes::history(&pool, &cfg, &client, &store),
                )
                .await?;
                Ok(super::changes::history_lines(&store.name, &h))
            }
            .await;
            Msg::Report {
                which: super::msg::Report::History(id),
                result,
            }
        })
    }

    /// An upgrade or a rollback; the chart check (helm template) runs
    /// before the queueing.
    fn change(&self, id: Uuid, name: String, change: super::msg::StoreChange) {
        use super::msg::StoreChange;
        use crate::engine::changes;
        let pool = self.pool.clone();
        let cfg = self.engine.clone();
        let actor = self.actor.clone();
        let read_only = self.read_only;
        let client = self.client.clone();
        self.spawn(async move {
            if read_only {
                return Msg::ChangeQueued {
                    name,
                    result: Err("read-only mode: changes are disabled".into()),
                };
            }
            let (what, res) = match change {
                StoreChange::Upgrade(set) => (
                    "upgrade",
                    timed(
                        CLUSTER_TIMEOUT,
                        "helm",
                        changes::upgrade(
                            &pool,
                            &cfg,
                            client.as_ref(),
                            &actor,
                            id,
                            &changes::UpgradeRequest { set, to: None },
                        ),
                    )
                    .await,
                ),
                StoreChange::Rollback(rev) => (
                    "rollback",
                    timed(
                        CLUSTER_TIMEOUT,
                        "helm",
                        changes::rollback(&pool, &actor, id, rev),
                    )
                    .await,
                ),
            };
            Msg::ChangeQueued {
                name,
                result: res.map(|_| what.to_string()),
            }
        })
    }

    pub fn stop(&mut self) {
        if let Some(h) = self.events.take() {
            h.abort();
        }
        if let Some(h) = self.logs.take() {
            h.abort();
        }
    }
}

/// The deleted stores that can come back, each with its final backup
/// (newest first): two queries, whatever the number.
async fn undeletable(pool: &PgPool) -> Result<Vec<Undeletable>, sqlx::Error> {
    let finals = backups::undeletable_stores(pool, None, UNDELETABLE_SHOWN).await?;
    let ids: Vec<Uuid> = finals.iter().map(|b| b.store_id).collect();
    let records = backups::deleted_stores(pool, &ids).await?;
    let mut out: Vec<Undeletable> = Vec::with_capacity(finals.len());
    for b in finals {
        // A store deleted twice has two final backups: the newest is offered.
        if out.iter().any(|u| u.id == b.store_id) {
            continue;
        }
        if let Some(s) = records.iter().find(|s| s.id == b.store_id) {
            out.push(Undeletable {
                id: s.id,
                name: s.name.clone(),
                owner: s.owner.clone(),
                url: s.url.clone(),
                backed_up_at: b.finished_at,
                expires_at: b.expires_at,
                bytes: b.bytes,
            });
        }
    }
    Ok(out)
}

/// Follows one namespace's events with a watch (no polling): every change
/// sends the whole tail, newest first.
async fn watch_events(
    client: kube::Client,
    id: Uuid,
    want: NamespaceRef,
    tx: UnboundedSender<Msg>,
) {
    // Only a namespace checked to be the store's is followed: one not made
    // yet (a store still queued) is looked for again until it exists, never
    // followed by name alone. The task ends when the detail closes.
    let mut told_empty = false;
    let ns = loop {
        match namespace::verify(&client, &want).await {
            Ok(Some(owned)) => break owned.name().to_string(),
            Ok(None) => {
                if !told_empty {
                    told_empty = true;
                    if tx
                        .send(Msg::Events {
                            id,
                            result: Ok(Vec::new()),
                        })
                        .is_err()
                    {
                        return;
                    }
                }
                tokio::time::sleep(Duration::from_secs(2)).await;
            }
            Err(e) => {
                let _ = tx.send(Msg::Events {
                    id,
                    result: Err(e.to_string()),
                });
                return;
            }
        }
    };
    let api: Api<Event> = Api::namespaced(client, &ns);
    let stream = watcher(api, watcher::Config::default()).default_backoff();
    let mut stream = std::pin::pin!(stream);
    let mut current: BTreeMap<String, EventLine> = BTreeMap::new();
    let mut listing: BTreeMap<String, EventLine> = BTreeMap::new();
    let send = |map: &BTreeMap<String, EventLine>| {
        let mut lines: Vec<EventLine> = map.values().cloned().collect();
        detail::sort_newest_first(&mut lines);
        lines.truncate(EVENTS_KEPT);
        tx.send(Msg::Events {
            id,
            result: Ok(lines),
        })
        .is_ok()
    };
    while let Some(ev) = stream.next().await {
        let alive = match ev {
            Ok(watcher::Event::Init) => {
                listing.clear();
                true
            }
            Ok(watcher::Event::InitApply(e)) => {
                listing.insert(e.name_any(), detail::event_line(&e));
                detail::bound_tail(&mut listing, EVENTS_KEPT);
                true
            }
            Ok(watcher::Event::InitDone) => {
                current = std::mem::take(&mut listing);
                send(&current)
            }
            Ok(watcher::Event::Apply(e)) => {
                current.insert(e.name_any(), detail::event_line(&e));
                detail::bound_tail(&mut current, EVENTS_KEPT);
                send(&current)
            }
            Ok(watcher::Event::Delete(e)) => {
                current.remove(&e.name_any());
                send(&current)
            }
            Err(e) => tx
                .send(Msg::Events {
                    id,
                    result: Err(format!(
                        "events watch: {}",
                        crate::text::bound_message(&e.to_string(), 200)
                    )),
                })
                .is_ok(),
        };
        if !alive {
            return;
        }
    }
}

/// The store's record, or NotFound (it was deleted meanwhile).
async fn existing(
    pool: &sqlx::PgPool,
    id: Uuid,
) -> Result<crate::store::Store, engine::EngineError> {
    stores::get(pool, id)
        .await?
        .ok_or_else(|| engine::EngineError::NotFound {
            key: id.to_string(),
        })
}
