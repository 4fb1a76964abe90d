//! Settings, layered: defaults < TOML file in the XDG config dir < environment
//! < command-line flags. This is the one place that knows every key; each
//! effective value remembers where it came from so `store-weaver config` can
//! say so.

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
            Source::Flag(flag) => write!(f, "flag {flag}"),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("invalid value for `{key}` from {origin}: expected {expected}, got {got:?}")]
    Invalid {
        key: &'static str,
        origin: Source,
        expected: &'static str,
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
        "`{key}` is required but not set; set it in the config file, with {env}, or with {flag}"
    )]
    Missing {
        key: &'static str,
        env: &'static str,
        flag: &'static str,
    },
}

#[derive(Debug, Clone, Copy)]
enum Kind {
    Text,
    Path,
    PostgresUrl,
    Count {
        min: u64,
    },
    Seconds {
        min: u64,
    },
    Bool,
    OneOf(&'static [&'static str]),
    Suffix,
    SocketAddr,
    /// Empty, or `namespace/name`.
    ServiceAccount,
}

impl Kind {
    fn expected(self) -> &'static str {
        match self {
            Kind::Text => "text",
            Kind::Path => "a file path",
            Kind::PostgresUrl => "a URL such as postgres://user:password@host:5432/db",
            Kind::Count { min: 0 } => "a whole number (0 or more)",
            Kind::Count { .. } => "a whole number, 1 or more",
            Kind::Seconds { .. } => "a number of seconds, 1 or more",
            Kind::Bool => "true or false",
            Kind::OneOf(_) => "one of the listed choices",
            Kind::Suffix => "a domain suffix such as .localhost or .shops.example.com",
            Kind::SocketAddr => "an address and port such as 127.0.0.1:8080",
            Kind::ServiceAccount => "namespace/name, e.g. store-weaver-system/store-weaver",
        }
    }

    fn check(self, v: &str) -> bool {
        match self {
            Kind::Text => true,
            Kind::Path => !v.trim().is_empty(),
            Kind::PostgresUrl => {
                (v.starts_with("postgres://") || v.starts_with("postgresql://")) && v.len() > 13
            }
            Kind::Count { min } | Kind::Seconds { min } => {
                v.trim().parse::<u64>().is_ok_and(|n| n >= min)
            }
            Kind::Bool => matches!(v.trim(), "true" | "false" | "1" | "0" | "yes" | "no"),
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
            Kind::ServiceAccount => {
                let v = v.trim();
                v.is_empty()
                    || v.split_once('/').is_some_and(|(ns, name)| {
                        !ns.is_empty() && !name.is_empty() && !name.contains('/')
                    })
            }
        }
    }
}

struct Key {
    name: &'static str,
    env: &'static str,
    flag: &'static str,
    kind: Kind,
    default: Option<&'static str>,
    secret: bool,
    help: &'static str,
}

const fn key(
    name: &'static str,
    env: &'static str,
    flag: &'static str,
    kind: Kind,
    default: Option<&'static str>,
    help: &'static str,
) -> Key {
    Key {
        name,
        env,
        flag,
        kind,
        default,
        secret: false,
        help,
    }
}

const ENVIRONMENTS: &[&str] = &["local", "production"];
const AUTH_MODES: &[&str] = &["password", "proxy", "demo"];
const LOG_LEVELS: &[&str] = &["error", "warn", "info", "debug", "trace"];
const LOG_FORMATS: &[&str] = &["text", "json"];

