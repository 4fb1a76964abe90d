//! The accept loop: hyper's server with the bounds `axum::serve` does not
//! offer — a total connection cap (connections beyond it are closed at
//! once), a per-peer cap (one client address cannot take the total: see
//! [`Peers`]), a header-read timeout (a request head must arrive whole within
//! `header_read_timeout`, which on HTTP/1 also ends keep-alive connections
//! that send nothing), and an idle timeout (no bytes either way for
//! `idle_timeout`; the live stream's keep-alives count as traffic). On
//! shutdown: stop accepting, ask every connection to finish, and return
//! when all have.

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_connections: u32,
    /// Connections one client address may hold before any of them has
    /// completed a request (see [`Peers`]).
    pub max_connections_per_peer: u32,
    pub header_read_timeout: Duration,
    pub idle_timeout: Duration,
}

/// Who a connection counts against: an IPv4 address, or an IPv6 /64 (one
/// host usually has a whole /64 to pick addresses from).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PeerKey {
    V4([u8; 4]),
    V6([u8; 8]),
}

impl PeerKey {
    pub fn of(ip: IpAddr) -> PeerKey {
        match ip {
            IpAddr::V4(v4) => PeerKey::V4(v4.octets()),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => PeerKey::V4(v4.octets()),
                None => {
                    let o = v6.octets();
                    let mut net = [0u8; 8];
                    net.copy_from_slice(&o[..8]);
                    PeerKey::V6(net)
                }
            },
        }
    }
}

#[derive(Debug, Default)]
struct PeerEntry {
    open: u32,
    /// When a connection from this peer last completed a request.
    proven_at: Option<Instant>,
}

/// How long a peer that completed a request keeps its headroom after its
/// last connection closed.
const REMEMBER_PROVEN: Duration = Duration::from_secs(600);
/// Peers without open connections remembered at most (a bound on memory;
/// beyond it the oldest are forgotten, which costs them only their headroom).
const MAX_REMEMBERED: usize = 10_000;

/// Why a connection was closed at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PeerRefusal {
    /// The peer has not completed a request and holds `per_peer` already.
    Unproven(u32),
    /// The peer has completed requests and holds half the total already.
    Proven(u32),
}

/// Open connections per client address. A peer that has not completed a
/// request (half-sent request heads, connections that say nothing) may hold
/// at most `per_peer`; one that has, within [`REMEMBER_PROVEN`] (a browser,
/// the ingress controller with its pool of keep-alive connections), has
/// headroom up to half the total cap, so no single address can take every
/// connection. Trusted proxies (`trusted_proxies`) have the headroom from
/// the start: every client behind them shares their address.
#[derive(Debug)]
pub struct Peers {
    per_peer: u32,
    proven_cap: u32,
    trusted: Vec<crate::config::Cidr>,
    table: Mutex<HashMap<PeerKey, PeerEntry>>,
}

impl Peers {
    pub fn new(
        max_connections: u32,
        per_peer: u32,
        trusted: Vec<crate::config::Cidr>,
    ) -> Arc<Peers> {
        let per_peer = per_peer.max(1);
        Arc::new(Peers {
            per_peer,
            proven_cap: (max_connections / 2).max(per_peer),
            trusted,
            table: Mutex::new(HashMap::new()),
        })
    }

    fn table(&self) -> std::sync::MutexGuard<'_, HashMap<PeerKey, PeerEntry>> {
        // The table holds counts only; one poisoned by a panic is still right.
        self.table.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Counts a new connection from `ip`, or refuses it.
    pub fn admit(self: &Arc<Peers>, ip: IpAddr) -> Result<PeerGuard, PeerRefusal> {
        let key = PeerKey::of(ip);
        let now = Instant::now();
        let trusted = self.trusted.iter().any(|c| c.contains(ip));
        let mut t = self.table();
        if t.len() > MAX_REMEMBERED {
            forget_idle(&mut t, now);
        }
        let e = t.entry(key).or_default();
        let proven = trusted
            || e.proven_at
                .is_some_and(|at| now.duration_since(at) < REMEMBER_PROVEN);
        let (cap, refusal) = if proven {
            (self.proven_cap, PeerRefusal::Proven(self.proven_cap))
        } else {
            (self.per_peer, PeerRefusal::Unproven(self.per_peer))
        };
        if e.open >= cap {
            if e.open == 0 && e.proven_at.is_none() {
                t.remove(&key);
            }
            return Err(refusal);
        }
        e.open += 1;
        Ok(PeerGuard {
            peers: self.clone(),
            key,
            proved: AtomicBool::new(false),
        })
    }

