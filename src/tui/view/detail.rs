//! One store: what it is, its full error, its resources, the live tail of
//! its namespace events (newest first, warnings marked) and its audit
//! timeline. On small terminals the three panes are tabs; on large ones
//! they are all shown.

use super::super::backups;
use super::super::fmt;
use super::super::layout::wrap;
use super::super::state::{DetailMode, DetailView, Feed, LinkState, Pane, State};
use super::super::theme::{self, Theme};
use super::stores::status_cell;
use crate::db::backups::State as BackupState;
use crate::store::Store;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span, Text};
use ratatui::widgets::{Block, Cell, Paragraph, Row, Table};

/// The error message gets at most this share of the body before it is cut
/// (the `x` overlay shows all of it).
const ERROR_SHARE: u16 = 3;

pub fn draw(state: &State, d: &DetailView, theme: Theme, f: &mut Frame, area: Rect) {
    let store = state.store(d.id).unwrap_or(&d.store);
    match &d.mode {
        DetailMode::Logs(l) => return super::logs::draw(l, &store.name, theme, f, area),
        DetailMode::Wp => return super::wp::draw(state, &d.wp, &store.name, theme, f, area),
        DetailMode::Panes => {}
    }
    let lines = info_lines(state, d, store, theme, area);
    let info_h = lines.len() as u16 + 2;
    let [info_area, lower] =
        Layout::vertical([Constraint::Length(info_h), Constraint::Min(3)]).areas(area);
    let title = Line::from(vec![Span::styled(
        format!(" {} ", store.name),
        theme.title(),
    )]);
    f.render_widget(
        Paragraph::new(lines).block(Block::bordered().border_style(theme.border()).title(title)),
        info_area,
    );

    draw_panes(state, d, theme, f, lower);
}

/// The store's facts above the panes: status, owner, chart, namespace,
/// times, the operation under way, and as much of the error as fits.
fn info_lines(
    state: &State,
    d: &DetailView,
    store: &Store,
    theme: Theme,
    area: Rect,
) -> Vec<Line<'static>> {
    let inner_w = area.width.saturating_sub(2) as usize;

    let mut lines: Vec<Line<'static>> = Vec::new();
    lines.push(status_line(state, d.id, store, theme, inner_w));
    let kv = |k: &str, v: String| {
        vec![
            Span::styled(format!("{k} "), theme.header_key()),
            Span::raw(v),
        ]
    };
    let mut l2 = kv("owner", store.owner.clone());
    l2.extend(kv("  engine", store.engine.to_string()));
    l2.extend(kv("  attempts", store.attempts.to_string()));
    l2.extend(kv(
        "  chart",
        match (&store.chart_version, store.helm_revision) {
            (Some(v), Some(r)) => format!("{v} r{r}"),
            _ => "-".into(),
        },
    ));
    if !store.settings.is_empty() {
        l2.extend(kv("  set", store.settings.to_string()));
    }
    lines.push(Line::from(l2));
    let mut l3 = kv("namespace", store.namespace.clone());
    l3.extend(kv("  url", store.url.clone()));
    lines.push(Line::from(l3));
    let mut l4 = kv(
        "created",
        format!(
            "{} ({} ago)",
            fmt::date_time(store.created_at, state.tz),
            fmt::age(state.now, store.created_at)
        ),
    );
    let took = match (store.provision_duration(), store.provision_started_at) {
        (Some(t), _) => fmt::duration(t),
        (None, Some(start)) if store.status.is_busy() => {
            format!("running for {}", fmt::age(state.now, start))
        }
        _ => "-".into(),
    };
    l4.extend(kv("  provisioning took", took));
    lines.push(Line::from(l4));
    // Without backups configured there is no schedule to speak of.
    if let Some(v) = d.schedule.as_ref().filter(|_| state.backups_on()) {
        let text = backups::schedule_line(v, state.now, state.tz);
        lines.push(Line::from(kv(
            "backups",
            fmt::truncate(&text, inner_w.saturating_sub(8)),
        )));
    }
    // "last good restore: 2 days ago", red when the newest drill failed.
    if let Some(v) = d.drills.data.as_ref().filter(|_| state.backups_on()) {
        let (text, bad) = super::super::drills::restore_line(v, state.now, state.tz);
        let key = "last good restore:";
        let room = inner_w.saturating_sub(key.len() + 1);
        let style = if bad { theme.error() } else { Style::new() };
        lines.push(Line::from(vec![
            Span::styled(format!("{key} "), theme.header_key()),
            Span::styled(fmt::truncate(&text, room), style),
        ]));
    }
    if let Some(op) = &d.operation {
        let mut s = format!("{} {}", op.kind, op.state);
        if let Some(step) = &op.step {
            s.push_str(&format!(", step {step}"));
        }
        if let Some(w) = &op.lease_owner {
            s.push_str(&format!(", worker {w}"));
        }
        s.push_str(&format!(
            ", requested by {} via {}",
            op.requested_by, op.via
        ));
        lines.push(Line::from(kv("operation", s)));
    }
    if let Some(err) = &store.error_message {
        let max = (area.height / ERROR_SHARE).max(2) as usize;
        let wrapped = wrap(&format!("error: {err}"), inner_w.max(10));
        let cut = wrapped.len() > max;
        for (i, l) in wrapped.into_iter().take(max).enumerate() {
            let mut text = l;
            if cut && i == max - 1 {
                text = fmt::truncate(&text, inner_w.saturating_sub(22));
                text.push_str(" … x: full error");
            }
            lines.push(Line::styled(text, theme.error()));
        }
    }
    lines
}

