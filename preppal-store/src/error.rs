//! Store errors, split by cause, with a portable [`ErrorKind`].
//!
//! Messages are written for callers and never carry SQL text, table names or database
//! messages; the underlying database error is kept as the [`std::error::Error::source`]
//! of the [`StoreError::Duplicate`], [`StoreError::Unavailable`], [`StoreError::Database`]
//! and [`StoreError::Migrate`] variants, for logs.

use preppal_core::status::IllegalTransition;
use preppal_core::InterviewStatus;

/// A boxed error kept as the source of a [`StoreError`], for logs only.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// What kind of failure a [`StoreError`] is, the same on every backend.
///
/// A server maps these to responses: `NotFound` → 404, `Conflict` → 409,
/// `InvalidInput` → 400, `Unavailable` → 503 (retry later), `Other` → 500.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The record does not exist, or belongs to another user.
    NotFound,
    /// The write lost a race or contradicts what is stored (idempotency key reused with
    /// other inputs, stale status, illegal status move, lease held by another worker).
    Conflict,
    /// The input can never be stored (malformed page cursor, NUL characters, out-of-range
    /// numbers). Retrying the same call fails the same way.
    InvalidInput,
    /// The database could not be reached or is overloaded; the call may succeed later.
    Unavailable,
    /// Anything else: a database failure or stored data this build cannot read.
    Other,
}

/// Why a store call failed.
///
/// Use [`StoreError::kind`] to decide what to do; match on variants only for details.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The named record does not exist or is not visible to the calling user.
    /// Another user's record is reported exactly like a missing one.
    #[error("{what} not found")]
    NotFound {
        /// What was looked for: `"user"`, `"job description"`, `"resume"`, `"interview"`
        /// or `"record"`.
        what: &'static str,
    },
    /// The idempotency key was already used by this user for an interview with different
    /// inputs (persona, duration, texts or library ids). Use a fresh key for a new interview.
    #[error("idempotency key already used with different inputs")]
    IdempotencyConflict,
    /// A compare-and-set status update found another status than the one expected: another
    /// writer moved the interview first. Re-read the interview before deciding again.
    #[error("interview status is {actual}, not the expected {expected}")]
    StaleStatus {
        /// The status the caller expected.
        expected: InterviewStatus,
        /// The status the interview has.
        actual: InterviewStatus,
    },
    /// The requested status move is not allowed by the lifecycle (for example backwards).
    #[error(transparent)]
    IllegalTransition(#[from] IllegalTransition),
    /// Another worker holds the lease on the interview (or this worker's lease was lost).
    #[error("the interview's lease is held by another worker")]
    LeaseHeld,
    /// A unique constraint rejected the write (a record with the same key exists).
    #[error("the record already exists")]
    Duplicate {
        /// The database error, for logs.
        #[source]
        source: BoxError,
    },
    /// The email belongs to an account of another sign-in identity (another provider, or
    /// another subject of the same provider): accounts are never merged by email alone.
    #[error("the email belongs to an account that signs in another way")]
    IdentityConflict,
    /// The input cannot be stored; the message says which part and why.
    #[error("invalid input: {0}")]
    InvalidInput(&'static str),
    /// The database could not be reached, timed out, or asked to retry.
    #[error("the database is unavailable")]
    Unavailable {
        /// The database or pool error, for logs.
        #[source]
        source: BoxError,
    },
    /// The database failed in another way.
    #[error("the database failed")]
    Database {
        /// The database error, for logs.
        #[source]
        source: BoxError,
    },
    /// The schema migrations could not be applied when the store was opened.
    #[error("the database schema could not be migrated")]
    Migrate {
        /// The migration error, for logs.
        #[source]
        source: BoxError,
    },
    /// A stored value could not be read back (for example an unknown status name).
    #[error("stored data is invalid: {0}")]
    Corrupt(String),
    /// [`crate::open`] was given a URL whose scheme is unknown or whose backend feature is
    /// not compiled in.
    #[error("unsupported store URL scheme {scheme:?} (known: memory:, sqlite:, postgres://, postgresql://)")]
    UnsupportedUrl {
        /// The part of the URL before the first `:`.
        scheme: String,
    },
}

impl StoreError {
    /// The portable kind of this error.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::NotFound { .. } => ErrorKind::NotFound,
            Self::IdempotencyConflict
            | Self::StaleStatus { .. }
            | Self::IllegalTransition(_)
            | Self::LeaseHeld
            | Self::IdentityConflict
            | Self::Duplicate { .. } => ErrorKind::Conflict,
            Self::InvalidInput(_) => ErrorKind::InvalidInput,
            Self::Unavailable { .. } => ErrorKind::Unavailable,
            Self::Database { .. }
            | Self::Migrate { .. }
            | Self::Corrupt(_)
            | Self::UnsupportedUrl { .. } => ErrorKind::Other,
        }
    }

    pub(crate) fn not_found(what: &'static str) -> Self {
        Self::NotFound { what }
    }
}