    /// Connections open from `ip` now.
    pub fn open(&self, ip: IpAddr) -> u32 {
        self.table().get(&PeerKey::of(ip)).map_or(0, |e| e.open)
    }

    #[cfg(test)]
    fn remembered(&self) -> usize {
        self.table().len()
    }
}

/// Drops the peers without open connections whose headroom has lapsed, and
/// if that is not enough, every peer without open connections.
fn forget_idle(t: &mut HashMap<PeerKey, PeerEntry>, now: Instant) {
    t.retain(|_, e| {
        e.open > 0
            || e.proven_at
                .is_some_and(|at| now.duration_since(at) < REMEMBER_PROVEN)
    });
    if t.len() > MAX_REMEMBERED {
        t.retain(|_, e| e.open > 0);
    }
}

/// One admitted connection; dropping it gives its place back.
#[derive(Debug)]
pub struct PeerGuard {
    peers: Arc<Peers>,
    key: PeerKey,
    proved: AtomicBool,
}

impl PeerGuard {
    /// The connection completed a request. Once per connection (the lock is
    /// not taken per request); a long keep-alive connection proves its peer
    /// again when it closes.
    pub fn completed_request(&self) {
        if !self.proved.swap(true, Ordering::Relaxed)
            && let Some(e) = self.peers.table().get_mut(&self.key)
        {
            e.proven_at = Some(Instant::now());
        }
    }
}

impl Drop for PeerGuard {
    fn drop(&mut self) {
        let proved = self.proved.load(Ordering::Relaxed);
        let mut t = self.peers.table();
        if let Some(e) = t.get_mut(&self.key) {
            e.open = e.open.saturating_sub(1);
            if proved {
                e.proven_at = Some(Instant::now());
            }
            if e.open == 0 && e.proven_at.is_none() {
                t.remove(&self.key);
            }
        }
    }
}

