//! The backup part of /metrics (issue 30): the fleet's backups by reason
//! and state, their bytes, how long they take, the age of each live
//! store's newest good backup and how many Ready stores have none from the
//! last 24 h. From the database: the same on every replica (aggregate
//! with max, not sum).

use crate::db::drills;
use crate::db::schedules::{DURATION_BUCKETS, Figures};
use std::fmt::Write as _;

pub fn render(out: &mut String, f: &Figures) {
    let _ = writeln!(
        out,
        "# HELP store_weaver_backups Backups by reason and state (whole deployment)."
    );
    let _ = writeln!(out, "# TYPE store_weaver_backups gauge");
    for (reason, state, n, _) in &f.by_state {
        let _ = writeln!(
            out,
            "store_weaver_backups{{reason=\"{reason}\",state=\"{state}\"}} {n}"
        );
    }
    let failed: i64 = f
        .by_state
        .iter()
        .filter(|r| r.1 == "failed")
        .map(|r| r.2)
        .sum();
    let _ = writeln!(
        out,
        "# HELP store_weaver_backup_failures_total Backups that failed (whole deployment)."
    );
    let _ = writeln!(out, "# TYPE store_weaver_backup_failures_total counter");
    let _ = writeln!(out, "store_weaver_backup_failures_total {failed}");
    let kept: i64 = f
        .by_state
        .iter()
        .filter(|r| r.1 == "complete")
        .map(|r| r.3)
        .sum();
    let _ = writeln!(
        out,
        "# HELP store_weaver_backup_bytes Bytes of the complete backups kept in the bucket."
    );
    let _ = writeln!(out, "# TYPE store_weaver_backup_bytes gauge");
    let _ = writeln!(out, "store_weaver_backup_bytes {kept}");
    let written: i64 = f
        .by_state
        .iter()
        .filter(|r| r.1 == "complete" || r.1 == "purged")
        .map(|r| r.3)
        .sum();
    let _ = writeln!(
        out,
        "# HELP store_weaver_backup_written_bytes_total Bytes of every backup written whole, purged ones included."
    );
    let _ = writeln!(
        out,
        "# TYPE store_weaver_backup_written_bytes_total counter"
    );
    let _ = writeln!(out, "store_weaver_backup_written_bytes_total {written}");
    let name = "store_weaver_backup_duration_seconds";
    let _ = writeln!(
        out,
        "# HELP {name} Time from a backup's start to its last part checked (backups written whole)."
    );
    let _ = writeln!(out, "# TYPE {name} histogram");
    for (bound, n) in DURATION_BUCKETS.iter().zip(&f.duration_buckets) {
        let _ = writeln!(out, "{name}_bucket{{le=\"{bound}\"}} {n}");
    }
    let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {}", f.duration_count);
    let _ = writeln!(out, "{name}_sum {}", f.duration_sum);
    let _ = writeln!(out, "{name}_count {}", f.duration_count);
    let _ = writeln!(
        out,
        "# HELP store_weaver_store_newest_backup_age_seconds Seconds since each live store's newest complete backup finished (stores without one are absent; see store_weaver_stores_without_recent_backup)."
    );
    let _ = writeln!(
        out,
        "# TYPE store_weaver_store_newest_backup_age_seconds gauge"
    );
    for (ns, age) in &f.newest_age {
        let _ = writeln!(
            out,
            "store_weaver_store_newest_backup_age_seconds{{namespace=\"{ns}\"}} {age:.0}"
        );
    }
    let _ = writeln!(
        out,
        "# HELP store_weaver_stores_without_recent_backup Ready stores with no complete backup finished in the last 24 hours."
    );
    let _ = writeln!(
        out,
        "# TYPE store_weaver_stores_without_recent_backup gauge"
    );
    let _ = writeln!(
        out,
        "store_weaver_stores_without_recent_backup {}",
        f.ready_without_recent
    );
}

