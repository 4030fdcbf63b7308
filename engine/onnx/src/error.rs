//! What can go wrong, each naming the file, model or provider and what to do.

use std::path::PathBuf;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum OnnxError {
    #[error(
        "ONNX Runtime library {path}: {why}; run .ci/setup (it fetches onnxruntime from PyPI) or set ORT_DYLIB_PATH to a libonnxruntime.so"
    )]
    Runtime { path: PathBuf, why: String },
    #[error("no model `{name}`: not a model in models/models.toml ({known}) and not an .onnx file")]
    UnknownModel { name: String, known: String },
    #[error("no pinned model `{name}`; plugins and scripts may use the models of models/models.toml: {pinned}")]
    NotPinned { name: String, pinned: String },
    #[error("model file {path} is missing{hint}")]
    MissingModel { path: PathBuf, hint: String },
    #[error(
        "model {path} does not match its pin in models/models.toml (SHA-256 {actual}, expected {expected}); delete it and run .ci/setup"
    )]
    Corrupt {
        path: PathBuf,
        actual: String,
        expected: String,
    },
    #[error("cannot load model {path}: {why}")]
    Load { path: PathBuf, why: String },
    #[error("{provider} execution provider: {why}")]
    Provider { provider: String, why: String },
    #[error("unknown execution provider `{0}`; use auto, tensorrt, cuda or cpu")]
    UnknownProvider(String),
    #[error("session-id `{id}` already holds model {held}, not {asked}; give this one another session-id")]
    SessionClash { id: String, held: String, asked: String },
    #[error("model {model}: {why}")]
    Mismatch { model: String, why: String },
    #[error("inference with {model} failed: {why}")]
    Run { model: String, why: String },
    #[error("models/models.toml: {0}")]
    Manifest(String),
    /// A photo that cannot be read or does not show one face: the photo
    /// (its file name, or what the upload called it) and why.
    #[error("{photo}: {why}")]
    Photo { photo: String, why: String },
}