#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod sql {
    use super::StoreError;

    /// Whether a database error asks the caller to retry later (busy, locked, shutting
    /// down, serialization failure, connection lost).
    fn is_transient(db: &(dyn sqlx::error::DatabaseError + 'static)) -> bool {
        #[cfg(feature = "postgres")]
        if let Some(pg) = db.try_downcast_ref::<sqlx::postgres::PgDatabaseError>() {
            let code = pg.code();
            // Class 08 connection exception, 53 insufficient resources, 57P operator
            // intervention; 40001 serialization failure, 40P01 deadlock (PostgreSQL
            // manual, appendix A "Error codes").
            return code.starts_with("08")
                || code.starts_with("53")
                || code.starts_with("57P")
                || code == "40001"
                || code == "40P01";
        }
        #[cfg(feature = "sqlite")]
        if db.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some() {
            // The code is SQLite's extended result code; the primary code is its low
            // byte: 5 SQLITE_BUSY, 6 SQLITE_LOCKED, 10 SQLITE_IOERR, 13 SQLITE_FULL
            // (sqlite.org/rescode.html).
            return db
                .code()
                .and_then(|c| c.parse::<i32>().ok())
                .is_some_and(|c| matches!(c & 0xff, 5 | 6 | 10 | 13));
        }
        false
    }

    impl From<sqlx::Error> for StoreError {
        fn from(e: sqlx::Error) -> Self {
            match &e {
                sqlx::Error::RowNotFound => Self::not_found("record"),
                sqlx::Error::PoolTimedOut
                | sqlx::Error::PoolClosed
                | sqlx::Error::Io(_)
                | sqlx::Error::Tls(_)
                | sqlx::Error::WorkerCrashed => Self::Unavailable {
                    source: Box::new(e),
                },
                sqlx::Error::Database(db) => {
                    if db.is_unique_violation() {
                        Self::Duplicate {
                            source: Box::new(e),
                        }
                    } else if db.is_foreign_key_violation() {
                        Self::not_found("record")
                    } else if is_transient(db.as_ref()) {
                        Self::Unavailable {
                            source: Box::new(e),
                        }
                    } else {
                        Self::Database {
                            source: Box::new(e),
                        }
                    }
                }
                _ => Self::Database {
                    source: Box::new(e),
                },
            }
        }
    }

    impl From<sqlx::migrate::MigrateError> for StoreError {
        fn from(e: sqlx::migrate::MigrateError) -> Self {
            match e {
                sqlx::migrate::MigrateError::Execute(inner) => match Self::from(inner) {
                    unavailable @ Self::Unavailable { .. } => unavailable,
                    other => Self::Migrate {
                        source: Box::new(other),
                    },
                },
                other => Self::Migrate {
                    source: Box::new(other),
                },
            }
        }
    }

    /// Whether `e` is a unique-constraint violation.
    pub(crate) fn is_unique_violation(e: &sqlx::Error) -> bool {
        matches!(e, sqlx::Error::Database(db) if db.is_unique_violation())
    }

    /// Maps `e`, reporting a foreign-key violation as `what` not found.
    pub(crate) fn missing_parent(e: sqlx::Error, what: &'static str) -> StoreError {
        match &e {
            sqlx::Error::Database(db) if db.is_foreign_key_violation() => {
                StoreError::not_found(what)
            }
            _ => StoreError::from(e),
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;
        use crate::ErrorKind;

        #[test]
        fn sqlx_errors_map_to_kinds_without_leaking_text() {
            let e = StoreError::from(sqlx::Error::Protocol("SELECT secret FROM users".into()));
            assert_eq!(e.kind(), ErrorKind::Other);
            assert_eq!(e.to_string(), "the database failed");
            assert!(std::error::Error::source(&e)
                .is_some_and(|s| s.to_string().contains("SELECT secret")));

            let e = StoreError::from(sqlx::Error::PoolTimedOut);
            assert_eq!(e.kind(), ErrorKind::Unavailable);
            assert_eq!(e.to_string(), "the database is unavailable");

            let e = StoreError::from(sqlx::Error::RowNotFound);
            assert_eq!(e.kind(), ErrorKind::NotFound);
        }
    }
}

#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub(crate) use sql::{is_unique_violation, missing_parent};
