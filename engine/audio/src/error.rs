//! What can go wrong, naming the file.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum AudioError {
    #[error("{path}: cannot read it as audio: {why}")]
    Decode { path: PathBuf, why: String },
    #[error("{0}: has no audio stream")]
    NoAudio(PathBuf),
    #[error("{path}: cannot write it: {why}")]
    Output { path: PathBuf, why: String },
    #[error("{0}")]
    Profile(String),
    #[error("{0}")]
    Settings(String),
    #[error("loudness meter: {0}")]
    Meter(String),
}
