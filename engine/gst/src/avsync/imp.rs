use std::sync::{LazyLock, Mutex};

use gst::glib;
use gst::prelude::*;
use gst::subclass::prelude::*;
use slate_audio::{BeepFinder, FlashFinder, SyncEvent};

use super::SYNC_MESSAGE;

static CAT: LazyLock<gst::DebugCategory> =
    LazyLock::new(|| gst::DebugCategory::new("avsync", gst::DebugColorFlags::empty(), Some("Slate A/V sync meter")));

#[derive(Default)]
struct State {
    flashes: FlashFinder,
    beeps: Option<BeepFinder>,
    /// Found, not yet paired (seconds of running time).
    flash_times: Vec<f64>,
    beep_times: Vec<f64>,
    /// How far each stream has got, seconds of running time.
    video_at: f64,
    audio_at: f64,
    ended: [bool; 2],
    rate: u32,
}

const DEFAULT_THRESHOLD: f64 = 0.1;

pub struct AvSync {
    video: gst::Pad,
    audio: gst::Pad,
    state: Mutex<State>,
    threshold: Mutex<f64>,
}

#[glib::object_subclass]
impl ObjectSubclass for AvSync {
    const NAME: &'static str = "GstSlateAvSync";
    type Type = super::AvSync;
    type ParentType = gst::Element;

    fn with_class(klass: &Self::Class) -> Self {
        let pad = |name: &str| {
            gst::Pad::builder_from_template(&klass.pad_template(name).expect("declared below"))
                .chain_function(|pad, parent, buffer| {
                    AvSync::catch_panic_pad_function(
                        parent,
                        || Err(gst::FlowError::Error),
                        |this| this.chain(pad, &buffer),
                    )
                })
                .event_function(|pad, parent, event| {
                    AvSync::catch_panic_pad_function(parent, || false, |this| this.event(pad, event))
                })
                .build()
        };
        AvSync {
            video: pad("video"),
            audio: pad("audio"),
            state: Mutex::default(),
            threshold: Mutex::new(DEFAULT_THRESHOLD),
        }
    }
}

impl ObjectImpl for AvSync {
    fn constructed(&self) {
        self.parent_constructed();
        let obj = self.obj();
        obj.add_pad(&self.video).expect("a fresh pad");
        obj.add_pad(&self.audio).expect("a fresh pad");
        // A sink: the pipeline ends when it has posted end-of-stream.
        obj.set_element_flags(gst::ElementFlags::SINK);
    }

    fn properties() -> &'static [glib::ParamSpec] {
        static PROPERTIES: LazyLock<Vec<glib::ParamSpec>> = LazyLock::new(|| {
            vec![
                glib::ParamSpecDouble::builder("threshold")
                    .nick("Beep threshold")
                    .blurb("Amplitude (0-1) a beep's first sample passes")
                    .minimum(0.001)
                    .maximum(1.0)
                    .default_value(DEFAULT_THRESHOLD)
                    .mutable_ready()
                    .build(),
            ]
        });
        PROPERTIES.as_ref()
    }

    fn set_property(&self, _id: usize, value: &glib::Value, _pspec: &glib::ParamSpec) {
        *self.threshold.lock().unwrap() = value.get().expect("type checked upstream");
    }

    fn property(&self, _id: usize, _pspec: &glib::ParamSpec) -> glib::Value {
        self.threshold.lock().unwrap().to_value()
    }
}

impl GstObjectImpl for AvSync {}

impl ElementImpl for AvSync {
    fn metadata() -> Option<&'static gst::subclass::ElementMetadata> {
        static METADATA: LazyLock<gst::subclass::ElementMetadata> = LazyLock::new(|| {
            gst::subclass::ElementMetadata::new(
                "Slate A/V sync meter",
                "Sink/Analyzer/Audio/Video",
                "Measures the audio/video offset of the flash-and-beep pattern and checks it against EBU R37",
                "Slate developers",
            )
        });
        Some(&*METADATA)
    }

    fn pad_templates() -> &'static [gst::PadTemplate] {
        static TEMPLATES: LazyLock<Vec<gst::PadTemplate>> = LazyLock::new(|| {
            let video = gst_video::VideoCapsBuilder::new()
                .format(gst_video::VideoFormat::Gray8)
                .build();
            let audio = gst_audio::AudioCapsBuilder::new_interleaved()
                .format(gst_audio::AUDIO_FORMAT_F32)
                .channels(1)
                .build();
            [("video", video), ("audio", audio)]
                .into_iter()
                .map(|(name, caps)| {
                    gst::PadTemplate::new(name, gst::PadDirection::Sink, gst::PadPresence::Always, &caps)
                        .expect("a valid template")
                })
                .collect()
        });
        TEMPLATES.as_ref()
    }

    fn change_state(&self, transition: gst::StateChange) -> Result<gst::StateChangeSuccess, gst::StateChangeError> {
        if transition == gst::StateChange::ReadyToPaused {
            *self.state.lock().unwrap() = State::default();
        }
        self.parent_change_state(transition)
    }
}