/// Status, phase and the cluster's view of the store's workloads.
fn status_line(
    state: &State,
    id: uuid::Uuid,
    store: &Store,
    theme: Theme,
    inner_w: usize,
) -> Line<'static> {
    let mut first = vec![
        status_cell(store.status, theme),
        Span::raw(format!("  phase {}", store.phase)),
    ];
    if state.store(id).is_none() {
        first.push(Span::styled(
            "  (no longer in the list: deleted)",
            theme.dim(),
        ));
    }
    match state.health.get(&id) {
        Some(h) => {
            first.push(Span::raw("  cluster "));
            first.push(Span::styled(
                format!(
                    "{} {} {}/{}",
                    theme::health_glyph(h.state),
                    h.state.as_str(),
                    h.ready_workloads,
                    h.workloads
                ),
                theme.health(h.state),
            ));
            if !h.summary.is_empty() && inner_w >= 100 {
                first.push(Span::styled(
                    format!("  {}", fmt::truncate(&h.summary, 60)),
                    theme.dim(),
                ));
            }
        }
        None => first.push(Span::styled("  cluster -", theme.dim())),
    }
    Line::from(first)
}

/// The resources, events and timeline: all at once on a large terminal,
/// as tabs on a small one.
fn draw_panes(state: &State, d: &DetailView, theme: Theme, f: &mut Frame, lower: Rect) {
    let all_panes = lower.height >= 24 && lower.width >= 100;
    if all_panes {
        let res_len = d.resources.data.as_ref().map_or(1, Vec::len) as u16;
        let res_h = (res_len + 3).clamp(5, lower.height / 2);
        let bk_len = d.backups.data.as_ref().map_or(1, Vec::len).max(1) as u16;
        let bk_h = (bk_len + 3 + drills_rows(state, d) as u16).clamp(4, lower.height * 2 / 5);
        let [res, bk, rest] = Layout::vertical([
            Constraint::Length(res_h),
            Constraint::Length(bk_h),
            Constraint::Min(3),
        ])
        .areas(lower);
        draw_pane(state, d, Pane::Resources, theme, f, res);
        draw_pane(state, d, Pane::Backups, theme, f, bk);
        if rest.width >= 150 {
            let [ev, tl] =
                Layout::horizontal([Constraint::Percentage(60), Constraint::Percentage(40)])
                    .areas(rest);
            draw_pane(state, d, Pane::Events, theme, f, ev);
            draw_pane(state, d, Pane::Timeline, theme, f, tl);
        } else {
            let [ev, tl] =
                Layout::vertical([Constraint::Percentage(60), Constraint::Percentage(40)])
                    .areas(rest);
            draw_pane(state, d, Pane::Events, theme, f, ev);
            draw_pane(state, d, Pane::Timeline, theme, f, tl);
        }
    } else {
        let [tabs, pane] =
            Layout::vertical([Constraint::Length(1), Constraint::Min(2)]).areas(lower);
        let mut spans = vec![Span::raw(" ")];
        for p in Pane::ALL {
            let label = format!(" {} {} ({}) ", p.index() + 1, p.title(), count_label(d, p));
            let style = if p == d.focus {
                theme.selected()
            } else {
                theme.dim()
            };
            spans.push(Span::styled(label, style));
            spans.push(Span::raw(" "));
        }
        f.render_widget(Paragraph::new(Line::from(spans)), tabs);
        draw_pane(state, d, d.focus, theme, f, pane);
    }
}

