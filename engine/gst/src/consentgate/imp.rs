use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::{LazyLock, Mutex};

use gst::glib;
use gst::prelude::*;
use gst::subclass::prelude::*;
use gst_base::subclass::prelude::*;
use gst_video::prelude::*;
use slate_consent::{Context, Identity, Registry, Request};
use slate_meta::{BoundingBox, Value};
use slate_onnx::faces::FaceFinder;
use slate_onnx::preprocess::{Frame, PixelFormat};

use super::pixels::Pixels;
use super::tracks::{self, Track};
use super::{DEFAULT_THRESHOLD, Policy};
use crate::SlateMeta;
use crate::onnxinfer::ExecutionProvider;

static CAT: LazyLock<gst::DebugCategory> =
    LazyLock::new(|| gst::DebugCategory::new("consentgate", gst::DebugColorFlags::empty(), Some("Slate consent gate")));

const DEFAULT_USE: &str = "cameo";
const DEFAULT_POLICY: Policy = Policy::Blur;
const DEFAULT_UNKNOWN_POLICY: Policy = Policy::Blur;
const DEFAULT_INTERVAL: u32 = 5;
const DEFAULT_DETECTION_THRESHOLD: f64 = 0.5;
const DEFAULT_DETECTOR: &str = slate_onnx::faces::DETECTOR;
const DEFAULT_RECOGNISER: &str = slate_onnx::faces::RECOGNISER;

#[derive(Debug, Clone)]
struct Settings {
    registry: Option<PathBuf>,
    grantee: Option<String>,
    channel: Option<String>,
    use_: String,
    context: Vec<String>,
    policy: Policy,
    unknown_policy: Policy,
    interval: u32,
    threshold: f64,
    detection_threshold: f64,
    detector: String,
    recogniser: String,
    provider: ExecutionProvider,
    session_id: Option<String>,
    media: Option<String>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            registry: None,
            grantee: None,
            channel: None,
            use_: DEFAULT_USE.into(),
            context: Vec::new(),
            policy: DEFAULT_POLICY,
            unknown_policy: DEFAULT_UNKNOWN_POLICY,
            interval: DEFAULT_INTERVAL,
            threshold: DEFAULT_THRESHOLD,
            detection_threshold: DEFAULT_DETECTION_THRESHOLD,
            detector: DEFAULT_DETECTOR.into(),
            recogniser: DEFAULT_RECOGNISER.into(),
            provider: ExecutionProvider::Auto,
            session_id: None,
            media: None,
        }
    }
}

/// What the last check found out about a face.
#[derive(Debug, Clone)]
struct Seen {
    identity: Option<String>,
    name: Option<String>,
    similarity: f32,
    score: f32,
    grant: Option<String>,
    reason: String,
    action: Policy,
}

/// Exists between `start` and `stop`.
struct State {
    registry: Registry,
    finder: FaceFinder,
    /// The registered faces, reloaded when `faces_version` changes.
    identities: Vec<Identity>,
    faces_version: (i64, i64),
    video: Option<(gst_video::VideoInfo, PixelFormat)>,
    frame: u64,
    tracks: Vec<Track<Seen>>,
}

#[derive(Default)]
pub struct ConsentGate {
    settings: Mutex<Settings>,
    state: Mutex<Option<State>>,
    /// Grant ids of everyone shown since the element started (kept after
    /// it stops, for the signing sinks).
    grants: Mutex<BTreeSet<String>>,
}

#[glib::object_subclass]
impl ObjectSubclass for ConsentGate {
    const NAME: &'static str = "GstConsentGate";
    type Type = super::ConsentGate;
    type ParentType = gst_base::BaseTransform;
}

