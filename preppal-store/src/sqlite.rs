//! [`SqliteStore`]: the embedded default backend (feature `sqlite`).

use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

use crate::error::StoreError;

/// How long a connection waits for another writer before a call fails as
/// [`crate::ErrorKind::Unavailable`].
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Connections in the pool of a file database (one writer at a time, readers in parallel
/// thanks to WAL).
const FILE_POOL_SIZE: u32 = 8;

/// An [`crate::InterviewStore`] in one SQLite file (or in memory).
///
/// The file is created if missing and opened in WAL mode with foreign keys on and a busy
/// timeout of 5 s; the schema migrations in `migrations/sqlite` are applied on open.
/// Cloning is cheap and shares the connection pool.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `url_or_path`.
    ///
    /// `url_or_path` is either a sqlx SQLite URL (`sqlite:preppal.db`,
    /// `sqlite://var/preppal.db?mode=rwc`, `sqlite::memory:`) or a plain file path. An
    /// in-memory database lives as long as the store (one connection that is never
    /// closed), and each `open` of `sqlite::memory:` gets a fresh one.
    ///
    /// # Errors
    /// - [`StoreError::Unavailable`] when the file cannot be opened or created;
    /// - [`StoreError::Database`] for a malformed URL;
    /// - [`StoreError::Migrate`] when the schema cannot be applied (for example a database
    ///   written by a newer version).
    pub async fn open(url_or_path: &str) -> Result<Self, StoreError> {
        let in_memory = url_or_path.contains(":memory:") || url_or_path.contains("mode=memory");
        let options = if url_or_path.starts_with("sqlite:") {
            SqliteConnectOptions::from_str(url_or_path)?
        } else {
            SqliteConnectOptions::new().filename(url_or_path)
        }
        .create_if_missing(true)
        .foreign_keys(true)
        .busy_timeout(BUSY_TIMEOUT);
        let (options, pool) = if in_memory {
            // Every connection to `sqlite::memory:` shares one database only while one of
            // them stays open: keep exactly one, forever.
            let pool = SqlitePoolOptions::new()
                .max_connections(1)
                .min_connections(1)
                .idle_timeout(None)
                .max_lifetime(None);
            (options, pool)
        } else {
            let options = options
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal);
            (
                options,
                SqlitePoolOptions::new().max_connections(FILE_POOL_SIZE),
            )
        };
        let pool = pool
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options)
            .await?;
        Self::from_pool(pool).await
    }

    /// Wraps an existing pool, applying the schema migrations first.
    ///
    /// The pool's connections should have foreign keys on (sqlx's default) so that
    /// deleting an interview removes its transcript, feedback and lease.
    ///
    /// # Errors
    /// [`StoreError::Migrate`] when the schema cannot be applied.
    pub async fn from_pool(pool: SqlitePool) -> Result<Self, StoreError> {
        sqlx::migrate!("./migrations/sqlite").run(&pool).await?;
        Ok(Self { pool })
    }

    /// The connection pool, for operations outside the store's contract (backups,
    /// inspection in tests).
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// Closes every connection; calls made afterwards fail as
    /// [`crate::ErrorKind::Unavailable`].
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

mod imp {
    use super::SqliteStore;

    // A write transaction takes the write lock at once, so that it never has to upgrade
    // a read lock (which SQLite may refuse with SQLITE_BUSY without waiting).
    sql_store!(SqliteStore, sqlx::Sqlite, begin: "BEGIN IMMEDIATE", json_in: "$2", json_out: "f.document");
}
