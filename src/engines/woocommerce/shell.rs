//! wp-cli, WooCommerce's incident shell: what may run in the store's
//! WordPress container and how. Pure policy; `cluster::pods` runs it.

use crate::engines::{Shell, ShellMode};

/// `store wp`: wp-cli where the chart leaves it in the WordPress container,
/// on the document root.
pub const SHELL: Shell = Shell {
    name: "wp",
    component: "wordpress",
    container: "wordpress",
    argv: &["php", "/opt/wp-cli/wp", "--path=/var/www/html"],
    check: check_command,
    secret_option,
};

/// The verbs `--read-only` allows, for the refusal text.
pub const READ_VERBS: &[&str] = &["list", "get", "version", "status"];

/// What `--read-only` allows: these exact command paths (the leading
/// words that are not options), nothing else. An allow-list of whole
/// commands, not of verbs: `search-replace list ...` or `eval list` name a
/// verb in their second word and write or run code all the same.
const READ_COMMANDS: &[&[&str]] = &[
    &["core", "version"],
    &["core", "is-installed"],
    &["plugin", "list"],
    &["plugin", "get"],
    &["plugin", "status"],
    &["plugin", "is-installed"],
    &["plugin", "is-active"],
    &["theme", "list"],
    &["theme", "get"],
    &["theme", "status"],
    &["theme", "is-installed"],
    &["theme", "is-active"],
    &["option", "get"],
    &["option", "list"],
    &["user", "list"],
    &["user", "get"],
    &["user", "meta", "list"],
    &["user", "meta", "get"],
    &["post", "list"],
    &["post", "get"],
    &["post", "meta", "list"],
    &["post", "meta", "get"],
    &["term", "list"],
    &["term", "get"],
    &["comment", "list"],
    &["comment", "get"],
    &["site", "list"],
    &["cron", "event", "list"],
    &["cron", "schedule", "list"],
    &["rewrite", "list"],
    &["role", "list"],
    &["cap", "list"],
    &["menu", "list"],
    &["widget", "list"],
    &["sidebar", "list"],
    &["language", "core", "list"],
    &["language", "plugin", "list"],
    &["language", "theme", "list"],
    &["maintenance-mode", "status"],
    &["cli", "version"],
    &["action-scheduler", "action", "list"],
    &["action-scheduler", "action", "get"],
    &["wc", "product", "list"],
    &["wc", "product", "get"],
    &["wc", "order", "list"],
    &["wc", "order", "get"],
    &["wc", "customer", "list"],
    &["wc", "customer", "get"],
    &["wc", "payment_gateway", "list"],
    &["wc", "payment_gateway", "get"],
    &["wc", "shipping_zone", "list"],
    &["wc", "shipping_zone", "get"],
    &["wc", "tool", "list"],
];

/// Commands that run code or raw SQL given on the command line, or change
/// wp-cli itself: refused unless the caller says `--unsafe` (the command
/// line only; the console and the API never do).
const UNSAFE_COMMANDS: &[&[&str]] = &[
    &["eval"],
    &["eval-file"],
    &["shell"],
    &["db", "query"],
    &["db", "cli"],
    &["db", "import"],
    &["package"],
    &["cli", "update"],
    &["server"],
];

/// Global options that would run code or point wp at another site
/// (`--exec=<php>`, `--require=<file>`, `--ssh=`, `--http=`, `--path=`,
/// `--url=` ...): refused always, the command runs in this store only.
const REFUSED_OPTIONS: &[&str] = &["--exec", "--require", "--ssh", "--http", "--path", "--url"];

/// Does the command (its leading non-option words) start with `path`?
fn is_command(words: &[&str], path: &[&str]) -> bool {
    words.len() >= path.len() && words.iter().zip(path).all(|(w, p)| w == p)
}

/// Checks a `wp` command line before it runs: never a global option that
/// runs code or targets another site; never a command that runs code or SQL
/// from the line unless [`ShellMode::Unsafe`]; with [`ShellMode::ReadOnly`], only
/// a command of the read allow-list. The error says what is allowed.
pub fn check_command(args: &[String], mode: ShellMode) -> Result<(), String> {
    if args.is_empty() {
        return Err("no wp command given (for example: plugin list)".into());
    }
    for a in args {
        let name = a.split('=').next().unwrap_or(a);
        if REFUSED_OPTIONS.contains(&name) {
            return Err(format!(
                "{name} is not allowed: wp runs in this store's WordPress only, and never runs code given on its command line"
            ));
        }
    }
    let words: Vec<&str> = args
        .iter()
        .map(String::as_str)
        .filter(|a| !a.starts_with('-'))
        .collect();
    match mode {
        ShellMode::ReadOnly => {
            if READ_COMMANDS.iter().any(|c| is_command(&words, c)) {
                Ok(())
            } else {
                Err(format!(
                    "read-only: only commands that read are allowed ({}), e.g. `plugin list`, `option get siteurl`, `core version`; `{}` is not one",
                    READ_VERBS.join(", "),
                    args.join(" ")
                ))
            }
        }
        ShellMode::Standard => match UNSAFE_COMMANDS.iter().find(|c| is_command(&words, c)) {
            Some(c) => Err(format!(
                "`wp {}` runs code or SQL given on its command line and is refused; if you mean it, run it from the command line with `store wp STORE --unsafe -- ...` (audited)",
                c.join(" ")
            )),
            None => Ok(()),
        },
        ShellMode::Unsafe => Ok(()),
    }
}

