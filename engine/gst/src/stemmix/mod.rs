//! `stemmix`: a mix of named stems. Link anything audio to a pad named
//! after its stem (`mix.dialogue`, `mix.music`); each stem is converted to
//! the mix's rate and channels, goes through its own `stem` element (gain,
//! automation, pan, mute, ducking) and into `audiomixer`. Stems marked
//! `vad` are listened to by Silero VAD through `onnxinfer`, and the stems
//! that name them as `duck-key` dip while they speak.
//!
//! ```text
//! stemmix name=mix stems="dialogue: vad=true; music: gain=-6, duck=12, duck-key=dialogue, automation=0s=-20 2s=0"
//! ```
//! Lua finds a stem with `pipeline:element("mix"):stem("music")`.

use gst::glib;
use gst::prelude::*;

mod imp;
mod settings;

pub use settings::{StemSettings, parse_stems, valid_stem_name};

glib::wrapper! {
    pub struct StemMix(ObjectSubclass<imp::StemMix>) @extends gst::Bin, gst::Element, gst::Object, @implements gst::ChildProxy;
}

pub fn register(plugin: &gst::Plugin) -> Result<(), glib::BoolError> {
    gst::Element::register(Some(plugin), "stemmix", gst::Rank::NONE, StemMix::static_type())
}
