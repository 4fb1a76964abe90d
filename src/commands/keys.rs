//! Store keys on the command line: `acme` for "Acme Shoes". A key is a
//! store's id or id prefix, its namespace, its slug (the URL's host part),
//! its name or an unambiguous name prefix, case-insensitively. The database
//! returns the candidates (`db::stores::candidates`); `pick` decides, so the
//! rule is testable without one.

use super::exit;
use crate::db::stores;
use crate::store::{NAMESPACE_PREFIX, Status, Store};
use sqlx::PgPool;

/// At most this many matches are listed when a key is ambiguous.
const MAX_LISTED: usize = 20;

/// What a key picks out of its candidates.
#[derive(Debug)]
pub enum Pick<'a> {
    One(&'a Store),
    None,
    /// Every store that fits equally well (exact matches, else prefixes).
    Many(Vec<&'a Store>),
}

/// Whether the key names the store outright (not by a name prefix).
fn exact(s: &Store, key: &str) -> bool {
    let id = s.id.to_string();
    let ns = s.namespace.to_lowercase();
    id == key
        || (key.len() >= 4 && id.starts_with(key))
        || ns == key
        || ns.strip_prefix(NAMESPACE_PREFIX) == Some(key)
        || s.name.to_lowercase() == key
}

/// An exact match wins over name prefixes: `acme-hats` picks "Acme Hats"
/// even though `acme` alone fits "Acme Shoes" too.
pub fn pick<'a>(candidates: &'a [Store], key: &str) -> Pick<'a> {
    let key = key.trim().to_lowercase();
    if key.is_empty() {
        return Pick::None;
    }
    let exact: Vec<&Store> = candidates.iter().filter(|s| exact(s, &key)).collect();
    let found = if exact.is_empty() {
        candidates
            .iter()
            .filter(|s| s.name.to_lowercase().starts_with(&key))
            .collect()
    } else {
        exact
    };
    match found.len() {
        0 => Pick::None,
        1 => Pick::One(found[0]),
        _ => Pick::Many(found),
    }
}

/// The error for an ambiguous key: each match and how to pick one.
pub fn ambiguous(key: &str, found: &[&Store]) -> String {
    let mut out = format!(
        "\"{key}\" matches {}{} stores; give one's id (or its first 8 characters), namespace or full name:\n",
        if found.len() > MAX_LISTED {
            "more than "
        } else {
            ""
        },
        found.len().min(MAX_LISTED)
    );
    out.push_str(&format!(
        "  {:<28} {:<36}  {:<13} NAMESPACE\n",
        "NAME", "ID", "STATUS"
    ));
    for s in found.iter().take(MAX_LISTED) {
        out.push_str(&format!(
            "  {:<28} {:<36}  {:<13} {}\n",
            s.name,
            s.id,
            s.status.as_str(),
            s.namespace
        ));
    }
    out
}

/// Finds one store by key: live ones only, or deleted ones too (the audit
/// trail outlives its store). Prints what is wrong and returns the exit code.
pub async fn resolve_key(pool: &PgPool, key: &str, with_deleted: bool) -> Result<Store, u8> {
    let fetch = |deleted| stores::candidates(pool, key.trim(), deleted, MAX_LISTED as i64 + 1);
    let candidates = match fetch(with_deleted).await {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: database: {e}");
            return Err(exit::UNAVAILABLE);
        }
    };
    match pick(&candidates, key) {
        Pick::One(s) => Ok(s.clone()),
        Pick::Many(found) => {
            eprint!("error: {}", ambiguous(key, &found));
            Err(exit::CONFLICT)
        }
        Pick::None => {
            // Say so when the key names a deleted store: its trail is there.
            let deleted = if with_deleted {
                Vec::new()
            } else {
                fetch(true).await.unwrap_or_default()
            };
            match pick(&deleted, key) {
                Pick::One(s) if s.status == Status::Deleted => eprintln!(
                    "error: store \"{}\" ({}) was deleted{}; `store-weaver audit {}` shows its trail",
                    s.name,
                    s.id,
                    s.deleted_at
                        .map(|t| t.format(" at %Y-%m-%d %H:%M:%S UTC").to_string())
                        .unwrap_or_default(),
                    s.id
                ),
                _ => eprintln!(
                    "error: no store matches \"{key}\"; give its id, namespace, slug (as in its URL) or name, or the start of its name (`store-weaver store list` lists them)"
                ),
            }
            Err(exit::NOT_FOUND)
        }
    }
}