/// Every key, in the order `config` prints them.
const KEYS: &[Key] = &[
    Key {
        secret: true,
        ..key(
            "database_url",
            "DATABASE_URL",
            "--database-url",
            Kind::PostgresUrl,
            None,
            "PostgreSQL connection URL",
        )
    },
    key(
        "kubeconfig",
        "KUBECONFIG",
        "--kubeconfig",
        Kind::Path,
        None,
        "kubeconfig file; unset: in-cluster config or ~/.kube/config",
    ),
    key(
        "kube_context",
        "STORE_WEAVER_KUBE_CONTEXT",
        "--context",
        Kind::Text,
        None,
        "kubeconfig context to use; unset: the current context",
    ),
    key(
        "environment",
        "STORE_WEAVER_ENVIRONMENT",
        "--environment",
        Kind::OneOf(ENVIRONMENTS),
        Some("local"),
        "local or production: picks the chart values file and the URL scheme",
    ),
    key(
        "ingress_suffix",
        "INGRESS_SUFFIX",
        "--ingress-suffix",
        Kind::Suffix,
        Some(".localhost"),
        "stores are served at <slug><suffix>",
    ),
    key(
        "tls",
        "STORE_WEAVER_TLS",
        "--tls",
        Kind::Bool,
        Some("false"),
        "store URLs use https (production with cert-manager)",
    ),
    key(
        "charts_dir",
        "STORE_WEAVER_CHARTS_DIR",
        "--charts-dir",
        Kind::Path,
        Some("charts"),
        "directory that holds one chart per engine",
    ),
    key(
        "values_file",
        "STORE_WEAVER_VALUES_FILE",
        "--values-file",
        Kind::Path,
        None,
        "values file for the store chart; unset: charts/<engine>/values-<environment>.yaml",
    ),
    key(
        "helm_bin",
        "HELM_BIN",
        "--helm",
        Kind::Path,
        Some("helm"),
        "helm executable",
    ),
    key(
        "store_cluster_role",
        "STORE_WEAVER_STORE_CLUSTER_ROLE",
        "--store-cluster-role",
        Kind::Text,
        Some(""),
        "ClusterRole bound to the platform's service account inside each store namespace (least privilege); empty: none",
    ),
    key(
        "service_account",
        "STORE_WEAVER_SERVICE_ACCOUNT",
        "--service-account",
        Kind::ServiceAccount,
        Some(""),
        "the platform's service account as namespace/name, the subject of that binding",
    ),
    key(
        "max_stores",
        "MAX_STORES",
        "--max-stores",
        Kind::Count { min: 1 },
        Some("100"),
        "stores in total (all users)",
    ),
    key(
        "max_stores_per_user",
        "MAX_STORES_PER_USER",
        "--max-stores-per-user",
        Kind::Count { min: 1 },
        Some("5"),
        "stores per owner",
    ),
    key(
        "max_concurrent_provisions",
        "MAX_CONCURRENT_PROVISIONS",
        "--max-concurrent-provisions",
        Kind::Count { min: 1 },
        Some("3"),
        "provisions running at once, across every process",
    ),
    key(
        "provision_timeout_secs",
        "PROVISION_TIMEOUT_SECS",
        "--provision-timeout",
        Kind::Seconds { min: 1 },
        Some("600"),
        "a provision that is not ready after this fails and is cleaned up",
    ),
    key(
        "delete_timeout_secs",
        "DELETE_TIMEOUT_SECS",
        "--delete-timeout",
        Kind::Seconds { min: 1 },
        Some("300"),
        "how long to wait for a store's namespace to disappear",
    ),
    key(
        "lease_secs",
        "STORE_WEAVER_LEASE_SECS",
        "--lease",
        Kind::Seconds { min: 2 },
        Some("30"),
        "a worker that stops renewing its lease for this long loses the operation to another worker",
    ),
    key(
        "workers",
        "STORE_WEAVER_WORKERS",
        "--workers",
        Kind::Count { min: 0 },
        Some("4"),
        "operation workers in this process (0: none)",
    ),
    key(
        "listen",
        "STORE_WEAVER_LISTEN",
        "--listen",
        Kind::SocketAddr,
        Some("127.0.0.1:8080"),
        "address for --serve",
    ),
    key(
        "auth_mode",
        "STORE_WEAVER_AUTH",
        "--auth",
        Kind::OneOf(AUTH_MODES),
        Some("password"),
        "--serve sign-in: password (users in Postgres), proxy (trusted header), demo (anyone is anyone; never in production)",
    ),
    key(
        "proxy_user_header",
        "STORE_WEAVER_PROXY_USER_HEADER",
        "--proxy-user-header",
        Kind::Text,
        Some("x-forwarded-user"),
        "header that carries the user when auth = proxy",
    ),
    key(
        "cors_origins",
        "STORE_WEAVER_CORS_ORIGINS",
        "--cors-origins",
        Kind::Text,
        Some(""),
        "comma-separated origins allowed to call the API from a browser",
    ),
    key(
        "create_rate_per_minute",
        "STORE_WEAVER_CREATE_RATE",
        "--create-rate",
        Kind::Count { min: 1 },
        Some("10"),
        "creates per minute allowed per user and per client address",
    ),
    key(
        "log_level",
        "STORE_WEAVER_LOG",
        "--log-level",
        Kind::OneOf(LOG_LEVELS),
        Some("info"),
        "log level",
    ),
    key(
        "log_format",
        "STORE_WEAVER_LOG_FORMAT",
        "--log-format",
        Kind::OneOf(LOG_FORMATS),
        Some("text"),
        "text or json",
    ),
    key(
        "log_dir",
        "STORE_WEAVER_LOG_DIR",
        "--log-dir",
        Kind::Path,
        None,
        "directory for the console's log files; unset: the XDG state dir",
    ),
];

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
            Some(v) if self.secret => mask_url_password(v),
            Some(v) => v.clone(),
        }
    }
}

