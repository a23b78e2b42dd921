//! The relay's own metadata database (SQLite, `SPOOL/relay.sqlite3` by default): one row per spooled message
//! with its envelope, state and delivery attempts, one row per removed part (name, types, size, SHA-256 —
//! never the content), a log of operator actions such as exports, and the releases made through the API
//! (which part, to whom, approved by whom, and the id of the message that carried it).
//!
//! The sealed files in the spool are the truth about *what* was accepted; this database says *where each
//! one is*. A message file without a row (a crash between the two writes) is added back at start-up.

use std::str::FromStr as _;
use std::time::Duration;

use anyhow::{Context as _, bail};
use chrono::{DateTime, Utc};
use mamori_sanitize::RemovedPart;
use sqlx::Row as _;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

use crate::spool::{Envelope, SpoolId};

/// Where a message is. A message leaves `Spooled` only for `Delivered` or `Dead`; it is never dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Accepted and waiting for (another) delivery attempt.
    Spooled,
    /// Forwarded to the next hop (sanitised, for mail).
    Delivered,
    /// Refused by the next hop, by the sanitiser, or out of attempts: kept with its reason.
    Dead,
}

impl State {
    fn as_str(self) -> &'static str {
        match self {
            Self::Spooled => "spooled",
            Self::Delivered => "delivered",
            Self::Dead => "dead",
        }
    }
}

const SCHEMA: [&str; 5] = [
    "CREATE TABLE IF NOT EXISTS message (
        id TEXT PRIMARY KEY,
        kind TEXT NOT NULL,
        state TEXT NOT NULL,
        received_at INTEGER NOT NULL,
        size INTEGER NOT NULL,
        peer TEXT NOT NULL,
        mail_from TEXT NOT NULL,
        rcpt_to TEXT NOT NULL,
        header_from TEXT,
        subject TEXT,
        sanitized TEXT,
        parts INTEGER NOT NULL DEFAULT 0,
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at INTEGER NOT NULL,
        last_error TEXT,
        finished_at INTEGER,
        expires_at INTEGER NOT NULL,
        purged_at INTEGER
    )",
    "CREATE INDEX IF NOT EXISTS message_queue ON message (state, next_attempt_at)",
    "CREATE TABLE IF NOT EXISTS removed_part (
        message_id TEXT NOT NULL REFERENCES message (id),
        idx INTEGER NOT NULL,
        path TEXT NOT NULL,
        file_name TEXT,
        declared_type TEXT NOT NULL,
        sniffed_type TEXT NOT NULL,
        size INTEGER NOT NULL,
        sha256 TEXT NOT NULL,
        inline INTEGER NOT NULL,
        PRIMARY KEY (message_id, idx)
    )",
    "CREATE TABLE IF NOT EXISTS relay_log (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        at INTEGER NOT NULL,
        event TEXT NOT NULL,
        message_id TEXT,
        detail TEXT NOT NULL
    )",
    "CREATE TABLE IF NOT EXISTS releases (
        message_id TEXT NOT NULL REFERENCES message (id),
        idx INTEGER NOT NULL,
        recipient TEXT NOT NULL,
        approved_by TEXT NOT NULL,
        reason TEXT NOT NULL,
        released_at INTEGER NOT NULL,
        queued_as TEXT NOT NULL,
        PRIMARY KEY (message_id, idx, recipient)
    )",
];

/// A quarantined mail message as the API shows it (metadata only).
#[derive(Debug, Clone)]
pub struct Held {
    pub id: SpoolId,
    pub received_at: DateTime<Utc>,
    pub mail_from: String,
    pub rcpt_to: Vec<String>,
    pub header_from: Option<String>,
    pub subject: Option<String>,
    pub state: String,
    pub parts: Vec<HeldPart>,
}

