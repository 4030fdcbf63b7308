//! `stem`: one named audio stem on its way into a mix: gain (dB) with an
//! automation curve, pan, mute, and ducking while a speech key (a stem of
//! the same `stemmix` whose voice activity Silero VAD detects) speaks.
//! Every property can change while playing (Lua: `Element:set`).

use std::collections::{HashMap, VecDeque};
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

use gst::glib;
use gst::prelude::*;

mod imp;

glib::wrapper! {
    pub struct Stem(ObjectSubclass<imp::Stem>) @extends gst_base::BaseTransform, gst::Element, gst::Object;
}

pub fn register(plugin: &gst::Plugin) -> Result<(), glib::BoolError> {
    gst::Element::register(Some(plugin), "stem", gst::Rank::NONE, Stem::static_type())
}

impl Stem {
    /// Where the speech of the stem this one ducks under is found.
    pub(crate) fn set_keys(&self, keys: std::sync::Arc<SpeechKeys>) {
        use gst::subclass::prelude::ObjectSubclassExt;
        *imp::Stem::from_obj(self).keys.lock().unwrap() = Some(keys);
    }
}

/// Speech on/off over running time, per key stem, as voice activity
/// detection reports it; read by the stems that duck under it. A reader
/// waits (bounded) until detection has covered the time it asks about, so
/// ducking lands on the same samples however the threads are scheduled.
#[derive(Default)]
pub struct SpeechKeys {
    timelines: Mutex<HashMap<String, Timeline>>,
    progressed: Condvar,
}

#[derive(Default)]
struct Timeline {
    /// (running time, speaking from then on), oldest first.
    changes: VecDeque<(u64, bool)>,
    /// Detection has heard everything before this running time.
    covered: u64,
    ended: bool,
}

/// How far behind a ducked stem's buffer the key's detection may be when
/// the buffer goes on: what resampling and 32 ms VAD chunks hold back.
pub(crate) const DETECTION_SLACK_NS: u64 = 100_000_000;
/// How much history a timeline keeps, ns.
const KEEP_NS: u64 = 30_000_000_000;
/// The longest a ducked stem waits for the key's detection.
const WAIT: Duration = Duration::from_secs(1);

impl SpeechKeys {
    pub fn declare(&self, key: &str) {
        self.timelines.lock().unwrap().entry(key.to_owned()).or_default();
    }

    pub fn is_declared(&self, key: &str) -> bool {
        self.timelines.lock().unwrap().contains_key(key)
    }

    /// Detection heard `key` from running time `from` to `to`: speaking or not.
    pub fn report(&self, key: &str, from: u64, to: u64, speaking: bool) {
        let mut timelines = self.timelines.lock().unwrap();
        let timeline = timelines.entry(key.to_owned()).or_default();
        if timeline.changes.back().is_none_or(|&(_, s)| s != speaking) {
            timeline.changes.push_back((from, speaking));
        }
        while timeline.changes.len() > 2 && timeline.changes[1].0 + KEEP_NS < from {
            timeline.changes.pop_front();
        }
        timeline.covered = timeline.covered.max(to);
        self.progressed.notify_all();
    }

    /// `key` has no more to say (end of stream, or its chain stopped).
    pub fn end(&self, key: &str) {
        if let Some(timeline) = self.timelines.lock().unwrap().get_mut(key) {
            timeline.ended = true;
        }
        self.progressed.notify_all();
    }

    /// Waits until detection of `key` covers running time `until` (or
    /// ended, or a second passed).
    pub fn wait_for(&self, key: &str, until: u64) {
        let deadline = Instant::now() + WAIT;
        let mut timelines = self.timelines.lock().unwrap();
        loop {
            let Some(timeline) = timelines.get(key) else {
                return;
            };
            let left = deadline.saturating_duration_since(Instant::now());
            if timeline.ended || timeline.covered >= until || left.is_zero() {
                return;
            }
            timelines = self.progressed.wait_timeout(timelines, left).unwrap().0;
        }
    }

    /// Whether `key` speaks at running time `at` (as far as known: past
    /// the latest report, the latest state holds).
    pub fn speaking(&self, key: &str, at: u64) -> bool {
        let timelines = self.timelines.lock().unwrap();
        let Some(timeline) = timelines.get(key) else {
            return false;
        };
        let after = timeline.changes.partition_point(|&(t, _)| t <= at);
        after.checked_sub(1).is_some_and(|i| timeline.changes[i].1)
    }
}
