//! Drawing: a pure function of the state. Header, banners (what is wrong
//! and since when), the current screen, overlays, and a footer with the keys.

mod detail;
pub(crate) mod overlays;
mod stores;

use super::keys;
use super::state::{LinkState, Overlay, Screen, State};
use super::theme::{self, Theme};
use super::update;
use crate::store::Status;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

pub fn draw(state: &State, f: &mut Frame) {
    let area = f.area();
    let theme = state.info.theme;
    let banners = state.banner_lines();
    let [header, banner_area, body, footer] = Layout::vertical([
        Constraint::Length(2),
        Constraint::Length(banners.len() as u16),
        Constraint::Min(1),
        Constraint::Length(1),
    ])
    .areas(area);
    draw_header(state, theme, f, header);
    for (i, b) in banners.iter().enumerate() {
        let r = Rect {
            y: banner_area.y + i as u16,
            height: 1,
            ..banner_area
        };
        f.render_widget(
            Paragraph::new(Line::from(b.clone())).style(theme.banner_error()),
            r,
        );
    }
    match &state.screen {
        Screen::Stores => stores::draw(state, theme, f, body),
        Screen::Detail(d) => detail::draw(state, d, theme, f, body),
    }
    draw_footer(state, theme, f, footer);
    if let Some(o) = &state.overlay {
        overlays::draw(state, o, theme, f, body);
    }
}

fn link_word(
    l: LinkState,
    up: &'static str,
    down: &'static str,
) -> (&'static str, &'static str, bool) {
    match l {
        LinkState::Up => ("●", up, true),
        LinkState::Connecting => ("◐", "connecting", false),
        LinkState::Down => ("✗", down, false),
        LinkState::Unavailable => ("✗", "off", false),
    }
}

fn draw_header(state: &State, theme: Theme, f: &mut Frame, area: Rect) {
    let wide = area.width >= 110;
    // Segments with a priority: when the line is too long, the highest
    // numbers go first.
    let mut segs: Vec<(u8, Vec<Span>)> = Vec::new();
    segs.push((0, vec![Span::styled(" Store Weaver", theme.title())]));
    // The context is never dropped, only shortened (index 1, see below).
    segs.push((
        0,
        vec![
            Span::styled("ctx ", theme.header_key()),
            Span::raw(super::fmt::truncate(&state.info.context, 40)),
        ],
    ));
    let (g, w, ok) = link_word(state.db.state, "up", "down");
    segs.push((
        0,
        vec![
            Span::styled("db ", theme.header_key()),
            Span::styled(format!("{g} {w}"), theme.ok(ok)),
        ],
    ));
    segs.push((
        4,
        vec![Span::styled(state.info.database.clone(), theme.dim())],
    ));
    let (g, w, ok) = link_word(state.cluster.state, "connected", "disconnected");
    segs.push((
        0,
        vec![
            Span::styled("watch ", theme.header_key()),
            Span::styled(format!("{g} {w}"), theme.ok(ok)),
        ],
    ));
    if state.info.read_only {
        segs.push((0, vec![Span::styled(" READ-ONLY ", theme.read_only())]));
    } else {
        segs.push((0, vec![Span::raw("read-write")]));
    }
    segs.push((
        3,
        vec![Span::raw(if state.info.workers == 0 {
            "no workers".to_string()
        } else {
            format!(
                "workers {} ({} busy)",
                state.info.workers, state.busy_workers
            )
        })],
    ));
    let width = |segs: &[(u8, Vec<Span>)]| -> usize {
        segs.iter()
            .map(|(_, v)| v.iter().map(Span::width).sum::<usize>())
            .sum::<usize>()
            + 3 * segs.len()
    };
    while width(&segs) > area.width as usize {
        let Some(worst) = segs
            .iter()
            .enumerate()
            .filter(|(_, s)| s.0 > 0)
            .max_by_key(|(i, s)| (s.0, *i))
            .map(|(i, _)| i)
        else {
            break;
        };
        segs.remove(worst);
    }
    let over = width(&segs).saturating_sub(area.width as usize);
    if over > 0 {
        let keep = state
            .info
            .context
            .chars()
            .count()
            .saturating_sub(over)
            .max(6);
        segs[1].1[1] = Span::raw(super::fmt::truncate(&state.info.context, keep));
    }
    let mut top: Vec<Span> = Vec::new();
    for (i, (_, spans)) in segs.into_iter().enumerate() {
        if i > 0 {
            top.push(Span::styled(" │ ", theme.dim()));
        }
        top.extend(spans);
    }

    let mut counts: Vec<Span> = vec![Span::raw(" ")];
    for s in [
        Status::Provisioning,
        Status::Ready,
        Status::Failed,
        Status::Deleting,
    ] {
        let label = s.as_str();
        counts.push(Span::styled(
            format!("{} {label} {}", theme::status_glyph(s), state.count(s)),
            theme.status(s),
        ));
        counts.push(Span::raw("  "));
    }
    if state.loaded {
        counts.push(Span::styled(
            format!("{}/{} stores", state.stores.len(), state.info.max_stores),
            theme.dim(),
        ));
    } else {
        counts.push(Span::styled("stores not loaded yet", theme.dim()));
    }
    if wide {
        counts.push(Span::styled(
            format!("  user {}", state.info.user),
            theme.dim(),
        ));
    }
    f.render_widget(
        Paragraph::new(vec![Line::from(top), Line::from(counts)]),
        area,
    );
}

