//! The headless HTTP API and dashboard (`--serve`). See issue 6.

use crate::config::Settings;
use color_eyre::eyre::{Result, eyre};
use std::process::ExitCode;

pub async fn run(_settings: Settings) -> Result<ExitCode> {
    Err(eyre!("--serve is not built yet"))
}