impl ObjectImpl for ConsentGate {
    fn properties() -> &'static [glib::ParamSpec] {
        static PROPERTIES: LazyLock<Vec<glib::ParamSpec>> = LazyLock::new(|| {
            let text = crate::text_property;
            vec![
                text("registry", "Registry", "The consent registry file (slate consent --db)"),
                text("grantee", "Grantee", "Who publishes: the creator, account or project grants must name"),
                text("channel", "Channel", "Where it is published: the channel, platform or region grants must cover"),
                glib::ParamSpecString::builder("use")
                    .nick("Use")
                    .blurb("How the likeness is used: cameo, remix, training...")
                    .default_value(Some(DEFAULT_USE))
                    .mutable_ready()
                    .build(),
                text("context", "Context", "Tags of the context, comma-separated; a grant forbidding one refuses"),
                glib::ParamSpecEnum::builder::<Policy>("policy")
                    .nick("Policy")
                    .blurb("What to do with a registered person without a grant here (pass is taken as flag)")
                    .default_value(DEFAULT_POLICY)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecEnum::builder::<Policy>("unknown-policy")
                    .nick("Unknown policy")
                    .blurb("What to do with a face that matches nobody in the registry")
                    .default_value(DEFAULT_UNKNOWN_POLICY)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecUInt::builder("interval")
                    .nick("Interval")
                    .blurb("Check every Nth frame; faces are tracked in between, so none goes unchecked for more than N-1 frames")
                    .minimum(1)
                    .maximum(300)
                    .default_value(DEFAULT_INTERVAL)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecDouble::builder("threshold")
                    .nick("Match threshold")
                    .blurb("Cosine similarity from which a face is taken for a registered person")
                    .minimum(-1.0)
                    .maximum(1.0)
                    .default_value(DEFAULT_THRESHOLD)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecDouble::builder("detection-threshold")
                    .nick("Detection threshold")
                    .blurb("The detector score from which something is a face")
                    .minimum(0.0)
                    .maximum(1.0)
                    .default_value(DEFAULT_DETECTION_THRESHOLD)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecString::builder("detector")
                    .nick("Detector")
                    .blurb("Face detector: a model of models/models.toml or an .onnx file")
                    .default_value(Some(DEFAULT_DETECTOR))
                    .mutable_ready()
                    .build(),
                glib::ParamSpecString::builder("recogniser")
                    .nick("Recogniser")
                    .blurb("Face recogniser (embeddings): a model of models/models.toml or an .onnx file")
                    .default_value(Some(DEFAULT_RECOGNISER))
                    .mutable_ready()
                    .build(),
                glib::ParamSpecEnum::builder::<ExecutionProvider>("execution-provider")
                    .nick("Execution provider")
                    .blurb("Where the models run")
                    .mutable_ready()
                    .build(),
                text("session-id", "Session id", "Share the models' sessions with every element of this id"),
                text("media", "Media", "What the audit log calls this media (default: the pipeline's name)"),
                glib::ParamSpecBoxed::builder::<glib::StrV>("grants")
                    .nick("Grants")
                    .blurb("The grant ids of everyone shown so far")
                    .read_only()
                    .build(),
            ]
        });
        PROPERTIES.as_ref()
    }

    fn set_property(&self, _id: usize, value: &glib::Value, pspec: &glib::ParamSpec) {
        let mut s = self.settings.lock().unwrap();
        let text = || value.get::<Option<String>>().expect("type checked upstream");
        match pspec.name() {
            "registry" => s.registry = text().map(PathBuf::from),
            "grantee" => s.grantee = text(),
            "channel" => s.channel = text(),
            "use" => s.use_ = text().unwrap_or_else(|| DEFAULT_USE.into()),
            "context" => {
                s.context = text()
                    .unwrap_or_default()
                    .split(',')
                    .map(|t| t.trim().to_owned())
                    .filter(|t| !t.is_empty())
                    .collect()
            }
            "policy" => s.policy = value.get().expect("type checked upstream"),
            "unknown-policy" => s.unknown_policy = value.get().expect("type checked upstream"),
            "interval" => s.interval = value.get().expect("type checked upstream"),
            "threshold" => s.threshold = value.get().expect("type checked upstream"),
            "detection-threshold" => s.detection_threshold = value.get().expect("type checked upstream"),
            "detector" => s.detector = text().unwrap_or_else(|| DEFAULT_DETECTOR.into()),
            "recogniser" => s.recogniser = text().unwrap_or_else(|| DEFAULT_RECOGNISER.into()),
            "execution-provider" => s.provider = value.get().expect("type checked upstream"),
            "session-id" => s.session_id = text(),
            "media" => s.media = text(),
            other => unreachable!("unknown property {other}"),
        }
    }

    fn property(&self, _id: usize, pspec: &glib::ParamSpec) -> glib::Value {
        let s = self.settings.lock().unwrap();
        match pspec.name() {
            "registry" => s.registry.as_ref().map(|p| p.display().to_string()).to_value(),
            "grantee" => s.grantee.to_value(),
            "channel" => s.channel.to_value(),
            "use" => s.use_.to_value(),
            "context" => s.context.join(",").to_value(),
            "policy" => s.policy.to_value(),
            "unknown-policy" => s.unknown_policy.to_value(),
            "interval" => s.interval.to_value(),
            "threshold" => s.threshold.to_value(),
            "detection-threshold" => s.detection_threshold.to_value(),
            "detector" => s.detector.to_value(),
            "recogniser" => s.recogniser.to_value(),
            "execution-provider" => s.provider.to_value(),
            "session-id" => s.session_id.to_value(),
            "media" => s.media.to_value(),
            "grants" => glib::StrV::from_iter(self.grants.lock().unwrap().iter().map(glib::GString::from)).to_value(),
            other => unreachable!("unknown property {other}"),
        }
    }
}

