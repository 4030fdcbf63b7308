//! Watching a running pipeline without touching what it makes: pad probes
//! on its sources' raw outputs meter the audio ([`audio`]) and look at the
//! picture ([`picture`]); [`Watch::check`] notices inputs that went quiet.
//! Readings and alerts are element messages on the pipeline's bus
//! ([`METER`], [`ALERT`]), so they reach operators in order with
//! everything else the pipeline says.

mod audio;
mod picture;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use gst::prelude::*;

/// Element message: one stem's audio levels, 10 a second.
pub const METER: &str = "slate-meter";
/// Element message: an alert raised (`active`) or cleared.
pub const ALERT: &str = "slate-alert";

/// How long a condition must last before it is an alert.
pub const HOLD: Duration = Duration::from_secs(2);

/// The alerts Slate raises itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Alert {
    BlackPicture,
    FrozenPicture,
    Silence,
    LostInput,
    DroppedFrames,
    StageFault,
}

impl Alert {
    pub fn as_str(self) -> &'static str {
        match self {
            Alert::BlackPicture => "black-picture",
            Alert::FrozenPicture => "frozen-picture",
            Alert::Silence => "silence",
            Alert::LostInput => "lost-input",
            Alert::DroppedFrames => "dropped-frames",
            Alert::StageFault => "stage-fault",
        }
    }
}

/// Posts an alert about `element` on its bus.
pub fn post_alert(element: &gst::Element, alert: Alert, active: bool, message: &str) {
    let s = gst::Structure::builder(ALERT)
        .field("alert", alert.as_str())
        .field("active", active)
        .field("message", message)
        .build();
    let _ = element.post_message(gst::message::Element::builder(s).src(element).build());
}

/// A condition that becomes an alert once it has held for [`HOLD`], and
/// is cleared when it ends.
#[derive(Debug, Default)]
pub(crate) struct Condition {
    since: Option<Instant>,
    raised: bool,
}

impl Condition {
    /// Whether the condition holds now; says what changed: `Some(true)` on
    /// raising, `Some(false)` on clearing.
    pub(crate) fn observe(&mut self, holds: bool, now: Instant) -> Option<bool> {
        match (holds, self.since) {
            (true, None) => {
                self.since = Some(now);
                None
            }
            (true, Some(since)) if !self.raised && now - since >= HOLD => {
                self.raised = true;
                Some(true)
            }
            (false, _) => {
                self.since = None;
                std::mem::take(&mut self.raised).then_some(false)
            }
            _ => None,
        }
    }
}

/// The probes of one pipeline.
pub struct Watch {
    inputs: Vec<Arc<Input>>,
}

/// One source output: when it last gave a buffer.
struct Input {
    element: gst::Element,
    last: Mutex<Option<Instant>>,
    lost: AtomicBool,
    ended: AtomicBool,
}

impl Watch {
    /// Puts probes on every source's outputs.
    pub fn attach(pipeline: &gst::Pipeline) -> Watch {
        let mut inputs = Vec::new();
        let mut sources = pipeline.iterate_sources();
        while let Ok(Some(source)) = sources.next() {
            for pad in source.src_pads() {
                let input = Arc::new(Input {
                    element: source.clone(),
                    last: Mutex::new(None),
                    lost: AtomicBool::new(false),
                    ended: AtomicBool::new(false),
                });
                let seen = input.clone();
                let probe = Mutex::new(Probe::Unknown);
                let types = gst::PadProbeType::BUFFER | gst::PadProbeType::EVENT_DOWNSTREAM;
                pad.add_probe(types, move |pad, info| {
                    match &info.data {
                        Some(gst::PadProbeData::Buffer(buffer)) => {
                            *seen.last.lock().unwrap() = Some(Instant::now());
                            probe.lock().unwrap().buffer(pad, buffer);
                        }
                        // An input that ended is not lost.
                        Some(gst::PadProbeData::Event(event)) if event.type_() == gst::EventType::Eos => {
                            seen.ended.store(true, Ordering::Relaxed);
                        }
                        _ => {}
                    }
                    gst::PadProbeReturn::Ok
                });
                inputs.push(input);
            }
        }
        Watch { inputs }
    }

    /// Raises `lost-input` for a source that gave buffers and then none for
    /// [`HOLD`] while the pipeline plays (and clears it when they return).
    pub fn check(&self, playing: bool) {
        let now = Instant::now();
        for input in &self.inputs {
            let Some(last) = *input.last.lock().unwrap() else {
                continue;
            };
            let quiet = playing && !input.ended.load(Ordering::Relaxed) && now - last >= HOLD;
            if quiet != input.lost.load(Ordering::Relaxed) {
                input.lost.store(quiet, Ordering::Relaxed);
                let message = match quiet {
                    true => format!(
                        "no buffers from `{}` for {:.1} s",
                        input.element.name(),
                        (now - last).as_secs_f64()
                    ),
                    false => format!("`{}` gives buffers again", input.element.name()),
                };
                post_alert(&input.element, Alert::LostInput, quiet, &message);
            }
        }
    }
}

/// What a source pad carries, decided by its caps on the first buffer.
enum Probe {
    Unknown,
    Audio(Box<audio::Meter>),
    Picture(Box<picture::Picture>),
    Other,
}

impl Probe {
    fn buffer(&mut self, pad: &gst::Pad, buffer: &gst::BufferRef) {
        if let Probe::Unknown = self {
            *self = match pad.current_caps() {
                Some(caps) => Probe::for_caps(&caps, pad),
                None => return,
            };
        }
        match self {
            Probe::Audio(meter) => meter.buffer(buffer),
            Probe::Picture(picture) => picture.buffer(buffer),
            Probe::Unknown | Probe::Other => {}
        }
    }

    fn for_caps(caps: &gst::CapsRef, pad: &gst::Pad) -> Probe {
        let Some(element) = pad.parent_element() else {
            return Probe::Other;
        };
        if let Ok(info) = gst_audio::AudioInfo::from_caps(caps) {
            return audio::Meter::new(element, info).map_or(Probe::Other, |m| Probe::Audio(Box::new(m)));
        }
        if let Ok(info) = gst_video::VideoInfo::from_caps(caps) {
            return picture::Picture::new(element, info).map_or(Probe::Other, |p| Probe::Picture(Box::new(p)));
        }
        Probe::Other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_condition_is_raised_after_the_hold_and_cleared_once() {
        let mut c = Condition::default();
        let t0 = Instant::now();
        assert_eq!(c.observe(true, t0), None);
        assert_eq!(c.observe(true, t0 + HOLD / 2), None);
        assert_eq!(c.observe(true, t0 + HOLD), Some(true));
        assert_eq!(c.observe(true, t0 + HOLD * 3), None, "raised once");
        assert_eq!(c.observe(false, t0 + HOLD * 4), Some(false));
        assert_eq!(c.observe(false, t0 + HOLD * 5), None, "cleared once");
        assert_eq!(c.observe(true, t0 + HOLD * 6), None, "the hold starts again");
    }
}
