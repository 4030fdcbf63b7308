//! `wasmstage`: runs a WASM component plugin (a `slate:plugin` video-filter,
//! audio-filter or analyzer) on every buffer, sandboxed, with the failure
//! policy `on-error` decides.

use gst::glib;
use gst::prelude::*;

mod imp;
mod settings;

pub use imp::{EVENT_MESSAGE, RELOAD_MESSAGE};
pub use settings::FAULT_MESSAGE;
pub(crate) use settings::{StageSettings, audio_caps_for, audio_info_of, fault_message, video_caps_for, video_info_of};

glib::wrapper! {
    pub struct WasmStage(ObjectSubclass<imp::WasmStage>) @extends gst_base::BaseTransform, gst::Element, gst::Object;
}

pub fn register(plugin: &gst::Plugin) -> Result<(), glib::BoolError> {
    gst::Element::register(Some(plugin), "wasmstage", gst::Rank::NONE, WasmStage::static_type())
}
