//! The per-store settings an operator may change on a running store, and the
//! rules for changing them. Pure: the faces parse `key=value` with it, the
//! engine turns the result into chart values with it.
//!
//! Only what is set is recorded; what is not set is the chart's default.

use crate::engines::{Engine, KeyKind, MI};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// What the operator chose for one store: setting name → value, in the
/// names of the store's engine (`replicas`, ...; GET /api/engines lists them). A key
/// not set is the chart's default. Stored and sent as a JSON object of
/// strings; numbers are accepted and kept as their text.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[schema(value_type = BTreeMap<String, String>)]
pub struct StoreSettings(BTreeMap<String, String>);

impl<'de> Deserialize<'de> for StoreSettings {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = BTreeMap::<String, serde_json::Value>::deserialize(d)?;
        let mut out = BTreeMap::new();
        for (k, v) in raw {
            let text = match v {
                serde_json::Value::String(s) => s,
                serde_json::Value::Number(n) => n.to_string(),
                other => {
                    return Err(serde::de::Error::custom(format!(
                        "setting {k}: expected a string, found {other}"
                    )));
                }
            };
            out.insert(k, text);
        }
        Ok(StoreSettings(out))
    }
}

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

impl StoreSettings {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    /// Sets one key from text (`--set key=value`, an API field), checking the
    /// value against the engine's key. `default` (or an empty value) puts the
    /// chart's default back.
    pub fn set(&mut self, engine: &Engine, name: &str, raw: &str) -> Result<(), SettingError> {
        let Some(key) = engine.key(name) else {
            return Err(err(
                name,
                format!(
                    "unknown setting for a {} store; its settings are: {}",
                    engine.title,
                    engine.key_names()
                ),
            ));
        };
        let v = raw.trim();
        if v.is_empty() || v == "default" {
            self.0.remove(name);
            return Ok(());
        }
        check_value(name, key.kind, v)?;
        self.0.insert(name.to_string(), v.to_string());
        Ok(())
    }

    /// Parses `key=value` pairs on top of these settings.
    pub fn with_assignments(
        &self,
        engine: &Engine,
        pairs: &[String],
    ) -> Result<StoreSettings, SettingError> {
        let mut out = self.clone();
        for pair in pairs {
            let Some((k, v)) = pair.split_once('=') else {
                return Err(err(
                    pair,
                    format!("expected key=value, e.g. {}", engine.example_setting),
                ));
            };
            out.set(engine, k.trim(), v)?;
        }
        Ok(out)
    }

    /// Checks settings that came whole (an API body, a stored record).
    pub fn validate(&self, engine: &Engine) -> Result<(), SettingError> {
        let mut copy = StoreSettings::default();
        for (k, v) in &self.0 {
            copy.set(engine, k, v)?;
        }
        Ok(())
    }

