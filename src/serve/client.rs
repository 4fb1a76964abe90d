//! Who is on the other end of a request: the client's address and whether it
//! came over TLS, believing `X-Forwarded-For` / `X-Forwarded-Proto` only when
//! the TCP peer is one of the trusted proxies (`trusted_proxies`).
//!
//! Pure functions; every limit (sign-in throttling, the create rate) keys on
//! [`client_ip`], in every auth mode.

use crate::config::Cidr;
use axum::http::HeaderMap;
use std::net::{IpAddr, SocketAddr};

pub fn is_trusted(trusted: &[Cidr], ip: IpAddr) -> bool {
    trusted.iter().any(|c| c.contains(ip))
}

/// The client's address. From an untrusted peer: the peer. From a trusted
/// proxy: the right-most address of `X-Forwarded-For` that is not itself a
/// trusted proxy (everything left of it was written by the client and can be
/// anything); the left-most when every hop is trusted; the peer when the
/// header is missing or unreadable.
pub fn client_ip(
    trusted: &[Cidr],
    headers: &HeaderMap,
    peer: Option<SocketAddr>,
) -> Option<IpAddr> {
    let peer = peer.map(|p| canonical(p.ip()))?;
    if !is_trusted(trusted, peer) {
        return Some(peer);
    }
    let mut hops: Vec<IpAddr> = Vec::new();
    for v in headers.get_all("x-forwarded-for") {
        let Ok(v) = v.to_str() else {
            return Some(peer);
        };
        for part in v.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            match parse_hop(part) {
                Some(ip) => hops.push(ip),
                // A malformed entry: nothing left of it can be placed; the
                // entries right of it were still written by trusted hops.
                None => hops.clear(),
            }
        }
    }
    if hops.is_empty() {
        return Some(peer);
    }
    let first = hops[0];
    Some(
        hops.into_iter()
            .rev()
            .find(|ip| !is_trusted(trusted, *ip))
            .unwrap_or(first),
    )
}

/// The address as text, for rate-limit buckets and logs ("unknown" without one).
pub fn client_addr(trusted: &[Cidr], headers: &HeaderMap, peer: Option<SocketAddr>) -> String {
    client_ip(trusted, headers, peer)
        .map(|ip| ip.to_string())
        .unwrap_or_else(|| "unknown".into())
}

/// Whether the browser's request came over https: this server speaks plain
/// HTTP, so only a trusted proxy's `X-Forwarded-Proto: https` says so.
pub fn is_https(trusted: &[Cidr], headers: &HeaderMap, peer: Option<SocketAddr>) -> bool {
    let Some(peer) = peer else { return false };
    if !is_trusted(trusted, canonical(peer.ip())) {
        return false;
    }
    // The left-most value is the one the first proxy saw from the browser.
    headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(',').next())
        .is_some_and(|p| p.trim().eq_ignore_ascii_case("https"))
}

fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        v4 => v4,
    }
}

/// One `X-Forwarded-For` entry: an address, possibly with a port
/// (`1.2.3.4:5678`, `[::1]:80`).
fn parse_hop(s: &str) -> Option<IpAddr> {
    if let Ok(ip) = s.parse::<IpAddr>() {
        return Some(canonical(ip));
    }
    if let Ok(sa) = s.parse::<SocketAddr>() {
        return Some(canonical(sa.ip()));
    }
    s.strip_prefix('[')
        .and_then(|r| r.strip_suffix(']'))
        .and_then(|r| r.parse().ok())
        .map(canonical)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::parse_cidrs;
    use axum::http::HeaderValue;

    fn h(xff: &[&str], proto: Option<&str>) -> HeaderMap {
        let mut m = HeaderMap::new();
        for v in xff {
            m.append("x-forwarded-for", HeaderValue::from_str(v).unwrap());
        }
        if let Some(p) = proto {
            m.insert("x-forwarded-proto", HeaderValue::from_str(p).unwrap());
        }
        m
    }

    fn peer(s: &str) -> Option<SocketAddr> {
        Some(SocketAddr::new(s.parse().unwrap(), 40000))
    }

    #[test]
    fn forwarded_for_counts_only_from_a_trusted_peer() {
        let t = parse_cidrs("10.42.0.0/16").unwrap();
        let xff = h(&["6.6.6.6"], None);
        assert_eq!(client_addr(&t, &xff, peer("203.0.113.9")), "203.0.113.9");
        assert_eq!(client_addr(&t, &xff, peer("10.42.0.5")), "6.6.6.6");
        assert_eq!(client_addr(&[], &xff, peer("10.42.0.5")), "10.42.0.5");
        assert_eq!(
            client_addr(&t, &h(&[], None), peer("10.42.0.5")),
            "10.42.0.5"
        );
        assert_eq!(client_addr(&t, &h(&[], None), None), "unknown");
    }

    #[test]
    fn the_right_most_untrusted_hop_is_the_client() {
        let t = parse_cidrs("10.42.0.0/16, 192.168.1.1").unwrap();
        // The client forged "1.1.1.1"; the ingress appended the real address.
        let xff = h(&["1.1.1.1, 198.51.100.7"], None);
        assert_eq!(client_addr(&t, &xff, peer("10.42.0.5")), "198.51.100.7");
        // Two trusted hops: the second proxy is skipped.
        let xff = h(&["1.1.1.1, 198.51.100.7", "192.168.1.1"], None);
        assert_eq!(client_addr(&t, &xff, peer("10.42.0.5")), "198.51.100.7");
        // Every hop trusted: the left-most.
        let xff = h(&["10.42.9.9, 192.168.1.1"], None);
        assert_eq!(client_addr(&t, &xff, peer("10.42.0.5")), "10.42.9.9");
        // Garbage on the left does not hide the real client.
        let xff = h(&["not-an-ip, 198.51.100.7:5555"], None);
        assert_eq!(client_addr(&t, &xff, peer("10.42.0.5")), "198.51.100.7");
        let xff = h(&["[2001:db8::1]:443"], None);
        assert_eq!(client_addr(&t, &xff, peer("10.42.0.5")), "2001:db8::1");
    }

    #[test]
    fn https_only_when_a_trusted_proxy_says_so() {
        let t = parse_cidrs("127.0.0.1").unwrap();
        assert!(is_https(&t, &h(&[], Some("https")), peer("127.0.0.1")));
        assert!(is_https(
            &t,
            &h(&[], Some("HTTPS, http")),
            peer("127.0.0.1")
        ));
        assert!(!is_https(&t, &h(&[], Some("http")), peer("127.0.0.1")));
        assert!(!is_https(&t, &h(&[], Some("https")), peer("127.0.0.2")));
        assert!(!is_https(&[], &h(&[], Some("https")), peer("127.0.0.1")));
        assert!(!is_https(&t, &h(&[], None), peer("127.0.0.1")));
    }
}
