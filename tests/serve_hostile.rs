//! The HTTP face under hostile load (issue 13), against a real server and
//! the real sandbox PostgreSQL: bounded memory under a sign-in flood,
//! throttling that keys on the real client behind a trusted proxy and cannot
//! lock a user out, connection bounds, proxy mode only from trusted peers,
//! streams that end when their session does, and the smaller hardening
//! (cookie, demo in production, /readyz, CSP, names).

mod common;
mod serve_common;

use reqwest::Method;
use serde_json::json;
use serve_common::*;
use std::time::Duration;
use store_weaver::db::users::Role;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn from(api: &Api, client_ip: &str) -> Api {
    api.clone().with_header("x-forwarded-for", client_ip)
}

async fn sign_in_as(api: &Api, email: &str, password: &str) -> Resp {
    api.post(
        "/api/session",
        json!({ "email": email, "password": password }),
    )
    .await
}

#[tokio::test]
async fn behind_a_trusted_proxy_one_abusive_client_is_throttled_and_nobody_else() {
    let srv = TestServer::start(&[("trusted_proxies", "127.0.0.1/32")]).await;
    srv.add_user("ann@example.com", Role::User).await;
    srv.add_user("bob@example.com", Role::User).await;
    let proxy = srv.client();
    let abuser = from(&proxy, "198.51.100.66");

    // Five free failures on one account, then a wait, with Retry-After.
    for _ in 0..5 {
        sign_in_as(&abuser, "ann@example.com", "wrong password")
            .await
            .expect(401);
    }
    let r = sign_in_as(&abuser, "ann@example.com", "wrong password")
        .await
        .expect(429);
    assert_eq!(r.body["limit"], "sign_in_failures_account");
    assert!(r.header("retry-after").is_some());
    // Even the right password waits, from that address.
    sign_in_as(&abuser, "ann@example.com", PASSWORD)
        .await
        .expect(429);
    // Ann from her own address, and Bob from the abuser's, are not held back.
    sign_in_as(&from(&proxy, "203.0.113.7"), "ann@example.com", PASSWORD)
        .await
        .expect(201);
    sign_in_as(&abuser, "bob@example.com", PASSWORD)
        .await
        .expect(201);

    // The address guessing at many accounts is held back on all of them...
    let mut statuses = Vec::new();
    for i in 0..20 {
        let r = sign_in_as(&abuser, &format!("guess{i}@example.com"), "wrong password").await;
        statuses.push(r.status.as_u16());
    }
    assert!(statuses.contains(&429), "{statuses:?}");
    let r = sign_in_as(&abuser, "bob@example.com", PASSWORD)
        .await
        .expect(429);
    assert_eq!(r.body["limit"], "sign_in_failures_address");
    // ... and no one else is.
    sign_in_as(&from(&proxy, "203.0.113.8"), "bob@example.com", PASSWORD)
        .await
        .expect(201);

    // A forged X-Forwarded-For is only the left part: the proxy's own entry
    // (the right-most) is the client.
    sign_in_as(
        &from(&proxy, "203.0.113.7, 198.51.100.66"),
        "bob@example.com",
        PASSWORD,
    )
    .await
    .expect(429);
    srv.stop().await;
}

#[tokio::test]
async fn an_account_under_attack_from_many_addresses_still_admits_its_owner() {
    let srv = TestServer::start(&[("trusted_proxies", "127.0.0.1/32")]).await;
    srv.add_user("ann@example.com", Role::User).await;
    let proxy = srv.client();
    // A botnet: 24 addresses, one wrong guess each, 4 at a time.
    for batch in 0..6 {
        let mut tasks = Vec::new();
        for i in 0..4 {
            let api = from(&proxy, &format!("198.51.100.{}", batch * 4 + i + 1));
            tasks.push(tokio::spawn(async move {
                sign_in_as(&api, "ann@example.com", "wrong password")
                    .await
                    .status
                    .as_u16()
            }));
        }
        for t in tasks {
            assert_eq!(t.await.unwrap(), 401);
        }
    }
    // The account is under attack: an address that already failed on it
    // waits at once ...
    let r = sign_in_as(
        &from(&proxy, "198.51.100.24"),
        "ann@example.com",
        "wrong password",
    )
    .await
    .expect(429);
    assert_eq!(r.body["limit"], "sign_in_failures_account");
    // ... but Ann, from an address that has not failed, signs in.
    sign_in_as(&from(&proxy, "203.0.113.50"), "ann@example.com", PASSWORD)
        .await
        .expect(201);
    srv.stop().await;
}

