use std::sync::{Arc, LazyLock, Mutex};

use gst::glib;
use gst::prelude::*;
use gst::subclass::prelude::*;
use gst_base::subclass::prelude::*;
use slate_wasm::{AudioInfo, Fault, FrameInfo, Host, Plugin, SampleFormat, Stage, World};

use super::settings::{StageSettings, audio_info_of, fault_message, media_caps_for, runs_on_buffers, video_info_of};
use crate::SlateMeta;
use crate::sandbox::{self, Counters, OnError, Reloader};

static CAT: LazyLock<gst::DebugCategory> =
    LazyLock::new(|| gst::DebugCategory::new("wasmstage", gst::DebugColorFlags::empty(), Some("Slate WASM stage")));

/// Element message carrying an event a plugin posted.
pub const EVENT_MESSAGE: &str = "slate-plugin-event";
/// Element message posted when a new version of the plugin took over.
pub const RELOAD_MESSAGE: &str = "slate-plugin-reloaded";

#[derive(Debug, Clone)]
struct Settings {
    stage: StageSettings,
    watch: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            stage: StageSettings::default(),
            watch: sandbox::DEFAULT_WATCH,
        }
    }
}

/// The negotiated media, as the plugin sees it.
#[derive(Debug, Clone, Copy)]
enum Media {
    Video(FrameInfo),
    Audio(AudioInfo),
}

/// Exists from READY on: the loaded plugin and its instance.
struct State {
    stage: Stage,
    media: Option<Media>,
    caps: Option<gst::Caps>,
    reloader: Option<Reloader<(Arc<Plugin>, Stage)>>,
}

#[derive(Default)]
pub struct WasmStage {
    settings: Mutex<Settings>,
    state: Mutex<Option<State>>,
    /// Known once loaded; caps queries may come before the state exists.
    plugin: Mutex<Option<Arc<Plugin>>>,
    counters: Counters,
}

#[glib::object_subclass]
impl ObjectSubclass for WasmStage {
    const NAME: &'static str = "GstWasmStage";
    type Type = super::WasmStage;
    type ParentType = gst_base::BaseTransform;
}

impl ObjectImpl for WasmStage {
    fn properties() -> &'static [glib::ParamSpec] {
        static PROPERTIES: LazyLock<Vec<glib::ParamSpec>> = LazyLock::new(|| {
            let mut properties = StageSettings::param_specs("video-filter, audio-filter or analyzer");
            properties.extend([
                sandbox::watch_param_spec(
                    "Reload the plugin when its file changes, between two buffers; a broken new version keeps the old one running",
                ),
                glib::ParamSpecString::builder("plugin-hash")
                    .nick("Plugin hash")
                    .blurb("SHA-256 of the running plugin file")
                    .read_only()
                    .build(),
            ]);
            properties.extend(Counters::param_specs(
                "How many calls into the plugin have failed",
                Some("plugin"),
            ));
            properties
        });
        PROPERTIES.as_ref()
    }

    fn set_property(&self, _id: usize, value: &glib::Value, pspec: &glib::ParamSpec) {
        let mut settings = self.settings.lock().unwrap();
        match pspec.name() {
            "watch" => settings.watch = value.get().expect("type checked upstream"),
            name => settings.stage.set(name, value),
        }
    }

    fn property(&self, _id: usize, pspec: &glib::ParamSpec) -> glib::Value {
        if let Some(count) = self.counters.property(pspec.name()) {
            return count;
        }
        match pspec.name() {
            "watch" => self.settings.lock().unwrap().watch.to_value(),
            "plugin-hash" => self.plugin.lock().unwrap().as_ref().map(|p| p.hash.clone()).to_value(),
            name => self.settings.lock().unwrap().stage.get(name),
        }
    }
}

impl GstObjectImpl for WasmStage {}

