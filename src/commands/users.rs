//! `store-weaver user ...`: operators manage the people who sign in to the
//! HTTP API with a password. Passwords are read from stdin (one line), or
//! prompted for without echo when stdin is a terminal; never from arguments,
//! which other users of the machine can see.

use super::exit;
use crate::account::{check_new_password, hash_password, normalise_email};
use crate::config::Settings;
use crate::db::{self, users, users::Role};
use clap::Subcommand;
use color_eyre::eyre::{Result, WrapErr, eyre};
use std::io::{BufRead, IsTerminal, Write};
use std::process::ExitCode;

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user; the password is read from stdin (or prompted for).
    Add {
        email: String,
        #[arg(long, default_value = "user", value_parser = ["admin", "user"])]
        role: String,
    },
    /// List users.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Disable a user and end their sessions (their stores stay).
    Disable { email: String },
    /// Enable a disabled user again.
    Enable { email: String },
    /// Set a new password (read like `add`); ends the user's sessions.
    Password { email: String },
}

pub async fn run(cmd: UserCommand, settings: Settings) -> Result<ExitCode> {
    let pool = db::connect(settings.database_url()?, settings.db_connections).await?;
    db::migrate(&pool).await?;
    let email_of = |raw: &str| -> Result<String, ExitCode> {
        normalise_email(raw).map_err(|m| {
            eprintln!("error: {m}");
            ExitCode::from(exit::INVALID)
        })
    };
    match cmd {
        UserCommand::Add { email, role } => {
            let email = match email_of(&email) {
                Ok(e) => e,
                Err(code) => return Ok(code),
            };
            let role = Role::parse(&role).ok_or_else(|| eyre!("role must be admin or user"))?;
            if users::by_email(&pool, &email).await?.is_some() {
                eprintln!(
                    "error: a user {email} already exists (use `user password` to change the password)"
                );
                return Ok(ExitCode::from(exit::CONFLICT));
            }
            let password = match read_password(&format!("password for {email}: ")) {
                Ok(p) => p,
                Err(code) => return Ok(code),
            };
            let hash = hash_password(password).await.map_err(|e| eyre!(e))?;
            match users::insert(&pool, &email, &hash, role).await? {
                Some(u) => {
                    println!("created {} ({})", u.email, u.role);
                    Ok(ExitCode::SUCCESS)
                }
                None => {
                    eprintln!("error: a user {email} already exists");
                    Ok(ExitCode::from(exit::CONFLICT))
                }
            }
        }
        UserCommand::List { json } => {
            let list = users::list(&pool).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&list)?);
            } else {
                println!(
                    "{:<40} {:<6} {:<9} {:<20} LAST SIGN-IN",
                    "EMAIL", "ROLE", "STATE", "CREATED"
                );
                for u in &list {
                    println!(
                        "{:<40} {:<6} {:<9} {:<20} {}",
                        u.email,
                        u.role.as_str(),
                        if u.is_disabled() {
                            "disabled"
                        } else {
                            "active"
                        },
                        u.created_at.format("%Y-%m-%d %H:%M"),
                        u.last_login_at
                            .map(|t| t.format("%Y-%m-%d %H:%M").to_string())
                            .unwrap_or_else(|| "never".into())
                    );
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        UserCommand::Disable { email } => set_disabled(&pool, &email, true).await,
        UserCommand::Enable { email } => set_disabled(&pool, &email, false).await,
        UserCommand::Password { email } => {
            let email = match email_of(&email) {
                Ok(e) => e,
                Err(code) => return Ok(code),
            };
            if users::by_email(&pool, &email).await?.is_none() {
                eprintln!("error: no user {email}");
                return Ok(ExitCode::from(exit::NOT_FOUND));
            }
            let password = match read_password(&format!("new password for {email}: ")) {
                Ok(p) => p,
                Err(code) => return Ok(code),
            };
            let hash = hash_password(password).await.map_err(|e| eyre!(e))?;
            users::set_password(&pool, &email, &hash).await?;
            println!("password changed for {email}; their sessions were ended");
            Ok(ExitCode::SUCCESS)
        }
    }
}

async fn set_disabled(pool: &sqlx::PgPool, raw: &str, disabled: bool) -> Result<ExitCode> {
    let email = match normalise_email(raw) {
        Ok(e) => e,
        Err(m) => {
            eprintln!("error: {m}");
            return Ok(ExitCode::from(exit::INVALID));
        }
    };
    if users::set_disabled(pool, &email, disabled).await? {
        println!(
            "{email} {}",
            if disabled {
                "disabled; sessions ended"
            } else {
                "enabled"
            }
        );
        Ok(ExitCode::SUCCESS)
    } else {
        eprintln!("error: no user {email}");
        Ok(ExitCode::from(exit::NOT_FOUND))
    }
}

/// One password: prompted twice (no echo) on a terminal, else a line of stdin.
fn read_password(prompt: &str) -> Result<String, ExitCode> {
    let fail = |m: String| {
        eprintln!("error: {m}");
        ExitCode::from(exit::INVALID)
    };
    let password = if std::io::stdin().is_terminal() {
        let first = prompt_hidden(prompt).map_err(|e| fail(e.to_string()))?;
        let again = prompt_hidden("again: ").map_err(|e| fail(e.to_string()))?;
        if first != again {
            return Err(fail("the two passwords differ".into()));
        }
        first
    } else {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .map_err(|e| fail(format!("cannot read the password from stdin: {e}")))?;
        line.trim_end_matches(['\n', '\r']).to_string()
    };
    check_new_password(&password).map_err(fail)?;
    Ok(password)
}

fn prompt_hidden(prompt: &str) -> Result<String> {
    use crossterm::event::{self, Event, KeyCode, KeyEventKind, KeyModifiers};
    eprint!("{prompt}");
    let _ = std::io::stderr().flush();
    crossterm::terminal::enable_raw_mode().wrap_err("cannot turn off echo on this terminal")?;
    let mut out = String::new();
    let res = loop {
        match event::read() {
            Ok(Event::Key(k)) if k.kind == KeyEventKind::Press => match k.code {
                KeyCode::Enter => break Ok(()),
                KeyCode::Backspace => {
                    out.pop();
                }
                KeyCode::Char('c' | 'd') if k.modifiers.contains(KeyModifiers::CONTROL) => {
                    break Err(eyre!("cancelled"));
                }
                KeyCode::Esc => break Err(eyre!("cancelled")),
                KeyCode::Char(c) => out.push(c),
                _ => {}
            },
            Ok(_) => {}
            Err(e) => break Err(eyre!("cannot read the terminal: {e}")),
        }
    };
    let _ = crossterm::terminal::disable_raw_mode();
    eprintln!();
    res.map(|()| out)
}