impl GstObjectImpl for ConsentGate {}

impl ElementImpl for ConsentGate {
    fn metadata() -> Option<&'static gst::subclass::ElementMetadata> {
        static METADATA: LazyLock<gst::subclass::ElementMetadata> = LazyLock::new(|| {
            gst::subclass::ElementMetadata::new(
                "Slate consent gate",
                "Filter/Effect/Video",
                "Shows only the people whose grant in the consent registry allows it here; blurs, blocks or flags the rest",
                "Slate developers",
            )
        });
        Some(&*METADATA)
    }

    fn pad_templates() -> &'static [gst::PadTemplate] {
        static TEMPLATES: LazyLock<Vec<gst::PadTemplate>> = LazyLock::new(|| {
            let caps = gst_video::VideoCapsBuilder::new()
                .format_list([
                    gst_video::VideoFormat::Rgba,
                    gst_video::VideoFormat::Rgbx,
                    gst_video::VideoFormat::Bgra,
                    gst_video::VideoFormat::Bgrx,
                ])
                .build();
            crate::filter_templates(&caps)
        });
        TEMPLATES.as_ref()
    }
}

impl BaseTransformImpl for ConsentGate {
    const MODE: gst_base::subclass::BaseTransformMode = gst_base::subclass::BaseTransformMode::AlwaysInPlace;
    const PASSTHROUGH_ON_SAME_CAPS: bool = false;
    const TRANSFORM_IP_ON_PASSTHROUGH: bool = false;

