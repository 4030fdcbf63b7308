//! `consentgate`: only people who allowed it are shown. Finds faces
//! (detector + recogniser sessions of `slate-onnx`, every `interval`
//! frames, tracked in between), matches them against the consent registry,
//! checks each person's grant for this pipeline's grantee, channel, use and
//! context at this moment, and applies `policy` to those without one:
//! `blur` (pixelate the face), `block` (replace the frame) or `flag` (pass
//! it, with a bus warning). Unknown faces follow `unknown-policy`. The
//! grant ids of the people shown go into each buffer's metadata
//! (`consent.grants`) and, through the `grants` property, into the C2PA
//! manifest of the signing sinks. A revocation counts from the next
//! checked frame: no restart. Each check is posted on the bus as a
//! `slate-consent` element message.
//!
//! ```text
//! slate launch 'filesrc location=in.mp4 ! decodebin ! videoconvert ! video/x-raw,format=RGBx
//!   ! consentgate registry=consent.sqlite grantee=studio channel=web ! videoconvert ! autovideosink'
//! ```

use gst::glib;
use gst::prelude::*;

mod imp;
mod pixels;
mod tracks;

/// The cosine similarity from which a face is taken for a registered
/// person. On the test set (engine/gst/tests/consentgate.rs,
/// `the_default_threshold_separates_the_test_set`) the same person scored
/// 0.84 and up, different people 0.22 and below: the middle of that gap,
/// rounded up, because a miss only falls to `unknown-policy` while a false
/// match would lend someone else's grant.
pub const DEFAULT_THRESHOLD: f64 = 0.55;

/// Posted after every check that saw a face: `frames` (the range it
/// covers), `faces`, `grants` (of those allowed), `refused` ("identity:
/// reason", `unknown` for unregistered faces) and the frame's `action`.
pub const CONSENT_MESSAGE: &str = "slate-consent";

glib::wrapper! {
    pub struct ConsentGate(ObjectSubclass<imp::ConsentGate>) @extends gst_base::BaseTransform, gst::Element, gst::Object;
}

pub fn register(plugin: &gst::Plugin) -> Result<(), glib::BoolError> {
    gst::Element::register(Some(plugin), "consentgate", gst::Rank::NONE, ConsentGate::static_type())
}

/// What happens to a face the registry does not allow here.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, glib::Enum, Default)]
#[repr(u32)]
#[enum_type(name = "GstSlateConsentPolicy")]
pub enum Policy {
    /// Shown as it is (for unknown faces only: a refusal is never passed)
    #[enum_value(name = "Pass: show the face", nick = "pass")]
    Pass,
    /// Shown, with a warning on the bus
    #[enum_value(name = "Flag: show it and post a warning", nick = "flag")]
    Flag,
    /// The face pixelated
    #[default]
    #[enum_value(name = "Blur: pixelate the face", nick = "blur")]
    Blur,
    /// The whole frame replaced by black
    #[enum_value(name = "Block: replace the frame", nick = "block")]
    Block,
}

impl Policy {
    pub fn nick(self) -> &'static str {
        match self {
            Policy::Pass => "pass",
            Policy::Flag => "flag",
            Policy::Blur => "blur",
            Policy::Block => "block",
        }
    }
}
