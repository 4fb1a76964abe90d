//! Command-line arguments. Flags that are settings feed the top layer of
//! `config`; everything else picks what to run.

use crate::config;
use crate::engines::EngineKind;
use clap::{Args, Parser};
use std::collections::BTreeMap;
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "store-weaver",
    version,
    about = about()
)]
pub struct Cli {
    /// Run the headless HTTP API (and the dashboard) instead of the console.
    #[arg(long)]
    pub serve: bool,
    /// Console: hide every destructive action.
    #[arg(long)]
    pub read_only: bool,
    /// Settings file (TOML); default: the XDG config dir's store-weaver/config.toml.
    #[arg(long, value_name = "FILE", global = true)]
    pub config: Option<PathBuf>,
    #[command(flatten)]
    pub settings: SettingFlags,
    #[command(subcommand)]
    pub command: Option<crate::commands::Command>,
}

/// The flag layer of the settings: one `--flag` per key of
/// `config::KEYS`, generated from it (name, value name, help), so a new
/// setting gets its flag without being listed here.
#[derive(Debug, Default, Clone)]
pub struct SettingFlags {
    values: BTreeMap<&'static str, String>,
}

impl SettingFlags {
    /// The flag layer, keyed by config key.
    pub fn layer(&self) -> BTreeMap<&'static str, String> {
        self.values.clone()
    }
}

impl clap::FromArgMatches for SettingFlags {
    fn from_arg_matches(m: &clap::ArgMatches) -> Result<Self, clap::Error> {
        let mut flags = SettingFlags::default();
        flags.update_from_arg_matches(m)?;
        Ok(flags)
    }

    fn update_from_arg_matches(&mut self, m: &clap::ArgMatches) -> Result<(), clap::Error> {
        for k in config::KEYS {
            let value = m
                .try_get_one::<String>(k.name)
                .map_err(|e| clap::Error::raw(clap::error::ErrorKind::ArgumentConflict, e))?;
            if let Some(v) = value {
                self.values.insert(k.name, v.clone());
            }
        }
        Ok(())
    }
}

impl Args for SettingFlags {
    fn augment_args(cmd: clap::Command) -> clap::Command {
        cmd.args(config::KEYS.iter().map(|k| {
            let help = match k.default {
                Some(d) if !d.is_empty() && !k.secret => {
                    format!("{} [env: {}] [default: {d}]", k.help.trim(), k.env)
                }
                _ => format!("{} [env: {}]", k.help.trim(), k.env),
            };
            clap::Arg::new(k.name)
                .long(k.flag)
                .value_name(k.value_name())
                .help(help)
                .global(true)
                .action(clap::ArgAction::Set)
        }))
    }

    fn augment_args_for_update(cmd: clap::Command) -> clap::Command {
        Self::augment_args(cmd)
    }
}

/// "Provision A or B stores on Kubernetes. ...": the engines from their table.
fn about() -> String {
    let titles: Vec<&str> = EngineKind::ALL.iter().map(|e| e.spec().title).collect();
    format!(
        "Provision {} stores on Kubernetes.\n\nWithout a command: the interactive console. With --serve: the HTTP API and dashboard.",
        titles.join(" or ")
    )
}
