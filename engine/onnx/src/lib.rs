//! Slate's ONNX Runtime layer, without GStreamer: the pinned models of
//! `models/models.toml`, the runtime library (loaded at run time, never
//! downloaded at build time), execution providers with fallback
//! (`auto`: TensorRT, then CUDA, then CPU), a registry that shares one
//! session among every user of a `session-id`, and the pre- and
//! post-processing the `onnxinfer` element and the `infer` capability use.
//!
//! ```no_run
//! use slate_onnx::{Options, open};
//! # fn main() -> Result<(), slate_onnx::OnnxError> {
//! let model = open(&Options::new("grade"))?;
//! println!("{} runs on {}", model.spec.name, model.provider);
//! # Ok(()) }
//! ```

mod error;
pub mod faces;
pub mod manifest;
mod pool;
pub mod postprocess;
pub mod preprocess;
mod runtime;
mod session;
mod tensor;
pub mod text;

pub use error::OnnxError;
pub use manifest::{ModelSpec, resolve};
pub use pool::ItemOutputs;
pub use runtime::{Provider, Runtime, init, library_path};
pub use session::{Model, Options, PinnedSessions, Port, loads, open};
pub use tensor::{Tensor, TensorData, TensorView, ViewData};
