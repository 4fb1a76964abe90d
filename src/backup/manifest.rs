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

/// Whether a backup taken with chart `taken` may be restored into a store
/// that runs (or will be installed with) chart `into`: the same or a newer
/// chart takes it (the shop migrates older data at its start, as after an
/// upgrade); an older one does not (newer data may not fit it). Ok(true)
/// when the chart is newer than the backup's. Versions not both known, or
/// not numbers, are taken as fitting.
pub fn chart_fits(taken: Option<&str>, into: Option<&str>) -> Result<bool, (String, String)> {
    let (Some(taken), Some(into)) = (taken, into) else {
        return Ok(false);
    };
    match (version_key(taken), version_key(into)) {
        (Some(t), Some(i)) if t > i => Err((taken.to_string(), into.to_string())),
        (Some(t), Some(i)) => Ok(t < i),
        _ => Ok(false),
    }
}

/// `1.2.3` (a leading `v` and any `-pre`/`+build` ignored) as numbers.
fn version_key(v: &str) -> Option<Vec<u64>> {
    let core = v.trim().trim_start_matches('v');
    let core = core.split(['-', '+']).next()?;
    core.split('.').map(|n| n.parse().ok()).collect()
}

/// The directory of one backup in the bucket (below the prefix).
pub fn directory(store_id: Uuid, backup_id: Uuid) -> String {
    format!("{store_id}/{backup_id}/")
}

#[cfg(test)]
mod tests {
    use super::chart_fits;

    #[test]
    fn a_backup_goes_into_its_own_chart_or_a_newer_one_never_an_older_one() {
        assert_eq!(chart_fits(Some("0.1.0"), Some("0.1.0")), Ok(false));
        assert_eq!(chart_fits(Some("0.1.0"), Some("0.2.0")), Ok(true));
        assert_eq!(chart_fits(Some("0.9.0"), Some("0.10.0")), Ok(true));
        assert_eq!(
            chart_fits(Some("0.3.0"), Some("0.2.1")),
            Err(("0.3.0".into(), "0.2.1".into()))
        );
        assert_eq!(chart_fits(Some("v1.2.3-rc.1"), Some("1.2.3")), Ok(false));
        assert_eq!(chart_fits(None, Some("0.2.0")), Ok(false));
        assert_eq!(chart_fits(Some("x.y"), Some("0.2.0")), Ok(false));
    }
}
