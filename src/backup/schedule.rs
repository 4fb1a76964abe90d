//! When a store's scheduled backup is due (pure).
//!
//! Every store has a fixed slot within the interval, taken from its id, so
//! a fleet's backups are spread evenly over the interval instead of all
//! starting when the schedule is turned on or the platform starts. A store
//! is due when its latest slot has passed and no backup was started since.
//! A slot missed by more than [`window`] (the platform was down) is not
//! caught up: the store waits for its next slot, so a restart never
//! starts the whole fleet's backups at once.

use chrono::{DateTime, Duration, Utc};
use uuid::Uuid;

/// The store's offset within an interval of `every`: its id mixed
/// (SplitMix64's finaliser, fixed here so a store keeps its slot across
/// versions), as ids made together share their time and counter bits.
pub fn offset(store: Uuid, every: Duration) -> Duration {
    let secs = every.num_seconds().max(1) as u64;
    let v = store.as_u128();
    let mut x = (v >> 64) as u64 ^ v as u64;
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^= x >> 31;
    Duration::seconds((x % secs) as i64)
}

/// The store's latest slot at or before `now`.
pub fn last_slot(now: DateTime<Utc>, store: Uuid, every: Duration) -> DateTime<Utc> {
    let period = every.num_seconds().max(1);
    let since = now.timestamp() - offset(store, every).num_seconds();
    let slot = since.div_euclid(period) * period + offset(store, every).num_seconds();
    DateTime::from_timestamp(slot, 0).unwrap_or(now)
}

/// The store's next slot after `now`.
pub fn next_slot(now: DateTime<Utc>, store: Uuid, every: Duration) -> DateTime<Utc> {
    last_slot(now, store, every) + every
}

/// How late after its slot a store's backup is still started: a twenty-
/// fourth of the interval, between 5 minutes and an hour.
pub fn window(every: Duration) -> Duration {
    (every / 24).clamp(Duration::minutes(5), Duration::hours(1))
}

/// Whether a scheduled backup is due: the latest slot has passed, no
/// backup (of any reason, in any state) was started since, and the slot is
/// not older than the window.
pub fn due(
    now: DateTime<Utc>,
    store: Uuid,
    every: Duration,
    newest_started: Option<DateTime<Utc>>,
) -> bool {
    let slot = last_slot(now, store, every);
    now - slot <= window(every) && newest_started.is_none_or(|t| t < slot)
}

/// A store's interval as a person writes it: `6h`, `24`, `2d`, `off`
/// (none) or `default` (the fleet's). Some(hours), Some(0) for off, None
/// for the fleet's.
pub fn parse_every(text: &str) -> Result<Option<i32>, String> {
    let t = text.trim().to_ascii_lowercase();
    let bad = || {
        format!(
            "{text:?} is not an interval: give hours like 6h or 24h, days like 2d (at most 365d), \
             `off` for no scheduled backups, or `default` for the fleet's"
        )
    };
    let hours = match t.as_str() {
        "off" | "none" | "0" | "0h" => return Ok(Some(0)),
        "default" | "fleet" => return Ok(None),
        _ if t.ends_with('d') => t[..t.len() - 1]
            .parse::<i32>()
            .ok()
            .and_then(|d| d.checked_mul(24)),
        _ => t.strip_suffix('h').unwrap_or(&t).parse::<i32>().ok(),
    };
    match hours {
        Some(h) if (1..=8760).contains(&h) => Ok(Some(h)),
        _ => Err(bad()),
    }
}

/// "every 24 h (the fleet's)", "none (this store's)"…: a store's schedule
/// in words, from its own interval and the fleet's hours (0: none).
pub fn describe(store_hours: Option<i32>, fleet_hours: u32) -> String {
    match store_hours {
        Some(0) => "none (set for this store)".into(),
        Some(h) => format!("every {h} h (set for this store)"),
        None if fleet_hours == 0 => "none (the fleet's default)".into(),
        None => format!("every {fleet_hours} h (the fleet's default)"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn slots_repeat_every_interval_and_next_follows_last() {
        let id = Uuid::now_v7();
        let every = Duration::hours(24);
        let now = at("2026-12-06T20:00:00Z");
        let last = last_slot(now, id, every);
        assert!(last <= now && now - last < every, "{last}");
        assert_eq!(next_slot(now, id, every), last + every);
        // The slot is the same from any moment of the interval.
        assert_eq!(last_slot(last, id, every), last);
        assert_eq!(
            last_slot(last + every - Duration::seconds(1), id, every),
            last
        );
        assert_eq!(last_slot(last + every, id, every), last + every);
    }

    #[test]
    fn a_thousand_stores_are_spread_over_the_interval() {
        let every = Duration::hours(24);
        let mut per_hour = [0u32; 24];
        for _ in 0..1000 {
            let o = offset(Uuid::now_v7(), every);
            per_hour[(o.num_seconds() / 3600) as usize] += 1;
        }
        // Evenly: ~42 an hour; no hour with more than twice that.
        assert!(per_hour.iter().all(|&n| n < 84), "{per_hour:?}");
        // Ids that differ in one low bit only land far apart.
        let a = Uuid::from_u128(0x0193_0000_0000_7000_8000_0000_0000_0000);
        let b = Uuid::from_u128(a.as_u128() + 1);
        let gap = (offset(a, every) - offset(b, every)).num_seconds().abs();
        assert!(gap > 60, "{gap}");
    }

    #[test]
    fn due_once_per_slot_within_its_window() {
        let id = Uuid::now_v7();
        let every = Duration::hours(6);
        let slot = last_slot(at("2026-12-06T20:00:00Z"), id, every);
        let just_after = slot + Duration::minutes(1);
        // Never backed up, or last backed up before the slot: due.
        assert!(due(just_after, id, every, None));
        assert!(due(just_after, id, every, Some(slot - Duration::hours(6))));
        // Started since the slot (the scheduler's own, or a manual one): not.
        assert!(!due(just_after, id, every, Some(slot)));
        assert!(!due(
            just_after,
            id,
            every,
            Some(slot + Duration::seconds(30))
        ));
        // Past the window (15 min for 6 h): wait for the next slot.
        assert_eq!(window(every), Duration::minutes(15));
        assert!(!due(slot + Duration::minutes(16), id, every, None));
        assert!(due(slot + every, id, every, Some(slot)));
    }

    #[test]
    fn the_window_is_between_five_minutes_and_an_hour() {
        assert_eq!(window(Duration::hours(1)), Duration::minutes(5));
        assert_eq!(window(Duration::hours(24)), Duration::hours(1));
        assert_eq!(window(Duration::hours(24 * 7)), Duration::hours(1));
    }

    #[test]
    fn intervals_are_read_as_people_write_them() {
        assert_eq!(parse_every("6h"), Ok(Some(6)));
        assert_eq!(parse_every(" 24 "), Ok(Some(24)));
        assert_eq!(parse_every("2d"), Ok(Some(48)));
        assert_eq!(parse_every("OFF"), Ok(Some(0)));
        assert_eq!(parse_every("default"), Ok(None));
        for bad in [
            "",
            "h",
            "-1h",
            "9000h",
            "366d",
            "1w",
            "6 hours",
            "99999999999d",
        ] {
            let e = parse_every(bad).unwrap_err();
            assert!(e.contains("6h or 24h"), "{bad}: {e}");
        }
        assert_eq!(describe(None, 24), "every 24 h (the fleet's default)");
        assert_eq!(describe(Some(0), 24), "none (set for this store)");
        assert_eq!(describe(None, 0), "none (the fleet's default)");
    }
}
