//! The interactive operations console (ratatui). See issue 5.

use crate::config::Settings;
use color_eyre::eyre::{Result, eyre};
use std::process::ExitCode;

pub async fn run(_settings: Settings, _read_only: bool) -> Result<ExitCode> {
    Err(eyre!("the console is not built yet"))
}