fn peak_rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("read /proc status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM in /proc/<pid>/status")
}

/// The real binary, so that its memory is measured alone.
#[tokio::test]
async fn a_hundred_concurrent_bad_sign_ins_stay_within_memory_and_others_still_sign_in() {
    let db = common::TestDb::new().await;
    add_user(&db.pool, "ann@example.com", Role::User).await;
    let server = Process::spawn(
        &db.url,
        &["--workers", "0", "--trusted-proxies", "127.0.0.1/32"],
    );
    let pid = server.child.id();
    let proxy = Api::new(&server.base);
    common::eventually(Duration::from_secs(30), "the server answers", || {
        let p = proxy.clone();
        async move { (p.get("/healthz").await.status == 200).then_some(()) }
    })
    .await;
    let before = peak_rss_kib(pid);

    // 100 clients with 100 addresses, all wrong at once.
    let flood: Vec<_> = (0..100)
        .map(|i| {
            let api = from(&proxy, &format!("198.51.{}.{}", 100 + i / 200, i % 200 + 1));
            tokio::spawn(async move {
                sign_in_as(&api, "ann@example.com", "wrong password")
                    .await
                    .status
                    .as_u16()
            })
        })
        .collect();
    // Meanwhile Ann signs in from her own address: she may be asked to come
    // back (503/429 with Retry-After) while the flood lasts, never refused.
    let ann = from(&proxy, "203.0.113.9");
    common::eventually(Duration::from_secs(60), "Ann signs in", || {
        let ann = ann.clone();
        async move {
            let r = sign_in_as(&ann, "ann@example.com", PASSWORD).await;
            match r.status.as_u16() {
                201 => Some(()),
                429 | 503 => {
                    assert!(r.header("retry-after").is_some(), "{}", r.text);
                    None
                }
                other => panic!("Ann got {other}: {}", r.text),
            }
        }
    })
    .await;
    let mut statuses = std::collections::BTreeMap::<u16, usize>::new();
    for t in flood {
        *statuses.entry(t.await.unwrap()).or_default() += 1;
    }
    assert!(
        statuses.keys().all(|s| [401, 503].contains(s)),
        "wrong passwords get 401, or 503 while the checks are full: {statuses:?}"
    );
    let peak = peak_rss_kib(pid);
    eprintln!(
        "peak RSS: {} MiB at start, {} MiB after the flood; {statuses:?}",
        before / 1024,
        peak / 1024
    );
    assert!(
        peak < 200 * 1024,
        "peak RSS {} MiB is over the 200 MiB ceiling",
        peak / 1024
    );
    drop(server);
    db.drop_db().await;
}

/// Reads until the server closes the connection; false if it is still open
/// after `within`.
async fn closed_within(stream: &mut TcpStream, within: Duration) -> bool {
    let mut buf = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + within;
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buf)).await {
            Err(_) => return false,
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_)) => continue,
        }
    }
}

#[tokio::test]
async fn connections_beyond_the_cap_and_slow_request_heads_are_closed() {
    let srv =
        TestServer::start(&[("max_connections", "8"), ("header_read_timeout_secs", "3")]).await;
    let addr = srv.base.trim_start_matches("http://").to_string();
    let mut open = Vec::new();
    for _ in 0..8 {
        open.push(TcpStream::connect(&addr).await.unwrap());
    }
    // The ninth is closed at once.
    let mut ninth = TcpStream::connect(&addr).await.unwrap();
    assert!(
        closed_within(&mut ninth, Duration::from_secs(2)).await,
        "a connection beyond the cap stayed open"
    );
    // A request head that never completes is cut off after the timeout.
    let slow = &mut open[0];
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let started = std::time::Instant::now();
    assert!(
        closed_within(slow, Duration::from_secs(15)).await,
        "a partial request head was still open after 15 s"
    );
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "closed too early"
    );
    // Idle connections that never sent a request are closed the same way,
    // and their places free up.
    for s in open.iter_mut().skip(1) {
        assert!(closed_within(s, Duration::from_secs(15)).await);
    }
    srv.client().get("/healthz").await.expect(200);
    srv.stop().await;
}