/// `__complete-stores`: the slugs that start with `prefix`, one a line, for
/// the shell completion scripts. A completion must never hang a prompt or
/// print into it: the database gets one short try, and any failure prints
/// nothing.
pub async fn complete(settings: &crate::config::Settings, prefix: &str, with_deleted: bool) {
    const WAIT: std::time::Duration = std::time::Duration::from_millis(1500);
    let Ok(url) = settings.database_url() else {
        return;
    };
    let slugs = async {
        let pool = sqlx::postgres::PgPoolOptions::new()
            .max_connections(1)
            .acquire_timeout(WAIT)
            .connect(url)
            .await
            .ok()?;
        let slugs = stores::slugs(&pool, prefix.trim(), with_deleted, 200)
            .await
            .ok();
        pool.close().await;
        slugs
    };
    if let Ok(Some(slugs)) = tokio::time::timeout(WAIT, slugs).await {
        for s in slugs {
            println!("{s}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{EngineKind, Phase};
    use uuid::Uuid;

    fn store(name: &str, ns: &str, status: Status) -> Store {
        Store {
            id: Uuid::new_v4(),
            name: name.to_string(),
            namespace: ns.to_string(),
            owner: "o@example.com".to_string(),
            engine: EngineKind::default(),
            status,
            phase: Phase::Done,
            namespace_uid: None,
            url: format!("http://{}.example.test", &ns[6..]),
            error_message: None,
            attempts: 1,
            created_at: chrono::Utc::now(),
            updated_at: chrono::Utc::now(),
            provision_started_at: None,
            ready_at: None,
            deleted_at: None,
            chart_version: None,
            helm_revision: None,
            settings: Default::default(),
        }
    }

    fn picked<'a>(all: &'a [Store], key: &str) -> Vec<&'a str> {
        match pick(all, key) {
            Pick::One(s) => vec![s.name.as_str()],
            Pick::None => vec![],
            Pick::Many(v) => v.iter().map(|s| s.name.as_str()).collect(),
        }
    }

    #[test]
    fn exact_keys_win_over_name_prefixes() {
        let all = [
            store("Acme Shoes", "store-acme-shoes", Status::Ready),
            store("Acme", "store-acme", Status::Ready),
            store("Acme Hats", "store-acme-hats-1a2b", Status::Failed),
        ];
        assert_eq!(picked(&all, "ACME"), ["Acme"]);
        assert_eq!(picked(&all, "acme-shoes"), ["Acme Shoes"]);
        assert_eq!(picked(&all, "acme-hats-1a2b"), ["Acme Hats"]);
        assert_eq!(picked(&all, "acme s"), ["Acme Shoes"]);
        assert_eq!(picked(&all, " acme "), ["Acme"]);
        assert_eq!(picked(&all[..2], "acme"), ["Acme"]);
        assert_eq!(
            picked(&[all[0].clone(), all[2].clone()], "ac"),
            ["Acme Shoes", "Acme Hats"]
        );
        assert_eq!(picked(&all, &all[2].id.to_string()[..8]), ["Acme Hats"]);
        assert_eq!(picked(&all, "  "), Vec::<&str>::new());
        assert_eq!(picked(&all, "zebra"), Vec::<&str>::new());
    }

    #[test]
    fn an_ambiguous_key_lists_each_match_and_how_to_choose() {
        let all = [
            store("Acme Shoes", "store-acme-shoes", Status::Deleted),
            store("Acme Shoes", "store-acme-shoes", Status::Ready),
        ];
        let Pick::Many(found) = pick(&all, "acme-shoes") else {
            panic!("ambiguous")
        };
        let text = ambiguous("acme-shoes", &found);
        assert!(text.contains("matches 2 stores") && text.contains("give one's id"));
        for s in &all {
            assert!(text.contains(&s.id.to_string()));
        }
        assert!(text.contains("Deleted") && text.contains("Ready"));
    }
}
