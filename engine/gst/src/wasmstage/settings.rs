//! What the WASM elements (`wasmstage`, `wasmsrc`, `wasmaudiosrc`) share:
//! the properties that say which plugin runs and under which limits, the
//! caps of the WIT formats, and the fault message. What they share with
//! `luastage` is in the sandbox module.

use std::path::PathBuf;
use std::time::Duration;

use gst::glib;
use gst::prelude::*;
use slate_wasm::{AudioInfo, Fault, FrameInfo, Host, Limits, PixelFormat, Plugin, SampleFormat, Stage, World};

use crate::sandbox::OnError;

const DEFAULT_DEADLINE_MS: u32 = 200;
const DEFAULT_MEMORY_MB: u32 = 256;

/// Element message posted for every fault: plugin, world, cause, policy.
pub const FAULT_MESSAGE: &str = "slate-plugin-fault";

#[derive(Debug, Clone)]
pub struct StageSettings {
    pub plugin: Option<PathBuf>,
    pub config: String,
    pub deadline_ms: u32,
    pub memory_limit_mb: u32,
    pub on_error: OnError,
}

impl Default for StageSettings {
    fn default() -> Self {
        StageSettings {
            plugin: None,
            config: String::new(),
            deadline_ms: DEFAULT_DEADLINE_MS,
            memory_limit_mb: DEFAULT_MEMORY_MB,
            on_error: OnError::default(),
        }
    }
}

impl StageSettings {
    /// The shared properties; `kind` names the plugin world(s) in blurbs.
    pub fn param_specs(kind: &str) -> Vec<glib::ParamSpec> {
        vec![
            glib::ParamSpecString::builder("plugin")
                .nick("Plugin")
                .blurb(&format!(
                    "Path of the WASM component (.wasm) implementing a slate:plugin {kind} world"
                ))
                .mutable_ready()
                .build(),
            glib::ParamSpecString::builder("config")
                .nick("Config")
                .blurb("Configuration string handed to the plugin (JSON or TOML, as the plugin documents)")
                .default_value(Some(""))
                .mutable_ready()
                .build(),
            glib::ParamSpecUInt::builder("deadline-ms")
                .nick("Deadline")
                .blurb("Longest one call into the plugin may run, in milliseconds")
                .minimum(1)
                .maximum(60_000)
                .default_value(DEFAULT_DEADLINE_MS)
                .mutable_ready()
                .build(),
            glib::ParamSpecUInt::builder("memory-limit-mb")
                .nick("Memory limit")
                .blurb("Most memory the plugin instance may use, in MiB")
                .minimum(1)
                .maximum(4096)
                .default_value(DEFAULT_MEMORY_MB)
                .mutable_ready()
                .build(),
            OnError::param_spec("What to do with a buffer the plugin failed on"),
        ]
    }

    /// Sets one of the shared properties.
    pub fn set(&mut self, name: &str, value: &glib::Value) {
        match name {
            "plugin" => {
                self.plugin = value
                    .get::<Option<String>>()
                    .expect("type checked upstream")
                    .map(PathBuf::from)
            }
            "config" => {
                self.config = value
                    .get::<Option<String>>()
                    .expect("type checked upstream")
                    .unwrap_or_default()
            }
            "deadline-ms" => self.deadline_ms = value.get().expect("type checked upstream"),
            "memory-limit-mb" => self.memory_limit_mb = value.get().expect("type checked upstream"),
            "on-error" => self.on_error = value.get().expect("type checked upstream"),
            other => unreachable!("unknown property {other}"),
        }
    }

    pub fn get(&self, name: &str) -> glib::Value {
        match name {
            "plugin" => self.plugin.as_ref().map(|p| p.display().to_string()).to_value(),
            "config" => self.config.to_value(),
            "deadline-ms" => self.deadline_ms.to_value(),
            "memory-limit-mb" => self.memory_limit_mb.to_value(),
            "on-error" => self.on_error.to_value(),
            other => unreachable!("unknown property {other}"),
        }
    }

    pub fn limits(&self) -> Limits {
        Limits {
            deadline: Duration::from_millis(self.deadline_ms.into()),
            memory: (self.memory_limit_mb as usize) << 20,
        }
    }

    /// Loads the plugin, checks it is one `element` runs (`runs`, named
    /// `worlds` in the message) and starts its instance with `config`.
    pub fn start_stage(
        &self,
        element: &str,
        worlds: &str,
        runs: impl Fn(&Plugin) -> bool,
    ) -> Result<Stage, gst::ErrorMessage> {
        let Some(path) = self.plugin.as_ref() else {
            return Err(gst::error_msg!(
                gst::LibraryError::Settings,
                ("No `plugin` set: give the path of a .wasm component")
            ));
        };
        let plugin = Host::global()
            .and_then(|host| host.load(path))
            .map_err(|e| gst::error_msg!(gst::LibraryError::Init, ("Cannot load plugin (property `plugin`): {e}")))?;
        if !runs(&plugin) {
            return Err(gst::error_msg!(
                gst::LibraryError::Init,
                (
                    "Plugin {} is a {} plugin; {element} runs {worlds} plugins",
                    path.display(),
                    plugin.description.world.name()
                )
            ));
        }
        Stage::new(plugin, &self.config, self.limits()).map_err(|fault| {
            gst::error_msg!(
                gst::LibraryError::Settings,
                (
                    "Plugin {} refused to start (property `config`): {fault}",
                    path.display()
                )
            )
        })
    }
}

