//! What can go wrong opening the store, naming the file.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{path}: cannot open the database: {why}")]
    Open { path: PathBuf, why: String },
    #[error("{path}: cannot bring the database's schema up to date: {why}; a newer Slate may have written it")]
    Migrate { path: PathBuf, why: String },
    #[error("cannot start the database's runtime: {0}")]
    Runtime(String),
    #[error("{path}: {why}")]
    Backup { path: PathBuf, why: String },
}
