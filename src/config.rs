//! Settings, layered: defaults < TOML file in the XDG config dir < environment
//! < command-line flags. This is the one place that knows every key; each
//! effective value remembers where it came from so `store-weaver config` can
//! say so.

use crate::engines::EngineKind;
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Where an effective value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Default,
    File(PathBuf),
    Env(&'static str),
    Flag(&'static str),
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Default => f.write_str("default"),
            Source::File(p) => write!(f, "file {}", p.display()),
            Source::Env(v) => write!(f, "environment variable {v}"),
            Source::Flag(flag) => write!(f, "flag --{flag}"),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("invalid value for `{key}` from {origin}: expected {expected}, got {got:?}")]
    Invalid {
        key: &'static str,
        origin: Source,
        expected: String,
        got: String,
    },
    #[error("unknown key `{key}` in {file}; known keys: {known}")]
    UnknownKey {
        key: String,
        file: PathBuf,
        known: String,
    },
    #[error("cannot read config file {path}: {reason}")]
    Read { path: PathBuf, reason: String },
    #[error("config file {path} is not valid TOML: {reason}")]
    Syntax { path: PathBuf, reason: String },
    #[error(
        "`{key}` is required but not set; set it in the config file, with {env}, or with --{flag}"
    )]
    Missing {
        key: &'static str,
        env: &'static str,
        flag: &'static str,
    },
    #[error(
        "`{key}` must be set because {because}; set it in the config file, with {env}, or with --{flag}"
    )]
    Needed {
        key: &'static str,
        env: &'static str,
        flag: &'static str,
        because: &'static str,
    },
}

#[derive(Debug, Clone, Copy)]
enum Kind {
    Text,
    Path,
    PostgresUrl,
    /// A whole number in `min..=max`.
    Count {
        min: u32,
        max: u32,
    },
    /// Whole seconds in `min..=max`.
    Seconds {
        min: u32,
        max: u32,
    },
    Bool,
    OneOf(&'static [&'static str]),
    Suffix,
    SocketAddr,
    /// Empty, or `namespace/name`.
    ServiceAccount,
    /// Comma-separated words.
    List,
    /// Empty, or comma-separated CIDRs / addresses (`10.0.0.0/8, ::1`).
    CidrList,
    /// Empty, or an address and port.
    OptionalSocketAddr,
    /// Empty, or comma-separated browser origins (`https://a.example.com`).
    OriginList,
    /// Empty, or comma-separated files; `ENGINE=PATH` is for that engine's
    /// stores only, a plain `PATH` for every store.
    ValuesFiles,
    /// Empty, or 32 bytes in base64 (a key).
    Key32,
    /// Empty, or an http(s) URL.
    OptionalUrl,
}

impl Kind {
    /// What a value must look like, for the error message.
    fn expected(self) -> String {
        match self {
            Kind::Text | Kind::List => "text".into(),
            Kind::Path => "a file path".into(),
            Kind::Key32 => "32 random bytes in base64, e.g. the output of `openssl rand -base64 32`".into(),
            Kind::OptionalUrl => "empty, or a URL such as http://127.0.0.1:9000".into(),
            Kind::PostgresUrl => "a URL such as postgres://user:password@host:5432/db".into(),
            Kind::Count { min, max } => format!("a whole number from {min} to {max}"),
            Kind::Seconds { min, max } => format!("a number of seconds from {min} to {max}"),
            Kind::Bool => "true or false".into(),
            Kind::OneOf(choices) => format!("one of: {}", choices.join(", ")),
            Kind::Suffix => "a domain suffix such as .localhost or .shops.example.com".into(),
            Kind::SocketAddr => "an address and port such as 127.0.0.1:8080".into(),
            Kind::OptionalSocketAddr => {
                "empty, or an address and port such as 0.0.0.0:9090".into()
            }
            Kind::ServiceAccount => "namespace/name, e.g. store-weaver-system/store-weaver".into(),
            Kind::CidrList => {
                "comma-separated addresses or CIDRs such as 10.42.0.0/16, 127.0.0.1".into()
            }
            Kind::ValuesFiles => format!(
                "comma-separated values files, each PATH (every engine) or ENGINE=PATH (engines: {})",
                crate::engines::names()
            ),
            Kind::OriginList => "comma-separated origins such as https://admin.example.com, http://localhost:5173 (scheme, host and port only; no * and no wildcards: the API answers with credentials, which browsers refuse for a wildcard)".into(),
        }
    }

    /// What `--help` shows as the flag's value.
    fn value_name(self) -> &'static str {
        match self {
            Kind::Text | Kind::List => "TEXT",
            Kind::Path => "PATH",
            Kind::PostgresUrl => "URL",
            Kind::Count { .. } => "N",
            Kind::Seconds { .. } => "SECS",
            Kind::Bool => "BOOL",
            Kind::OneOf(_) => "CHOICE",
            Kind::Suffix => "SUFFIX",
            Kind::SocketAddr | Kind::OptionalSocketAddr => "ADDR",
            Kind::ServiceAccount => "NAMESPACE/NAME",
            Kind::CidrList => "CIDRS",
            Kind::OriginList => "ORIGINS",
            Kind::ValuesFiles => "FILES",
            Kind::Key32 => "BASE64",
            Kind::OptionalUrl => "URL",
        }
    }

    fn check(self, v: &str) -> bool {
        match self {
            Kind::Text | Kind::List => true,
            Kind::Path => !v.trim().is_empty(),
            Kind::PostgresUrl => {
                (v.starts_with("postgres://") || v.starts_with("postgresql://")) && v.len() > 13
            }
            // Parsed as u64 first so that 4294967296 is "out of range", not
            // silently truncated.
            Kind::Count { min, max } | Kind::Seconds { min, max } => v
                .trim()
                .parse::<u64>()
                .is_ok_and(|n| n >= u64::from(min) && n <= u64::from(max)),
            Kind::Bool => parse_bool(v).is_some(),
            Kind::OneOf(choices) => choices.contains(&v.trim()),
            Kind::Suffix => {
                let s = v.trim().trim_start_matches('.');
                !s.is_empty()
                    && s.split('.').all(|label| {
                        !label.is_empty()
                            && label.len() <= 63
                            && label
                                .bytes()
                                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                            && !label.starts_with('-')
                            && !label.ends_with('-')
                    })
            }
            Kind::SocketAddr => v.trim().parse::<std::net::SocketAddr>().is_ok(),
            Kind::OptionalSocketAddr => {
                v.trim().is_empty() || v.trim().parse::<std::net::SocketAddr>().is_ok()
            }
            Kind::ServiceAccount => {
                let v = v.trim();
                v.is_empty()
                    || v.split_once('/').is_some_and(|(ns, name)| {
                        !ns.is_empty() && !name.is_empty() && !name.contains('/')
                    })
            }
            Kind::CidrList => parse_cidrs(v).is_ok(),
            Kind::OriginList => v
                .split(',')
                .map(str::trim)
                .filter(|o| !o.is_empty())
                .all(is_origin),
            Kind::Key32 => {
                use base64::Engine as _;
                v.trim().is_empty()
                    || base64::engine::general_purpose::STANDARD
                        .decode(v.trim())
                        .is_ok_and(|k| k.len() == 32)
            }
            Kind::OptionalUrl => {
                let v = v.trim();
                v.is_empty()
                    || ((v.starts_with("http://") || v.starts_with("https://"))
                        && v.len() > "https://".len()
                        && !v.contains(char::is_whitespace))
            }
            Kind::ValuesFiles => v
                .split(',')
                .map(str::trim)
                .filter(|f| !f.is_empty())
                .all(|f| scoped_file(f).is_some()),
        }
    }
}

