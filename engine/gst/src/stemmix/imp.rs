use std::collections::BTreeMap;
use std::sync::{Arc, LazyLock, Mutex};

use gst::glib;
use gst::prelude::*;
use gst::subclass::prelude::*;

use super::settings::{StemSettings, parse_stems, valid_stem_name};
use crate::SlateMeta;
use crate::stem::SpeechKeys;

static CAT: LazyLock<gst::DebugCategory> =
    LazyLock::new(|| gst::DebugCategory::new("stemmix", gst::DebugColorFlags::empty(), Some("Slate stem mixer")));

const DEFAULT_RATE: u32 = 48_000;
const DEFAULT_CHANNELS: u32 = 2;

struct Settings {
    text: String,
    stems: Result<BTreeMap<String, StemSettings>, String>,
    rate: u32,
    channels: u32,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            text: String::new(),
            stems: Ok(BTreeMap::new()),
            rate: DEFAULT_RATE,
            channels: DEFAULT_CHANNELS,
        }
    }
}

#[derive(Default)]
pub struct StemMix {
    settings: Mutex<Settings>,
    keys: Arc<SpeechKeys>,
    /// The mixer and the caps filter after it, made in `constructed`.
    mixer: Mutex<Option<(gst::Element, gst::Element)>>,
    /// A stem setting its element refused (a value out of range).
    refused: Mutex<Option<String>>,
}

#[glib::object_subclass]
impl ObjectSubclass for StemMix {
    const NAME: &'static str = "GstSlateStemMix";
    type Type = super::StemMix;
    type ParentType = gst::Bin;
    type Interfaces = (gst::ChildProxy,);
}

impl ObjectImpl for StemMix {
    fn properties() -> &'static [glib::ParamSpec] {
        static PROPERTIES: LazyLock<Vec<glib::ParamSpec>> = LazyLock::new(|| {
            vec![
                glib::ParamSpecString::builder("stems")
                    .nick("Stems")
                    .blurb("Per-stem settings: \"dialogue: vad=true; music: gain=-6, duck=12, duck-key=dialogue, automation=0s=-20 2s=0\"")
                    .mutable_playing()
                    .build(),
                glib::ParamSpecUInt::builder("rate")
                    .nick("Rate")
                    .blurb("Sample rate of the mix, Hz (every stem is resampled to it)")
                    .minimum(8_000)
                    .maximum(192_000)
                    .default_value(DEFAULT_RATE)
                    .mutable_ready()
                    .build(),
                glib::ParamSpecUInt::builder("channels")
                    .nick("Channels")
                    .blurb("Channels of the mix (every stem is converted to it)")
                    .minimum(1)
                    .maximum(8)
                    .default_value(DEFAULT_CHANNELS)
                    .mutable_ready()
                    .build(),
            ]
        });
        PROPERTIES.as_ref()
    }

    fn set_property(&self, _id: usize, value: &glib::Value, pspec: &glib::ParamSpec) {
        let mut settings = self.settings.lock().unwrap();
        match pspec.name() {
            "stems" => {
                let text: Option<String> = value.get().expect("type checked upstream");
                settings.text = text.unwrap_or_default();
                settings.stems = parse_stems(&settings.text);
                if let Ok(stems) = &settings.stems {
                    // Live changes reach the stems already playing.
                    for (name, stem) in stems {
                        if let Some(element) = self.obj().by_name(name) {
                            apply(&element, name, stem).unwrap_or_else(|why| gst::warning!(CAT, imp = self, "{why}"));
                        }
                    }
                }
            }
            "rate" => settings.rate = value.get().expect("type checked upstream"),
            "channels" => settings.channels = value.get().expect("type checked upstream"),
            other => unreachable!("unknown property {other}"),
        }
    }

    fn property(&self, _id: usize, pspec: &glib::ParamSpec) -> glib::Value {
        let settings = self.settings.lock().unwrap();
        match pspec.name() {
            "stems" => settings.text.to_value(),
            "rate" => settings.rate.to_value(),
            "channels" => settings.channels.to_value(),
            other => unreachable!("unknown property {other}"),
        }
    }

    fn constructed(&self) {
        self.parent_constructed();
        let obj = self.obj();
        let mixer = make("audiomixer", "mixer");
        let format = make("capsfilter", "mix-format");
        obj.add_many([&mixer, &format]).expect("fresh elements join the bin");
        mixer.link(&format).expect("audiomixer links to a capsfilter");
        let target = format.static_pad("src").expect("capsfilter has src");
        let templ = obj.pad_template("src").expect("declared below");
        let ghost = gst::GhostPad::builder_from_template_with_target(&templ, &target)
            .expect("a ghost pad for the mix")
            .build();
        obj.add_pad(&ghost).expect("one src pad");
        *self.mixer.lock().unwrap() = Some((mixer, format));
    }
}

