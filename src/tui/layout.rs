//! Screen geometry, in one pure place: where the header, banners, body and
//! footer go, how many table rows fit, where a pop-up sits and how far it
//! scrolls. `update` asks it (a page is how many rows?) and `view` draws
//! into it, so neither has to call the other.

use ratatui::layout::{Constraint, Layout, Rect};

/// Rows of the header (title line and status counts).
pub const HEADER_ROWS: u16 = 2;

/// The four bands of every screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bands {
    pub header: Rect,
    pub banners: Rect,
    pub body: Rect,
    pub footer: Rect,
}

pub fn bands(area: Rect, banner_rows: u16) -> Bands {
    let [header, banners, body, footer] = Layout::vertical([
        Constraint::Length(HEADER_ROWS),
        Constraint::Length(banner_rows),
        Constraint::Min(1),
        Constraint::Length(1),
    ])
    .areas(area);
    Bands {
        header,
        banners,
        body,
        footer,
    }
}

/// The whole terminal as a rectangle.
pub fn screen(size: (u16, u16)) -> Rect {
    Rect::new(0, 0, size.0, size.1)
}

/// The stores view: the filter line (when shown) above the table.
pub fn stores(body: Rect, show_filter: bool) -> (Rect, Rect) {
    let [filter, table] = Layout::vertical([
        Constraint::Length(u16::from(show_filter)),
        Constraint::Min(1),
    ])
    .areas(body);
    (filter, table)
}

/// Inside a bordered block.
pub fn inner(r: Rect) -> Rect {
    r.inner(ratatui::layout::Margin::new(1, 1))
}

/// Rows of the stores table that fit in `table` (its border and its header
/// row taken off).
pub fn table_page(table: Rect) -> usize {
    usize::from(inner(table).height.saturating_sub(1)).max(1)
}

/// Rows of the stores table on a terminal of `size`.
pub fn list_page(size: (u16, u16), banner_rows: u16, show_filter: bool) -> usize {
    let body = bands(screen(size), banner_rows).body;
    table_page(stores(body, show_filter).1)
}

/// The first row to show so that `cursor` is on screen, moving as little as possible.
pub fn scroll_offset(offset: usize, cursor: usize, page: usize) -> usize {
    let page = page.max(1);
    if cursor < offset {
        cursor
    } else if cursor >= offset + page {
        cursor + 1 - page
    } else {
        offset
    }
}

/// A rectangle of at most `w` x `h`, centred in `area`.
pub fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(area.width);
    let h = h.min(area.height);
    Rect {
        x: area.x + (area.width - w) / 2,
        y: area.y + (area.height - h) / 2,
        width: w,
        height: h,
    }
}

/// The help box for `lines` lines of help in `body`.
pub fn help_box(body: Rect, lines: usize) -> Rect {
    let w = body.width.saturating_sub(4).min(72);
    let h = (lines as u16).saturating_add(2).min(body.height);
    centered(body, w, h)
}

/// The full-error pop-up: its box and the message's lines.
pub fn error_box(body: Rect, msg: &str) -> (Rect, Vec<String>) {
    let w = body.width.saturating_sub(4).min(100);
    let lines = wrap(msg, w.saturating_sub(4) as usize);
    let h = (lines.len() as u16).saturating_add(4).min(body.height);
    (centered(body, w, h), lines)
}

/// How far the error pop-up scrolls: until its last line is on screen.
pub fn error_max_scroll(body: Rect, msg: &str) -> usize {
    let (r, lines) = error_box(body, msg);
    lines
        .len()
        .saturating_sub(usize::from(r.height.saturating_sub(2)))
}

/// The width a report pop-up in `body` is, its borders included.
fn report_width(body: Rect) -> u16 {
    body.width.saturating_sub(4).min(100)
}

/// The width a report pop-up's text wraps at (inside borders and padding).
pub fn report_text_width(body: Rect) -> usize {
    usize::from(report_width(body).saturating_sub(4))
}

/// The box of a report pop-up of `lines` wrapped lines.
pub fn report_box(body: Rect, lines: usize) -> Rect {
    let h = u16::try_from(lines)
        .unwrap_or(u16::MAX)
        .saturating_add(2)
        .min(body.height);
    centered(body, report_width(body), h)
}

/// How far a bordered box of `lines` lines can scroll.
pub fn max_scroll(lines: usize, boxed: Rect) -> usize {
    (lines + 2).saturating_sub(usize::from(boxed.height))
}

/// A scrollable pane (logs, wp output): the rows of text it shows.
pub fn pane_rows(pane: Rect) -> usize {
    usize::from(inner(pane).height).max(1)
}

/// Greedy word wrap by characters; long words are cut.
pub fn wrap(text: &str, width: usize) -> Vec<String> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_is_what_the_table_shows() {
        // 24 rows: header 2, footer 1, table border 2, table header 1.
        assert_eq!(list_page((80, 24), 0, false), 18);
        assert_eq!(list_page((80, 24), 2, true), 15);
        assert_eq!(list_page((80, 3), 4, true), 1, "never zero");
    }

    #[test]
    fn scrolling_moves_as_little_as_possible() {
        assert_eq!(scroll_offset(0, 5, 10), 0);
        assert_eq!(scroll_offset(0, 12, 10), 3);
        assert_eq!(scroll_offset(8, 2, 10), 2);
    }

    #[test]
    fn help_scroll_stops_at_the_last_line() {
        let body = Rect::new(0, 2, 80, 21);
        let b = help_box(body, 40);
        assert_eq!(b.height, 21);
        assert_eq!(max_scroll(40, b), 21);
        assert_eq!(max_scroll(5, help_box(body, 5)), 0);
    }

    #[test]
    fn wrap_cuts_long_words() {
        assert_eq!(wrap("ab cd", 2), vec!["ab", "cd"]);
        assert_eq!(wrap("abcdef", 4), vec!["abcd", "ef"]);
        assert_eq!(wrap("", 4), vec![""]);
    }
}
