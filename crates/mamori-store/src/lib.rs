//! The database: entities, migrations and the audit chain, on SQLite (embedded, the default) and PostgreSQL.
//!
//! One code path serves both backends: queries are built with SeaORM/sea-query, and search and sort use stored
//! normalised keys rather than a backend's collation, so both answer alike.

pub mod audit;
pub mod bulk;
pub mod entity;
mod migration;

use std::time::Duration;

use sea_orm::{
    AccessMode, ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DatabaseTransaction,
    DbBackend, DbErr, SqliteTransactionMode, TransactionOptions, TransactionTrait,
};
use sea_orm_migration::MigratorTrait;

pub use migration::Migrator;
pub use sea_orm;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Db(#[from] DbErr),
    #[error("unsupported database URL {0:?}: use sqlite://PATH or postgres://USER@HOST/DB")]
    UnsupportedUrl(String),
    #[error("audit chain: {0}")]
    Audit(String),
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// Which database a [`Store`] talks to, chosen by the URL's scheme.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn from_url(url: &str) -> Result<Self, StoreError> {
        if url.starts_with("sqlite:") {
            Ok(Backend::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Backend::Postgres)
        } else {
            Err(StoreError::UnsupportedUrl(redact_url(url)))
        }
    }
}

/// A URL with any password removed, fit for a message or a log line.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let userinfo = &url[scheme_end + 3..at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{}{}:***{}", &url[..scheme_end + 3], user, &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

/// SQLite page cache during a bulk write, in KiB.
const BULK_CACHE_KIB: u32 = 65_536;

/// The connection pool and how to open transactions on it.
#[derive(Clone)]
pub struct Store {
    db: DatabaseConnection,
    backend: Backend,
}

impl Store {
    /// Opens the database at `url`. SQLite runs in WAL mode with foreign keys on, a busy timeout and
    /// `synchronous=NORMAL`; the file is created when missing.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let backend = Backend::from_url(url)?;
        let mut options = ConnectOptions::new(url.to_owned());
        options
            .sqlx_logging(false)
            .acquire_timeout(Duration::from_secs(10));
        match backend {
            Backend::Sqlite => {
                options
                    .max_connections(8)
                    .min_connections(1)
                    .map_sqlx_sqlite_opts(|o| {
                        o.create_if_missing(true)
                            .journal_mode(sea_orm::sqlx::sqlite::SqliteJournalMode::Wal)
                            .synchronous(sea_orm::sqlx::sqlite::SqliteSynchronous::Normal)
                            .foreign_keys(true)
                            .busy_timeout(Duration::from_secs(10))
                    });
            }
            Backend::Postgres => {
                options.max_connections(16).min_connections(1);
            }
        }
        let db = Database::connect(options).await?;
        Ok(Store { db, backend })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub fn conn(&self) -> &DatabaseConnection {
        &self.db
    }

