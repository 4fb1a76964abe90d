//! Pop-ups over the current screen: help, the create form, confirmations,
//! the full error message. (The `:` command line lives in the footer.)

use super::super::backups::Undeletable;
use super::super::form;
use super::super::keys::{self, Context, HelpLine};
use super::super::layout::{self, centered, wrap};
use super::super::msg::Action;
use super::super::report;
use super::super::state::{CreateForm, FIELD_ENGINE, FIELD_LABELS, Feed, Overlay, State};
use super::super::theme::{self, Theme};
use crate::cluster::health::HealthState;
use crate::store::{Kind, Request, Status};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph};
use tui_input::Input;

pub fn draw(state: &State, o: &Overlay, theme: Theme, f: &mut Frame, area: Rect) {
    match o {
        Overlay::Help { scroll } => help(state, *scroll, theme, f, area),
        Overlay::Create(form) => create(state, form, theme, f, area),
        Overlay::ConfirmRetry { name, .. } => confirm_retry(state, name, theme, f, area),
        Overlay::ConfirmDelete {
            name,
            input,
            mismatch,
            ..
        } => confirm_delete(state, name, (input, *mismatch), theme, f, area),
        Overlay::ConfirmQuit { running } => confirm_quit(*running, theme, f, area),
        Overlay::Error { scroll } => error(state, *scroll, theme, f, area),
        Overlay::ConfirmBulk {
            action,
            targets,
            skipped,
            input,
            mismatch,
        } => {
            let ask = BulkAsk {
                action: *action,
                targets,
                skipped,
                input: (input, *mismatch),
            };
            confirm_bulk(&ask, theme, f, area)
        }
        Overlay::BulkSummary { scroll }
        | Overlay::Doctor { scroll, .. }
        | Overlay::Changes { scroll, .. } => {
            if let Some((title, lines)) = report::text(state, o) {
                report(title, lines, *scroll, theme, f, area);
            }
        }
        Overlay::ConfirmRestore { name, label, .. } => confirm_restore(name, label, theme, f, area),
        Overlay::Deleted { list, cursor } => deleted(state, list, *cursor, theme, f, area),
        Overlay::ConfirmUndelete(u) => confirm_undelete(state, u, theme, f, area),
        Overlay::ConfirmDrill { name, .. } => confirm_drill(name, theme, f, area),
        Overlay::Schedule {
            name,
            current,
            input,
            error,
            saving,
            ..
        } => {
            let ask = ScheduleAsk {
                name,
                current,
                input,
                error: error.as_deref(),
                saving: *saving,
            };
            schedule(&ask, theme, f, area)
        }
        Overlay::CloneForm(form) => clone_form(form, theme, f, area),
        // Drawn in the footer.
        Overlay::Command { .. } => {}
    }
}

fn confirm_retry(state: &State, name: &str, theme: Theme, f: &mut Frame, area: Rect) {
    let store = state.current_store();
    let err = store.and_then(|s| s.error_message.clone());
    // What a retry does is the lifecycle's answer: a failed delete is deleted again.
    let delete = store
        .and_then(|s| s.may(Request::Retry).ok())
        .is_some_and(|t| t.operation == Some(Kind::Delete));
    let (title, question, what) = if delete {
        (
            " Retry delete ",
            format!("Retry deleting store \"{name}\"?"),
            "The delete runs again (uninstall, remove the namespace); nothing is re-provisioned.",
        )
    } else {
        (
            " Retry ",
            format!("Retry store \"{name}\"?"),
            "Provisioning starts again on the same record (same namespace and URL).",
        )
    };
    let mut text = vec![question, String::new()];
    if let Some(e) = err {
        text.push(format!("It failed with: {e}"));
        text.push(String::new());
    }
    text.push(what.into());
    confirm(
        title,
        text,
        None,
        &keys::hint_line(Context::ConfirmRetry, false),
        theme,
        f,
        area,
    );
}