fn count_label(d: &DetailView, p: Pane) -> String {
    let n = |f: Option<usize>| f.map_or("…".to_string(), |n| n.to_string());
    match p {
        Pane::Resources => n(d.resources.data.as_ref().map(Vec::len)),
        Pane::Events => {
            let warnings = d.events.data.iter().flatten().filter(|e| e.warning).count();
            let base = n(d.events.data.as_ref().map(Vec::len));
            if warnings > 0 {
                format!("{base}, {warnings} ⚠")
            } else {
                base
            }
        }
        Pane::Timeline => n(d.audit.data.as_ref().map(Vec::len)),
        Pane::Backups => n(d.backups.data.as_ref().map(Vec::len)),
    }
}

fn feed_status<T>(feed: &Feed<T>, theme: Theme) -> Option<Span<'static>> {
    if let Some(e) = &feed.error {
        return Some(Span::styled(
            format!(" ✗ {} ", fmt::truncate(e, 60)),
            theme.error(),
        ));
    }
    if feed.loading {
        return Some(Span::styled(" loading… ", theme.dim()));
    }
    None
}

fn draw_pane(state: &State, d: &DetailView, pane: Pane, theme: Theme, f: &mut Frame, area: Rect) {
    let focused = d.focus == pane;
    let mut title = vec![Span::styled(format!(" {} ", pane.title()), theme.title())];
    let status = match pane {
        Pane::Resources => feed_status(&d.resources, theme),
        Pane::Events => feed_status(&d.events, theme).or_else(|| {
            (state.cluster.state == LinkState::Up)
                .then(|| Span::styled(" live, newest first ", theme.dim()))
        }),
        Pane::Timeline => {
            feed_status(&d.audit, theme).or_else(|| Some(Span::styled(" audit log ", theme.dim())))
        }
        Pane::Backups => feed_status(&d.backups, theme).or_else(|| {
            Some(Span::styled(
                if focused {
                    " newest first; R restores the marked one "
                } else {
                    " newest first "
                },
                theme.dim(),
            ))
        }),
    };
    title.extend(status);
    let block = Block::bordered()
        .border_style(if focused {
            theme.focus_border()
        } else {
            theme.border()
        })
        .title(Line::from(title));
    let inner = block.inner(area);
    f.render_widget(block, area);
    let skip = d.scroll[pane.index()];
    // The drills share the backups pane, below the backups.
    let inner = match pane {
        Pane::Backups => {
            let want = drills_rows(state, d) as u16;
            // The backups keep their header and one row at least.
            if want > 0 && inner.height >= want + 2 {
                let [top, bottom] =
                    Layout::vertical([Constraint::Min(2), Constraint::Length(want)]).areas(inner);
                draw_drills(state, d, theme, f, bottom);
                top
            } else {
                inner
            }
        }
        _ => inner,
    };
    let body = match pane {
        Pane::Resources => resources(state, d, skip, theme),
        Pane::Events => events(state, d, skip, theme, inner.width),
        Pane::Timeline => timeline(state, d, skip, theme),
        Pane::Backups => backups_table(state, d, skip, focused, theme, inner.width),
    };
    match body {
        PaneBody::Nothing => {}
        PaneBody::Empty(text) => f.render_widget(
            Paragraph::new(Line::styled(format!(" {text}"), theme.dim())),
            inner,
        ),
        PaneBody::Table(t) => f.render_widget(*t, inner),
    }
}

/// What a pane shows: nothing yet, a note that it is empty, or its table.
enum PaneBody<'a> {
    Nothing,
    Empty(&'static str),
    Table(Box<Table<'a>>),
}

fn resources<'a>(state: &State, d: &'a DetailView, skip: usize, theme: Theme) -> PaneBody<'a> {
    let Some(items) = &d.resources.data else {
        return PaneBody::Nothing;
    };
    if items.is_empty() {
        return PaneBody::Empty("No resources in the namespace.");
    }
    let rows = items.iter().skip(skip).map(|r| {
        let kind = if r.kind == "PersistentVolumeClaim" {
            "PVC"
        } else {
            r.kind
        };
        Row::new(vec![
            Cell::from(kind),
            Cell::from(r.name.as_str()),
            Cell::from(Span::styled(
                if r.ready.is_empty() {
                    theme::ok_glyph(r.ok).to_string()
                } else {
                    format!("{} {}", theme::ok_glyph(r.ok), r.ready)
                },
                theme.ok(r.ok),
            )),
            Cell::from(r.status.as_str()),
            Cell::from(fmt::age_opt(state.now, r.created)),
        ])
    });
    let t = Table::new(
        rows,
        [
            Constraint::Length(11),
            Constraint::Fill(2),
            Constraint::Length(9),
            Constraint::Fill(1),
            Constraint::Length(4),
        ],
    )
    .header(Row::new(["KIND", "NAME", "READY", "STATUS", "AGE"]).style(theme.table_header()));
    PaneBody::Table(Box::new(t))
}