impl ElementImpl for WasmStage {
    fn metadata() -> Option<&'static gst::subclass::ElementMetadata> {
        static METADATA: LazyLock<gst::subclass::ElementMetadata> = LazyLock::new(|| {
            gst::subclass::ElementMetadata::new(
                "Slate WASM stage",
                "Filter/Effect/Video/Audio",
                "Runs a sandboxed WebAssembly component plugin (slate:plugin video-filter, audio-filter or analyzer) on every buffer",
                "Slate developers",
            )
        });
        Some(&*METADATA)
    }

    fn pad_templates() -> &'static [gst::PadTemplate] {
        static TEMPLATES: LazyLock<Vec<gst::PadTemplate>> =
            LazyLock::new(|| crate::filter_templates(&media_caps_for(None)));
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

impl BaseTransformImpl for WasmStage {
    const MODE: gst_base::subclass::BaseTransformMode = gst_base::subclass::BaseTransformMode::AlwaysInPlace;
    const PASSTHROUGH_ON_SAME_CAPS: bool = false;
    const TRANSFORM_IP_ON_PASSTHROUGH: bool = false;

    fn transform_caps(
        &self,
        _direction: gst::PadDirection,
        caps: &gst::Caps,
        filter: Option<&gst::Caps>,
    ) -> Option<gst::Caps> {
        // A stage keeps the format: what goes in comes out, within what the
        // plugin accepts.
        let accepted = media_caps_for(self.plugin.lock().unwrap().as_deref());
        let caps = caps.intersect_with_mode(&accepted, gst::CapsIntersectMode::First);
        Some(crate::filtered(caps, filter))
    }

    fn set_caps(&self, incaps: &gst::Caps, _outcaps: &gst::Caps) -> Result<(), gst::LoggableError> {
        let media = video_info_of(incaps)
            .map(|(frame, _)| Media::Video(frame))
            .or_else(|| audio_info_of(incaps).map(Media::Audio))
            .ok_or_else(|| gst::loggable_error!(CAT, "unsupported caps {incaps}"))?;
        if let Some(state) = self.state.lock().unwrap().as_mut() {
            state.media = Some(media);
            state.caps = Some(incaps.clone());
        }
        Ok(())
    }

    fn transform_ip(&self, buffer: &mut gst::BufferRef) -> Result<gst::FlowSuccess, gst::FlowError> {
        let mut state = self.state.lock().unwrap();
        let state = state.as_mut().ok_or(gst::FlowError::Flushing)?;
        self.swap_in_new_version(state);
        let media = state.media.ok_or(gst::FlowError::NotNegotiated)?;
        let record = SlateMeta::record_of(buffer);
        let pts = buffer.pts().map(|t| t.nseconds());
        let duration = buffer.duration().map(|t| t.nseconds());
        let result = {
            let map = buffer.map_readable().map_err(|_| gst::FlowError::Error)?;
            let world = state.stage.plugin().description.world;
            match (media, world) {
                (Media::Video(info), World::Analyzer) => state
                    .stage
                    .analyze_frame(FrameInfo { pts, duration, ..info }, &map, &record)
                    .map(|meta| (None, meta)),
                (Media::Video(info), _) => state
                    .stage
                    .process_frame(FrameInfo { pts, duration, ..info }, &map, &record)
                    .map(|(pixels, meta)| (Some(pixels), meta)),
                (Media::Audio(info), _) => {
                    let frames = (map.len() / audio_frame_bytes(&info)) as u32;
                    state
                        .stage
                        .process_audio(
                            AudioInfo {
                                pts,
                                duration,
                                frames,
                                ..info
                            },
                            &map,
                            &record,
                        )
                        .map(|(samples, meta)| (Some(samples), meta))
                }
            }
        };
        self.post_events(&mut state.stage);
        match result {
            Ok((bytes, meta)) => {
                if let Some(bytes) = bytes {
                    // The plugin's output becomes the buffer's memory: no copy.
                    buffer.replace_all_memory(gst::Memory::from_mut_slice(bytes));
                }
                SlateMeta::set(buffer, meta);
                Ok(gst::FlowSuccess::Ok)
            }
            Err(fault) => self.on_fault(&state.stage, &fault, pts),
        }
    }
}

