//! For the platform: `/healthz` (the process answers), `/readyz` (database
//! reachable and the cluster watches connected; 503 otherwise, and while
//! shutting down) and `/metrics` (Prometheus text format).

use super::AppState;
use crate::db::{operations, stores};
use crate::metrics::METRICS;
use crate::store::Status;
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use std::fmt::Write as _;
use std::sync::atomic::Ordering;
use std::time::Duration;
use utoipa::ToSchema;

const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

/// `{"status": "ok"}`
#[derive(Debug, Serialize, ToSchema)]
pub struct Alive {
    #[schema(schema_with = ok_schema)]
    pub status: &'static str,
}

fn ok_schema() -> utoipa::openapi::Object {
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .enum_values(Some(["ok"]))
        .build()
}

/// The process is alive.
#[utoipa::path(get, path = "/healthz", tag = "operations", security(()),
    responses((status = 200, description = "Alive.", body = Alive)))]
pub async fn healthz() -> Json<Alive> {
    Json(Alive { status: "ok" })
}

/// What `/readyz` found.
#[derive(Debug, Serialize, ToSchema)]
pub struct Readiness {
    pub ready: bool,
    pub database: DatabaseCheck,
    pub watch: WatchCheck,
    /// Shutting down: another replica should answer.
    pub draining: bool,
    /// When not ready: what is down, in words.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub error: Option<String>,
    /// When not ready: `not_ready`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub code: Option<&'static str>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DatabaseCheck {
    pub ok: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WatchCheck {
    pub connected: bool,
    /// Since when the watches have been connected (or not).
    pub since: chrono::DateTime<chrono::Utc>,
}

async fn database_ok(state: &AppState) -> Result<(), String> {
    let ping = sqlx::query_scalar::<_, i32>("SELECT 1").fetch_one(&state.pool);
    match tokio::time::timeout(CHECK_TIMEOUT, ping).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err(format!("no answer within {}s", CHECK_TIMEOUT.as_secs())),
    }
}

/// Ready to serve: database reachable, cluster watches connected, not
/// shutting down.
///
/// Anyone may ask, so the body names what is down but never carries internal
/// error text (addresses, user names, driver messages): those go to the log.
#[utoipa::path(get, path = "/readyz", tag = "operations", security(()),
    responses(
        (status = 200, description = "Ready.", body = Readiness),
        (status = 503, description = "Not ready; `error` says why.", body = Readiness),
    ))]
pub async fn readyz(State(state): State<AppState>) -> Response {
    let db = database_ok(&state).await;
    let watch = state.view.connection().borrow().clone();
    let draining = state.is_draining();
    let mut problems = Vec::new();
    if let Err(e) = &db {
        tracing::warn!(error = %e, "readiness: the database does not answer");
        problems.push("the database does not answer");
    }
    if !watch.connected {
        tracing::warn!(
            error = %watch.error.clone().unwrap_or_else(|| "not connected".into()),
            "readiness: the cluster watches are not connected"
        );
        problems.push("the cluster watches are not connected");
    }
    if draining {
        problems.push("shutting down");
    }
    let ready = problems.is_empty();
    let body = Readiness {
        ready,
        database: DatabaseCheck { ok: db.is_ok() },
        watch: WatchCheck {
            connected: watch.connected,
            since: watch.since,
        },
        draining,
        error: (!ready).then(|| format!("not ready: {}", problems.join("; "))),
        code: (!ready).then_some("not_ready"),
    };
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(body)).into_response()
}

fn line(out: &mut String, name: &str, help: &str, kind: &str, value: impl std::fmt::Display) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
    let _ = writeln!(out, "{name} {value}");
}

/// What this replica answers from memory (see `cache.rs`).
fn render_cache(out: &mut String, cache: &super::cache::Cache) {
    line(
        out,
        "store_weaver_api_cache_live",
        "Whether this replica may answer from memory (it is receiving the change notifications).",
        "gauge",
        u8::from(cache.is_live()),
    );
    let stats = cache.stats();
    let rows: [(&str, &str, &str, Vec<u64>); 3] = [
        (
            "store_weaver_api_cache_entries",
            "Entries this replica remembers, by part.",
            "gauge",
            stats.iter().map(|p| p.entries as u64).collect(),
        ),
        (
            "store_weaver_api_cache_hits_total",
            "Answers from memory, by part.",
            "counter",
            stats.iter().map(|p| p.hits).collect(),
        ),
        (
            "store_weaver_api_cache_misses_total",
            "Reads that went to the database, by part.",
            "counter",
            stats.iter().map(|p| p.misses).collect(),
        ),
    ];
    for (name, help, kind, values) in rows {
        let _ = writeln!(out, "# HELP {name} {help}");
        let _ = writeln!(out, "# TYPE {name} {kind}");
        for (p, v) in stats.iter().zip(values) {
            let _ = writeln!(out, "{name}{{part=\"{}\"}} {v}", p.part);
        }
    }
}

