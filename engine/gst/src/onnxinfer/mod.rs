//! `onnxinfer`: runs an ONNX model on video frames (or on detected objects
//! in them) or on audio, and puts the results in the buffers' metadata:
//! objects for detectors, vectors for embedders, classes for classifiers,
//! speech for voice activity, and raw tensors when asked.
//!
//! ```text
//! gst-launch-1.0 videotestsrc ! onnxinfer model=centerface ! metalog ! fakesink
//! ```

use gst::glib;
use gst::prelude::*;

mod imp;
mod results;

/// Posted when speech starts or ends in an audio stream.
pub const VAD_MESSAGE: &str = "slate-vad";

glib::wrapper! {
    pub struct OnnxInfer(ObjectSubclass<imp::OnnxInfer>) @extends gst::Element, gst::Object;
}

pub fn register(plugin: &gst::Plugin) -> Result<(), glib::BoolError> {
    gst::Element::register(Some(plugin), "onnxinfer", gst::Rank::NONE, OnnxInfer::static_type())
}

/// Which ONNX Runtime execution provider runs the model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, glib::Enum, Default)]
#[repr(u32)]
#[enum_type(name = "GstSlateExecutionProvider")]
pub enum ExecutionProvider {
    /// TensorRT, then CUDA, then CPU: the first that works
    #[default]
    #[enum_value(name = "TensorRT, then CUDA, then CPU", nick = "auto")]
    Auto,
    #[enum_value(name = "TensorRT", nick = "tensorrt")]
    TensorRt,
    #[enum_value(name = "CUDA", nick = "cuda")]
    Cuda,
    #[enum_value(name = "CPU", nick = "cpu")]
    Cpu,
}

impl From<ExecutionProvider> for slate_onnx::Provider {
    fn from(p: ExecutionProvider) -> Self {
        match p {
            ExecutionProvider::Auto => slate_onnx::Provider::Auto,
            ExecutionProvider::TensorRt => slate_onnx::Provider::TensorRt,
            ExecutionProvider::Cuda => slate_onnx::Provider::Cuda,
            ExecutionProvider::Cpu => slate_onnx::Provider::Cpu,
        }
    }
}
