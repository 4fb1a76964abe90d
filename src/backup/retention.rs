//! Which scheduled backups a store keeps (pure): the newest of each of the
//! last `daily` days that have one, and the newest of each of the last
//! `weekly` ISO weeks that have one (days and weeks in UTC). The newest
//! backup is always kept, whatever the counts. Manual backups are kept
//! until their store is deleted, final ones until their undelete window
//! ends; neither is decided here.

use chrono::{DateTime, Datelike, Utc};
use std::collections::HashSet;
use uuid::Uuid;

/// How many scheduled backups of each kind a store keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    pub daily: u32,
    pub weekly: u32,
}

/// The backups to purge among `backups` (a store's complete scheduled
/// backups, any order): (id, when it finished).
pub fn to_purge(backups: &[(Uuid, DateTime<Utc>)], keep: Retention) -> Vec<Uuid> {
    let mut newest_first = backups.to_vec();
    newest_first.sort_by(|a, b| b.1.cmp(&a.1).then(b.0.cmp(&a.0)));
    let mut kept: HashSet<Uuid> = HashSet::new();
    if let Some((id, _)) = newest_first.first() {
        kept.insert(*id);
    }
    keep_newest_per(&newest_first, keep.daily, |t| t.date_naive(), &mut kept);
    keep_newest_per(
        &newest_first,
        keep.weekly,
        |t| {
            let w = t.iso_week();
            (w.year(), w.week())
        },
        &mut kept,
    );
    newest_first
        .into_iter()
        .map(|(id, _)| id)
        .filter(|id| !kept.contains(id))
        .collect()
}

/// Marks the newest backup of each of the first `count` periods (as
/// `period` names them) kept; `newest_first` is sorted newest first.
fn keep_newest_per<P: Eq + std::hash::Hash>(
    newest_first: &[(Uuid, DateTime<Utc>)],
    count: u32,
    period: impl Fn(&DateTime<Utc>) -> P,
    kept: &mut HashSet<Uuid>,
) {
    let mut seen: HashSet<P> = HashSet::new();
    for (id, t) in newest_first {
        if seen.len() as u32 >= count {
            break;
        }
        if seen.insert(period(t)) {
            kept.insert(*id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    /// Backups every 6 h for `days` days before `end`, newest last.
    fn every_6h(end: DateTime<Utc>, days: i64) -> Vec<(Uuid, DateTime<Utc>)> {
        (0..days * 4)
            .rev()
            .map(|i| (Uuid::now_v7(), end - Duration::hours(6 * i)))
            .collect()
    }

    #[test]
    fn keeps_the_newest_of_each_recent_day_and_week() {
        // Sunday 2026-12-06 18:00; five weeks of backups every 6 hours.
        let end = at("2026-12-06T18:00:00Z");
        let all = every_6h(end, 35);
        let purge: HashSet<Uuid> = to_purge(
            &all,
            Retention {
                daily: 7,
                weekly: 4,
            },
        )
        .into_iter()
        .collect();
        let kept: Vec<DateTime<Utc>> = all
            .iter()
            .filter(|(id, _)| !purge.contains(id))
            .map(|(_, t)| *t)
            .collect();
        // 7 days (Nov 30 – Dec 6, each day's 18:00), and the newest of the
        // 4 newest ISO weeks: this week's is Dec 6's (already kept), then
        // the Sundays Nov 29, Nov 22, Nov 15.
        let want: Vec<DateTime<Utc>> = [
            "2026-11-15T18:00:00Z",
            "2026-11-22T18:00:00Z",
            "2026-11-29T18:00:00Z",
            "2026-11-30T18:00:00Z",
            "2026-12-01T18:00:00Z",
            "2026-12-02T18:00:00Z",
            "2026-12-03T18:00:00Z",
            "2026-12-04T18:00:00Z",
            "2026-12-05T18:00:00Z",
            "2026-12-06T18:00:00Z",
        ]
        .into_iter()
        .map(at)
        .collect();
        assert_eq!(kept, want);
        assert_eq!(purge.len(), all.len() - want.len());
    }

    #[test]
    fn the_newest_backup_is_always_kept() {
        let all = every_6h(at("2026-12-06T18:00:00Z"), 3);
        let purge = to_purge(
            &all,
            Retention {
                daily: 0,
                weekly: 0,
            },
        );
        assert_eq!(purge.len(), all.len() - 1);
        assert!(!purge.contains(&all.last().unwrap().0));
        assert!(
            to_purge(
                &[],
                Retention {
                    daily: 0,
                    weekly: 0
                }
            )
            .is_empty()
        );
    }

    #[test]
    fn fewer_backups_than_the_counts_are_all_kept() {
        let all = vec![
            (Uuid::now_v7(), at("2026-12-01T03:00:00Z")),
            (Uuid::now_v7(), at("2026-12-03T03:00:00Z")),
        ];
        assert!(
            to_purge(
                &all,
                Retention {
                    daily: 7,
                    weekly: 4
                }
            )
            .is_empty()
        );
    }
}
