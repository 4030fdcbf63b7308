use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, Mutex};

use gst::glib;
use gst::prelude::*;
use gst::subclass::prelude::*;
use slate_onnx::manifest::{InputSpec, PostKind};
use slate_onnx::postprocess::{SileroVad, SpeechSegments};
use slate_onnx::preprocess::PixelFormat;
use slate_onnx::{Model, Options};

use super::ExecutionProvider;
use super::results::Item;

static CAT: LazyLock<gst::DebugCategory> =
    LazyLock::new(|| gst::DebugCategory::new("onnxinfer", gst::DebugColorFlags::empty(), Some("Slate ONNX inference")));

mod audio;
mod video;

const VIDEO_FORMATS: [gst_video::VideoFormat; 7] = [
    gst_video::VideoFormat::Rgba,
    gst_video::VideoFormat::Bgra,
    gst_video::VideoFormat::Rgbx,
    gst_video::VideoFormat::Bgrx,
    gst_video::VideoFormat::Rgb,
    gst_video::VideoFormat::Bgr,
    gst_video::VideoFormat::Gray8,
];

const DEFAULT_BATCH_SIZE: u32 = 1;
const DEFAULT_BATCH_TIMEOUT_MS: u32 = 40;
const DEFAULT_INTERVAL: u32 = 1;
const DEFAULT_THREADS: u32 = 0;
const DEFAULT_THRESHOLD: f64 = 0.5;
const DEFAULT_OUTPUT_TENSORS: bool = false;

#[derive(Debug, Clone)]
struct Settings {
    model: Option<String>,
    provider: ExecutionProvider,
    session_id: Option<String>,
    batch_size: u32,
    interval: u32,
    roi: Option<String>,
    threads: u32,
    threshold: f64,
    output_tensors: bool,
    batch_timeout_ms: u32,
}

impl Settings {
    /// Frames of every element with this `session-id` share batches.
    fn pooled(&self) -> bool {
        self.session_id.is_some() && self.batch_size > 1
    }
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            model: None,
            provider: ExecutionProvider::Auto,
            session_id: None,
            batch_size: DEFAULT_BATCH_SIZE,
            interval: DEFAULT_INTERVAL,
            roi: None,
            threads: DEFAULT_THREADS,
            threshold: DEFAULT_THRESHOLD,
            output_tensors: DEFAULT_OUTPUT_TENSORS,
            batch_timeout_ms: DEFAULT_BATCH_TIMEOUT_MS,
        }
    }
}

enum Media {
    Unknown,
    Video {
        info: gst_video::VideoInfo,
        format: PixelFormat,
        input: String,
        spec: InputSpec,
    },
    Audio {
        vad: Box<SileroVad>,
        segments: SpeechSegments,
        /// Stream time of the first sample, in seconds.
        origin: Option<f64>,
    },
}

/// Exists from READY on.
struct State {
    model: Arc<Model>,
    media: Media,
    /// Buffers waiting for a full batch, and whether each is inferred
    /// (`interval`) or takes the results before it.
    pending: Vec<(gst::Buffer, bool)>,
    frames: u64,
    /// The last whole-frame results, for frames `interval` skips.
    last: Vec<Item>,
}

pub struct OnnxInfer {
    sinkpad: gst::Pad,
    srcpad: gst::Pad,
    settings: Mutex<Settings>,
    state: Mutex<Option<State>>,
    inferences: AtomicU64,
    /// The provider the model last ran on (kept after the element stops).
    provider: Mutex<Option<String>>,
}

#[glib::object_subclass]
impl ObjectSubclass for OnnxInfer {
    const NAME: &'static str = "GstOnnxInfer";
    type Type = super::OnnxInfer;
    type ParentType = gst::Element;

    fn with_class(klass: &Self::Class) -> Self {
        let sinkpad = gst::Pad::builder_from_template(&klass.pad_template("sink").unwrap())
            .chain_function(|pad, parent, buffer| {
                OnnxInfer::catch_panic_pad_function(
                    parent,
                    || Err(gst::FlowError::Error),
                    |this| this.chain(pad, buffer),
                )
            })
            .event_function(|pad, parent, event| {
                OnnxInfer::catch_panic_pad_function(parent, || false, |this| this.sink_event(pad, event))
            })
            .flags(gst::PadFlags::PROXY_CAPS | gst::PadFlags::PROXY_ALLOCATION)
            .build();
        let srcpad = gst::Pad::builder_from_template(&klass.pad_template("src").unwrap())
            .flags(gst::PadFlags::PROXY_CAPS | gst::PadFlags::PROXY_ALLOCATION)
            .build();
        OnnxInfer {
            sinkpad,
            srcpad,
            settings: Mutex::default(),
            state: Mutex::new(None),
            inferences: AtomicU64::new(0),
            provider: Mutex::new(None),
        }
    }
}

