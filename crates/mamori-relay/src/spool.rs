//! The spool directory: every accepted message as one sealed file, written durably before the `250` reply,
//! and the removed parts beside it.
//!
//! ```text
//! SPOOL/
//!   relay.sqlite3        metadata (see `db`)
//!   messages/<id>        envelope + original, sealed (`QuarantineKey`)
//!   parts/<id>.<n>       removed part n of message <id>, sealed
//!   tmp/                 files being written; anything here after a crash is incomplete and removed
//! ```
//!
//! A file is written to `tmp/`, fsynced, renamed into place and the directory fsynced: after a crash a
//! message is either wholly there or not there at all (and then the client never got its `250`).

use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use chrono::{DateTime, Utc};
use rand::RngCore as _;
use serde::{Deserialize, Serialize};

use crate::key::QuarantineKey;

/// A spool id: `YYYYMMDDThhmmss-` and 16 hex digits. Only these characters ever reach a file name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct SpoolId(String);

impl SpoolId {
    /// A new, unique id.
    pub fn new(now: DateTime<Utc>) -> Self {
        let mut random = [0u8; 8];
        rand::rngs::OsRng.fill_bytes(&mut random);
        Self(format!(
            "{}-{}",
            now.format("%Y%m%dT%H%M%S"),
            hex::encode(random)
        ))
    }

    /// An id given by a person or read back from a file name: letters, digits and `-` only.
    pub fn parse(text: &str) -> anyhow::Result<Self> {
        if text.is_empty()
            || text.len() > 64
            || !text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        {
            bail!("{text:?} is not a spool id");
        }
        Ok(Self(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for SpoolId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for SpoolId {
    type Error = anyhow::Error;
    fn try_from(text: String) -> anyhow::Result<Self> {
        Self::parse(&text)
    }
}

impl From<SpoolId> for String {
    fn from(id: SpoolId) -> Self {
        id.0
    }
}

/// What a spooled message is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// Mail from the Internet zone: sanitised before it is forwarded.
    Mail,
    /// A notice the relay wrote to the postmaster: forwarded as it is.
    Notice,
    /// A removed part in its converted form (text, or a PNG re-encoded from an image), released through the
    /// API: written by the relay, forwarded as it is.
    Release,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Mail => "mail",
            Self::Notice => "notice",
            Self::Release => "release",
        }
    }
}

/// The SMTP envelope and where the message came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Envelope {
    pub id: SpoolId,
    pub kind: Kind,
    pub received_at: DateTime<Utc>,
    /// The client's IP address (the Internet-zone MTA).
    pub peer: String,
    /// What the client said in EHLO/HELO.
    pub helo: String,
    /// The reverse path; empty for the null sender `<>`.
    pub mail_from: String,
    pub rcpt_to: Vec<String>,
}

/// The spool directory and the key that seals its files.
#[derive(Debug, Clone)]
pub struct Spool {
    root: PathBuf,
    key: QuarantineKey,
}

impl Spool {
    /// Opens (creating if needed) the spool directory.
    pub fn open(root: &Path, key: QuarantineKey) -> anyhow::Result<Self> {
        for dir in ["messages", "parts", "tmp"] {
            let path = root.join(dir);
            std::fs::create_dir_all(&path)
                .with_context(|| format!("cannot create {}", path.display()))?;
        }
        Ok(Self {
            root: root.to_owned(),
            key,
        })
    }

    /// Takes the spool for one running relay: an exclusive lock on `SPOOL/relay.lock`, held as long as the
    /// returned file is open. A second relay on the same spool is refused.
    pub fn lock(&self) -> anyhow::Result<std::fs::File> {
        let path = self.root.join("relay.lock");
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .with_context(|| format!("cannot open {}", path.display()))?;
        file.try_lock().map_err(|_| {
            anyhow::anyhow!(
                "another relay is running on the spool {}",
                self.root.display()
            )
        })?;
        Ok(file)
    }

    /// Removes what a crash left half-written in `tmp/` (only while holding [`Spool::lock`]).
    pub fn clear_tmp(&self) -> anyhow::Result<()> {
        for entry in std::fs::read_dir(self.root.join("tmp"))? {
            let path = entry?.path();
            std::fs::remove_file(&path)
                .with_context(|| format!("cannot remove {}", path.display()))?;
        }
        Ok(())
    }

    /// Seals and durably writes a message with its envelope. Blocking: call it off the async threads.
    pub fn store_message(&self, envelope: &Envelope, raw: Vec<u8>) -> anyhow::Result<()> {
        let header = serde_json::to_vec(envelope)?;
        let length = u32::try_from(header.len()).context("envelope too large")?;
        let mut plain = raw;
        plain.splice(0..0, length.to_be_bytes().into_iter().chain(header));
        let sealed = self.key.seal(&message_object(&envelope.id), plain)?;
        self.write_durably(&self.message_path(&envelope.id), &sealed)
    }