/// A values file entry: `ENGINE=PATH` (that engine only) or `PATH` (every
/// engine); None when the part before `=` is no engine's name.
fn scoped_file(entry: &str) -> Option<(Option<EngineKind>, &str)> {
    match entry.split_once('=') {
        Some((engine, path)) => EngineKind::parse(engine.trim())
            .filter(|_| !path.trim().is_empty())
            .map(|e| (Some(e), path.trim())),
        None => Some((None, entry)),
    }
}

/// The files of a values file list that apply to an engine, in order.
fn files_for(list: &[String], engine: EngineKind) -> Vec<PathBuf> {
    list.iter()
        .filter_map(|f| scoped_file(f.trim()))
        .filter(|(scope, _)| scope.is_none_or(|e| e == engine))
        .map(|(_, p)| PathBuf::from(p))
        .collect()
}

/// `http(s)://host[:port]`: what a browser sends in `Origin`, exactly.
fn is_origin(o: &str) -> bool {
    let Some(rest) = o
        .strip_prefix("https://")
        .or_else(|| o.strip_prefix("http://"))
    else {
        return false;
    };
    // An IPv6 host is bracketed: [::1]:8080.
    let (host, port) = match rest.strip_prefix('[') {
        Some(v6) => match v6.split_once(']') {
            Some((h, "")) => (h, None),
            Some((h, after)) => match after.strip_prefix(':') {
                Some(p) => (h, Some(p)),
                None => return false,
            },
            None => return false,
        },
        None => match rest.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (rest, None),
        },
    };
    let host_ok = !host.is_empty()
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':'));
    let port_ok = port.is_none_or(|p| p.parse::<u16>().is_ok_and(|n| n > 0));
    host_ok && port_ok
}

fn parse_bool(v: &str) -> Option<bool> {
    match v.trim() {
        "true" | "1" | "yes" => Some(true),
        "false" | "0" | "no" => Some(false),
        _ => None,
    }
}

/// One setting: its config key, environment variable, flag, kind, default
/// and help. Declared once, in `settings!` below.
pub struct Key {
    pub name: &'static str,
    pub env: &'static str,
    /// The long flag, without the leading dashes.
    pub flag: &'static str,
    kind: Kind,
    pub default: Option<&'static str>,
    pub secret: bool,
    pub help: &'static str,
}

impl Key {
    pub fn value_name(&self) -> &'static str {
        self.kind.value_name()
    }

    /// `--flag`, as the messages spell it.
    pub fn dashed_flag(&self) -> String {
        format!("--{}", self.flag)
    }
}

/// A typed value read from an effective (already checked) setting.
trait FromSetting: Sized {
    /// `None` when the value does not convert (cannot happen after `check`;
    /// reported as invalid rather than panicking all the same).
    fn from_setting(raw: Option<&str>) -> Option<Self>;
}

impl FromSetting for String {
    fn from_setting(raw: Option<&str>) -> Option<Self> {
        Some(raw.unwrap_or_default().trim().to_string())
    }
}

/// Unset and empty are the same: "not configured".
impl FromSetting for Option<String> {
    fn from_setting(raw: Option<&str>) -> Option<Self> {
        Some(
            raw.map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string),
        )
    }
}

impl FromSetting for PathBuf {
    fn from_setting(raw: Option<&str>) -> Option<Self> {
        raw.map(|s| PathBuf::from(s.trim()))
    }
}

impl FromSetting for Option<PathBuf> {
    fn from_setting(raw: Option<&str>) -> Option<Self> {
        Some(
            raw.map(str::trim)
                .filter(|s| !s.is_empty())
                .map(PathBuf::from),
        )
    }
}

impl FromSetting for bool {
    fn from_setting(raw: Option<&str>) -> Option<Self> {
        parse_bool(raw?)
    }
}

impl FromSetting for u32 {
    fn from_setting(raw: Option<&str>) -> Option<Self> {
        raw?.trim().parse().ok()
    }
}

impl FromSetting for Duration {
    fn from_setting(raw: Option<&str>) -> Option<Self> {
        raw?.trim()
            .parse::<u32>()
            .ok()
            .map(|s| Duration::from_secs(s.into()))
    }
}

impl FromSetting for Option<u32> {
    fn from_setting(raw: Option<&str>) -> Option<Self> {
        match raw.map(str::trim) {
            None | Some("") => Some(None),
            Some(v) => v.parse().ok().map(Some),
        }
    }
}

impl FromSetting for std::net::SocketAddr {
    fn from_setting(raw: Option<&str>) -> Option<Self> {
        raw?.trim().parse().ok()
    }
}

/// Unset and empty: not configured.
impl FromSetting for Option<std::net::SocketAddr> {
    fn from_setting(raw: Option<&str>) -> Option<Self> {
        match raw.map(str::trim).filter(|s| !s.is_empty()) {
            None => Some(None),
            Some(v) => v.parse().ok().map(Some),
        }
    }
}

impl FromSetting for Vec<String> {
    fn from_setting(raw: Option<&str>) -> Option<Self> {
        Some(
            raw.unwrap_or_default()
                .split(',')
                .map(|o| o.trim().to_string())
                .filter(|o| !o.is_empty())
                .collect(),
        )
    }
}

impl FromSetting for Vec<Cidr> {
    fn from_setting(raw: Option<&str>) -> Option<Self> {
        parse_cidrs(raw.unwrap_or_default()).ok()
    }
}

/// `namespace/name`, or nothing.
impl FromSetting for Option<(String, String)> {
    fn from_setting(raw: Option<&str>) -> Option<Self> {
        Some(raw.and_then(|s| {
            s.trim()
                .split_once('/')
                .map(|(ns, name)| (ns.to_string(), name.to_string()))
        }))
    }
}

/// A setting with a fixed set of words: an enum end to end, the words
/// declared once with it.
macro_rules! choice {
    ($(#[$doc:meta])* $name:ident { $($variant:ident = $word:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const WORDS: &'static [&'static str] = &[$($word),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $word),+ }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromSetting for $name {
            fn from_setting(raw: Option<&str>) -> Option<Self> {
                match raw?.trim() {
                    $($word => Some($name::$variant),)+
                    _ => None,
                }
            }
        }
    };
}