    /// Applies every pending migration.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        Migrator::up(&self.db, None).await?;
        Ok(())
    }

    /// Names of the migrations applied so far.
    pub async fn applied_migrations(&self) -> Result<Vec<String>, StoreError> {
        let applied = Migrator::get_applied_migrations(&self.db).await?;
        Ok(applied.iter().map(|m| m.name().to_owned()).collect())
    }

    /// Whether every known migration has been applied.
    pub async fn is_migrated(&self) -> Result<bool, StoreError> {
        Ok(Migrator::get_pending_migrations(&self.db).await?.is_empty())
    }

    /// Refreshes the planner's statistics: SQLite's `PRAGMA optimize` (analyses only what needs it, cheap to
    /// repeat), PostgreSQL's `ANALYZE`. Run after start-up and after bulk loads; a planner without statistics
    /// can pick an index that visits every row.
    pub async fn optimize(&self) -> Result<(), StoreError> {
        let statement = match self.backend {
            Backend::Sqlite => "PRAGMA optimize=0x10002",
            Backend::Postgres => "ANALYZE",
        };
        self.db.execute_unprepared(statement).await?;
        Ok(())
    }

    /// Refreshes the planner's statistics of one table after many of its rows changed (SQLite's `PRAGMA
    /// optimize` decides itself which tables need it).
    pub async fn analyze(&self, table: &'static str) -> Result<(), StoreError> {
        let statement = match self.backend {
            Backend::Sqlite => "PRAGMA optimize=0x10002".to_owned(),
            Backend::Postgres => format!(r#"ANALYZE "{table}""#),
        };
        self.db.execute_unprepared(&statement).await?;
        Ok(())
    }

    /// Widens SQLite's page cache of the connection that runs `txn` to 64 MiB, for a bulk write that touches
    /// many index pages (a 100,000-row import: about 2 s less of reading pages back from the file). Call
    /// [`Store::end_bulk`] before committing; on PostgreSQL both do nothing (its buffers are the server's).
    pub async fn begin_bulk(&self, txn: &DatabaseTransaction) -> Result<(), StoreError> {
        if self.backend == Backend::Sqlite {
            txn.execute_unprepared(&format!("PRAGMA cache_size = -{}", BULK_CACHE_KIB))
                .await?;
        }
        Ok(())
    }

    /// Puts the page cache of `txn`'s connection back to SQLite's default (2 MiB).
    pub async fn end_bulk(&self, txn: &DatabaseTransaction) -> Result<(), StoreError> {
        if self.backend == Backend::Sqlite {
            txn.execute_unprepared("PRAGMA cache_size = -2000").await?;
        }
        Ok(())
    }

    /// Moves what the write-ahead log holds into the database file and empties the log, after a write large
    /// enough to leave it hundreds of megabytes long (every later reader would search it). SQLite only.
    pub async fn checkpoint(&self) -> Result<(), StoreError> {
        if self.backend == Backend::Sqlite {
            self.db
                .execute_unprepared("PRAGMA wal_checkpoint(TRUNCATE)")
                .await?;
        }
        Ok(())
    }

    /// A transaction that will write. On SQLite it takes the write lock at once (`BEGIN IMMEDIATE`), so two
    /// writers queue on the busy timeout instead of failing half-way when one upgrades a read lock.
    pub async fn begin_write(&self) -> Result<DatabaseTransaction, StoreError> {
        let options = TransactionOptions {
            sqlite_transaction_mode: match self.backend {
                Backend::Sqlite => Some(SqliteTransactionMode::Immediate),
                Backend::Postgres => None,
            },
            ..Default::default()
        };
        Ok(self.db.begin_with_options(options).await?)
    }

    /// A read-only transaction: one consistent view for a page that runs several queries.
    pub async fn begin_read(&self) -> Result<DatabaseTransaction, StoreError> {
        let options = TransactionOptions {
            access_mode: match self.backend {
                Backend::Postgres => Some(AccessMode::ReadOnly),
                Backend::Sqlite => None,
            },
            ..Default::default()
        };
        Ok(self.db.begin_with_options(options).await?)
    }

    /// Writes a consistent copy of a SQLite database to `path` while it is in use (`VACUUM INTO`).
    pub async fn backup_sqlite(&self, path: &std::path::Path) -> Result<(), StoreError> {
        if self.backend != Backend::Sqlite {
            return Err(StoreError::UnsupportedUrl(
                "backup works on SQLite; for PostgreSQL use pg_dump (see README)".to_owned(),
            ));
        }
        let target = path.to_string_lossy().replace('\'', "''");
        self.db
            .execute_unprepared(&format!("VACUUM INTO '{target}'"))
            .await?;
        Ok(())
    }

    pub fn db_backend(&self) -> DbBackend {
        self.db.get_database_backend()
    }

    pub async fn close(self) -> Result<(), StoreError> {
        self.db.close().await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_reach_a_message() {
        assert_eq!(
            redact_url("postgres://app:s3cret@db/mamori"),
            "postgres://app:***@db/mamori"
        );
        assert_eq!(
            redact_url("postgres://app@db/mamori"),
            "postgres://app@db/mamori"
        );
        assert!(matches!(
            Backend::from_url("mysql://x"),
            Err(StoreError::UnsupportedUrl(_))
        ));
        assert_eq!(
            Backend::from_url("sqlite://x.db?mode=rwc").ok(),
            Some(Backend::Sqlite)
        );
    }
}
