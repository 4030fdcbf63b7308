//! `c2pasink`: writes a finished file (an MP4 from `mp4mux`, say) and signs
//! it with a C2PA manifest when the stream ends. The muxed bytes go to a
//! hidden file beside `location`; at EOS the signed file replaces nothing
//! but appears at `location`, and the unsigned one is removed. The manifest
//! says how the media came to be (`source`), what the pipeline did (its
//! WASM and Lua stages, with hashes), its shots and its input files.

use gst::glib;
use gst::prelude::*;

mod imp;

/// The element message posted once the file is signed.
pub const SIGNED_MESSAGE: &str = "slate-c2pa-signed";

glib::wrapper! {
    pub struct C2paSink(ObjectSubclass<imp::C2paSink>) @extends gst::Bin, gst::Element, gst::Object;
}

pub fn register(plugin: &gst::Plugin) -> Result<(), glib::BoolError> {
    gst::Element::register(Some(plugin), "c2pasink", gst::Rank::NONE, C2paSink::static_type())
}
