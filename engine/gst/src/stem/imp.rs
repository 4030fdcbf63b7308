use std::sync::{Arc, LazyLock, Mutex};

use gst::glib;
use gst::prelude::*;
use gst::subclass::prelude::*;
use gst_base::prelude::*;
use gst_base::subclass::prelude::*;
use slate_audio::{Curve, Ducker, pan_gains};

use super::SpeechKeys;

static CAT: LazyLock<gst::DebugCategory> =
    LazyLock::new(|| gst::DebugCategory::new("stem", gst::DebugColorFlags::empty(), Some("Slate audio stem")));

const DEFAULT_GAIN_DB: f64 = 0.0;
const DEFAULT_PAN: f64 = 0.0;
const DEFAULT_MUTE: bool = false;
const DEFAULT_DUCK_DB: f64 = 0.0;
const DEFAULT_ATTACK_MS: f64 = 50.0;
const DEFAULT_HOLD_MS: f64 = 200.0;
const DEFAULT_RELEASE_MS: f64 = 500.0;

#[derive(Debug, Clone)]
struct Settings {
    gain_db: f64,
    pan: f64,
    mute: bool,
    automation_text: String,
    automation: Result<Curve, String>,
    duck_db: f64,
    duck_key: Option<String>,
    attack_ms: f64,
    hold_ms: f64,
    release_ms: f64,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            gain_db: DEFAULT_GAIN_DB,
            pan: DEFAULT_PAN,
            mute: DEFAULT_MUTE,
            automation_text: String::new(),
            automation: Ok(Curve::default()),
            duck_db: DEFAULT_DUCK_DB,
            duck_key: None,
            attack_ms: DEFAULT_ATTACK_MS,
            hold_ms: DEFAULT_HOLD_MS,
            release_ms: DEFAULT_RELEASE_MS,
        }
    }
}

#[derive(Default)]
pub struct Stem {
    settings: Mutex<Settings>,
    info: Mutex<Option<gst_audio::AudioInfo>>,
    /// The ducker, rebuilt when its settings change.
    ducker: Mutex<Option<(Ducker, [u64; 4])>>,
    pub(super) keys: Mutex<Option<Arc<SpeechKeys>>>,
}

#[glib::object_subclass]
impl ObjectSubclass for Stem {
    const NAME: &'static str = "GstSlateStem";
    type Type = super::Stem;
    type ParentType = gst_base::BaseTransform;
}

fn number(name: &str, nick: &str, blurb: &str, min: f64, max: f64, default: f64) -> glib::ParamSpec {
    glib::ParamSpecDouble::builder(name)
        .nick(nick)
        .blurb(blurb)
        .minimum(min)
        .maximum(max)
        .default_value(default)
        .mutable_playing()
        .build()
}

