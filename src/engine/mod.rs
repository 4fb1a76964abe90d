//! The provisioning engine, shared by the console, the API and the command
//! line. Requests (`requests`) turn create/retry/delete into durable
//! operations in Postgres, with every limit checked in the same transaction;
//! workers (`worker`) claim those operations with a lease and carry them out
//! (`provision`), each step idempotent.

pub mod backup;
pub mod changes;
pub mod clone;
pub mod config;
pub mod drill;
pub mod fleet;
pub mod provision;
pub mod requests;
pub mod schedule;
pub mod upgrade;
pub mod worker;

pub use clone::{CloneRequest, clone};
pub use config::{EngineConfig, Naming};
pub use requests::{
    CreateRequest, Limits, backup, create, delete, delete_with, restore, retry, undelete,
};
pub use worker::{WorkerPool, WorkerPoolConfig};

use crate::store::{Refusal, Store};

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("{message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
    #[error("limit reached: {limit} is {max}; {detail}")]
    Limit {
        limit: &'static str,
        max: u32,
        detail: String,
    },
    #[error("a store named \"{name}\" already exists for {owner}; choose another name")]
    NameTaken { name: String, owner: String },
    #[error("no such store: {key}")]
    NotFound { key: String },
    /// The lifecycle refuses the request in the store's status.
    #[error("{}", refusal.message(name))]
    NotAllowed { name: String, refusal: Refusal },
    #[error("{detail}")]
    NotOwned { detail: String },
    #[error("store \"{name}\" is busy: {detail}")]
    Busy { name: String, detail: String },
    /// Something the request needs to look at (helm, the cluster) did not answer.
    #[error("{0}")]
    Unavailable(String),
    #[error("database error: {0}; check that PostgreSQL is reachable")]
    Database(#[from] sqlx::Error),
}

impl EngineError {
    /// The lifecycle's refusal of a request for `store`.
    pub fn refused(store: &Store, refusal: Refusal) -> EngineError {
        EngineError::NotAllowed {
            name: store.name.clone(),
            refusal,
        }
    }

    /// Stable short code for scripts and the API.
    pub fn code(&self) -> &'static str {
        match self {
            EngineError::Invalid { .. } => "invalid",
            EngineError::Limit { .. } => "limit",
            EngineError::NameTaken { .. } => "conflict",
            EngineError::NotFound { .. } => "not_found",
            EngineError::NotAllowed { .. } => "conflict",
            EngineError::Busy { .. } => "busy",
            EngineError::NotOwned { .. } => "not_owned",
            EngineError::Unavailable(_) | EngineError::Database(_) => "unavailable",
        }
    }
}
