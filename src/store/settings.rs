//! The per-store settings an operator may change on a running store, and the
//! rules for changing them. Pure: the faces parse `key=value` with it, the
//! engine turns the result into chart values with it.
//!
//! Only what is set is recorded; what is not set is the chart's default.

use serde::{Deserialize, Serialize};
use std::fmt;

/// What the operator chose for one store. `None` = the chart's default.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
// Missing keys are None without `serde(default)`, which would also mark
// every key required in the API's schema.
#[serde(deny_unknown_fields)]
pub struct StoreSettings {
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(required = false, nullable = false)]
    pub wordpress_image: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(required = false, nullable = false)]
    pub database_image: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(required = false, nullable = false)]
    pub wordpress_cpu: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(required = false, nullable = false)]
    pub wordpress_memory: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(required = false, nullable = false)]
    pub database_cpu: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(required = false, nullable = false)]
    pub database_memory: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(required = false, nullable = false)]
    pub wordpress_volume: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(required = false, nullable = false)]
    pub database_volume: Option<String>,
    /// 1 runs the storefront, 0 pauses it (the data stays).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(required = false, nullable = false)]
    pub replicas: Option<u8>,
}

/// One settable key: its name on the command line and in the API, what it
/// means, and where it goes in the chart's values.
pub struct Key {
    pub name: &'static str,
    pub doc: &'static str,
    kind: KeyKind,
    path: &'static [&'static str],
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum KeyKind {
    ImageTag,
    Cpu,
    /// Memory, with the smallest value the chart's requests allow.
    Memory(u64),
    Volume,
    Replicas,
}

const MI: u64 = 1 << 20;

/// Every settable key. The chart's own requests are 100m CPU and 256Mi of
/// memory per container, and a limit below its request is refused by
/// Kubernetes, so those are the floors.
pub const KEYS: &[Key] = &[
    Key {
        name: "wordpress.image",
        doc: "WordPress image tag, e.g. 6.8.3-php8.3-apache",
        kind: KeyKind::ImageTag,
        path: &["wordpress", "image", "tag"],
    },
    Key {
        name: "database.image",
        doc: "MariaDB image tag, e.g. 11.4",
        kind: KeyKind::ImageTag,
        path: &["database", "image", "tag"],
    },
    Key {
        name: "wordpress.cpu",
        doc: "WordPress CPU limit, e.g. 500m or 2 (at least 100m)",
        kind: KeyKind::Cpu,
        path: &["wordpress", "resources", "limits", "cpu"],
    },
    Key {
        name: "wordpress.memory",
        doc: "WordPress memory limit, e.g. 1Gi (at least 256Mi)",
        kind: KeyKind::Memory(256 * MI),
        path: &["wordpress", "resources", "limits", "memory"],
    },
    Key {
        name: "database.cpu",
        doc: "database CPU limit, e.g. 1 (at least 100m)",
        kind: KeyKind::Cpu,
        path: &["database", "resources", "limits", "cpu"],
    },
    Key {
        name: "database.memory",
        doc: "database memory limit, e.g. 2Gi (at least 256Mi)",
        kind: KeyKind::Memory(256 * MI),
        path: &["database", "resources", "limits", "memory"],
    },
    Key {
        name: "wordpress.volume",
        doc: "size of the wp-content volume, e.g. 5Gi (grow only)",
        kind: KeyKind::Volume,
        path: &["wordpress", "persistence", "size"],
    },
    Key {
        name: "database.volume",
        doc: "size of the database volume, e.g. 5Gi (grow only)",
        kind: KeyKind::Volume,
        path: &["database", "persistence", "size"],
    },
    Key {
        name: "replicas",
        doc: "1 runs the storefront, 0 pauses it (data kept)",
        kind: KeyKind::Replicas,
        path: &["wordpress", "replicas"],
    },
];

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{key}: {message}")]
pub struct SettingError {
    pub key: String,
    pub message: String,
}

fn err(key: &str, message: impl Into<String>) -> SettingError {
    SettingError {
        key: key.to_string(),
        message: message.into(),
    }
}

fn key_names() -> String {
    KEYS.iter().map(|k| k.name).collect::<Vec<_>>().join(", ")
}

impl StoreSettings {
    fn slot(&mut self, name: &str) -> Option<&mut Option<String>> {
        Some(match name {
            "wordpress.image" => &mut self.wordpress_image,
            "database.image" => &mut self.database_image,
            "wordpress.cpu" => &mut self.wordpress_cpu,
            "wordpress.memory" => &mut self.wordpress_memory,
            "database.cpu" => &mut self.database_cpu,
            "database.memory" => &mut self.database_memory,
            "wordpress.volume" => &mut self.wordpress_volume,
            "database.volume" => &mut self.database_volume,
            _ => return None,
        })
    }