fn make(factory: &str, name: &str) -> gst::Element {
    gst::ElementFactory::make(factory)
        .name(name)
        .build()
        .unwrap_or_else(|_| panic!("GStreamer element `{factory}` is missing (gst-plugins-base); run .ci/setup"))
}

/// Sets a stem's properties from its settings.
fn apply(element: &gst::Element, name: &str, stem: &StemSettings) -> Result<(), String> {
    for (key, value) in &stem.properties {
        let pspec = element
            .find_property(key)
            .ok_or_else(|| format!("stem `{name}`: no setting `{key}`"))?;
        let value = glib::Value::deserialize(value, pspec.value_type())
            .map_err(|_| format!("stem `{name}`: `{value}` is not a valid {key}"))?;
        if let (Some(range), Ok(number)) = (pspec.downcast_ref::<glib::ParamSpecDouble>(), value.get::<f64>())
            && !(range.minimum()..=range.maximum()).contains(&number)
        {
            return Err(format!(
                "stem `{name}`: {key}={number} is out of range ({} to {})",
                range.minimum(),
                range.maximum()
            ));
        }
        element.set_property_from_value(key, &value);
    }
    Ok(())
}

impl GstObjectImpl for StemMix {}

impl ElementImpl for StemMix {
    fn metadata() -> Option<&'static gst::subclass::ElementMetadata> {
        static METADATA: LazyLock<gst::subclass::ElementMetadata> = LazyLock::new(|| {
            gst::subclass::ElementMetadata::new(
                "Slate stem mixer",
                "Filter/Audio/Mixer",
                "Mixes named stems with gain, automation, pan, mute and ducking under detected speech",
                "Slate developers",
            )
        });
        Some(&*METADATA)
    }

    fn pad_templates() -> &'static [gst::PadTemplate] {
        static TEMPLATES: LazyLock<Vec<gst::PadTemplate>> = LazyLock::new(|| {
            let raw = gst::Caps::builder("audio/x-raw").build();
            let mixed = gst_audio::AudioCapsBuilder::new_interleaved()
                .format(gst_audio::AUDIO_FORMAT_F32)
                .build();
            vec![
                gst::PadTemplate::new("src", gst::PadDirection::Src, gst::PadPresence::Always, &mixed)
                    .expect("a valid template"),
                gst::PadTemplate::new("%s", gst::PadDirection::Sink, gst::PadPresence::Request, &raw)
                    .expect("a valid template"),
            ]
        });
        TEMPLATES.as_ref()
    }

    fn request_new_pad(
        &self,
        templ: &gst::PadTemplate,
        name: Option<&str>,
        _caps: Option<&gst::Caps>,
    ) -> Option<gst::Pad> {
        let Some(name) = name.filter(|n| valid_stem_name(n)) else {
            gst::element_imp_error!(
                self,
                gst::CoreError::Pad,
                (
                    "stemmix: link to a pad named after the stem (mix.dialogue); `{}` is not a stem name",
                    name.unwrap_or("")
                )
            );
            return None;
        };
        match self.add_stem(templ, name) {
            Ok(pad) => Some(pad),
            Err(why) => {
                gst::element_imp_error!(self, gst::CoreError::Pad, ("{why}"));
                None
            }
        }
    }

    fn release_pad(&self, pad: &gst::Pad) {
        let obj = self.obj();
        let name = pad.name();
        for suffix in [
            "-convert",
            "-resample",
            "-format",
            "-tee",
            "",
            "-vad-queue",
            "-vad-convert",
            "-vad-resample",
            "-vad-format",
            "-vad",
            "-vad-sink",
        ] {
            if let Some(element) = obj.by_name(&format!("{name}{suffix}")) {
                let _ = element.set_state(gst::State::Null);
                let _ = obj.remove(&element);
            }
        }
        let _ = obj.remove_pad(pad);
    }

    fn change_state(&self, transition: gst::StateChange) -> Result<gst::StateChangeSuccess, gst::StateChangeError> {
        if transition == gst::StateChange::NullToReady {
            let settings = self.settings.lock().unwrap();
            let refused = self.refused.lock().unwrap().clone();
            if let Some(why) = settings.stems.as_ref().err().or(refused.as_ref()) {
                gst::element_imp_error!(self, gst::LibraryError::Settings, ("Invalid `stems` property: {why}"));
                return Err(gst::StateChangeError);
            }
            let caps = self.mix_caps(&settings);
            if let Some((_, format)) = self.mixer.lock().unwrap().as_ref() {
                format.set_property("caps", &caps);
            }
            // Stems linked before `stems` said they are keys.
            let keys: Vec<String> = settings
                .stems
                .iter()
                .flatten()
                .filter(|(_, s)| s.vad)
                .map(|(n, _)| n.clone())
                .collect();
            drop(settings);
            let obj = self.obj();
            for name in keys {
                if let (Some(tee), None) = (obj.by_name(&format!("{name}-tee")), obj.by_name(&format!("{name}-vad")))
                    && let Err(why) = self.add_voice_detection(&name, &tee)
                {
                    gst::element_imp_error!(self, gst::CoreError::Negotiation, ("stem `{name}`: {why}"));
                    return Err(gst::StateChangeError);
                }
            }
        }
        self.parent_change_state(transition)
    }
}

