//! What this replica remembers between requests — sessions, stores by id and
//! list totals — so that a request usually needs one database round trip or
//! none.
//!
//! The database stays the one place these facts live. Each entry is dropped
//! by the notification PostgreSQL sends when its row changes (every store
//! change, by a trigger; every user change that can end a session, by
//! triggers), which the stream hub receives for the whole process. While the
//! hub is not listening nothing is remembered or answered from memory, and
//! when it (re)connects everything is forgotten, so an answer from memory is
//! at most one notification behind the database.
//!
//! A value read from the database is stored only if no notification for its
//! part arrived since the read began (a ticket taken before the read), so a
//! read that raced a change can never put the old value back.

use crate::db::users::Role;
use crate::store::Store;
use axum::body::Bytes;
use chrono::{DateTime, Utc};
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use uuid::Uuid;

/// Entries per part, and bytes of list pages; a full part starts over
/// (cheaper than an LRU, and the working set of a busy replica is far
/// smaller).
const CAPACITY: usize = 20_000;
const PAGE_BYTES: usize = 16 << 20;

/// A live session: whose it is and until when.
#[derive(Debug, Clone, PartialEq)]
pub struct Session {
    pub email: String,
    pub role: Role,
    pub expires_at: DateTime<Utc>,
}

/// What the users table says about a proxy or demo principal (who has no
/// session): their role, or that the account is disabled. Someone with no
/// account is a user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Identity {
    Role(Role),
    Disabled,
}

/// The filters a list total was counted for.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TotalKey {
    pub owner: Option<String>,
    pub status: Option<&'static str>,
    pub q: Option<String>,
}

/// Taken before a database read; the read's result is kept only if the
/// part saw no change since.
#[derive(Debug, Clone, Copy)]
pub struct Ticket(u64);

struct Entries<K, V> {
    map: HashMap<K, (V, usize)>,
    weight: usize,
}

struct Part<K, V> {
    changes: AtomicU64,
    entries: Mutex<Entries<K, V>>,
    /// Most the entries may weigh together (each weighs 1 unless put with
    /// more).
    budget: usize,
    hits: AtomicU64,
    misses: AtomicU64,
}

