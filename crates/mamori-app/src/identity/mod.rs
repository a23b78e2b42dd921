//! Identity: passwords, the second factor, sessions and personal API tokens.

pub mod password;
pub mod session;
pub mod signin;
pub mod token;
pub mod totp;

use base64::Engine;
use sha2::{Digest, Sha256};

/// A fresh secret of 32 random bytes, URL-safe. Only its hash is stored.
pub(crate) fn random_secret() -> String {
    let bytes: [u8; 32] = rand::random();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// SHA-256 of a high-entropy secret (session or API token, recovery code). Such secrets cannot be guessed,
/// so a fast hash suffices; passwords use Argon2id instead.
pub(crate) fn secret_hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}
