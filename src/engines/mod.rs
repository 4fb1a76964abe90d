//! The engines a store can run, and everything they differ in: their chart,
//! their settings keys, the Secret keys they need, their admin login, the
//! container their logs come from and their incident shell. Pure data, the
//! lowest layer: the rest of Store Weaver asks [`engine`] and never names an
//! engine's software itself.
//!
//! Adding an engine: a folder here with its [`Engine`], one arm in
//! [`engine`], one in [`EngineKind`], and a green run of `tests/engines.rs`
//! (the conformance suite every engine passes).

pub mod medusa;
pub mod woocommerce;

use serde::{Deserialize, Serialize};
use std::fmt;
use utoipa::ToSchema;

/// Which engine a store runs. Stored as its name (`engine` column).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum EngineKind {
    Woocommerce,
    Medusa,
}

impl EngineKind {
    pub const ALL: [EngineKind; 2] = [EngineKind::Woocommerce, EngineKind::Medusa];

    /// Its place in [`EngineKind::ALL`], for tables kept per engine.
    pub fn index(self) -> usize {
        self as usize
    }

    /// The engine of a store created without naming one.
    pub const DEFAULT: EngineKind = EngineKind::Woocommerce;

    pub const fn as_str(self) -> &'static str {
        match self {
            EngineKind::Woocommerce => "woocommerce",
            EngineKind::Medusa => "medusa",
        }
    }

    /// The engine of a stored record.
    pub fn parse(s: &str) -> Option<EngineKind> {
        EngineKind::ALL.into_iter().find(|e| e.as_str() == s)
    }

    /// An engine name as a person types it (any case; empty is the
    /// default), or an error listing the engines.
    pub fn parse_available(s: &str) -> Result<EngineKind, String> {
        let s = s.trim().to_ascii_lowercase();
        if s.is_empty() {
            return Ok(EngineKind::DEFAULT);
        }
        EngineKind::ALL
            .into_iter()
            .find(|e| e.as_str() == s || engine(*e).aliases.contains(&s.as_str()))
            .ok_or_else(|| format!("unknown engine `{s}`; the engines are: {}", names()))
    }

    pub fn spec(self) -> &'static Engine {
        engine(self)
    }
}

impl Default for EngineKind {
    fn default() -> Self {
        EngineKind::DEFAULT
    }
}

impl fmt::Display for EngineKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The engine names, comma-separated: for messages that list the choices.
pub fn names() -> String {
    EngineKind::ALL.map(|e| e.as_str()).join(", ")
}

/// The one table from engine to its description.
pub fn engine(kind: EngineKind) -> &'static Engine {
    match kind {
        EngineKind::Woocommerce => &woocommerce::ENGINE,
        EngineKind::Medusa => &medusa::ENGINE,
    }
}

/// Everything an engine differs in.
#[derive(Debug)]
pub struct Engine {
    pub kind: EngineKind,
    /// For people: "Medusa".
    pub title: &'static str,
    /// Other names `--engine` accepts.
    pub aliases: &'static [&'static str],
    /// What a store of this engine is, in a few words (hints, `--help`).
    pub summary: &'static str,
    /// Its chart's directory name under the charts directory.
    pub chart: &'static str,
    /// The settings an operator may change on its stores.
    pub keys: &'static [Key],
    /// An example `key=value` (hints in error messages).
    pub example_setting: &'static str,
    /// The keys of the store's credentials Secret: every one the chart reads.
    pub secret_keys: &'static [SecretKey],
    pub admin: Admin,
    /// The `app.kubernetes.io/component` of the pods that serve the store,
    /// and their main container: where `store logs` looks first.
    pub main_component: &'static str,
    pub main_container: &'static str,
    /// A command line run inside the store for incidents, if the engine has one.
    pub shell: Option<Shell>,
    /// How its data is backed up and written back.
    pub backup: Backup,
}

/// How an engine's data leaves and re-enters its store: commands run in its
/// containers (bash, so a pipeline fails when any part does), each reading
/// the credentials from the container's own environment, never from its
/// arguments.
#[derive(Debug)]
pub struct Backup {
    pub database: DataPart,
    /// Files the merchant made (uploads, themes), if the engine keeps any.
    pub files: Option<DataPart>,
    /// The components whose Deployments are scaled to zero while the
    /// database is written back (the shop paused), and back after.
    pub pause: &'static [&'static str],
    /// Counts of what the store holds, each a command printing one number
    /// (run in the database's container): kept in the manifest, compared
    /// after a restore.
    pub counts: &'static [Count],
    /// What a clone changes in the data it received so that it is a store
    /// of its own.
    pub clone: CloneRewrite,
}

