//! Process-wide counters for `/metrics`: provisions finished and how long they
//! took. Store counts and the queue come from Postgres at scrape time, so
//! every replica reports the same totals for those.

use crate::db::operations::Operation;
use std::sync::atomic::{AtomicU64, Ordering};

/// Upper bounds (seconds) of the provisioning duration histogram.
pub const BUCKETS: [f64; 10] = [
    5.0, 10.0, 30.0, 60.0, 120.0, 180.0, 300.0, 600.0, 900.0, 1800.0,
];

pub struct Metrics {
    pub provisions_succeeded: AtomicU64,
    pub provisions_failed: AtomicU64,
    pub creates_accepted: AtomicU64,
    buckets: [AtomicU64; 10],
    count: AtomicU64,
    sum_millis: AtomicU64,
}

pub static METRICS: Metrics = Metrics {
    provisions_succeeded: AtomicU64::new(0),
    provisions_failed: AtomicU64::new(0),
    creates_accepted: AtomicU64::new(0),
    buckets: [const { AtomicU64::new(0) }; 10],
    count: AtomicU64::new(0),
    sum_millis: AtomicU64::new(0),
};

pub fn provision_finished(ok: bool, op: &Operation) {
    let m = &METRICS;
    if ok {
        m.provisions_succeeded.fetch_add(1, Ordering::Relaxed);
    } else {
        m.provisions_failed.fetch_add(1, Ordering::Relaxed);
    }
    if let Some(start) = op.started_at {
        let secs = (chrono::Utc::now() - start).num_milliseconds().max(0) as f64 / 1000.0;
        observe(secs);
    }
}

pub fn observe(secs: f64) {
    let m = &METRICS;
    for (i, bound) in BUCKETS.iter().enumerate() {
        if secs <= *bound {
            m.buckets[i].fetch_add(1, Ordering::Relaxed);
        }
    }
    m.count.fetch_add(1, Ordering::Relaxed);
    m.sum_millis
        .fetch_add((secs * 1000.0) as u64, Ordering::Relaxed);
}

/// The histogram in Prometheus text format.
pub fn render_histogram(out: &mut String) {
    let m = &METRICS;
    out.push_str("# HELP store_weaver_provision_duration_seconds Time from first claim to Ready or Failed.\n");
    out.push_str("# TYPE store_weaver_provision_duration_seconds histogram\n");
    for (i, bound) in BUCKETS.iter().enumerate() {
        out.push_str(&format!(
            "store_weaver_provision_duration_seconds_bucket{{le=\"{bound}\"}} {}\n",
            m.buckets[i].load(Ordering::Relaxed)
        ));
    }
    let count = m.count.load(Ordering::Relaxed);
    out.push_str(&format!(
        "store_weaver_provision_duration_seconds_bucket{{le=\"+Inf\"}} {count}\n"
    ));
    out.push_str(&format!(
        "store_weaver_provision_duration_seconds_sum {}\n",
        m.sum_millis.load(Ordering::Relaxed) as f64 / 1000.0
    ));
    out.push_str(&format!(
        "store_weaver_provision_duration_seconds_count {count}\n"
    ));
}

/// The cluster watches' lists and reconnects, per kind. A healthy process
/// lists each kind once and then only reconnects (the server ends each
/// watch after its timeout); lists that keep growing mean the watches lose
/// their place (see `cluster::view`).
pub fn render_watch(out: &mut String, stats: &[crate::cluster::view::WatchStats]) {
    out.push_str("# HELP store_weaver_watch_lists_total Full lists per watched kind (the first one included).\n");
    out.push_str("# TYPE store_weaver_watch_lists_total counter\n");
    for s in stats {
        out.push_str(&format!(
            "store_weaver_watch_lists_total{{kind=\"{}\"}} {}\n",
            s.kind, s.lists
        ));
    }
    out.push_str("# HELP store_weaver_watch_reconnects_total Watches reopened from the last resource version, without a list.\n");
    out.push_str("# TYPE store_weaver_watch_reconnects_total counter\n");
    for s in stats {
        out.push_str(&format!(
            "store_weaver_watch_reconnects_total{{kind=\"{}\"}} {}\n",
            s.kind, s.reconnects
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::view::WatchStats;

    #[test]
    fn watch_counters_are_rendered_per_kind() {
        let mut out = String::new();
        render_watch(
            &mut out,
            &[WatchStats {
                kind: "pods",
                lists: 1,
                reconnects: 7,
            }],
        );
        assert!(out.contains("store_weaver_watch_lists_total{kind=\"pods\"} 1\n"));
        assert!(out.contains("store_weaver_watch_reconnects_total{kind=\"pods\"} 7\n"));
        assert!(out.contains("# TYPE store_weaver_watch_reconnects_total counter"));
    }
}
