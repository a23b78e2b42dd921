//! Mamori's use cases. A request reaches a use case only through a capability that `access` grants, and every
//! change appends its audit entry in the same transaction as the change itself.

pub mod access;
pub mod accounts;
pub mod audit;
pub mod changeset;
pub mod demo;
pub mod error;
pub mod identity;
pub mod org;
pub mod roles;
pub mod settings;
pub mod sheet;
pub mod staff;
pub mod text;
mod tx;

use std::sync::Arc;

use chrono::{FixedOffset, NaiveDate, Utc};
use mamori_store::{Store, audit::AuditKey};

pub use access::Actor;
pub use error::{AppError, AppResult, FieldError};
pub use mamori_store;
pub use tx::{AuditActor, Tx};

/// Settings fixed when the server starts (flags, environment, TOML). Settings an administrator changes at run
/// time live in the database (`settings`).
#[derive(Debug, Clone)]
pub struct Config {
    /// Idle time after which a session ends.
    pub session_idle: chrono::Duration,
    /// Time after sign-in at which a session ends whatever happens.
    pub session_absolute: chrono::Duration,
    /// Argon2id cost; lowered only in tests.
    pub argon2: argon2::Params,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            session_idle: chrono::Duration::minutes(30),
            session_absolute: chrono::Duration::hours(12),
            argon2: argon2::Params::default(),
        }
    }
}

/// The application: the store, the audit key, and the settings fixed at start.
#[derive(Clone)]
pub struct App {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    audit_key: AuditKey,
    config: Config,
    dummy_hash: String,
}

impl App {
    pub fn new(store: Store, audit_key: AuditKey, config: Config) -> AppResult<Self> {
        let dummy_hash =
            identity::password::hash_with(&config.argon2, "mamori-dummy-password-for-timing")?;
        Ok(App {
            inner: Arc::new(Inner {
                store,
                audit_key,
                config,
                dummy_hash,
            }),
        })
    }

    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    pub fn audit_key(&self) -> &AuditKey {
        &self.inner.audit_key
    }

    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    pub(crate) fn dummy_hash(&self) -> &str {
        &self.inner.dummy_hash
    }

    /// Starts a write transaction whose audit entries are sealed when it commits.
    pub async fn write(&self) -> AppResult<Tx<'_>> {
        Tx::begin(self).await
    }
}

/// An optional date field as typed (2026-05-19, 令和8年5月19日, R8.5.19 …).
pub fn optional_date(value: &str) -> Result<Option<NaiveDate>, FieldError> {
    roles::parse_optional_date("date", value)
}

/// Japan Standard Time: the city's calendar decides validity dates and when change sets take effect.
pub fn jst() -> FixedOffset {
    FixedOffset::east_opt(9 * 3600).unwrap_or_else(|| Utc.fix())
}

/// Today's date in Japan.
pub fn today() -> NaiveDate {
    Utc::now().with_timezone(&jst()).date_naive()
}

use chrono::Offset;
