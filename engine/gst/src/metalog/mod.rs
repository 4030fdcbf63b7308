//! `metalog`: a pass-through that writes every buffer's `SlateMeta` as one
//! JSON line to a file (`location`) or, without one, posts it on the bus.

use gst::glib;
use gst::prelude::*;

mod imp;

pub use imp::META_MESSAGE;

glib::wrapper! {
    pub struct MetaLog(ObjectSubclass<imp::MetaLog>) @extends gst_base::BaseTransform, gst::Element, gst::Object;
}

pub fn register(plugin: &gst::Plugin) -> Result<(), glib::BoolError> {
    gst::Element::register(Some(plugin), "metalog", gst::Rank::NONE, MetaLog::static_type())
}
