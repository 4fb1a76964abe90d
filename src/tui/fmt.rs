//! Small text formatters shared by the views (and by the clock, which
//! redraws only when one of these strings would change).

use chrono::{DateTime, FixedOffset, Utc};

/// k9s-style age: 42s, 5m, 3h, 2d.
pub fn age(now: DateTime<Utc>, t: DateTime<Utc>) -> String {
    let secs = (now - t).num_seconds().max(0);
    match secs {
        0..60 => format!("{secs}s"),
        60..3600 => format!("{}m", secs / 60),
        3600..172_800 => format!("{}h", secs / 3600),
        _ => format!("{}d", secs / 86_400),
    }
}

pub fn age_opt(now: DateTime<Utc>, t: Option<DateTime<Utc>>) -> String {
    t.map(|t| age(now, t)).unwrap_or_else(|| "-".into())
}

/// A duration with two units at most: 42s, 3m05s, 1h02m.
pub fn duration(d: chrono::Duration) -> String {
    let secs = d.num_seconds().max(0);
    match secs {
        0..60 => format!("{secs}s"),
        60..3600 => format!("{}m{:02}s", secs / 60, secs % 60),
        _ => format!("{}h{:02}m", secs / 3600, (secs % 3600) / 60),
    }
}

pub fn clock(t: DateTime<Utc>, tz: FixedOffset) -> String {
    t.with_timezone(&tz).format("%H:%M:%S").to_string()
}

pub fn date_time(t: DateTime<Utc>, tz: FixedOffset) -> String {
    t.with_timezone(&tz).format("%Y-%m-%d %H:%M:%S").to_string()
}

/// Cuts `s` to `max` characters, marking the cut with an ellipsis.
pub fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    if max == 0 {
        return String::new();
    }
    let mut out: String = s.chars().take(max - 1).collect();
    out.push('…');
    out
}

/// The database location for the header: host, port and database, no user
/// and no password.
pub fn database_location(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let rest = rest.rsplit_once('@').map_or(rest, |(_, r)| r);
    rest.split('?').next().unwrap_or(rest).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn ages_and_durations() {
        let t0 = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        let at = |s: i64| t0 + chrono::Duration::seconds(s);
        assert_eq!(age(at(5), t0), "5s");
        assert_eq!(age(at(-5), t0), "0s");
        assert_eq!(age(at(125), t0), "2m");
        assert_eq!(age(at(7300), t0), "2h");
        assert_eq!(age(at(3 * 86_400), t0), "3d");
        assert_eq!(duration(chrono::Duration::seconds(185)), "3m05s");
        assert_eq!(duration(chrono::Duration::seconds(3720)), "1h02m");
    }

    #[test]
    fn database_location_hides_credentials() {
        assert_eq!(
            database_location("postgres://sw:secret@db.example:5432/sw?sslmode=require"),
            "db.example:5432/sw"
        );
        assert_eq!(database_location("postgres://localhost/sw"), "localhost/sw");
    }

    #[test]
    fn truncate_marks_the_cut() {
        assert_eq!(truncate("abcdef", 4), "abc…");
        assert_eq!(truncate("abc", 4), "abc");
    }
}