impl ObjectImpl for OnnxInfer {
    fn properties() -> &'static [glib::ParamSpec] {
        static PROPERTIES: LazyLock<Vec<glib::ParamSpec>> = LazyLock::new(|| {
            vec![
                glib::ParamSpecString::builder("model")
                    .nick("Model")
                    .blurb("A model named in models/models.toml (centerface, silero-vad, grade) or a path to an .onnx file")
                    .mutable_ready()
                    .build(),
                glib::ParamSpecEnum::builder::<ExecutionProvider>("execution-provider")
                    .nick("Execution provider")
                    .blurb("Where the model runs; auto tries TensorRT, then CUDA, then CPU")
                    .mutable_ready()
                    .build(),
                glib::ParamSpecString::builder("session-id")
                    .nick("Session id")
                    .blurb("Elements (and plugins) with the same id share one loaded model")
                    .mutable_ready()
                    .build(),
                glib::ParamSpecUInt::builder("batch-size")
                    .nick("Batch size")
                    .blurb("Frames (or objects) per inference; frames wait until a batch is full. With a session-id, frames of every element of that session share batches")
                    .minimum(1)
                    .maximum(64)
                    .default_value(DEFAULT_BATCH_SIZE)
                    .mutable_ready()
                    .build(),
                glib::ParamSpecUInt::builder("batch-timeout-ms")
                    .nick("Batch timeout")
                    .blurb("With a session-id: how long a frame waits for others to fill its batch, in milliseconds")
                    .minimum(1)
                    .maximum(10_000)
                    .default_value(DEFAULT_BATCH_TIMEOUT_MS)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecUInt::builder("interval")
                    .nick("Interval")
                    .blurb("Run on every Nth frame; the frames between carry the last results")
                    .minimum(1)
                    .maximum(10_000)
                    .default_value(DEFAULT_INTERVAL)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecString::builder("roi")
                    .nick("Region of interest")
                    .blurb("Run on the objects with this label (from an earlier detector) instead of the whole frame")
                    .mutable_playing()
                    .build(),
                glib::ParamSpecUInt::builder("threads")
                    .nick("Threads")
                    .blurb("Threads for one inference (0: ONNX Runtime decides)")
                    .maximum(256)
                    .default_value(DEFAULT_THREADS)
                    .mutable_ready()
                    .build(),
                glib::ParamSpecDouble::builder("threshold")
                    .nick("Threshold")
                    .blurb("Lowest detection score kept")
                    .minimum(0.0)
                    .maximum(1.0)
                    .default_value(DEFAULT_THRESHOLD)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecBoolean::builder("output-tensors")
                    .nick("Output tensors")
                    .blurb("Also put the raw float output tensors in the metadata (onnx.NAME, onnx.NAME.shape)")
                    .default_value(DEFAULT_OUTPUT_TENSORS)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecString::builder("provider")
                    .nick("Provider in use")
                    .blurb("The execution provider the model runs (or last ran) on")
                    .read_only()
                    .build(),
                glib::ParamSpecUInt64::builder("inferences")
                    .nick("Inferences")
                    .blurb("Batch items run through the model so far")
                    .read_only()
                    .build(),
            ]
        });
        PROPERTIES.as_ref()
    }

    fn constructed(&self) {
        self.parent_constructed();
        let obj = self.obj();
        obj.add_pad(&self.sinkpad).unwrap();
        obj.add_pad(&self.srcpad).unwrap();
    }

    fn set_property(&self, _id: usize, value: &glib::Value, pspec: &glib::ParamSpec) {
        let mut s = self.settings.lock().unwrap();
        let text = || value.get::<Option<String>>().ok().flatten().filter(|t| !t.is_empty());
        match pspec.name() {
            "model" => s.model = text(),
            "execution-provider" => s.provider = value.get().expect("type checked upstream"),
            "session-id" => s.session_id = text(),
            "batch-size" => s.batch_size = value.get().expect("type checked upstream"),
            "interval" => s.interval = value.get().expect("type checked upstream"),
            "roi" => s.roi = text(),
            "threads" => s.threads = value.get().expect("type checked upstream"),
            "threshold" => s.threshold = value.get().expect("type checked upstream"),
            "output-tensors" => s.output_tensors = value.get().expect("type checked upstream"),
            "batch-timeout-ms" => s.batch_timeout_ms = value.get().expect("type checked upstream"),
            other => unreachable!("no writable property {other}"),
        }
    }

    fn property(&self, _id: usize, pspec: &glib::ParamSpec) -> glib::Value {
        let s = self.settings.lock().unwrap();
        match pspec.name() {
            "model" => s.model.to_value(),
            "execution-provider" => s.provider.to_value(),
            "session-id" => s.session_id.to_value(),
            "batch-size" => s.batch_size.to_value(),
            "interval" => s.interval.to_value(),
            "roi" => s.roi.to_value(),
            "threads" => s.threads.to_value(),
            "threshold" => s.threshold.to_value(),
            "output-tensors" => s.output_tensors.to_value(),
            "batch-timeout-ms" => s.batch_timeout_ms.to_value(),
            "provider" => self.provider.lock().unwrap().to_value(),
            "inferences" => self.inferences.load(Ordering::Relaxed).to_value(),
            other => unreachable!("no property {other}"),
        }
    }
}