pub fn mask_url_password(url: &str) -> String {
    // postgres://user:password@host/db -> postgres://user:****@host/db
    if let Some(scheme_end) = url.find("://") {
        let rest = &url[scheme_end + 3..];
        if let Some(at) = rest.rfind('@') {
            let userinfo = &rest[..at];
            if let Some(colon) = userinfo.find(':') {
                return format!(
                    "{}{}:****{}",
                    &url[..scheme_end + 3],
                    &userinfo[..colon],
                    &rest[at..]
                );
            }
        }
    }
    url.to_string()
}

/// The typed settings every part of the program reads.
#[derive(Debug, Clone)]
pub struct Settings {
    pub database_url: Option<String>,
    pub kubeconfig: Option<PathBuf>,
    pub kube_context: Option<String>,
    pub environment: String,
    pub ingress_suffix: String,
    pub tls: bool,
    pub charts_dir: PathBuf,
    pub values_file: Option<PathBuf>,
    pub helm_bin: PathBuf,
    pub store_cluster_role: Option<String>,
    pub service_account: Option<(String, String)>,
    pub max_stores: u32,
    pub max_stores_per_user: u32,
    pub max_concurrent_provisions: u32,
    pub provision_timeout: Duration,
    pub delete_timeout: Duration,
    pub lease: Duration,
    pub workers: u32,
    pub listen: std::net::SocketAddr,
    pub auth_mode: String,
    pub proxy_user_header: String,
    pub cors_origins: Vec<String>,
    pub create_rate_per_minute: u32,
    pub log_level: String,
    pub log_format: String,
    pub log_dir: PathBuf,
    /// Every key with its origin, for `store-weaver config`.
    pub effective: Vec<Effective>,
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
                let expected = match k.kind {
                    Kind::OneOf(choices) => leak_choices(choices),
                    other => other.expected(),
                };
                return Err(ConfigError::Invalid {
                    key: k.name,
                    origin: source,
                    expected,
                    got: if k.secret {
                        mask_url_password(v)
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
        let get = |name: &str| -> Option<String> {
            effective
                .iter()
                .find(|e| e.key == name)
                .and_then(|e| e.value.clone())
                .map(|v| v.trim().to_string())
        };
        // Values were checked above, so these parses cannot fail; fall back to
        // the defaults rather than panic all the same.
        let num = |name: &str, fallback: u64| -> u64 {
            get(name).and_then(|v| v.parse().ok()).unwrap_or(fallback)
        };
        let boolean = |name: &str| matches!(get(name).as_deref(), Some("true" | "1" | "yes"));
        Ok(Settings {
            database_url: get("database_url"),
            kubeconfig: get("kubeconfig").map(PathBuf::from),
            kube_context: get("kube_context").filter(|s| !s.is_empty()),
            environment: get("environment").unwrap_or_else(|| "local".into()),
            ingress_suffix: get("ingress_suffix").unwrap_or_else(|| ".localhost".into()),
            tls: boolean("tls"),
            charts_dir: PathBuf::from(get("charts_dir").unwrap_or_else(|| "charts".into())),
            values_file: get("values_file").map(PathBuf::from),
            helm_bin: PathBuf::from(get("helm_bin").unwrap_or_else(|| "helm".into())),
            store_cluster_role: get("store_cluster_role").filter(|s| !s.is_empty()),
            service_account: get("service_account").and_then(|s| {
                s.split_once('/')
                    .map(|(ns, name)| (ns.to_string(), name.to_string()))
            }),
            max_stores: num("max_stores", 100) as u32,
            max_stores_per_user: num("max_stores_per_user", 5) as u32,
            max_concurrent_provisions: num("max_concurrent_provisions", 3) as u32,
            provision_timeout: Duration::from_secs(num("provision_timeout_secs", 600)),
            delete_timeout: Duration::from_secs(num("delete_timeout_secs", 300)),
            lease: Duration::from_secs(num("lease_secs", 30)),
            workers: num("workers", 4) as u32,
            listen: get("listen")
                .and_then(|v| v.parse().ok())
                .unwrap_or_else(|| std::net::SocketAddr::from(([127, 0, 0, 1], 8080))),
            auth_mode: get("auth_mode").unwrap_or_else(|| "password".into()),
            proxy_user_header: get("proxy_user_header")
                .unwrap_or_else(|| "x-forwarded-user".into())
                .to_ascii_lowercase(),
            cors_origins: get("cors_origins")
                .map(|s| {
                    s.split(',')
                        .map(|o| o.trim().to_string())
                        .filter(|o| !o.is_empty())
                        .collect()
                })
                .unwrap_or_default(),
            create_rate_per_minute: num("create_rate_per_minute", 10) as u32,
            log_level: get("log_level").unwrap_or_else(|| "info".into()),
            log_format: get("log_format").unwrap_or_else(|| "text".into()),
            log_dir: get("log_dir")
                .map(PathBuf::from)
                .unwrap_or_else(|| default_state_dir().join("logs")),
            effective,
        })
    }

    pub fn database_url(&self) -> Result<&str, ConfigError> {
        self.database_url.as_deref().ok_or(ConfigError::Missing {
            key: "database_url",
            env: "DATABASE_URL",
            flag: "--database-url",
        })
    }

    /// The values file for an engine's chart in this environment.
    pub fn values_file_for(&self, engine: &str) -> PathBuf {
        // The chart files follow the original design's names: values-local.yaml
        // and values-prod.yaml.
        let short = match self.environment.as_str() {
            "production" => "prod",
            other => other,
        };
        self.values_file.clone().unwrap_or_else(|| {
            self.charts_dir
                .join(engine)
                .join(format!("values-{short}.yaml"))
        })
    }

    pub fn chart_dir_for(&self, engine: &str) -> PathBuf {
        self.charts_dir.join(engine)
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

fn leak_choices(choices: &'static [&'static str]) -> &'static str {
    // A handful of small constant lists: the joined forms are built once each.
    use std::sync::OnceLock;
    static JOINED: OnceLock<std::sync::Mutex<BTreeMap<usize, &'static str>>> = OnceLock::new();
    let map = JOINED.get_or_init(Default::default);
    let mut guard = match map.lock() {
        Ok(g) => g,
        Err(poisoned) => poisoned.into_inner(),
    };
    let id = choices.as_ptr() as usize;
    guard
        .entry(id)
        .or_insert_with(|| Box::leak(format!("one of: {}", choices.join(", ")).into_boxed_str()))
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
        assert_eq!(origin("max_stores"), Source::Flag("--max-stores"));
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
            mask_url_password("postgres://sw:s3cret@127.0.0.1:5432/sw"),
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

    #[test]
    fn values_file_follows_environment_unless_set() {
        let s = Settings::resolve(&layers(&[("environment", "production")], &[], &[])).unwrap();
        assert_eq!(
            s.values_file_for("woocommerce"),
            PathBuf::from("charts/woocommerce/values-prod.yaml")
        );
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
