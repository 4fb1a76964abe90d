//! The provisioning engine, shared by the console, the API and the command
//! line. Requests (`requests`) turn create/retry/delete into durable
//! operations in Postgres, with every limit checked in the same transaction;
//! workers (`worker`) claim those operations with a lease and carry them out
//! (`provision`), each step idempotent.

pub mod provision;
pub mod requests;
pub mod worker;

pub use requests::{CreateRequest, Limits, create, delete, retry};
pub use worker::{WorkerPool, WorkerPoolConfig};

use crate::store::Status;

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
    #[error("cannot {action} store \"{name}\" while it is {status}; {hint}")]
    NotAllowed {
        action: &'static str,
        name: String,
        status: Status,
        hint: &'static str,
    },
    #[error("database error: {0}; check that PostgreSQL is reachable")]
    Database(#[from] sqlx::Error),
}

impl EngineError {
    /// Stable short code for scripts and the API.
    pub fn code(&self) -> &'static str {
        match self {
            EngineError::Invalid { .. } => "invalid",
            EngineError::Limit { .. } => "limit",
            EngineError::NameTaken { .. } => "conflict",
            EngineError::NotFound { .. } => "not_found",
            EngineError::NotAllowed { .. } => "conflict",
            EngineError::Database(_) => "unavailable",
        }
    }
}

/// Cuts a message to at most `max` bytes on a character boundary, marking
/// the cut, so error messages stored and shown stay bounded.
pub fn bound_message(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max.saturating_sub('…'.len_utf8());
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bound_message_cuts_on_char_boundaries() {
        assert_eq!(bound_message("short", 10), "short");
        let long = "é".repeat(100);
        let cut = bound_message(&long, 51);
        assert!(cut.len() <= 51);
        assert!(cut.ends_with('…'));
    }
}
