//! [`QuarantineKey`]: the key that encrypts the quarantine at rest (originals and removed parts), and the
//! sealed-object format.
//!
//! Each object is sealed with ChaCha20-Poly1305 under a fresh random 96-bit nonce, stored in front of the
//! ciphertext. The object's name (e.g. `message/<id>`) is the associated data, so a file moved or renamed to
//! stand for another object no longer opens.
//!
//! The key is 32 random bytes in a file readable by the relay's user only. Create it once with
//! `head -c 32 /dev/urandom > quarantine.key && chmod 600 quarantine.key` and keep a copy with the backups:
//! without it the quarantine cannot be read. The relay never creates or replaces a key itself.

use std::path::Path;

use anyhow::{Context as _, bail};
use chacha20poly1305::aead::{AeadInPlace as _, KeyInit as _};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use rand::RngCore as _;

/// Marks a sealed object and its format version.
const MAGIC: &[u8; 8] = b"MAMORIQ1";
const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;

/// The 32-byte quarantine key. Its bytes are never printed (`Debug` shows nothing).
#[derive(Clone)]
pub struct QuarantineKey {
    cipher: ChaCha20Poly1305,
}

impl std::fmt::Debug for QuarantineKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("QuarantineKey(..)")
    }
}

impl QuarantineKey {
    /// Reads the key file: exactly 32 bytes, and (on Unix) not readable by group or others.
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let bytes = std::fs::read(path).with_context(|| {
            format!(
                "cannot read the quarantine key {} (create it with `head -c 32 /dev/urandom > FILE; chmod 600 FILE`)",
                path.display()
            )
        })?;
        check_private(path)?;
        Self::from_bytes(&bytes).with_context(|| format!("quarantine key {}", path.display()))
    }

    /// A key from its 32 bytes.
    pub fn from_bytes(bytes: &[u8]) -> anyhow::Result<Self> {
        if bytes.len() != 32 {
            bail!("a quarantine key is 32 bytes, this one is {}", bytes.len());
        }
        Ok(Self {
            cipher: ChaCha20Poly1305::new(Key::from_slice(bytes)),
        })
    }

    /// Encrypts `plain` as the object `name`, in place (no second copy of a large message).
    pub fn seal(&self, name: &str, mut plain: Vec<u8>) -> anyhow::Result<Vec<u8>> {
        let mut nonce = [0u8; NONCE_LEN];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        plain.reserve_exact(MAGIC.len() + NONCE_LEN + TAG_LEN);
        self.cipher
            .encrypt_in_place(Nonce::from_slice(&nonce), name.as_bytes(), &mut plain)
            .map_err(|_| anyhow::anyhow!("cannot encrypt {name}"))?;
        let prefix = MAGIC.iter().chain(nonce.iter()).copied();
        plain.splice(0..0, prefix);
        Ok(plain)
    }

    /// Decrypts the object `name`, in place; fails when the bytes were changed, belong to another object or
    /// were sealed under another key.
    pub fn open(&self, name: &str, mut sealed: Vec<u8>) -> anyhow::Result<Vec<u8>> {
        if !sealed.starts_with(MAGIC) {
            bail!("{name} is not a sealed quarantine object");
        }
        let Some(nonce) = sealed.get(MAGIC.len()..MAGIC.len() + NONCE_LEN) else {
            bail!("{name} is truncated");
        };
        let nonce = *Nonce::from_slice(nonce);
        sealed.drain(..MAGIC.len() + NONCE_LEN);
        self.cipher
            .decrypt_in_place(&nonce, name.as_bytes(), &mut sealed)
            .map_err(|_| {
                anyhow::anyhow!("{name} does not decrypt: changed, misplaced, or another key")
            })?;
        Ok(sealed)
    }
}

#[cfg(unix)]
fn check_private(path: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    let mode = std::fs::metadata(path)?.permissions().mode();
    if mode & 0o077 != 0 {
        bail!(
            "the quarantine key {} is readable by others (mode {:o}); chmod 600 it",
            path.display(),
            mode & 0o777
        );
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_private(_path: &Path) -> anyhow::Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_sealed_object_opens_only_under_its_own_name() {
        let key = QuarantineKey::from_bytes(&[7; 32]).unwrap();
        let sealed = key.seal("message/a", b"secret bytes".to_vec()).unwrap();
        assert!(!sealed.windows(6).any(|w| w == b"secret"));
        assert_eq!(
            key.open("message/a", sealed.clone()).unwrap(),
            b"secret bytes"
        );
        assert!(key.open("message/b", sealed.clone()).is_err());
        let mut changed = sealed;
        changed[30] ^= 1;
        assert!(key.open("message/a", changed).is_err());
    }

    #[test]
    fn a_key_of_the_wrong_length_is_refused() {
        assert!(QuarantineKey::from_bytes(&[1; 16]).is_err());
    }
}
