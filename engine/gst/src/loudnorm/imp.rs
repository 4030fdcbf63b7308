use std::sync::{LazyLock, Mutex};

use gst::glib;
use gst::prelude::*;
use gst::subclass::prelude::*;
use slate_audio::{LiveNormaliser, Profile};

static CAT: LazyLock<gst::DebugCategory> =
    LazyLock::new(|| gst::DebugCategory::new("loudnorm", gst::DebugColorFlags::empty(), Some("Slate live loudness")));

const DEFAULT_PROFILE: &str = "ebu-r128";
const DEFAULT_TARGET: f64 = -23.0;
const DEFAULT_TRUE_PEAK: f64 = -1.0;

struct Settings {
    profile: String,
    target: f64,
    true_peak: f64,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            profile: DEFAULT_PROFILE.into(),
            target: DEFAULT_TARGET,
            true_peak: DEFAULT_TRUE_PEAK,
        }
    }
}

impl Settings {
    fn profile(&self) -> Result<Profile, String> {
        match self.profile.as_str() {
            "custom" => Profile::custom(self.target, self.true_peak),
            name => Profile::named(name),
        }
        .map_err(|e| e.to_string())
    }
}

struct Stream {
    normaliser: LiveNormaliser,
    info: gst_audio::AudioInfo,
    /// PTS of the first input sample, and frames sent on since.
    start: Option<gst::ClockTime>,
    sent: u64,
    out: Vec<f32>,
}

pub struct LoudNorm {
    sink: gst::Pad,
    src: gst::Pad,
    settings: Mutex<Settings>,
    stream: Mutex<Option<Stream>>,
}

#[glib::object_subclass]
impl ObjectSubclass for LoudNorm {
    const NAME: &'static str = "GstSlateLoudNorm";
    type Type = super::LoudNorm;
    type ParentType = gst::Element;

    fn with_class(klass: &Self::Class) -> Self {
        let sink = gst::Pad::builder_from_template(&klass.pad_template("sink").expect("declared"))
            .chain_function(|pad, parent, buffer| {
                LoudNorm::catch_panic_pad_function(
                    parent,
                    || Err(gst::FlowError::Error),
                    |this| this.chain(pad, buffer),
                )
            })
            .event_function(|pad, parent, event| {
                LoudNorm::catch_panic_pad_function(parent, || false, |this| this.sink_event(pad, event))
            })
            .flags(gst::PadFlags::PROXY_CAPS)
            .build();
        let src = gst::Pad::builder_from_template(&klass.pad_template("src").expect("declared"))
            .query_function(|pad, parent, query| {
                LoudNorm::catch_panic_pad_function(parent, || false, |this| this.src_query(pad, query))
            })
            .flags(gst::PadFlags::PROXY_CAPS)
            .build();
        LoudNorm {
            sink,
            src,
            settings: Mutex::default(),
            stream: Mutex::default(),
        }
    }
}

impl ObjectImpl for LoudNorm {
    fn constructed(&self) {
        self.parent_constructed();
        let obj = self.obj();
        obj.add_pad(&self.sink).expect("a fresh pad");
        obj.add_pad(&self.src).expect("a fresh pad");
    }

    fn properties() -> &'static [glib::ParamSpec] {
        static PROPERTIES: LazyLock<Vec<glib::ParamSpec>> = LazyLock::new(|| {
            vec![
                crate::text_property(
                    "profile",
                    "Profile",
                    "ebu-r128 (-23 LUFS, -1 dBTP), streaming (-14, -1), atsc-a85 (-24, -2) or custom (target, true-peak)",
                ),
                glib::ParamSpecDouble::builder("target")
                    .nick("Target")
                    .blurb("Integrated loudness of the custom profile, LUFS")
                    .minimum(-70.0)
                    .maximum(0.0)
                    .default_value(DEFAULT_TARGET)
                    .mutable_ready()
                    .build(),
                glib::ParamSpecDouble::builder("true-peak")
                    .nick("True peak")
                    .blurb("Highest true peak of the custom profile, dBTP")
                    .minimum(-20.0)
                    .maximum(0.0)
                    .default_value(DEFAULT_TRUE_PEAK)
                    .mutable_ready()
                    .build(),
            ]
        });
        PROPERTIES.as_ref()
    }

    fn set_property(&self, _id: usize, value: &glib::Value, pspec: &glib::ParamSpec) {
        let mut s = self.settings.lock().unwrap();
        match pspec.name() {
            "profile" => s.profile = value.get::<Option<String>>().expect("checked").unwrap_or_default(),
            "target" => s.target = value.get().expect("checked"),
            "true-peak" => s.true_peak = value.get().expect("checked"),
            other => unreachable!("unknown property {other}"),
        }
    }

    fn property(&self, _id: usize, pspec: &glib::ParamSpec) -> glib::Value {
        let s = self.settings.lock().unwrap();
        match pspec.name() {
            "profile" => s.profile.to_value(),
            "target" => s.target.to_value(),
            "true-peak" => s.true_peak.to_value(),
            other => unreachable!("unknown property {other}"),
        }
    }
}

impl GstObjectImpl for LoudNorm {}

