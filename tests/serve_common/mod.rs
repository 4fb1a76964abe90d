//! Helpers for the `--serve` tests: an API server in this process (or the
//! real binary) on 127.0.0.1 against a fresh database, users, sign-in, and a
//! small JSON client.
#![allow(dead_code)]

use crate::common::{TestDb, require_env, settings};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use store_weaver::db::users::{self, Role};
use store_weaver::serve::{Server, auth};
use tokio::net::TcpListener;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

pub const PASSWORD: &str = "correct horse battery staple";

/// At most this many servers of one test binary run at once, so the tests
/// stay well inside PostgreSQL's connection limit when they run in parallel.
const MAX_SERVERS: usize = 4;

fn slots() -> Arc<Semaphore> {
    static SLOTS: OnceLock<Arc<Semaphore>> = OnceLock::new();
    SLOTS
        .get_or_init(|| Arc::new(Semaphore::new(MAX_SERVERS)))
        .clone()
}

/// An API server in this process, on its own database.
pub struct TestServer {
    pub base: String,
    pub db: TestDb,
    server: Option<Server>,
    _slot: OwnedSemaphorePermit,
}

impl TestServer {
    /// Password auth, no workers, unless `overrides` say otherwise.
    pub async fn start(overrides: &[(&'static str, &str)]) -> TestServer {
        crate::common::log_to_test_output();
        let slot = slots()
            .acquire_owned()
            .await
            .expect("the semaphore is never closed");
        let db = TestDb::new().await;
        let mut all: Vec<(&'static str, &str)> = vec![("workers", "0"), ("auth_mode", "password")];
        all.extend_from_slice(overrides);
        let s = settings(&db.url, "tests/fixtures/charts", &all);
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        let server = Server::start(s, listener)
            .await
            .expect("the API server starts");
        TestServer {
            base: format!("http://{}", server.addr),
            db,
            server: Some(server),
            _slot: slot,
        }
    }

    pub fn client(&self) -> Api {
        Api::new(&self.base)
    }

    /// Where `/metrics` is served on its own port (`metrics_listen`), if so.
    pub fn metrics_addr(&self) -> Option<std::net::SocketAddr> {
        self.server.as_ref().and_then(|s| s.metrics_addr)
    }

    pub async fn add_user(&self, email: &str, role: Role) {
        add_user(&self.db.pool, email, role).await;
    }

    /// A user who exists and is signed in (bearer token).
    pub async fn user(&self, email: &str, role: Role) -> Api {
        self.add_user(email, role).await;
        let mut api = self.client();
        api.sign_in(email, PASSWORD).await;
        api
    }

    pub async fn stop(mut self) {
        if let Some(s) = self.server.take() {
            s.shutdown(Duration::from_secs(5)).await;
        }
        self.db.drop_db().await;
    }
}

pub async fn add_user(pool: &sqlx::PgPool, email: &str, role: Role) {
    let hash = auth::hash_password(PASSWORD.to_string()).await.unwrap();
    users::insert(pool, email, &hash, role)
        .await
        .unwrap()
        .expect("a new user");
}

/// A response: status, headers and the body as JSON (Null when empty or not JSON).
#[derive(Debug)]
pub struct Resp {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
    pub text: String,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    }

    /// Asserts the status and, for errors, the one error shape.
    pub fn expect(self, status: u16) -> Resp {
        assert_eq!(
            self.status.as_u16(),
            status,
            "unexpected status; body: {}",
            self.text
        );
        if status >= 400 {
            assert!(
                self.body["error"].is_string(),
                "error shape (error): {}",
                self.text
            );
            assert!(
                self.body["code"].is_string(),
                "error shape (code): {}",
                self.text
            );
        }
        self
    }

    pub fn code(&self) -> &str {
        self.body["code"].as_str().unwrap_or("")
    }
}

/// A small client for the API, with an optional bearer token and extra headers.
#[derive(Clone)]
pub struct Api {
    pub http: reqwest::Client,
    pub base: String,
    pub token: Option<String>,
    pub headers: Vec<(String, String)>,
}

impl Api {
    pub fn new(base: &str) -> Api {
        Api {
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(60))
                .build()
                .unwrap(),
            base: base.to_string(),
            token: None,
            headers: Vec::new(),
        }
    }

    pub fn with_header(mut self, k: &str, v: &str) -> Api {
        self.headers.push((k.to_string(), v.to_string()));
        self
    }

    pub fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        let mut rb = self.http.request(method, format!("{}{path}", self.base));
        if let Some(t) = &self.token {
            rb = rb.bearer_auth(t);
        }
        for (k, v) in &self.headers {
            rb = rb.header(k, v);
        }
        rb
    }

    pub async fn send(rb: reqwest::RequestBuilder) -> Resp {
        let res = rb.send().await.expect("the request reaches the server");
        let status = res.status();
        let headers = res.headers().clone();
        let text = res.text().await.unwrap_or_default();
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Resp {
            status,
            headers,
            body,
            text,
        }
    }

