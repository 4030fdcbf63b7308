//! `shottag`: stamps scene, shot, take and any other fields on every buffer,
//! from properties or from a timed cue list, and posts `slate-shot` on the
//! bus when the shot changes.

use gst::glib;
use gst::prelude::*;

mod cues;
mod imp;

glib::wrapper! {
    pub struct ShotTag(ObjectSubclass<imp::ShotTag>) @extends gst_base::BaseTransform, gst::Element, gst::Object;
}

pub fn register(plugin: &gst::Plugin) -> Result<(), glib::BoolError> {
    gst::Element::register(Some(plugin), "shottag", gst::Rank::NONE, ShotTag::static_type())
}