/// Options whose value is a password, key or token (`--user_pass=...` sets
/// a new password that no Secret knows yet): written masked in the audit log.
pub fn secret_option(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    ["pass", "secret", "token", "key", "salt"]
        .iter()
        .any(|w| n.contains(w))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn read_only_allows_reads_only() {
        for ok in [
            &["plugin", "list"][..],
            &["plugin", "list", "--status=active", "--format=json"],
            &["option", "get", "siteurl"],
            &["core", "version"],
            &["cron", "event", "list"],
            &["plugin", "status", "woocommerce"],
            &["user", "list", "--role=administrator"],
            &["wc", "product", "list", "--user=admin"],
        ] {
            assert_eq!(check_command(&s(ok), ShellMode::ReadOnly), Ok(()), "{ok:?}");
        }
        for refused in [
            &["cache", "flush"][..],
            &["plugin", "deactivate", "woocommerce"],
            &["option", "update", "list", "get"],
            &["eval", "echo 1;"],
            &["db", "query", "DELETE FROM wp_users"],
            &["cron", "event", "run", "--due-now"],
            &["list"],
            // Issue 27 (7): a verb in the second word is not a read.
            &["search-replace", "list", "status", "--all-tables"],
            &["eval", "list"],
            &["eval-file", "-", "list"],
            &["import", "list"],
            &["db", "query", "get"],
            &["config", "get", "DB_PASSWORD"],
            &["plugin", "install", "list"],
        ] {
            let err = check_command(&s(refused), ShellMode::ReadOnly).unwrap_err();
            assert!(
                err.starts_with("read-only: only commands that read"),
                "{refused:?}: {err}"
            );
        }
        // Without read-only, writes are fine.
        assert_eq!(
            check_command(&s(&["cache", "flush"]), ShellMode::Standard),
            Ok(())
        );
    }

    #[test]
    fn code_and_sql_from_the_command_line_need_unsafe() {
        for args in [
            &["eval", "echo 1;"][..],
            &["eval-file", "-"],
            &["shell"],
            &["db", "query", "SELECT 1"],
            &["db", "cli"],
            &["package", "install", "x/y"],
            &["--user=admin", "eval", "echo 1;"],
        ] {
            let err = check_command(&s(args), ShellMode::Standard).unwrap_err();
            assert!(err.contains("--unsafe"), "{args:?}: {err}");
            assert!(check_command(&s(args), ShellMode::ReadOnly).is_err());
            assert_eq!(
                check_command(&s(args), ShellMode::Unsafe),
                Ok(()),
                "{args:?}"
            );
        }
        // Commands that merely share a first word are not caught.
        assert_eq!(
            check_command(&s(&["db", "size"]), ShellMode::Standard),
            Ok(())
        );
        // The refused options stay refused even with --unsafe.
        let err =
            check_command(&s(&["eval", "1;", "--require=/x.php"]), ShellMode::Unsafe).unwrap_err();
        assert!(err.contains("is not allowed"), "{err}");
    }

    #[test]
    fn options_that_run_code_or_leave_the_store_are_refused_always() {
        for args in [
            &["plugin", "list", "--exec=system('id');"][..],
            &["option", "get", "siteurl", "--require=/tmp/x.php"],
            &["plugin", "list", "--ssh=other-host"],
            &["core", "version", "--path=/elsewhere"],
            &["option", "get", "home", "--url", "other.example"],
        ] {
            for mode in [ShellMode::Standard, ShellMode::ReadOnly, ShellMode::Unsafe] {
                let err = check_command(&s(args), mode).unwrap_err();
                assert!(err.contains("is not allowed"), "{args:?}: {err}");
            }
        }
        assert!(
            check_command(&[], ShellMode::Standard)
                .unwrap_err()
                .contains("no wp command")
        );
    }

    #[test]
    fn password_like_options_are_secret() {
        for name in [
            "--user_pass",
            "--api-key",
            "--TOKEN",
            "--secret",
            "--auth-salt",
        ] {
            assert!(secret_option(name), "{name}");
        }
        for name in ["--display_name", "--format", "--user"] {
            assert!(!secret_option(name), "{name}");
        }
    }

    #[test]
    fn the_argv_is_wp_cli_in_the_document_root() {
        assert_eq!(
            SHELL.argv_for(&s(&["plugin", "list"])),
            s(&[
                "php",
                "/opt/wp-cli/wp",
                "--path=/var/www/html",
                "plugin",
                "list"
            ])
        );
    }
}
