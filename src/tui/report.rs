//! The text of the read-only report pop-ups (a bulk action's result, the
//! doctor, release history and fleet runs): the view draws it, `update`
//! measures it so that scrolling stops at its last line.

use super::msg::{CheckState, Report};
use super::state::{Overlay, State};

/// The title and the lines of a report pop-up; None for other overlays.
/// Lines starting with ✗ are errors, ⚠ warnings, ✓ good news.
pub fn text(state: &State, o: &Overlay) -> Option<(&'static str, Vec<String>)> {
    match o {
        Overlay::BulkSummary { .. } => Some((" Bulk result ", bulk(state))),
        Overlay::Doctor { report, .. } => {
            let mut lines: Vec<String> = Vec::new();
            if report.loading {
                lines.push("checking…".into());
            }
            if let Some(e) = &report.error {
                lines.push(format!("✗ the doctor could not run: {e}"));
            }
            for c in report.data.iter().flatten() {
                let glyph = match c.state {
                    CheckState::Ok => "✓ ok  ",
                    CheckState::Warn => "⚠ warn",
                    CheckState::Fail => "✗ FAIL",
                };
                lines.push(format!("{glyph} {}: {}", c.name, c.detail));
                if let Some(fix) = &c.fix {
                    lines.push(format!("         fix: {fix}"));
                }
            }
            if let Some(checks) = &report.data {
                let bad = checks
                    .iter()
                    .filter(|c| c.state == CheckState::Fail)
                    .count();
                lines.push(String::new());
                lines.push(if bad == 0 {
                    format!("{} checks, none failed", checks.len())
                } else {
                    format!("{} checks, {bad} failed", checks.len())
                });
            }
            Some((" Doctor ", lines))
        }
        Overlay::Changes { which, lines, .. } => {
            let mut out: Vec<String> = Vec::new();
            if lines.loading {
                out.push("loading…".into());
            }
            if let Some(e) = &lines.error {
                out.push(format!("✗ {e}"));
            }
            out.extend(lines.data.iter().flatten().cloned());
            let title = match which {
                Report::History(_) => " Release history ",
                Report::Fleet => " Fleet runs ",
            };
            Some((title, out))
        }
        _ => None,
    }
}

fn bulk(state: &State) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    let Some(b) = &state.bulk else {
        return lines;
    };
    lines.push(format!(
        "{} of {} store{}: {} accepted, {} refused{}",
        b.action.verb(),
        b.total,
        if b.total == 1 { "" } else { "s" },
        b.accepted.len(),
        b.refused.len(),
        if b.done() {
            String::new()
        } else {
            format!(", {} waiting", b.pending.len())
        }
    ));
    if !b.accepted.is_empty() {
        lines.push(String::new());
        lines.push(format!("✓ accepted: {}", b.accepted.join(", ")));
    }
    if !b.refused.is_empty() {
        lines.push(String::new());
        lines.push("✗ refused:".into());
        for (name, why) in &b.refused {
            lines.push(format!("  {name}: {why}"));
        }
    }
    lines
}