    pub async fn get(&self, path: &str) -> Resp {
        Api::send(self.request(Method::GET, path)).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Resp {
        Api::send(self.request(Method::POST, path).json(&body)).await
    }

    pub async fn post_empty(&self, path: &str) -> Resp {
        Api::send(self.request(Method::POST, path)).await
    }

    pub async fn delete(&self, path: &str) -> Resp {
        Api::send(self.request(Method::DELETE, path)).await
    }

    pub async fn sign_in(&mut self, email: &str, password: &str) -> Resp {
        let r = self
            .post(
                "/api/session",
                json!({ "email": email, "password": password }),
            )
            .await
            .expect(201);
        self.token = Some(r.body["token"].as_str().expect("a token").to_string());
        r
    }

    pub async fn create(&self, name: &str) -> Resp {
        self.post("/api/stores", json!({ "name": name })).await
    }
}

/// The real binary running `--serve`, its address read from its log.
pub struct Process {
    pub child: Child,
    pub base: String,
    /// Every line the server has written to stderr so far.
    pub log: Arc<std::sync::Mutex<Vec<String>>>,
}

impl Process {
    pub fn spawn(db_url: &str, args: &[&str]) -> Process {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_store-weaver"));
        for var in [
            "DATABASE_URL",
            "MAX_STORES",
            "MAX_STORES_PER_USER",
            "MAX_CONCURRENT_PROVISIONS",
            "RUST_LOG",
        ] {
            cmd.env_remove(var);
        }
        cmd.env("XDG_CONFIG_HOME", std::env::temp_dir().join("sw-no-config"))
            .args(["--serve", "--listen", "127.0.0.1:0", "--log-format", "json"])
            .args([
                "--database-url",
                db_url,
                "--kubeconfig",
                &require_env("KUBECONFIG"),
            ])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("start store-weaver --serve");
        let stderr = child.stderr.take().expect("stderr");
        let (tx, rx) = std::sync::mpsc::channel();
        let log = Arc::new(std::sync::Mutex::new(Vec::new()));
        let kept = log.clone();
        std::thread::spawn(move || {
            let mut sent = false;
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if !sent && let Some(i) = line.find("listening on http://") {
                    let rest = &line[i + "listening on ".len()..];
                    let url: String = rest
                        .chars()
                        .take_while(|c| !c.is_whitespace() && *c != '"')
                        .collect();
                    let _ = tx.send(url);
                    sent = true;
                }
                // Keep the server's log visible in the test output.
                eprintln!("[serve] {line}");
                kept.lock().unwrap_or_else(|p| p.into_inner()).push(line);
            }
        });
        let base = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("the server logs the address it listens on");
        Process { child, base, log }
    }

    /// The lines logged so far that contain `needle`.
    pub fn lines_with(&self, needle: &str) -> Vec<String> {
        self.log
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .filter(|l| l.contains(needle))
            .cloned()
            .collect()
    }

    pub fn sigterm(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success());
    }

    /// Waits for the process to exit; its exit status.
    pub fn wait_exit(&mut self, timeout: Duration) -> std::process::ExitStatus {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            if let Some(st) = self.child.try_wait().expect("try_wait") {
                return st;
            }
            if std::time::Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("the server did not exit within {timeout:?}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Reads Server-Sent Events from a response, one (event, data) at a time.
pub struct EventStream {
    res: reqwest::Response,
    buf: String,
}

impl EventStream {
    pub async fn open(api: &Api) -> EventStream {
        let res = api
            .http
            .get(format!("{}/api/stream", api.base))
            .bearer_auth(api.token.clone().unwrap_or_default())
            .timeout(Duration::from_secs(3600))
            .send()
            .await
            .expect("open the stream");
        assert_eq!(res.status(), 200);
        let ct = res.headers()["content-type"].to_str().unwrap().to_string();
        assert!(ct.starts_with("text/event-stream"), "{ct}");
        EventStream {
            res,
            buf: String::new(),
        }
    }

    /// The next event, or None when the stream ended.
    pub async fn next(&mut self) -> Option<(String, Value)> {
        loop {
            if let Some(end) = self.buf.find("\n\n") {
                let block: String = self.buf.drain(..end + 2).collect();
                let mut event = String::from("message");
                let mut data = String::new();
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("event:") {
                        event = v.trim().to_string();
                    } else if let Some(v) = line.strip_prefix("data:") {
                        data.push_str(v.trim_start());
                    }
                }
                if data.is_empty() {
                    continue; // a keep-alive comment
                }
                return Some((
                    event,
                    serde_json::from_str(&data).unwrap_or(Value::String(data)),
                ));
            }
            match self.res.chunk().await {
                Ok(Some(bytes)) => self.buf.push_str(&String::from_utf8_lossy(&bytes)),
                _ => return None,
            }
        }
    }

    /// Waits for an event that satisfies `f`, up to `timeout`.
    pub async fn until(
        &mut self,
        timeout: Duration,
        what: &str,
        f: impl Fn(&str, &Value) -> bool,
    ) -> Value {
        let fut = async {
            while let Some((event, data)) = self.next().await {
                if f(&event, &data) {
                    return data;
                }
            }
            panic!("the stream ended before: {what}");
        };
        tokio::time::timeout(timeout, fut)
            .await
            .unwrap_or_else(|_| {
                panic!("timed out after {timeout:?} waiting on the stream for: {what}")
            })
    }
}