impl AvSync {
    fn running_seconds(pad: &gst::Pad, pts: Option<gst::ClockTime>) -> Option<f64> {
        let segment = pad.sticky_event::<gst::event::Segment>(0)?;
        let segment = segment.segment().downcast_ref::<gst::ClockTime>()?.clone();
        segment.to_running_time(pts?).map(|t| t.nseconds() as f64 / 1e9)
    }

    fn chain(&self, pad: &gst::Pad, buffer: &gst::Buffer) -> Result<gst::FlowSuccess, gst::FlowError> {
        let Some(at) = Self::running_seconds(pad, buffer.pts()) else {
            return Ok(gst::FlowSuccess::Ok);
        };
        let map = buffer.map_readable().map_err(|_| gst::FlowError::Error)?;
        let mut state = self.state.lock().unwrap();
        if pad == &self.video {
            let caps = pad.current_caps().ok_or(gst::FlowError::NotNegotiated)?;
            let info = gst_video::VideoInfo::from_caps(&caps).map_err(|_| gst::FlowError::NotNegotiated)?;
            // Mean luma of the visible pixels (rows may be padded).
            let (width, stride) = (info.width() as usize, info.stride()[0] as usize);
            let rows = map.chunks(stride).take(info.height() as usize);
            let sum: u64 = rows
                .map(|row| row[..width.min(row.len())].iter().map(|&p| u64::from(p)).sum::<u64>())
                .sum();
            let luma = sum as f64 / (width * info.height() as usize).max(1) as f64;
            if let Some(flash) = state.flashes.frame(at, luma) {
                state.flash_times.push(flash);
            }
            state.video_at = at;
        } else {
            let caps = pad.current_caps().ok_or(gst::FlowError::NotNegotiated)?;
            let rate = gst_audio::AudioInfo::from_caps(&caps)
                .map_err(|_| gst::FlowError::NotNegotiated)?
                .rate();
            let threshold = *self.threshold.lock().unwrap() as f32;
            if state.rate != rate {
                state.rate = rate;
                state.beeps = Some(BeepFinder::new(rate, threshold));
            }
            let samples: Vec<f32> = map
                .chunks_exact(4)
                .map(|b| f32::from_ne_bytes([b[0], b[1], b[2], b[3]]))
                .collect();
            let onsets = state.beeps.as_mut().expect("made above").samples(at, &samples);
            state.beep_times.extend(onsets);
            state.audio_at = at + samples.len() as f64 / f64::from(rate);
        }
        let ready = self.take_ready(&mut state, false);
        drop(state);
        self.post(ready);
        Ok(gst::FlowSuccess::Ok)
    }

    /// Pairs the flashes both streams have got half a second past (all of
    /// them at the end).
    fn take_ready(&self, state: &mut State, all: bool) -> Vec<SyncEvent> {
        let horizon = state.video_at.min(state.audio_at) - 0.5;
        let (ready, waiting): (Vec<f64>, Vec<f64>) = state.flash_times.iter().partition(|&&f| all || f < horizon);
        state.flash_times = waiting;
        let events = slate_audio::pair(&ready, &state.beep_times);
        if let Some(latest) = ready.iter().copied().reduce(f64::max) {
            state.beep_times.retain(|&b| b >= latest + 0.5);
        }
        for flash in ready.iter().filter(|f| !events.iter().any(|e| e.flash_s == **f)) {
            gst::warning!(CAT, imp = self, "flash at {flash:.3} s has no beep within 0.5 s");
        }
        events
    }

    fn post(&self, events: Vec<SyncEvent>) {
        for event in events {
            let structure = gst::Structure::builder(SYNC_MESSAGE)
                .field("flash", event.flash_s)
                .field("beep", event.beep_s)
                .field("offset-ms", event.offset_ms)
                .field("within-r37", event.within_r37)
                .build();
            crate::post_element_message(self.obj().upcast_ref(), structure);
            if !event.within_r37 {
                let side = if event.offset_ms > 0.0 { "late" } else { "early" };
                gst::element_imp_warning!(
                    self,
                    gst::StreamError::Format,
                    (
                        "audio {:.0} ms {side} at {:.2} s: outside EBU R37 (-40/+60 ms)",
                        event.offset_ms.abs(),
                        event.flash_s
                    )
                );
            }
        }
    }

    fn event(&self, pad: &gst::Pad, event: gst::Event) -> bool {
        if event.type_() == gst::EventType::Eos {
            let mut state = self.state.lock().unwrap();
            state.ended[usize::from(pad == &self.audio)] = true;
            if state.ended == [true, true] {
                let ready = self.take_ready(&mut state, true);
                drop(state);
                self.post(ready);
                let _ = self
                    .obj()
                    .post_message(gst::message::Eos::builder().src(&*self.obj()).build());
            }
            return true;
        }
        if event.is_serialized() || event.type_() == gst::EventType::Caps {
            // Sticky events stay on the pad (segment, caps) for the chain.
            return true;
        }
        gst::Pad::event_default(pad, Some(&*self.obj()), event)
    }
}
