//! `wasmsrc`: a video source whose frames a WASM `generator` plugin makes.

use gst::glib;
use gst::prelude::*;

mod imp;

glib::wrapper! {
    pub struct WasmSrc(ObjectSubclass<imp::WasmSrc>) @extends gst_base::PushSrc, gst_base::BaseSrc, gst::Element, gst::Object;
}

pub fn register(plugin: &gst::Plugin) -> Result<(), glib::BoolError> {
    gst::Element::register(Some(plugin), "wasmsrc", gst::Rank::NONE, WasmSrc::static_type())
}
