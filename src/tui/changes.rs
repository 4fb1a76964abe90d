//! The release-history and fleet pop-ups as lines of text (pure): what a
//! store ran and whether it drifted, and each fleet run's waves with every
//! store's outcome. Lines starting with ✗ are drawn as errors, ⚠ as warnings.

use crate::db::fleet::{FleetRun, ItemState};
use crate::engine::changes::History;
use crate::engine::fleet::FleetDetail;

pub fn history_lines(name: &str, h: &History) -> Vec<String> {
    let mut out = vec![
        format!(
            "{name}: chart {} · revision {} · this binary ships chart {}",
            h.chart_version.as_deref().unwrap_or("unknown"),
            h.helm_revision
                .map_or("unknown".to_string(), |r| r.to_string()),
            h.shipped_chart.as_deref().unwrap_or("unknown"),
        ),
        format!("settings: {}", h.settings),
    ];
    match &h.drift {
        Some(d) => out.push(format!("⚠ DRIFTED: {d}")),
        None => out.push("no drift: the release is what the record says".into()),
    }
    out.push(String::new());
    if h.revisions.is_empty() {
        out.push("no release in the cluster".into());
    }
    for r in &h.revisions {
        let made = match &r.settings {
            Some(s) => s.to_string(),
            None => "not made by Store Weaver".into(),
        };
        out.push(format!(
            "{}{:>3}  {:<11} chart {:<7} {}",
            if r.current { "▶" } else { " " },
            r.revision,
            r.status,
            r.chart_version,
            r.updated.get(..19).unwrap_or(&r.updated),
        ));
        out.push(format!("       {} — {made}", r.description));
    }
    out.push(String::new());
    out.push("change it with :upgrade key=value … or :rollback [revision]".into());
    out
}

pub fn fleet_lines(runs: &[FleetRun], latest: Option<&FleetDetail>) -> Vec<String> {
    let mut out = Vec::new();
    if runs.is_empty() {
        out.push("no fleet run yet; start one with `store-weaver fleet upgrade --set key=value --wave 5`".into());
        return out;
    }
    if let Some(d) = latest {
        let r = &d.run;
        let c = &d.counts;
        let head = format!(
            "run {} — {} — wave {}/{} (waves of {}), failures {}/{}",
            r.id, r.state, r.current_wave, d.waves, r.wave_size, r.failures, r.max_failures
        );
        out.push(if r.failures > 0 {
            format!("✗ {head}")
        } else {
            head
        });
        out.push(format!(
            "  {} · upgraded {} · failed {} · queued {} · pending {} · skipped {}",
            if r.params.set.is_empty() {
                "chart only".to_string()
            } else {
                r.params.set.join(" ")
            },
            c.upgraded,
            c.failed,
            c.queued,
            c.pending,
            c.skipped
        ));
        if let Some(why) = &r.stop_reason {
            out.push(format!("⚠ {why}"));
        }
        let mut wave = i32::MIN;
        for i in &d.items {
            if i.wave != wave {
                wave = i.wave;
                out.push(if wave == 0 {
                    "  skipped".to_string()
                } else {
                    format!("  wave {wave}")
                });
            }
            let glyph = match i.state {
                ItemState::Upgraded => "✓",
                ItemState::Failed => "✗",
                ItemState::Queued => "…",
                ItemState::Pending => "·",
                ItemState::Skipped => "-",
            };
            let line = format!(
                "    {glyph} {:<9} {} {}",
                i.state.as_str(),
                i.store_name,
                i.detail.as_deref().unwrap_or("")
            );
            out.push(if i.state == ItemState::Failed {
                format!("✗{line}")
            } else {
                line
            });
        }
        out.push(String::new());
    }
    out.push("earlier runs:".into());
    for r in runs.iter().skip(1) {
        out.push(format!(
            "  run {:>4}  {:<9} wave {:>3}  failures {}/{}  by {}  {}",
            r.id,
            r.state,
            r.current_wave,
            r.failures,
            r.max_failures,
            r.created_by,
            r.created_at.format("%Y-%m-%d %H:%M")
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::fleet::{FleetItem, FleetParams, RunState};
    use crate::engine::changes::HistoryEntry;
    use crate::engine::fleet::Counts;
    use crate::store::StoreSettings;

    #[test]
    fn history_says_drift_and_marks_revisions_nobody_recorded() {
        let h = History {
            chart_version: Some("0.1.0".into()),
            helm_revision: Some(1),
            settings: StoreSettings::default(),
            shipped_chart: Some("0.1.0".into()),
            revisions: vec![
                HistoryEntry {
                    revision: 2,
                    status: "deployed".into(),
                    chart_version: "0.1.0".into(),
                    description: "Upgrade complete".into(),
                    updated: "2026-12-01T10:00:00.123Z".into(),
                    settings: None,
                    current: false,
                },
                HistoryEntry {
                    revision: 1,
                    status: "superseded".into(),
                    chart_version: "0.1.0".into(),
                    description: "Install complete".into(),
                    updated: "2026-12-01T09:00:00Z".into(),
                    settings: Some(StoreSettings::default()),
                    current: true,
                },
            ],
            drift: Some("revision 2 was not made by Store Weaver".into()),
        };
        let lines = history_lines("Shop", &h);
        assert!(lines[2].starts_with("⚠ DRIFTED: revision 2"), "{lines:?}");
        assert!(lines.iter().any(|l| l.contains("not made by Store Weaver")));
        assert!(lines.iter().any(|l| l.starts_with("▶  1")), "{lines:?}");
    }

    #[test]
    fn a_fleet_run_shows_its_waves_and_each_outcome() {
        let now = chrono::Utc::now();
        let run = FleetRun {
            id: 7,
            created_by: "ops".into(),
            via: "cli".into(),
            params: FleetParams {
                set: vec!["web.image=t2".into()],
                ..Default::default()
            },
            wave_size: 1,
            max_failures: 1,
            state: RunState::Stopped,
            current_wave: 2,
            failures: 1,
            stop_reason: Some("stopped: 1 store(s) failed".into()),
            created_at: now,
            updated_at: now,
            finished_at: None,
        };
        let item = |name: &str, wave: i32, state: ItemState, detail: Option<&str>| FleetItem {
            store_id: uuid::Uuid::nil(),
            store_name: name.into(),
            namespace: format!("store-{name}"),
            wave,
            state,
            op_id: None,
            detail: detail.map(String::from),
        };
        let items = vec![
            item("a", 1, ItemState::Upgraded, None),
            item("b", 2, ItemState::Failed, Some("rolled back automatically")),
            item("c", 3, ItemState::Pending, None),
        ];
        let d = FleetDetail {
            counts: Counts::of(&items),
            run: run.clone(),
            items,
            waves: 3,
        };
        let lines = fleet_lines(&[run], Some(&d));
        assert!(
            lines[0].starts_with("✗ run 7 — stopped — wave 2/3"),
            "{lines:?}"
        );
        assert!(lines[1].contains("upgraded 1 · failed 1"), "{lines:?}");
        assert!(lines.iter().any(|l| l == "  wave 2"));
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with("✗    ✗ failed    b rolled back")),
            "{lines:?}"
        );
        assert!(fleet_lines(&[], None)[0].contains("no fleet run yet"));
    }
}
