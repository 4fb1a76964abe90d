use clap::Parser;
use color_eyre::eyre::Result;
use std::process::ExitCode;
use store_weaver::cli::Cli;
use store_weaver::commands::Command;
use store_weaver::config::{Layers, Settings};
use store_weaver::{commands, completions, logging};

fn main() -> ExitCode {
    if let Err(e) = color_eyre::install() {
        eprintln!("error: {e}");
    }
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:?}");
            ExitCode::from(commands::exit::ERROR)
        }
    }
}

async fn run(cli: Cli) -> Result<ExitCode> {
    // Generated from the definitions alone: no settings needed.
    match &cli.command {
        Some(Command::Completions { shell }) => {
            print!("{}", completions::script(*shell));
            return Ok(ExitCode::SUCCESS);
        }
        Some(Command::Man) => {
            std::io::Write::write_all(&mut std::io::stdout(), &completions::man()?)?;
            return Ok(ExitCode::SUCCESS);
        }
        // Called by a shell while the user types: silent, whatever fails.
        Some(Command::CompleteStores { deleted, prefix }) => {
            let settings = Layers::gather(cli.config.as_deref(), cli.settings.layer())
                .and_then(|l| Settings::resolve(&l));
            if let Ok(settings) = settings {
                commands::keys::complete(&settings, prefix, *deleted).await;
            }
            return Ok(ExitCode::SUCCESS);
        }
        _ => {}
    }
    let layers = Layers::gather(cli.config.as_deref(), cli.settings.layer())?;
    let settings = Settings::resolve(&layers)?;
    match cli.command {
        Some(command) => {
            let _guard = logging::init(&settings, logging::Target::Stderr)?;
            commands::run(command, settings).await
        }
        None if cli.serve => {
            let _guard = logging::init(&settings, logging::Target::Stderr)?;
            store_weaver::serve::run(settings).await
        }
        None => {
            let _guard = logging::init(&settings, logging::Target::File)?;
            store_weaver::tui::run(settings, cli.read_only).await
        }
    }
}
