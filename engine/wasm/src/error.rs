//! Errors: [`LoadError`] when a plugin file cannot become a usable plugin,
//! [`Fault`] when a running plugin misbehaves on one call.

use std::path::PathBuf;
use std::time::Duration;

/// Why a plugin could not be loaded. Names the file and what to do.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("cannot read plugin {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{path} is not a WebAssembly component: {why}; build plugins with `cargo build --target wasm32-wasip2`")]
    NotAComponent { path: PathBuf, why: String },
    #[error("{path} implements no slate:plugin world (it exports {exports}); export one world of sdk-wit/")]
    NoWorld { path: PathBuf, exports: String },
    #[error("{path} cannot be instantiated: {why}")]
    Instantiate { path: PathBuf, why: String },
    #[error("{path} failed in describe(): {fault}")]
    Describe { path: PathBuf, fault: Fault },
    #[error("{path} says it is a {said} plugin but implements {actual}")]
    WorldMismatch {
        path: PathBuf,
        said: String,
        actual: String,
    },
    #[error("the WASM engine could not start: {0}")]
    Engine(String),
}

/// One call of a plugin that went wrong. The instance is dropped after a
/// trap, timeout or memory overflow and made anew for the next call.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Fault {
    #[error("trapped: {0}")]
    Trap(String),
    #[error("ran past its deadline of {} ms", .0.as_millis())]
    Timeout(Duration),
    #[error("tried to use more than its memory limit of {} MiB", .0 >> 20)]
    OutOfMemory(usize),
    #[error("returned an error: {0}")]
    Plugin(String),
    #[error("returned bad output: {0}")]
    BadOutput(String),
}

impl Fault {
    /// A short name of the cause, for bus messages and metrics.
    pub fn cause(&self) -> &'static str {
        match self {
            Fault::Trap(_) => "trap",
            Fault::Timeout(_) => "timeout",
            Fault::OutOfMemory(_) => "memory",
            Fault::Plugin(_) => "plugin-error",
            Fault::BadOutput(_) => "bad-output",
        }
    }

    /// True when the instance may be corrupt and must be made anew.
    pub fn poisons_instance(&self) -> bool {
        matches!(self, Fault::Trap(_) | Fault::Timeout(_) | Fault::OutOfMemory(_))
    }
}