    /// Reads back a message and its envelope. Blocking.
    pub fn load_message(&self, id: &SpoolId) -> anyhow::Result<(Envelope, Vec<u8>)> {
        let path = self.message_path(id);
        let sealed =
            std::fs::read(&path).with_context(|| format!("cannot read spool file of {id}"))?;
        let mut plain = self.key.open(&message_object(id), sealed)?;
        let Some(length) = plain.first_chunk::<4>() else {
            bail!("spool file of {id} is truncated");
        };
        let length = u32::from_be_bytes(*length) as usize;
        let Some(header) = plain.get(4..4 + length) else {
            bail!("spool file of {id} is truncated");
        };
        let envelope: Envelope = serde_json::from_slice(header)
            .with_context(|| format!("spool file of {id}: envelope"))?;
        if &envelope.id != id {
            bail!("spool file of {id} holds {}", envelope.id);
        }
        plain.drain(..4 + length);
        Ok((envelope, plain))
    }

    /// Seals and durably writes removed part `index` of message `id`. Blocking.
    pub fn store_part(&self, id: &SpoolId, index: usize, content: Vec<u8>) -> anyhow::Result<()> {
        let sealed = self.key.seal(&part_object(id, index), content)?;
        self.write_durably(&self.part_path(id, index), &sealed)
    }

    /// Reads back removed part `index` of message `id`. Blocking.
    pub fn load_part(&self, id: &SpoolId, index: usize) -> anyhow::Result<Vec<u8>> {
        let sealed = std::fs::read(self.part_path(id, index))
            .with_context(|| format!("cannot read part {index} of {id}"))?;
        self.key.open(&part_object(id, index), sealed)
    }

    /// The ids of every message file, for recovery after a restart.
    pub fn message_ids(&self) -> anyhow::Result<Vec<SpoolId>> {
        let mut ids = Vec::new();
        for entry in std::fs::read_dir(self.root.join("messages"))? {
            let name = entry?.file_name();
            match name.to_str().map(SpoolId::parse) {
                Some(Ok(id)) => ids.push(id),
                _ => tracing::warn!(file = ?name, "ignoring a foreign file in the spool"),
            }
        }
        ids.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(ids)
    }

    /// Deletes a message and its parts (retention expired). Blocking.
    pub fn purge(&self, id: &SpoolId, parts: usize) -> anyhow::Result<()> {
        for index in 1..=parts {
            remove_if_present(&self.part_path(id, index))?;
        }
        remove_if_present(&self.message_path(id))?;
        sync_dir(&self.root.join("parts"))?;
        sync_dir(&self.root.join("messages"))
    }

    pub fn message_path(&self, id: &SpoolId) -> PathBuf {
        self.root.join("messages").join(id.as_str())
    }

    fn part_path(&self, id: &SpoolId, index: usize) -> PathBuf {
        self.root.join("parts").join(format!("{id}.{index}"))
    }

    fn write_durably(&self, target: &Path, bytes: &[u8]) -> anyhow::Result<()> {
        let name = target
            .file_name()
            .context("spool path without a file name")?;
        let tmp = self.root.join("tmp").join(name);
        let mut file = std::fs::File::create(&tmp)
            .with_context(|| format!("cannot create {}", tmp.display()))?;
        file.write_all(bytes)
            .and_then(|()| file.sync_all())
            .with_context(|| format!("cannot write {}", tmp.display()))?;
        drop(file);
        std::fs::rename(&tmp, target)
            .with_context(|| format!("cannot move {} into place", tmp.display()))?;
        let dir = target.parent().context("spool path without a directory")?;
        sync_dir(dir)
    }
}

fn message_object(id: &SpoolId) -> String {
    format!("message/{id}")
}

fn part_object(id: &SpoolId, index: usize) -> String {
    format!("part/{id}/{index}")
}

fn remove_if_present(path: &Path) -> anyhow::Result<()> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e).with_context(|| format!("cannot remove {}", path.display())),
    }
}

/// Makes a rename or removal in `dir` durable.
fn sync_dir(dir: &Path) -> anyhow::Result<()> {
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .with_context(|| format!("cannot sync directory {}", dir.display()))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_stored_message_reads_back_with_its_envelope() {
        let dir = std::env::temp_dir().join(format!("mamori-spool-{}", std::process::id()));
        let spool = Spool::open(&dir, QuarantineKey::from_bytes(&[3; 32]).unwrap()).unwrap();
        let envelope = Envelope {
            id: SpoolId::new(Utc::now()),
            kind: Kind::Mail,
            received_at: Utc::now(),
            peer: "127.0.0.1".into(),
            helo: "mx".into(),
            mail_from: "a@example.jp".into(),
            rcpt_to: vec!["b@city.example".into()],
        };
        spool
            .store_message(&envelope, b"Subject: x\r\n\r\nbody\r\n".to_vec())
            .unwrap();
        let (back, raw) = spool.load_message(&envelope.id).unwrap();
        assert_eq!(back, envelope);
        assert_eq!(raw, b"Subject: x\r\n\r\nbody\r\n");
        assert_eq!(spool.message_ids().unwrap(), vec![envelope.id.clone()]);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn an_id_with_a_path_in_it_is_refused() {
        assert!(SpoolId::parse("../etc/passwd").is_err());
        assert!(SpoolId::parse("20261126T193000-0011223344556677").is_ok());
    }
}
