//! What can go wrong, naming the file and what to do.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum ProvenanceError {
    #[error("{path}: {why}")]
    File { path: PathBuf, why: String },
    #[error("cannot make the signing certificates: {0}")]
    Certificates(String),
    #[error(
        "{path}: not a signing key and certificate chain C2PA accepts ({why}); give an ES256 (P-256) key in PKCS#8 PEM and its chain, end-entity first"
    )]
    BadIdentity { path: PathBuf, why: String },
    #[error("cannot sign {path}: {why}")]
    Sign { path: PathBuf, why: String },
    #[error("cannot read {path}: {why}")]
    Read { path: PathBuf, why: String },
    #[error("manifest: {0}")]
    Manifest(String),
}

pub(crate) fn file_error(path: &std::path::Path, e: impl std::fmt::Display) -> ProvenanceError {
    ProvenanceError::File {
        path: path.to_owned(),
        why: e.to_string(),
    }
}