/// Prometheus metrics (text format 0.0.4).
///
/// Stores by status, operations queued, provisions started and failed (whole
/// deployment, from the database: aggregate across replicas with max), watch
/// connected, and per-process counters and the provisioning duration
/// histogram.
#[utoipa::path(get, path = "/metrics", tag = "operations", security(()),
    responses((status = 200, description = "Metrics.", content_type = "text/plain", body = String)))]
pub async fn metrics(State(state): State<AppState>) -> Response {
    let mut out = String::with_capacity(4096);
    // From the database: the same on every replica (aggregate with max, not sum).
    let by_status = stores::count_by_status(&state.pool).await;
    let queued = operations::queued_count(&state.pool).await;
    let totals: Result<(i64, i64), sqlx::Error> = sqlx::query_as(
        "SELECT count(*) FILTER (WHERE started_at IS NOT NULL), count(*) FILTER (WHERE state = 'failed') \
         FROM operations WHERE kind = 'provision'",
    )
    .fetch_one(&state.pool)
    .await;
    let db_up = by_status.is_ok() && queued.is_ok() && totals.is_ok();
    line(
        &mut out,
        "store_weaver_database_up",
        "Whether the last scrape could read the database.",
        "gauge",
        u8::from(db_up),
    );
    if let Ok(rows) = by_status {
        let _ = writeln!(
            out,
            "# HELP store_weaver_stores Stores by status (whole deployment, from the database)."
        );
        let _ = writeln!(out, "# TYPE store_weaver_stores gauge");
        for st in Status::ALL {
            let n = rows
                .iter()
                .find(|(s, _)| s == st.as_str())
                .map(|(_, n)| *n)
                .unwrap_or(0);
            let _ = writeln!(out, "store_weaver_stores{{status=\"{}\"}} {n}", st.as_str());
        }
    }
    if let Ok(n) = queued {
        line(
            &mut out,
            "store_weaver_operations_queued",
            "Operations waiting for a worker (whole deployment).",
            "gauge",
            n,
        );
    }
    if let Ok((started, failed)) = totals {
        line(
            &mut out,
            "store_weaver_provisions_started_total",
            "Provisions a worker has started (whole deployment, from the database).",
            "counter",
            started,
        );
        line(
            &mut out,
            "store_weaver_provisions_failed_total",
            "Provisions that ended Failed (whole deployment, from the database).",
            "counter",
            failed,
        );
    }
    line(
        &mut out,
        "store_weaver_watch_connected",
        "Whether every cluster watch of this process is connected.",
        "gauge",
        u8::from(state.view.is_connected()),
    );
    crate::metrics::render_watch(&mut out, &state.view.watch_stats());
    render_cache(&mut out, &state.cache);
    if state.engine.backup.is_some()
        && let Ok(f) = crate::db::schedules::figures(&state.pool).await
    {
        super::backup_metrics::render(&mut out, &f);
    }
    if let Some(bc) = &state.engine.backup {
        let overdue = crate::engine::drill::overdue_after(bc).num_seconds();
        if let Ok(f) = crate::db::drills::figures(&state.pool, overdue as f64).await {
            super::backup_metrics::render_drills(&mut out, &f, overdue);
        }
    }
    line(
        &mut out,
        "store_weaver_process_provisions_succeeded_total",
        "Provisions this process's workers finished Ready.",
        "counter",
        METRICS.provisions_succeeded.load(Ordering::Relaxed),
    );
    line(
        &mut out,
        "store_weaver_process_provisions_failed_total",
        "Provisions this process's workers finished Failed.",
        "counter",
        METRICS.provisions_failed.load(Ordering::Relaxed),
    );
    line(
        &mut out,
        "store_weaver_process_creates_accepted_total",
        "Stores created through this process's API.",
        "counter",
        METRICS.creates_accepted.load(Ordering::Relaxed),
    );
    crate::metrics::render_histogram(&mut out);
    let mut res = (StatusCode::OK, out).into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    res
}