    fn start(&self) -> Result<(), gst::ErrorMessage> {
        let s = self.settings.lock().unwrap().clone();
        let settings_error = |what: String| gst::error_msg!(gst::LibraryError::Settings, ("{what}"));
        let path = s.registry.ok_or_else(|| {
            settings_error(
                "consentgate needs the consent registry (property `registry`): the file `slate consent --db` uses"
                    .into(),
            )
        })?;
        if !path.is_file() {
            return Err(settings_error(format!(
                "{} (property `registry`): no such registry; make one with `slate consent --db {0} register`",
                path.display()
            )));
        }
        for (name, value) in [("grantee", &s.grantee), ("channel", &s.channel)] {
            if value.as_deref().is_none_or(|v| v.trim().is_empty()) {
                return Err(settings_error(format!(
                    "consentgate needs `{name}`: grants are checked for who publishes (grantee) and where (channel)"
                )));
            }
        }
        let registry = Registry::open(&path)
            .map_err(|e| gst::error_msg!(gst::ResourceError::OpenRead, ("{e} (property `registry`)")))?;
        let options = slate_onnx::Options {
            provider: s.provider.into(),
            session_id: s.session_id.clone(),
            ..slate_onnx::Options::new(&s.detector)
        };
        let finder = FaceFinder::open(&s.detector, &s.recogniser, &options).map_err(|e| {
            gst::error_msg!(
                gst::LibraryError::Init,
                ("Cannot start the face models (properties `detector`, `recogniser`): {e}")
            )
        })?;
        for model in finder.models() {
            gst::info!(CAT, imp = self, "{} runs on {}", model.spec.name, model.provider);
        }
        self.grants.lock().unwrap().clear();
        *self.state.lock().unwrap() = Some(State {
            registry,
            finder,
            identities: Vec::new(),
            faces_version: (-1, -1),
            video: None,
            frame: 0,
            tracks: Vec::new(),
        });
        Ok(())
    }

    fn stop(&self) -> Result<(), gst::ErrorMessage> {
        *self.state.lock().unwrap() = None;
        Ok(())
    }

    fn set_caps(&self, incaps: &gst::Caps, _outcaps: &gst::Caps) -> Result<(), gst::LoggableError> {
        let info = gst_video::VideoInfo::from_caps(incaps)
            .map_err(|_| gst::loggable_error!(CAT, "cannot read video caps {incaps}"))?;
        let format = match info.format() {
            gst_video::VideoFormat::Rgba => PixelFormat::Rgba,
            gst_video::VideoFormat::Rgbx => PixelFormat::Rgbx,
            gst_video::VideoFormat::Bgra => PixelFormat::Bgra,
            gst_video::VideoFormat::Bgrx => PixelFormat::Bgrx,
            other => {
                return Err(gst::loggable_error!(
                    CAT,
                    "consentgate takes RGBA, RGBx, BGRA or BGRx, not {other:?}"
                ));
            }
        };
        let mut state = self.state.lock().unwrap();
        let state = state
            .as_mut()
            .ok_or_else(|| gst::loggable_error!(CAT, "caps before start"))?;
        state.video = Some((info, format));
        Ok(())
    }

    fn sink_event(&self, event: gst::Event) -> bool {
        if let gst::EventView::FlushStop(_) = event.view()
            && let Some(state) = self.state.lock().unwrap().as_mut()
        {
            state.tracks.clear();
            state.frame = 0;
        }
        self.parent_sink_event(event)
    }

