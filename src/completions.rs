//! Shell completions and the man page, generated from the clap definitions
//! (`cli::Cli`) so they cannot drift from the commands, plus the one thing
//! clap cannot know: store keys. Each script completes a STORE argument by
//! calling the hidden `store-weaver __complete-stores PREFIX`, which prints
//! the matching slugs from the database (no spaces to quote, and a slug is a
//! key: `commands::keys`), fast and silent when the database cannot be asked.

use crate::cli::Cli;
pub use crate::commands::args::Shell;
use clap::CommandFactory;

const BIN: &str = "store-weaver";

/// The completion script for `shell`.
pub fn script(shell: Shell) -> String {
    let mut cmd = Cli::command();
    let generator = match shell {
        Shell::Bash => clap_complete::Shell::Bash,
        Shell::Zsh => clap_complete::Shell::Zsh,
        Shell::Fish => clap_complete::Shell::Fish,
    };
    let mut buf = Vec::new();
    clap_complete::generate(generator, &mut cmd, BIN, &mut buf);
    let base = String::from_utf8_lossy(&buf).into_owned();
    let stores = store_commands(&cmd);
    match shell {
        Shell::Bash => {
            // clap_complete 4.6 names the branches of a binary with a dash
            // two ways (`store__weaver,store` sets `store__weaver__subcmd__store`,
            // whose branch it writes `store__subcmd__weaver__subcmd__store`),
            // so no subcommand's arguments completed: one name for both.
            let base = base.replace(&BIN.replace('-', "__subcmd__"), &BIN.replace('-', "__"));
            let extra = bash_keys(&stores, &value_flags(&cmd), bash_function(&base));
            base + &extra
        }
        Shell::Zsh => zsh_keys(&base),
        Shell::Fish => base + &fish_keys(&stores),
    }
}

/// The man page (roff), from the same definitions.
pub fn man() -> std::io::Result<Vec<u8>> {
    let mut out = Vec::new();
    clap_mangen::Man::new(Cli::command()).render(&mut out)?;
    Ok(out)
}

/// Subcommand paths whose first positional argument is a store key, e.g.
/// ["store", "show"] and ["audit"] (the argument's id is `store`).
pub fn store_commands(cmd: &clap::Command) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    walk(cmd, &mut Vec::new(), &mut out);
    out
}

fn walk(cmd: &clap::Command, path: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        path.push(sub.get_name().to_string());
        if sub
            .get_positionals()
            .next()
            .is_some_and(|a| a.get_id() == "store")
        {
            out.push(path.clone());
        }
        walk(sub, path, out);
        path.pop();
    }
}

/// Every flag, anywhere, that takes a value: a script looking for the
/// subcommand must skip the value too (`--config FILE store show`).
fn value_flags(cmd: &clap::Command) -> Vec<String> {
    // Built, so every argument says how many values it takes.
    let mut cmd = cmd.clone();
    cmd.build();
    let mut out = Vec::new();
    let mut stack = vec![&cmd];
    while let Some(c) = stack.pop() {
        for a in c.get_arguments().filter(|a| !a.is_positional()) {
            if a.get_num_args().is_some_and(|n| n.takes_values()) {
                out.extend(a.get_long().map(|l| format!("--{l}")));
                out.extend(a.get_short().map(|s| format!("-{s}")));
            }
        }
        stack.extend(c.get_subcommands());
    }
    out.sort();
    out.dedup();
    out
}

/// `audit` reads deleted stores' trails too.
fn deleted_flag(path: &[String]) -> &'static str {
    if path == ["audit"] { " --deleted" } else { "" }
}

/// The completion function the generated bash script registers (clap
/// names it after the binary, e.g. `_store__weaver`).
fn bash_function(base: &str) -> &str {
    base.lines()
        .find_map(|l| l.trim().strip_prefix("complete -F "))
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or("_store__weaver")
}

