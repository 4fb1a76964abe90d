//! The wp prompt's words: the commands offered and how a typed line
//! becomes arguments (no shell is involved: the words go to the exec API as
//! they are). What read-only mode lets through is the engine's shell policy.

/// Offered with `tab`: common, and harmless to run on a live store.
pub const OFFERED: &[&str] = &[
    "plugin list",
    "user list",
    "cache flush",
    "cron event list",
    "option get siteurl",
    "core version",
];

/// Splits a typed line into words: spaces separate, single or double quotes
/// group, a leading `wp` is dropped.
pub fn split(line: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    let mut in_word = false;
    for c in line.chars() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => cur.push(c),
            None if c == '\'' || c == '"' => {
                quote = Some(c);
                in_word = true;
            }
            None if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            None => {
                cur.push(c);
                in_word = true;
            }
        }
    }
    if quote.is_some() {
        return Err("a quote is not closed".into());
    }
    if in_word {
        words.push(cur);
    }
    if words.first().is_some_and(|w| w == "wp") {
        words.remove(0);
    }
    Ok(words)
}

/// The arguments for `wp`, or why the line is refused. The rules are the
/// engine's shell policy (through `cluster::pods::check_wp_command`, the
/// same for every face);
/// checking here too only saves a round trip and says it at once.
pub fn check(line: &str, read_only: bool) -> Result<Vec<String>, String> {
    let words = split(line)?;
    if words.is_empty() {
        return Err("type a wp command, e.g. plugin list (tab offers some)".into());
    }
    crate::cluster::pods::check_wp_command(&words, read_only)?;
    Ok(words)
}

/// The offered commands that `check` allows in this mode.
pub fn offered(read_only: bool) -> Vec<&'static str> {
    OFFERED
        .iter()
        .copied()
        .filter(|c| check(c, read_only).is_ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_quotes_and_a_leading_wp() {
        assert_eq!(
            split("wp option get siteurl").unwrap(),
            ["option", "get", "siteurl"]
        );
        assert_eq!(
            split("post list --post_type='shop order'").unwrap(),
            ["post", "list", "--post_type=shop order"]
        );
        assert_eq!(split("  ").unwrap(), Vec::<String>::new());
        assert!(split("option get \"x").is_err());
    }

    #[test]
    fn read_only_lets_only_reads_through() {
        for ok in [
            "plugin list",
            "cron event list",
            "option get siteurl",
            "core version",
            "plugin status akismet",
        ] {
            assert!(check(ok, true).is_ok(), "{ok}");
        }
        for refused in [
            "cache flush",
            "plugin deactivate akismet",
            "eval 'echo 1;'",
            "db query 'select 1'",
            "option update siteurl x",
            "user delete 1 --yes",
        ] {
            let e = check(refused, true).unwrap_err();
            assert!(e.contains("read-only"), "{refused}: {e}");
        }
        let e = check("plugin list --exec='system(1);'", false).unwrap_err();
        assert!(e.contains("--exec is not allowed"), "{e}");
        assert!(check("cache flush", false).is_ok());
        assert!(check("", false).unwrap_err().contains("tab offers"));
        assert_eq!(offered(true).len(), OFFERED.len() - 1, "cache flush writes");
    }
}
