//! What can go wrong, naming the field, the record or the file.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum ConsentError {
    #[error(transparent)]
    Database(#[from] slate_store::StoreError),
    #[error("consent registry: {0}")]
    Store(String),
    #[error("no identity `{0}` in the registry")]
    UnknownIdentity(String),
    #[error("no grant `{0}` in the registry")]
    UnknownGrant(String),
    /// A record that is wrong in itself: the field and what is wrong.
    #[error("`{field}`: {why}")]
    Invalid { field: &'static str, why: String },
    #[error(
        "the signature of {what} does not match {whose} key: it was changed after signing or signed by another key"
    )]
    BadSignature { what: String, whose: String },
    #[error("grant `{id}` was revoked at {at}; a revoked grant cannot be added again")]
    Revoked { id: String, at: i64 },
    #[error("grant `{0}` is already in the registry")]
    Duplicate(String),
    #[error("{path}: {why}")]
    Key { path: PathBuf, why: String },
}

impl From<sqlx::Error> for ConsentError {
    fn from(e: sqlx::Error) -> Self {
        ConsentError::Store(e.to_string())
    }
}

pub(crate) fn invalid(field: &'static str, why: impl Into<String>) -> ConsentError {
    ConsentError::Invalid { field, why: why.into() }
}