/// A connection from `from` (any 127.0.0.0/8 address is this machine) to
/// `addr`.
async fn connect_from(from: &str, addr: &str) -> TcpStream {
    let sock = tokio::net::TcpSocket::new_v4().unwrap();
    sock.bind(format!("{from}:0").parse().unwrap()).unwrap();
    sock.connect(addr.parse().unwrap()).await.unwrap()
}

/// How many of `streams` the server closes within `within` (all watched at
/// once).
async fn count_closed(streams: &mut [TcpStream], within: Duration) -> usize {
    let checks = streams.iter_mut().map(|s| closed_within(s, within));
    futures::future::join_all(checks)
        .await
        .into_iter()
        .filter(|c| *c)
        .collect::<Vec<_>>()
        .len()
}

/// Issue 27 (2): one address with half-sent request heads used to take the
/// whole connection cap, and every other client was reset. Now it holds
/// `max_connections_per_peer`; an address that completed a request has
/// headroom up to half the cap.
#[tokio::test]
async fn one_address_cannot_fill_the_connection_cap() {
    let srv = TestServer::start(&[
        ("max_connections", "40"),
        ("max_connections_per_peer", "8"),
        ("header_read_timeout_secs", "60"),
    ])
    .await;
    let addr = srv.base.trim_start_matches("http://").to_string();
    let mut slow = Vec::new();
    for _ in 0..40 {
        let mut s = connect_from("127.0.0.2", &addr).await;
        // A request head that never ends (the write may fail on one the
        // server has closed already).
        let _ = s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n").await;
        slow.push(s);
    }
    let closed = count_closed(&mut slow, Duration::from_secs(2)).await;
    assert_eq!(
        closed, 32,
        "the half-sent heads beyond 8 are closed at once"
    );
    // Everyone else is still served.
    srv.client().get("/healthz").await.expect(200);

    // A client that completed a request has headroom: up to half the cap.
    let mut proven = connect_from("127.0.0.3", &addr).await;
    proven
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut buf = [0u8; 1024];
    let n = proven.read(&mut buf).await.unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
    let mut more = Vec::new();
    for _ in 0..25 {
        more.push(connect_from("127.0.0.3", &addr).await);
    }
    // 1 + 19 = 20 = 40 / 2 stay; 6 are closed.
    let closed = count_closed(&mut more, Duration::from_secs(2)).await;
    assert_eq!(closed, 6, "a proven address holds at most half the cap");
    srv.client().get("/healthz").await.expect(200);
    drop((slow, more, proven));
    srv.stop().await;
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed() {
    let srv = TestServer::start(&[
        ("idle_timeout_secs", "2"),
        ("header_read_timeout_secs", "60"),
    ])
    .await;
    let addr = srv.base.trim_start_matches("http://").to_string();
    let mut s = TcpStream::connect(&addr).await.unwrap();
    s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut buf = [0u8; 4096];
    let n = s.read(&mut buf).await.unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
    // Kept alive, then nothing either way: closed after the idle timeout.
    assert!(
        closed_within(&mut s, Duration::from_secs(10)).await,
        "an idle connection stayed open"
    );
    srv.stop().await;
}

#[tokio::test]
async fn proxy_mode_refuses_the_header_from_an_untrusted_peer() {
    // This test connects from 127.0.0.1, which is not the proxy here.
    let srv = TestServer::start(&[("auth_mode", "proxy"), ("trusted_proxies", "10.0.0.0/8")]).await;
    srv.add_user("root@example.com", Role::Admin).await;
    let r = srv
        .client()
        .with_header("x-forwarded-user", "root@example.com")
        .get("/api/audit")
        .await
        .expect(401);
    assert!(
        r.body["error"].as_str().unwrap().contains("proxy"),
        "{}",
        r.text
    );
    srv.stop().await;

    // Without trusted proxies, proxy mode does not start.
    let db = common::TestDb::new().await;
    let s = common::settings(
        &db.url,
        "tests/fixtures/charts",
        &[("auth_mode", "proxy"), ("workers", "0")],
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let err = store_weaver::serve::Server::start(s, listener)
        .await
        .err()
        .expect("proxy mode without trusted_proxies is refused");
    assert!(err.to_string().contains("trusted_proxies"), "{err}");
    db.drop_db().await;
}

#[tokio::test]
async fn demo_mode_is_refused_in_production() {
    let db = common::TestDb::new().await;
    let s = common::settings(
        &db.url,
        "tests/fixtures/charts",
        &[("auth_mode", "demo"), ("environment", "production")],
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let err = store_weaver::serve::Server::start(s, listener)
        .await
        .err()
        .expect("demo in production is refused");
    let msg = err.to_string();
    assert!(msg.contains("demo") && msg.contains("production"), "{msg}");
    db.drop_db().await;
}

#[tokio::test]
async fn a_disabled_users_open_stream_ends_promptly() {
    let srv = TestServer::start(&[]).await;
    let ann = srv.user("ann@example.com", Role::Admin).await;
    let mut stream = EventStream::open(&ann).await;
    stream
        .until(Duration::from_secs(10), "the snapshot", |e, _| {
            e == "snapshot"
        })
        .await;
    store_weaver::db::users::set_disabled(&srv.db.pool, "ann@example.com", true)
        .await
        .unwrap();
    // Well within the 30 s re-check: the notification ends it.
    let ended = tokio::time::timeout(Duration::from_secs(10), async {
        while let Some((event, data)) = stream.next().await {
            if event == "ended" {
                assert_eq!(data["code"], "unauthenticated");
            }
        }
    })
    .await;
    assert!(
        ended.is_ok(),
        "the stream of a disabled user was still open after 10 s"
    );
    srv.stop().await;
}

#[tokio::test]
async fn streams_are_capped_per_user_and_in_total() {
    let srv = TestServer::start(&[("max_streams_per_user", "2"), ("max_streams", "3")]).await;
    let ann = srv.user("ann@example.com", Role::User).await;
    let bob = srv.user("bob@example.com", Role::User).await;
    let cid = srv.user("cid@example.com", Role::User).await;
    let a1 = EventStream::open(&ann).await;
    let _a2 = EventStream::open(&ann).await;
    let r = ann.get("/api/stream").await.expect(429);
    assert_eq!(r.body["limit"], "max_streams_per_user");
    let _b1 = EventStream::open(&bob).await;
    let r = cid.get("/api/stream").await.expect(429);
    assert_eq!(r.body["limit"], "max_streams");
    assert!(r.header("retry-after").is_some());
    // A closed stream gives its place back.
    drop(a1);
    common::eventually(Duration::from_secs(10), "a freed stream slot", || {
        let cid = cid.clone();
        async move {
            let res = cid.request(Method::GET, "/api/stream").send().await.ok()?;
            (res.status() == 200).then_some(())
        }
    })
    .await;
    srv.stop().await;
}

#[tokio::test]
async fn the_session_cookie_is_host_bound_and_secure_only_over_https() {
    let srv = TestServer::start(&[("trusted_proxies", "127.0.0.1/32")]).await;
    srv.add_user("ann@example.com", Role::User).await;
    let https = srv.client().with_header("x-forwarded-proto", "https");
    let r = sign_in_as(&https, "ann@example.com", PASSWORD)
        .await
        .expect(201);
    let cookie = r.header("set-cookie").unwrap();
    assert!(cookie.starts_with("__Host-sw_session="), "{cookie}");
    for attr in ["; Secure", "HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(cookie.contains(attr), "{cookie} lacks {attr}");
    }
    assert!(!cookie.contains("Domain"), "{cookie}");
    assert!(r.header("strict-transport-security").is_some());
    let token = r.body["token"].as_str().unwrap().to_string();
    // Over https, a plain sw_session cookie (which a sibling subdomain could
    // have planted) is not a session; the __Host- one is.
    https
        .clone()
        .with_header("cookie", &format!("sw_session={token}"))
        .get("/api/me")
        .await
        .expect(401);
    https
        .clone()
        .with_header("cookie", &format!("__Host-sw_session={token}"))
        .get("/api/me")
        .await
        .expect(200);

    // Plain http (a laptop): the local fallback, not Secure.
    let r = sign_in_as(&srv.client(), "ann@example.com", PASSWORD)
        .await
        .expect(201);
    let cookie = r.header("set-cookie").unwrap();
    assert!(
        cookie.starts_with("sw_session=") && !cookie.contains("Secure"),
        "{cookie}"
    );
    srv.stop().await;

    // X-Forwarded-Proto from a peer that is not a trusted proxy means nothing.
    let srv = TestServer::start(&[]).await;
    srv.add_user("ann@example.com", Role::User).await;
    let r = sign_in_as(
        &srv.client().with_header("x-forwarded-proto", "https"),
        "ann@example.com",
        PASSWORD,
    )
    .await
    .expect(201);
    let cookie = r.header("set-cookie").unwrap();
    assert!(
        cookie.starts_with("sw_session=") && !cookie.contains("Secure"),
        "{cookie}"
    );
    srv.stop().await;
}

#[tokio::test]
async fn readyz_names_dependencies_without_internal_text_and_the_dashboard_has_a_csp() {
    let srv = TestServer::start(&[]).await;
    let anon = srv.client();
    let r = common::eventually(Duration::from_secs(30), "/readyz to say ready", || {
        let anon = anon.clone();
        async move {
            let r = anon.get("/readyz").await;
            (r.status == 200).then_some(r)
        }
    })
    .await;
    assert_eq!(r.body["database"], json!({ "ok": true }));
    assert!(r.body["watch"].get("error").is_none(), "{}", r.text);
    assert!(r.body.get("error").is_none(), "{}", r.text);

    let r = anon.get("/").await;
    assert_eq!(r.status, 200);
    let csp = r
        .header("content-security-policy")
        .expect("a CSP on the dashboard");
    for directive in [
        "default-src 'none'",
        "script-src 'self'",
        "frame-ancestors 'none'",
        "object-src 'none'",
        "base-uri 'none'",
    ] {
        assert!(csp.contains(directive), "{csp} lacks {directive}");
    }
    assert!(
        !csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"),
        "{csp}"
    );
    assert_eq!(
        r.header("x-content-type-options").as_deref(),
        Some("nosniff")
    );
    assert_eq!(r.header("x-frame-options").as_deref(), Some("DENY"));
    assert_eq!(
        r.header("cross-origin-opener-policy").as_deref(),
        Some("same-origin")
    );
    assert!(r.header("referrer-policy").is_some());
    assert!(
        r.header("strict-transport-security").is_none(),
        "no HSTS over plain http"
    );
    srv.stop().await;
}

#[tokio::test]
async fn store_names_with_bidi_or_invisible_characters_are_refused() {
    let srv = TestServer::start(&[("create_rate_per_minute", "50")]).await;
    let ann = srv.user("ann@example.com", Role::User).await;
    for name in [
        "Shop\u{202E}gnp.exe",
        "Shop\u{2066}x\u{2069}",
        "Shop\u{200B}Zero",
        "Shop\u{200F}Mark",
        "Shop\u{7}Bell",
        // Issue 27 (16): the rest of Default_Ignorable_Code_Point, and the
        // line and paragraph separators.
        "Shop\u{E0041}\u{E0042}Tags",
        "Shop\u{FE0F}Selector",
        "Shop\u{034F}Joiner",
        "Shop\u{3164}Filler",
        "Shop\u{115F}Filler",
        "Shop\u{FFA0}Filler",
        "Shop\u{00AD}Soft",
        "Shop\u{2028}Line",
        "Shop\u{2029}Para",
        "Shop\u{180E}Mongolian",
    ] {
        let r = ann.create(name).await.expect(422);
        assert_eq!(r.body["field"], "name", "{name:?}");
        let error = r.body["error"].as_str().unwrap();
        // Control characters are named as such; bidi and zero-width ones by
        // their code point.
        assert!(
            error.contains("control character")
                || error.contains("invisible formatting character U+"),
            "{name:?}: {}",
            r.text
        );
    }
    ann.create("Plain Shop").await.expect(201);
    srv.stop().await;
}

/// Issue 27 (16): an idempotency key answers a repeat of the same request;
/// the same key with another name is a client error, not the first store.
#[tokio::test]
async fn an_idempotency_key_reused_for_another_name_is_refused() {
    let srv = TestServer::start(&[]).await;
    let ann = srv.user("ann@example.com", Role::User).await;
    let key = "order-4711";
    let first = ann
        .clone()
        .with_header("idempotency-key", key)
        .create("Key Shop")
        .await
        .expect(201);
    // The same request again: the same store.
    let again = ann
        .clone()
        .with_header("idempotency-key", key)
        .create("Key Shop")
        .await
        .expect(200);
    assert_eq!(again.body["id"], first.body["id"]);
    // The same key, another store: refused, naming the field.
    let other = ann
        .clone()
        .with_header("idempotency-key", key)
        .create("Other Shop")
        .await
        .expect(422);
    assert_eq!(other.body["field"], "idempotency_key", "{}", other.text);
    assert!(other.text.contains("another request"), "{}", other.text);
    srv.stop().await;
}

/// Issue 27 (16): two identity headers from the proxy are ambiguous (a proxy
/// that appends instead of replacing lets the client's own header through):
/// refused, not "the first wins".
#[tokio::test]
async fn proxy_mode_refuses_two_identity_headers() {
    let srv =
        TestServer::start(&[("auth_mode", "proxy"), ("trusted_proxies", "127.0.0.1/32")]).await;
    srv.add_user("root@example.com", Role::Admin).await;
    srv.add_user("ann@example.com", Role::User).await;
    srv.client()
        .with_header("x-forwarded-user", "ann@example.com")
        .get("/api/me")
        .await
        .expect(200);
    let r = srv
        .client()
        .with_header("x-forwarded-user", "root@example.com")
        .with_header("x-forwarded-user", "ann@example.com")
        .get("/api/me")
        .await
        .expect(401);
    assert!(r.text.contains("more than one"), "{}", r.text);
    srv.stop().await;
}

/// Issue 27 (15): demo auth trusts anyone's X-User-Id: it starts only on a
/// loopback address, whatever the environment says.
#[tokio::test]
async fn demo_mode_is_refused_on_a_non_loopback_address() {
    let db = common::TestDb::new().await;
    let s = common::settings(
        &db.url,
        "tests/fixtures/charts",
        &[("auth_mode", "demo"), ("environment", "local")],
    );
    let listener = tokio::net::TcpListener::bind("0.0.0.0:0").await.unwrap();
    let err = store_weaver::serve::Server::start(s, listener)
        .await
        .err()
        .expect("demo on 0.0.0.0 is refused");
    let msg = err.to_string();
    assert!(msg.contains("demo") && msg.contains("loopback"), "{msg}");
    db.drop_db().await;
}

/// Issue 27 (11): /metrics is not for the public. Through the Ingress (a
/// request a trusted proxy forwarded) it does not exist; on the main port it
/// answers this machine only; `metrics_listen` serves it on a port of its
/// own (the chart's scraper port, which no Ingress routes to).
#[tokio::test]
async fn metrics_are_not_served_through_the_ingress() {
    let srv = TestServer::start(&[("trusted_proxies", "127.0.0.1/32")]).await;
    srv.client().get("/metrics").await.expect(200);
    let r = srv
        .client()
        .with_header("x-forwarded-for", "203.0.113.5")
        .get("/metrics")
        .await
        .expect(404);
    assert!(!r.text.contains("store_weaver_"), "{}", r.text);
    srv.stop().await;

    let srv = TestServer::start(&[("metrics_listen", "127.0.0.1:0")]).await;
    let metrics = srv
        .metrics_addr()
        .expect("a metrics listener when metrics_listen is set");
    let r = Api::new(&format!("http://{metrics}"))
        .get("/metrics")
        .await
        .expect(200);
    assert!(r.text.contains("store_weaver_database_up"), "{}", r.text);
    // Only /metrics there, and not on the main port any more.
    Api::new(&format!("http://{metrics}"))
        .get("/api/me")
        .await
        .expect(404);
    srv.client().get("/metrics").await.expect(404);
    srv.stop().await;
}
