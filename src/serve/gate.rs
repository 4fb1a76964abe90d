//! Bounds on what anonymous clients can make the process hold.
//!
//! - [`HashGate`]: argon2id takes 19 MiB per password check. At most
//!   `max_concurrent_hashes` run at once; a request waits for a slot at most
//!   [`HASH_WAIT`] (then 503), and one client address may have at most
//!   [`HASHES_PER_ADDRESS`] checks running or waiting (more get 429 at once),
//!   so one flooding client cannot take every slot from everyone else.
//!   Addresses that have failed recently, or that keep asking (more than
//!   [`BURST`] attempts with less than [`BURST_WINDOW`] between them: a
//!   flood retrying its 503s),
//!   are "suspect" and share all slots but one, so a client with a clean record —
//!   the real user — waits for at most one check, however large the flood. The
//!   checks run on `max_concurrent_hashes` threads of their own: with
//!   tokio's blocking pool, each of many threads kept a freed 19 MiB buffer
//!   in its own malloc arena (measured: 312 MiB peak under 100 bad sign-ins
//!   with only 4 checks at once); with a fixed set of threads at most that
//!   many buffers are ever held.
//! - [`StreamSlots`]: live streams per user and in total.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

pub const HASH_WAIT: Duration = Duration::from_secs(2);
pub const HASHES_PER_ADDRESS: u32 = 2;
pub const BURST: u32 = 2;
pub const BURST_WINDOW: Duration = Duration::from_secs(10);
/// Addresses remembered for [`BURST`]; older ones are dropped beyond this.
const RECENT_MAX: usize = 100_000;

/// Counts per key (an address, a user) with a bound; a [`Slot`] gives its
/// place back when dropped.
#[derive(Debug, Default)]
struct Counts(Mutex<HashMap<String, u32>>);

impl Counts {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, u32>> {
        // The map holds plain counters: a panic elsewhere leaves it usable.
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn try_take(&self, key: &str, max: u32) -> bool {
        let mut m = self.lock();
        let n = m.entry(key.to_string()).or_insert(0);
        if *n >= max {
            return false;
        }
        *n += 1;
        true
    }

    fn give_back(&self, key: &str) {
        let mut m = self.lock();
        if let Some(n) = m.get_mut(key) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                m.remove(key);
            }
        }
    }

    fn get(&self, key: &str) -> u32 {
        self.lock().get(key).copied().unwrap_or(0)
    }
}

/// A place in a [`Counts`], given back on drop.
#[derive(Debug)]
struct Slot {
    counts: Arc<Counts>,
    key: String,
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.counts.give_back(&self.key);
    }
}

type Job = Box<dyn FnOnce() + Send + 'static>;

pub struct HashGate {
    permits: Arc<Semaphore>,
    /// Held by suspect requests on top of a permit: one permit fewer.
    suspects: Arc<Semaphore>,
    by_address: Arc<Counts>,
    /// Recent sign-in attempts per address: (last attempt, attempts in a
    /// row without a pause of BURST_WINDOW).
    recent: Mutex<HashMap<String, (std::time::Instant, u32)>>,
    /// The hashing threads' queue; they end when the gate is dropped.
    jobs: std::sync::mpsc::Sender<Job>,
}

impl std::fmt::Debug for HashGate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HashGate")
            .field("available", &self.permits.available_permits())
            .finish()
    }
}

/// The right to run one password check; hold it until the check is done.
#[derive(Debug)]
pub struct HashPermit {
    _permit: OwnedSemaphorePermit,
    _suspect: Option<OwnedSemaphorePermit>,
    _slot: Slot,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GateRefusal {
    /// This address already has its share of checks under way.
    AddressBusy,
    /// Every slot stayed taken for [`HASH_WAIT`].
    Busy,
}

impl HashGate {
    pub fn new(max_concurrent: u32) -> HashGate {
        let n = max_concurrent.max(1);
        let (jobs, rx) = std::sync::mpsc::channel::<Job>();
        let rx = Arc::new(Mutex::new(rx));
        for i in 0..n {
            let rx = rx.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("password-check-{i}"))
                .spawn(move || {
                    loop {
                        let job = match rx.lock() {
                            Ok(r) => r.recv(),
                            Err(p) => p.into_inner().recv(),
                        };
                        match job {
                            Ok(job) => job(),
                            Err(_) => return, // the gate is gone
                        }
                    }
                });
            if let Err(e) = spawned {
                tracing::warn!(error = %e, "cannot start a password-check thread");
            }
        }
        HashGate {
            permits: Arc::new(Semaphore::new(n as usize)),
            suspects: Arc::new(Semaphore::new((n as usize - 1).max(1))),
            by_address: Arc::default(),
            recent: Mutex::default(),
            jobs,
        }
    }