/// The commands that make another store's data a clone's own (its URL,
/// its admin's sign-in). Each runs with bash and reads what it needs from
/// its environment: `OLD_URL`, `NEW_URL` (the source's and the clone's
/// `scheme://host`), `OLD_HOST`, `NEW_HOST`, `OLD_ADMIN_EMAIL`,
/// `NEW_ADMIN_EMAIL`; the values hold no quote, space or `$` (checked
/// before they are set), so a command may put them in SQL between quotes.
#[derive(Debug)]
pub struct CloneRewrite {
    /// In the database's container, once the backup's database is written
    /// and before the shop resumes (its first request sees the clone's URL).
    pub database: &'static str,
    /// In a container of the running shop once it is ready again, if the
    /// engine needs one (wp-cli's search-replace).
    pub running: Option<RunningStep>,
}

/// A command run in one container of a running store.
#[derive(Debug)]
pub struct RunningStep {
    pub component: &'static str,
    pub container: &'static str,
    pub command: &'static str,
}

/// One part of a store's data: where it lives and the two commands that
/// move it (the dump writes a compressed stream to stdout, the restore
/// reads one from stdin and replaces what is there).
#[derive(Debug)]
pub struct DataPart {
    pub component: &'static str,
    pub container: &'static str,
    pub dump: &'static str,
    pub restore: &'static str,
}

#[derive(Debug)]
pub struct Count {
    pub name: &'static str,
    pub command: &'static str,
}

impl DataPart {
    /// The argv of its restore, reading exactly `bytes` from stdin: the
    /// command ends when they are in, whether or not the stream's end
    /// reaches it (not every runtime passes an exec's closed stdin on).
    pub fn restore_argv(&self, bytes: u64) -> Vec<String> {
        Self::argv(&format!("exec < <(head -c {bytes}); {}", self.restore))
    }

    /// The argv of one of its commands. A NUL on stderr every 10 s keeps
    /// the stream from looking dead while the command is quiet (a long
    /// restore prints nothing); the reader drops them. The heartbeat is
    /// stopped at exit so the exec ends with the command, and every process
    /// is waited for by its parent: one left behind is re-parented to the
    /// container's PID 1, and when that is PostgreSQL, a child it did not
    /// start dying by a signal looks like a crashed backend and restarts
    /// the database (tests/exec_reaping.rs).
    pub fn argv(script: &str) -> Vec<String> {
        let wrapped = format!(
            "( set +e; trap 'kill $s; wait $s; exit 0' TERM; \
               while :; do sleep 10 </dev/null >/dev/null 2>&1 & s=$!; wait $s; printf '\\0' >&2; done ) & hb=$!; \
             trap 'kill $hb 2>/dev/null; wait $hb 2>/dev/null || :' EXIT; {script}"
        );
        vec![
            "bash".into(),
            "-o".into(),
            "pipefail".into(),
            "-ec".into(),
            wrapped,
        ]
    }
}

