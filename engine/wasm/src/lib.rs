//! Slate's host for WASM component plugins.
//!
//! A plugin is a WebAssembly component implementing one world of the
//! `slate:plugin` WIT package (`sdk-wit/`). [`Host`] compiles it (or reads
//! the precompiled code from its cache), checks the world it implements and
//! asks it to `describe` itself; a [`Stage`] is one instance of it serving
//! one stream. Every call runs under a deadline (epoch interruption) and a
//! memory cap (`ResourceLimiter`); a plugin gets no filesystem, network or
//! environment. A misbehaving call is a [`Fault`], never a crash: after a
//! trap, timeout or memory overflow the instance is dropped and made anew
//! for the next call. What to do with the buffer is the caller's policy.
//!
//! This crate knows nothing about GStreamer; the `wasmstage` element uses it.
//!
//! ```no_run
//! use slate_wasm::{Host, Limits, Stage};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let plugin = Host::global()?.load("brightness.wasm".as_ref())?;
//! let mut stage = Stage::new(plugin, r#"{"delta": 40}"#, Limits::default())?;
//! # Ok(()) }
//! ```

mod bindings;
mod convert;
mod error;
mod host;
mod infer;
mod plugin;
mod stage;
mod state;

pub use error::{Fault, LoadError};
pub use host::{Host, Origin, hash_of};
pub use plugin::{Description, PixelFormat, Plugin, SampleFormat, World};
pub use stage::{AudioInfo, Decision, FrameInfo, Limits, RankCandidate, RankField, RankValue, Ranked, Stage, Verdict};
pub use state::Event;
