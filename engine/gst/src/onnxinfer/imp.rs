use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Instant;

use gst::glib;
use gst::prelude::*;
use gst::subclass::prelude::*;
use gst_video::prelude::*;
use slate_meta::Record;
use slate_onnx::manifest::{DType, InputSpec, PostKind};
use slate_onnx::postprocess::{SileroVad, SpeechEvent, SpeechSegments};
use slate_onnx::preprocess::{self, Frame, PixelFormat, Placement, Region};
use slate_onnx::{Model, Options, TensorView, ViewData};

use super::results::{self, Item};
use super::{ExecutionProvider, VAD_MESSAGE};
use crate::SlateMeta;

static CAT: LazyLock<gst::DebugCategory> =
    LazyLock::new(|| gst::DebugCategory::new("onnxinfer", gst::DebugColorFlags::empty(), Some("Slate ONNX inference")));

const VIDEO_FORMATS: [gst_video::VideoFormat; 7] = [
    gst_video::VideoFormat::Rgba,
    gst_video::VideoFormat::Bgra,
    gst_video::VideoFormat::Rgbx,
    gst_video::VideoFormat::Bgrx,
    gst_video::VideoFormat::Rgb,
    gst_video::VideoFormat::Bgr,
    gst_video::VideoFormat::Gray8,
];

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
            batch_size: 1,
            interval: 1,
            roi: None,
            threads: 0,
            threshold: 0.5,
            output_tensors: false,
            batch_timeout_ms: 40,
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

/// One batch item: a frame of the pending buffers, or an object in it
/// (`roi`), aligned by its landmarks when the model wants that.
struct Job {
    index: usize,
    object: Option<u32>,
    region: Option<Region>,
    landmarks: Option<[f32; 10]>,
}

