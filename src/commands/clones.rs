//! `store clone`: a new store from a backup of another.

use super::{print_store, report, resolve, settle};
use crate::config::Settings;
use crate::engine::{self, CloneRequest, EngineConfig};
use crate::runtime;
use crate::store::{Status, Via};
use color_eyre::eyre::Result;
use sqlx::PgPool;
use std::process::ExitCode;

/// What was asked on the command line.
pub struct Ask {
    pub source: String,
    pub name: String,
    pub backup: Option<String>,
    pub actor: Option<String>,
}

/// Clones the source into a new store of the source's owner; with `wait`,
/// until the clone is Ready (exit 0) or not (exit 5).
pub async fn clone(
    settings: Settings,
    pool: &PgPool,
    ask: Ask,
    wait: bool,
    json: bool,
) -> Result<ExitCode> {
    let source = match resolve(pool, &ask.source).await {
        Ok(s) => s,
        Err(code) => return Ok(ExitCode::from(code)),
    };
    let actor = runtime::actor(ask.actor, Via::Cli);
    let req = CloneRequest {
        source: source.id,
        name: ask.name,
        backup: ask.backup,
        owner: source.owner.clone(),
        scope: None,
        idempotency_key: None,
    };
    let cfg = EngineConfig::from_settings(&settings);
    match engine::clone(pool, &cfg, runtime::limits(&settings), &actor, &req).await {
        Ok(store) if wait => settle(settings, store.id, json, Some(Status::Ready)).await,
        Ok(store) => {
            print_store(&store, json);
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => Ok(report(e, json)),
    }
}