impl BinImpl for StemMix {}

impl ChildProxyImpl for StemMix {
    fn child_by_index(&self, index: u32) -> Option<glib::Object> {
        self.obj().children().get(index as usize).map(|c| c.clone().upcast())
    }

    fn children_count(&self) -> u32 {
        self.obj().children().len() as u32
    }

    fn child_by_name(&self, name: &str) -> Option<glib::Object> {
        self.obj().by_name(name).map(|c| c.upcast())
    }
}

impl StemMix {
    fn mix_caps(&self, settings: &Settings) -> gst::Caps {
        gst_audio::AudioCapsBuilder::new_interleaved()
            .format(gst_audio::AUDIO_FORMAT_F32)
            .rate(settings.rate as i32)
            .channels(settings.channels as i32)
            .build()
    }

    /// Builds a stem's chain: convert, resample, format, [tee to voice
    /// detection], `stem`, into the mixer; returns its ghost pad.
    fn add_stem(&self, templ: &gst::PadTemplate, name: &str) -> Result<gst::Pad, String> {
        let obj = self.obj();
        if obj.static_pad(name).is_some() {
            return Err(format!("stemmix: stem `{name}` is linked twice"));
        }
        let (stem_settings, caps) = {
            let settings = self.settings.lock().unwrap();
            // Bad settings are refused when the mix starts, naming them.
            let stem = settings.stems.as_ref().ok().and_then(|s| s.get(name).cloned());
            (stem.unwrap_or_default(), self.mix_caps(&settings))
        };
        let mixer = self
            .mixer
            .lock()
            .unwrap()
            .as_ref()
            .expect("made in constructed")
            .0
            .clone();
        let convert = make("audioconvert", &format!("{name}-convert"));
        let resample = make("audioresample", &format!("{name}-resample"));
        let format = make("capsfilter", &format!("{name}-format"));
        format.set_property("caps", &caps);
        let stem = gst::ElementFactory::make("stem")
            .name(name)
            .build()
            .map_err(|e| e.to_string())?;
        stem.downcast_ref::<crate::stem::Stem>()
            .expect("a stem")
            .set_keys(self.keys.clone());
        if let Err(why) = apply(&stem, name, &stem_settings) {
            *self.refused.lock().unwrap() = Some(why);
        }
        // The tee feeds voice detection when the stem is a ducking key.
        let chain = [
            convert.clone(),
            resample,
            format,
            make("tee", &format!("{name}-tee")),
            stem.clone(),
        ];
        obj.add_many(&chain).map_err(|e| e.to_string())?;
        gst::Element::link_many(&chain).map_err(|e| format!("stem `{name}`: {e}"))?;
        stem.link(&mixer).map_err(|e| format!("stem `{name}`: {e}"))?;
        if stem_settings.vad {
            self.add_voice_detection(name, &chain[3])?;
        }
        for element in &chain {
            let _ = element.sync_state_with_parent();
        }
        let target = convert.static_pad("sink").expect("audioconvert has sink");
        let ghost = gst::GhostPad::builder_from_template_with_target(templ, &target)
            .map_err(|e| e.to_string())?
            .name(name)
            .build();
        ghost.set_active(true).map_err(|e| e.to_string())?;
        obj.add_pad(&ghost).map_err(|e| e.to_string())?;
        gst::debug!(CAT, imp = self, "stem `{name}` added ({stem_settings:?})");
        Ok(ghost.upcast())
    }

