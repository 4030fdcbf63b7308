//! `c2pahlssink`: live HLS (CMAF / fragmented MP4) where every segment is
//! signed as soon as it is written.
//!
//! `hlscmafsink` (gst-plugins-rs) cuts the stream into an init segment and
//! media segments in a hidden staging folder. When a segment is complete,
//! it is signed with the c2pa crate's fragmented-BMFF method over that init
//! segment and that one segment: the signed init (`NAME-init-NNNNN.mp4`, the
//! manifest) and the signed segment (`NAME-NNNNN.m4s`, its Merkle proof;
//! NAME is the playlist's)
//! are published together, and the playlist names that init for that
//! segment (`EXT-X-MAP` before each segment). So a viewer can check each
//! segment on its own as soon as it is listed, which is what live
//! provenance needs (C2PA §19: each segment verifiable on arrival); the
//! Slate assertion of each manifest carries the stream id, the segment's
//! sequence number and duration so gaps and reordering show.

use gst::glib;
use gst::prelude::*;

mod imp;
mod playlist;

/// The element message posted for each signed segment.
pub const SEGMENT_MESSAGE: &str = "slate-c2pa-segment";

glib::wrapper! {
    pub struct C2paHlsSink(ObjectSubclass<imp::C2paHlsSink>) @extends gst::Bin, gst::Element, gst::Object;
}

pub fn register(plugin: &gst::Plugin) -> Result<(), glib::BoolError> {
    gst::Element::register(Some(plugin), "c2pahlssink", gst::Rank::NONE, C2paHlsSink::static_type())
}