/// An object's 5 landmarks (x, y pairs), if a detector left them.
fn landmarks_of(object: &slate_meta::Object) -> Option<[f32; 10]> {
    match object.fields.get("landmarks") {
        Some(slate_meta::Value::FloatList(points)) if points.len() == 10 => {
            let points: Vec<f32> = points.iter().map(|p| *p as f32).collect();
            points.try_into().ok()
        }
        _ => None,
    }
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
                    .default_value(1)
                    .mutable_ready()
                    .build(),
                glib::ParamSpecUInt::builder("batch-timeout-ms")
                    .nick("Batch timeout")
                    .blurb("With a session-id: how long a frame waits for others to fill its batch, in milliseconds")
                    .minimum(1)
                    .maximum(10_000)
                    .default_value(40)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecUInt::builder("interval")
                    .nick("Interval")
                    .blurb("Run on every Nth frame; the frames between carry the last results")
                    .minimum(1)
                    .maximum(10_000)
                    .default_value(1)
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
                    .default_value(0)
                    .mutable_ready()
                    .build(),
                glib::ParamSpecDouble::builder("threshold")
                    .nick("Threshold")
                    .blurb("Lowest detection score kept")
                    .minimum(0.0)
                    .maximum(1.0)
                    .default_value(0.5)
                    .mutable_playing()
                    .build(),
                glib::ParamSpecBoolean::builder("output-tensors")
                    .nick("Output tensors")
                    .blurb("Also put the raw float output tensors in the metadata (onnx.NAME, onnx.NAME.shape)")
                    .default_value(false)
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
            model,
            provider: settings.provider.into(),
            session_id: settings.session_id.clone(),
            threads: settings.threads as usize,
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

    /// Infers the waiting frames in one batch and returns them, in order,
    /// with their results.
    fn run_pending(&self, state: &mut State) -> Result<Vec<gst::Buffer>, gst::FlowError> {
        let Media::Video {
            info,
            format,
            input,
            spec,
        } = &state.media
        else {
            return Err(gst::FlowError::NotNegotiated);
        };
        let settings = self.settings.lock().unwrap().clone();
        let pending = std::mem::take(&mut state.pending);
        // What to run: on which pending buffer, which object (roi), where.
        let mut jobs: Vec<Job> = Vec::new();
        for (index, (buffer, inferred)) in pending.iter().enumerate() {
            if !inferred {
                continue;
            }
            match &settings.roi {
                None => jobs.push(Job {
                    index,
                    object: None,
                    region: None,
                    landmarks: None,
                }),
                Some(label) => {
                    for object in SlateMeta::record_of(buffer)
                        .objects()
                        .iter()
                        .filter(|o| &o.label == label)
                    {
                        let Some(b) = object.bbox else { continue };
                        jobs.push(Job {
                            index,
                            object: Some(object.id),
                            region: Some(Region {
                                x: b.x,
                                y: b.y,
                                w: b.w,
                                h: b.h,
                            }),
                            landmarks: spec.align.and_then(|_| landmarks_of(object)),
                        });
                    }
                }
            }
        }
        let started = Instant::now();
        let items = self.infer(state, &pending, &jobs, info, *format, input, spec, &settings)?;
        let per_item_ms = started.elapsed().as_secs_f64() * 1000.0 / jobs.len().max(1) as f64;
        self.inferences.fetch_add(jobs.len() as u64, Ordering::Relaxed);
        let label = state.model.spec.label.clone().unwrap_or_else(|| "object".into());
        let name = state.model.spec.name.clone();
        let mut out = Vec::with_capacity(pending.len());
        for (index, (mut buffer, inferred)) in pending.into_iter().enumerate() {
            let mut record = SlateMeta::record_of(&buffer);
            if inferred {
                let mine: Vec<&(Option<u32>, Item)> = jobs
                    .iter()
                    .zip(&items)
                    .filter(|(job, _)| job.index == index)
                    .map(|(_, item)| item)
                    .collect();
                for (on, item) in &mine {
                    results::write(&mut record, item, *on, &name, &label);
                }
                if settings.roi.is_none() {
                    state.last = mine.into_iter().map(|(_, item)| item.clone()).collect();
                }
                record.set("onnx.ms", per_item_ms);
            } else {
                for item in &state.last {
                    results::write(&mut record, item, None, &name, &label);
                }
                record.set("onnx.carried", true);
            }
            SlateMeta::set(buffer.make_mut(), record);
            out.push(buffer);
        }
        Ok(out)
    }

    /// Runs the jobs: in one batch when their inputs have the same size,
    /// else one by one.
    #[allow(clippy::too_many_arguments)]
    fn infer(
        &self,
        state: &State,
        pending: &[(gst::Buffer, bool)],
        jobs: &[Job],
        info: &gst_video::VideoInfo,
        format: PixelFormat,
        input: &str,
        spec: &InputSpec,
        settings: &Settings,
    ) -> Result<Vec<(Option<u32>, Item)>, gst::FlowError> {
        let sizes: Vec<(u32, u32)> = jobs
            .iter()
            .map(|job| match job.region {
                Some(r) => preprocess::input_size(spec, r.w.round().max(1.0) as u32, r.h.round().max(1.0) as u32),
                None => preprocess::input_size(spec, info.width(), info.height()),
            })
            .collect();
        let mut items = Vec::with_capacity(jobs.len());
        let mut start = 0;
        while start < jobs.len() {
            let size = sizes[start];
            let end = (start..jobs.len()).find(|&i| sizes[i] != size).unwrap_or(jobs.len());
            let group = &jobs[start..end];
            let one = preprocess::input_len(spec, size.0, size.1);
            let mut tensor = vec![0.0f32; one * group.len()];
            let mut placements: Vec<Placement> = Vec::with_capacity(group.len());
            for (job, slot) in group.iter().zip(tensor.chunks_mut(one)) {
                let buffer = &pending[job.index].0;
                let frame =
                    gst_video::VideoFrameRef::from_buffer_ref_readable(buffer.as_ref(), info).map_err(|_| {
                        gst::element_imp_error!(self, gst::StreamError::Format, ("Cannot map a video frame"));
                        gst::FlowError::Error
                    })?;
                let view = Frame {
                    data: frame.plane_data(0).map_err(|_| gst::FlowError::Error)?,
                    format,
                    width: info.width(),
                    height: info.height(),
                    stride: frame.plane_stride()[0] as usize,
                };
                placements.push(match &job.landmarks {
                    Some(landmarks) => {
                        preprocess::fill_aligned(&view, landmarks, spec, size, slot);
                        // Nothing maps back from an aligned face.
                        Placement {
                            origin_x: 0.0,
                            origin_y: 0.0,
                            scale_x: 1.0,
                            scale_y: 1.0,
                            width: size.0,
                            height: size.1,
                        }
                    }
                    None => preprocess::fill(&view, job.region, spec, size, slot),
                });
            }
            let channels = spec.colour.channels() as i64;
            let shape: [i64; 4] = match spec.layout {
                slate_onnx::manifest::Layout::Nchw => [group.len() as i64, channels, size.1 as i64, size.0 as i64],
                slate_onnx::manifest::Layout::Nhwc => [group.len() as i64, size.1 as i64, size.0 as i64, channels],
            };
            let bytes: Vec<u8>;
            let data = match spec.dtype {
                DType::F32 => ViewData::F32(&tensor),
                DType::U8 => {
                    bytes = tensor.iter().map(|v| v.round().clamp(0.0, 255.0) as u8).collect();
                    ViewData::U8(&bytes)
                }
            };
            let post = state.model.spec.postprocess;
            // Batch item `item` of `n` in `outputs`, for the job at `job`.
            let decode = |outputs: &[(&str, TensorView<'_>)], item: usize, n: usize, job: usize| {
                results::decode(
                    outputs,
                    item,
                    n,
                    post,
                    &placements[job],
                    settings.threshold as f32,
                    settings.output_tensors,
                )
            };
            let decoded = if settings.pooled() && spec.dtype == DType::F32 {
                self.infer_pooled(state, input, &shape[1..], &tensor, one, settings, decode)
            } else {
                state
                    .model
                    .run(&[(input, TensorView { shape: &shape, data })], |outputs| {
                        (0..group.len())
                            .map(|i| decode(outputs, i, group.len(), i))
                            .collect::<Result<Vec<Item>, String>>()
                    })
                    .map_err(|e| e.to_string())
                    .and_then(|r| r)
            }
            .map_err(|why| {
                gst::element_imp_error!(self, gst::LibraryError::Failed, ("Inference failed: {why}"));
                gst::FlowError::Error
            })?;
            items.extend(group.iter().map(|job| job.object).zip(decoded));
            start = end;
        }
        Ok(items)
    }

    /// Hands the items to the session's pool, where they share batches with
    /// the other elements of the same `session-id`, and decodes each.
    #[allow(clippy::too_many_arguments)]
    fn infer_pooled(
        &self,
        state: &State,
        input: &str,
        item_shape: &[i64],
        tensor: &[f32],
        one: usize,
        settings: &Settings,
        decode: impl Fn(&[(&str, TensorView<'_>)], usize, usize, usize) -> Result<Item, String>,
    ) -> Result<Vec<Item>, String> {
        let items = tensor
            .chunks(one)
            .map(|data| (item_shape.to_vec(), data.to_vec()))
            .collect();
        let wait = std::time::Duration::from_millis(settings.batch_timeout_ms as u64);
        state
            .model
            .run_pooled(input, items, settings.batch_size as usize, wait)
            .into_iter()
            .enumerate()
            .map(|(i, outputs)| {
                let outputs = outputs.map_err(|e| e.to_string())?;
                let views: Vec<(&str, TensorView<'_>)> = outputs
                    .iter()
                    .map(|(name, shape, values)| {
                        (
                            name.as_str(),
                            TensorView {
                                shape,
                                data: ViewData::F32(values),
                            },
                        )
                    })
                    .collect();
                // The outputs are this item's alone: item 0 of 1.
                decode(&views, 0, 1, i)
            })
            .collect()
    }

    /// Voice activity on an audio buffer: its probability and whether
    /// speech is on go into the metadata; starts and ends are bus messages.
    fn hear(&self, state: &mut State, mut buffer: gst::Buffer) -> Result<gst::Buffer, gst::FlowError> {
        let Media::Audio { vad, segments, origin } = &mut state.media else {
            return Err(gst::FlowError::NotNegotiated);
        };
        let origin = *origin.get_or_insert_with(|| buffer.pts().map_or(0.0, |t| t.seconds_f64()));
        let scores = {
            let map = buffer.map_readable().map_err(|_| gst::FlowError::Error)?;
            let samples: Vec<f32> = map
                .as_slice()
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect();
            vad.push(&samples).map_err(|e| {
                gst::element_imp_error!(self, gst::LibraryError::Failed, ("Voice activity failed: {e}"));
                gst::FlowError::Error
            })?
        };
        self.inferences.fetch_add(scores.len() as u64, Ordering::Relaxed);
        let mut record: Record = SlateMeta::record_of(&buffer);
        if let Some(peak) = scores.iter().map(|(_, p)| *p).reduce(f32::max) {
            record.set("vad.probability", f64::from(peak));
        }
        for (at, probability) in scores {
            let message = match segments.update(at, probability) {
                Some(SpeechEvent::Started(start)) => gst::Structure::builder(VAD_MESSAGE)
                    .field("speech", true)
                    .field("start", origin + start)
                    .build(),
                Some(SpeechEvent::Ended { start, end }) => gst::Structure::builder(VAD_MESSAGE)
                    .field("speech", false)
                    .field("start", origin + start)
                    .field("end", origin + end)
                    .build(),
                None => continue,
            };
            crate::post_element_message(self.obj().upcast_ref(), message);
        }
        record.set("vad.speech", segments.speaking());
        SlateMeta::set(buffer.make_mut(), record);
        Ok(buffer)
    }
}
