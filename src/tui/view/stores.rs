//! The stores table. Only the rows on screen are built, so a frame costs the
//! same with ten stores or ten thousand.

use super::super::fmt;
use super::super::layout;
use super::super::state::{LinkState, State};
use super::super::theme::{self, Theme};
use crate::store::{Status, Store};
use ratatui::Frame;
use ratatui::layout::{Alignment, Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Cell, Paragraph, Row, Table};

pub fn draw(state: &State, theme: Theme, f: &mut Frame, area: Rect) {
    let show_filter = state.show_filter();
    let (filter_area, table_area) = layout::stores(area, show_filter);
    if show_filter {
        draw_filter(state, theme, f, filter_area);
    }

    let total = state.stores.len();
    let shown = state.list.visible.len();
    let count = if shown == total {
        format!("{total}")
    } else {
        format!("{shown} of {total}")
    };
    let arrow = if state.list.reverse { "↓" } else { "↑" };
    let marked = state.list.marked.len();
    let count = if marked > 0 {
        format!("{count}, {marked} marked")
    } else {
        count
    };
    let mut title = vec![
        Span::styled(" Stores ", theme.title()),
        Span::raw(format!("[{count}] ")),
    ];
    // The legend of the BACKUP column: how many Ready stores need one.
    let backups = state.backups_on() && state.good_backups.data.is_some();
    if backups {
        let stale = state
            .stores
            .iter()
            .filter(|s| state.needs_backup(s) == Some(true))
            .count();
        if stale > 0 {
            title.push(Span::styled(
                format!("⚠ {stale} Ready without a good backup in 24 h "),
                theme.warning(),
            ));
        }
    }
    let block = Block::bordered()
        .border_style(theme.border())
        .title(Line::from(title))
        .title(
            Line::from(Span::styled(
                format!(" sort: {}{arrow} ", state.list.sort.as_str()),
                theme.dim(),
            ))
            .alignment(Alignment::Right),
        );
    let inner = block.inner(table_area);
    f.render_widget(block, table_area);

    if let Some(msg) = empty_message(state) {
        let lines: Vec<Line> = msg.into_iter().map(Line::from).collect();
        f.render_widget(
            Paragraph::new(lines).alignment(Alignment::Center),
            inner.inner(ratatui::layout::Margin::new(1, 1)),
        );
        return;
    }

    let wide = inner.width >= 140;
    let medium = inner.width >= 96;
    // The mark column appears only while something is marked.
    let marks = !state.list.marked.is_empty();
    let mut header = if marks { vec![""] } else { vec![] };
    header.extend(["STATUS", "NAME", "OWNER", "PHASE"]);
    let mut widths = if marks {
        vec![Constraint::Length(1)]
    } else {
        vec![]
    };
    widths.extend([
        Constraint::Length(14),
        Constraint::Fill(1),
        Constraint::Fill(1),
        Constraint::Length(17),
    ]);
    // 96+ columns: the cluster's health (compact) and the URL; 140+: the
    // health spelled out.
    if medium {
        header.extend(["HEALTH", "URL"]);
        widths.extend([
            Constraint::Length(if wide { 17 } else { 6 }),
            Constraint::Fill(1),
        ]);
    }
    header.extend(["AGE", "TOOK"]);
    widths.extend([Constraint::Length(4), Constraint::Length(7)]);
    // With backups configured: how old the newest good backup is.
    if backups {
        header.push("BACKUP");
        widths.push(Constraint::Length(7));
    }

    let page = layout::table_page(table_area);
    let offset = layout::scroll_offset(state.list.offset, state.list.cursor, page);
    let rows = state
        .list
        .visible
        .iter()
        .enumerate()
        .skip(offset)
        .take(page)
        .map(|(pos, &i)| {
            let row = row(
                state,
                &state.stores[i],
                theme,
                (medium, wide),
                marks,
                backups,
            );
            if pos == state.list.cursor {
                row.style(theme.selected())
            } else {
                row
            }
        });
    let table = Table::new(rows, widths)
        .header(Row::new(header).style(theme.table_header()))
        .column_spacing(1);
    f.render_widget(table, inner);
}

