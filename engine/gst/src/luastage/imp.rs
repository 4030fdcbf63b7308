use std::path::PathBuf;
use std::sync::{LazyLock, Mutex};

use gst::glib;
use gst::prelude::*;
use gst::subclass::prelude::*;
use gst_base::subclass::prelude::*;
use slate_lua::{Buffer, Limits, Script, ScriptError};

use crate::SlateMeta;
use crate::sandbox::{self, Counters, OnError, Reloader};

static CAT: LazyLock<gst::DebugCategory> =
    LazyLock::new(|| gst::DebugCategory::new("luastage", gst::DebugColorFlags::empty(), Some("Slate Lua stage")));

/// Element message posted for every script failure: script, cause, policy.
pub const SCRIPT_FAULT_MESSAGE: &str = "slate-script-fault";

const DEFAULT_INSTRUCTIONS: u64 = 10_000_000;
const DEFAULT_MEMORY_MB: u32 = 64;

#[derive(Debug, Clone)]
struct Settings {
    script: Option<PathBuf>,
    instruction_limit: u64,
    memory_limit_mb: u32,
    on_error: OnError,
    watch: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            script: None,
            instruction_limit: DEFAULT_INSTRUCTIONS,
            memory_limit_mb: DEFAULT_MEMORY_MB,
            on_error: OnError::default(),
            watch: sandbox::DEFAULT_WATCH,
        }
    }
}

impl Settings {
    fn limits(&self) -> Limits {
        Limits {
            instructions: self.instruction_limit,
            memory: (self.memory_limit_mb as usize) << 20,
            modules: None,
        }
    }
}

/// Exists from READY on.
struct State {
    script: Script,
    path: PathBuf,
    reloader: Option<Reloader<Script>>,
}

#[derive(Default)]
pub struct LuaStage {
    settings: Mutex<Settings>,
    state: Mutex<Option<State>>,
    counters: Counters,
}

#[glib::object_subclass]
impl ObjectSubclass for LuaStage {
    const NAME: &'static str = "GstLuaStage";
    type Type = super::LuaStage;
    type ParentType = gst_base::BaseTransform;
}

impl ObjectImpl for LuaStage {
    fn properties() -> &'static [glib::ParamSpec] {
        static PROPERTIES: LazyLock<Vec<glib::ParamSpec>> = LazyLock::new(|| {
            vec![
                glib::ParamSpecString::builder("script")
                    .nick("Script")
                    .blurb("Path of the Lua stage script; `require` may load modules from its folder only")
                    .mutable_ready()
                    .build(),
                glib::ParamSpecUInt64::builder("instruction-limit")
                    .nick("Instruction limit")
                    .blurb("Lua instructions one call of a hook may run")
                    .minimum(1_000)
                    .default_value(DEFAULT_INSTRUCTIONS)
                    .mutable_ready()
                    .build(),
                glib::ParamSpecUInt::builder("memory-limit-mb")
                    .nick("Memory limit")
                    .blurb("Most memory the script may use, in MiB")
                    .minimum(1)
                    .maximum(4096)
                    .default_value(DEFAULT_MEMORY_MB)
                    .mutable_ready()
                    .build(),
                OnError::param_spec("What to do with a buffer the script failed on"),
                sandbox::watch_param_spec(
                    "Reload the script when its file changes, between two buffers; a broken version keeps the old one running",
                ),
            ]
            .into_iter()
            .chain(Counters::param_specs("How many hook calls have failed", Some("script")))
            .collect()
        });
        PROPERTIES.as_ref()
    }

    fn set_property(&self, _id: usize, value: &glib::Value, pspec: &glib::ParamSpec) {
        let mut settings = self.settings.lock().unwrap();
        match pspec.name() {
            "script" => {
                settings.script = value
                    .get::<Option<String>>()
                    .expect("type checked upstream")
                    .map(PathBuf::from)
            }
            "instruction-limit" => settings.instruction_limit = value.get().expect("type checked upstream"),
            "memory-limit-mb" => settings.memory_limit_mb = value.get().expect("type checked upstream"),
            "on-error" => settings.on_error = value.get().expect("type checked upstream"),
            "watch" => settings.watch = value.get().expect("type checked upstream"),
            other => unreachable!("unknown property {other}"),
        }
    }

    fn property(&self, _id: usize, pspec: &glib::ParamSpec) -> glib::Value {
        if let Some(count) = self.counters.property(pspec.name()) {
            return count;
        }
        let settings = self.settings.lock().unwrap();
        match pspec.name() {
            "script" => settings.script.as_ref().map(|p| p.display().to_string()).to_value(),
            "instruction-limit" => settings.instruction_limit.to_value(),
            "memory-limit-mb" => settings.memory_limit_mb.to_value(),
            "on-error" => settings.on_error.to_value(),
            "watch" => settings.watch.to_value(),
            other => unreachable!("unknown property {other}"),
        }
    }
}

impl GstObjectImpl for LuaStage {}