    /// Runs `f` (a password check) on the gate's threads, holding `permit`
    /// until it is done, even if the caller has gone away meanwhile. None
    /// if the threads are gone.
    pub async fn run<R: Send + 'static>(
        &self,
        permit: HashPermit,
        f: impl FnOnce() -> R + Send + 'static,
    ) -> Option<R> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            let _permit = permit;
            let _ = tx.send(f());
        });
        self.jobs.send(job).ok()?;
        rx.await.ok()
    }

    /// Counts an attempt from `addr`; whether it is one of a burst.
    pub fn bursting(&self, addr: &str) -> bool {
        let now = std::time::Instant::now();
        let mut m = self.recent.lock().unwrap_or_else(|p| p.into_inner());
        if m.len() >= RECENT_MAX {
            m.retain(|_, (last, _)| now.duration_since(*last) < BURST_WINDOW);
        }
        let e = m.entry(addr.to_string()).or_insert((now, 0));
        if now.duration_since(e.0) >= BURST_WINDOW {
            e.1 = 0;
        }
        *e = (now, e.1 + 1);
        e.1 > BURST
    }

    /// A slot for one check from `addr`; `suspect` when the address has
    /// failed sign-ins on record or is bursting.
    pub async fn enter(&self, addr: &str, suspect: bool) -> Result<HashPermit, GateRefusal> {
        if !self.by_address.try_take(addr, HASHES_PER_ADDRESS) {
            return Err(GateRefusal::AddressBusy);
        }
        let slot = Slot {
            counts: self.by_address.clone(),
            key: addr.to_string(),
        };
        let wait = async {
            let lane = if suspect {
                Some(self.suspects.clone().acquire_owned().await.ok()?)
            } else {
                None
            };
            let permit = self.permits.clone().acquire_owned().await.ok()?;
            Some((permit, lane))
        };
        match tokio::time::timeout(HASH_WAIT, wait).await {
            Ok(Some((permit, lane))) => Ok(HashPermit {
                _permit: permit,
                _suspect: lane,
                _slot: slot,
            }),
            // Timed out, or closed (never: the semaphores are not closed).
            _ => Err(GateRefusal::Busy),
        }
    }

    pub fn available(&self) -> usize {
        self.permits.available_permits()
    }
}

/// Live streams open in this process, per user and in total.
#[derive(Debug)]
pub struct StreamSlots {
    by_user: Arc<Counts>,
    per_user: u32,
    total: Arc<Semaphore>,
}

#[derive(Debug)]
pub struct StreamSlot {
    _slot: Slot,
    _total: OwnedSemaphorePermit,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamRefusal {
    PerUser(u32),
    Total(u32),
}

impl StreamSlots {
    pub fn new(per_user: u32, total: u32) -> StreamSlots {
        StreamSlots {
            by_user: Arc::default(),
            per_user: per_user.max(1),
            total: Arc::new(Semaphore::new(total.max(1) as usize)),
        }
    }

    pub fn take(&self, user: &str, total: u32) -> Result<StreamSlot, StreamRefusal> {
        let all = self
            .total
            .clone()
            .try_acquire_owned()
            .map_err(|_| StreamRefusal::Total(total))?;
        if !self.by_user.try_take(user, self.per_user) {
            return Err(StreamRefusal::PerUser(self.per_user));
        }
        Ok(StreamSlot {
            _slot: Slot {
                counts: self.by_user.clone(),
                key: user.to_string(),
            },
            _total: all,
        })
    }

    pub fn open_for(&self, user: &str) -> u32 {
        self.by_user.get(user)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn one_address_cannot_take_every_hash_slot() {
        let gate = HashGate::new(4);
        let a1 = gate.enter("6.6.6.6", false).await.unwrap();
        let _a2 = gate.enter("6.6.6.6", false).await.unwrap();
        assert_eq!(
            gate.enter("6.6.6.6", false).await.unwrap_err(),
            GateRefusal::AddressBusy
        );
        let _b = gate.enter("7.7.7.7", false).await.unwrap();
        assert_eq!(gate.available(), 1);
        drop(a1);
        assert_eq!(gate.available(), 2);
        let _a3 = gate.enter("6.6.6.6", false).await.unwrap();
    }

    #[tokio::test]
    async fn a_full_gate_refuses_after_the_wait() {
        let gate = HashGate::new(1);
        let _held = gate.enter("1.1.1.1", false).await.unwrap();
        assert_eq!(
            gate.enter("2.2.2.2", false).await.unwrap_err(),
            GateRefusal::Busy
        );
        // The refused request gave its address slot back.
        assert_eq!(gate.by_address.get("2.2.2.2"), 0);
    }

    #[test]
    fn a_burst_of_attempts_from_one_address_is_noticed() {
        let gate = HashGate::new(1);
        for _ in 0..BURST {
            assert!(!gate.bursting("6.6.6.6"));
        }
        assert!(gate.bursting("6.6.6.6"));
        assert!(!gate.bursting("7.7.7.7"));
    }

    #[tokio::test]
    async fn suspects_leave_one_slot_for_a_clean_client() {
        let gate = HashGate::new(3);
        let _s1 = gate.enter("6.6.6.1", true).await.unwrap();
        let _s2 = gate.enter("6.6.6.2", true).await.unwrap();
        // A third suspect waits (and times out) although a slot is free ...
        assert_eq!(
            gate.enter("6.6.6.3", true).await.unwrap_err(),
            GateRefusal::Busy
        );
        // ... which a clean client gets at once.
        let _clean = gate.enter("203.0.113.9", false).await.unwrap();
        assert_eq!(gate.available(), 0);
    }

    #[test]
    fn streams_are_capped_per_user_and_in_total() {
        let slots = StreamSlots::new(2, 3);
        let a1 = slots.take("ann", 3).unwrap();
        let _a2 = slots.take("ann", 3).unwrap();
        assert_eq!(slots.take("ann", 3).unwrap_err(), StreamRefusal::PerUser(2));
        let _b1 = slots.take("bob", 3).unwrap();
        assert_eq!(slots.take("cid", 3).unwrap_err(), StreamRefusal::Total(3));
        drop(a1);
        assert_eq!(slots.open_for("ann"), 1);
        let _c1 = slots.take("cid", 3).unwrap();
    }
}
