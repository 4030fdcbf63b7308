//! `c2paverify`: checks the C2PA provenance of ingested video and applies
//! what a `provenance-policy` WASM plugin decides.
//!
//! On the first buffer it verifies the input file (`location`, or the file
//! the upstream source reports through a URI query), posts the report as a
//! `slate-provenance` element message, and asks the policy plugin:
//! - `trust`: the video passes untouched;
//! - `label`: a visible label (the policy's reason) is drawn over the video;
//! - `throttle`: every buffer is marked `provenance.throttle = true` in its
//!   Slate metadata, for the ranking stage;
//! - `reject`: nothing passes, and the element posts an error naming the
//!   file and why.
//!
//! Every buffer that passes carries `provenance.state` and
//! `provenance.decision` in its Slate metadata.

use gst::glib;
use gst::prelude::*;

mod imp;

/// The element message with the report and the decision.
pub const PROVENANCE_MESSAGE: &str = "slate-provenance";

glib::wrapper! {
    pub struct C2paVerify(ObjectSubclass<imp::C2paVerify>) @extends gst::Bin, gst::Element, gst::Object;
}

pub fn register(plugin: &gst::Plugin) -> Result<(), glib::BoolError> {
    gst::Element::register(Some(plugin), "c2paverify", gst::Rank::NONE, C2paVerify::static_type())
}