    /// tee -> 16 kHz mono -> onnxinfer (Silero VAD), whose output a probe
    /// reads (speech on and off, for the stems that duck under `name`) and
    /// drops. No sink: a sink would hold the branch in preroll while the
    /// mix waits for it.
    fn add_voice_detection(&self, name: &str, tee: &gst::Element) -> Result<(), String> {
        let obj = self.obj();
        self.keys.declare(name);
        let queue = make("queue", &format!("{name}-vad-queue"));
        let convert = make("audioconvert", &format!("{name}-vad-convert"));
        let resample = make("audioresample", &format!("{name}-vad-resample"));
        let format = make("capsfilter", &format!("{name}-vad-format"));
        format.set_property(
            "caps",
            gst_audio::AudioCapsBuilder::new_interleaved()
                .format(gst_audio::AUDIO_FORMAT_F32)
                .rate(16_000)
                .channels(1)
                .build(),
        );
        let vad = gst::ElementFactory::make("onnxinfer")
            .name(format!("{name}-vad"))
            .property("model", "silero-vad")
            .build()
            .map_err(|e| e.to_string())?;
        let chain = [queue, convert, resample, format, vad.clone()];
        obj.add_many(&chain).map_err(|e| e.to_string())?;
        tee.link(&chain[0]).map_err(|e| format!("stem `{name}`: {e}"))?;
        gst::Element::link_many(&chain).map_err(|e| format!("stem `{name}`: {e}"))?;
        for element in &chain {
            let _ = element.sync_state_with_parent();
        }
        let keys = self.keys.clone();
        let key = name.to_owned();
        let pad = vad.static_pad("src").expect("onnxinfer has src");
        pad.add_probe(
            gst::PadProbeType::BUFFER | gst::PadProbeType::EVENT_DOWNSTREAM,
            move |pad, info| {
                if let Some(gst::PadProbeData::Event(event)) = &info.data {
                    if matches!(event.type_(), gst::EventType::Eos | gst::EventType::FlushStart) {
                        keys.end(&key);
                    }
                    // Events go on (to no peer: harmless); buffers stop here.
                    return gst::PadProbeReturn::Ok;
                }
                let Some(buffer) = info.buffer() else {
                    return gst::PadProbeReturn::Drop;
                };
                let speaking = SlateMeta::record_of(buffer).get("vad.speech") == Some(&true.into());
                let segment = pad
                    .sticky_event::<gst::event::Segment>(0)
                    .and_then(|e| e.segment().downcast_ref::<gst::ClockTime>().cloned());
                let running = |t: Option<gst::ClockTime>| segment.as_ref().and_then(|s| s.to_running_time(t?));
                // 16 kHz mono F32, whatever the buffer says about its duration.
                let heard = gst::ClockTime::from_nseconds(buffer.size() as u64 * 1_000_000_000 / (4 * 16_000));
                let end = buffer.pts().map(|p| p + heard);
                if let (Some(from), Some(to)) = (running(buffer.pts()), running(end)) {
                    keys.report(&key, from.nseconds(), to.nseconds(), speaking);
                }
                gst::PadProbeReturn::Drop
            },
        );
        Ok(())
    }
}
