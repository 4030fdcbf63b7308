//! `avsync`: measures audio/video sync from content. Its `video` pad takes
//! frames (GRAY8), its `audio` pad mono float samples; it finds the flashes
//! and beeps of the flash-and-beep pattern (`slate audio synctest`), pairs
//! them, and posts a `slate-av-sync` message for each pair with the offset
//! (ms, > 0: audio late) and whether it is within EBU R37 (-40/+60 ms),
//! plus a warning when it is not.
//!
//! [`measure_file`] and [`correct_file`] run it on files.

use gst::glib;
use gst::prelude::*;

mod file;
mod imp;

pub use file::{correct_file, measure_file};

/// The element message posted for each flash paired with its beep.
pub const SYNC_MESSAGE: &str = "slate-av-sync";

glib::wrapper! {
    pub struct AvSync(ObjectSubclass<imp::AvSync>) @extends gst::Element, gst::Object;
}

pub fn register(plugin: &gst::Plugin) -> Result<(), glib::BoolError> {
    gst::Element::register(Some(plugin), "avsync", gst::Rank::NONE, AvSync::static_type())
}
