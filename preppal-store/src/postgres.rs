//! [`PgStore`]: the PostgreSQL backend (feature `postgres`).

use std::time::Duration;

use sqlx::postgres::{PgPool, PgPoolOptions};

use crate::error::StoreError;

/// Connections in the pool made by [`PgStore::connect`].
const POOL_SIZE: u32 = 10;

/// An [`crate::InterviewStore`] in a PostgreSQL database.
///
/// The schema migrations in `migrations/postgres` are applied on connect (sqlx takes an
/// advisory lock, so several processes may start at once). Cloning is cheap and shares
/// the connection pool.
#[derive(Debug, Clone)]
pub struct PgStore {
    pool: PgPool,
}

impl PgStore {
    /// Connects to `url` (`postgres://user:password@host:port/database`, or
    /// `postgresql://…`) with a pool of 10 connections and a 10 s acquire timeout.
    ///
    /// # Errors
    /// - [`StoreError::Unavailable`] when the server cannot be reached;
    /// - [`StoreError::Database`] for a malformed URL or refused login;
    /// - [`StoreError::Migrate`] when the schema cannot be applied.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let pool = PgPoolOptions::new()
            .max_connections(POOL_SIZE)
            .acquire_timeout(Duration::from_secs(10))
            .connect(url)
            .await?;
        Self::from_pool(pool).await
    }

    /// Wraps an existing pool, applying the schema migrations first.
    ///
    /// # Errors
    /// [`StoreError::Migrate`] when the schema cannot be applied.
    pub async fn from_pool(pool: PgPool) -> Result<Self, StoreError> {
        sqlx::migrate!("./migrations/postgres").run(&pool).await?;
        Ok(Self { pool })
    }

    /// The connection pool, for operations outside the store's contract.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Closes every connection; calls made afterwards fail as
    /// [`crate::ErrorKind::Unavailable`].
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

mod imp {
    use super::PgStore;

    sql_store!(PgStore, sqlx::Postgres, begin: "BEGIN", json_in: "$2::jsonb", json_out: "f.document::text");
}
