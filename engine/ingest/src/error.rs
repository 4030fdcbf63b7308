//! What can go wrong, naming the file.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error("{path}: {why}")]
    Input { path: PathBuf, why: String },
    #[error("{path}: cannot read it as video: {why}")]
    Decode { path: PathBuf, why: String },
    #[error("the continuity checker ({plugin}): {why}")]
    Checker { plugin: PathBuf, why: String },
    #[error("{path}: cannot write it: {why}")]
    Output { path: PathBuf, why: String },
    #[error("{path}: cannot watch it: {why}")]
    Watch { path: PathBuf, why: String },
    #[error(transparent)]
    Provenance(#[from] slate_provenance::ProvenanceError),
}

pub(crate) fn output(path: &std::path::Path, e: impl std::fmt::Display) -> IngestError {
    IngestError::Output {
        path: path.to_owned(),
        why: e.to_string(),
    }
}
