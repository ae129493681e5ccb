//! The database layer's error. See `shiliu_domain::error` for which error type lives where.

use shiliu_domain::{FieldError, FieldErrors};

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// No such row, or a row outside the caller's scope: the two look the same from outside,
    /// so a scope check never reveals that a record exists.
    #[error("not found")]
    NotFound,
    /// The caller's role may not do this (a `Can` check in the database layer refused it).
    #[error("forbidden")]
    Forbidden,
    /// The row changed since the caller read it (optimistic concurrency via `version`).
    #[error("the record was changed by someone else")]
    Stale,
    /// The input broke a rule that needs the database to check (a duplicate name, a parent of
    /// the wrong kind…), reported per field like any validation error.
    #[error("invalid: {0}")]
    Invalid(FieldErrors),
    #[error("{0}")]
    Connect(String),
    #[error("migration failed: {0}")]
    Migration(String),
    #[error("database error: {0}")]
    Query(diesel::result::Error),
    #[error("connection pool: {0}")]
    Pool(#[from] r2d2::Error),
    /// A sealed ID number that the configured registry key cannot open: the key is not the
    /// one the record was written with, or the bytes were altered.
    #[error("registry key: {0}")]
    Key(String),
}

impl From<diesel::result::Error> for DbError {
    fn from(e: diesel::result::Error) -> Self {
        use diesel::result::{DatabaseErrorKind, Error};
        match e {
            Error::NotFound => DbError::NotFound,
            // Two writers did the same thing at once (the same first answer, the same import)
            // and the other one's commit came first: for this one, the record changed under it.
            Error::DatabaseError(
                DatabaseErrorKind::UniqueViolation | DatabaseErrorKind::SerializationFailure,
                _,
            ) => DbError::Stale,
            other => DbError::Query(other),
        }
    }
}

impl From<FieldErrors> for DbError {
    fn from(e: FieldErrors) -> Self {
        DbError::Invalid(e)
    }
}

impl From<FieldError> for DbError {
    fn from(e: FieldError) -> Self {
        DbError::Invalid(e.into())
    }
}

impl DbError {
    pub fn invalid(field: &str, reason: &'static str) -> Self {
        DbError::Invalid(FieldError::new(field, reason).into())
    }
}
