//! `wasmaudiosrc`: an audio source whose samples a WASM `generator`
//! plugin makes (its `generate-audio`), a block of `samples-per-buffer`
//! at a time, with the plugin's metadata on each buffer. A generator of
//! several stems gives one per channel (`storygen`: the storyboard's
//! stems, named in the buffers' `stems` field); `deinterleave` makes them
//! separate streams.

use gst::glib;
use gst::prelude::*;

mod imp;

glib::wrapper! {
    pub struct WasmAudioSrc(ObjectSubclass<imp::WasmAudioSrc>) @extends gst_base::PushSrc, gst_base::BaseSrc, gst::Element, gst::Object;
}

pub fn register(plugin: &gst::Plugin) -> Result<(), glib::BoolError> {
    gst::Element::register(
        Some(plugin),
        "wasmaudiosrc",
        gst::Rank::NONE,
        WasmAudioSrc::static_type(),
    )
}
