//! Mamori's use cases. A request reaches a use case only through a capability that `access` grants, and every
//! change appends its audit entry in the same transaction as the change itself.

pub mod access;
pub mod accounts;
pub mod assets;
pub mod audit;
pub mod changeset;
pub mod compliance;
pub mod demo;
pub mod error;
pub mod gram;
pub mod identity;
pub mod org;
pub mod paging;
pub mod policy_doc;
pub mod quarantine;
pub mod roles;
pub mod settings;
pub mod sheet;
pub mod staff;
pub mod text;
mod tx;
pub mod zones;

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
    /// A folder of the city's own catalogue files (`classification/*.toml`), read at start beside the
    /// schemes Mamori ships. A file with a shipped scheme's id replaces it (edited texts).
    pub catalog_dir: Option<std::path::PathBuf>,
    /// The 無害化 relay's API (`mamori serve --relay-api`): the quarantine page and the relay's health. Without
    /// it those pages say that no relay is configured.
    pub relay: Option<quarantine::relay::RelayClient>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            session_idle: chrono::Duration::minutes(30),
            session_absolute: chrono::Duration::hours(12),
            argon2: argon2::Params::default(),
            catalog_dir: None,
            relay: None,
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
    schemes: Vec<mamori_policy::Scheme>,
    /// Serialises evaluations of the checks (see `compliance::ensure_fresh`).
    compliance_lock: tokio::sync::Mutex<()>,
    /// The open findings counted per municipality, with the evaluation they count.
    compliance_tallies: TallyCache,
    /// The asset register's index per municipality (`assets::index`).
    asset_indexes: assets::index::IndexCache,
}

type TallyCache = std::sync::Mutex<
    std::collections::HashMap<i64, (chrono::DateTime<Utc>, Arc<Vec<compliance::report::Tally>>)>,
>;

impl App {
    pub fn new(store: Store, audit_key: AuditKey, config: Config) -> AppResult<Self> {
        let dummy_hash =
            identity::password::hash_with(&config.argon2, "mamori-dummy-password-for-timing")?;
        let schemes = load_schemes(config.catalog_dir.as_deref())?;
        Ok(App {
            inner: Arc::new(Inner {
                store,
                audit_key,
                config,
                dummy_hash,
                schemes,
                compliance_lock: tokio::sync::Mutex::new(()),
                compliance_tallies: TallyCache::default(),
                asset_indexes: Default::default(),
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

    /// The classification schemes installed: Mamori's own and the city's files.
    pub fn schemes(&self) -> &[mamori_policy::Scheme] {
        &self.inner.schemes
    }

    pub fn scheme(&self, id: &str) -> Option<&mamori_policy::Scheme> {
        self.inner.schemes.iter().find(|s| s.id() == id)
    }

    pub(crate) fn compliance_lock(&self) -> &tokio::sync::Mutex<()> {
        &self.inner.compliance_lock
    }

    /// The tallies of an evaluation, if they are the ones kept.
    pub(crate) fn compliance_tallies(
        &self,
        municipality_id: i64,
        evaluated_at: chrono::DateTime<Utc>,
    ) -> Option<Arc<Vec<compliance::report::Tally>>> {
        let cache = self.inner.compliance_tallies.lock().ok()?;
        cache
            .get(&municipality_id)
            .filter(|(at, _)| *at == evaluated_at)
            .map(|(_, t)| t.clone())
    }

    pub(crate) fn keep_compliance_tallies(
        &self,
        municipality_id: i64,
        evaluated_at: chrono::DateTime<Utc>,
        tallies: Arc<Vec<compliance::report::Tally>>,
    ) {
        if let Ok(mut cache) = self.inner.compliance_tallies.lock() {
            cache.insert(municipality_id, (evaluated_at, tallies));
        }
    }

    pub(crate) fn asset_indexes(&self) -> &assets::index::IndexCache {
        &self.inner.asset_indexes
    }

    pub(crate) fn dummy_hash(&self) -> &str {
        &self.inner.dummy_hash
    }

    /// Starts a write transaction whose audit entries are sealed when it commits.
    pub async fn write(&self) -> AppResult<Tx<'_>> {
        Tx::begin(self).await
    }
}

/// The shipped schemes, then every `classification/*.toml` of the city's catalogue folder (a file whose id is
/// a shipped scheme's replaces it). A file that does not validate stops the start with its name and reason.
fn load_schemes(dir: Option<&std::path::Path>) -> AppResult<Vec<mamori_policy::Scheme>> {
    let mut schemes: Vec<mamori_policy::Scheme> = mamori_policy::Scheme::builtin().to_vec();
    let Some(dir) = dir.map(|d| d.join("classification")) else {
        return Ok(schemes);
    };
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Ok(schemes);
    };
    let mut files: Vec<std::path::PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    for file in files {
        let text = std::fs::read_to_string(&file)
            .map_err(|e| AppError::Internal(format!("{}: {e}", file.display())))?;
        let scheme = mamori_policy::Scheme::from_toml(&text)
            .map_err(|e| AppError::Internal(format!("{}: {e}", file.display())))?;
        schemes.retain(|s| s.id() != scheme.id());
        schemes.push(scheme);
    }
    Ok(schemes)
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    fn catalog(files: &[(&str, String)]) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("mamori-catalog-{}", rand::random::<u64>()));
        std::fs::create_dir_all(dir.join("classification")).unwrap();
        for (name, text) in files {
            std::fs::write(dir.join("classification").join(name), text).unwrap();
        }
        dir
    }

    #[test]
    fn a_city_file_adds_a_scheme_or_replaces_a_shipped_one() {
        let (_, legacy) = mamori_policy::classify::BUILTIN_SCHEME_FILES
            .iter()
            .find(|(name, _)| name.contains("legacy"))
            .unwrap();
        let own = legacy.replacen("id = \"mic-legacy\"", "id = \"city-2026\"", 1);
        let edited = legacy.replacen("機密性3", "機密性Ⅲ", 1);
        let dir = catalog(&[("own.toml", own), ("edited.toml", edited)]);
        let schemes = load_schemes(Some(&dir)).unwrap();
        assert!(schemes.iter().any(|s| s.id() == "city-2026"));
        assert!(schemes.iter().any(|s| s.id() == "mic-2024"));
        assert_eq!(schemes.iter().filter(|s| s.id() == "mic-legacy").count(), 1);
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn a_broken_city_file_stops_the_start_naming_the_file() {
        let dir = catalog(&[(
            "broken.toml",
            "id = \"x\"\n[[levels.confidentiality]]\nid = 3\n".to_owned(),
        )]);
        let message = load_schemes(Some(&dir)).unwrap_err().to_string();
        assert!(message.contains("broken.toml"), "{message}");
        let _ = std::fs::remove_dir_all(dir);
    }
}