/// The restore drills' part: results, the age of each live store's last
/// good restore, and the stores failing or overdue.
pub fn render_drills(out: &mut String, f: &drills::Figures, overdue_secs: i64) {
    let _ = writeln!(
        out,
        "# HELP store_weaver_drills Finished restore drills by outcome (whole deployment)."
    );
    let _ = writeln!(out, "# TYPE store_weaver_drills gauge");
    let _ = writeln!(
        out,
        "store_weaver_drills{{outcome=\"passed\"}} {}",
        f.passed
    );
    let _ = writeln!(
        out,
        "store_weaver_drills{{outcome=\"failed\"}} {}",
        f.failed
    );
    let _ = writeln!(
        out,
        "# HELP store_weaver_drills_open Restore drills queued or under way."
    );
    let _ = writeln!(out, "# TYPE store_weaver_drills_open gauge");
    let _ = writeln!(out, "store_weaver_drills_open {}", f.open);
    let name = "store_weaver_store_last_good_restore_age_seconds";
    let _ = writeln!(
        out,
        "# HELP {name} Seconds since each live store's newest passed restore drill (stores never drilled are absent)."
    );
    let _ = writeln!(out, "# TYPE {name} gauge");
    for (ns, age) in &f.last_good_age {
        let _ = writeln!(out, "{name}{{namespace=\"{ns}\"}} {age:.0}");
    }
    let _ = writeln!(
        out,
        "# HELP store_weaver_stores_failing_drill Live stores whose newest restore drill failed."
    );
    let _ = writeln!(out, "# TYPE store_weaver_stores_failing_drill gauge");
    let _ = writeln!(out, "store_weaver_stores_failing_drill {}", f.failing.len());
    let _ = writeln!(
        out,
        "# HELP store_weaver_stores_without_recent_good_restore Ready stores with a backup and no passed restore drill in the last {overdue_secs} seconds."
    );
    let _ = writeln!(
        out,
        "# TYPE store_weaver_stores_without_recent_good_restore gauge"
    );
    let _ = writeln!(
        out,
        "store_weaver_stores_without_recent_good_restore {}",
        f.undrilled
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_render_as_prometheus_text() {
        let f = Figures {
            by_state: vec![
                ("manual".into(), "complete".into(), 2, 300),
                ("scheduled".into(), "failed".into(), 1, 0),
                ("scheduled".into(), "purged".into(), 3, 900),
            ],
            duration_buckets: vec![1, 2, 3, 3, 3, 3, 3, 3],
            duration_count: 3,
            duration_sum: 42.5,
            newest_age: vec![("store-a".into(), 3600.4)],
            ready_without_recent: 4,
        };
        let mut out = String::new();
        render(&mut out, &f);
        for want in [
            "store_weaver_backups{reason=\"manual\",state=\"complete\"} 2\n",
            "store_weaver_backup_failures_total 1\n",
            "store_weaver_backup_bytes 300\n",
            "store_weaver_backup_written_bytes_total 1200\n",
            "store_weaver_backup_duration_seconds_bucket{le=\"10\"} 1\n",
            "store_weaver_backup_duration_seconds_bucket{le=\"+Inf\"} 3\n",
            "store_weaver_backup_duration_seconds_sum 42.5\n",
            "store_weaver_store_newest_backup_age_seconds{namespace=\"store-a\"} 3600\n",
            "store_weaver_stores_without_recent_backup 4\n",
        ] {
            assert!(out.contains(want), "{want} in\n{out}");
        }
    }

    #[test]
    fn drill_figures_render_as_prometheus_text() {
        let f = drills::Figures {
            passed: 3,
            failed: 1,
            open: 1,
            last_good_age: vec![("store-a".into(), 172_800.4)],
            failing: vec!["B".into()],
            undrilled: 2,
        };
        let mut out = String::new();
        render_drills(&mut out, &f, 1_209_600);
        for want in [
            "store_weaver_drills{outcome=\"passed\"} 3\n",
            "store_weaver_drills{outcome=\"failed\"} 1\n",
            "store_weaver_drills_open 1\n",
            "store_weaver_store_last_good_restore_age_seconds{namespace=\"store-a\"} 172800\n",
            "store_weaver_stores_failing_drill 1\n",
            "store_weaver_stores_without_recent_good_restore 2\n",
        ] {
            assert!(out.contains(want), "{want} in\n{out}");
        }
    }
}
