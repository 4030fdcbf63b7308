//! What can go wrong, naming the field, the item or the file.

use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum FeedError {
    /// Input that is wrong in itself: the field and what is wrong.
    #[error("`{field}`: {why}")]
    Invalid { field: String, why: String },
    /// Input that clashes with what is there (an id taken).
    #[error("`{field}`: {why}")]
    Conflict { field: String, why: String },
    #[error("{path}: {why}")]
    File { path: PathBuf, why: String },
    /// Input that is not the caller's to give (another user's impression).
    #[error("`{field}`: {why}")]
    Forbidden { field: String, why: String },
    #[error("no {what} `{id}` in the feed")]
    Unknown { what: &'static str, id: String },
    #[error("feed store: {0}")]
    Store(String),
    #[error(transparent)]
    Consent(#[from] slate_consent::ConsentError),
    #[error(transparent)]
    Database(#[from] slate_store::StoreError),
    /// A model the feed embeds with did not load or run.
    #[error(transparent)]
    Model(#[from] slate_onnx::OnnxError),
}

impl FeedError {
    pub fn invalid(field: impl Into<String>, why: impl Into<String>) -> FeedError {
        FeedError::Invalid {
            field: field.into(),
            why: why.into(),
        }
    }

    pub fn file(path: &Path, why: impl Into<String>) -> FeedError {
        FeedError::File {
            path: path.to_owned(),
            why: why.into(),
        }
    }

    /// The field a caller got wrong, if it is their input.
    pub fn field(&self) -> Option<&str> {
        match self {
            FeedError::Invalid { field, .. }
            | FeedError::Conflict { field, .. }
            | FeedError::Forbidden { field, .. } => Some(field),
            FeedError::Unknown { what, .. } => Some(what),
            _ => None,
        }
    }
}

impl From<sqlx::Error> for FeedError {
    fn from(e: sqlx::Error) -> Self {
        FeedError::Store(e.to_string())
    }
}
