//! Passwords: Argon2id hashes, and the rules a new password must meet.

use argon2::password_hash::{
    PasswordHash, PasswordHasher, PasswordVerifier, SaltString, rand_core::OsRng,
};
use argon2::{Algorithm, Argon2, Params, Version};

use crate::{AppError, AppResult, FieldError};

/// Shortest password accepted, in characters.
pub const MIN_LEN: usize = 10;
/// Longest password accepted, in characters (bounds the hashing work an attacker can ask for).
pub const MAX_LEN: usize = 256;

fn hasher(params: &Params) -> Argon2<'static> {
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone())
}

pub(crate) fn hash_with(params: &Params, password: &str) -> AppResult<String> {
    let salt = SaltString::generate(&mut OsRng);
    hasher(params)
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| AppError::Internal(format!("password hashing failed: {e}")))
}

/// Whether `password` matches `hash`. Costs the same for a wrong password as for a right one.
pub(crate) fn verify(hash: &str, password: &str) -> bool {
    match PasswordHash::new(hash) {
        Ok(parsed) => Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

/// Checks a new password against the rules; `field` names the form field in the error.
pub fn check_new(field: &str, password: &str, login: &str) -> Result<(), FieldError> {
    let len = password.chars().count();
    if len < MIN_LEN {
        return Err(FieldError::new(field, "err-password-short").with("min", MIN_LEN.to_string()));
    }
    if len > MAX_LEN {
        return Err(FieldError::new(field, "err-too-long").with("max", MAX_LEN.to_string()));
    }
    if !login.is_empty() && password.to_lowercase().contains(&login.to_lowercase()) {
        return Err(FieldError::new(field, "err-password-contains-login"));
    }
    Ok(())
}

/// A one-time initial password: 12 characters from an alphabet without look-alikes (no 0/O, 1/l/I),
/// so it can be read off a printed list.
pub fn initial_password() -> String {
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    (0..12)
        .map(|_| ALPHABET[rand::random::<usize>() % ALPHABET.len()] as char)
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_hash_verifies_its_password_and_nothing_else() {
        let params = Params::new(1024, 1, 1, None).unwrap();
        let hash = hash_with(&params, "correct horse battery").unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify(&hash, "correct horse battery"));
        assert!(!verify(&hash, "correct horse batterY"));
        assert!(!verify("not a hash", "x"));
    }

    #[test]
    fn short_and_login_containing_passwords_are_refused() {
        assert_eq!(
            check_new("p", "short", "x").unwrap_err().key,
            "err-password-short"
        );
        assert_eq!(
            check_new("p", "my-tanaka-pass", "Tanaka").unwrap_err().key,
            "err-password-contains-login"
        );
        assert!(check_new("p", "a long enough one", "tanaka").is_ok());
        assert_eq!(initial_password().len(), 12);
    }
}