fn confirm_delete(
    state: &State,
    name: &str,
    (input, mismatch): (&Input, bool),
    theme: Theme,
    f: &mut Frame,
    area: Rect,
) {
    let ns = state
        .current_store()
        .map(|s| s.namespace.clone())
        .unwrap_or_default();
    let text = vec![
        format!("Delete store \"{name}\"?"),
        String::new(),
        match state.info.keep_deleted_days {
            None => format!(
                "This uninstalls it and deletes namespace {ns} with everything in it (database, uploads). It cannot be undone."
            ),
            // What is kept and until when: the final backup the delete takes.
            Some(days) => format!(
                "A final backup (database, uploads, credentials) is taken first and kept {days} days, until {}: `store-weaver store undelete` brings the store back until then. Then namespace {ns} is deleted with everything in it.",
                (state.now + chrono::Duration::days(i64::from(days))).format("%Y-%m-%d")
            ),
        },
        String::new(),
        "Type the store's name to confirm:".into(),
    ];
    let bottom = if mismatch {
        "✗ that is not the store's name; type it exactly (esc cancels)".to_string()
    } else {
        keys::hint_line(Context::ConfirmDelete, false)
    };
    confirm(
        " Delete ",
        text,
        Some((input, mismatch)),
        &bottom,
        theme,
        f,
        area,
    );
}

fn confirm_restore(name: &str, label: &str, theme: Theme, f: &mut Frame, area: Rect) {
    let text = vec![
        format!("Restore store \"{name}\" from backup {label}?"),
        String::new(),
        "The store goes Restoring: the backup is checked whole first (nothing is touched if it does not check out), then the shop is paused (its web pods scaled to zero) while its database and files are replaced with the backup's, then resumed and checked healthy.".into(),
        String::new(),
        "Orders, customers and uploads changed since the backup are lost.".into(),
    ];
    confirm(
        " Restore ",
        text,
        None,
        &keys::hint_line(Context::ConfirmRestore, false),
        theme,
        f,
        area,
    );
}

/// The deleted stores that can come back, the cursor on one.
fn deleted(
    state: &State,
    list: &Feed<Vec<Undeletable>>,
    cursor: usize,
    theme: Theme,
    f: &mut Frame,
    area: Rect,
) {
    let w = area.width.saturating_sub(4).min(110);
    let inner_w = w.saturating_sub(2) as usize;
    let mut lines: Vec<Line> = Vec::new();
    if list.loading {
        lines.push(Line::styled(" loading…", theme.dim()));
    }
    if let Some(e) = &list.error {
        lines.push(Line::styled(format!(" ✗ {e}"), theme.error()));
    }
    let items = list.data.as_deref().unwrap_or_default();
    if list.data.is_some() && items.is_empty() {
        let none = "No deleted store can come back: a delete with backups configured keeps its final backup for a while, and none is kept now.";
        for l in wrap(none, inner_w.saturating_sub(2).max(10)) {
            lines.push(Line::styled(format!(" {l}"), theme.dim()));
        }
    }
    let h = (items.len().max(lines.len()) as u16 + 4).min(area.height);
    let r = centered(area, w, h);
    let visible = usize::from(h.saturating_sub(4)).max(1);
    let offset = layout::scroll_offset(0, cursor, visible);
    if !items.is_empty() {
        lines.push(Line::styled(
            fit(
                &format!(
                    " {:<24} {:<22} {:>8}  {:<16} KEPT UNTIL",
                    "NAME", "OWNER", "SIZE", "DELETED"
                ),
                inner_w,
            ),
            theme.table_header(),
        ));
    }
    for (i, u) in items.iter().enumerate().skip(offset).take(visible) {
        let at = |t: Option<chrono::DateTime<chrono::Utc>>| {
            t.map(|t| {
                t.with_timezone(&state.tz)
                    .format("%Y-%m-%d %H:%M")
                    .to_string()
            })
            .unwrap_or_else(|| "-".into())
        };
        let text = format!(
            " {:<24} {:<22} {:>8}  {:<16} {}",
            crate::tui::fmt::truncate(&u.name, 24),
            crate::tui::fmt::truncate(&u.owner, 22),
            crate::tui::backups::size(u.bytes),
            at(u.backed_up_at),
            at(u.expires_at)
        );
        let l = Line::raw(fit(&text, inner_w));
        lines.push(if i == cursor {
            l.style(theme.selected())
        } else {
            l
        });
    }
    f.render_widget(Clear, r);
    f.render_widget(
        Paragraph::new(lines).block(
            Block::bordered()
                .border_style(theme.focus_border())
                .title(Span::styled(
                    " Deleted stores that can come back ",
                    theme.title(),
                ))
                .title_bottom(Line::styled(
                    format!(
                        " {} ",
                        keys::hint_line(Context::Deleted, state.info.read_only)
                    ),
                    theme.dim(),
                ))
                .padding(ratatui::widgets::Padding::new(0, 0, 1, 0)),
        ),
        r,
    );
}

