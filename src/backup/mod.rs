//! Backups of stores: where they are kept (`bucket`), how they are sealed
//! (`seal`) and what describes one (`manifest`). The engine's backup and
//! restore steps (`engine::backup`) move the bytes between a store's pods
//! and the bucket through these, streaming.

pub mod bucket;
pub mod manifest;
pub mod retention;
pub mod schedule;
pub mod seal;

pub use bucket::{Bucket, BucketConfig, BucketError, PartInfo};
pub use manifest::Manifest;
pub use retention::Retention;
pub use seal::{BackupKey, SealError};

/// What backups need, configured: the bucket and the key. None of it set:
/// backups are off, and a delete says it cannot be undone.
#[derive(Clone, Debug)]
pub struct BackupConfig {
    pub bucket: BucketConfig,
    pub key: BackupKey,
    /// How long a deleted store's final backup is kept for an undelete.
    pub keep_deleted: std::time::Duration,
    /// The fleet's interval between scheduled backups (a store may set its
    /// own); None: no scheduled backups unless a store sets one.
    pub every: Option<chrono::Duration>,
    /// How many scheduled backups a store keeps.
    pub retention: Retention,
    /// The interval between a store's restore drills; None: only on demand.
    pub drill_every: Option<chrono::Duration>,
    /// Drills running at once across every process.
    pub drill_concurrency: u32,
}

/// Why a backup was taken: it decides how long it is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Reason {
    /// Asked for by someone (`store backup`, the console, the API).
    Manual,
    /// Taken by the schedule.
    Scheduled,
    /// Taken by a delete, kept for an undelete until it expires.
    Final,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Manual => "manual",
            Reason::Scheduled => "scheduled",
            Reason::Final => "final",
        }
    }

    pub fn parse(s: &str) -> Option<Reason> {
        [Reason::Manual, Reason::Scheduled, Reason::Final]
            .into_iter()
            .find(|r| r.as_str() == s)
    }
}