impl ObjectImpl for Stem {
    fn properties() -> &'static [glib::ParamSpec] {
        static PROPERTIES: LazyLock<Vec<glib::ParamSpec>> = LazyLock::new(|| {
            vec![
                number("gain", "Gain", "Gain in dB", -100.0, 24.0, DEFAULT_GAIN_DB),
                number(
                    "pan",
                    "Pan",
                    "Stereo position: -1 left, 0 centre, 1 right",
                    -1.0,
                    1.0,
                    DEFAULT_PAN,
                ),
                glib::ParamSpecBoolean::builder("mute")
                    .nick("Mute")
                    .blurb("Silence this stem in the mix")
                    .default_value(DEFAULT_MUTE)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecString::builder("automation")
                    .nick("Automation")
                    .blurb("Gain curve over stream time, dB, added to `gain`: \"0s=-20 2s=-6 10s=-6 12s=-40\"")
                    .mutable_playing()
                    .build(),
                number(
                    "duck",
                    "Duck",
                    "How far to dip while `duck-key` speaks, dB (0: never)",
                    0.0,
                    60.0,
                    DEFAULT_DUCK_DB,
                ),
                glib::ParamSpecString::builder("duck-key")
                    .nick("Duck key")
                    .blurb("The stem whose speech ducks this one")
                    .mutable_playing()
                    .build(),
                number(
                    "attack",
                    "Attack",
                    "Time to dip fully, ms",
                    0.0,
                    10_000.0,
                    DEFAULT_ATTACK_MS,
                ),
                number(
                    "hold",
                    "Hold",
                    "Time to stay down after speech ends, ms",
                    0.0,
                    10_000.0,
                    DEFAULT_HOLD_MS,
                ),
                number(
                    "release",
                    "Release",
                    "Time to come back up, ms",
                    0.0,
                    60_000.0,
                    DEFAULT_RELEASE_MS,
                ),
                glib::ParamSpecDouble::builder("ducking")
                    .nick("Ducking")
                    .blurb("How far the stem is ducked now, dB (read only)")
                    .minimum(-60.0)
                    .maximum(0.0)
                    .read_only()
                    .build(),
            ]
        });
        PROPERTIES.as_ref()
    }

    fn set_property(&self, _id: usize, value: &glib::Value, pspec: &glib::ParamSpec) {
        let mut s = self.settings.lock().unwrap();
        let number = || value.get::<f64>().expect("type checked upstream");
        match pspec.name() {
            "gain" => s.gain_db = number(),
            "pan" => s.pan = number(),
            "mute" => s.mute = value.get().expect("type checked upstream"),
            "automation" => {
                let text: Option<String> = value.get().expect("type checked upstream");
                s.automation_text = text.unwrap_or_default();
                s.automation = Curve::parse(&s.automation_text).map_err(|e| e.to_string());
                if let Err(why) = &s.automation {
                    gst::warning!(CAT, imp = self, "{why}; the curve in force stays");
                }
            }
            "duck" => s.duck_db = number(),
            "duck-key" => s.duck_key = value.get().expect("type checked upstream"),
            "attack" => s.attack_ms = number(),
            "hold" => s.hold_ms = number(),
            "release" => s.release_ms = number(),
            other => unreachable!("unknown property {other}"),
        }
    }

    fn property(&self, _id: usize, pspec: &glib::ParamSpec) -> glib::Value {
        let s = self.settings.lock().unwrap();
        match pspec.name() {
            "gain" => s.gain_db.to_value(),
            "pan" => s.pan.to_value(),
            "mute" => s.mute.to_value(),
            "automation" => s.automation_text.to_value(),
            "duck" => s.duck_db.to_value(),
            "duck-key" => s.duck_key.to_value(),
            "attack" => s.attack_ms.to_value(),
            "hold" => s.hold_ms.to_value(),
            "release" => s.release_ms.to_value(),
            "ducking" => self
                .ducker
                .lock()
                .unwrap()
                .as_ref()
                .map_or(0.0, |(d, _)| d.gain_db())
                .to_value(),
            other => unreachable!("unknown property {other}"),
        }
    }
}

impl GstObjectImpl for Stem {}

impl ElementImpl for Stem {
    fn metadata() -> Option<&'static gst::subclass::ElementMetadata> {
        static METADATA: LazyLock<gst::subclass::ElementMetadata> = LazyLock::new(|| {
            gst::subclass::ElementMetadata::new(
                "Slate audio stem",
                "Filter/Effect/Audio",
                "Gain with automation, pan, mute and ducking under speech for one stem of a mix",
                "Slate developers",
            )
        });
        Some(&*METADATA)
    }

    fn pad_templates() -> &'static [gst::PadTemplate] {
        static TEMPLATES: LazyLock<Vec<gst::PadTemplate>> = LazyLock::new(crate::f32_audio_templates);
        TEMPLATES.as_ref()
    }

    fn change_state(&self, transition: gst::StateChange) -> Result<gst::StateChangeSuccess, gst::StateChangeError> {
        if transition == gst::StateChange::NullToReady {
            let s = self.settings.lock().unwrap();
            if let Err(why) = &s.automation {
                gst::element_imp_error!(
                    self,
                    gst::LibraryError::Settings,
                    ("stem `{}`: {why}", self.obj().name())
                );
                return Err(gst::StateChangeError);
            }
        }
        self.parent_change_state(transition)
    }
}

impl BaseTransformImpl for Stem {
    const MODE: gst_base::subclass::BaseTransformMode = gst_base::subclass::BaseTransformMode::AlwaysInPlace;
    const PASSTHROUGH_ON_SAME_CAPS: bool = false;
    const TRANSFORM_IP_ON_PASSTHROUGH: bool = false;

