//! A pod's log over the store's detail: the ring of recent lines, followed
//! live or scrolled, with search matches marked and an optional container
//! picker. Only the lines on screen are built.

use super::super::keys::{self, Context};
use super::super::layout::{self, centered, wrap};
use super::super::state::{LogsView, split_timestamp};
use super::super::theme::Theme;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph};

pub fn draw(l: &LogsView, name: &str, theme: Theme, f: &mut Frame, area: Rect) {
    let block = frame(l, name, theme);
    let inner = block.inner(area);
    f.render_widget(block, area);
    if l.searching {
        let x = area.x + 2 + l.search.visual_cursor() as u16;
        f.set_cursor_position((x.min(area.right().saturating_sub(2)), area.bottom() - 1));
    }

    f.render_widget(Paragraph::new(body(l, inner, theme)), inner);
    picker(l, theme, f, area);
}

/// The border: container, flags and stream state on top; the search or
/// the ring's fill at the bottom.
fn frame<'a>(l: &'a LogsView, name: &str, theme: Theme) -> Block<'a> {
    let mut title = vec![Span::styled(format!(" Logs of {name} "), theme.title())];
    match l.container() {
        Some(c) => title.push(Span::raw(format!("{} ", c.label()))),
        None if l.containers.loading => title.push(Span::styled("finding pods… ", theme.dim())),
        None => {}
    }
    let mut flags: Vec<&str> = Vec::new();
    flags.push(if l.follow { "following" } else { "paused" });
    if l.previous {
        flags.push("previous instance");
    }
    if l.wrap {
        flags.push("wrap");
    }
    if l.timestamps {
        flags.push("timestamps");
    }
    title.push(Span::styled(
        format!("[{}] ", flags.join(", ")),
        theme.dim(),
    ));
    let status = if let Some(e) = l.error.as_ref().or(l.containers.error.as_ref()) {
        Span::styled(
            format!(" ✗ {} ", super::super::fmt::truncate(e, 70)),
            theme.error(),
        )
    } else if l.live {
        Span::styled(" ● live ", theme.good())
    } else if l.container().is_some() && l.lines.is_empty() {
        Span::styled(" waiting for lines… ", theme.dim())
    } else if l.container().is_some() {
        Span::styled(" ended ", theme.dim())
    } else {
        Span::raw("")
    };
    title.push(status);
    let bottom = if l.searching || l.query().is_some() {
        Line::from(vec![
            Span::styled(" /", theme.key()),
            Span::styled(
                l.search.value().to_string(),
                if l.searching {
                    theme.input()
                } else {
                    theme.title()
                },
            ),
            Span::styled(
                format!("  {} lines, {} dropped ", l.lines.len(), l.dropped),
                theme.dim(),
            ),
        ])
    } else {
        Line::styled(
            format!(
                " {} of {} lines kept{} ",
                l.lines.len(),
                l.cap,
                if l.dropped > 0 {
                    format!(", {} older dropped", l.dropped)
                } else {
                    String::new()
                }
            ),
            theme.dim(),
        )
    };
    Block::bordered()
        .border_style(theme.focus_border())
        .title(Line::from(title))
        .title_bottom(bottom)
}

/// The lines on screen, or why there are none.
fn body<'a>(l: &'a LogsView, inner: Rect, theme: Theme) -> Vec<Line<'a>> {
    let rows = usize::from(inner.height);
    let width = usize::from(inner.width).max(1);
    let query = l.query().map(str::to_lowercase);
    if l.lines.is_empty() {
        let problem = l.containers.error.as_ref().or(l.error.as_ref());
        let lines: Vec<Line> = match problem {
            Some(e) => wrap(&format!("✗ {e}"), width.saturating_sub(1))
                .into_iter()
                .map(|t| Line::styled(format!(" {t}"), theme.error()))
                .collect(),
            None => {
                let text = match &l.containers.data {
                    Some(c) if c.is_empty() => "The store's namespace has no pods.",
                    None => "Finding the store's pods…",
                    _ => "No log lines yet.",
                };
                vec![Line::styled(format!(" {text}"), theme.dim())]
            }
        };
        lines
    } else {
        let top = l.top_line(rows);
        let mut out: Vec<Line> = Vec::with_capacity(rows);
        for line in l.lines.iter().skip(top) {
            if out.len() >= rows {
                break;
            }
            let (ts, text) = split_timestamp(line);
            let hit = query
                .as_deref()
                .is_some_and(|q| text.to_lowercase().contains(q));
            let style = if hit {
                theme.warning().add_modifier(Modifier::REVERSED)
            } else {
                ratatui::style::Style::new()
            };
            let prefix = match ts {
                Some(ts) if l.timestamps => format!("{} ", &ts[..ts.len().min(23)]),
                _ => String::new(),
            };
            // A terminal cell cannot show a tab.
            let full = format!("{prefix}{}", text.replace('\t', "    "));
            if l.wrap {
                for part in wrap(&full, width) {
                    if out.len() >= rows {
                        break;
                    }
                    out.push(Line::styled(part, style));
                }
            } else {
                let cut: String = full.chars().take(width).collect();
                out.push(Line::styled(cut, style));
            }
        }
        out
    }
}

/// The container picker over the log, when open.
fn picker(l: &LogsView, theme: Theme, f: &mut Frame, area: Rect) {
    if let (Some(cur), Some(cs)) = (l.picking, l.containers.data.as_ref()) {
        let w = area.width.saturating_sub(8).min(70);
        let h = (cs.len() as u16 + 2).min(area.height);
        let r = centered(area, w, h);
        let visible = usize::from(h.saturating_sub(2)).max(1);
        let offset = layout::scroll_offset(0, cur, visible);
        let lines: Vec<Line> = cs
            .iter()
            .enumerate()
            .skip(offset)
            .take(visible)
            .map(|(i, c)| {
                let l = Line::raw(format!(" {} ", c.long_label()));
                if i == cur {
                    l.style(theme.selected())
                } else {
                    l
                }
            })
            .collect();
        f.render_widget(Clear, r);
        f.render_widget(
            Paragraph::new(lines).block(
                Block::bordered()
                    .border_style(theme.focus_border())
                    .title(Span::styled(" Container ", theme.title()))
                    .title_bottom(Line::styled(
                        format!(" {} ", keys::hint_line(Context::PickContainer, false)),
                        theme.dim(),
                    )),
            ),
            r,
        );
    }
}