fn events<'a>(
    state: &State,
    d: &'a DetailView,
    skip: usize,
    theme: Theme,
    width: u16,
) -> PaneBody<'a> {
    let Some(items) = &d.events.data else {
        return PaneBody::Nothing;
    };
    if items.is_empty() {
        return PaneBody::Empty("No events in the namespace (events expire after an hour).");
    }
    let wide = width >= 100;
    // Narrow: the message wraps onto up to three lines instead of being cut.
    let fixed: u16 = 4 + 6 + 20 + 3 + if wide { 29 } else { 0 };
    let msg_w = width.saturating_sub(fixed).max(10) as usize;
    let rows = items.iter().skip(skip).map(|e| {
        let style = if e.warning {
            theme.warning()
        } else {
            Style::new()
        };
        let kind = if e.warning { "⚠ Warn" } else { "  Norm" };
        let msg = if e.count > 1 {
            format!("{} (×{})", e.message, e.count)
        } else {
            e.message.clone()
        };
        let lines: Vec<String> = if wide {
            vec![msg]
        } else {
            wrap(&msg, msg_w).into_iter().take(3).collect()
        };
        let height = lines.len().max(1) as u16;
        let mut cells = vec![
            Cell::from(fmt::age_opt(state.now, e.at)),
            Cell::from(kind),
            Cell::from(e.reason.as_str()),
        ];
        if wide {
            cells.push(Cell::from(e.object.as_str()));
        }
        cells.push(Cell::from(Text::from(
            lines.into_iter().map(Line::from).collect::<Vec<_>>(),
        )));
        Row::new(cells).style(style).height(height)
    });
    let mut widths = vec![
        Constraint::Length(4),
        Constraint::Length(6),
        Constraint::Length(20),
    ];
    let mut header = vec!["AGE", "TYPE", "REASON"];
    if wide {
        widths.push(Constraint::Length(28));
        header.push("OBJECT");
    }
    widths.push(Constraint::Fill(1));
    header.push("MESSAGE");
    let t = Table::new(rows, widths).header(Row::new(header).style(theme.table_header()));
    PaneBody::Table(Box::new(t))
}

fn timeline<'a>(state: &State, d: &'a DetailView, skip: usize, theme: Theme) -> PaneBody<'a> {
    let Some(items) = &d.audit.data else {
        return PaneBody::Nothing;
    };
    if items.is_empty() {
        return PaneBody::Empty("No audit entries.");
    }
    let old = items.iter().any(|a| (state.now - a.at).num_hours() >= 24);
    let rows = items.iter().skip(skip).map(|a| {
        let ok = !matches!(a.outcome.as_str(), "failed" | "refused" | "error");
        Row::new(vec![
            Cell::from(if old {
                a.at.with_timezone(&state.tz)
                    .format("%m-%d %H:%M")
                    .to_string()
            } else {
                fmt::clock(a.at, state.tz)
            }),
            Cell::from(
                a.action
                    .strip_prefix("store.")
                    .unwrap_or(&a.action)
                    .to_string(),
            ),
            Cell::from(Span::styled(a.outcome.clone(), theme.ok(ok))),
            Cell::from(format!("{} via {}", a.actor, a.via)),
            Cell::from(a.detail.clone().unwrap_or_default()),
        ])
    });
    let t = Table::new(
        rows,
        [
            Constraint::Length(if old { 11 } else { 8 }),
            Constraint::Length(10),
            Constraint::Length(8),
            Constraint::Fill(1),
            Constraint::Fill(2),
        ],
    )
    .header(Row::new(["TIME", "ACTION", "OUTCOME", "WHO", "DETAIL"]).style(theme.table_header()));
    PaneBody::Table(Box::new(t))
}

