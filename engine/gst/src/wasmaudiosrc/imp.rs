use std::sync::{LazyLock, Mutex};

use gst::glib;
use gst::prelude::*;
use gst::subclass::prelude::*;
use gst_base::prelude::*;
use gst_base::subclass::base_src::CreateSuccess;
use gst_base::subclass::prelude::*;
use slate_wasm::{AudioInfo, Stage, World};

use crate::SlateMeta;
use crate::sandbox::Counters;
use crate::wasmstage::{StageSettings, audio_caps_for, audio_info_of, fault_message};

static CAT: LazyLock<gst::DebugCategory> = LazyLock::new(|| {
    gst::DebugCategory::new(
        "wasmaudiosrc",
        gst::DebugColorFlags::empty(),
        Some("Slate WASM audio source"),
    )
});

const DEFAULT_SAMPLES_PER_BUFFER: u32 = 1024;

/// Exists from READY on.
struct State {
    stage: Stage,
    info: Option<(AudioInfo, gst_audio::AudioInfo)>,
    /// Samples (per channel) made so far.
    next: u64,
}

pub struct WasmAudioSrc {
    settings: Mutex<StageSettings>,
    samples_per_buffer: Mutex<u32>,
    state: Mutex<Option<State>>,
    counters: Counters,
}

impl Default for WasmAudioSrc {
    fn default() -> Self {
        WasmAudioSrc {
            settings: Mutex::default(),
            samples_per_buffer: Mutex::new(DEFAULT_SAMPLES_PER_BUFFER),
            state: Mutex::default(),
            counters: Counters::default(),
        }
    }
}

#[glib::object_subclass]
impl ObjectSubclass for WasmAudioSrc {
    const NAME: &'static str = "GstWasmAudioSrc";
    type Type = super::WasmAudioSrc;
    type ParentType = gst_base::PushSrc;
}

impl ObjectImpl for WasmAudioSrc {
    fn properties() -> &'static [glib::ParamSpec] {
        static PROPERTIES: LazyLock<Vec<glib::ParamSpec>> = LazyLock::new(|| {
            let mut properties = StageSettings::param_specs("generator");
            properties.push(
                glib::ParamSpecUInt::builder("samples-per-buffer")
                    .nick("Samples per buffer")
                    .blurb("Samples (per channel) the plugin makes per call")
                    .minimum(1)
                    .maximum(1 << 20)
                    .default_value(DEFAULT_SAMPLES_PER_BUFFER)
                    .mutable_ready()
                    .build(),
            );
            properties.extend(Counters::param_specs("How many blocks the plugin failed to make", None));
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
            "samples-per-buffer" => {
                *self.samples_per_buffer.lock().unwrap() = value.get().expect("type checked upstream")
            }
            name => self.settings.lock().unwrap().set(name, value),
        }
    }

    fn property(&self, _id: usize, pspec: &glib::ParamSpec) -> glib::Value {
        if let Some(count) = self.counters.property(pspec.name()) {
            return count;
        }
        match pspec.name() {
            "samples-per-buffer" => self.samples_per_buffer.lock().unwrap().to_value(),
            name => self.settings.lock().unwrap().get(name),
        }
    }
}

impl GstObjectImpl for WasmAudioSrc {}

impl ElementImpl for WasmAudioSrc {
    fn metadata() -> Option<&'static gst::subclass::ElementMetadata> {
        static METADATA: LazyLock<gst::subclass::ElementMetadata> = LazyLock::new(|| {
            gst::subclass::ElementMetadata::new(
                "WASM audio generator",
                "Source/Audio",
                "Makes audio with a sandboxed WebAssembly component plugin (slate:plugin generator)",
                "Slate developers",
            )
        });
        Some(&*METADATA)
    }

    fn pad_templates() -> &'static [gst::PadTemplate] {
        static TEMPLATES: LazyLock<Vec<gst::PadTemplate>> =
            LazyLock::new(|| crate::src_templates(&audio_caps_for(None)));
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

impl BaseSrcImpl for WasmAudioSrc {
    fn caps(&self, filter: Option<&gst::Caps>) -> Option<gst::Caps> {
        let state = self.state.lock().unwrap();
        let caps = audio_caps_for(state.as_ref().map(|s| s.stage.plugin().as_ref()));
        Some(crate::filtered(caps, filter))
    }