    fn transform_ip(&self, buffer: &mut gst::BufferRef) -> Result<gst::FlowSuccess, gst::FlowError> {
        let settings = self.settings.lock().unwrap().clone();
        let mut state = self.state.lock().unwrap();
        let state = state.as_mut().ok_or(gst::FlowError::Flushing)?;
        let (info, format) = state.video.clone().ok_or(gst::FlowError::NotNegotiated)?;
        let number = state.frame;
        state.frame += 1;
        let checked = number.is_multiple_of(settings.interval as u64);
        let action = {
            let mut frame = gst_video::VideoFrameRef::from_buffer_ref_writable(buffer, &info).map_err(|_| {
                gst::element_imp_error!(self, gst::StreamError::Format, ("Cannot map a video frame"));
                gst::FlowError::Error
            })?;
            let stride = frame.plane_stride()[0] as usize;
            let data = frame.plane_data_mut(0).map_err(|_| gst::FlowError::Error)?;
            if checked {
                let view = Frame {
                    data: &*data,
                    format,
                    width: info.width(),
                    height: info.height(),
                    stride,
                };
                self.check(state, &view, number, &settings).map_err(|why| {
                    gst::element_imp_error!(self, gst::LibraryError::Failed, ("Consent check failed: {why}"));
                    gst::FlowError::Error
                })?;
            } else {
                tracks::advance(&mut state.tracks);
            }
            let mut pixels = Pixels {
                data,
                width: info.width() as usize,
                height: info.height() as usize,
                stride,
                alpha: match format {
                    PixelFormat::Rgba | PixelFormat::Bgra => Some(3),
                    _ => None,
                },
            };
            let action = state
                .tracks
                .iter()
                .map(|t| t.about.action)
                .max()
                .unwrap_or(Policy::Pass);
            if action == Policy::Block {
                pixels.black();
            } else {
                for track in state.tracks.iter().filter(|t| t.about.action == Policy::Blur) {
                    pixels.pixelate(track.cover());
                }
            }
            action
        };
        let mut record = SlateMeta::record_of(buffer);
        record.set("consent.action", action.nick());
        record.set("consent.checked", checked);
        let shown = describe(&mut record, &state.tracks, action);
        self.grants.lock().unwrap().extend(shown.iter().cloned());
        record.set("consent.grants", Value::TextList(shown));
        SlateMeta::set(buffer, record);
        Ok(gst::FlowSuccess::Ok)
    }
}

impl ConsentGate {
    /// Finds the faces of frame `number`, who they are, and what each may.
    fn check(&self, state: &mut State, frame: &Frame<'_>, number: u64, s: &Settings) -> Result<(), String> {
        state.finder.threshold = s.detection_threshold as f32;
        let started = std::time::Instant::now();
        let found = state.finder.detect(frame).map_err(|e| e.to_string())?;
        let detected = started.elapsed();
        let embeddings = state.finder.embed(frame, &found).map_err(|e| e.to_string())?;
        let recognised = started.elapsed();
        let faces: Vec<_> = found.into_iter().zip(embeddings).collect();
        let version = state.registry.faces_version().map_err(|e| e.to_string())?;
        if version != state.faces_version {
            state.identities = state.registry.identities().map_err(|e| e.to_string())?;
            state.faces_version = version;
            gst::info!(CAT, imp = self, "{} registered people", state.identities.len());
        }
        let name = self.obj().name();
        let media = match &s.media {
            Some(media) => media.clone(),
            None => self.pipeline_name(),
        };
        let frames = format!("{number}-{}", number + s.interval as u64 - 1);
        let context = Context {
            checker: &format!("consentgate:{name}"),
            media: &media,
            frames: &frames,
        };
        let at = slate_consent::now();
        let mut tracks = Vec::with_capacity(faces.len());
        for (d, embedding) in &faces {
            let best = slate_consent::best_match(&state.identities, embedding);
            let seen = match best {
                Some((person, similarity)) if similarity as f64 >= s.threshold => {
                    let request = Request {
                        identity: person.id.clone(),
                        grantee: s.grantee.clone().unwrap_or_default(),
                        channel: s.channel.clone().unwrap_or_default(),
                        use_: s.use_.clone(),
                        context: s.context.clone(),
                        at,
                    };
                    let verdict = state.registry.check(&request, &context).map_err(|e| e.to_string())?;
                    Seen {
                        identity: Some(person.id.clone()),
                        name: Some(person.name.clone()),
                        similarity,
                        score: d.score,
                        action: if verdict.allowed {
                            Policy::Pass
                        } else {
                            s.policy.max(Policy::Flag)
                        },
                        grant: verdict.grant,
                        reason: verdict.reason,
                    }
                }
                best => {
                    let reason = "not in the registry";
                    state
                        .registry
                        .log_unknown(&context, reason)
                        .map_err(|e| e.to_string())?;
                    Seen {
                        identity: None,
                        name: None,
                        similarity: best.map_or(0.0, |(_, similarity)| similarity),
                        score: d.score,
                        grant: None,
                        reason: reason.into(),
                        action: s.unknown_policy,
                    }
                }
            };
            if seen.action == Policy::Flag {
                let who = seen.name.as_deref().unwrap_or("an unregistered person");
                gst::element_imp_warning!(
                    self,
                    gst::StreamError::Failed,
                    ("Shown without consent: {who} in frames {frames} ({})", seen.reason),
                    details: gst::Structure::builder("slate-consent")
                        .field("identity", seen.identity.clone())
                        .field("reason", seen.reason.clone())
                        .field("frames", frames.clone())
                        .build()
                );
            }
            tracks.push(Track::new([d.x, d.y, d.w, d.h], seen));
        }
        gst::debug!(
            CAT,
            imp = self,
            "frame {number}: {} faces found in {detected:?}, recognised in {:?}, checked in {:?}",
            tracks.len(),
            recognised - detected,
            started.elapsed() - recognised
        );
        if !tracks.is_empty() {
            self.announce(&tracks, &frames);
        }
        tracks::advance(&mut state.tracks);
        tracks::carry_velocity(&state.tracks, &mut tracks);
        state.tracks = tracks;
        Ok(())
    }

