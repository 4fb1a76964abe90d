//! The wp prompt: the output of every command run so far (scrollable),
//! the commands offered, and the prompt line.

use super::super::state::{State, WpView};
use super::super::theme::Theme;
use super::super::wp;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};

pub fn draw(state: &State, w: &WpView, name: &str, theme: Theme, f: &mut Frame, area: Rect) {
    let [out_area, offer_area, prompt_area] = Layout::vertical([
        Constraint::Min(3),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(area);
    let mut title = vec![Span::styled(format!(" wp in {name} "), theme.title())];
    if state.info.read_only {
        title.push(Span::styled(
            " read-only: only list/get/version/status commands ",
            theme.read_only(),
        ));
    }
    if w.running() {
        title.push(Span::styled(" running… ", theme.warning()));
    }
    let block = Block::bordered()
        .border_style(theme.focus_border())
        .title(Line::from(title));
    let inner = block.inner(out_area);
    f.render_widget(block, out_area);
    // Wrapped to the pane, so an error is read whole.
    let width = usize::from(inner.width).max(1);
    let lines: Vec<(String, bool)> = w
        .output_lines()
        .into_iter()
        .flat_map(|(text, err)| {
            super::super::layout::wrap(&text, width)
                .into_iter()
                .map(move |t| (t, err))
        })
        .collect();
    let rows = usize::from(inner.height);
    if lines.is_empty() {
        f.render_widget(
            Paragraph::new(vec![
                Line::styled(
                    " Runs wp in the store's pod for it; every command is audited.",
                    theme.dim(),
                ),
                Line::styled(
                    " Type a command, or press tab for the offered ones.",
                    theme.dim(),
                ),
            ]),
            inner,
        );
    } else {
        let end = lines.len().saturating_sub(rows);
        let top = w.scroll.unwrap_or(end).min(end);
        let shown: Vec<Line> = lines
            .iter()
            .skip(top)
            .take(rows)
            .map(|(text, err)| {
                if text.starts_with("$ wp ") {
                    Line::styled(text.clone(), theme.key())
                } else if *err {
                    Line::styled(text.clone(), theme.error())
                } else {
                    Line::raw(text.clone())
                }
            })
            .collect();
        f.render_widget(Paragraph::new(shown), inner);
    }
    let mut offer = vec![Span::styled(" tab: ", theme.dim())];
    for (i, c) in wp::offered(state.info.read_only).into_iter().enumerate() {
        let style = if w.suggestion == Some(i) {
            theme.selected()
        } else {
            theme.dim()
        };
        offer.push(Span::styled(c, style));
        offer.push(Span::raw("  "));
    }
    f.render_widget(Paragraph::new(Line::from(offer)), offer_area);
    f.render_widget(
        Paragraph::new(Line::from(vec![
            Span::styled(" wp ", theme.key()),
            Span::styled(w.input.value().to_string(), theme.input()),
        ])),
        prompt_area,
    );
    let x = prompt_area.x + 4 + w.input.visual_cursor() as u16;
    f.set_cursor_position((x.min(prompt_area.right().saturating_sub(1)), prompt_area.y));
}
