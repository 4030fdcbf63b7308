//! What can go wrong, naming the field, the record or the quota.

#[derive(Debug, thiserror::Error)]
pub enum AccessError {
    #[error(transparent)]
    Database(#[from] slate_store::StoreError),
    #[error("access store: {0}")]
    Store(String),
    /// Input that is wrong in itself: the field and what is wrong.
    #[error("`{field}`: {why}")]
    Invalid { field: String, why: String },
    /// The token is missing, unknown, expired or revoked, or its account is
    /// disabled.
    #[error("{0}")]
    Unauthenticated(String),
    /// The caller may not do this: what it lacks.
    #[error("{why}")]
    Forbidden { field: String, why: String },
    #[error("no {what} `{id}`")]
    Unknown { what: &'static str, id: String },
    #[error("{what} `{id}` already exists")]
    Conflict { what: &'static str, id: String },
    /// A quota would be overrun.
    #[error("{0}")]
    Quota(crate::QuotaExceeded),
}

impl From<sqlx::Error> for AccessError {
    fn from(e: sqlx::Error) -> Self {
        AccessError::Store(e.to_string())
    }
}

pub(crate) fn invalid(field: &str, why: impl Into<String>) -> AccessError {
    AccessError::Invalid {
        field: field.to_owned(),
        why: why.into(),
    }
}
