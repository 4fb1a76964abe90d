//! The console's pure parts about backups: how a backup reads in a row
//! (size, how long it took, until when it is kept or why it failed), which
//! backup a restore uses, and the fleet's "no good backup in 24 h" rule.
//! `update` and `view` both use them; no I/O here.

use crate::db::backups::{Backup, State as BackupState};
use crate::store::{Status, Store};
use chrono::{DateTime, Duration, FixedOffset, Utc};
use uuid::Uuid;

/// A Ready store whose newest complete backup is older than this is
/// highlighted in the stores list.
pub const GOOD_BACKUP_WITHIN: Duration = Duration::hours(24);

/// A deleted store that can still come back, with the final backup it
/// would come back from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Undeletable {
    pub id: Uuid,
    pub name: String,
    pub owner: String,
    pub url: String,
    /// When the final backup finished (the store was deleted after it).
    pub backed_up_at: Option<DateTime<Utc>>,
    /// When the final backup is purged: the undelete is possible until then.
    pub expires_at: Option<DateTime<Utc>>,
    pub bytes: i64,
}

/// Bytes in binary units, one decimal below 10: 512 B, 4.2 KiB, 13 MiB.
pub fn size(bytes: i64) -> String {
    let b = bytes.max(0) as f64;
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = b;
    let mut unit = 0;
    while v >= 1024.0 && unit + 1 < UNITS.len() {
        v /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else if v < 10.0 {
        format!("{v:.1} {}", UNITS[unit])
    } else {
        format!("{v:.0} {}", UNITS[unit])
    }
}

/// How long a backup took: tenths of a second under a minute (backups of
/// small stores take a second or two), then minutes and seconds; `-`
/// while it runs.
pub fn took(b: &Backup) -> String {
    let Some(end) = b.finished_at else {
        return "-".into();
    };
    let d = end - b.started_at;
    let ms = d.num_milliseconds().max(0);
    if ms < 60_000 {
        format!("{:.1}s", ms as f64 / 1000.0)
    } else {
        super::fmt::duration(d)
    }
}

/// The state as a glyph and a word, and whether it is bad news.
pub fn state_label(s: BackupState) -> (&'static str, Option<bool>) {
    match s {
        BackupState::Complete => ("✓ complete", Some(true)),
        BackupState::Failed => ("✗ failed", Some(false)),
        BackupState::Running => ("◐ running", None),
        BackupState::Purged => ("◌ purged", None),
    }
}

/// The last column: why it failed, until when it is kept, or what became
/// of it.
pub fn tail(b: &Backup, now: DateTime<Utc>, tz: FixedOffset) -> String {
    if let Some(e) = &b.error {
        return e.clone();
    }
    match (b.state, b.expires_at) {
        (BackupState::Running, _) => {
            format!("running for {}", super::fmt::age(now, b.started_at))
        }
        (BackupState::Purged, _) => "purged: its keep time ended".into(),
        (_, Some(t)) if t <= now => "expired: purged soon".into(),
        (_, Some(t)) => format!(
            "kept until {} ({} left)",
            t.with_timezone(&tz).format("%Y-%m-%d %H:%M"),
            super::fmt::age(t, now)
        ),
        (_, None) => "kept (no expiry)".into(),
    }
}

/// When it was taken, short: the time today, the date and time otherwise.
pub fn when(t: DateTime<Utc>, now: DateTime<Utc>, tz: FixedOffset) -> String {
    let local = t.with_timezone(&tz);
    if local.date_naive() == now.with_timezone(&tz).date_naive() {
        local.format("%H:%M:%S").to_string()
    } else {
        local.format("%m-%d %H:%M").to_string()
    }
}

/// The detail's schedule line: what applies, when the next scheduled
/// backup is due and how old the newest good one is.
pub fn schedule_line(
    v: &crate::engine::schedule::ScheduleView,
    now: DateTime<Utc>,
    tz: FixedOffset,
) -> String {
    let mut out = v.described.clone();
    if let Some(t) = v.next_at {
        out.push_str(&format!(
            "; next {} (in {})",
            t.with_timezone(&tz).format("%Y-%m-%d %H:%M"),
            super::fmt::age(t, now)
        ));
    }
    out.push_str(&match v.newest_good_at {
        Some(t) => format!("; newest good {} ago", super::fmt::age(now, t)),
        None => "; no good backup yet".into(),
    });
    out
}

/// The first 8 characters of its id: what `store restore NAME ID` takes.
pub fn short_id(id: Uuid) -> String {
    id.to_string()[..8].to_string()
}

/// One line naming a backup, for a confirmation: "01a24c52 (manual,
/// 2026-03-14 11:00:00, 4.2 MiB)".
pub fn label(b: &Backup, tz: FixedOffset) -> String {
    format!(
        "{} ({}, {}, {})",
        short_id(b.id),
        b.reason.as_str(),
        b.started_at.with_timezone(&tz).format("%Y-%m-%d %H:%M:%S"),
        size(b.bytes)
    )
}

/// The backup a restore uses: the one under the cursor when the backups
/// pane is focused (`selected`), else the newest complete one. Err: why
/// there is none to restore from.
pub fn restore_choice(list: &[Backup], selected: Option<usize>) -> Result<&Backup, String> {
    if let Some(b) = selected.and_then(|i| list.get(i)) {
        return match b.state {
            BackupState::Complete => Ok(b),
            other => Err(format!(
                "backup {} is {}: only a complete backup can be restored",
                short_id(b.id),
                other.as_str()
            )),
        };
    }
    list.iter()
        .find(|b| b.state == BackupState::Complete)
        .ok_or_else(|| "it has no complete backup to restore from (B backs it up)".to_string())
}

/// A Ready store without a complete backup finished within 24 h of `now`
/// (`newest`: when its newest complete backup finished, if any).
pub fn needs_backup(store: &Store, newest: Option<DateTime<Utc>>, now: DateTime<Utc>) -> bool {
    store.status == Status::Ready && newest.is_none_or(|t| now - t > GOOD_BACKUP_WITHIN)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::fixtures::{backup, store, t0};

    #[test]
    fn sizes_in_binary_units() {
        assert_eq!(size(0), "0 B");
        assert_eq!(size(1023), "1023 B");
        assert_eq!(size(1024), "1.0 KiB");
        assert_eq!(size(4_404_019), "4.2 MiB");
        assert_eq!(size(50 * 1024 * 1024), "50 MiB");
        assert_eq!(size(3 * 1024 * 1024 * 1024), "3.0 GiB");
        assert_eq!(size(-5), "-5 B");
    }

    #[test]
    fn durations_tenths_then_minutes() {
        let mut b = backup(1, BackupState::Complete, 60);
        assert_eq!(took(&b), "1.9s");
        b.finished_at = Some(b.started_at + Duration::seconds(185));
        assert_eq!(took(&b), "3m05s");
        b.finished_at = None;
        assert_eq!(took(&b), "-");
    }

    #[test]
    fn the_tail_says_why_or_until_when() {
        let tz = FixedOffset::east_opt(0).unwrap();
        let now = t0();
        let mut b = backup(1, BackupState::Complete, 60);
        assert_eq!(tail(&b, now, tz), "kept (no expiry)");
        b.expires_at = Some(now + Duration::days(7));
        assert_eq!(tail(&b, now, tz), "kept until 2026-03-21 12:00 (7d left)");
        b.expires_at = Some(now - Duration::seconds(1));
        assert_eq!(tail(&b, now, tz), "expired: purged soon");
        let mut f = backup(2, BackupState::Failed, 60);
        f.error = Some("the bucket went away".into());
        assert_eq!(tail(&f, now, tz), "the bucket went away");
        let r = backup(3, BackupState::Running, 42);
        assert_eq!(tail(&r, now, tz), "running for 42s");
        assert_eq!(when(now - Duration::hours(1), now, tz), "11:00:00");
        assert_eq!(when(now - Duration::days(2), now, tz), "03-12 12:00");
    }

    #[test]
    fn the_schedule_line_says_what_applies_and_when_next() {
        let tz = FixedOffset::east_opt(0).unwrap();
        let now = t0();
        let mut v = crate::engine::schedule::ScheduleView {
            own_hours: None,
            every_hours: Some(24),
            described: "every 24 h (the fleet's default)".into(),
            next_at: Some(now + Duration::hours(7)),
            newest_good_at: Some(now - Duration::hours(17)),
        };
        assert_eq!(
            schedule_line(&v, now, tz),
            "every 24 h (the fleet's default); next 2026-03-14 19:00 (in 7h); newest good 17h ago"
        );
        v.next_at = None;
        v.newest_good_at = None;
        v.described = "none (set for this store)".into();
        assert_eq!(
            schedule_line(&v, now, tz),
            "none (set for this store); no good backup yet"
        );
    }

    #[test]
    fn a_restore_takes_the_selected_complete_backup_or_the_newest() {
        let list = vec![
            backup(1, BackupState::Failed, 60),
            backup(2, BackupState::Complete, 120),
            backup(3, BackupState::Complete, 180),
        ];
        assert_eq!(restore_choice(&list, None).map(|b| b.id), Ok(list[1].id));
        assert_eq!(restore_choice(&list, Some(2)).map(|b| b.id), Ok(list[2].id));
        let e = restore_choice(&list, Some(0)).unwrap_err();
        assert!(e.contains("is failed: only a complete backup"), "{e}");
        let e = restore_choice(&list[..1], None).unwrap_err();
        assert!(e.contains("no complete backup"), "{e}");
    }

    #[test]
    fn ready_stores_without_a_good_backup_in_24h_need_one() {
        let now = t0();
        let ready = store(1, "Acme", "ann", Status::Ready, 3600);
        assert!(needs_backup(&ready, None, now));
        assert!(!needs_backup(&ready, Some(now - Duration::hours(23)), now));
        assert!(!needs_backup(&ready, Some(now - Duration::hours(24)), now));
        assert!(needs_backup(
            &ready,
            Some(now - Duration::hours(24) - Duration::seconds(1)),
            now
        ));
        let failed = store(2, "Bolt", "bob", Status::Failed, 3600);
        assert!(!needs_backup(&failed, None, now), "only Ready stores");
    }
}
