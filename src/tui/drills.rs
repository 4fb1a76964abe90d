//! The console's pure parts about restore drills: the detail's "last good
//! restore" line, how a drill reads in a row, how often the detail reads
//! them again, and the schedule input's words. `update` and `view` both
//! use them; no I/O here.

use crate::db::drills::{Drill, Outcome, Phase};
use crate::engine::drill::{DrillsView, last_good_words};
use chrono::{DateTime, Duration, FixedOffset, Utc};

/// The open detail reads its drills again this often: a drill changes
/// nothing in the store it proves, so no store notification says it moved.
pub const DRILLS_EVERY: Duration = Duration::minutes(1);
/// …and this often while one of its drills is under way.
pub const DRILLS_EVERY_RUNNING: Duration = Duration::seconds(10);

/// What the confirmation and the help say a drill does.
pub const WHAT_A_DRILL_DOES: &str = "restores the newest backup into a throwaway store, checks it, deletes it; the store is not touched";

/// The newest drill that has a result, when it failed: the store's
/// restores are in doubt.
pub fn newest_failure(v: &DrillsView) -> Option<&Drill> {
    v.drills
        .iter()
        .find(|d| d.outcome.is_some())
        .filter(|d| d.outcome == Some(Outcome::Failed))
}

/// A drill of the store is queued, restoring or removing its throwaway store.
pub fn under_way(v: &DrillsView) -> Option<&Drill> {
    v.drills.iter().find(|d| d.phase != Phase::Done)
}

/// How long until the detail asks for the drills again.
pub fn refresh_every(v: Option<&DrillsView>) -> Duration {
    if v.and_then(under_way).is_some() {
        DRILLS_EVERY_RUNNING
    } else {
        DRILLS_EVERY
    }
}

/// The detail's line: "2 days ago; next drill 2026-03-21 04:00 (in 6d)",
/// what follows "last good restore:", and whether it is bad news (the
/// newest drill failed: then its reason is part of the line).
pub fn restore_line(v: &DrillsView, now: DateTime<Utc>, tz: FixedOffset) -> (String, bool) {
    let mut out = last_good_words(v.last_good_at, now);
    let failed = newest_failure(v);
    let at = |d: &Drill| d.checked_at.or(d.finished_at).unwrap_or(d.created_at);
    if let Some(d) = failed {
        out.push_str(&format!(
            ", newest drill FAILED {} ago",
            super::fmt::age(now, at(d))
        ));
    }
    match (v.next_at, v.every_days) {
        (Some(t), Some(days)) => out.push_str(&format!(
            "; next drill {} (in {}, every {days} d)",
            t.with_timezone(&tz).format("%Y-%m-%d %H:%M"),
            super::fmt::age(t, now)
        )),
        _ => out.push_str("; no drills scheduled (T runs one)"),
    }
    if let Some(d) = under_way(v) {
        out.push_str(&format!(
            "; a drill is {} (asked {} ago)",
            d.phase.as_str(),
            super::fmt::age(now, d.created_at)
        ));
    }
    // The failure's reason last: the longest part, cut on narrow
    // terminals (the drills table has it whole).
    if let Some(d) = failed {
        out.push_str(&format!(
            "; failure: {}",
            d.detail.as_deref().unwrap_or("no reason recorded")
        ));
    }
    (out, failed.is_some())
}

/// The result as a glyph and a word, and whether it is good news (None:
/// not known yet).
pub fn result_label(d: &Drill) -> (String, Option<bool>) {
    match d.outcome {
        Some(Outcome::Passed) => ("✓ passed".into(), Some(true)),
        Some(Outcome::Failed) => ("✗ failed".into(), Some(false)),
        None => (format!("◐ {}", d.phase.as_str()), None),
    }
}

/// How long the restore took (start to check): `96s`, `3m05s`, `-`.
pub fn took(d: &Drill) -> String {
    match d.restore_secs() {
        Some(s) if s < 60.0 => format!("{s:.0}s"),
        Some(s) => super::fmt::duration(Duration::milliseconds((s * 1000.0) as i64)),
        None => "-".into(),
    }
}