fn draw_filter(state: &State, theme: Theme, f: &mut Frame, area: Rect) {
    let input = &state.list.filter;
    let matched = format!(
        "  {} of {} match",
        state.list.visible.len(),
        state.stores.len()
    );
    let mut spans = vec![
        Span::styled(" /", theme.key()),
        Span::styled(
            input.value().to_string(),
            if state.list.filtering {
                theme.input()
            } else {
                theme.title()
            },
        ),
        Span::styled(matched, theme.dim()),
    ];
    if !state.list.filtering {
        spans.push(Span::styled("  (esc clears)", theme.dim()));
    }
    f.render_widget(Paragraph::new(Line::from(spans)), area);
    if state.list.filtering {
        let x = area.x + 2 + input.visual_cursor() as u16;
        f.set_cursor_position((x.min(area.right().saturating_sub(1)), area.y));
    }
}

/// What to say instead of an empty table.
fn empty_message(state: &State) -> Option<Vec<String>> {
    if !state.loaded {
        return Some(match state.db.state {
            LinkState::Down | LinkState::Unavailable => vec![
                "Cannot load the stores: the database is unreachable.".into(),
                "The console keeps trying; the list appears as soon as it answers.".into(),
            ],
            _ => vec!["Loading stores…".into()],
        });
    }
    if state.stores.is_empty() {
        let mut v = vec!["No stores yet.".to_string()];
        if !state.info.read_only {
            v.push("Press c to create one.".into());
        }
        return Some(v);
    }
    if state.list.visible.is_empty() {
        return Some(vec![
            format!("No store matches \"{}\".", state.list.filter.value()),
            "Press esc to clear the filter.".into(),
        ]);
    }
    None
}

pub(crate) fn status_cell(s: Status, theme: Theme) -> Span<'static> {
    Span::styled(
        format!("{} {}", theme::status_glyph(s), s.as_str()),
        theme.status(s),
    )
}

fn row<'a>(
    state: &'a State,
    s: &'a Store,
    theme: Theme,
    (medium, wide): (bool, bool),
    marks: bool,
    backups: bool,
) -> Row<'a> {
    let mut cells: Vec<Cell> = Vec::with_capacity(9);
    if marks {
        cells.push(if state.list.marked.contains(&s.id) {
            Cell::from(Span::styled("*", theme.warning()))
        } else {
            Cell::from(" ")
        });
    }
    cells.extend([
        Cell::from(status_cell(s.status, theme)),
        Cell::from(s.name.as_str()),
        Cell::from(s.owner.as_str()),
        Cell::from(s.phase.as_str()),
    ]);
    if medium {
        cells.push(match state.health.get(&s.id) {
            Some(h) => {
                let word = if wide {
                    format!(" {}", h.state.as_str())
                } else {
                    String::new()
                };
                Cell::from(Span::styled(
                    format!(
                        "{}{word} {}/{}",
                        theme::health_glyph(h.state),
                        h.ready_workloads,
                        h.workloads
                    ),
                    theme.health(h.state),
                ))
            }
            None => Cell::from(Span::styled("-", theme.dim())),
        });
        let host = s.url.split_once("://").map_or(s.url.as_str(), |(_, h)| h);
        cells.push(Cell::from(host));
    }
    cells.push(Cell::from(fmt::age(state.now, s.created_at)));
    cells.push(Cell::from(took(state, s, theme)));
    if backups {
        cells.push(Cell::from(backup_age(state, s, theme)));
    }
    Row::new(cells)
}

/// How long provisioning took; while it runs, how long it has been running.
fn took(state: &State, s: &Store, theme: Theme) -> Span<'static> {
    if let Some(d) = s.provision_duration() {
        return Span::raw(fmt::duration(d));
    }
    match (s.status, s.provision_started_at) {
        (Status::Provisioning, Some(start)) => Span::styled(
            format!("◷{}", fmt::age(state.now, start)),
            theme.status(Status::Provisioning),
        ),
        _ => Span::styled("-", theme.dim()),
    }
}

/// The age of the store's newest good backup; a Ready store without one
/// in 24 h is marked.
fn backup_age(state: &State, s: &Store, theme: Theme) -> Span<'static> {
    let newest = state
        .good_backups
        .data
        .as_ref()
        .and_then(|m| m.get(&s.id).copied());
    let text = newest.map_or_else(|| "never".to_string(), |t| fmt::age(state.now, t));
    if state.needs_backup(s) == Some(true) {
        Span::styled(format!("⚠ {text}"), theme.warning())
    } else if newest.is_some() {
        Span::raw(text)
    } else {
        Span::styled("-", theme.dim())
    }
}
