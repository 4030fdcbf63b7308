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

/// Writes `bytes` to `path` so that it appears whole or not at all: to a
/// `.partial` beside it first, then renamed.
pub(crate) fn write_whole(path: &std::path::Path, bytes: &[u8]) -> Result<(), IngestError> {
    let mut partial = path.as_os_str().to_owned();
    partial.push(".partial");
    let partial = PathBuf::from(partial);
    std::fs::write(&partial, bytes).map_err(|e| output(&partial, e))?;
    std::fs::rename(&partial, path).map_err(|e| output(path, e))
}