/// Pads or cuts a line to `w` characters, so a selected row is marked to
/// the border.
fn fit(s: &str, w: usize) -> String {
    let t = crate::tui::fmt::truncate(s, w);
    format!("{t:<w$}")
}

fn confirm_undelete(state: &State, u: &Undeletable, theme: Theme, f: &mut Frame, area: Rect) {
    let until = u
        .expires_at
        .map(|t| {
            t.with_timezone(&state.tz)
                .format("%Y-%m-%d %H:%M")
                .to_string()
        })
        .unwrap_or_else(|| "-".into());
    let text = vec![
        format!("Undelete store \"{}\"?", u.name),
        String::new(),
        format!(
            "It comes back under its old name and address ({}), owned by {}: provisioned again, then its final backup ({}) is written into it, with the credentials it had. Its final backup is kept until {until}.",
            u.url,
            u.owner,
            crate::tui::backups::size(u.bytes)
        ),
        String::new(),
        "If a live store took its name or address meanwhile, the undelete is refused.".into(),
    ];
    confirm(
        " Undelete ",
        text,
        None,
        &keys::hint_line(Context::ConfirmUndelete, false),
        theme,
        f,
        area,
    );
}

fn confirm_drill(name: &str, theme: Theme, f: &mut Frame, area: Rect) {
    let text = vec![
        format!("Run a restore drill of store \"{name}\" now?"),
        String::new(),
        format!(
            "It {}. The throwaway store takes real resources until it is deleted.",
            crate::tui::drills::WHAT_A_DRILL_DOES
        ),
        String::new(),
        "The drills list in the backups pane shows it running, then passed or failed with what it found.".into(),
    ];
    confirm(
        " Restore drill ",
        text,
        None,
        &keys::hint_line(Context::ConfirmDrill, false),
        theme,
        f,
        area,
    );
}

struct ScheduleAsk<'a> {
    name: &'a str,
    current: &'a str,
    input: &'a Input,
    error: Option<&'a str>,
    saving: bool,
}

fn schedule(ask: &ScheduleAsk<'_>, theme: Theme, f: &mut Frame, area: Rect) {
    let mut text = vec![
        format!("Backup schedule of store \"{}\"", ask.name),
        format!("Now: {}", ask.current),
        String::new(),
    ];
    // The parser's error says what it takes; without one, the same words.
    match ask.error {
        Some(e) => text.push(format!("✗ {e}")),
        None => text.push("Type an interval: hours like 6h or 24h, days like 2d (at most 365d), off for no scheduled backups, or default for the fleet's.".into()),
    }
    let bottom = if ask.saving {
        "saving…".to_string()
    } else {
        keys::hint_line(Context::Schedule, false)
    };
    confirm(
        " Backup schedule ",
        text,
        Some((ask.input, ask.error.is_some())),
        &bottom,
        theme,
        f,
        area,
    );
}

fn clone_form(form: &crate::tui::state::CloneForm, theme: Theme, f: &mut Frame, area: Rect) {
    let mut text = vec![
        format!("Clone store \"{}\" into a new store", form.source_name),
        String::new(),
        format!(
            "The new store is made from its newest complete backup (checked whole first), owned by {}, with its own namespace and address (URLs rewritten). The source is not touched.",
            form.owner
        ),
        String::new(),
        "The new store's name:".into(),
    ];
    if let Some(e) = &form.error {
        text.push(format!("✗ {e}"));
    }
    let bottom = if form.submitting {
        "creating…".to_string()
    } else {
        keys::hint_line(Context::CloneForm, false)
    };
    confirm(
        " Clone ",
        text,
        Some((&form.input, form.error.is_some())),
        &bottom,
        theme,
        f,
        area,
    );
}

fn confirm_quit(running: usize, theme: Theme, f: &mut Frame, area: Rect) {
    let text = vec![
        format!(
            "{running} operation{} started here {} still running.",
            if running == 1 { "" } else { "s" },
            if running == 1 { "is" } else { "are" }
        ),
        String::new(),
        "Quitting does not stop it: operations are kept in the database and another worker picks them up.".into(),
        String::new(),
        "Quit anyway?".into(),
    ];
    confirm(
        " Quit ",
        text,
        None,
        &keys::hint_line(Context::ConfirmQuit, false),
        theme,
        f,
        area,
    );
}

