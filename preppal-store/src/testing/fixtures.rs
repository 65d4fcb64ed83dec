//! Fixtures that own a database for one case and remove it when dropped.

use std::sync::Arc;

use crate::error::StoreError;
use crate::store::InterviewStore;

use super::StoreFixture;

/// A SQLite database in a fresh file under the system temp directory, removed (with its
/// WAL files) on drop.
#[cfg(feature = "sqlite")]
#[derive(Debug)]
pub struct SqliteTestFile {
    store: crate::SqliteStore,
    path: std::path::PathBuf,
}

#[cfg(feature = "sqlite")]
impl SqliteTestFile {
    /// Creates `preppal_test_<uuid>.db` in the temp directory and opens a store on it.
    ///
    /// # Errors
    /// Those of [`crate::SqliteStore::open`].
    pub async fn create() -> Result<Self, StoreError> {
        let path =
            std::env::temp_dir().join(format!("preppal_test_{}.db", uuid::Uuid::new_v4().simple()));
        let store = crate::SqliteStore::open(&path.to_string_lossy()).await?;
        Ok(Self { store, path })
    }

    /// The store on the file.
    pub fn sqlite(&self) -> &crate::SqliteStore {
        &self.store
    }

    /// The database file.
    pub fn path(&self) -> &std::path::Path {
        &self.path
    }
}

#[cfg(feature = "sqlite")]
impl StoreFixture for SqliteTestFile {
    fn store(&self) -> Arc<dyn InterviewStore> {
        Arc::new(self.store.clone())
    }
}

#[cfg(feature = "sqlite")]
impl Drop for SqliteTestFile {
    fn drop(&mut self) {
        for suffix in ["", "-wal", "-shm"] {
            let mut p = self.path.clone().into_os_string();
            p.push(suffix);
            // Missing files are fine: WAL files only exist while connections are open.
            let _ = std::fs::remove_file(p);
        }
    }
}

/// A PostgreSQL database `preppal_test_<uuid>` of its own, dropped (`WITH (FORCE)`) when
/// this value is dropped.
///
/// The server is the one at `PREPPAL_TEST_POSTGRES_URL`, by default
/// `postgres://postgres@127.0.0.1:5432/postgres`; its user must be allowed to create
/// databases.
#[cfg(feature = "postgres")]
#[derive(Debug)]
pub struct PgTestDatabase {
    store: crate::PgStore,
    admin_url: String,
    name: String,
}

#[cfg(feature = "postgres")]
impl PgTestDatabase {
    /// The environment variable naming the server.
    pub const URL_VAR: &'static str = "PREPPAL_TEST_POSTGRES_URL";
    /// The server used when [`PgTestDatabase::URL_VAR`] is not set.
    pub const DEFAULT_URL: &'static str = "postgres://postgres@127.0.0.1:5432/postgres";

    /// The admin URL from the environment, or the default.
    pub fn server_url() -> String {
        std::env::var(Self::URL_VAR).unwrap_or_else(|_| Self::DEFAULT_URL.to_owned())
    }

    /// Creates a fresh database on [`PgTestDatabase::server_url`] and connects a store to
    /// it (applying the migrations).
    ///
    /// # Errors
    /// [`crate::ErrorKind::Unavailable`] when the server cannot be reached; the errors of
    /// `CREATE DATABASE` and [`crate::PgStore::connect`] otherwise.
    pub async fn create() -> Result<Self, StoreError> {
        use sqlx::Connection;

        let admin_url = Self::server_url();
        let name = format!("preppal_test_{}", uuid::Uuid::new_v4().simple());
        let mut admin = sqlx::PgConnection::connect(&admin_url).await?;
        // `name` is made here from a UUID: safe to splice.
        let sql = format!("CREATE DATABASE \"{name}\"");
        sqlx::query(&sql).execute(&mut admin).await?;
        let _ = admin.close().await;
        let guard_url = admin_url.clone();
        match crate::PgStore::connect(&database_url(&admin_url, &name)).await {
            Ok(store) => Ok(Self {
                store,
                admin_url,
                name,
            }),
            Err(e) => {
                drop_database(guard_url, name);
                Err(e)
            }
        }
    }

    /// The store on the database.
    pub fn pg(&self) -> &crate::PgStore {
        &self.store
    }

    /// The database name, `preppal_test_<uuid>`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The URL of the database, for other processes or stores to connect to: the server
    /// URL with its database path replaced (query string kept).
    pub fn url(&self) -> String {
        database_url(&self.admin_url, &self.name)
    }
}

#[cfg(feature = "postgres")]
impl StoreFixture for PgTestDatabase {
    fn store(&self) -> Arc<dyn InterviewStore> {
        Arc::new(self.store.clone())
    }
}

#[cfg(feature = "postgres")]
impl Drop for PgTestDatabase {
    fn drop(&mut self) {
        drop_database(self.admin_url.clone(), std::mem::take(&mut self.name));
    }
}

/// `url` with its database path replaced by `name` (query string kept).
#[cfg(feature = "postgres")]
fn database_url(url: &str, name: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let root = match base[authority_start..].find('/') {
        Some(slash) => &base[..authority_start + slash],
        None => base,
    };
    match query {
        Some(q) => format!("{root}/{name}?{q}"),
        None => format!("{root}/{name}"),
    }
}

/// Drops database `name` on its own thread and runtime (this may run inside another
/// runtime, during a drop), waiting for it to finish.
#[cfg(feature = "postgres")]
fn drop_database(admin_url: String, name: String) {
    if name.is_empty() {
        return;
    }
    let worker = std::thread::spawn(move || {
        use sqlx::Connection;
        let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        else {
            return;
        };
        let result: Result<(), sqlx::Error> = runtime.block_on(async {
            let mut admin = sqlx::PgConnection::connect(&admin_url).await?;
            let sql = format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)");
            sqlx::query(&sql).execute(&mut admin).await?;
            admin.close().await
        });
        if let Err(e) = result {
            eprintln!("could not drop test database {name}: {e}");
        }
    });
    let _ = worker.join();
}

#[cfg(all(test, feature = "postgres"))]
mod tests {
    #[test]
    fn database_url_replaces_the_path() {
        use super::database_url;
        assert_eq!(
            database_url("postgres://postgres@127.0.0.1:5432/postgres", "t1"),
            "postgres://postgres@127.0.0.1:5432/t1"
        );
        assert_eq!(
            database_url("postgres://u:p@h/db?sslmode=disable", "t2"),
            "postgres://u:p@h/t2?sslmode=disable"
        );
        assert_eq!(
            database_url("postgresql://h:5432", "t3"),
            "postgresql://h:5432/t3"
        );
    }
}