/// One removed part of a [`Held`] message (metadata only).
#[derive(Debug, Clone)]
pub struct HeldPart {
    pub index: usize,
    pub file_name: Option<String>,
    pub declared_type: String,
    pub sniffed_type: String,
    pub size: u64,
    pub sha256: String,
    /// The first release of this part (to the recipient asked about, or to anyone).
    pub released_at: Option<DateTime<Utc>>,
}

/// A release of a removed part to one recipient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Release {
    pub message_id: SpoolId,
    pub index: usize,
    /// As it appears in the original's envelope.
    pub recipient: String,
    pub approved_by: String,
    pub reason: String,
    pub released_at: DateTime<Utc>,
    /// The spool id of the message that carries the converted part.
    pub queued_as: SpoolId,
}

fn timestamp(seconds: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(seconds, 0).unwrap_or_default()
}

/// A message due for a delivery attempt.
#[derive(Debug, Clone)]
pub struct Due {
    pub id: SpoolId,
    pub attempts: u32,
}

/// The relay's health at a glance (`mamori relay status`, `GET /v1/status`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    /// Messages of any kind spooled and not yet delivered.
    pub queued: i64,
    /// Dead letters.
    pub dead: i64,
    /// Mail with at least one removed part still in the quarantine (not purged).
    pub held: i64,
    /// Messages of any kind (mail, releases, notices) forwarded to the next hop in the last hour and day.
    pub delivered_last_hour: i64,
    pub delivered_last_day: i64,
    /// Mail accepted over SMTP in the last hour.
    pub received_last_hour: i64,
    /// When the oldest message still queued was received.
    pub oldest_queued_at: Option<DateTime<Utc>>,
    /// The newest dead letters, at most [`MAX_DEAD_LISTED`].
    pub dead_letters: Vec<DeadLetter>,
}

/// Dead letters listed at most by [`Db::status`].
pub const MAX_DEAD_LISTED: u32 = 50;

/// A dead letter as the operations page shows it (no subject, no content).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetter {
    pub id: SpoolId,
    pub received_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    /// Empty for the relay's own messages (null sender).
    pub mail_from: String,
    pub rcpt_to: Vec<String>,
    pub reason: Option<String>,
}

/// The relay's database.
#[derive(Debug, Clone)]
pub struct Db {
    pool: SqlitePool,
}

impl Db {
    /// Opens (creating if needed) the database at `url` (`sqlite://PATH`) and creates the tables.
    pub async fn open(url: &str) -> anyhow::Result<Self> {
        if !url.starts_with("sqlite:") {
            bail!("the relay's database is SQLite: give a sqlite:// URL");
        }
        // WAL with synchronous=FULL: a committed row survives a crash, as the spool files do.
        let options = SqliteConnectOptions::from_str(url)
            .with_context(|| format!("bad database URL {url}"))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(Duration::from_secs(10));
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await
            .with_context(|| format!("cannot open the relay database {url}"))?;
        for statement in SCHEMA {
            sqlx::query(statement).execute(&pool).await?;
        }
        Ok(Self { pool })
    }