impl WasmStage {
    /// Loads the plugin and makes its instance; refuses to start if either fails.
    fn load(&self) -> Result<(), gst::StateChangeError> {
        let settings = self.settings.lock().unwrap().clone();
        let stage = settings
            .stage
            .start_stage("wasmstage", "video-filter, audio-filter and analyzer", runs_on_buffers)
            .map_err(|e| {
                self.post_error_message(e);
                gst::StateChangeError
            })?;
        let plugin = stage.plugin().clone();
        let path = plugin.path.clone();
        let describes = &plugin.description;
        gst::info!(
            CAT,
            imp = self,
            "loaded {} {} ({}, {:?})",
            describes.name,
            describes.version,
            describes.world.name(),
            plugin.origin
        );
        let (config, limits) = (settings.stage.config.clone(), settings.stage.limits());
        let reloader = sandbox::watch(self, settings.watch, &path, move |path| {
            let plugin = Host::global()
                .and_then(|host| host.load(path))
                .map_err(|e| e.to_string())?;
            let stage = Stage::new(plugin.clone(), &config, limits.clone()).map_err(|f| format!("it {f}"))?;
            Ok((plugin, stage))
        });
        *self.plugin.lock().unwrap() = Some(plugin);
        *self.state.lock().unwrap() = Some(State {
            stage,
            media: None,
            caps: None,
            reloader,
        });
        Ok(())
    }

    /// Between two buffers: lets a new version of the plugin take over if
    /// one is ready and can run on the negotiated media; otherwise warns and
    /// keeps the running one.
    fn swap_in_new_version(&self, state: &mut State) {
        let Some(next) = state.reloader.as_ref().and_then(Reloader::take) else {
            return;
        };
        let path = state.stage.plugin().path.display().to_string();
        let refuse = |why: String| self.counters.reload_refused(self, &format!("Plugin {path}"), &why);
        let (plugin, stage) = match next {
            Ok(next) => next,
            Err(why) => return refuse(why),
        };
        if !runs_on_buffers(&plugin) {
            return refuse(format!("it is a {} plugin", plugin.description.world.name()));
        }
        if let Some(caps) = state
            .caps
            .as_ref()
            .filter(|caps| !media_caps_for(Some(&plugin)).can_intersect(caps))
        {
            return refuse(format!("it does not accept the running format {caps}"));
        }
        let previous = std::mem::replace(&mut state.stage, stage);
        *self.plugin.lock().unwrap() = Some(plugin.clone());
        let count = self.counters.reloaded();
        gst::info!(
            CAT,
            imp = self,
            "plugin {path} reloaded ({} -> {})",
            previous.plugin().hash,
            plugin.hash
        );
        let message = gst::Structure::builder(RELOAD_MESSAGE)
            .field("plugin", &path)
            .field("hash", &plugin.hash)
            .field("previous-hash", &previous.plugin().hash)
            .field("count", count)
            .build();
        crate::post_element_message(self.obj().upcast_ref(), message);
    }

    /// Counts the fault, tells the bus, and applies `on-error`.
    fn on_fault(&self, stage: &Stage, fault: &Fault, pts: Option<u64>) -> Result<gst::FlowSuccess, gst::FlowError> {
        let policy = self.settings.lock().unwrap().stage.on_error;
        let plugin = stage.plugin();
        let what = format!("Plugin {} {fault}", plugin.path.display());
        self.counters
            .fault(self, &CAT, policy, fault_message(plugin, fault, pts), &what)
            .map(OnError::transform_outcome)
    }

    fn post_events(&self, stage: &mut Stage) {
        let plugin = stage.plugin().path.display().to_string();
        for event in stage.take_events() {
            let mut message = gst::Structure::builder(EVENT_MESSAGE)
                .field("plugin", &plugin)
                .field("name", &event.name);
            for (key, value) in &event.fields {
                message = match value {
                    slate_meta::Value::Bool(v) => message.field(key.as_str(), *v),
                    slate_meta::Value::Int(v) => message.field(key.as_str(), *v),
                    slate_meta::Value::Float(v) => message.field(key.as_str(), *v),
                    other => message.field(key.as_str(), other.to_string()),
                };
            }
            crate::post_element_message(self.obj().upcast_ref(), message.build());
        }
    }
}

fn audio_frame_bytes(info: &AudioInfo) -> usize {
    let sample = match info.format {
        SampleFormat::F32le => 4,
        SampleFormat::S16le => 2,
    };
    sample * info.channels.max(1) as usize
}
