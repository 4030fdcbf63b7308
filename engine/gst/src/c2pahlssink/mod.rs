//! `c2pahlssink`: live HLS in CMAF (fragmented MP4) segments where every
//! segment is signed as soon as it is written.
//!
//! Request pads `video` (H.264/H.265) and `audio` (AAC) each feed a
//! rendition: an `hlscmafsink` (gst-plugins-rs) that cuts the stream into
//! an init segment and media segments in a hidden staging folder. When a
//! segment is complete it is signed with the c2pa crate's fragmented-BMFF
//! method over that init segment and that one segment: the signed init
//! (`STEM-KIND-init-NNNNN.mp4`, the manifest) and the signed segment
//! (`STEM-KIND-NNNNN.m4s`, its Merkle proof) are published together, and
//! the rendition's media playlist (`STEM-KIND.m3u8`) names that init for
//! that segment (`EXT-X-MAP` before each segment). So a viewer can check
//! each segment on its own as soon as it is listed, which is what live
//! provenance needs (C2PA §19: each segment verifiable on arrival); the
//! Slate assertion of each manifest carries the stream id, rendition,
//! sequence number and duration so gaps and reordering show. The master
//! playlist (`playlist-location`) pairs the video with its audio group.

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