fn error(state: &State, scroll: usize, theme: Theme, f: &mut Frame, area: Rect) {
    let msg = state
        .current_store()
        .and_then(|s| s.error_message.clone())
        .unwrap_or_default();
    let (r, lines) = layout::error_box(area, &msg);
    let body: Vec<Line> = lines
        .into_iter()
        .skip(scroll)
        .map(|l| Line::styled(l, theme.error()))
        .collect();
    f.render_widget(Clear, r);
    f.render_widget(
        Paragraph::new(body).block(
            Block::bordered()
                .border_style(theme.focus_border())
                .title(Span::styled(" Error ", theme.title()))
                .title_bottom(Line::styled(
                    format!(" {} ", keys::hint_line(Context::Error, false)),
                    theme.dim(),
                )),
        ),
        r,
    );
}

/// What the bulk confirmation shows.
struct BulkAsk<'a> {
    action: Action,
    targets: &'a [(uuid::Uuid, String)],
    skipped: &'a [(String, String)],
    input: (&'a Input, bool),
}

fn confirm_bulk(ask: &BulkAsk<'_>, theme: Theme, f: &mut Frame, area: Rect) {
    let (action, targets, skipped) = (ask.action, ask.targets, ask.skipped);
    let (input, mismatch) = ask.input;
    let n = targets.len();
    let names: Vec<&str> = targets.iter().map(|(_, n)| n.as_str()).collect();
    let mut text = vec![
        format!(
            "{} {n} store{}?",
            match action {
                Action::Retry => "Retry",
                Action::Delete => "Delete",
                Action::Backup => "Back up",
                Action::Restore => "Restore",
                Action::Undelete => "Undelete",
            },
            if n == 1 { "" } else { "s" }
        ),
        String::new(),
        names.join(", "),
    ];
    if !skipped.is_empty() {
        text.push(String::new());
        text.push(format!("Skipped ({}):", skipped.len()));
        for (name, why) in skipped.iter().take(5) {
            text.push(format!("  {name} {why}"));
        }
        if skipped.len() > 5 {
            text.push(format!("  … and {} more", skipped.len() - 5));
        }
    }
    let (title, input, bottom) = match action {
        Action::Retry | Action::Backup | Action::Restore | Action::Undelete => (
            " Retry marked ",
            None,
            keys::hint_line(Context::ConfirmRetry, false),
        ),
        Action::Delete => {
            text.push(String::new());
            text.push(
                "Each is uninstalled and its namespace deleted with everything in it. This cannot be undone.".into(),
            );
            text.push(format!("Type {n} to confirm:"));
            let bottom = if mismatch {
                format!("✗ type the number {n} exactly (esc cancels)")
            } else {
                keys::hint_line(Context::ConfirmBulkDelete, false)
            };
            (" Delete marked ", Some((input, mismatch)), bottom)
        }
    };
    confirm(title, text, input, &bottom, theme, f, area);
}

/// A scrollable read-only pop-up; lines starting with ✗ are errors, ⚠ warnings.
fn report(title: &str, text: Vec<String>, scroll: usize, theme: Theme, f: &mut Frame, area: Rect) {
    let inner_w = layout::report_text_width(area);
    let mut lines: Vec<Line> = Vec::new();
    for t in &text {
        let style = if t.starts_with('✗') {
            theme.error()
        } else if t.starts_with('⚠') {
            theme.warning()
        } else if t.starts_with('✓') {
            theme.good()
        } else {
            ratatui::style::Style::new()
        };
        for l in wrap(t, inner_w) {
            lines.push(Line::styled(l, style));
        }
    }
    let r = layout::report_box(area, lines.len());
    let max = layout::max_scroll(lines.len(), r);
    let lines: Vec<Line> = lines.into_iter().skip(scroll.min(max)).collect();
    f.render_widget(Clear, r);
    f.render_widget(
        Paragraph::new(lines).block(
            Block::bordered()
                .border_style(theme.focus_border())
                .title(Span::styled(title.to_string(), theme.title()))
                .title_bottom(Line::styled(
                    format!(" {} ", keys::hint_line(Context::Report, false)),
                    theme.dim(),
                ))
                .padding(ratatui::widgets::Padding::horizontal(1)),
        ),
        r,
    );
}

