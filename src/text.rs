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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bound_message_cuts_on_char_boundaries() {
        assert_eq!(bound_message("short", 10), "short");
        let long = "é".repeat(100);
        let cut = bound_message(&long, 51);
        assert!(cut.len() <= 51);
        assert!(cut.ends_with('…'));
    }
}
