//! A backup's manifest: what it holds and how to check it, written last, so
//! a backup without one is not a backup.

use super::PartInfo;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The manifest format this version writes and reads.
pub const FORMAT: u32 = 1;
/// The manifest's object name in a backup's directory.
pub const OBJECT: &str = "manifest.json";

/// The part names: the store's credentials, its database, its files.
pub const SECRET_PART: &str = "secret";
pub const DATABASE_PART: &str = "database";
pub const FILES_PART: &str = "files";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: u32,
    pub backup_id: Uuid,
    pub store_id: Uuid,
    pub store_name: String,
    pub namespace: String,
    pub host: String,
    pub engine: String,
    pub chart_version: Option<String>,
    pub helm_revision: Option<i32>,
    pub settings: crate::store::StoreSettings,
    /// The key the parts are sealed with (its id, never the key).
    pub key_id: String,
    pub reason: String,
    pub requested_by: String,
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
    pub parts: Vec<PartInfo>,
    /// What the store held, counted when it was backed up (orders…), for
    /// restore drills to compare against.
    #[serde(default)]
    pub counts: std::collections::BTreeMap<String, i64>,
}

impl Manifest {
    pub fn part(&self, name: &str) -> Option<&PartInfo> {
        self.parts.iter().find(|p| p.name == name)
    }

    /// The sealed bytes of every part.
    pub fn bytes(&self) -> u64 {
        self.parts.iter().map(|p| p.bytes).sum()
    }
}

/// The directory of one backup in the bucket (below the prefix).
pub fn directory(store_id: Uuid, backup_id: Uuid) -> String {
    format!("{store_id}/{backup_id}/")
}