/// The store's backups, newest first; with the pane focused the top row
/// is marked: it is the one `R` restores.
fn backups_table<'a>(
    state: &State,
    d: &'a DetailView,
    skip: usize,
    focused: bool,
    theme: Theme,
    width: u16,
) -> PaneBody<'a> {
    let Some(items) = &d.backups.data else {
        return PaneBody::Nothing;
    };
    if items.is_empty() {
        return PaneBody::Empty("No backups yet (B backs the store up now).");
    }
    let wide = width >= 100;
    let rows = items.iter().skip(skip).enumerate().map(|(i, b)| {
        let (word, good) = backups::state_label(b.state);
        let state_style = match good {
            Some(ok) => theme.ok(ok),
            None => theme.dim(),
        };
        let tail = backups::tail(b, state.now, state.tz);
        let tail_style = if b.error.is_some() {
            theme.error()
        } else {
            Style::new()
        };
        let mut cells = vec![Cell::from(backups::when(b.started_at, state.now, state.tz))];
        if wide {
            cells.push(Cell::from(backups::short_id(b.id)));
        }
        cells.extend([
            Cell::from(b.reason.as_str()),
            Cell::from(Span::styled(word, state_style)),
            Cell::from(if b.state == BackupState::Complete {
                backups::size(b.bytes)
            } else {
                "-".into()
            }),
            Cell::from(backups::took(b)),
            Cell::from(Span::styled(tail, tail_style)),
        ]);
        let row = Row::new(cells);
        if focused && i == 0 {
            row.style(theme.selected())
        } else {
            row
        }
    });
    let mut widths = vec![Constraint::Length(11)];
    let mut header = vec!["WHEN"];
    if wide {
        widths.push(Constraint::Length(8));
        header.push("ID");
    }
    widths.extend([
        Constraint::Length(9),
        Constraint::Length(10),
        Constraint::Length(8),
        Constraint::Length(6),
        Constraint::Fill(1),
    ]);
    header.extend(["REASON", "STATE", "SIZE", "TOOK", "KEPT UNTIL / ERROR"]);
    let t = Table::new(rows, widths).header(Row::new(header).style(theme.table_header()));
    PaneBody::Table(Box::new(t))
}

/// Drills shown under the backups, at most this many.
const DRILLS_SHOWN: usize = 3;

/// Rows the drills take in the backups pane: a title, a header and one row
/// per drill (a title and a note when there is none); 0 when backups are
/// off or the drills are not read yet.
fn drills_rows(state: &State, d: &DetailView) -> usize {
    match d.drills.data.as_ref().filter(|_| state.backups_on()) {
        None => 0,
        Some(v) if v.drills.is_empty() => 2,
        Some(v) => 2 + v.drills.len().min(DRILLS_SHOWN),
    }
}

/// The store's restore drills, newest first: when, why, the result, how
/// long the restore took and what it found.
fn draw_drills(state: &State, d: &DetailView, theme: Theme, f: &mut Frame, area: Rect) {
    let Some(v) = &d.drills.data else {
        return;
    };
    let [title, body] = Layout::vertical([Constraint::Length(1), Constraint::Min(1)]).areas(area);
    let mut t = vec![Span::styled(" Restore drills", theme.title())];
    if let Some(e) = &d.drills.error {
        t.push(Span::styled(
            format!("  ✗ {}", fmt::truncate(e, 60)),
            theme.error(),
        ));
    } else {
        t.push(Span::styled("  newest first; T runs one now", theme.dim()));
    }
    f.render_widget(Paragraph::new(Line::from(t)), title);
    if v.drills.is_empty() {
        f.render_widget(
            Paragraph::new(Line::styled(
                " No restore drills yet: T restores the newest backup into a throwaway store and checks it.",
                theme.dim(),
            )),
            body,
        );
        return;
    }
    let rows = v.drills.iter().take(DRILLS_SHOWN).map(|dr| {
        let (word, good) = super::super::drills::result_label(dr);
        let style = match good {
            Some(ok) => theme.ok(ok),
            None => theme.dim(),
        };
        let detail_style = if good == Some(false) {
            theme.error()
        } else {
            Style::new()
        };
        Row::new(vec![
            Cell::from(backups::when(dr.created_at, state.now, state.tz)),
            Cell::from(dr.reason.as_str()),
            Cell::from(Span::styled(word, style)),
            Cell::from(super::super::drills::took(dr)),
            Cell::from(Span::styled(
                dr.detail.clone().unwrap_or_default(),
                detail_style,
            )),
        ])
    });
    let table = Table::new(
        rows,
        [
            Constraint::Length(11),
            Constraint::Length(9),
            Constraint::Length(11),
            Constraint::Length(6),
            Constraint::Fill(1),
        ],
    )
    .header(
        Row::new(["WHEN", "REASON", "RESULT", "TOOK", "WHAT IT FOUND"]).style(theme.table_header()),
    );
    f.render_widget(table, body);
}
