//! The `slate` GStreamer plugin.
//!
//! Built as a `cdylib` (`libgstslate.so`) so `GST_PLUGIN_PATH=<dir>
//! gst-inspect-1.0 slate` lists its elements, and as an `rlib` so the `slate`
//! CLI registers it statically with [`plugin_register_static`].
//!
//! Elements: `shottag` (stamps shot metadata), `metalog` (writes it out),
//! `wasmstage` (runs a sandboxed WASM component plugin on buffers) and
//! `wasmsrc` and `wasmaudiosrc` (sources whose frames and samples a WASM
//! generator plugin makes) and
//! `luastage` (calls a sandboxed Lua script for every buffer) and
//! `onnxinfer` (runs an ONNX model on frames, objects or audio), the C2PA
//! signing sinks `c2pasink` (a finished file) and `c2pahlssink` (live HLS,
//! every segment signed as written), the ingest check `c2paverify` and
//! `consentgate` (only people who allowed it are shown), and `stemmix`
//! with its `stem`s (named audio stems mixed with automation and ducking),
//! `avsync` (audio/video offset of the flash-and-beep pattern) and
//! `loudnorm` (live loudness to a delivery profile).
//! [`SlateMeta`] is the per-buffer metadata they and every later stage share.

use gst::glib;
use gst::prelude::*;

pub mod avsync;
pub mod c2pahlssink;
pub mod c2pasink;
pub mod c2paverify;
pub mod consentgate;
pub mod loudnorm;
pub mod luastage;
mod meta;
pub mod metalog;
pub mod onnxinfer;
mod sandbox;
pub mod shottag;
mod signing;
pub mod stem;
pub mod stemmix;
pub mod wasmaudiosrc;
pub mod wasmsrc;
pub mod wasmstage;

pub use meta::{Collected, SlateMeta};
pub use slate_meta as model;

/// Posts `structure` on the bus as an element message from `element`.
/// Without a bus (an element outside a pipeline) there is nobody to tell.
fn post_element_message(element: &gst::Element, structure: gst::Structure) {
    let _ = element.post_message(gst::message::Element::builder(structure).src(element).build());
}

/// A string property that can change until the element is READY.
fn text_property(name: &str, nick: &str, blurb: &str) -> glib::ParamSpec {
    glib::ParamSpecString::builder(name)
        .nick(nick)
        .blurb(blurb)
        .mutable_ready()
        .build()
}

/// The always `src` pad of a source making `caps`.
fn src_templates(caps: &gst::Caps) -> Vec<gst::PadTemplate> {
    vec![
        gst::PadTemplate::new("src", gst::PadDirection::Src, gst::PadPresence::Always, caps)
            .expect("a valid static template"),
    ]
}

/// `caps` within a caps query's `filter`, in the filter's order.
fn filtered(caps: gst::Caps, filter: Option<&gst::Caps>) -> gst::Caps {
    match filter {
        Some(filter) => filter.intersect_with_mode(&caps, gst::CapsIntersectMode::First),
        None => caps,
    }
}

/// Pads for elements that pass any media through (`src` and `sink`, ANY).
fn any_media_templates() -> Vec<gst::PadTemplate> {
    filter_templates(&gst::Caps::new_any())
}

/// Pads for audio filters on interleaved 32-bit float samples.
fn f32_audio_templates() -> Vec<gst::PadTemplate> {
    filter_templates(
        &gst_audio::AudioCapsBuilder::new_interleaved()
            .format(gst_audio::AUDIO_FORMAT_F32)
            .build(),
    )
}

/// The always `src` and `sink` pads of a filter taking and giving `caps`.
fn filter_templates(caps: &gst::Caps) -> Vec<gst::PadTemplate> {
    [("src", gst::PadDirection::Src), ("sink", gst::PadDirection::Sink)]
        .into_iter()
        .map(|(name, direction)| {
            gst::PadTemplate::new(name, direction, gst::PadPresence::Always, caps).expect("a valid static template")
        })
        .collect()
}

fn plugin_init(plugin: &gst::Plugin) -> Result<(), glib::BoolError> {
    shottag::register(plugin)?;
    metalog::register(plugin)?;
    wasmstage::register(plugin)?;
    wasmsrc::register(plugin)?;
    wasmaudiosrc::register(plugin)?;
    luastage::register(plugin)?;
    onnxinfer::register(plugin)?;
    c2pasink::register(plugin)?;
    c2pahlssink::register(plugin)?;
    c2paverify::register(plugin)?;
    consentgate::register(plugin)?;
    stem::register(plugin)?;
    stemmix::register(plugin)?;
    avsync::register(plugin)?;
    loudnorm::register(plugin)?;
    Ok(())
}

gst::plugin_define!(
    slate,
    env!("CARGO_PKG_DESCRIPTION"),
    plugin_init,
    concat!(env!("CARGO_PKG_VERSION"), "-", env!("COMMIT_ID")),
    "MPL",
    env!("CARGO_PKG_NAME"),
    env!("CARGO_PKG_NAME"),
    env!("CARGO_PKG_REPOSITORY"),
    env!("BUILD_REL_DATE")
);
