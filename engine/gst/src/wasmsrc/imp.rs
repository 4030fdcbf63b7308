use std::sync::{LazyLock, Mutex};

use gst::glib;
use gst::prelude::*;
use gst::subclass::prelude::*;
use gst_base::prelude::*;
use gst_base::subclass::base_src::CreateSuccess;
use gst_base::subclass::prelude::*;
use slate_wasm::{FrameInfo, Stage, World};

use crate::SlateMeta;
use crate::sandbox::{Counters, OnError};
use crate::wasmstage::{StageSettings, fault_message, video_caps_for, video_info_of};

static CAT: LazyLock<gst::DebugCategory> =
    LazyLock::new(|| gst::DebugCategory::new("wasmsrc", gst::DebugColorFlags::empty(), Some("Slate WASM source")));

/// A generator that fails this many frames in a row under `drop` is stuck.
const MAX_DROPPED_IN_A_ROW: u32 = 100;

/// Exists from READY on.
struct State {
    stage: Stage,
    info: Option<(FrameInfo, gst_video::VideoInfo)>,
    /// Frames made so far; the next frame's number.
    next: u64,
    /// The last good frame, repeated under `passthrough`.
    last: Option<gst::Buffer>,
    /// Live: the running time of the first frame (timestamps follow the
    /// clock from there, also after a restart in a playing pipeline).
    epoch: Option<u64>,
}

const DEFAULT_IS_LIVE: bool = false;

#[derive(Default)]
pub struct WasmSrc {
    settings: Mutex<StageSettings>,
    state: Mutex<Option<State>>,
    counters: Counters,
}

#[glib::object_subclass]
impl ObjectSubclass for WasmSrc {
    const NAME: &'static str = "GstWasmSrc";
    type Type = super::WasmSrc;
    type ParentType = gst_base::PushSrc;
}

impl ObjectImpl for WasmSrc {
    fn properties() -> &'static [glib::ParamSpec] {
        static PROPERTIES: LazyLock<Vec<glib::ParamSpec>> = LazyLock::new(|| {
            let mut properties = StageSettings::param_specs("generator");
            properties.push(
                glib::ParamSpecBoolean::builder("is-live")
                    .nick("Is live")
                    .blurb("Make frames in real time, like a camera, instead of as fast as downstream takes them")
                    .default_value(DEFAULT_IS_LIVE)
                    .mutable_ready()
                    .build(),
            );
            properties.extend(Counters::param_specs("How many frames the plugin failed to make", None));
            properties
        });
        PROPERTIES.as_ref()
    }

    fn constructed(&self) {
        self.parent_constructed();
        self.obj().set_format(gst::Format::Time);
    }

    fn set_property(&self, _id: usize, value: &glib::Value, pspec: &glib::ParamSpec) {
        match pspec.name() {
            "is-live" => self.obj().set_live(value.get().expect("type checked upstream")),
            name => self.settings.lock().unwrap().set(name, value),
        }
    }

    fn property(&self, _id: usize, pspec: &glib::ParamSpec) -> glib::Value {
        if let Some(count) = self.counters.property(pspec.name()) {
            return count;
        }
        match pspec.name() {
            "is-live" => self.obj().is_live().to_value(),
            name => self.settings.lock().unwrap().get(name),
        }
    }
}

impl GstObjectImpl for WasmSrc {}

impl ElementImpl for WasmSrc {
    fn metadata() -> Option<&'static gst::subclass::ElementMetadata> {
        static METADATA: LazyLock<gst::subclass::ElementMetadata> = LazyLock::new(|| {
            gst::subclass::ElementMetadata::new(
                "Slate WASM source",
                "Source/Video",
                "Makes video frames with a sandboxed WebAssembly component plugin (slate:plugin generator)",
                "Slate developers",
            )
        });
        Some(&*METADATA)
    }

    fn pad_templates() -> &'static [gst::PadTemplate] {
        static TEMPLATES: LazyLock<Vec<gst::PadTemplate>> =
            LazyLock::new(|| crate::src_templates(&video_caps_for(None)));
        TEMPLATES.as_ref()
    }

    fn change_state(&self, transition: gst::StateChange) -> Result<gst::StateChangeSuccess, gst::StateChangeError> {
        match transition {
            gst::StateChange::NullToReady => self.load()?,
            gst::StateChange::ReadyToNull => *self.state.lock().unwrap() = None,
            _ => {}
        }
        self.parent_change_state(transition)
    }
}

impl BaseSrcImpl for WasmSrc {
    fn caps(&self, filter: Option<&gst::Caps>) -> Option<gst::Caps> {
        let state = self.state.lock().unwrap();
        let caps = video_caps_for(state.as_ref().map(|s| s.stage.plugin().as_ref()));
        Some(crate::filtered(caps, filter))
    }

    fn fixate(&self, mut caps: gst::Caps) -> gst::Caps {
        caps.truncate();
        if let Some(s) = caps.make_mut().structure_mut(0) {
            s.fixate_field_nearest_int("width", 1280);
            s.fixate_field_nearest_int("height", 720);
            s.fixate_field_nearest_fraction("framerate", gst::Fraction::new(30, 1));
        }
        self.parent_fixate(caps)
    }