/// Serves `app` on `listener` until `shutdown`, then waits for the open
/// connections to finish (the caller bounds that wait). `trusted`: the
/// reverse proxies' ranges (their connections carry many clients).
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: Limits,
    trusted: Vec<crate::config::Cidr>,
    shutdown: CancellationToken,
) -> io::Result<()> {
    let max = limits.max_connections.max(1);
    let slots = Arc::new(Semaphore::new(max as usize));
    let peers = Peers::new(max, limits.max_connections_per_peer, trusted);
    let mut refused: u64 = 0;
    let mut refused_peer: u64 = 0;
    loop {
        let (stream, peer) = tokio::select! {
            _ = shutdown.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors and the like: back off a little
                    // instead of spinning.
                    tracing::warn!(error = %e, "cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            refused += 1;
            // Log the first and then every 1000th, not each one of a flood.
            if refused % 1000 == 1 {
                tracing::warn!(
                    max_connections = max,
                    refused,
                    "connection cap reached; closing new connections"
                );
            }
            drop(stream);
            continue;
        };
        let guard = match peers.admit(peer.ip()) {
            Ok(g) => Arc::new(g),
            Err(why) => {
                refused_peer += 1;
                if refused_peer % 1000 == 1 {
                    tracing::warn!(
                        peer = %peer.ip(),
                        refusal = ?why,
                        refused = refused_peer,
                        "per-address connection cap reached; closing its new connections"
                    );
                }
                drop(stream);
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        let shutdown = shutdown.clone();
        tokio::spawn(async move {
            connection(stream, peer, app, limits, shutdown, guard).await;
            drop(slot);
        });
    }
    drop(listener);
    // Every connection holds one slot: all are back when all have ended.
    let _all = slots.acquire_many(max).await;
    Ok(())
}

async fn connection(
    stream: TcpStream,
    peer: SocketAddr,
    app: Router,
    limits: Limits,
    shutdown: CancellationToken,
    guard: Arc<PeerGuard>,
) {
    let started = Instant::now();
    let last = Arc::new(AtomicU64::new(0));
    let io = TokioIo::new(Tracked {
        inner: stream,
        started,
        last: last.clone(),
    });
    let service = TowerToHyperService::new(tower::service_fn(
        move |mut req: hyper::Request<Incoming>| {
            req.extensions_mut().insert(ConnectInfo(peer));
            let answer = app.clone().oneshot(req.map(Body::new));
            let guard = guard.clone();
            async move {
                let res = answer.await;
                // A whole request came and was answered: the peer is a client.
                guard.completed_request();
                res
            }
        },
    ));
    // HTTP/1.1 only, as before (browsers and ingress controllers speak it to
    // a plain-http backend).
    let conn = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .serve_connection(io, service)
        .with_upgrades();
    tokio::pin!(conn);
    let idle = limits.idle_timeout;
    let mut tick = tokio::time::interval((idle / 4).max(Duration::from_millis(250)));
    let mut closing = false;
    loop {
        tokio::select! {
            result = conn.as_mut() => {
                if let Err(e) = result {
                    tracing::debug!(peer = %peer, error = %e, "connection ended with an error");
                }
                return;
            }
            _ = shutdown.cancelled(), if !closing => {
                closing = true;
                conn.as_mut().graceful_shutdown();
            }
            _ = tick.tick() => {
                let quiet = started.elapsed().saturating_sub(Duration::from_millis(last.load(Ordering::Relaxed)));
                if quiet >= idle {
                    tracing::debug!(peer = %peer, secs = quiet.as_secs(), "closing an idle connection");
                    return;
                }
            }
        }
    }
}

/// A socket that remembers when bytes last went either way (milliseconds
/// since the connection began).
struct Tracked {
    inner: TcpStream,
    started: Instant,
    last: Arc<AtomicU64>,
}

impl Tracked {
    fn touch(&self) {
        let ms = u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last.store(ms, Ordering::Relaxed);
    }
}

impl AsyncRead for Tracked {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let r = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(r, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.touch();
        }
        r
    }
}

impl AsyncWrite for Tracked {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write(cx, data);
        if matches!(r, Poll::Ready(Ok(n)) if n > 0) {
            self.touch();
        }
        r
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if matches!(r, Poll::Ready(Ok(n)) if n > 0) {
            self.touch();
        }
        r
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn key(s: &str) -> PeerKey {
        PeerKey::of(ip(s))
    }

    #[test]
    fn an_unproven_peer_holds_at_most_its_share_and_a_proven_one_half_the_total() {
        let peers = Peers::new(40, 4, Vec::new());
        let a = ip("10.0.0.1");
        let held: Vec<_> = (0..4).map(|_| peers.admit(a).unwrap()).collect();
        assert_eq!(peers.admit(a).unwrap_err(), PeerRefusal::Unproven(4));
        // Another address is not affected.
        let b = peers.admit(ip("10.0.0.2")).unwrap();
        // A completed request gives headroom, up to half the total.
        held[0].completed_request();
        let more: Vec<_> = (0..16).map(|_| peers.admit(a).unwrap()).collect();
        assert_eq!(peers.open(a), 20);
        assert_eq!(peers.admit(a).unwrap_err(), PeerRefusal::Proven(20));
        drop(more);
        drop(held);
        // Everything given back; the headroom is remembered for a while.
        assert_eq!(peers.open(a), 0);
        let again: Vec<_> = (0..5).map(|_| peers.admit(a).unwrap()).collect();
        drop((again, b));
        // The unproven peer is forgotten at once, the proven one kept.
        assert_eq!(peers.remembered(), 1);
    }

    #[test]
    fn trusted_proxies_have_the_headroom_from_the_start() {
        let trusted = vec![crate::config::Cidr::parse("10.42.0.0/16").unwrap()];
        let peers = Peers::new(40, 4, trusted);
        let proxy = ip("10.42.3.4");
        let held: Vec<_> = (0..20).map(|_| peers.admit(proxy).unwrap()).collect();
        assert_eq!(peers.admit(proxy).unwrap_err(), PeerRefusal::Proven(20));
        drop(held);
        assert_eq!(peers.remembered(), 0);
    }

    #[test]
    fn ipv6_peers_count_by_their_64_and_mapped_v4_as_v4() {
        assert_eq!(key("2001:db8:1:2::1"), key("2001:db8:1:2:ffff::9"));
        assert_ne!(key("2001:db8:1:2::1"), key("2001:db8:1:3::1"));
        assert_eq!(key("::ffff:10.1.2.3"), key("10.1.2.3"));
    }

    #[test]
    fn remembered_peers_are_bounded() {
        let peers = Peers::new(40, 4, Vec::new());
        for i in 0..(MAX_REMEMBERED as u32 + 50) {
            let g = peers
                .admit(IpAddr::V4(std::net::Ipv4Addr::from(i)))
                .unwrap();
            g.completed_request();
        }
        assert!(
            peers.remembered() <= MAX_REMEMBERED + 1,
            "{}",
            peers.remembered()
        );
    }
}