/// A store's own backup interval as the schedule input starts with it:
/// `6h`, `2d`, `off`, `default`.
pub fn every_text(own_hours: Option<i32>) -> String {
    match own_hours {
        None => "default".into(),
        Some(0) => "off".into(),
        Some(h) if h % 24 == 0 => format!("{}d", h / 24),
        Some(h) => format!("{h}h"),
    }
}

/// What a saved interval means, for the message after it is saved.
pub fn every_words(every: Option<i32>) -> String {
    match every {
        None => "the fleet's default".into(),
        Some(0) => "no scheduled backups".into(),
        Some(h) => format!("every {h} h"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::fixtures::{drill, t0};

    fn view(drills: Vec<Drill>) -> DrillsView {
        DrillsView {
            drills,
            last_good_at: Some(t0() - Duration::days(2)),
            every_days: Some(7),
            next_at: Some(t0() + Duration::hours(30)),
        }
    }

    #[test]
    fn the_line_says_the_last_good_restore_and_the_next_drill() {
        let tz = FixedOffset::east_opt(0).unwrap();
        let v = view(vec![drill(1, Some(Outcome::Passed), 2 * 86_400)]);
        assert_eq!(
            restore_line(&v, t0(), tz),
            (
                "2 days ago; next drill 2026-03-15 18:00 (in 30h, every 7 d)".to_string(),
                false
            )
        );
        let none = DrillsView {
            drills: Vec::new(),
            last_good_at: None,
            every_days: None,
            next_at: None,
        };
        assert_eq!(
            restore_line(&none, t0(), tz),
            ("never; no drills scheduled (T runs one)".to_string(), false)
        );
    }

    #[test]
    fn a_failed_newest_drill_is_bad_news_with_its_reason() {
        let tz = FixedOffset::east_opt(0).unwrap();
        let mut failed = drill(2, Some(Outcome::Failed), 3_600);
        failed.detail = Some("part database: checksum mismatch".into());
        // A drill still running after the failure does not hide it.
        let running = drill(3, None, 30);
        let v = view(vec![
            running,
            failed,
            drill(1, Some(Outcome::Passed), 2 * 86_400),
        ]);
        let (line, bad) = restore_line(&v, t0(), tz);
        assert!(bad, "{line}");
        assert!(
            line == "2 days ago, newest drill FAILED 1h ago; next drill 2026-03-15 18:00 (in 30h, every 7 d); a drill is restoring (asked 30s ago); failure: part database: checksum mismatch",
            "{line}"
        );
        assert_eq!(refresh_every(Some(&v)), DRILLS_EVERY_RUNNING);
        // A pass after the failure clears it.
        let v = view(vec![
            drill(4, Some(Outcome::Passed), 60),
            drill(2, Some(Outcome::Failed), 3_600),
        ]);
        assert!(!restore_line(&v, t0(), tz).1);
        assert_eq!(refresh_every(Some(&v)), DRILLS_EVERY);
    }

    #[test]
    fn rows_read_as_result_and_duration() {
        let d = drill(1, Some(Outcome::Passed), 600);
        assert_eq!(result_label(&d), ("✓ passed".to_string(), Some(true)));
        assert_eq!(took(&d), "1m36s");
        let r = drill(2, None, 10);
        assert_eq!(result_label(&r), ("◐ restoring".to_string(), None));
        assert_eq!(took(&r), "-");
    }

    #[test]
    fn the_schedule_input_starts_with_the_stores_own_interval() {
        assert_eq!(every_text(None), "default");
        assert_eq!(every_text(Some(0)), "off");
        assert_eq!(every_text(Some(48)), "2d");
        assert_eq!(every_text(Some(6)), "6h");
        for h in [None, Some(0), Some(48), Some(6)] {
            assert_eq!(
                crate::backup::schedule::parse_every(&every_text(h)),
                Ok(h),
                "{h:?} reads back"
            );
        }
    }
}