impl Engine {
    pub fn key(&self, name: &str) -> Option<&'static Key> {
        self.keys.iter().find(|k| k.name == name)
    }

    /// What the faces say when asked for the shell of an engine without
    /// one: that it has none, and where its admin is instead.
    pub fn no_shell(&self, store_url: &str) -> String {
        format!(
            "a {} store has no incident shell; its admin is at {}{}",
            self.title,
            store_url.trim_end_matches('/'),
            self.admin.path
        )
    }

    /// "a, b, c": the setting names, for messages.
    pub fn key_names(&self) -> String {
        self.keys
            .iter()
            .map(|k| k.name)
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// One settable key: its name on the command line and in the API, what it
/// means, what kind of value it takes and where it goes in the chart's values.
#[derive(Debug)]
pub struct Key {
    pub name: &'static str,
    pub doc: &'static str,
    pub kind: KeyKind,
    /// Where the value goes in the chart's values (pausing may set several).
    pub paths: &'static [&'static [&'static str]],
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    ImageTag,
    Cpu,
    /// Memory, with the smallest value the chart's requests allow.
    Memory(u64),
    /// The size of volume claims: a StatefulSet's templates (`statefulset`)
    /// or the other claims of the store.
    Volume {
        statefulset: bool,
    },
    /// 1 runs the store, 0 pauses it: a number in the chart's values.
    Replicas,
}

pub const MI: u64 = 1 << 20;

/// One key of the store's credentials Secret and how long its random value is.
#[derive(Debug, Clone, Copy)]
pub struct SecretKey {
    pub name: &'static str,
    pub len: usize,
}

/// How a person signs in to the store's own admin.
#[derive(Debug)]
pub struct Admin {
    /// "Medusa admin": what the credentials are for.
    pub what: &'static str,
    pub user: AdminUser,
    /// Where the login page is, under the store's URL.
    pub path: &'static str,
    /// The Secret key that holds the password.
    pub password_key: &'static str,
}

#[derive(Debug, Clone, Copy)]
pub enum AdminUser {
    /// A fixed user name (the chart's default).
    Name(&'static str),
    /// The store's admin e-mail address (the owner's, or admin@<host>).
    Email,
}

/// An engine's incident shell: a program in one of the store's containers,
/// and the engine's policy for what may be run in it.
#[derive(Debug)]
pub struct Shell {
    /// The command name people type (`store wp ...`).
    pub name: &'static str,
    pub component: &'static str,
    pub container: &'static str,
    /// What runs there before the person's arguments.
    pub argv: &'static [&'static str],
    /// Checks a command line before it runs; the error says what is allowed.
    pub check: fn(&[String], ShellMode) -> Result<(), String>,
    /// Whether an option (`--name`) carries a password, key or token: its
    /// value is written masked in the audit log.
    pub secret_option: fn(&str) -> bool,
}

impl Shell {
    /// The argv run in the container for `<name> <args>`.
    pub fn argv_for(&self, args: &[String]) -> Vec<String> {
        let mut argv: Vec<String> = self.argv.iter().map(|a| a.to_string()).collect();
        argv.extend(args.iter().cloned());
        argv
    }
}

/// What a shell command may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShellMode {
    /// Only the commands of the engine's read allow-list.
    ReadOnly,
    /// Anything but the commands that run code or SQL given on the line.
    Standard,
    /// Those too (`store wp --unsafe`), still never the refused options.
    Unsafe,
}

impl From<bool> for ShellMode {
    /// `read_only` as the faces without `--unsafe` say it.
    fn from(read_only: bool) -> ShellMode {
        if read_only {
            ShellMode::ReadOnly
        } else {
            ShellMode::Standard
        }
    }
}

/// The engine whose incident shell is called `name` (`wp`), and that shell.
pub fn shell(name: &str) -> Option<(&'static Engine, &'static Shell)> {
    EngineKind::ALL.into_iter().find_map(|k| {
        let e = engine(k);
        e.shell.as_ref().filter(|s| s.name == name).map(|s| (e, s))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engines_parse_by_name_and_alias_and_unknown_ones_are_listed() {
        assert_eq!(
            EngineKind::parse_available("WooCommerce"),
            Ok(EngineKind::Woocommerce)
        );
        assert_eq!(EngineKind::parse_available(""), Ok(EngineKind::Woocommerce));
        assert_eq!(
            EngineKind::parse_available("medusajs"),
            Ok(EngineKind::Medusa)
        );
        let e = EngineKind::parse_available("shopify").unwrap_err();
        assert!(e.contains("woocommerce, medusa"), "{e}");
        for (i, k) in EngineKind::ALL.into_iter().enumerate() {
            assert_eq!(k.index(), i, "ALL lists the engines in declaration order");
            assert_eq!(EngineKind::parse(k.as_str()), Some(k));
            assert_eq!(engine(k).kind, k, "the table points at the right engine");
        }
    }

    #[test]
    fn every_engine_has_unique_keys_with_paths_and_a_password_key() {
        for k in EngineKind::ALL {
            let e = engine(k);
            let mut names: Vec<_> = e.keys.iter().map(|k| k.name).collect();
            names.sort();
            names.dedup();
            assert_eq!(names.len(), e.keys.len(), "{k}: duplicate setting keys");
            assert!(e.keys.iter().all(|k| !k.paths.is_empty()));
            assert!(
                e.secret_keys.iter().any(|s| s.name == e.admin.password_key),
                "{k}: the admin password is not among the Secret's keys"
            );
            let (name, _) = e.example_setting.split_once('=').unwrap();
            assert!(e.key(name).is_some(), "{k}: the example names no key");
        }
    }
}

#[cfg(test)]
mod backup_tests {
    use super::*;

    #[test]
    fn a_restore_reads_exactly_its_bytes_and_the_heartbeat_holds_no_stream() {
        let part = DataPart {
            component: "db",
            container: "db",
            dump: "dump",
            restore: "gunzip -c | load",
        };
        let argv = part.restore_argv(1234);
        assert_eq!(&argv[..4], ["bash", "-o", "pipefail", "-ec"]);
        let script = &argv[4];
        assert!(
            script.contains("exec < <(head -c 1234); gunzip -c | load"),
            "{script}"
        );
        // The heartbeat's sleep closes every stream of the exec.
        assert!(
            script.contains("sleep 10 </dev/null >/dev/null 2>&1"),
            "{script}"
        );
        assert!(script.contains("trap 'kill $hb"), "{script}");
        // Secrets come from the container's environment, never the argv.
        for e in EngineKind::ALL {
            let b = &e.spec().backup;
            for p in std::iter::once(&b.database).chain(b.files.as_ref()) {
                for cmd in [p.dump, p.restore] {
                    assert!(!cmd.contains("-p\""), "{}: {cmd}", e.as_str());
                    assert!(!cmd.contains("--password"), "{}: {cmd}", e.as_str());
                }
            }
        }
    }
}