impl GstObjectImpl for OnnxInfer {}

impl ElementImpl for OnnxInfer {
    fn metadata() -> Option<&'static gst::subclass::ElementMetadata> {
        static METADATA: LazyLock<gst::subclass::ElementMetadata> = LazyLock::new(|| {
            gst::subclass::ElementMetadata::new(
                "Slate ONNX inference",
                "Filter/Analyzer/Video/Audio",
                "Runs an ONNX model (ONNX Runtime; TensorRT/CUDA when present, else CPU) on frames, objects or audio and puts the results in the metadata",
                "Slate developers",
            )
        });
        Some(&*METADATA)
    }

    fn pad_templates() -> &'static [gst::PadTemplate] {
        static TEMPLATES: LazyLock<Vec<gst::PadTemplate>> = LazyLock::new(|| {
            let mut caps = gst_video::VideoCapsBuilder::new().format_list(VIDEO_FORMATS).build();
            caps.merge(
                gst_audio::AudioCapsBuilder::new_interleaved()
                    .format(gst_audio::AudioFormat::F32le)
                    .rate(slate_onnx::postprocess::vad::RATE as i32)
                    .channels(1)
                    .build(),
            );
            ["src", "sink"]
                .into_iter()
                .map(|name| {
                    let direction = if name == "src" {
                        gst::PadDirection::Src
                    } else {
                        gst::PadDirection::Sink
                    };
                    gst::PadTemplate::new(name, direction, gst::PadPresence::Always, &caps).unwrap()
                })
                .collect()
        });
        TEMPLATES.as_ref()
    }

    fn change_state(&self, transition: gst::StateChange) -> Result<gst::StateChangeSuccess, gst::StateChangeError> {
        match transition {
            gst::StateChange::NullToReady => self.open()?,
            gst::StateChange::ReadyToNull => *self.state.lock().unwrap() = None,
            gst::StateChange::PausedToReady => {
                if let Some(state) = self.state.lock().unwrap().as_mut() {
                    state.pending.clear();
                    state.frames = 0;
                    state.last.clear();
                }
            }
            _ => {}
        }
        self.parent_change_state(transition)
    }
}

impl OnnxInfer {
    fn open(&self) -> Result<(), gst::StateChangeError> {
        let settings = self.settings.lock().unwrap().clone();
        let Some(model) = settings.model.clone() else {
            gst::element_imp_error!(
                self,
                gst::LibraryError::Settings,
                ("onnxinfer needs a model (property `model`): a name from models/models.toml or an .onnx file")
            );
            return Err(gst::StateChangeError);
        };
        let options = Options {
            provider: settings.provider.into(),
            session_id: settings.session_id.clone(),
            threads: settings.threads as usize,
            ..Options::new(model)
        };
        let model = slate_onnx::open(&options).map_err(|e| {
            gst::element_imp_error!(
                self,
                gst::LibraryError::Init,
                ("Cannot start model (property `model`): {e}")
            );
            gst::StateChangeError
        })?;
        gst::info!(CAT, imp = self, "{} runs on {}", model.spec.name, model.provider);
        *self.provider.lock().unwrap() = Some(model.provider.name().to_owned());
        for reason in &model.fallbacks {
            gst::info!(CAT, imp = self, "not used: {reason}");
        }
        *self.state.lock().unwrap() = Some(State {
            model,
            media: Media::Unknown,
            pending: Vec::new(),
            frames: 0,
            last: Vec::new(),
        });
        Ok(())
    }