    fn value(&self, name: &str) -> Option<String> {
        match name {
            "replicas" => self.replicas.map(|r| r.to_string()),
            "wordpress.image" => self.wordpress_image.clone(),
            "database.image" => self.database_image.clone(),
            "wordpress.cpu" => self.wordpress_cpu.clone(),
            "wordpress.memory" => self.wordpress_memory.clone(),
            "database.cpu" => self.database_cpu.clone(),
            "database.memory" => self.database_memory.clone(),
            "wordpress.volume" => self.wordpress_volume.clone(),
            "database.volume" => self.database_volume.clone(),
            _ => None,
        }
    }

    /// Sets one key from text (`--set key=value`, an API field), checking the
    /// value. `default` (or an empty value) puts the chart's default back.
    pub fn set(&mut self, name: &str, raw: &str) -> Result<(), SettingError> {
        let Some(key) = KEYS.iter().find(|k| k.name == name) else {
            return Err(err(
                name,
                format!("unknown setting; the settings are: {}", key_names()),
            ));
        };
        let v = raw.trim();
        let clear = v.is_empty() || v == "default";
        if key.kind == KeyKind::Replicas {
            self.replicas = if clear {
                None
            } else {
                match v {
                    "0" => Some(0),
                    "1" => Some(1),
                    _ => return Err(err(name, "must be 0 (paused) or 1 (running)")),
                }
            };
            return Ok(());
        }
        let value = if clear {
            None
        } else {
            check_value(name, key.kind, v)?;
            Some(v.to_string())
        };
        if let Some(slot) = self.slot(name) {
            *slot = value;
        }
        Ok(())
    }

    /// Parses `key=value` pairs on top of these settings.
    pub fn with_assignments(&self, pairs: &[String]) -> Result<StoreSettings, SettingError> {
        let mut out = self.clone();
        for pair in pairs {
            let Some((k, v)) = pair.split_once('=') else {
                return Err(err(
                    pair,
                    "expected key=value, e.g. wordpress.image=6.8.3-php8.3-apache",
                ));
            };
            out.set(k.trim(), v)?;
        }
        Ok(out)
    }

    /// Checks settings that came whole (an API body, a stored record).
    pub fn validate(&self) -> Result<(), SettingError> {
        let mut copy = StoreSettings::default();
        for key in KEYS {
            if let Some(v) = self.value(key.name) {
                copy.set(key.name, &v)?;
            }
        }
        Ok(())
    }

    /// The keys that are set, with their values, in the order of [`KEYS`].
    pub fn entries(&self) -> Vec<(&'static str, String)> {
        KEYS.iter()
            .filter_map(|k| self.value(k.name).map(|v| (k.name, v)))
            .collect()
    }

    pub fn is_empty(&self) -> bool {
        self.entries().is_empty()
    }

    /// The chart values these settings stand for, to merge over the
    /// platform's own values.
    pub fn chart_values(&self) -> serde_json::Value {
        let mut root = serde_json::Value::Object(Default::default());
        for key in KEYS {
            let Some(v) = self.value(key.name) else {
                continue;
            };
            let leaf = if key.kind == KeyKind::Replicas {
                serde_json::Value::from(self.replicas.unwrap_or(1))
            } else {
                serde_json::Value::String(v)
            };
            insert_path(&mut root, key.path, leaf);
        }
        root
    }

    /// Whether going from `self` to `next` is allowed: volumes only grow
    /// (a claim cannot shrink), and a size once set cannot be unset.
    pub fn check_change(&self, next: &StoreSettings) -> Result<(), SettingError> {
        for (name, old, new) in [
            (
                "wordpress.volume",
                &self.wordpress_volume,
                &next.wordpress_volume,
            ),
            (
                "database.volume",
                &self.database_volume,
                &next.database_volume,
            ),
        ] {
            let (Some(old), new) = (old, new) else {
                continue;
            };
            let Some(new) = new else {
                return Err(err(
                    name,
                    format!(
                        "is {old}; a volume cannot go back to the chart's default size (it would shrink); set {old} or more"
                    ),
                ));
            };
            let (o, n) = (bytes(old), bytes(new));
            if let (Some(o), Some(n)) = (o, n)
                && n < o
            {
                return Err(err(
                    name,
                    format!(
                        "cannot shrink a volume from {old} to {new}: claims only grow; set {old} or more"
                    ),
                ));
            }
        }
        Ok(())
    }

    /// "what changed", for the audit log and the faces: `key a → b` per key.
    pub fn diff(&self, next: &StoreSettings) -> Vec<String> {
        KEYS.iter()
            .filter_map(|k| {
                let (a, b) = (self.value(k.name), next.value(k.name));
                (a != b).then(|| {
                    format!(
                        "{} {} → {}",
                        k.name,
                        a.as_deref().unwrap_or("default"),
                        b.as_deref().unwrap_or("default")
                    )
                })
            })
            .collect()
    }
}