/// The worlds that run on buffers flowing through `wasmstage`.
pub fn runs_on_buffers(plugin: &Plugin) -> bool {
    matches!(
        plugin.description.world,
        World::VideoFilter | World::AudioFilter | World::Analyzer
    )
}

/// The `slate-plugin-fault` message for one fault (the sandbox adds the
/// policy and the count).
pub fn fault_message(plugin: &Plugin, fault: &Fault, pts: Option<u64>) -> gst::Structure {
    gst::Structure::builder(FAULT_MESSAGE)
        .field("plugin", plugin.path.display().to_string())
        .field("world", plugin.description.world.name())
        .field("cause", fault.cause())
        .field("message", fault.to_string())
        .field_if_some("pts", pts)
        .build()
}

/// The pixel and sample formats of the WIT contract, by GStreamer name.
const VIDEO_FORMATS: [(PixelFormat, gst_video::VideoFormat); 5] = [
    (PixelFormat::Rgba, gst_video::VideoFormat::Rgba),
    (PixelFormat::Bgra, gst_video::VideoFormat::Bgra),
    (PixelFormat::Rgbx, gst_video::VideoFormat::Rgbx),
    (PixelFormat::Bgrx, gst_video::VideoFormat::Bgrx),
    (PixelFormat::Gray8, gst_video::VideoFormat::Gray8),
];
const AUDIO_FORMATS: [(SampleFormat, gst_audio::AudioFormat); 2] = [
    (SampleFormat::F32le, gst_audio::AudioFormat::F32le),
    (SampleFormat::S16le, gst_audio::AudioFormat::S16le),
];

fn video_caps(formats: &[PixelFormat]) -> gst::Caps {
    let formats = formats
        .iter()
        .filter_map(|f| VIDEO_FORMATS.iter().find(|(p, _)| p == f).map(|(_, g)| *g));
    gst_video::VideoCapsBuilder::new().format_list(formats).build()
}

fn audio_caps(formats: &[SampleFormat]) -> gst::Caps {
    let formats = formats
        .iter()
        .filter_map(|f| AUDIO_FORMATS.iter().find(|(s, _)| s == f).map(|(_, g)| *g));
    gst_audio::AudioCapsBuilder::new_interleaved()
        .format_list(formats)
        .build()
}

/// Video caps a plugin accepts (all WIT formats when none is loaded).
pub fn video_caps_for(plugin: Option<&Plugin>) -> gst::Caps {
    match plugin {
        Some(plugin) => video_caps(&plugin.description.video_formats),
        None => video_caps(&VIDEO_FORMATS.map(|(f, _)| f)),
    }
}

/// Audio caps a plugin accepts (all WIT formats when none is loaded).
pub fn audio_caps_for(plugin: Option<&Plugin>) -> gst::Caps {
    match plugin {
        Some(plugin) => audio_caps(&plugin.description.audio_formats),
        None => audio_caps(&AUDIO_FORMATS.map(|(f, _)| f)),
    }
}

/// Video and audio caps a plugin accepts (everything WIT carries when none is loaded).
pub fn media_caps_for(plugin: Option<&Plugin>) -> gst::Caps {
    let (video, audio) = match plugin {
        Some(plugin) => (
            plugin.description.video_formats.clone(),
            plugin.description.audio_formats.clone(),
        ),
        None => (
            VIDEO_FORMATS.map(|(f, _)| f).to_vec(),
            AUDIO_FORMATS.map(|(f, _)| f).to_vec(),
        ),
    };
    let mut caps = gst::Caps::new_empty();
    if !video.is_empty() {
        caps.merge(video_caps(&video));
    }
    if !audio.is_empty() {
        caps.merge(audio_caps(&audio));
    }
    caps
}

/// The frame layout negotiated in `caps`, as the plugin sees it.
pub fn video_info_of(caps: &gst::Caps) -> Option<(FrameInfo, gst_video::VideoInfo)> {
    let info = gst_video::VideoInfo::from_caps(caps).ok()?;
    let format = VIDEO_FORMATS.iter().find(|(_, g)| *g == info.format())?.0;
    let frame = FrameInfo {
        width: info.width(),
        height: info.height(),
        format,
        stride: info.stride()[0] as u32,
        pts: None,
        duration: None,
    };
    Some((frame, info))
}

/// The audio layout negotiated in `caps`, as the plugin sees it.
pub fn audio_info_of(caps: &gst::Caps) -> Option<AudioInfo> {
    let info = gst_audio::AudioInfo::from_caps(caps).ok()?;
    let format = AUDIO_FORMATS.iter().find(|(_, g)| *g == info.format())?.0;
    Some(AudioInfo {
        rate: info.rate(),
        channels: info.channels(),
        format,
        frames: 0,
        pts: None,
        duration: None,
    })
}