fn bash_keys(stores: &[Vec<String>], value_flags: &[String], fallback: &str) -> String {
    let cases: String = stores
        .iter()
        .map(|p| {
            format!(
                "        \" {}\") keys=\"$(\"${{COMP_WORDS[0]}}\" __complete-stores{} -- \"$cur\" 2>/dev/null)\" ;;\n",
                p.join(" "),
                deleted_flag(p)
            )
        })
        .collect();
    format!(
        r#"
# Store keys from the database: the slugs of the stores whose slug starts
# with what is typed (`store-weaver __complete-stores`).
_store_weaver_keys() {{
    local cur="${{COMP_WORDS[COMP_CWORD]}}" path="" skip=0 keys="" i w
    for ((i = 1; i < COMP_CWORD; i++)); do
        w="${{COMP_WORDS[i]}}"
        if ((skip)); then skip=0; continue; fi
        case "$w" in
            {flags}) skip=1 ;;
            -*) ;;
            *) path="$path $w" ;;
        esac
    done
    if [[ "$cur" != -* ]]; then
        case "$path" in
{cases}        esac
        if [[ -n "$keys" ]]; then
            COMPREPLY=($(compgen -W "$keys" -- "$cur"))
            return 0
        fi
    fi
    {fallback} "$@"
}}
complete -F _store_weaver_keys -o bashdefault -o default {BIN}
"#,
        flags = value_flags.join("|"),
    )
}

/// zsh: the generated script completes a `store` argument with `_default`
/// (files); it gets the keys instead.
fn zsh_keys(base: &str) -> String {
    let mut out = String::new();
    for line in base.lines() {
        let store = ["':store:", "'::store:", "':store -", "'::store -"];
        let line = if store.iter().any(|p| line.starts_with(p)) {
            line.replace(":_default'", ":_store_weaver_keys'")
        } else {
            line.to_string()
        };
        out.push_str(&line);
        out.push('\n');
    }
    let function = r#"
# Store keys from the database: the slugs of the stores whose slug starts
# with what is typed (`store-weaver __complete-stores`).
(( $+functions[_store_weaver_keys] )) ||
_store_weaver_keys() {
    local -a keys
    local deleted=""
    [[ ${words[(I)audit]} -gt 0 ]] && deleted="--deleted"
    keys=(${(f)"$(store-weaver __complete-stores $deleted -- "$PREFIX" 2>/dev/null)"})
    compadd -a keys
}
"#;
    // Defined before the script's closing `if` (autoloaded from fpath, or
    // sourced), so it exists whichever way the script is used.
    match out.find("\nif [ \"$funcstack[1]\"") {
        Some(at) => {
            let (head, tail) = out.split_at(at + 1);
            format!("{head}{function}\n{tail}")
        }
        None => out + function,
    }
}

fn fish_keys(stores: &[Vec<String>]) -> String {
    let mut out =
        String::from("\n# Store keys from the database (`store-weaver __complete-stores`).\n");
    for p in stores {
        let cond = p
            .iter()
            .map(|w| format!("__fish_seen_subcommand_from {w}"))
            .collect::<Vec<_>>()
            .join("; and ");
        out.push_str(&format!(
            "complete -c {BIN} -n '{cond}' -f -a '({BIN} __complete-stores{} -- (commandline -ct) 2>/dev/null)'\n",
            deleted_flag(p)
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_store_argument_is_found_in_the_definitions() {
        let paths = store_commands(&Cli::command());
        let joined: Vec<String> = paths.iter().map(|p| p.join(" ")).collect();
        for want in [
            "store show",
            "store delete",
            "store logs",
            "store wp",
            "audit",
        ] {
            assert!(joined.iter().any(|j| j == want), "{want} in {joined:?}");
        }
        assert!(
            !joined
                .iter()
                .any(|j| j == "store list" || j == "store create")
        );
        let flags = value_flags(&Cli::command());
        assert!(
            flags.contains(&"--config".to_string())
                && flags.contains(&"--database-url".to_string())
        );
        assert!(!flags.contains(&"--json".to_string()));
    }
}