impl fmt::Display for StoreSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let e = self.entries();
        if e.is_empty() {
            return f.write_str("chart defaults");
        }
        let parts: Vec<String> = e.iter().map(|(k, v)| format!("{k}={v}")).collect();
        f.write_str(&parts.join(" "))
    }
}

fn insert_path(root: &mut serde_json::Value, path: &[&str], leaf: serde_json::Value) {
    let mut node = root;
    for (i, part) in path.iter().enumerate() {
        let Some(map) = node.as_object_mut() else {
            return;
        };
        if i + 1 == path.len() {
            map.insert((*part).to_string(), leaf);
            return;
        }
        node = map
            .entry((*part).to_string())
            .or_insert_with(|| serde_json::Value::Object(Default::default()));
    }
}

/// Merges `over` into `base`, objects key by key (what helm does with values).
pub fn merge_values(base: &mut serde_json::Value, over: &serde_json::Value) {
    match (base, over) {
        (serde_json::Value::Object(b), serde_json::Value::Object(o)) => {
            for (k, v) in o {
                match b.get_mut(k) {
                    Some(slot) => merge_values(slot, v),
                    None => {
                        b.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        (b, o) => *b = o.clone(),
    }
}

fn check_value(name: &str, kind: KeyKind, v: &str) -> Result<(), SettingError> {
    match kind {
        KeyKind::ImageTag => {
            // Docker's tag grammar: [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}.
            let ok = !v.is_empty()
                && v.len() <= 128
                && v.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
                && !v.starts_with(['.', '-']);
            if !ok {
                return Err(err(
                    name,
                    format!(
                        "\"{v}\" is not an image tag (letters, digits, '.', '_' and '-', at most 128, e.g. 6.8.3-php8.3-apache)"
                    ),
                ));
            }
        }
        KeyKind::Cpu => match millicores(v) {
            Some(m) if m >= 100 => {}
            Some(_) => return Err(err(name, format!("{v} is below the minimum of 100m"))),
            None => {
                return Err(err(
                    name,
                    format!("\"{v}\" is not a CPU amount (e.g. 250m, 1, 1.5)"),
                ));
            }
        },
        KeyKind::Memory(min) => match bytes(v) {
            Some(b) if b >= min => {}
            Some(_) => {
                return Err(err(
                    name,
                    format!("{v} is below the minimum of {}Mi", min / MI),
                ));
            }
            None => {
                return Err(err(
                    name,
                    format!("\"{v}\" is not a memory amount (e.g. 512Mi, 2Gi)"),
                ));
            }
        },
        KeyKind::Volume => match bytes(v) {
            Some(b) if b >= MI => {}
            _ => {
                return Err(err(
                    name,
                    format!("\"{v}\" is not a volume size of at least 1Mi (e.g. 5Gi)"),
                ));
            }
        },
        KeyKind::Replicas => {}
    }
    Ok(())
}

/// A Kubernetes CPU quantity in millicores ("250m", "1", "1.5").
pub fn millicores(v: &str) -> Option<u64> {
    if let Some(m) = v.strip_suffix('m') {
        return m.parse::<u64>().ok();
    }
    let (int, frac) = v.split_once('.').unwrap_or((v, ""));
    if int.is_empty() && frac.is_empty() || frac.len() > 3 {
        return None;
    }
    let int: u64 = if int.is_empty() { 0 } else { int.parse().ok()? };
    let frac_m: u64 = if frac.is_empty() {
        0
    } else {
        format!("{frac:0<3}").parse().ok()?
    };
    int.checked_mul(1000)?.checked_add(frac_m)
}

/// A Kubernetes byte quantity ("512Mi", "2Gi", "1G", "1000").
pub fn bytes(v: &str) -> Option<u64> {
    const UNITS: &[(&str, u64)] = &[
        ("Ki", 1 << 10),
        ("Mi", 1 << 20),
        ("Gi", 1 << 30),
        ("Ti", 1 << 40),
        ("k", 1_000),
        ("M", 1_000_000),
        ("G", 1_000_000_000),
        ("T", 1_000_000_000_000),
    ];
    let (num, mult) = UNITS
        .iter()
        .find_map(|(s, m)| v.strip_suffix(s).map(|n| (n, *m)))
        .unwrap_or((v, 1));
    if num.is_empty() || !num.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    num.parse::<u64>().ok()?.checked_mul(mult)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(pairs: &[&str]) -> Result<StoreSettings, SettingError> {
        let pairs: Vec<String> = pairs.iter().map(|s| s.to_string()).collect();
        StoreSettings::default().with_assignments(&pairs)
    }

    #[test]
    fn assignments_set_and_clear_keys() {
        let s = set(&["wordpress.image=6.9.0-php8.3-apache", "replicas=0"]).unwrap();
        assert_eq!(s.wordpress_image.as_deref(), Some("6.9.0-php8.3-apache"));
        assert_eq!(s.replicas, Some(0));
        let cleared = s
            .with_assignments(&["replicas=default".into(), "wordpress.image=".into()])
            .unwrap();
        assert!(cleared.is_empty(), "{cleared:?}");
    }

    #[test]
    fn bad_values_name_the_key_and_the_fix() {
        let e = set(&["wordpress.imag=1"]).unwrap_err();
        assert!(e.to_string().contains("unknown setting"), "{e}");
        assert!(e.to_string().contains("wordpress.image"), "{e}");
        let e = set(&["replicas=2"]).unwrap_err();
        assert_eq!(e.key, "replicas");
        let e = set(&["wordpress.cpu=50m"]).unwrap_err();
        assert!(e.to_string().contains("minimum of 100m"), "{e}");
        let e = set(&["database.memory=1Gb"]).unwrap_err();
        assert!(e.to_string().contains("not a memory amount"), "{e}");
        let e = set(&["wordpress.image=a b"]).unwrap_err();
        assert!(e.to_string().contains("not an image tag"), "{e}");
        let e = set(&["nonsense"]).unwrap_err();
        assert!(e.to_string().contains("key=value"), "{e}");
    }

    #[test]
    fn quantities_parse_like_kubernetes() {
        assert_eq!(millicores("250m"), Some(250));
        assert_eq!(millicores("1.5"), Some(1500));
        assert_eq!(millicores("2"), Some(2000));
        assert_eq!(millicores("x"), None);
        assert_eq!(bytes("2Gi"), Some(2 << 30));
        assert_eq!(bytes("1G"), Some(1_000_000_000));
        assert_eq!(bytes("5Gb"), None);
    }

    #[test]
    fn volumes_only_grow() {
        let old = set(&["database.volume=5Gi"]).unwrap();
        let bigger = set(&["database.volume=10Gi"]).unwrap();
        assert!(old.check_change(&bigger).is_ok());
        let smaller = set(&["database.volume=2Gi"]).unwrap();
        let e = old.check_change(&smaller).unwrap_err();
        assert!(e.to_string().contains("cannot shrink"), "{e}");
        let e = old.check_change(&StoreSettings::default()).unwrap_err();
        assert!(e.to_string().contains("default size"), "{e}");
        assert!(
            StoreSettings::default().check_change(&smaller).is_ok(),
            "from the chart's default the worker compares with the claim's real size"
        );
    }

    #[test]
    fn chart_values_follow_the_chart_layout() {
        let s = set(&["wordpress.image=t1", "replicas=0", "database.volume=3Gi"]).unwrap();
        assert_eq!(
            s.chart_values(),
            serde_json::json!({
                "wordpress": {"image": {"tag": "t1"}, "replicas": 0},
                "database": {"persistence": {"size": "3Gi"}},
            })
        );
        let mut base =
            serde_json::json!({"wordpress": {"image": {"repository": "wp"}}, "store": {"id": "x"}});
        merge_values(&mut base, &s.chart_values());
        assert_eq!(base["wordpress"]["image"]["repository"], "wp");
        assert_eq!(base["wordpress"]["image"]["tag"], "t1");
        assert_eq!(base["store"]["id"], "x");
    }

    #[test]
    fn diff_and_display_say_what_changed() {
        let a = set(&["wordpress.image=t1"]).unwrap();
        let b = set(&["wordpress.image=t2", "replicas=0"]).unwrap();
        assert_eq!(
            a.diff(&b),
            vec!["wordpress.image t1 → t2", "replicas default → 0"]
        );
        assert_eq!(b.to_string(), "wordpress.image=t2 replicas=0");
        assert_eq!(StoreSettings::default().to_string(), "chart defaults");
    }

    #[test]
    fn whole_settings_are_validated_and_round_trip_as_json() {
        let s = set(&["wordpress.memory=1Gi"]).unwrap();
        let json = serde_json::to_value(&s).unwrap();
        assert_eq!(json, serde_json::json!({"wordpress_memory": "1Gi"}));
        let back: StoreSettings = serde_json::from_value(json).unwrap();
        assert_eq!(back, s);
        let bad = StoreSettings {
            wordpress_memory: Some("1 GB".into()),
            ..Default::default()
        };
        assert!(bad.validate().is_err());
        assert!(serde_json::from_value::<StoreSettings>(serde_json::json!({"x": 1})).is_err());
    }
}