impl ElementImpl for LoudNorm {
    fn metadata() -> Option<&'static gst::subclass::ElementMetadata> {
        static METADATA: LazyLock<gst::subclass::ElementMetadata> = LazyLock::new(|| {
            gst::subclass::ElementMetadata::new(
                "Slate live loudness",
                "Filter/Effect/Audio",
                "Normalises a live stream to a loudness profile with a 3 s look-ahead and a true-peak limiter",
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
        if transition == gst::StateChange::NullToReady
            && let Err(why) = self.settings.lock().unwrap().profile()
        {
            gst::element_imp_error!(self, gst::LibraryError::Settings, ("loudnorm: {why}"));
            return Err(gst::StateChangeError);
        }
        if transition == gst::StateChange::PausedToReady {
            *self.stream.lock().unwrap() = None;
        }
        self.parent_change_state(transition)
    }
}

impl LoudNorm {
    fn sink_event(&self, pad: &gst::Pad, event: gst::Event) -> bool {
        match event.view() {
            gst::EventView::Caps(caps) => {
                let Ok(info) = gst_audio::AudioInfo::from_caps(caps.caps()) else {
                    return false;
                };
                let profile = match self.settings.lock().unwrap().profile() {
                    Ok(profile) => profile,
                    Err(_) => return false,
                };
                match LiveNormaliser::new(info.rate(), info.channels(), &profile) {
                    Ok(normaliser) => {
                        gst::debug!(
                            CAT,
                            imp = self,
                            "{} at {} Hz, latency {} ms",
                            profile.name,
                            info.rate(),
                            normaliser.latency_ms()
                        );
                        *self.stream.lock().unwrap() = Some(Stream {
                            normaliser,
                            info,
                            start: None,
                            sent: 0,
                            out: Vec::new(),
                        });
                    }
                    Err(e) => {
                        gst::element_imp_error!(self, gst::StreamError::Format, ("loudnorm: {e}"));
                        return false;
                    }
                }
                gst::Pad::event_default(pad, Some(&*self.obj()), event)
            }
            gst::EventView::Eos(_) => {
                // The look-ahead still holds the end of the stream.
                let _ = self.send(true, None);
                gst::Pad::event_default(pad, Some(&*self.obj()), event)
            }
            gst::EventView::FlushStop(_) => {
                if let Some(stream) = self.stream.lock().unwrap().as_mut() {
                    let profile = self.settings.lock().unwrap().profile().expect("checked at start");
                    if let Ok(fresh) = LiveNormaliser::new(stream.info.rate(), stream.info.channels(), &profile) {
                        stream.normaliser = fresh;
                    }
                    stream.start = None;
                    stream.sent = 0;
                }
                gst::Pad::event_default(pad, Some(&*self.obj()), event)
            }
            _ => gst::Pad::event_default(pad, Some(&*self.obj()), event),
        }
    }

    fn chain(&self, _pad: &gst::Pad, buffer: gst::Buffer) -> Result<gst::FlowSuccess, gst::FlowError> {
        let samples: Vec<f32> = {
            let map = buffer.map_readable().map_err(|_| gst::FlowError::Error)?;
            map.chunks_exact(4)
                .map(|b| f32::from_ne_bytes([b[0], b[1], b[2], b[3]]))
                .collect()
        };
        self.send(false, Some((buffer.pts(), &samples)))
    }

    /// Feeds samples (or, at the end, drains) and pushes what is ready.
    fn send(
        &self,
        end: bool,
        input: Option<(Option<gst::ClockTime>, &[f32])>,
    ) -> Result<gst::FlowSuccess, gst::FlowError> {
        let buffer = {
            let mut guard = self.stream.lock().unwrap();
            let stream = guard.as_mut().ok_or(gst::FlowError::NotNegotiated)?;
            if let Some((pts, samples)) = input {
                if stream.start.is_none() {
                    stream.start = Some(pts.unwrap_or(gst::ClockTime::ZERO));
                }
                stream.normaliser.push(samples, &mut stream.out).map_err(|e| {
                    gst::element_imp_error!(self, gst::StreamError::Failed, ("loudnorm: {e}"));
                    gst::FlowError::Error
                })?;
            }
            if end {
                stream.normaliser.flush(&mut stream.out);
            }
            if stream.out.is_empty() {
                return Ok(gst::FlowSuccess::Ok);
            }
            let (rate, channels) = (u64::from(stream.info.rate()), stream.info.channels() as usize);
            let frames = (stream.out.len() / channels) as u64;
            let at = |frames: u64| gst::ClockTime::SECOND.mul_div_floor(frames, rate).expect("fits");
            let start = stream.start.unwrap_or(gst::ClockTime::ZERO);
            let bytes: Vec<u8> = stream.out.drain(..).flat_map(f32::to_ne_bytes).collect();
            let mut buffer = gst::Buffer::from_mut_slice(bytes);
            let b = buffer.get_mut().expect("a new buffer");
            b.set_pts(start + at(stream.sent));
            b.set_duration(at(stream.sent + frames) - at(stream.sent));
            b.set_offset(stream.sent);
            stream.sent += frames;
            buffer
        };
        self.src.push(buffer)
    }

    fn src_query(&self, pad: &gst::Pad, query: &mut gst::QueryRef) -> bool {
        if let gst::QueryViewMut::Latency(q) = query.view_mut() {
            let mut upstream = gst::query::Latency::new();
            if !self.sink.peer_query(&mut upstream) {
                return false;
            }
            let (live, min, max) = upstream.result();
            let ours = self
                .stream
                .lock()
                .unwrap()
                .as_ref()
                .map_or(slate_audio::LIVE_LOOKAHEAD_S * 1000.0, |s| s.normaliser.latency_ms());
            let ours = gst::ClockTime::from_nseconds((ours * 1e6) as u64);
            q.set(live, min + ours, max.map(|m| m + ours));
            return true;
        }
        gst::Pad::query_default(pad, Some(&*self.obj()), query)
    }
}