    fn sink_event(&self, pad: &gst::Pad, event: gst::Event) -> bool {
        match event.view() {
            gst::EventView::Caps(caps) => {
                if let Err(why) = self.set_caps(caps.caps()) {
                    gst::element_imp_error!(self, gst::CoreError::Negotiation, ("{why}"));
                    return false;
                }
            }
            gst::EventView::FlushStop(_) => {
                if let Some(state) = self.state.lock().unwrap().as_mut() {
                    state.pending.clear();
                }
            }
            _ => {}
        }
        // Serialized events stay behind the buffers before them.
        if event.is_serialized() && !matches!(event.view(), gst::EventView::FlushStop(_)) && self.flush().is_err() {
            return false;
        }
        gst::Pad::event_default(pad, Some(&*self.obj()), event)
    }

    fn set_caps(&self, caps: &gst::CapsRef) -> Result<(), String> {
        let mut state = self.state.lock().unwrap();
        let state = state.as_mut().ok_or("onnxinfer got caps before it started")?;
        let model = &state.model;
        let name = &model.spec.name;
        let is_vad = model.spec.postprocess == Some(PostKind::SileroVad);
        let structure = caps.structure(0).ok_or("empty caps")?;
        if structure.name() == "audio/x-raw" {
            if !is_vad {
                return Err(format!(
                    "model {name} takes images, not audio ({caps}); give onnxinfer video"
                ));
            }
            state.media = Media::Audio {
                vad: Box::new(SileroVad::new(model.clone())),
                segments: SpeechSegments::default(),
                origin: None,
            };
            return Ok(());
        }
        if is_vad {
            return Err(format!(
                "model {name} takes 16 kHz mono audio (audio/x-raw,format=F32LE,rate=16000,channels=1), not {caps}; put audioconvert ! audioresample before onnxinfer"
            ));
        }
        let info = gst_video::VideoInfo::from_caps(caps).map_err(|_| format!("cannot read video caps {caps}"))?;
        let format = match info.format() {
            gst_video::VideoFormat::Rgba => PixelFormat::Rgba,
            gst_video::VideoFormat::Bgra => PixelFormat::Bgra,
            gst_video::VideoFormat::Rgbx => PixelFormat::Rgbx,
            gst_video::VideoFormat::Bgrx => PixelFormat::Bgrx,
            gst_video::VideoFormat::Rgb => PixelFormat::Rgb,
            gst_video::VideoFormat::Bgr => PixelFormat::Bgr,
            gst_video::VideoFormat::Gray8 => PixelFormat::Gray8,
            other => {
                return Err(format!(
                    "onnxinfer takes RGB(A/x), BGR(A/x) or GRAY8 video, not {other:?}"
                ));
            }
        };
        let (input, spec) = model.image_input().map_err(|e| e.to_string())?;
        state.media = Media::Video {
            info,
            format,
            input,
            spec,
        };
        Ok(())
    }

    fn chain(&self, _pad: &gst::Pad, buffer: gst::Buffer) -> Result<gst::FlowSuccess, gst::FlowError> {
        let ready = {
            let mut guard = self.state.lock().unwrap();
            let state = guard.as_mut().ok_or(gst::FlowError::Flushing)?;
            match &mut state.media {
                Media::Unknown => return Err(gst::FlowError::NotNegotiated),
                Media::Audio { .. } => {
                    let buffer = self.hear(state, buffer)?;
                    drop(guard);
                    return self.srcpad.push(buffer);
                }
                Media::Video { .. } => {}
            }
            let interval = self.settings.lock().unwrap().interval.max(1) as u64;
            let inferred = state.frames % interval == 0;
            state.frames += 1;
            state.pending.push((buffer, inferred));
            let batch = {
                let settings = self.settings.lock().unwrap();
                // Pooled: each frame goes to the shared batch at once.
                if settings.pooled() {
                    1
                } else {
                    settings.batch_size as usize
                }
            };
            if state.pending.iter().filter(|(_, i)| *i).count() >= batch {
                self.run_pending(state)?
            } else {
                Vec::new()
            }
        };
        for buffer in ready {
            self.srcpad.push(buffer)?;
        }
        Ok(gst::FlowSuccess::Ok)
    }

    /// Runs what is waiting, even if the batch is not full, and pushes it.
    fn flush(&self) -> Result<(), gst::FlowError> {
        let ready = match self.state.lock().unwrap().as_mut() {
            Some(state) if !state.pending.is_empty() => self.run_pending(state)?,
            _ => return Ok(()),
        };
        for buffer in ready {
            self.srcpad.push(buffer)?;
        }
        Ok(())
    }
}