    fn set_caps(&self, incaps: &gst::Caps, _outcaps: &gst::Caps) -> Result<(), gst::LoggableError> {
        let info =
            gst_audio::AudioInfo::from_caps(incaps).map_err(|_| gst::loggable_error!(CAT, "not audio: {incaps}"))?;
        *self.info.lock().unwrap() = Some(info);
        Ok(())
    }

    fn transform_ip(&self, buffer: &mut gst::BufferRef) -> Result<gst::FlowSuccess, gst::FlowError> {
        let info = self.info.lock().unwrap().clone().ok_or(gst::FlowError::NotNegotiated)?;
        let settings = self.settings.lock().unwrap().clone();
        let rate = info.rate();
        let channels = info.channels() as usize;
        let segment = self.obj().segment();
        let segment = segment.downcast_ref::<gst::ClockTime>();
        let pts = buffer.pts();
        let stream_s = pts
            .and_then(|t| segment.and_then(|s| s.to_stream_time(t)))
            .map_or(0.0, |t| t.nseconds() as f64 / 1e9);
        let running_ns = pts
            .and_then(|t| segment.and_then(|s| s.to_running_time(t)))
            .map(|t| t.nseconds());
        let ducking = self.ducking_setup(&settings, rate);
        if let (Some((key, keys)), Some(start)) = (&ducking, running_ns) {
            // The key's samples up to here can reach detection while this
            // buffer waits (the mixer holds them at this buffer's start),
            // less what the detector's chain holds back.
            keys.wait_for(key, start.saturating_sub(super::DETECTION_SLACK_NS));
        }
        let (left, right) = if channels == 2 {
            pan_gains(settings.pan)
        } else {
            (1.0, 1.0)
        };
        let curve = settings.automation.unwrap_or_default();
        let mut map = buffer.map_writable().map_err(|_| gst::FlowError::Error)?;
        let mut ducker = self.ducker.lock().unwrap();
        for (i, frame) in map.as_mut_slice().chunks_exact_mut(channels * 4).enumerate() {
            let offset = i as f64 / f64::from(rate);
            let mut gain_db = settings.gain_db + curve.at(stream_s + offset);
            if let (Some((key, keys)), Some((d, _))) = (&ducking, ducker.as_mut()) {
                let at = running_ns.unwrap_or(0) + (offset * 1e9) as u64;
                gain_db += d.next(keys.speaking(key, at));
            }
            let gain = if settings.mute {
                0.0
            } else {
                10f64.powf(gain_db / 20.0) as f32
            };
            for (c, sample) in frame.chunks_exact_mut(4).enumerate() {
                let pan = match c {
                    0 => left,
                    1 => right,
                    _ => 1.0,
                };
                let value = f32::from_ne_bytes([sample[0], sample[1], sample[2], sample[3]]) * gain * pan;
                sample.copy_from_slice(&value.to_ne_bytes());
            }
        }
        Ok(gst::FlowSuccess::Ok)
    }
}

impl Stem {
    /// The key and where to read it, when this stem ducks; (re)builds the
    /// ducker when its settings changed.
    fn ducking_setup(&self, s: &Settings, rate: u32) -> Option<(String, Arc<SpeechKeys>)> {
        let key = s.duck_key.clone().filter(|_| s.duck_db > 0.0)?;
        let keys = self.keys.lock().unwrap().clone();
        let Some(keys) = keys.filter(|k| k.is_declared(&key)) else {
            gst::element_imp_error!(
                self,
                gst::LibraryError::Settings,
                (
                    "stem `{}`: duck-key `{key}` is not a stem with voice detection (vad) in this stemmix",
                    self.obj().name()
                )
            );
            return None;
        };
        let shape = [s.duck_db, s.attack_ms, s.hold_ms, s.release_ms].map(f64::to_bits);
        let mut ducker = self.ducker.lock().unwrap();
        if ducker.as_ref().is_none_or(|(_, old)| *old != shape) {
            let current = ducker.as_ref().map_or(0.0, |(d, _)| d.gain_db());
            let mut fresh = Ducker::new(rate, s.duck_db, s.attack_ms / 1e3, s.hold_ms / 1e3, s.release_ms / 1e3);
            fresh.start_at(current);
            *ducker = Some((fresh, shape));
        }
        Some((key, keys))
    }
}