impl<K: Eq + Hash, V: Clone> Part<K, V> {
    fn new(budget: usize) -> Self {
        Part {
            changes: AtomicU64::new(0),
            entries: Mutex::new(Entries {
                map: HashMap::new(),
                weight: 0,
            }),
            budget,
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Entries<K, V>> {
        // A panic while holding the lock leaves a map that is still whole.
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn ticket(&self) -> Ticket {
        Ticket(self.changes.load(Ordering::Acquire))
    }

    fn get<Q>(&self, k: &Q) -> Option<V>
    where
        K: std::borrow::Borrow<Q>,
        Q: Eq + Hash + ?Sized,
    {
        let v = self.lock().map.get(k).map(|(v, _)| v.clone());
        let counter = if v.is_some() {
            &self.hits
        } else {
            &self.misses
        };
        counter.fetch_add(1, Ordering::Relaxed);
        v
    }

    fn put(&self, t: Ticket, k: K, v: V, weight: usize) {
        if weight > self.budget {
            return;
        }
        let mut e = self.lock();
        // Compared under the lock that `forget` bumps under: no change slips
        // between the comparison and the insert.
        if self.changes.load(Ordering::Acquire) != t.0 {
            return;
        }
        if e.weight + weight > self.budget {
            e.map.clear();
            e.weight = 0;
        }
        e.weight += weight;
        if let Some((_, old)) = e.map.insert(k, (v, weight)) {
            e.weight -= old;
        }
    }

    fn forget(&self, mut keep: impl FnMut(&K, &V) -> bool) {
        let mut e = self.lock();
        self.changes.fetch_add(1, Ordering::AcqRel);
        let mut gone = 0;
        e.map.retain(|k, (v, w)| {
            let kept = keep(k, v);
            if !kept {
                gone += *w;
            }
            kept
        });
        e.weight -= gone;
    }

    fn remove(&self, k: &K) {
        let mut e = self.lock();
        self.changes.fetch_add(1, Ordering::AcqRel);
        if let Some((_, w)) = e.map.remove(k) {
            e.weight -= w;
        }
    }

    fn stats(&self, part: &'static str) -> PartStats {
        PartStats {
            part,
            entries: self.lock().map.len(),
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
        }
    }
}

/// One part's figures, for /metrics.
#[derive(Debug, Clone, PartialEq)]
pub struct PartStats {
    pub part: &'static str,
    pub entries: usize,
    pub hits: u64,
    pub misses: u64,
}

pub struct Cache {
    /// Off (`api_cache = false`): every answer is read from the database.
    enabled: bool,
    /// The hub is listening: notifications will arrive, entries may be used.
    listening: AtomicBool,
    /// By SHA-256 of the token, so the map holds no usable token.
    sessions: Part<[u8; 32], Session>,
    /// Proxy and demo principals, by the identity as sent.
    identities: Part<String, Identity>,
    stores: Part<Uuid, Arc<Store>>,
    totals: Part<TotalKey, i64>,
    /// Whole list pages as sent (JSON), by the caller, filters, cursor and
    /// limit.
    pages: Part<String, Bytes>,
}

impl Cache {
    pub fn new(enabled: bool) -> Cache {
        Cache {
            enabled,
            listening: AtomicBool::new(false),
            sessions: Part::new(CAPACITY),
            identities: Part::new(CAPACITY),
            stores: Part::new(CAPACITY),
            totals: Part::new(CAPACITY),
            pages: Part::new(PAGE_BYTES),
        }
    }

    /// Whether answers may come from memory now (enabled, and the hub is
    /// listening).
    pub fn is_live(&self) -> bool {
        self.enabled && self.listening.load(Ordering::Acquire)
    }

    /// The hub listens now: start from nothing (whatever changed while it
    /// was not listening is unknown).
    pub fn listening(&self) {
        self.forget_all();
        self.listening.store(true, Ordering::Release);
    }

    /// The hub lost its connection: nothing may be answered from memory
    /// until it listens again.
    pub fn deaf(&self) {
        self.listening.store(false, Ordering::Release);
        self.forget_all();
    }

    fn forget_all(&self) {
        self.sessions.forget(|_, _| false);
        self.identities.forget(|_, _| false);
        self.stores_written();
    }

    /// A store row changed (or was added): its entry, every total and every
    /// page go.
    pub fn store_changed(&self, id: Uuid) {
        self.stores.remove(&id);
        self.totals.forget(|_, _| false);
        self.pages.forget(|_, _| false);
    }

    /// This replica may have changed stores: every store, total and page
    /// goes.
    pub fn stores_written(&self) {
        self.stores.forget(|_, _| false);
        self.totals.forget(|_, _| false);
        self.pages.forget(|_, _| false);
    }

    /// A user was added, changed or lost sessions: that user's sessions and
    /// identity go (emails are stored in lower case; an identity is kept as
    /// sent).
    pub fn user_changed(&self, email: &str) {
        self.sessions.forget(|_, s| s.email != email);
        self.identities
            .forget(|k, _| !k.eq_ignore_ascii_case(email));
    }

    pub fn identity_ticket(&self) -> Ticket {
        self.identities.ticket()
    }

    /// What the users table said about a proxy or demo principal.
    pub fn identity(&self, user: &str) -> Option<Identity> {
        if !self.is_live() {
            return None;
        }
        self.identities.get(user)
    }

    pub fn remember_identity(&self, t: Ticket, user: &str, i: Identity) {
        if self.is_live() {
            self.identities.put(t, user.to_string(), i, 1);
        }
    }

    pub fn session_ticket(&self) -> Ticket {
        self.sessions.ticket()
    }

    /// The live session for `token`, when remembered and not expired.
    pub fn session(&self, token: &str) -> Option<Session> {
        if !self.is_live() {
            return None;
        }
        self.sessions
            .get(&digest(token))
            .filter(|s| s.expires_at > Utc::now())
    }

    pub fn remember_session(&self, t: Ticket, token: &str, s: Session) {
        if self.is_live() {
            self.sessions.put(t, digest(token), s, 1);
        }
    }

    /// Signed out here: gone at once, before the notification comes back.
    pub fn forget_session(&self, token: &str) {
        self.sessions.remove(&digest(token));
    }

    pub fn store_ticket(&self) -> Ticket {
        self.stores.ticket()
    }

    pub fn store(&self, id: Uuid) -> Option<Arc<Store>> {
        if !self.is_live() {
            return None;
        }
        self.stores.get(&id)
    }

    pub fn remember_store(&self, t: Ticket, s: Arc<Store>) {
        if self.is_live() {
            self.stores.put(t, s.id, s, 1);
        }
    }

    pub fn total_ticket(&self) -> Ticket {
        self.totals.ticket()
    }

    pub fn total(&self, k: &TotalKey) -> Option<i64> {
        if !self.is_live() {
            return None;
        }
        self.totals.get(k)
    }

    pub fn remember_total(&self, t: Ticket, k: TotalKey, n: i64) {
        if self.is_live() {
            self.totals.put(t, k, n, 1);
        }
    }

    pub fn page_ticket(&self) -> Ticket {
        self.pages.ticket()
    }

    pub fn page(&self, k: &str) -> Option<Bytes> {
        if !self.is_live() {
            return None;
        }
        self.pages.get(k)
    }

    pub fn remember_page(&self, t: Ticket, k: String, body: Bytes) {
        if self.is_live() {
            let weight = body.len() + k.len();
            self.pages.put(t, k, body, weight);
        }
    }

    /// Each part's entries, hits and misses, for /metrics.
    pub fn stats(&self) -> [PartStats; 5] {
        [
            self.sessions.stats("sessions"),
            self.identities.stats("identities"),
            self.stores.stats("stores"),
            self.totals.stats("totals"),
            self.pages.stats("pages"),
        ]
    }
}

fn digest(token: &str) -> [u8; 32] {
    let d = ring::digest::digest(&ring::digest::SHA256, token.as_bytes());
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    fn session(email: &str, secs: i64) -> Session {
        Session {
            email: email.into(),
            role: Role::User,
            expires_at: Utc::now() + Duration::seconds(secs),
        }
    }

    fn store(id: Uuid) -> Store {
        Store {
            id,
            ..Store::sample()
        }
    }

    #[test]
    fn nothing_is_remembered_or_answered_while_the_hub_is_not_listening() {
        let c = Cache::new(true);
        c.remember_session(c.session_ticket(), "tok", session("a@x", 60));
        assert_eq!(c.session("tok"), None);
        c.listening();
        c.remember_session(c.session_ticket(), "tok", session("a@x", 60));
        assert!(c.session("tok").is_some());
        c.deaf();
        assert_eq!(c.session("tok"), None);
        c.listening();
        assert_eq!(c.session("tok"), None, "a reconnect starts from nothing");
    }

    #[test]
    fn a_read_that_raced_a_change_is_not_kept() {
        let c = Cache::new(true);
        c.listening();
        let t = c.session_ticket();
        c.user_changed("someone-else@x");
        c.remember_session(t, "tok", session("a@x", 60));
        assert_eq!(c.session("tok"), None);

        let t = c.total_ticket();
        c.store_changed(Uuid::nil());
        let k = TotalKey {
            owner: None,
            status: None,
            q: None,
        };
        c.remember_total(t, k.clone(), 7);
        assert_eq!(c.total(&k), None);
        c.remember_total(c.total_ticket(), k.clone(), 7);
        assert_eq!(c.total(&k), Some(7));
    }

    #[test]
    fn a_user_change_forgets_that_identity_in_any_case_and_no_other() {
        let c = Cache::new(true);
        c.listening();
        let admin = Identity::Role(Role::Admin);
        c.remember_identity(c.identity_ticket(), "Ann@X", admin);
        c.remember_identity(c.identity_ticket(), "bob@x", Identity::Disabled);
        assert_eq!(c.identity("Ann@X"), Some(admin));
        c.user_changed("ann@x");
        assert_eq!(c.identity("Ann@X"), None);
        assert_eq!(c.identity("bob@x"), Some(Identity::Disabled));
        // A read that raced a change is not kept.
        let t = c.identity_ticket();
        c.user_changed("carl@x");
        c.remember_identity(t, "ann@x", admin);
        assert_eq!(c.identity("ann@x"), None);
    }

    #[test]
    fn a_user_change_forgets_only_that_users_sessions_and_expiry_is_checked() {
        let c = Cache::new(true);
        c.listening();
        c.remember_session(c.session_ticket(), "t1", session("a@x", 60));
        c.remember_session(c.session_ticket(), "t2", session("b@x", 60));
        c.remember_session(c.session_ticket(), "t3", session("c@x", -1));
        c.user_changed("a@x");
        assert_eq!(c.session("t1"), None);
        assert!(c.session("t2").is_some());
        assert_eq!(c.session("t3"), None, "expired");
        c.forget_session("t2");
        assert_eq!(c.session("t2"), None);
    }

    #[test]
    fn a_store_change_forgets_that_store_and_every_total() {
        let c = Cache::new(true);
        c.listening();
        let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
        let k = TotalKey {
            owner: Some("a@x".into()),
            status: None,
            q: None,
        };
        c.remember_total(c.total_ticket(), k.clone(), 3);
        for id in [a, b] {
            c.remember_store(c.store_ticket(), Arc::new(store(id)));
        }
        c.remember_page(c.page_ticket(), "p".into(), Bytes::from_static(b"[]"));
        c.store_changed(a);
        assert!(c.store(a).is_none());
        assert!(c.store(b).is_some());
        assert_eq!(c.total(&k), None);
        assert_eq!(c.page("p"), None);
    }

    #[test]
    fn pages_are_held_within_their_byte_budget_and_nothing_when_off() {
        let c = Cache::new(true);
        c.listening();
        let big = Bytes::from(vec![b'x'; PAGE_BYTES / 3]);
        for i in 0..10 {
            c.remember_page(c.page_ticket(), format!("p{i}"), big.clone());
            let held = c.pages.lock().weight;
            assert!(held <= PAGE_BYTES, "{held} bytes held");
        }
        c.remember_page(
            c.page_ticket(),
            "huge".into(),
            Bytes::from(vec![0; PAGE_BYTES + 1]),
        );
        assert_eq!(c.page("huge"), None);

        let off = Cache::new(false);
        off.listening();
        off.remember_page(off.page_ticket(), "p".into(), Bytes::from_static(b"[]"));
        assert_eq!(off.page("p"), None);
    }
}
