//! The rules for the people who sign in with a password, in one place for
//! the HTTP API and the `user` command: what a new password must be, how
//! an email is written down, and how a password is hashed (argon2id).
//! Checking a password at sign-in stays with the server, which bounds how
//! many checks run at once.

use argon2::password_hash::PasswordHasher;

pub const MAX_PASSWORD_BYTES: usize = 1024;
pub const MIN_PASSWORD_CHARS: usize = 10;

fn argon2() -> argon2::Argon2<'static> {
    argon2::Argon2::default()
}

/// Hashes a password with argon2id (random salt), off the async threads.
pub async fn hash_password(password: String) -> Result<String, String> {
    tokio::task::spawn_blocking(move || {
        argon2()
            .hash_password(password.as_bytes())
            .map(|h| h.to_string())
            .map_err(|e| format!("cannot hash the password: {e}"))
    })
    .await
    .map_err(|e| format!("cannot hash the password: {e}"))?
}

/// Why a new password is refused, if it is.
pub fn check_new_password(password: &str) -> Result<(), String> {
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(format!(
            "the password is longer than {MAX_PASSWORD_BYTES} bytes"
        ));
    }
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(format!(
            "the password must have at least {MIN_PASSWORD_CHARS} characters"
        ));
    }
    if password.chars().any(char::is_control) {
        return Err("the password contains control characters".into());
    }
    Ok(())
}

/// Emails as stored: trimmed, lower-case, one `@`, no spaces.
pub fn normalise_email(raw: &str) -> Result<String, String> {
    let email = crate::store::validate_owner(raw)?;
    match email.split_once('@') {
        Some((local, domain))
            if !local.is_empty() && !domain.is_empty() && !domain.contains('@') =>
        {
            Ok(email)
        }
        _ => Err(format!("{:?} is not an email address", raw.trim())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_and_email_rules() {
        assert!(
            check_new_password("short")
                .unwrap_err()
                .contains("at least 10")
        );
        assert!(check_new_password("long enough password").is_ok());
        assert!(
            check_new_password("ten chars\u{7}x")
                .unwrap_err()
                .contains("control")
        );
        assert_eq!(
            normalise_email(" Ann@Example.com ").unwrap(),
            "ann@example.com"
        );
        assert!(normalise_email("not-an-email").is_err());
    }
}
