//! Drawing: a pure function of the state. Header, banners (what is wrong
//! and since when), the current screen, overlays, and a footer with the keys.

mod detail;
mod logs;
pub(crate) mod overlays;
mod stores;
mod wp;

use super::state::{LinkState, Overlay, Screen, State};
use super::theme::{self, Theme};
use super::{keys, layout};
use crate::store::Status;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

pub fn draw(state: &State, f: &mut Frame) {
    let area = f.area();
    let theme = state.info.theme;
    let banners = state.banner_lines();
    let layout::Bands {
        header,
        banners: banner_area,
        body,
        footer,
    } = layout::bands(area, banners.len() as u16);
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
    if let Some(Overlay::Command { input, .. }) = &state.overlay {
        let hint = super::commands::hint(input.value(), state.info.read_only);
        let spans = vec![
            Span::styled(":", theme.key()),
            Span::raw(input.value().to_string()),
            Span::styled(format!("   {hint}"), theme.dim()),
        ];
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
    if let Some(b) = state.bulk.as_ref().filter(|b| !b.done()) {
        let answered = b.accepted.len() + b.refused.len();
        f.render_widget(
            Paragraph::new(Line::styled(
                format!(
                    " ◷ {}: {answered} of {} answered ({} refused so far)",
                    b.action.verb(),
                    b.total,
                    b.refused.len()
                ),
                theme.warning(),
            )),
            area,
        );
        return;
    }
    let ctx = state.key_context();
    let mut spans = Vec::new();
    let has_error = state.detail().is_some_and(|d| {
        state
            .store(d.id)
            .unwrap_or(&d.store)
            .error_message
            .is_some()
    });
    let shown = keys::footer(ctx, state.info.read_only)
        .filter(|h| h.act != keys::Act::ShowError || has_error);
    for h in shown {
        // The footer names one key per action; the help lists them all.
        let k = h.keys.first().map(keys::Key::label).unwrap_or_default();
        let label = h.footer.unwrap_or(h.help);
        let lead = if spans.is_empty() { "" } else { " " };
        spans.push(Span::styled(format!("{lead}<{k}>"), theme.key()));
        spans.push(Span::raw(format!(" {label}")));
    }
    f.render_widget(Paragraph::new(Line::from(spans)), area);
}