    /// The keys that are set, with their values, in name order.
    pub fn entries(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The chart values these settings stand for, to merge over the
    /// platform's own values. Keys the engine does not know are left out
    /// (settings are validated before they are stored).
    pub fn chart_values(&self, engine: &Engine) -> serde_json::Value {
        let mut root = serde_json::Value::Object(Default::default());
        for key in engine.keys {
            let Some(v) = self.get(key.name) else {
                continue;
            };
            let leaf = match key.kind {
                KeyKind::Replicas => serde_json::Value::from(v.parse::<u64>().unwrap_or(1)),
                _ => serde_json::Value::String(v.to_string()),
            };
            for path in key.paths {
                insert_path(&mut root, path, leaf.clone());
            }
        }
        root
    }

    /// The volume sizes set, with whether each sizes a StatefulSet's claims.
    pub fn volumes(&self, engine: &Engine) -> Vec<(&'static str, bool, String)> {
        engine
            .keys
            .iter()
            .filter_map(|k| match k.kind {
                KeyKind::Volume { statefulset } => self
                    .get(k.name)
                    .map(|v| (k.name, statefulset, v.to_string())),
                _ => None,
            })
            .collect()
    }

    /// Whether going from `self` to `next` is allowed: volumes only grow
    /// (a claim cannot shrink), and a size once set cannot be unset.
    pub fn check_change(&self, engine: &Engine, next: &StoreSettings) -> Result<(), SettingError> {
        for (name, _, old) in self.volumes(engine) {
            let Some(new) = next.get(name) else {
                return Err(err(
                    name,
                    format!(
                        "is {old}; a volume cannot go back to the chart's default size (it would shrink); set {old} or more"
                    ),
                ));
            };
            if let (Some(o), Some(n)) = (bytes(&old), bytes(new))
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
        let mut names: Vec<&String> = self.0.keys().chain(next.0.keys()).collect();
        names.sort();
        names.dedup();
        names
            .into_iter()
            .filter_map(|k| {
                let (a, b) = (self.get(k), next.get(k));
                (a != b).then(|| {
                    format!(
                        "{k} {} → {}",
                        a.unwrap_or("default"),
                        b.unwrap_or("default")
                    )
                })
            })
            .collect()
    }
}

impl fmt::Display for StoreSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_empty() {
            return f.write_str("chart defaults");
        }
        let parts: Vec<String> = self.entries().map(|(k, v)| format!("{k}={v}")).collect();
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
        KeyKind::Volume { .. } => match bytes(v) {
            Some(b) if b >= MI => {}
            _ => {
                return Err(err(
                    name,
                    format!("\"{v}\" is not a volume size of at least 1Mi (e.g. 5Gi)"),
                ));
            }
        },
        KeyKind::Replicas => {
            if !matches!(v, "0" | "1") {
                return Err(err(name, "must be 0 (paused) or 1 (running)"));
            }
        }
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
    use crate::engines::{Admin, AdminUser, EngineKind, Key, SecretKey, medusa};

    /// An engine made up for these tests: a web server and a database, each
    /// key kind once. The real engines' keys are checked against their
    /// charts by tests/engines.rs.
    const KEYS: &[Key] = &[
        Key {
            name: "web.image",
            doc: "web image tag",
            kind: KeyKind::ImageTag,
            paths: &[&["web", "image", "tag"]],
        },
        Key {
            name: "web.cpu",
            doc: "web CPU limit",
            kind: KeyKind::Cpu,
            paths: &[&["web", "resources", "limits", "cpu"]],
        },
        Key {
            name: "web.memory",
            doc: "web memory limit",
            kind: KeyKind::Memory(256 * MI),
            paths: &[&["web", "resources", "limits", "memory"]],
        },
        Key {
            name: "database.memory",
            doc: "database memory limit",
            kind: KeyKind::Memory(256 * MI),
            paths: &[&["database", "resources", "limits", "memory"]],
        },
        Key {
            name: "database.volume",
            doc: "database volume",
            kind: KeyKind::Volume { statefulset: true },
            paths: &[&["database", "persistence", "size"]],
        },
        Key {
            name: "replicas",
            doc: "1 runs the store, 0 pauses it",
            kind: KeyKind::Replicas,
            paths: &[&["web", "replicas"]],
        },
    ];

    const TEST: Engine = Engine {
        kind: EngineKind::ALL[0],
        title: "Test",
        aliases: &[],
        summary: "a web server and a database",
        chart: "test",
        keys: KEYS,
        example_setting: "web.image=1.0",
        secret_keys: &[SecretKey {
            name: "admin-password",
            len: 32,
        }],
        admin: Admin {
            what: "Test admin",
            user: AdminUser::Name("admin"),
            path: "/admin",
            password_key: "admin-password",
        },
        main_component: "web",
        main_container: "web",
        shell: None,
        backup: crate::engines::Backup {
            database: crate::engines::DataPart {
                component: "db",
                container: "db",
                dump: "true",
                restore: "true",
            },
            files: None,
            pause: &[],
            counts: &[],
            clone: crate::engines::CloneRewrite {
                database: "true",
                running: None,
            },
        },
    };
    const ENGINE: &Engine = &TEST;

    fn set(pairs: &[&str]) -> Result<StoreSettings, SettingError> {
        let pairs: Vec<String> = pairs.iter().map(|s| s.to_string()).collect();
        StoreSettings::default().with_assignments(ENGINE, &pairs)
    }

    #[test]
    fn assignments_set_and_clear_keys() {
        let s = set(&["web.image=6.9.0", "replicas=0"]).unwrap();
        assert_eq!(s.get("web.image"), Some("6.9.0"));
        assert_eq!(s.get("replicas"), Some("0"));
        let cleared = s
            .with_assignments(ENGINE, &["replicas=default".into(), "web.image=".into()])
            .unwrap();
        assert!(cleared.is_empty(), "{cleared:?}");
    }

    #[test]
    fn bad_values_name_the_key_and_the_fix() {
        let e = set(&["web.imag=1"]).unwrap_err();
        assert!(e.to_string().contains("unknown setting"), "{e}");
        assert!(e.to_string().contains("web.image"), "{e}");
        let e = set(&["replicas=2"]).unwrap_err();
        assert_eq!(e.key, "replicas");
        let e = set(&["web.cpu=50m"]).unwrap_err();
        assert!(e.to_string().contains("minimum of 100m"), "{e}");
        let e = set(&["database.memory=1Gb"]).unwrap_err();
        assert!(e.to_string().contains("not a memory amount"), "{e}");
        let e = set(&["web.image=a b"]).unwrap_err();
        assert!(e.to_string().contains("not an image tag"), "{e}");
        let e = set(&["nonsense"]).unwrap_err();
        assert!(e.to_string().contains("key=value"), "{e}");
    }

    #[test]
    fn a_key_of_the_other_engine_is_refused_naming_this_engines_keys() {
        let e = StoreSettings::default()
            .with_assignments(&medusa::ENGINE, &["web.image=6.8".into()])
            .unwrap_err();
        assert!(e.to_string().contains("Medusa store"), "{e}");
        assert!(e.to_string().contains("medusa.image"), "{e}");
        let s = StoreSettings::default()
            .with_assignments(
                &medusa::ENGINE,
                &["replicas=0".into(), "server.memory=1Gi".into()],
            )
            .unwrap();
        assert_eq!(
            s.chart_values(&medusa::ENGINE),
            serde_json::json!({
                "server": {"replicas": 0, "resources": {"limits": {"memory": "1Gi"}}},
                "worker": {"replicas": 0},
                "storefront": {"replicas": 0},
            })
        );
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
        assert!(old.check_change(ENGINE, &bigger).is_ok());
        let smaller = set(&["database.volume=2Gi"]).unwrap();
        let e = old.check_change(ENGINE, &smaller).unwrap_err();
        assert!(e.to_string().contains("cannot shrink"), "{e}");
        let e = old
            .check_change(ENGINE, &StoreSettings::default())
            .unwrap_err();
        assert!(e.to_string().contains("default size"), "{e}");
        assert!(
            StoreSettings::default()
                .check_change(ENGINE, &smaller)
                .is_ok(),
            "from the chart's default the worker compares with the claim's real size"
        );
    }

    #[test]
    fn chart_values_follow_the_chart_layout() {
        let s = set(&["web.image=t1", "replicas=0", "database.volume=3Gi"]).unwrap();
        assert_eq!(
            s.chart_values(ENGINE),
            serde_json::json!({
                "web": {"image": {"tag": "t1"}, "replicas": 0},
                "database": {"persistence": {"size": "3Gi"}},
            })
        );
        let mut base = serde_json::json!({"web": {"image": {"repository": "web-image"}}, "store": {"id": "x"}});
        merge_values(&mut base, &s.chart_values(ENGINE));
        assert_eq!(base["web"]["image"]["repository"], "web-image");
        assert_eq!(base["web"]["image"]["tag"], "t1");
        assert_eq!(base["store"]["id"], "x");
    }

    #[test]
    fn diff_and_display_say_what_changed() {
        let a = set(&["web.image=t1"]).unwrap();
        let b = set(&["web.image=t2", "replicas=0"]).unwrap();
        assert_eq!(
            a.diff(&b),
            vec!["replicas default → 0", "web.image t1 → t2"]
        );
        assert_eq!(b.to_string(), "replicas=0 web.image=t2");
        assert_eq!(StoreSettings::default().to_string(), "chart defaults");
    }

    #[test]
    fn whole_settings_are_validated_and_round_trip_as_json() {
        let s = set(&["web.memory=1Gi", "replicas=0"]).unwrap();
        let json = serde_json::to_value(&s).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"web.memory": "1Gi", "replicas": "0"})
        );
        let back: StoreSettings = serde_json::from_value(json).unwrap();
        assert_eq!(back, s);
        let numeric: StoreSettings =
            serde_json::from_value(serde_json::json!({"replicas": 0})).unwrap();
        assert_eq!(numeric.get("replicas"), Some("0"));
        let bad: StoreSettings =
            serde_json::from_value(serde_json::json!({"web.memory": "1 GB"})).unwrap();
        assert!(bad.validate(ENGINE).is_err());
        let unknown: StoreSettings = serde_json::from_value(serde_json::json!({"x": "1"})).unwrap();
        assert!(unknown.validate(ENGINE).is_err());
        assert!(serde_json::from_value::<StoreSettings>(serde_json::json!({"x": [1]})).is_err());
    }

    /// The real engines' keys work with these rules: each lands at its chart
    /// paths, and a memory limit below the engine's floor is refused.
    #[test]
    fn every_engines_keys_reach_their_paths_and_keep_their_floors() {
        for kind in EngineKind::ALL {
            let e = kind.spec();
            for k in e.keys {
                let value = match k.kind {
                    KeyKind::ImageTag => "1.0",
                    KeyKind::Cpu => "1",
                    KeyKind::Memory(_) => "8Gi",
                    KeyKind::Volume { .. } => "10Gi",
                    KeyKind::Replicas => "0",
                };
                let s = StoreSettings::default()
                    .with_assignments(e, &[format!("{}={value}", k.name)])
                    .unwrap_or_else(|err| panic!("{kind} {}: {err}", k.name));
                let values = s.chart_values(e);
                for path in k.paths {
                    assert!(
                        values.pointer(&format!("/{}", path.join("/"))).is_some(),
                        "{kind} {} does not reach {path:?}: {values}",
                        k.name
                    );
                }
                if let KeyKind::Memory(min) = k.kind {
                    let below = format!("{}={}Mi", k.name, min / MI - 1);
                    let err = StoreSettings::default()
                        .with_assignments(e, &[below])
                        .unwrap_err();
                    assert!(err.to_string().contains("below the minimum"), "{err}");
                }
            }
        }
    }
}
