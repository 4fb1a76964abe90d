//! Small text helpers every layer may use (the ground floor: no imports
//! from the crate).

/// Cuts a message to at most `max` bytes on a character boundary, marking
/// the cut, so error messages stored and shown stay bounded.
pub fn bound_message(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max.saturating_sub('…'.len_utf8());
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

/// A URL with its password (if any) replaced by `****`, for showing and
/// logging connection strings.
pub fn mask_url_password(url: &str) -> String {
    // postgres://user:password@host/db -> postgres://user:****@host/db
    if let Some(scheme_end) = url.find("://") {
        let rest = &url[scheme_end + 3..];
        if let Some(at) = rest.rfind('@') {
            let userinfo = &rest[..at];
            if let Some(colon) = userinfo.find(':') {
                return format!(
                    "{}{}:****{}",
                    &url[..scheme_end + 3],
                    &userinfo[..colon],
                    &rest[at..]
                );
            }
        }
    }
    url.to_string()
}

/// Text from a store (its logs, what wp printed, audit details) as it may
/// reach an operator's terminal: C0 and C1 control characters and DEL are
/// shown (`^[`, `^?`, `<U+009B>`) instead of obeyed, so that bytes a store
/// controls cannot set the window title or the clipboard (OSC), move the
/// cursor or fake lines. `keep` are the controls left as they are (a tab,
/// the newlines of multi-line output).
pub fn visible_controls<'a>(s: &'a str, keep: &[char]) -> std::borrow::Cow<'a, str> {
    let shown = |c: char| is_terminal_control(c) && !keep.contains(&c);
    if !s.chars().any(shown) {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if !shown(c) {
            out.push(c);
            continue;
        }
        let code = u32::from(c);
        match code {
            // Caret notation, as `cat -v` shows them: ESC is ^[, CR is ^M.
            0x00..=0x1f => {
                out.push('^');
                out.push(char::from_u32(code + 0x40).unwrap_or('?'));
            }
            0x7f => out.push_str("^?"),
            _ => out.push_str(&format!("<U+{code:04X}>")),
        }
    }
    std::borrow::Cow::Owned(out)
}

/// C0 (U+0000-001F), DEL and C1 (U+0080-009F).
fn is_terminal_control(c: char) -> bool {
    matches!(u32::from(c), 0x00..=0x1f | 0x7f..=0x9f)
}

/// `s` for a stream that `tty` says is a terminal: controls shown (but tabs
/// and newlines) there, left as they are for a pipe or a file (which get
/// the store's bytes unchanged).
pub fn for_terminal(s: &str, tty: bool) -> std::borrow::Cow<'_, str> {
    if tty {
        visible_controls(s, &['\t', '\n'])
    } else {
        std::borrow::Cow::Borrowed(s)
    }
}

/// How long ago, in words a report reads well with: "just now",
/// "5 minutes", "3 hours", "2 days" (the largest whole unit).
pub fn age_in_words(d: chrono::Duration) -> String {
    let secs = d.num_seconds().max(0);
    let (n, unit) = match secs {
        0..60 => return "just now".into(),
        60..3600 => (secs / 60, "minute"),
        3600..172_800 => (secs / 3600, "hour"),
        _ => (secs / 86_400, "day"),
    };
    format!("{n} {unit}{}", if n == 1 { "" } else { "s" })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_from_a_store_are_shown_not_obeyed() {
        // OSC 52 (clipboard), OSC 0 (title), a cursor move, CR and a C1 CSI.
        let hostile = "ok\x1b]52;c;cm0gLXJmIH4=\x07 \x1b]0;pwned\x1b\\ \x1b[2A\rfake\u{9b}31m\x7f";
        let shown = visible_controls(hostile, &[]);
        assert!(!shown.chars().any(is_terminal_control), "{shown:?}");
        assert_eq!(
            shown,
            "ok^[]52;c;cm0gLXJmIH4=^G ^[]0;pwned^[\\ ^[[2A^Mfake<U+009B>31m^?"
        );
        // Plain text, accents and emoji pass untouched (and are not copied).
        assert!(matches!(
            visible_controls("Café ☕ plain", &[]),
            std::borrow::Cow::Borrowed(_)
        ));
        // Newlines: kept for multi-line output, shown for one-line rows.
        assert_eq!(visible_controls("a\nb\tc", &['\n', '\t']), "a\nb\tc");
        assert_eq!(visible_controls("a\nb", &[]), "a^Jb");
        // A pipe gets the bytes as they are; a terminal sees them shown.
        assert_eq!(for_terminal("\x1b[2J", false), "\x1b[2J");
        assert_eq!(for_terminal("\x1b[2J\n", true), "^[[2J\n");
    }

    #[test]
    fn bound_message_cuts_on_char_boundaries() {
        assert_eq!(bound_message("short", 10), "short");
        let long = "é".repeat(100);
        let cut = bound_message(&long, 51);
        assert!(cut.len() <= 51);
        assert!(cut.ends_with('…'));
    }
}
