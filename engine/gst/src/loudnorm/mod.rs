//! `loudnorm`: live loudness normalisation to a profile (`ebu-r128`,
//! `streaming`, `atsc-a85`, or a custom target) with a bounded look-ahead
//! (3 s, answered in the latency query) and a true-peak limiter; the
//! stream-side half of `slate audio loudness --live`
//! ([`slate_audio::LiveNormaliser`]).

use gst::glib;
use gst::prelude::*;

mod imp;

glib::wrapper! {
    pub struct LoudNorm(ObjectSubclass<imp::LoudNorm>) @extends gst::Element, gst::Object;
}

pub fn register(plugin: &gst::Plugin) -> Result<(), glib::BoolError> {
    gst::Element::register(Some(plugin), "loudnorm", gst::Rank::NONE, LoudNorm::static_type())
}
