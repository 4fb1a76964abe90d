//! Sign-in throttling that cannot be turned against users (the policy is
//! described in docs/api.md, "Sign-in throttling").
//!
//! Only failures count, in three buckets over a sliding window:
//! - the client address (every account): an address that guesses a lot is
//!   slowed down, whoever it guesses at;
//! - the account and the address together: one client guessing one account;
//! - the account (every address): tells that an account is under attack.
//!
//! Past a bucket's free failures, the next attempt must wait a delay that
//! doubles with each further failure (10 s, 20 s, 40 s ... at most 5 minutes)
//! after the last failure. Attempts refused while waiting are not verified
//! and not counted, so waiting always ends. An account under attack gives the
//! addresses that have already failed on it just one free failure, but an
//! address that has not failed on it (a user on a fresh address) is never
//! held back by the account bucket: attacking an account cannot lock its
//! owner out.
//!
//! Pure: the counts come from the database (`db::sessions::throttle_begin`).

use std::time::Duration;

/// How far back failures count.
pub const WINDOW: Duration = Duration::from_secs(15 * 60);
/// Failures from one address (any accounts) before delays start.
pub const ADDRESS_FREE: u32 = 20;
/// Failures of one address on one account before delays start.
pub const PAIR_FREE: u32 = 5;
/// Failures on one account (any addresses) that mark it as under attack.
pub const ACCOUNT_UNDER_ATTACK: u32 = 20;
pub const FIRST_DELAY: Duration = Duration::from_secs(10);
pub const MAX_DELAY: Duration = Duration::from_secs(300);

/// Failures in one bucket within the window, and how long ago the last was.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Failures {
    pub count: u32,
    pub since_last: Option<Duration>,
}

/// The wait after `excess` failures beyond the free ones: 10 s, 20 s, 40 s, ...
pub fn delay(excess: u32) -> Duration {
    if excess == 0 {
        return Duration::ZERO;
    }
    let factor = 1u32.checked_shl(excess - 1).unwrap_or(u32::MAX);
    FIRST_DELAY.saturating_mul(factor).min(MAX_DELAY)
}

fn wait_for(f: Failures, free: u32) -> Option<Duration> {
    if f.count < free {
        return None;
    }
    let needed = delay(f.count - free + 1);
    let since = f.since_last.unwrap_or(Duration::ZERO);
    needed.checked_sub(since).filter(|d| !d.is_zero())
}

/// Which bucket holds an attempt back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Held {
    Address,
    AccountFromAddress,
}

/// None: verify the password. Some: refuse without verifying; retry after.
pub fn decide(addr: Failures, pair: Failures, account: Failures) -> Option<(Held, Duration)> {
    let pair_free = if account.count >= ACCOUNT_UNDER_ATTACK && pair.count > 0 {
        1
    } else {
        PAIR_FREE
    };
    let by_addr = wait_for(addr, ADDRESS_FREE).map(|d| (Held::Address, d));
    let by_pair = wait_for(pair, pair_free).map(|d| (Held::AccountFromAddress, d));
    match (by_addr, by_pair) {
        (Some(a), Some(p)) => Some(if a.1 >= p.1 { a } else { p }),
        (a, p) => a.or(p),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(count: u32, ago_secs: u64) -> Failures {
        Failures {
            count,
            since_last: Some(Duration::from_secs(ago_secs)),
        }
    }
    const NONE: Failures = Failures {
        count: 0,
        since_last: None,
    };

    #[test]
    fn delays_double_and_are_capped() {
        assert_eq!(delay(0), Duration::ZERO);
        assert_eq!(delay(1), Duration::from_secs(10));
        assert_eq!(delay(4), Duration::from_secs(80));
        assert_eq!(delay(40), MAX_DELAY);
        assert_eq!(delay(u32::MAX), MAX_DELAY);
    }

    #[test]
    fn free_failures_then_growing_waits_that_end() {
        assert_eq!(decide(NONE, f(PAIR_FREE - 1, 0), NONE), None);
        assert_eq!(
            decide(NONE, f(PAIR_FREE, 0), NONE),
            Some((Held::AccountFromAddress, Duration::from_secs(10)))
        );
        let (_, d) = decide(NONE, f(PAIR_FREE + 2, 2), NONE).unwrap();
        assert_eq!(d, Duration::from_secs(38), "40 s after the last failure");
        // Waited long enough: one more try.
        assert_eq!(decide(NONE, f(PAIR_FREE + 2, 40), NONE), None);
        // Even the largest count is let through after MAX_DELAY.
        assert_eq!(decide(NONE, f(10_000, 300), NONE), None);
    }

    #[test]
    fn an_abusive_address_is_held_back_on_every_account() {
        let (held, _) = decide(f(ADDRESS_FREE, 0), NONE, NONE).unwrap();
        assert_eq!(held, Held::Address);
    }

    #[test]
    fn an_account_under_attack_still_admits_a_fresh_address() {
        let attacked = f(10_000, 0);
        // The owner from an address that has not failed on the account.
        assert_eq!(decide(NONE, NONE, attacked), None);
        assert_eq!(decide(f(3, 0), NONE, attacked), None);
        // An address that has failed on it already waits at once.
        assert!(decide(NONE, f(1, 0), attacked).is_some());
        // ... but not for ever.
        assert_eq!(decide(NONE, f(1, 10), attacked), None);
    }
}
