//! The access log: one line per request, written without holding the
//! request up. The line is built here (no tracing event or subscriber in
//! the way) and appended to the process's stderr sink
//! (`logging::stderr_sink`), in the shape of the other log lines (text, or
//! JSON with `log_format = json`).
//!
//! What a line says: the method, the route (`/api/stores/{id}`, not the
//! path a client sent; an unrouted path as sent, without its query), the
//! status, the milliseconds to the response head, and the request id. Never
//! a header (Authorization, cookies, identity headers) nor the query string
//! (which may carry tokens). `access_log` = N logs one request in N (every
//! 5xx regardless); 0 none.

use crate::config::LogFormat;
use crate::logging::sink::Sink;
use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;
use tracing::Instrument;

/// The target the lines name, as a tracing event's would.
pub const TARGET: &str = "store_weaver::access";

/// An unrouted path is cut to this many bytes.
const MAX_PATH: usize = 200;
/// A client's request id is cut to this many bytes.
const MAX_REQUEST_ID: usize = 64;

pub struct AccessLog {
    /// One request in `every` is logged; 0: none.
    every: u64,
    seen: AtomicU64,
    format: LogFormat,
    out: Option<Sink>,
}

impl AccessLog {
    pub fn new(every: u32, format: LogFormat, out: Option<Sink>) -> Arc<AccessLog> {
        Arc::new(AccessLog {
            every: u64::from(every),
            seen: AtomicU64::new(0),
            format,
            out,
        })
    }

    /// Whether this response gets a line: every 5xx, one in `every` of the rest.
    fn sampled(&self, status: u16) -> bool {
        match self.every {
            0 => false,
            1 => true,
            n => status >= 500 || self.seen.fetch_add(1, Ordering::Relaxed).is_multiple_of(n),
        }
    }
}

/// What one line says.
#[derive(Debug, Clone, Copy)]
pub struct Entry<'a> {
    pub method: &'a str,
    pub route: &'a str,
    pub status: u16,
    pub latency_ms: f64,
    pub request_id: &'a str,
}

/// One line, newline included, in the shape of the other log lines:
/// tracing-subscriber's JSON (`timestamp`, `level`, `fields`, `target`) or
/// its text (`timestamp LEVEL target: key=value ...`). What a client chose
/// (the unrouted path, the request id) is quoted and escaped in both, so
/// it cannot break a line or fake another.
pub fn line(format: LogFormat, timestamp: &str, e: &Entry<'_>) -> Vec<u8> {
    let level = if e.status >= 500 { "WARN" } else { "INFO" };
    let ms = (e.latency_ms * 10.0).round() / 10.0;
    let mut out = Vec::with_capacity(256);
    match format {
        LogFormat::Json => {
            // By hand, in a fixed order: no map is built per request. The
            // strings go through serde_json for their escaping; writing to a
            // Vec cannot fail.
            let s = |out: &mut Vec<u8>, v: &str| {
                let _ = serde_json::to_writer(out, v);
            };
            out.extend_from_slice(b"{\"timestamp\":");
            s(&mut out, timestamp);
            let _ = write!(
                out,
                ",\"level\":\"{level}\",\"fields\":{{\"message\":\"access\",\"method\":"
            );
            s(&mut out, e.method);
            out.extend_from_slice(b",\"route\":");
            s(&mut out, e.route);
            let _ = write!(out, ",\"status\":{},\"ms\":{ms},\"request_id\":", e.status);
            s(&mut out, e.request_id);
            let _ = writeln!(out, "}},\"target\":\"{TARGET}\"}}");
        }
        LogFormat::Text => {
            let _ = writeln!(
                out,
                "{timestamp} {level:>5} {TARGET}: access method={} route={:?} status={} ms={ms} request_id={:?}",
                e.method, e.route, e.status, e.request_id
            );
        }
    }
    out
}

/// The middleware: times the request, then writes its line if sampled.
/// It also opens the request's span (request id, method, route), so that
/// what a handler logs can be matched to its request.
pub async fn middleware(State(log): State<Arc<AccessLog>>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = req.method().clone();
    let route = match req.extensions().get::<MatchedPath>() {
        Some(m) => m.as_str().to_string(),
        None => crate::text::bound_message(req.uri().path(), MAX_PATH),
    };
    let request_id = req
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .map(|s| crate::text::bound_message(s, MAX_REQUEST_ID))
        .unwrap_or_default();
    let span =
        tracing::info_span!("http", request_id = %request_id, method = %method, route = %route);
    let res = next.run(req).instrument(span).await;
    let status = res.status().as_u16();
    if let Some(out) = &log.out
        && log.sampled(status)
    {
        let timestamp = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
        let bytes = line(
            log.format,
            &timestamp,
            &Entry {
                method: method.as_str(),
                route: &route,
                status,
                latency_ms: started.elapsed().as_secs_f64() * 1000.0,
                request_id: &request_id,
            },
        );
        out.write_lines(&bytes);
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry<'a>(route: &'a str, request_id: &'a str, status: u16) -> Entry<'a> {
        Entry {
            method: "GET",
            route,
            status,
            latency_ms: 1.26,
            request_id,
        }
    }

    #[test]
    fn a_json_line_has_the_fields_and_the_shape_of_the_other_lines() {
        let bytes = line(
            LogFormat::Json,
            "2026-12-06T17:00:00.000001Z",
            &entry("/api/stores/{id}", "abc", 200),
        );
        assert_eq!(bytes.last(), Some(&b'\n'));
        let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(v["target"], TARGET);
        assert_eq!(v["level"], "INFO");
        assert_eq!(v["timestamp"], "2026-12-06T17:00:00.000001Z");
        let f = &v["fields"];
        assert_eq!(f["method"], "GET");
        assert_eq!(f["route"], "/api/stores/{id}");
        assert_eq!(f["status"], 200);
        assert_eq!(f["ms"], 1.3);
        assert_eq!(f["request_id"], "abc");
    }

    #[test]
    fn what_a_client_chose_cannot_break_a_line() {
        let forged = "x\n2026-12-06T00:00:00Z  INFO fake\"";
        for format in [LogFormat::Json, LogFormat::Text] {
            let bytes = line(format, "t", &entry(forged, forged, 404));
            let text = String::from_utf8(bytes).unwrap();
            assert_eq!(text.matches('\n').count(), 1, "{text}");
            assert!(text.ends_with('\n'));
        }
        let text = String::from_utf8(line(LogFormat::Text, "t", &entry("/r", "id", 503))).unwrap();
        assert!(
            text.starts_with(
                "t  WARN store_weaver::access: access method=GET route=\"/r\" status=503"
            ),
            "{text}"
        );
    }

    #[test]
    fn sampling_logs_one_in_n_and_every_server_error() {
        let log = AccessLog::new(4, LogFormat::Json, None);
        let logged = (0..100).filter(|_| log.sampled(200)).count();
        assert_eq!(logged, 25);
        assert!((0..10).all(|_| log.sampled(500)));
        let off = AccessLog::new(0, LogFormat::Json, None);
        assert!(!off.sampled(200) && !off.sampled(500));
        let all = AccessLog::new(1, LogFormat::Json, None);
        assert!((0..10).all(|_| all.sampled(200)));
    }
}