fn draw_footer(state: &State, theme: Theme, f: &mut Frame, area: Rect) {
    if let Some(Overlay::Command { input, error }) = &state.overlay {
        let mut spans = vec![
            Span::styled(":", theme.key()),
            Span::raw(input.value().to_string()),
        ];
        if let Some(e) = error {
            spans.push(Span::styled(format!("  {e}"), theme.error()));
        }
        f.render_widget(Paragraph::new(Line::from(spans)), area);
        let x = area.x + 1 + input.visual_cursor() as u16;
        f.set_cursor_position((x.min(area.right().saturating_sub(1)), area.y));
        return;
    }
    if let Some(fl) = &state.flash {
        let style = if fl.error {
            theme.error()
        } else {
            theme.good()
        };
        let glyph = if fl.error { "✗" } else { "✓" };
        f.render_widget(
            Paragraph::new(Line::styled(format!(" {glyph} {}", fl.text), style)),
            area,
        );
        return;
    }
    let ctx = update::context(state);
    let mut spans = Vec::new();
    let has_error = state.detail().is_some_and(|d| {
        state
            .store(d.id)
            .unwrap_or(&d.store)
            .error_message
            .is_some()
    });
    for h in keys::footer(ctx, state.info.read_only).filter(|h| h.keys != "x" || has_error) {
        let (k, label) = h.footer.unwrap_or((h.keys, h.action));
        let lead = if spans.is_empty() { "" } else { " " };
        spans.push(Span::styled(format!("{lead}<{k}>"), theme.key()));
        spans.push(Span::raw(format!(" {label}")));
    }
    f.render_widget(Paragraph::new(Line::from(spans)), area);
}

/// Greedy word wrap by characters; long words are cut.
pub(crate) fn wrap(text: &str, width: usize) -> Vec<String> {
    let width = width.max(1);
    let mut out = Vec::new();
    for para in text.lines() {
        let mut line = String::new();
        let mut len = 0;
        for word in para.split(' ') {
            let wl = word.chars().count();
            if len > 0 && len + 1 + wl > width {
                out.push(std::mem::take(&mut line));
                len = 0;
            }
            if len > 0 {
                line.push(' ');
                len += 1;
            }
            if wl > width {
                for c in word.chars() {
                    if len == width {
                        out.push(std::mem::take(&mut line));
                        len = 0;
                    }
                    line.push(c);
                    len += 1;
                }
            } else {
                line.push_str(word);
                len += wl;
            }
        }
        out.push(line);
    }
    if out.is_empty() {
        out.push(String::new());
    }
    out
}

/// A rectangle of at most `w` x `h`, centred in `area`.
pub(crate) fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(area.width);
    let h = h.min(area.height);
    Rect {
        x: area.x + (area.width - w) / 2,
        y: area.y + (area.height - h) / 2,
        width: w,
        height: h,
    }
}