    fn set_caps(&self, caps: &gst::Caps) -> Result<(), gst::LoggableError> {
        let (info, video) = video_info_of(caps).ok_or_else(|| gst::loggable_error!(CAT, "unsupported caps {caps}"))?;
        if video.fps().numer() <= 0 {
            return Err(gst::loggable_error!(
                CAT,
                "wasmsrc needs a fixed, non-zero framerate, not {caps}"
            ));
        }
        if let Some(state) = self.state.lock().unwrap().as_mut() {
            state.info = Some((info, video));
        }
        Ok(())
    }

    fn is_seekable(&self) -> bool {
        false
    }

    fn start(&self) -> Result<(), gst::ErrorMessage> {
        if let Some(state) = self.state.lock().unwrap().as_mut() {
            state.next = 0;
            state.last = None;
            state.epoch = None;
        }
        Ok(())
    }

    /// Live: the base class waits for each frame's time on the clock.
    fn times(&self, buffer: &gst::BufferRef) -> (Option<gst::ClockTime>, Option<gst::ClockTime>) {
        if !self.obj().is_live() {
            return (None, None);
        }
        let end = buffer
            .pts()
            .zip(buffer.duration())
            .map(|(pts, duration)| pts + duration);
        (buffer.pts(), end)
    }
}

impl PushSrcImpl for WasmSrc {
    fn create(&self, _buffer: Option<&mut gst::BufferRef>) -> Result<CreateSuccess, gst::FlowError> {
        let mut state = self.state.lock().unwrap();
        let state = state.as_mut().ok_or(gst::FlowError::Flushing)?;
        let (info, video) = state.info.clone().ok_or(gst::FlowError::NotNegotiated)?;
        for _ in 0..MAX_DROPPED_IN_A_ROW {
            let n = state.next;
            state.next += 1;
            let pts = n.mul_div_floor(
                gst::ClockTime::SECOND.nseconds() * video.fps().denom() as u64,
                video.fps().numer() as u64,
            );
            let end = (n + 1).mul_div_floor(
                gst::ClockTime::SECOND.nseconds() * video.fps().denom() as u64,
                video.fps().numer() as u64,
            );
            let (pts, duration) = (pts.unwrap_or(0), end.unwrap_or(0).saturating_sub(pts.unwrap_or(0)));
            let pts = pts + self.epoch(state);
            match state.stage.generate_frame(FrameInfo {
                pts: Some(pts),
                duration: Some(duration),
                ..info
            }) {
                Ok((pixels, record)) => {
                    let mut buffer = gst::Buffer::from_mut_slice(pixels);
                    let b = buffer.get_mut().expect("a new buffer is writable");
                    stamp(b, n, pts, duration);
                    if !record.is_empty() {
                        SlateMeta::add(b, record);
                    }
                    state.last = Some(buffer.clone());
                    return Ok(CreateSuccess::NewBuffer(buffer));
                }
                Err(fault) => {
                    let policy = self.settings.lock().unwrap().on_error;
                    let plugin = state.stage.plugin();
                    let what = format!("Plugin {} {fault}", plugin.path.display());
                    let message = fault_message(plugin, &fault, Some(pts));
                    match self.counters.fault(self, &CAT, policy, message, &what)? {
                        OnError::Fail => unreachable!("a failing policy stops the stream"),
                        OnError::Passthrough => {
                            let mut buffer = match &state.last {
                                Some(last) => last.copy(),
                                None => gst::Buffer::from_mut_slice(vec![0u8; video.size()]),
                            };
                            stamp(buffer.get_mut().expect("a copy is writable"), n, pts, duration);
                            return Ok(CreateSuccess::NewBuffer(buffer));
                        }
                        OnError::Drop => {
                            let gap = gst::event::Gap::builder(gst::ClockTime::from_nseconds(pts))
                                .duration(gst::ClockTime::from_nseconds(duration))
                                .build();
                            self.obj().src_pad().push_event(gap);
                        }
                    }
                }
            }
        }
        gst::element_imp_error!(
            self,
            gst::LibraryError::Failed,
            ("Plugin failed {MAX_DROPPED_IN_A_ROW} frames in a row")
        );
        Err(gst::FlowError::Error)
    }
}

fn stamp(buffer: &mut gst::BufferRef, n: u64, pts: u64, duration: u64) {
    buffer.set_pts(gst::ClockTime::from_nseconds(pts));
    buffer.set_duration(gst::ClockTime::from_nseconds(duration));
    buffer.set_offset(n);
    buffer.set_offset_end(n + 1);
}

impl WasmSrc {
    /// Zero when not live; when live, the running time at the first frame.
    fn epoch(&self, state: &mut State) -> u64 {
        if !self.obj().is_live() {
            return 0;
        }
        *state
            .epoch
            .get_or_insert_with(|| self.obj().current_running_time().map_or(0, gst::ClockTime::nseconds))
    }

    fn load(&self) -> Result<(), gst::StateChangeError> {
        let settings = self.settings.lock().unwrap().clone();
        let makes_video =
            |p: &slate_wasm::Plugin| p.description.world == World::Generator && !p.description.video_formats.is_empty();
        let stage = settings
            .start_stage("wasmsrc", "video generator", makes_video)
            .map_err(|e| {
                self.post_error_message(e);
                gst::StateChangeError
            })?;
        *self.state.lock().unwrap() = Some(State {
            stage,
            info: None,
            next: 0,
            last: None,
            epoch: None,
        });
        Ok(())
    }
}