    /// Posts what a check decided, for automation: the frames it covers,
    /// the grants of the people allowed, and who was refused and why.
    fn announce(&self, tracks: &[Track<Seen>], frames: &str) {
        let seen = tracks.iter().map(|t| &t.about);
        let grants: Vec<&str> = seen.clone().filter_map(|s| s.grant.as_deref()).collect();
        let refused: Vec<String> = seen
            .clone()
            .filter(|s| s.action != Policy::Pass)
            .map(|s| format!("{}: {}", s.identity.as_deref().unwrap_or("unknown"), s.reason))
            .collect();
        let action = seen.map(|s| s.action).max().unwrap_or(Policy::Pass);
        let message = gst::Structure::builder(super::CONSENT_MESSAGE)
            .field("frames", frames)
            .field("faces", tracks.len() as u32)
            .field(
                "grants",
                glib::StrV::from_iter(grants.into_iter().map(glib::GString::from)),
            )
            .field(
                "refused",
                glib::StrV::from_iter(refused.into_iter().map(glib::GString::from)),
            )
            .field("action", action.nick())
            .build();
        crate::post_element_message(self.obj().upcast_ref(), message);
    }

    fn pipeline_name(&self) -> String {
        let mut top: gst::Object = self.obj().clone().upcast();
        while let Some(parent) = top.parent() {
            top = parent;
        }
        top.name().to_string()
    }
}

/// Puts the faces into `record`; returns the grant ids of the people the
/// frame shows (nobody, when it is blocked).
fn describe(record: &mut slate_meta::Record, tracks: &[Track<Seen>], action: Policy) -> Vec<String> {
    let mut shown = Vec::new();
    for track in tracks {
        let seen = &track.about;
        let [x, y, w, h] = track.predicted();
        let id = record.add_object("face");
        let object = record.object_mut(id).expect("just added");
        object.bbox = Some(BoundingBox { x, y, w, h });
        object.confidence = Some(seen.score);
        let fields = &mut object.fields;
        fields.insert("similarity".into(), Value::Float(seen.similarity as f64));
        fields.insert("consent".into(), Value::Text(seen.reason.clone()));
        fields.insert("action".into(), Value::Text(seen.action.nick().into()));
        if let Some(identity) = &seen.identity {
            fields.insert("identity".into(), Value::Text(identity.clone()));
        }
        if let Some(name) = &seen.name {
            fields.insert("name".into(), Value::Text(name.clone()));
        }
        if let Some(grant) = &seen.grant {
            fields.insert("grant".into(), Value::Text(grant.clone()));
            if action != Policy::Block && !shown.contains(grant) {
                shown.push(grant.clone());
            }
        }
    }
    shown
}