fn confirm(
    title: &str,
    text: Vec<String>,
    input: Option<(&Input, bool)>,
    bottom: &str,
    theme: Theme,
    f: &mut Frame,
    area: Rect,
) {
    let w = area.width.saturating_sub(4).min(76);
    let inner_w = w.saturating_sub(4) as usize;
    let mut lines: Vec<Line> = Vec::new();
    for t in &text {
        // A problem with what was typed, shown in place.
        let style = if t.starts_with('✗') {
            theme.error()
        } else {
            ratatui::style::Style::new()
        };
        for l in wrap(t, inner_w) {
            lines.push(Line::styled(l, style));
        }
    }
    let input_row = input.map(|_| lines.len());
    if input.is_some() {
        lines.push(Line::from(""));
    }
    let h = (lines.len() as u16 + 4).min(area.height);
    let r = centered(area, w, h);
    if let (Some((input, mismatch)), Some(row)) = (input, input_row) {
        let style = if mismatch {
            theme.error()
        } else {
            theme.input()
        };
        lines[row] = Line::from(vec![
            Span::raw("> "),
            Span::styled(input.value().to_string(), style),
        ]);
        let y = r.y + 2 + row as u16;
        let x = r.x + 4 + input.visual_cursor() as u16;
        if y < r.bottom() {
            f.set_cursor_position((x.min(r.right().saturating_sub(2)), y));
        }
    }
    let bottom_style = if bottom.starts_with('✗') {
        theme.error()
    } else {
        theme.dim()
    };
    f.render_widget(Clear, r);
    f.render_widget(
        Paragraph::new(lines).block(
            Block::bordered()
                .border_style(theme.focus_border())
                .title(Span::styled(title.to_string(), theme.title()))
                .title_bottom(Line::styled(format!(" {bottom} "), bottom_style))
                .padding(ratatui::widgets::Padding::new(1, 1, 1, 0)),
        ),
        r,
    );
}

fn help_lines(state: &State, theme: Theme) -> Vec<Line<'static>> {
    state
        .help_lines()
        .into_iter()
        .flat_map(|l| match l {
            HelpLine::Section(name) => vec![Line::styled(name, theme.title())],
            HelpLine::Key { keys, help } => vec![Line::from(vec![
                // At least one space after keys longer than the column.
                Span::styled(format!("  {keys:<13} "), theme.key()),
                Span::raw(help),
            ])],
            HelpLine::Typing(what) => vec![Line::from(vec![
                Span::styled(format!("  {:<14}", "type"), theme.key()),
                Span::raw(what),
            ])],
            HelpLine::Blank => vec![Line::from("")],
            // Three to a line, so the legend fits at 80 columns.
            HelpLine::StatusLegend => Status::ALL
                .chunks(keys::STATUSES_PER_LINE)
                .map(|row| {
                    let mut legend = vec![Span::raw("  ")];
                    for s in row {
                        legend.push(Span::styled(
                            format!("{} {}  ", theme::status_glyph(*s), s.as_str()),
                            theme.status(*s),
                        ));
                    }
                    Line::from(legend)
                })
                .collect(),
            HelpLine::HealthLegend => {
                let mut legend = vec![Span::raw("  ")];
                for h in [
                    HealthState::Ready,
                    HealthState::Progressing,
                    HealthState::Degraded,
                    HealthState::Missing,
                ] {
                    legend.push(Span::styled(
                        format!("{} {}  ", theme::health_glyph(h), h.as_str()),
                        theme.health(h),
                    ));
                }
                vec![Line::from(legend)]
            }
            HelpLine::ReadOnlyNote => vec![Line::styled(
                "Read-only mode: create, retry and delete are off.",
                theme.warning(),
            )],
        })
        .collect()
}

fn help(state: &State, scroll: usize, theme: Theme, f: &mut Frame, area: Rect) {
    let lines = help_lines(state, theme);
    let r = layout::help_box(area, lines.len());
    let max_scroll = layout::max_scroll(lines.len(), r);
    let lines: Vec<Line> = lines.into_iter().skip(scroll.min(max_scroll)).collect();
    f.render_widget(Clear, r);
    f.render_widget(
        Paragraph::new(lines).block(
            Block::bordered()
                .border_style(theme.focus_border())
                .title(Span::styled(" Help ", theme.title()))
                .title_bottom(Line::styled(
                    format!(" {} ", keys::hint_line(Context::Help, false)),
                    theme.dim(),
                )),
        ),
        r,
    );
}