impl ElementImpl for LuaStage {
    fn metadata() -> Option<&'static gst::subclass::ElementMetadata> {
        static METADATA: LazyLock<gst::subclass::ElementMetadata> = LazyLock::new(|| {
            gst::subclass::ElementMetadata::new(
                "Slate Lua stage",
                "Filter/Metadata",
                "Calls a sandboxed Lua script's process(buf) for every buffer: timing, metadata, drop, bytes on request",
                "Slate developers",
            )
        });
        Some(&*METADATA)
    }

    fn pad_templates() -> &'static [gst::PadTemplate] {
        static TEMPLATES: LazyLock<Vec<gst::PadTemplate>> = LazyLock::new(crate::any_media_templates);
        TEMPLATES.as_ref()
    }

    fn change_state(&self, transition: gst::StateChange) -> Result<gst::StateChangeSuccess, gst::StateChangeError> {
        match transition {
            gst::StateChange::NullToReady => self.load()?,
            gst::StateChange::ReadyToNull => {
                if let Some(mut state) = self.state.lock().unwrap().take()
                    && let Err(e) = state.script.unload()
                {
                    gst::warning!(CAT, imp = self, "unload() failed: {e}");
                }
            }
            _ => {}
        }
        self.parent_change_state(transition)
    }
}

impl BaseTransformImpl for LuaStage {
    const MODE: gst_base::subclass::BaseTransformMode = gst_base::subclass::BaseTransformMode::AlwaysInPlace;
    const PASSTHROUGH_ON_SAME_CAPS: bool = false;
    const TRANSFORM_IP_ON_PASSTHROUGH: bool = false;

    fn set_caps(&self, incaps: &gst::Caps, _outcaps: &gst::Caps) -> Result<(), gst::LoggableError> {
        if let Some(state) = self.state.lock().unwrap().as_mut()
            && let Err(e) = state.script.on_caps(&incaps.to_string())
        {
            gst::element_imp_warning!(self, gst::LibraryError::Failed, ("Script on_caps failed: {e}"));
        }
        Ok(())
    }

    fn transform_ip(&self, buffer: &mut gst::BufferRef) -> Result<gst::FlowSuccess, gst::FlowError> {
        let mut state = self.state.lock().unwrap();
        let state = state.as_mut().ok_or(gst::FlowError::Flushing)?;
        self.swap_in_new_version(state);
        // The bytes are mapped only if the script calls buf:bytes().
        let snapshot = buffer.to_owned();
        let mut view = Buffer::new(
            buffer.pts().map(|t| t.nseconds()),
            buffer.duration().map(|t| t.nseconds()),
            SlateMeta::record_of(buffer),
        )
        .with_bytes(move || snapshot.map_readable().map(|m| m.to_vec()).unwrap_or_default());
        match state.script.process(&mut view) {
            Ok(()) if view.dropped => Ok(gst_base::BASE_TRANSFORM_FLOW_DROPPED),
            Ok(()) => {
                buffer.set_pts(view.pts.map(gst::ClockTime::from_nseconds));
                buffer.set_duration(view.duration.map(gst::ClockTime::from_nseconds));
                SlateMeta::set(buffer, view.record);
                Ok(gst::FlowSuccess::Ok)
            }
            Err(error) => self.on_fault(&state.path, &error, buffer.pts()),
        }
    }
}

impl LuaStage {
    fn load(&self) -> Result<(), gst::StateChangeError> {
        let settings = self.settings.lock().unwrap().clone();
        let Some(path) = settings.script.clone() else {
            gst::element_imp_error!(
                self,
                gst::LibraryError::Settings,
                ("No `script` set: give the path of a .lua stage script")
            );
            return Err(gst::StateChangeError);
        };
        let script = Script::load(&path, settings.limits()).map_err(|e| {
            gst::element_imp_error!(
                self,
                gst::LibraryError::Init,
                ("Cannot load script (property `script`): {e}")
            );
            gst::StateChangeError
        })?;
        let limits = settings.limits();
        let reloader = sandbox::watch(self, settings.watch, &path, move |path| {
            Script::load(path, limits.clone()).map_err(|e| e.to_string())
        });
        *self.state.lock().unwrap() = Some(State { script, path, reloader });
        Ok(())
    }

    /// Between two buffers: the new version takes over (the old one's
    /// `unload` runs first); a version that failed to load never runs.
    fn swap_in_new_version(&self, state: &mut State) {
        let Some(next) = state.reloader.as_ref().and_then(Reloader::take) else {
            return;
        };
        match next {
            Ok(script) => {
                if let Err(e) = state.script.unload() {
                    gst::warning!(CAT, imp = self, "unload() of the old version failed: {e}");
                }
                state.script = script;
                self.counters.reloaded();
                gst::info!(CAT, imp = self, "script {} reloaded", state.path.display());
            }
            Err(why) => {
                let what = format!("Script {}", state.path.display());
                self.counters.reload_refused(self, &what, &why);
            }
        }
    }

    /// Counts the failure, tells the bus, and applies `on-error`.
    fn on_fault(
        &self,
        path: &std::path::Path,
        error: &ScriptError,
        pts: Option<gst::ClockTime>,
    ) -> Result<gst::FlowSuccess, gst::FlowError> {
        let policy = self.settings.lock().unwrap().on_error;
        let message = gst::Structure::builder(SCRIPT_FAULT_MESSAGE)
            .field("script", path.display().to_string())
            .field("cause", error.cause())
            .field("message", error.to_string())
            .field_if_some("pts", pts.map(|t| t.nseconds()))
            .build();
        self.counters
            .fault(self, &CAT, policy, message, &format!("Script {error}"))
            .map(OnError::transform_outcome)
    }
}