choice!(
    /// Picks the chart values file and the URL scheme.
    Environment { Local = "local", Production = "production" }
);
choice!(
    /// How `--serve` knows who is asking.
    AuthMode { Password = "password", Proxy = "proxy", Demo = "demo" }
);
choice!(LogFormat { Text = "text", Json = "json" });
choice!(LogLevel {
    Error = "error",
    Warn = "warn",
    Info = "info",
    Debug = "debug",
    Trace = "trace",
});

impl Environment {
    pub fn is_production(self) -> bool {
        self == Environment::Production
    }
}

/// Declares every setting once: the typed field of `Settings`, its config
/// key, environment variable, flag, kind, default and help. `KEYS` (the
/// file keys, the environment, the flags of `cli`, `config` output) and the
/// conversion in `resolve` are generated from it.
macro_rules! settings {
    ($(
        $(#[doc = $doc:literal])+
        $field:ident: $ty:ty = $key:literal, env $env:literal, flag $flag:literal,
            $kind:expr, default $default:expr $(, secret $secret:literal)?;
    )+) => {
        /// Every key, in the order `config` prints them.
        pub const KEYS: &[Key] = &[$(Key {
            name: $key,
            env: $env,
            flag: $flag,
            kind: $kind,
            default: $default,
            secret: false $(|| $secret)?,
            help: concat!($($doc),+),
        }),+];

        /// The typed settings every part of the program reads.
        #[derive(Debug, Clone)]
        pub struct Settings {
            $($(#[doc = $doc])+ pub $field: $ty,)+
            /// Every key with its origin, for `store-weaver config`.
            pub effective: Vec<Effective>,
        }

        impl Settings {
            fn from_effective(effective: Vec<Effective>) -> Result<Settings, ConfigError> {
                Ok(Settings {
                    $($field: typed::<$ty>(&effective, $key)?,)+
                    effective,
                })
            }
        }
    };
}

/// Limits far above any real use but far below the point where a typo
/// (an extra digit or two) would mean something absurd.
const MAX_COUNT: u32 = 1_000_000;
const MAX_WORKERS: u32 = 256;
const DAY_SECS: u32 = 86_400;

settings! {
    /// PostgreSQL connection URL
    database_url: Option<String> = "database_url", env "DATABASE_URL", flag "database-url",
        Kind::PostgresUrl, default None, secret true;
    /// kubeconfig file; unset: in-cluster config or ~/.kube/config
    kubeconfig: Option<PathBuf> = "kubeconfig", env "KUBECONFIG", flag "kubeconfig",
        Kind::Path, default None;
    /// kubeconfig context to use; unset: the current context
    kube_context: Option<String> = "kube_context", env "STORE_WEAVER_KUBE_CONTEXT", flag "context",
        Kind::Text, default None;
    /// local or production: picks the chart values file and the URL scheme
    environment: Environment = "environment", env "STORE_WEAVER_ENVIRONMENT", flag "environment",
        Kind::OneOf(Environment::WORDS), default Some("local");
    /// stores are served at <slug><suffix>
    ingress_suffix: String = "ingress_suffix", env "INGRESS_SUFFIX", flag "ingress-suffix",
        Kind::Suffix, default Some(".localhost");
    /// store URLs use https (production with cert-manager)
    tls: bool = "tls", env "STORE_WEAVER_TLS", flag "tls", Kind::Bool, default Some("false");
    /// directory that holds one chart per engine
    charts_dir: PathBuf = "charts_dir", env "STORE_WEAVER_CHARTS_DIR", flag "charts-dir",
        Kind::Path, default Some("charts");
    /// values file for a store chart instead of charts/<engine>/values-<environment>.yaml; ENGINE=PATH for one engine, comma-separated
    values_file: Vec<String> = "values_file", env "STORE_WEAVER_VALUES_FILE", flag "values-file",
        Kind::ValuesFiles, default Some("");
    /// comma-separated values files applied after values_file (e.g. placement: nodeSelector, tolerations, affinity); ENGINE=PATH for one engine's stores only
    extra_values_files: Vec<String> = "extra_values_files", env "STORE_WEAVER_EXTRA_VALUES_FILES",
        flag "extra-values-files", Kind::ValuesFiles, default Some("");
    /// helm executable
    helm_bin: PathBuf = "helm_bin", env "HELM_BIN", flag "helm", Kind::Path, default Some("helm");
    /// ClusterRole bound to the platform's service account inside each store namespace (least privilege); empty: none
    store_cluster_role: Option<String> = "store_cluster_role", env "STORE_WEAVER_STORE_CLUSTER_ROLE",
        flag "store-cluster-role", Kind::Text, default Some("");
    /// the platform's service account as namespace/name, the subject of that binding
    service_account: Option<(String, String)> = "service_account", env "STORE_WEAVER_SERVICE_ACCOUNT",
        flag "service-account", Kind::ServiceAccount, default Some("");
    /// the namespace the platform itself runs in; no store may take it
    platform_namespace: String = "platform_namespace", env "STORE_WEAVER_PLATFORM_NAMESPACE",
        flag "platform-namespace", Kind::Text, default Some("store-weaver-system");
    /// the host the dashboard/API is served on (e.g. admin.shops.example.com); no store may take it
    platform_host: Option<String> = "platform_host", env "STORE_WEAVER_PLATFORM_HOST",
        flag "platform-host", Kind::Text, default Some("");
    /// comma-separated store addresses (slugs) no store may take, besides the platform's own
    reserved_slugs: Vec<String> = "reserved_slugs", env "STORE_WEAVER_RESERVED_SLUGS",
        flag "reserved-slugs", Kind::List, default Some("admin,api,www,dashboard,store-weaver");
    /// stores in total (all users)
    max_stores: u32 = "max_stores", env "MAX_STORES", flag "max-stores",
        Kind::Count { min: 1, max: MAX_COUNT }, default Some("100");
    /// stores per owner
    max_stores_per_user: u32 = "max_stores_per_user", env "MAX_STORES_PER_USER",
        flag "max-stores-per-user", Kind::Count { min: 1, max: MAX_COUNT }, default Some("5");
    /// provisions and upgrades running helm at once, across every process (a store waiting for Ready, a cleanup or a delete takes none)
    max_concurrent_provisions: u32 = "max_concurrent_provisions", env "MAX_CONCURRENT_PROVISIONS",
        flag "max-concurrent-provisions", Kind::Count { min: 1, max: 10_000 }, default Some("3");
    /// a provision that is not ready after this fails and is cleaned up
    provision_timeout: Duration = "provision_timeout_secs", env "PROVISION_TIMEOUT_SECS",
        flag "provision-timeout", Kind::Seconds { min: 1, max: DAY_SECS }, default Some("600");
    /// an upgrade whose pods are not all Ready after this is rolled back automatically
    upgrade_timeout: Duration = "upgrade_timeout_secs", env "UPGRADE_TIMEOUT_SECS",
        flag "upgrade-timeout", Kind::Seconds { min: 1, max: DAY_SECS }, default Some("300");
    /// a pod of an upgrade's new revision that stays stuck this long (a wrong image, a missing Secret key, a container crashing again and again) ends the wait: the upgrade is rolled back at once instead of at upgrade_timeout_secs
    upgrade_stuck: Duration = "upgrade_stuck_secs", env "UPGRADE_STUCK_SECS",
        flag "upgrade-stuck", Kind::Seconds { min: 1, max: DAY_SECS }, default Some("20");
    /// how long to wait for a store's namespace to disappear
    delete_timeout: Duration = "delete_timeout_secs", env "DELETE_TIMEOUT_SECS",
        flag "delete-timeout", Kind::Seconds { min: 1, max: DAY_SECS }, default Some("300");
    /// a worker that stops renewing its lease for this long loses the operation to another worker
    lease: Duration = "lease_secs", env "STORE_WEAVER_LEASE_SECS", flag "lease",
        Kind::Seconds { min: 2, max: 3_600 }, default Some("30");
    /// operations this process carries out at once, waits for Ready included (0: none)
    workers: u32 = "workers", env "STORE_WEAVER_WORKERS", flag "workers",
        Kind::Count { min: 0, max: MAX_WORKERS }, default Some("12");
    /// address for --serve
    listen: std::net::SocketAddr = "listen", env "STORE_WEAVER_LISTEN", flag "listen",
        Kind::SocketAddr, default Some("127.0.0.1:8080");
    /// serve /metrics on this address only (its own port, for the scraper; no Ingress routes to it); unset: on the main port, to this machine only
    metrics_listen: Option<std::net::SocketAddr> = "metrics_listen", env "STORE_WEAVER_METRICS_LISTEN",
        flag "metrics-listen", Kind::OptionalSocketAddr, default None;
    /// --serve sign-in: password (users in Postgres), proxy (trusted header), demo (anyone is anyone; never in production)
    auth_mode: AuthMode = "auth_mode", env "STORE_WEAVER_AUTH", flag "auth",
        Kind::OneOf(AuthMode::WORDS), default Some("password");
    /// header that carries the user when auth = proxy
    proxy_user_header: String = "proxy_user_header", env "STORE_WEAVER_PROXY_USER_HEADER",
        flag "proxy-user-header", Kind::Text, default Some("x-forwarded-user");
    /// comma-separated origins allowed to call the API from a browser
    cors_origins: Vec<String> = "cors_origins", env "STORE_WEAVER_CORS_ORIGINS", flag "cors-origins",
        Kind::OriginList, default Some("");
    /// creates per minute allowed per user and per client address
    create_rate_per_minute: u32 = "create_rate_per_minute", env "STORE_WEAVER_CREATE_RATE",
        flag "create-rate", Kind::Count { min: 1, max: MAX_COUNT }, default Some("10");
    /// log level
    log_level: LogLevel = "log_level", env "STORE_WEAVER_LOG", flag "log-level",
        Kind::OneOf(LogLevel::WORDS), default Some("info");
    /// text or json
    log_format: LogFormat = "log_format", env "STORE_WEAVER_LOG_FORMAT", flag "log-format",
        Kind::OneOf(LogFormat::WORDS), default Some("text");
    /// --serve access log: one line per request (method, route, status, ms, request id; never headers or the query string) for one request in N: 1 every request, N one in N, 0 none; with N > 0 every 5xx is logged
    access_log: u32 = "access_log", env "STORE_WEAVER_ACCESS_LOG", flag "access-log",
        Kind::Count { min: 0, max: MAX_COUNT }, default Some("1");
    /// directory for the console's log files; unset: the XDG state dir
    log_dir: Option<PathBuf> = "log_dir", env "STORE_WEAVER_LOG_DIR", flag "log-dir",
        Kind::Path, default None;
    /// lines of a pod's log the console keeps (the oldest go first)
    console_log_lines: u32 = "console_log_lines", env "STORE_WEAVER_CONSOLE_LOG_LINES",
        flag "console-log-lines", Kind::Count { min: 100, max: 1_000_000 }, default Some("5000");
    // ---- serving under load (issues 13 and 17) ----
    /// CIDRs of reverse proxies whose X-Forwarded-For/-Proto are believed (and, with auth = proxy, whose identity header); empty: none
    trusted_proxies: Vec<Cidr> = "trusted_proxies", env "STORE_WEAVER_TRUSTED_PROXIES",
        flag "trusted-proxies", Kind::CidrList, default Some("");
    /// password checks (argon2, 19 MiB each) running at once; more wait briefly, then get 503
    max_concurrent_hashes: u32 = "max_concurrent_hashes", env "STORE_WEAVER_MAX_CONCURRENT_HASHES",
        flag "max-concurrent-hashes", Kind::Count { min: 1, max: 64 }, default Some("4");
    /// a connection that has not sent a whole request head within this is closed
    header_read_timeout: Duration = "header_read_timeout_secs", env "STORE_WEAVER_HEADER_READ_TIMEOUT_SECS",
        flag "header-read-timeout", Kind::Seconds { min: 1, max: 3_600 }, default Some("10");
    /// a connection with no bytes either way for this long is closed (live streams send keep-alives)
    idle_timeout: Duration = "idle_timeout_secs", env "STORE_WEAVER_IDLE_TIMEOUT_SECS",
        flag "idle-timeout", Kind::Seconds { min: 1, max: DAY_SECS }, default Some("60");
    /// open HTTP connections; beyond it new connections are closed at once
    max_connections: u32 = "max_connections", env "STORE_WEAVER_MAX_CONNECTIONS",
        flag "max-connections", Kind::Count { min: 1, max: MAX_COUNT }, default Some("4096");
    /// connections one client address may hold before one of them completes a request (after that: up to half of max_connections), so one address cannot take them all
    max_connections_per_peer: u32 = "max_connections_per_peer", env "STORE_WEAVER_MAX_CONNECTIONS_PER_PEER",
        flag "max-connections-per-peer", Kind::Count { min: 1, max: MAX_COUNT }, default Some("64");
    /// live streams (/api/stream) open at once in this process
    max_streams: u32 = "max_streams", env "STORE_WEAVER_MAX_STREAMS", flag "max-streams",
        Kind::Count { min: 1, max: MAX_COUNT }, default Some("2000");
    /// live streams one user may hold open in this process
    max_streams_per_user: u32 = "max_streams_per_user", env "STORE_WEAVER_MAX_STREAMS_PER_USER",
        flag "max-streams-per-user", Kind::Count { min: 1, max: MAX_COUNT }, default Some("8");
    /// the most PostgreSQL connections this process opens in all; with --serve, api_db_connections of them are the API's and the rest the workers' and background work's. The default lets 4 replicas and a console share PostgreSQL's default max_connections (100) with room to spare
    db_connections: u32 = "db_connections", env "STORE_WEAVER_DB_CONNECTIONS",
        flag "db-connections", Kind::Count { min: 5, max: 1_000 }, default Some("12");
    /// the API's share of db_connections (all of it kept open); at least 4 must be left for the workers; unset: half
    api_db_connections: Option<u32> = "api_db_connections", env "STORE_WEAVER_API_DB_CONNECTIONS",
        flag "api-db-connections", Kind::Count { min: 1, max: 1_000 }, default None;
    /// milliseconds an API request waits for a database connection before it gets 503 with Retry-After
    api_db_wait_ms: u32 = "api_db_wait_ms", env "STORE_WEAVER_API_DB_WAIT_MS",
        flag "api-db-wait-ms", Kind::Count { min: 1, max: 60_000 }, default Some("500");
    /// answer repeated reads (sessions, stores, list pages) from memory kept true by the database's change notifications; false: every request reads the database
    api_cache: bool = "api_cache", env "STORE_WEAVER_API_CACHE", flag "api-cache",
        Kind::Bool, default Some("true");
    // ---- backups (issue 30) ----
    /// S3 bucket that keeps store backups; unset: backups are off and a delete cannot be undone
    backup_bucket: Option<String> = "backup_bucket", env "STORE_WEAVER_BACKUP_BUCKET",
        flag "backup-bucket", Kind::Text, default None;
    /// the S3 endpoint of an S3-compatible store (MinIO, Ceph, versitygw…); unset: AWS's for the region
    backup_endpoint: Option<String> = "backup_endpoint", env "STORE_WEAVER_BACKUP_ENDPOINT",
        flag "backup-endpoint", Kind::OptionalUrl, default None;
    /// the bucket's region
    backup_region: String = "backup_region", env "STORE_WEAVER_BACKUP_REGION",
        flag "backup-region", Kind::Text, default Some("us-east-1");
    /// path-style URLs (endpoint/bucket/object), which most S3-compatible stores need; false: virtual-hosted (AWS)
    backup_path_style: bool = "backup_path_style", env "STORE_WEAVER_BACKUP_PATH_STYLE",
        flag "backup-path-style", Kind::Bool, default Some("true");
    /// object names in the bucket start with this
    backup_prefix: String = "backup_prefix", env "STORE_WEAVER_BACKUP_PREFIX",
        flag "backup-prefix", Kind::Text, default Some("store-weaver/");
    /// the access key id for the bucket; unset: AWS's usual sources (instance role…)
    backup_access_key_id: Option<String> = "backup_access_key_id", env "AWS_ACCESS_KEY_ID",
        flag "backup-access-key-id", Kind::Text, default None, secret true;
    /// the secret access key for the bucket
    backup_secret_access_key: Option<String> = "backup_secret_access_key", env "AWS_SECRET_ACCESS_KEY",
        flag "backup-secret-access-key", Kind::Text, default None, secret true;
    /// the key backups are encrypted with (32 bytes, base64); keep a copy apart: without it no backup can be restored
    backup_key: Option<String> = "backup_key", env "STORE_WEAVER_BACKUP_KEY",
        flag "backup-key", Kind::Key32, default None, secret true;
    /// days a deleted store's final backup is kept for an undelete
    backup_keep_deleted_days: u32 = "backup_keep_deleted_days", env "STORE_WEAVER_BACKUP_KEEP_DELETED_DAYS",
        flag "backup-keep-deleted-days", Kind::Count { min: 1, max: 3_650 }, default Some("7");
    /// hours between a store's scheduled backups, spread over the interval across the fleet (a store may set its own: store backup-schedule); 0: none
    backup_every_hours: u32 = "backup_every_hours", env "STORE_WEAVER_BACKUP_EVERY_HOURS",
        flag "backup-every-hours", Kind::Count { min: 0, max: 8_760 }, default Some("24");
    /// backups running at once across every process (apart from max_concurrent_provisions)
    backup_concurrency: u32 = "backup_concurrency", env "STORE_WEAVER_BACKUP_CONCURRENCY",
        flag "backup-concurrency", Kind::Count { min: 1, max: 1_000 }, default Some("2");
    /// days between a store's restore drills (its newest backup restored into a throwaway store and checked), spread across the fleet; 0: none
    drill_every_days: u32 = "drill_every_days", env "STORE_WEAVER_DRILL_EVERY_DAYS",
        flag "drill-every-days", Kind::Count { min: 0, max: 365 }, default Some("7");
    /// restore drills running at once across every process (each provisions a throwaway store)
    drill_concurrency: u32 = "drill_concurrency", env "STORE_WEAVER_DRILL_CONCURRENCY",
        flag "drill-concurrency", Kind::Count { min: 1, max: 100 }, default Some("1");
    /// a store keeps the newest scheduled backup of each of this many recent days
    backup_keep_daily: u32 = "backup_keep_daily", env "STORE_WEAVER_BACKUP_KEEP_DAILY",
        flag "backup-keep-daily", Kind::Count { min: 0, max: 3_650 }, default Some("7");
    /// and the newest of each of this many recent weeks (the newest backup is always kept)
    backup_keep_weekly: u32 = "backup_keep_weekly", env "STORE_WEAVER_BACKUP_KEEP_WEEKLY",
        flag "backup-keep-weekly", Kind::Count { min: 0, max: 520 }, default Some("4");
}

/// An address range (`10.42.0.0/16`, `::1/128`); a bare address is a /32 or /128.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    addr: std::net::IpAddr,
    prefix: u8,
}

impl Cidr {
    pub fn parse(s: &str) -> Result<Cidr, String> {
        let s = s.trim();
        let (a, p) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let addr: std::net::IpAddr = a
            .parse()
            .map_err(|_| format!("{s:?} is not an address or CIDR"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match p {
            None => max,
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|n| *n <= max)
                .ok_or_else(|| format!("{s:?}: the prefix length must be 0 to {max}"))?,
        };
        Ok(Cidr { addr, prefix })
    }

    pub fn contains(&self, ip: std::net::IpAddr) -> bool {
        use std::net::IpAddr;
        // An IPv4 peer seen through an IPv6 socket (::ffff:a.b.c.d) is IPv4.
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
            v4 => v4,
        };
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

/// A comma-separated list of CIDRs; empty is none.
pub fn parse_cidrs(v: &str) -> Result<Vec<Cidr>, String> {
    v.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(Cidr::parse)
        .collect()
}

fn key_named(name: &str) -> Option<&'static Key> {
    KEYS.iter().find(|k| k.name == name)
}

/// Converts one effective value to its field's type.
fn typed<T: FromSetting>(effective: &[Effective], name: &'static str) -> Result<T, ConfigError> {
    let e = effective.iter().find(|e| e.key == name);
    let raw = e.and_then(|e| e.value.as_deref());
    T::from_setting(raw).ok_or_else(|| ConfigError::Invalid {
        key: name,
        origin: e.map_or(Source::Default, |e| e.source.clone()),
        expected: key_named(name).map_or_else(|| "a value".into(), |k| k.kind.expected()),
        got: match e {
            Some(e) => e.shown(),
            None => "(unset)".into(),
        },
    })
}

/// Raw layers as read, before parsing.
#[derive(Debug, Default, Clone)]
pub struct Layers {
    pub file: Option<(PathBuf, BTreeMap<String, String>)>,
    pub env: BTreeMap<&'static str, String>,
    pub flags: BTreeMap<&'static str, String>,
}

impl Layers {
    /// Reads the TOML file (explicit path, or the XDG default if it exists)
    /// and the process environment.
    pub fn gather(
        explicit_file: Option<&Path>,
        flags: BTreeMap<&'static str, String>,
    ) -> Result<Layers, ConfigError> {
        let file = match explicit_file {
            Some(p) => Some(read_file(p)?),
            None => match default_config_file() {
                Some(p) if p.exists() => Some(read_file(&p)?),
                _ => None,
            },
        };
        let env = KEYS
            .iter()
            .filter_map(|k| std::env::var(k.env).ok().map(|v| (k.name, v)))
            .filter(|(_, v)| !v.is_empty())
            .collect();
        Ok(Layers { file, env, flags })
    }
}

pub fn default_config_file() -> Option<PathBuf> {
    directories::ProjectDirs::from("", "", "store-weaver")
        .map(|d| d.config_dir().join("config.toml"))
}

/// The directory for logs and other state (XDG state dir).
pub fn default_state_dir() -> PathBuf {
    directories::ProjectDirs::from("", "", "store-weaver")
        .and_then(|d| d.state_dir().map(Path::to_path_buf))
        .unwrap_or_else(|| std::env::temp_dir().join("store-weaver"))
}

fn read_file(path: &Path) -> Result<(PathBuf, BTreeMap<String, String>), ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError::Read {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    parse_file(path, &text).map(|m| (path.to_path_buf(), m))
}

pub fn parse_file(path: &Path, text: &str) -> Result<BTreeMap<String, String>, ConfigError> {
    let table: toml::Table = text
        .parse()
        .map_err(|e: toml::de::Error| ConfigError::Syntax {
            path: path.to_path_buf(),
            reason: e.to_string().trim().to_string(),
        })?;
    let mut out = BTreeMap::new();
    for (k, v) in table {
        if !KEYS.iter().any(|key| key.name == k) {
            return Err(ConfigError::UnknownKey {
                key: k,
                file: path.to_path_buf(),
                known: KEYS.iter().map(|k| k.name).collect::<Vec<_>>().join(", "),
            });
        }
        let s = match v {
            toml::Value::String(s) => s,
            toml::Value::Integer(i) => i.to_string(),
            toml::Value::Boolean(b) => b.to_string(),
            toml::Value::Float(f) => f.to_string(),
            other => other.to_string(),
        };
        out.insert(k, s);
    }
    Ok(out)
}

/// One effective value and its origin.
#[derive(Debug, Clone)]
pub struct Effective {
    pub key: &'static str,
    pub value: Option<String>,
    pub source: Source,
    pub secret: bool,
    pub help: &'static str,
}

impl Effective {
    /// The value for display, with any password masked.
    pub fn shown(&self) -> String {
        match &self.value {
            None => "(unset)".into(),
            Some(v) if self.secret => crate::text::mask_url_password(v),
            Some(v) => v.clone(),
        }
    }
}

impl Settings {
    pub fn resolve(layers: &Layers) -> Result<Settings, ConfigError> {
        let mut effective = Vec::with_capacity(KEYS.len());
        for k in KEYS {
            let (value, source) = if let Some(v) = layers.flags.get(k.name) {
                (Some(v.clone()), Source::Flag(k.flag))
            } else if let Some(v) = layers.env.get(k.name) {
                (Some(v.clone()), Source::Env(k.env))
            } else if let Some(v) = layers.file.as_ref().and_then(|(_, m)| m.get(k.name)) {
                let path = layers
                    .file
                    .as_ref()
                    .map(|(p, _)| p.clone())
                    .unwrap_or_default();
                (Some(v.clone()), Source::File(path))
            } else {
                (k.default.map(str::to_string), Source::Default)
            };
            if let Some(v) = &value
                && !k.kind.check(v)
            {
                return Err(ConfigError::Invalid {
                    key: k.name,
                    origin: source,
                    expected: k.kind.expected(),
                    got: if k.secret && matches!(k.kind, Kind::PostgresUrl) {
                        crate::text::mask_url_password(v)
                    } else if k.secret {
                        "(a secret: not shown)".into()
                    } else {
                        v.clone()
                    },
                });
            }
            effective.push(Effective {
                key: k.name,
                value,
                source,
                secret: k.secret,
                help: k.help,
            });
        }
        let s = Settings::from_effective(effective)?;
        if s.backup_bucket.is_some() && s.backup_key.is_none() {
            let k = key_named("backup_key").unwrap_or(&KEYS[0]);
            return Err(ConfigError::Needed {
                key: k.name,
                env: k.env,
                flag: k.flag,
                because: "backup_bucket is: backups are encrypted with it (generate one with `openssl rand -base64 32` and keep a copy apart)",
            });
        }
        Ok(s)
    }

    /// Where the console writes its log files.
    pub fn log_dir(&self) -> PathBuf {
        self.log_dir
            .clone()
            .unwrap_or_else(|| default_state_dir().join("logs"))
    }

    pub fn database_url(&self) -> Result<&str, ConfigError> {
        self.database_url.as_deref().ok_or_else(|| {
            let k = key_named("database_url").unwrap_or(&KEYS[0]);
            ConfigError::Missing {
                key: k.name,
                env: k.env,
                flag: k.flag,
            }
        })
    }

    /// The values file for an engine's chart in this environment: the one
    /// values_file names for it (scoped first), else the chart's own.
    pub fn values_file_for(&self, engine: EngineKind) -> PathBuf {
        let scoped = files_for(&self.values_file, engine);
        let named = scoped.last().cloned();
        // The chart files follow the original design's names: values-local.yaml
        // and values-prod.yaml.
        let short = match self.environment {
            Environment::Production => "prod",
            Environment::Local => "local",
        };
        named.unwrap_or_else(|| {
            self.chart_dir_for(engine)
                .join(format!("values-{short}.yaml"))
        })
    }

    /// Every values file for an engine's chart, in the order helm applies
    /// them: the environment's (or values_file), then extra_values_files.
    pub fn values_files_for(&self, engine: EngineKind) -> Vec<PathBuf> {
        let mut files = vec![self.values_file_for(engine)];
        files.extend(files_for(&self.extra_values_files, engine));
        files
    }

    pub fn chart_dir_for(&self, engine: EngineKind) -> PathBuf {
        self.charts_dir.join(engine.spec().chart)
    }

    /// A printable table of every key: value (secrets masked) and origin.
    pub fn describe(&self) -> String {
        let width = KEYS.iter().map(|k| k.name.len()).max().unwrap_or(10);
        let mut out = String::new();
        for e in &self.effective {
            out.push_str(&format!(
                "{:<width$}  {:<40}  {}\n",
                e.key,
                e.shown(),
                e.source,
                width = width
            ));
        }
        out
    }
}

/// The commented example file in `config/` lists every key; this keeps it honest.
pub fn key_names() -> impl Iterator<Item = &'static str> {
    KEYS.iter().map(|k| k.name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layers(
        file: &[(&str, &str)],
        env: &[(&'static str, &str)],
        flags: &[(&'static str, &str)],
    ) -> Layers {
        Layers {
            file: Some((
                PathBuf::from("/etc/sw.toml"),
                file.iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            )),
            env: env.iter().map(|(k, v)| (*k, v.to_string())).collect(),
            flags: flags.iter().map(|(k, v)| (*k, v.to_string())).collect(),
        }
    }

    #[test]
    fn a_backup_bucket_needs_a_key_and_a_bad_key_is_never_echoed() {
        let e = Settings::resolve(&layers(&[], &[], &[("backup_bucket", "b")])).unwrap_err();
        let text = e.to_string();
        assert!(text.contains("`backup_key` must be set"), "{text}");
        assert!(text.contains("openssl rand -base64 32"), "{text}");
        let e = Settings::resolve(&layers(
            &[],
            &[("backup_key", "c2VjcmV0LXRvby1zaG9ydA==")],
            &[],
        ))
        .unwrap_err()
        .to_string();
        assert!(e.contains("32 random bytes in base64"), "{e}");
        assert!(!e.contains("c2VjcmV0"), "the secret is not shown: {e}");
        let key = "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=";
        let s = Settings::resolve(&layers(
            &[],
            &[("backup_key", key)],
            &[
                ("backup_bucket", "b"),
                ("backup_endpoint", "http://127.0.0.1:9000"),
            ],
        ))
        .unwrap();
        assert_eq!(s.backup_bucket.as_deref(), Some("b"));
        assert_eq!(s.backup_keep_deleted_days, 7);
        let e = Settings::resolve(&layers(&[], &[], &[("backup_endpoint", "minio:9000")]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("a URL such as"), "{e}");
    }

    #[test]
    fn flag_beats_env_beats_file_beats_default() {
        let s = Settings::resolve(&layers(
            &[
                ("max_stores", "10"),
                ("max_stores_per_user", "2"),
                ("max_concurrent_provisions", "7"),
            ],
            &[("max_stores", "20"), ("max_stores_per_user", "3")],
            &[("max_stores", "30")],
        ))
        .unwrap();
        assert_eq!(s.max_stores, 30);
        assert_eq!(s.max_stores_per_user, 3);
        assert_eq!(s.max_concurrent_provisions, 7);
        assert_eq!(s.lease, Duration::from_secs(30));
        let origin = |k: &str| {
            s.effective
                .iter()
                .find(|e| e.key == k)
                .unwrap()
                .source
                .clone()
        };
        assert_eq!(origin("max_stores"), Source::Flag("max-stores"));
        assert_eq!(
            origin("max_stores_per_user"),
            Source::Env("MAX_STORES_PER_USER")
        );
        assert_eq!(
            origin("max_concurrent_provisions"),
            Source::File(PathBuf::from("/etc/sw.toml"))
        );
        assert_eq!(origin("lease_secs"), Source::Default);
    }

    #[test]
    fn malformed_value_names_key_source_and_expectation() {
        let err = Settings::resolve(&layers(&[], &[("max_stores", "lots")], &[])).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("`max_stores`"), "{msg}");
        assert!(msg.contains("environment variable MAX_STORES"), "{msg}");
        assert!(msg.contains("whole number"), "{msg}");
        assert!(msg.contains("\"lots\""), "{msg}");

        let err = Settings::resolve(&layers(&[("environment", "staging")], &[], &[])).unwrap_err();
        assert!(
            err.to_string().contains("one of: local, production"),
            "{err}"
        );
        let err =
            Settings::resolve(&layers(&[], &[], &[("ingress_suffix", "Bad Suffix")])).unwrap_err();
        assert!(err.to_string().contains("flag --ingress-suffix"), "{err}");
    }

    #[test]
    fn integers_out_of_range_are_refused_not_truncated() {
        // 2^32 would be 0 workers and 2^32+1 one store after an `as u32`.
        let err = Settings::resolve(&layers(&[], &[], &[("workers", "4294967296")])).unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("`workers`") && msg.contains("flag --workers"),
            "{msg}"
        );
        assert!(
            msg.contains("from 0 to 256") && msg.contains("4294967296"),
            "{msg}"
        );
        let err =
            Settings::resolve(&layers(&[], &[], &[("max_stores", "4294967297")])).unwrap_err();
        assert!(err.to_string().contains("from 1 to 1000000"), "{err}");
        let err = Settings::resolve(&layers(&[], &[("lease_secs", "1")], &[])).unwrap_err();
        assert!(err.to_string().contains("seconds from 2 to 3600"), "{err}");
        let err = Settings::resolve(&layers(&[], &[], &[("workers", "-1")])).unwrap_err();
        assert!(err.to_string().contains("whole number"), "{err}");
        let s = Settings::resolve(&layers(&[], &[], &[("workers", "256")])).unwrap();
        assert_eq!(s.workers, 256);
    }

    #[test]
    fn choices_are_enums_and_defaults_come_from_the_table() {
        let s = Settings::resolve(&Layers::default()).unwrap();
        for k in KEYS {
            let e = s.effective.iter().find(|e| e.key == k.name).unwrap();
            assert_eq!(e.value.as_deref(), k.default, "{}", k.name);
            assert_eq!(e.source, Source::Default);
        }
        assert_eq!(s.environment, Environment::Local);
        assert_eq!(s.auth_mode, AuthMode::Password);
        assert_eq!(s.log_format, LogFormat::Text);
        assert_eq!(s.log_level, LogLevel::Info);
        assert_eq!(s.workers, 12);
        assert_eq!(s.lease, Duration::from_secs(30));
        assert_eq!(s.listen.port(), 8080);
        assert!(s.cors_origins.is_empty() && s.service_account.is_none());
        let s = Settings::resolve(&layers(
            &[("auth_mode", "proxy"), ("log_format", "json")],
            &[("cors_origins", "https://a, https://b,")],
            &[],
        ))
        .unwrap();
        assert_eq!(s.auth_mode, AuthMode::Proxy);
        assert_eq!(s.log_format, LogFormat::Json);
        assert_eq!(s.cors_origins, vec!["https://a", "https://b"]);
        let err = Settings::resolve(&layers(&[("auth_mode", "none")], &[], &[])).unwrap_err();
        assert!(
            err.to_string().contains("one of: password, proxy, demo"),
            "{err}"
        );
    }

    #[test]
    fn every_key_has_its_own_env_and_flag() {
        for (i, a) in KEYS.iter().enumerate() {
            assert!(!a.help.trim().is_empty(), "{} has no help", a.name);
            for b in &KEYS[i + 1..] {
                assert!(
                    a.name != b.name && a.env != b.env && a.flag != b.flag,
                    "{} / {}",
                    a.name,
                    b.name
                );
            }
        }
    }

    #[test]
    fn file_errors_name_the_file_and_the_key() {
        let p = Path::new("/x/config.toml");
        let err = parse_file(p, "max_storez = 3").unwrap_err().to_string();
        assert!(
            err.contains("unknown key `max_storez`") && err.contains("/x/config.toml"),
            "{err}"
        );
        let err = parse_file(p, "max_stores = ").unwrap_err().to_string();
        assert!(err.contains("not valid TOML"), "{err}");
        let ok = parse_file(p, "max_stores = 4\ntls = true\n").unwrap();
        assert_eq!(ok.get("max_stores").map(String::as_str), Some("4"));
        assert_eq!(ok.get("tls").map(String::as_str), Some("true"));
    }

    #[test]
    fn passwords_are_masked_everywhere_they_are_shown() {
        assert_eq!(
            crate::text::mask_url_password("postgres://sw:s3cret@127.0.0.1:5432/sw"),
            "postgres://sw:****@127.0.0.1:5432/sw"
        );
        let s = Settings::resolve(&layers(
            &[],
            &[("database_url", "postgres://sw:s3cret@localhost/sw")],
            &[],
        ))
        .unwrap();
        assert!(!s.describe().contains("s3cret"));
        assert!(s.describe().contains("postgres://sw:****@localhost/sw"));
        let err = Settings::resolve(&layers(&[], &[("database_url", "mysql://a:s3cret@x")], &[]))
            .unwrap_err();
        assert!(!err.to_string().contains("s3cret"), "{err}");
    }

    /// Issue 27 (16): `*` used to pass here and panic at start (a wildcard
    /// cannot go with credentials); now it and anything that is not an
    /// origin are refused with the key named.
    #[test]
    fn cors_origins_must_be_origins() {
        for bad in [
            "*",
            "https://a.example.com, *",
            "a.example.com",
            "https://a.example.com/path",
            "https://*.example.com",
        ] {
            let err =
                Settings::resolve(&layers(&[], &[("cors_origins", bad)], &[])).expect_err(bad);
            let msg = err.to_string();
            assert!(
                msg.contains("cors_origins") && msg.contains("origins such as"),
                "{bad}: {msg}"
            );
        }
        let s = Settings::resolve(&layers(
            &[],
            &[(
                "cors_origins",
                "https://admin.example.com, http://localhost:5173",
            )],
            &[],
        ))
        .unwrap();
        assert_eq!(s.cors_origins.len(), 2);
    }

    #[test]
    fn trusted_proxy_cidrs_parse_and_match() {
        let list = parse_cidrs("10.42.0.0/16, 127.0.0.1 ,::1/128").unwrap();
        assert_eq!(list.len(), 3);
        let ip = |s: &str| s.parse::<std::net::IpAddr>().unwrap();
        assert!(list[0].contains(ip("10.42.7.9")));
        assert!(!list[0].contains(ip("10.43.0.1")));
        assert!(list[1].contains(ip("127.0.0.1")));
        assert!(list[1].contains(ip("::ffff:127.0.0.1")));
        assert!(!list[1].contains(ip("127.0.0.2")));
        assert!(list[2].contains(ip("::1")));
        assert!(Cidr::parse("0.0.0.0/0").unwrap().contains(ip("8.8.8.8")));
        assert!(parse_cidrs("").unwrap().is_empty());
        assert!(parse_cidrs("10.0.0.0/33").is_err());
        assert!(parse_cidrs("ingress").is_err());
        let err = Settings::resolve(&layers(&[], &[("trusted_proxies", "10.0.0.0/99")], &[]))
            .unwrap_err();
        assert!(err.to_string().contains("trusted_proxies"), "{err}");
        let s = Settings::resolve(&layers(&[], &[("trusted_proxies", "10.0.0.0/8")], &[])).unwrap();
        assert_eq!(s.trusted_proxies.len(), 1);
    }

    #[test]
    fn values_file_follows_environment_unless_set() {
        let s = Settings::resolve(&layers(&[("environment", "production")], &[], &[])).unwrap();
        assert_eq!(
            s.values_file_for(EngineKind::Medusa),
            PathBuf::from("charts/medusa/values-prod.yaml")
        );
    }

    #[test]
    fn values_files_can_be_scoped_to_one_engine() {
        let s = Settings::resolve(&layers(
            &[],
            &[
                ("values_file", "medusa=/m.yaml, /all.yaml"),
                (
                    "extra_values_files",
                    &format!("/a.yaml,{}=/w.yaml,medusa=/x.yaml", EngineKind::DEFAULT),
                ),
            ],
            &[],
        ))
        .unwrap();
        assert_eq!(
            s.values_files_for(EngineKind::DEFAULT),
            ["/all.yaml", "/a.yaml", "/w.yaml"].map(PathBuf::from)
        );
        assert_eq!(
            s.values_files_for(EngineKind::Medusa),
            ["/all.yaml", "/a.yaml", "/x.yaml"].map(PathBuf::from)
        );
        let err = Settings::resolve(&layers(
            &[],
            &[("extra_values_files", "shopify=/s.yaml")],
            &[],
        ))
        .unwrap_err();
        assert!(err.to_string().contains("ENGINE=PATH"), "{err}");
    }
}

#[cfg(test)]
mod example_file {
    use super::*;

    /// The commented example in `config/` parses and names every key.
    #[test]
    fn the_example_file_parses_and_mentions_every_key() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/store-weaver.example.toml");
        let text = std::fs::read_to_string(&path).unwrap();
        let parsed = parse_file(&path, &text).unwrap();
        Settings::resolve(&Layers {
            file: Some((path.clone(), parsed)),
            ..Default::default()
        })
        .unwrap();
        for key in key_names() {
            assert!(
                text.contains(key),
                "config/store-weaver.example.toml does not mention `{key}`"
            );
        }
    }
}