    /// Records a message just written to the spool.
    pub async fn insert_spooled(
        &self,
        envelope: &Envelope,
        size: usize,
        expires_at: DateTime<Utc>,
    ) -> anyhow::Result<()> {
        sqlx::query(
            "INSERT OR IGNORE INTO message (id, kind, state, received_at, size, peer, mail_from, rcpt_to,
                next_attempt_at, expires_at)
             VALUES (?, ?, 'spooled', ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(envelope.id.as_str())
        .bind(envelope.kind.as_str())
        .bind(envelope.received_at.timestamp())
        .bind(i64::try_from(size).unwrap_or(i64::MAX))
        .bind(&envelope.peer)
        .bind(&envelope.mail_from)
        .bind(serde_json::to_string(&envelope.rcpt_to)?)
        .bind(envelope.received_at.timestamp())
        .bind(expires_at.timestamp())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Whether a row exists for `id`.
    pub async fn contains(&self, id: &SpoolId) -> anyhow::Result<bool> {
        let row = sqlx::query("SELECT 1 FROM message WHERE id = ?")
            .bind(id.as_str())
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.is_some())
    }

    /// Every spooled message becomes due now (at start-up: whatever was waiting is tried again).
    pub async fn retry_all_now(&self, now: DateTime<Utc>) -> anyhow::Result<u64> {
        let done = sqlx::query("UPDATE message SET next_attempt_at = ? WHERE state = 'spooled'")
            .bind(now.timestamp())
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }

    /// Spooled messages whose next attempt is due, oldest first.
    pub async fn due(&self, now: DateTime<Utc>, limit: u32) -> anyhow::Result<Vec<Due>> {
        let rows = sqlx::query(
            "SELECT id, attempts FROM message WHERE state = 'spooled' AND next_attempt_at <= ?
             ORDER BY next_attempt_at, id LIMIT ?",
        )
        .bind(now.timestamp())
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(Due {
                    id: SpoolId::parse(row.try_get::<&str, _>("id")?)?,
                    attempts: u32::try_from(row.try_get::<i64, _>("attempts")?).unwrap_or(u32::MAX),
                })
            })
            .collect()
    }

    /// `id` if it is still spooled and due at `now`, with its attempts so far (a list from [`Db::due`] may
    /// be stale by the time its turn comes).
    pub async fn still_due(&self, id: &SpoolId, now: DateTime<Utc>) -> anyhow::Result<Option<Due>> {
        let row = sqlx::query(
            "SELECT attempts FROM message WHERE id = ? AND state = 'spooled' AND next_attempt_at <= ?",
        )
        .bind(id.as_str())
        .bind(now.timestamp())
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| {
            Ok(Due {
                id: id.clone(),
                attempts: u32::try_from(row.try_get::<i64, _>("attempts")?).unwrap_or(u32::MAX),
            })
        })
        .transpose()
    }

    /// What the sanitiser found: the decoded sender and subject, the `X-Mamori-Sanitized` actions and the
    /// removed parts (metadata only). Idempotent: a retry records the same again.
    pub async fn record_sanitized(
        &self,
        id: &SpoolId,
        header_from: Option<&str>,
        subject: Option<&str>,
        actions: &str,
        parts: &[RemovedPart],
    ) -> anyhow::Result<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("UPDATE message SET header_from = ?, subject = ?, sanitized = ?, parts = ? WHERE id = ?")
            .bind(header_from)
            .bind(subject)
            .bind(actions)
            .bind(i64::try_from(parts.len()).unwrap_or(i64::MAX))
            .bind(id.as_str())
            .execute(&mut *tx)
            .await?;
        for part in parts {
            sqlx::query(
                "INSERT OR REPLACE INTO removed_part
                    (message_id, idx, path, file_name, declared_type, sniffed_type, size, sha256, inline)
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            )
            .bind(id.as_str())
            .bind(i64::try_from(part.index).unwrap_or(i64::MAX))
            .bind(&part.path)
            .bind(part.file_name.as_deref())
            .bind(&part.declared_type)
            .bind(&part.sniffed_type)
            .bind(i64::try_from(part.size).unwrap_or(i64::MAX))
            .bind(&part.sha256)
            .bind(part.inline)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The message reached the next hop (`note`: recipients it refused for good, if any).
    pub async fn mark_delivered(
        &self,
        id: &SpoolId,
        attempts: u32,
        note: Option<&str>,
        now: DateTime<Utc>,
    ) -> anyhow::Result<()> {
        self.finish(id, State::Delivered, attempts, note, now).await
    }

    /// The message is a dead letter, kept with `reason`.
    pub async fn mark_dead(
        &self,
        id: &SpoolId,
        attempts: u32,
        reason: &str,
        now: DateTime<Utc>,
    ) -> anyhow::Result<()> {
        self.finish(id, State::Dead, attempts, Some(reason), now)
            .await
    }

    async fn finish(
        &self,
        id: &SpoolId,
        state: State,
        attempts: u32,
        reason: Option<&str>,
        now: DateTime<Utc>,
    ) -> anyhow::Result<()> {
        sqlx::query(
            "UPDATE message SET state = ?, attempts = ?, last_error = COALESCE(?, last_error), finished_at = ?
             WHERE id = ?",
        )
        .bind(state.as_str())
        .bind(i64::from(attempts))
        .bind(reason)
        .bind(now.timestamp())
        .bind(id.as_str())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// A temporary failure: try again at `next`.
    pub async fn retry_later(
        &self,
        id: &SpoolId,
        attempts: u32,
        reason: &str,
        next: DateTime<Utc>,
    ) -> anyhow::Result<()> {
        sqlx::query(
            "UPDATE message SET attempts = ?, last_error = ?, next_attempt_at = ? WHERE id = ?",
        )
        .bind(i64::from(attempts))
        .bind(reason)
        .bind(next.timestamp())
        .bind(id.as_str())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Finished messages past their retention whose files are still there, with their part counts.
    pub async fn expired(&self, now: DateTime<Utc>) -> anyhow::Result<Vec<(SpoolId, usize)>> {
        let rows = sqlx::query(
            "SELECT id, parts FROM message
             WHERE state IN ('delivered', 'dead') AND expires_at <= ? AND purged_at IS NULL",
        )
        .bind(now.timestamp())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok((
                    SpoolId::parse(row.try_get::<&str, _>("id")?)?,
                    usize::try_from(row.try_get::<i64, _>("parts")?).unwrap_or(0),
                ))
            })
            .collect()
    }

    /// The message's files were deleted at the end of its retention; its metadata row stays.
    pub async fn mark_purged(&self, id: &SpoolId, now: DateTime<Utc>) -> anyhow::Result<()> {
        sqlx::query("UPDATE message SET purged_at = ? WHERE id = ?")
            .bind(now.timestamp())
            .bind(id.as_str())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Whether the message's files were purged.
    pub async fn is_purged(&self, id: &SpoolId) -> anyhow::Result<bool> {
        let row = sqlx::query("SELECT purged_at FROM message WHERE id = ?")
            .bind(id.as_str())
            .fetch_optional(&self.pool)
            .await?;
        Ok(match row {
            Some(row) => row.try_get::<Option<i64>, _>("purged_at")?.is_some(),
            None => false,
        })
    }

    /// The state and last error of one message.
    pub async fn state(&self, id: &SpoolId) -> anyhow::Result<Option<(String, Option<String>)>> {
        let row = sqlx::query("SELECT state, last_error FROM message WHERE id = ?")
            .bind(id.as_str())
            .fetch_optional(&self.pool)
            .await?;
        row.map(|row| Ok((row.try_get("state")?, row.try_get("last_error")?)))
            .transpose()
    }

    /// Queue length, dead letters, held mail, throughput in the hour and the day before `now`, and the
    /// newest dead letters.
    pub async fn status(&self, now: DateTime<Utc>) -> anyhow::Result<Status> {
        let row = sqlx::query(
            "SELECT
                (SELECT COUNT(*) FROM message WHERE state = 'spooled') AS queued,
                (SELECT COUNT(*) FROM message WHERE state = 'dead') AS dead,
                (SELECT COUNT(*) FROM message WHERE kind = 'mail' AND parts > 0 AND purged_at IS NULL) AS held,
                (SELECT COUNT(*) FROM message WHERE state = 'delivered' AND finished_at > ?1) AS delivered_hour,
                (SELECT COUNT(*) FROM message WHERE state = 'delivered' AND finished_at > ?2) AS delivered_day,
                (SELECT COUNT(*) FROM message WHERE kind = 'mail' AND received_at > ?1) AS received_hour,
                (SELECT MIN(received_at) FROM message WHERE state = 'spooled') AS oldest_queued",
        )
        .bind(now.timestamp() - 3600)
        .bind(now.timestamp() - 86_400)
        .fetch_one(&self.pool)
        .await?;
        Ok(Status {
            queued: row.try_get("queued")?,
            dead: row.try_get("dead")?,
            held: row.try_get("held")?,
            delivered_last_hour: row.try_get("delivered_hour")?,
            delivered_last_day: row.try_get("delivered_day")?,
            received_last_hour: row.try_get("received_hour")?,
            oldest_queued_at: row
                .try_get::<Option<i64>, _>("oldest_queued")?
                .map(timestamp),
            dead_letters: self.dead_letters(MAX_DEAD_LISTED).await?,
        })
    }

    /// The newest dead letters (by when they became dead), at most `limit`.
    async fn dead_letters(&self, limit: u32) -> anyhow::Result<Vec<DeadLetter>> {
        let rows = sqlx::query(
            "SELECT id, received_at, finished_at, mail_from, rcpt_to, last_error FROM message
             WHERE state = 'dead'
             ORDER BY COALESCE(finished_at, received_at) DESC, id DESC LIMIT ?",
        )
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let rcpt_to: String = row.try_get("rcpt_to")?;
                Ok(DeadLetter {
                    id: SpoolId::parse(row.try_get::<&str, _>("id")?)?,
                    received_at: timestamp(row.try_get("received_at")?),
                    finished_at: row.try_get::<Option<i64>, _>("finished_at")?.map(timestamp),
                    mail_from: row.try_get("mail_from")?,
                    rcpt_to: serde_json::from_str(&rcpt_to).context("rcpt_to in the database")?,
                    reason: row.try_get("last_error")?,
                })
            })
            .collect()
    }

    /// Appends to the relay's own log (operator actions such as exports).
    pub async fn log(
        &self,
        event: &str,
        id: Option<&SpoolId>,
        detail: &str,
        now: DateTime<Utc>,
    ) -> anyhow::Result<()> {
        sqlx::query("INSERT INTO relay_log (at, event, message_id, detail) VALUES (?, ?, ?, ?)")
            .bind(now.timestamp())
            .bind(event)
            .bind(id.map(SpoolId::as_str))
            .bind(detail)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Mail messages still in the quarantine (not purged) whose envelope recipients include `recipient`
    /// (ASCII case-insensitive), newest first, at most `limit`.
    pub async fn held_for(&self, recipient: &str, limit: u32) -> anyhow::Result<Vec<Held>> {
        let rows = sqlx::query(
            "SELECT id FROM message
             WHERE kind = 'mail' AND purged_at IS NULL
               AND EXISTS (SELECT 1 FROM json_each(message.rcpt_to) WHERE lower(json_each.value) = lower(?))
             ORDER BY received_at DESC, id DESC LIMIT ?",
        )
        .bind(recipient)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let id = SpoolId::parse(row.try_get::<&str, _>("id")?)?;
            if let Some(held) = self.held(&id, Some(recipient)).await? {
                out.push(held);
            }
        }
        Ok(out)
    }

    /// One mail message still in the quarantine, with its removed parts; `released_at` of each part is its
    /// first release to `recipient` (or to anyone when `None`).
    pub async fn held(
        &self,
        id: &SpoolId,
        recipient: Option<&str>,
    ) -> anyhow::Result<Option<Held>> {
        let Some(row) = sqlx::query(
            "SELECT id, received_at, mail_from, rcpt_to, header_from, subject, state FROM message
             WHERE id = ? AND kind = 'mail' AND purged_at IS NULL",
        )
        .bind(id.as_str())
        .fetch_optional(&self.pool)
        .await?
        else {
            return Ok(None);
        };
        let parts = sqlx::query(
            "SELECT idx, file_name, declared_type, sniffed_type, size, sha256,
                (SELECT MIN(released_at) FROM releases r
                  WHERE r.message_id = p.message_id AND r.idx = p.idx
                    AND (?1 IS NULL OR lower(r.recipient) = lower(?1))) AS released_at
             FROM removed_part p WHERE message_id = ?2 ORDER BY idx",
        )
        .bind(recipient)
        .bind(id.as_str())
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|part| {
            Ok(HeldPart {
                index: usize::try_from(part.try_get::<i64, _>("idx")?).unwrap_or(0),
                file_name: part.try_get("file_name")?,
                declared_type: part.try_get("declared_type")?,
                sniffed_type: part.try_get("sniffed_type")?,
                size: u64::try_from(part.try_get::<i64, _>("size")?).unwrap_or(0),
                sha256: part.try_get("sha256")?,
                released_at: part
                    .try_get::<Option<i64>, _>("released_at")?
                    .map(timestamp),
            })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
        let rcpt_to: String = row.try_get("rcpt_to")?;
        Ok(Some(Held {
            id: id.clone(),
            received_at: timestamp(row.try_get("received_at")?),
            mail_from: row.try_get("mail_from")?,
            rcpt_to: serde_json::from_str(&rcpt_to).context("rcpt_to in the database")?,
            header_from: row.try_get("header_from")?,
            subject: row.try_get("subject")?,
            state: row.try_get("state")?,
            parts,
        }))
    }

    /// The release of part `index` of `id` to `recipient` (exactly as in the envelope), if there was one.
    pub async fn release(
        &self,
        id: &SpoolId,
        index: usize,
        recipient: &str,
    ) -> anyhow::Result<Option<Release>> {
        let row = sqlx::query(
            "SELECT message_id, idx, recipient, approved_by, reason, released_at, queued_as FROM releases
             WHERE message_id = ? AND idx = ? AND recipient = ?",
        )
        .bind(id.as_str())
        .bind(i64::try_from(index).unwrap_or(i64::MAX))
        .bind(recipient)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| {
            Ok(Release {
                message_id: SpoolId::parse(row.try_get::<&str, _>("message_id")?)?,
                index: usize::try_from(row.try_get::<i64, _>("idx")?).unwrap_or(0),
                recipient: row.try_get("recipient")?,
                approved_by: row.try_get("approved_by")?,
                reason: row.try_get("reason")?,
                released_at: timestamp(row.try_get("released_at")?),
                queued_as: SpoolId::parse(row.try_get::<&str, _>("queued_as")?)?,
            })
        })
        .transpose()
    }

    /// Records a release and its entry in the relay's log, together.
    pub async fn record_release(&self, release: &Release) -> anyhow::Result<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO releases (message_id, idx, recipient, approved_by, reason, released_at, queued_as)
             VALUES (?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(release.message_id.as_str())
        .bind(i64::try_from(release.index).unwrap_or(i64::MAX))
        .bind(&release.recipient)
        .bind(&release.approved_by)
        .bind(&release.reason)
        .bind(release.released_at.timestamp())
        .bind(release.queued_as.as_str())
        .execute(&mut *tx)
        .await?;
        let detail = serde_json::json!({
            "part": release.index,
            "recipient": release.recipient,
            "approved_by": release.approved_by,
            "reason": release.reason,
            "queued_as": release.queued_as.as_str(),
        });
        sqlx::query(
            "INSERT INTO relay_log (at, event, message_id, detail) VALUES (?, 'release', ?, ?)",
        )
        .bind(release.released_at.timestamp())
        .bind(release.message_id.as_str())
        .bind(detail.to_string())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The relay's log entries for one message: `(event, detail)`, oldest first.
    pub async fn log_of(&self, id: &SpoolId) -> anyhow::Result<Vec<(String, String)>> {
        let rows =
            sqlx::query("SELECT event, detail FROM relay_log WHERE message_id = ? ORDER BY seq")
                .bind(id.as_str())
                .fetch_all(&self.pool)
                .await?;
        rows.iter()
            .map(|row| Ok((row.try_get("event")?, row.try_get("detail")?)))
            .collect()
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}