fn create(state: &State, form: &CreateForm, theme: Theme, f: &mut Frame, area: Rect) {
    let check = form::check(state, form);
    let w = area.width.saturating_sub(4).min(80);
    let inner_w = w.saturating_sub(4) as usize;
    let label_w = 8usize;
    let mut lines: Vec<Line> = Vec::new();
    let mut cursor = None;
    for (i, label) in FIELD_LABELS.iter().enumerate() {
        let focused = form.focus == i;
        let marker = if focused { "›" } else { " " };
        let input = &form.fields[i];
        let field_w = inner_w.saturating_sub(label_w + 2).max(4);
        let scroll = input.visual_scroll(field_w);
        let visible: String = input.value().chars().skip(scroll).take(field_w).collect();
        let pad = field_w.saturating_sub(visible.chars().count());
        lines.push(Line::from(vec![
            Span::styled(
                format!("{marker}{label:<w$} ", w = label_w),
                if focused { theme.key() } else { theme.dim() },
            ),
            Span::styled(format!("{visible}{}", " ".repeat(pad)), theme.input()),
        ]));
        if focused {
            cursor = Some((
                lines.len() - 1,
                label_w + 2 + input.visual_cursor().saturating_sub(scroll),
            ));
        }
        match &check.fields[i] {
            Some(e) => {
                for (j, l) in wrap(e, inner_w.saturating_sub(label_w + 3))
                    .into_iter()
                    .enumerate()
                {
                    let glyph = if j == 0 { "✗ " } else { "  " };
                    lines.push(Line::styled(
                        format!("{:w$}{glyph}{l}", "", w = label_w + 1),
                        theme.error(),
                    ));
                }
            }
            None => {
                // The engine field says what the store will run, and what
                // else it could.
                let what = match crate::engines::EngineKind::parse_available(input.value()) {
                    Ok(e) if i == FIELD_ENGINE => format!(
                        "{}: {} (engines: {})",
                        e.spec().title,
                        e.spec().summary,
                        crate::engines::names()
                    ),
                    _ => "ok".to_string(),
                };
                for (j, l) in wrap(&what, inner_w.saturating_sub(label_w + 3))
                    .into_iter()
                    .enumerate()
                {
                    let glyph = if j == 0 { "✓ " } else { "  " };
                    lines.push(Line::styled(
                        format!("{:w$}{glyph}{l}", "", w = label_w + 1),
                        theme.good(),
                    ));
                }
            }
        }
    }
    lines.push(Line::from(""));
    if let Some((ns, url)) = &check.preview {
        let text = format!("address {url}  (namespace {ns}; a short suffix is added if taken)");
        for l in wrap(&text, inner_w) {
            lines.push(Line::raw(l));
        }
    }
    if let Some(l) = &check.limit {
        for t in wrap(&format!("✗ {l}"), inner_w) {
            lines.push(Line::styled(t, theme.error()));
        }
    } else if let Some(n) = &check.note {
        for t in wrap(n, inner_w) {
            lines.push(Line::styled(t, theme.dim()));
        }
    }
    if let Some(e) = &form.error {
        for t in wrap(&format!("✗ {e}"), inner_w) {
            lines.push(Line::styled(t, theme.error()));
        }
    }
    if form.submitting {
        lines.push(Line::styled("creating…", theme.warning()));
    }
    let h = (lines.len() as u16 + 4).min(area.height);
    let r = centered(area, w, h);
    let bottom = if check.ok() {
        " <enter> next/create  <ctrl-s> create  <esc> cancel "
    } else {
        " fix what is marked ✗   <esc> cancel "
    };
    f.render_widget(Clear, r);
    f.render_widget(
        Paragraph::new(lines).block(
            Block::bordered()
                .border_style(theme.focus_border())
                .title(Span::styled(" Create store ", theme.title()))
                .title_bottom(Line::styled(bottom, theme.dim()))
                .padding(ratatui::widgets::Padding::new(1, 1, 1, 0)),
        ),
        r,
    );
    if let Some((row, col)) = cursor
        && !form.submitting
    {
        let y = r.y + 2 + row as u16;
        if y < r.bottom().saturating_sub(1) {
            f.set_cursor_position(((r.x + 2 + col as u16).min(r.right().saturating_sub(2)), y));
        }
    }
}