    fn fixate(&self, mut caps: gst::Caps) -> gst::Caps {
        caps.truncate();
        if let Some(s) = caps.make_mut().structure_mut(0) {
            s.fixate_field_nearest_int("rate", 48_000);
            s.fixate_field_nearest_int("channels", 1);
            // Stems are channels, not speakers: more than two unpositioned.
            if s.get::<i32>("channels").is_ok_and(|c| c > 2) && !s.has_field("channel-mask") {
                s.set("channel-mask", gst::Bitmask::new(0));
            }
        }
        self.parent_fixate(caps)
    }

    fn set_caps(&self, caps: &gst::Caps) -> Result<(), gst::LoggableError> {
        let info = audio_info_of(caps).ok_or_else(|| gst::loggable_error!(CAT, "unsupported caps {caps}"))?;
        let audio =
            gst_audio::AudioInfo::from_caps(caps).map_err(|_| gst::loggable_error!(CAT, "not audio: {caps}"))?;
        if let Some(state) = self.state.lock().unwrap().as_mut() {
            state.info = Some((info, audio));
        }
        Ok(())
    }

    fn is_seekable(&self) -> bool {
        false
    }

    fn start(&self) -> Result<(), gst::ErrorMessage> {
        if let Some(state) = self.state.lock().unwrap().as_mut() {
            state.next = 0;
        }
        Ok(())
    }
}

impl PushSrcImpl for WasmAudioSrc {
    fn create(&self, _buffer: Option<&mut gst::BufferRef>) -> Result<CreateSuccess, gst::FlowError> {
        let frames = u64::from(*self.samples_per_buffer.lock().unwrap());
        let mut state = self.state.lock().unwrap();
        let state = state.as_mut().ok_or(gst::FlowError::Flushing)?;
        let (info, audio) = state.info.clone().ok_or(gst::FlowError::NotNegotiated)?;
        let rate = u64::from(audio.rate());
        let n = state.next;
        state.next += frames;
        let time = |samples: u64| {
            samples
                .mul_div_floor(gst::ClockTime::SECOND.nseconds(), rate)
                .unwrap_or(0)
        };
        let (pts, duration) = (time(n), time(n + frames) - time(n));
        let made = state.stage.generate_audio(AudioInfo {
            frames: frames as u32,
            pts: Some(pts),
            duration: Some(duration),
            ..info
        });
        let (samples, record) = match made {
            Ok(made) => made,
            Err(fault) => {
                let policy = self.settings.lock().unwrap().on_error;
                let plugin = state.stage.plugin();
                let what = format!("Plugin {} {fault}", plugin.path.display());
                let message = fault_message(plugin, &fault, Some(pts));
                self.counters.fault(self, &CAT, policy, message, &what)?;
                // Otherwise the block is silence, so time goes on.
                (vec![0u8; frames as usize * audio.bpf() as usize], Default::default())
            }
        };
        let mut buffer = gst::Buffer::from_mut_slice(samples);
        let b = buffer.get_mut().expect("a new buffer is writable");
        b.set_pts(gst::ClockTime::from_nseconds(pts));
        b.set_duration(gst::ClockTime::from_nseconds(duration));
        b.set_offset(n);
        b.set_offset_end(n + frames);
        if !record.is_empty() {
            SlateMeta::add(b, record);
        }
        Ok(CreateSuccess::NewBuffer(buffer))
    }
}

impl WasmAudioSrc {
    fn load(&self) -> Result<(), gst::StateChangeError> {
        let settings = self.settings.lock().unwrap().clone();
        let makes_audio =
            |p: &slate_wasm::Plugin| p.description.world == World::Generator && !p.description.audio_formats.is_empty();
        let stage = settings
            .start_stage("wasmaudiosrc", "audio generator", makes_audio)
            .map_err(|e| {
                self.post_error_message(e);
                gst::StateChangeError
            })?;
        *self.state.lock().unwrap() = Some(State {
            stage,
            info: None,
            next: 0,
        });
        Ok(())
    }
}
