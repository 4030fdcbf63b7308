//! The Slate guest SDK: write a WASM stage as one `impl` and one macro.
//!
//! ```ignore
//! use slate_plugin_sdk::prelude::*;
//!
//! struct Invert;
//!
//! impl VideoFilter for Invert {
//!     fn describe() -> Description {
//!         describe_video_filter("invert", &[PixelFormat::Rgba])
//!     }
//!     fn new(_config: &str) -> Result<Self, PluginError> {
//!         Ok(Invert)
//!     }
//!     fn process(&mut self, _info: &FrameInfo, pixels: &mut Vec<u8>, _meta: &mut Metadata) -> Result<(), PluginError> {
//!         pixels.iter_mut().for_each(|p| *p = 255 - *p);
//!         Ok(())
//!     }
//! }
//!
//! slate_plugin_sdk::video_filter!(Invert);
//! ```
//! Build with `cargo build --release --target wasm32-wasip2`; the `.wasm`
//! is a component the `wasmstage` element loads. The SDK hides wit-bindgen:
//! the generated modules are public only for the macros.

#[doc(hidden)]
#[allow(clippy::too_many_arguments)] // generated
pub mod video_filter {
    wit_bindgen::generate!({
        path: "../../sdk-wit/since_v0.1.0",
        world: "slate:plugin/video-filter@0.1.0",
        pub_export_macro: true,
        export_macro_name: "export_video_filter",
        default_bindings_module: "slate_plugin_sdk::video_filter",
        generate_all,
    });
}

/// Another world of 0.1.0, sharing the interfaces generated in `video_filter`.
macro_rules! world_of_v0_1 {
    ($module:ident, $world:tt, $export:tt, $path:tt) => {
        #[doc(hidden)]
        #[allow(clippy::too_many_arguments)] // generated
        pub mod $module {
            wit_bindgen::generate!({
                path: "../../sdk-wit/since_v0.1.0",
                world: $world,
                pub_export_macro: true,
                export_macro_name: $export,
                default_bindings_module: $path,
                with: {
                    "slate:plugin/types@0.1.0": crate::video_filter::slate::plugin::types,
                    "slate:plugin/log@0.1.0": crate::video_filter::slate::plugin::log,
                    "slate:plugin/metrics@0.1.0": crate::video_filter::slate::plugin::metrics,
                    "slate:plugin/config@0.1.0": crate::video_filter::slate::plugin::config,
                    "slate:plugin/clock@0.1.0": crate::video_filter::slate::plugin::clock,
                    "slate:plugin/events@0.1.0": crate::video_filter::slate::plugin::events,
                },
            });
        }
    };
}

world_of_v0_1!(
    audio_filter,
    "slate:plugin/audio-filter@0.1.0",
    "export_audio_filter",
    "slate_plugin_sdk::audio_filter"
);
world_of_v0_1!(
    analyzer,
    "slate:plugin/analyzer@0.1.0",
    "export_analyzer",
    "slate_plugin_sdk::analyzer"
);
world_of_v0_1!(
    generator,
    "slate:plugin/generator@0.1.0",
    "export_generator",
    "slate_plugin_sdk::generator"
);
world_of_v0_1!(
    provenance_policy,
    "slate:plugin/provenance-policy@0.1.0",
    "export_provenance_policy",
    "slate_plugin_sdk::provenance_policy"
);

world_of_v0_1!(
    ranker,
    "slate:plugin/ranker@0.1.0",
    "export_ranker",
    "slate_plugin_sdk::ranker"
);

use video_filter::slate::plugin as wit;

/// Everything a plugin file needs.
pub mod prelude {
    pub use crate::wit::types::{
        AudioInfo, Bbox, Candidate, Decision, Description, Field, FrameInfo, Metadata, Object, PixelFormat,
        PluginError, Ranked, Relation, RelationKind, SampleFormat, Value, Verdict, WorldKind,
    };
    pub use crate::{
        Analyzer, AudioFilter, Generator, ProvenancePolicy, Ranker, VideoFilter, clock, describe_analyzer,
        describe_audio_filter, describe_generator, describe_provenance_policy, describe_ranker, describe_video_filter,
        events, log, metrics,
    };
}

use prelude::*;

/// Host logging, shown in the pipeline's log under the stage's name.
pub mod log {
    use crate::wit::log::{Level, log};
    pub fn debug(message: &str) {
        log(Level::Debug, message)
    }
    pub fn info(message: &str) {
        log(Level::Info, message)
    }
    pub fn warn(message: &str) {
        log(Level::Warn, message)
    }
    pub fn error(message: &str) {
        log(Level::Error, message)
    }
}

pub use wit::{clock, events, metrics};

/// A video filter: pixels and metadata in, pixels and metadata out.
pub trait VideoFilter: Sized + 'static {
    fn describe() -> Description;
    /// Makes the filter from the stage's `config` string.
    fn new(config: &str) -> Result<Self, PluginError>;
    /// Changes `pixels` (laid out as `info` says) and `meta` in place.
    fn process(&mut self, info: &FrameInfo, pixels: &mut Vec<u8>, meta: &mut Metadata) -> Result<(), PluginError>;
}

/// An audio filter over interleaved samples.
pub trait AudioFilter: Sized + 'static {
    fn describe() -> Description;
    fn new(config: &str) -> Result<Self, PluginError>;
    fn process(&mut self, info: &AudioInfo, samples: &mut Vec<u8>, meta: &mut Metadata) -> Result<(), PluginError>;
}

/// An analyzer: reads media, adds metadata; media passes on untouched.
pub trait Analyzer: Sized + 'static {
    fn describe() -> Description;
    fn new(config: &str) -> Result<Self, PluginError>;
    fn analyze_frame(&mut self, info: &FrameInfo, pixels: &[u8], meta: &mut Metadata) -> Result<(), PluginError>;
    fn analyze_audio(&mut self, _info: &AudioInfo, _samples: &[u8], _meta: &mut Metadata) -> Result<(), PluginError> {
        Err(PluginError::Unsupported("this analyzer reads video only".into()))
    }
}

/// A source: makes the frame (or audio block) the host asks for.
pub trait Generator: Sized + 'static {
    fn describe() -> Description;
    fn new(config: &str) -> Result<Self, PluginError>;
    /// Returns `info.stride * info.height` bytes of pixels for time `info.pts`.
    fn generate_frame(&mut self, info: &FrameInfo, meta: &mut Metadata) -> Result<Vec<u8>, PluginError>;
    fn generate_audio(&mut self, _info: &AudioInfo, _meta: &mut Metadata) -> Result<Vec<u8>, PluginError> {
        Err(PluginError::Unsupported("this generator makes video only".into()))
    }
}

/// A provenance policy: decides what happens to ingested media from its
/// C2PA validation report (the JSON `slate verify` prints).
pub trait ProvenancePolicy: Sized + 'static {
    fn describe() -> Description;
    fn new(config: &str) -> Result<Self, PluginError>;
    fn decide(&mut self, report_json: &str) -> Result<Verdict, PluginError>;
}

/// A feed ranker: re-scores candidates for a user (house rules,
/// editorial boosts). Return the candidates whose score changes; the host
/// keeps the rest, and keeps all of them if this fails.
pub trait Ranker: Sized + 'static {
    fn describe() -> Description;
    fn new(config: &str) -> Result<Self, PluginError>;
    fn rank(&mut self, user: &[Field], candidates: &[Candidate]) -> Result<Vec<Ranked>, PluginError>;
}

fn description(name: &str, world: WorldKind, video: &[PixelFormat], audio: &[SampleFormat]) -> Description {
    Description {
        name: name.into(),
        version: "0.1.0".into(),
        world,
        video_formats: video.to_vec(),
        audio_formats: audio.to_vec(),
        config_schema: String::new(),
    }
}

/// A description for a video filter taking `formats` (best first).
pub fn describe_video_filter(name: &str, formats: &[PixelFormat]) -> Description {
    description(name, WorldKind::VideoFilter, formats, &[])
}

pub fn describe_audio_filter(name: &str, formats: &[SampleFormat]) -> Description {
    description(name, WorldKind::AudioFilter, &[], formats)
}

pub fn describe_analyzer(name: &str, video: &[PixelFormat], audio: &[SampleFormat]) -> Description {
    description(name, WorldKind::Analyzer, video, audio)
}

pub fn describe_generator(name: &str, video: &[PixelFormat], audio: &[SampleFormat]) -> Description {
    description(name, WorldKind::Generator, video, audio)
}

pub fn describe_provenance_policy(name: &str) -> Description {
    description(name, WorldKind::ProvenancePolicy, &[], &[])
}

pub fn describe_ranker(name: &str) -> Description {
    description(name, WorldKind::Ranker, &[], &[])
}

/// The plugin's state between calls (one instance per stream, one thread).
#[doc(hidden)]
pub struct Slot<T>(std::cell::RefCell<Option<T>>);

impl<T> Default for Slot<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> Slot<T> {
    pub const fn new() -> Self {
        Slot(std::cell::RefCell::new(None))
    }

    pub fn init(&self, make: impl FnOnce(&str) -> Result<T, PluginError>) -> Result<(), PluginError> {
        let config = wit::config::get();
        *self.0.borrow_mut() = Some(make(&config)?);
        Ok(())
    }

    pub fn with<R>(&self, f: impl FnOnce(&mut T) -> Result<R, PluginError>) -> Result<R, PluginError> {
        let mut state = self.0.borrow_mut();
        let state = state
            .as_mut()
            .ok_or_else(|| PluginError::Failed("called before init".into()))?;
        f(state)
    }
}

// SAFETY: a component instance is single-threaded.
unsafe impl<T> Sync for Slot<T> {}

/// Exports `$t` (a [`VideoFilter`]) as the plugin.
#[macro_export]
macro_rules! video_filter {
    ($t:ty) => {
        static __SLATE_STATE: $crate::Slot<$t> = $crate::Slot::new();
        struct __SlateGuest;
        impl $crate::video_filter::Guest for __SlateGuest {
            fn describe() -> $crate::prelude::Description {
                <$t as $crate::VideoFilter>::describe()
            }
            fn init() -> Result<(), $crate::prelude::PluginError> {
                __SLATE_STATE.init(<$t as $crate::VideoFilter>::new)
            }
            fn process_frame(
                info: $crate::prelude::FrameInfo,
                mut pixels: Vec<u8>,
                mut meta: $crate::prelude::Metadata,
            ) -> Result<$crate::video_filter::slate::plugin::types::VideoOutput, $crate::prelude::PluginError> {
                __SLATE_STATE.with(|s| <$t as $crate::VideoFilter>::process(s, &info, &mut pixels, &mut meta))?;
                Ok($crate::video_filter::slate::plugin::types::VideoOutput { pixels, meta })
            }
        }
        $crate::video_filter::export_video_filter!(__SlateGuest);
    };
}

/// Exports `$t` (an [`AudioFilter`]) as the plugin.
#[macro_export]
macro_rules! audio_filter {
    ($t:ty) => {
        static __SLATE_STATE: $crate::Slot<$t> = $crate::Slot::new();
        struct __SlateGuest;
        impl $crate::audio_filter::Guest for __SlateGuest {
            fn describe() -> $crate::prelude::Description {
                <$t as $crate::AudioFilter>::describe()
            }
            fn init() -> Result<(), $crate::prelude::PluginError> {
                __SLATE_STATE.init(<$t as $crate::AudioFilter>::new)
            }
            fn process_audio(
                info: $crate::prelude::AudioInfo,
                mut samples: Vec<u8>,
                mut meta: $crate::prelude::Metadata,
            ) -> Result<$crate::video_filter::slate::plugin::types::AudioOutput, $crate::prelude::PluginError> {
                __SLATE_STATE.with(|s| <$t as $crate::AudioFilter>::process(s, &info, &mut samples, &mut meta))?;
                Ok($crate::video_filter::slate::plugin::types::AudioOutput { samples, meta })
            }
        }
        $crate::audio_filter::export_audio_filter!(__SlateGuest);
    };
}

/// Exports `$t` (an [`Analyzer`]) as the plugin.
#[macro_export]
macro_rules! analyzer {
    ($t:ty) => {
        static __SLATE_STATE: $crate::Slot<$t> = $crate::Slot::new();
        struct __SlateGuest;
        impl $crate::analyzer::Guest for __SlateGuest {
            fn describe() -> $crate::prelude::Description {
                <$t as $crate::Analyzer>::describe()
            }
            fn init() -> Result<(), $crate::prelude::PluginError> {
                __SLATE_STATE.init(<$t as $crate::Analyzer>::new)
            }
            fn analyze_frame(
                info: $crate::prelude::FrameInfo,
                pixels: Vec<u8>,
                mut meta: $crate::prelude::Metadata,
            ) -> Result<$crate::prelude::Metadata, $crate::prelude::PluginError> {
                __SLATE_STATE.with(|s| <$t as $crate::Analyzer>::analyze_frame(s, &info, &pixels, &mut meta))?;
                Ok(meta)
            }
            fn analyze_audio(
                info: $crate::prelude::AudioInfo,
                samples: Vec<u8>,
                mut meta: $crate::prelude::Metadata,
            ) -> Result<$crate::prelude::Metadata, $crate::prelude::PluginError> {
                __SLATE_STATE.with(|s| <$t as $crate::Analyzer>::analyze_audio(s, &info, &samples, &mut meta))?;
                Ok(meta)
            }
        }
        $crate::analyzer::export_analyzer!(__SlateGuest);
    };
}

/// A number from the config, `default` when absent, refused (naming the
/// key and the range) outside `min..=max`.
pub fn config_in_range(config: &str, key: &str, default: f64, min: f64, max: f64) -> Result<f64, PluginError> {
    let value = config_number(config, key)?.unwrap_or(default);
    if !(min..=max).contains(&value) {
        return Err(PluginError::BadConfig(format!(
            "`{key}` must be from {min} to {max}, got {value}"
        )));
    }
    Ok(value)
}

/// Audio samples as floats (-1..1), whatever their format.
pub fn samples_f32(format: SampleFormat, bytes: &[u8]) -> Vec<f32> {
    match format {
        SampleFormat::F32le => bytes
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect(),
        SampleFormat::S16le => bytes
            .chunks_exact(2)
            .map(|b| f32::from(i16::from_le_bytes([b[0], b[1]])) / 32768.0)
            .collect(),
    }
}

/// Writes float samples back in `format` (16-bit rounds and clips).
pub fn store_f32(format: SampleFormat, samples: &[f32], bytes: &mut Vec<u8>) {
    bytes.clear();
    match format {
        SampleFormat::F32le => bytes.extend(samples.iter().flat_map(|s| s.to_le_bytes())),
        SampleFormat::S16le => bytes.extend(samples.iter().flat_map(|s| {
            ((s * 32768.0).round().clamp(f32::from(i16::MIN), f32::from(i16::MAX)) as i16).to_le_bytes()
        })),
    }
}

/// Reads a number from a flat JSON object config like `{"gain": 1.5}`,
/// without pulling a JSON parser into every plugin.
pub fn config_number(config: &str, key: &str) -> Result<Option<f64>, PluginError> {
    let config = config.trim();
    if config.is_empty() {
        return Ok(None);
    }
    let quoted = format!("\"{key}\"");
    let Some(at) = config.find(&quoted) else {
        return Ok(None);
    };
    let rest = config[at + quoted.len()..].trim_start();
    let rest = rest
        .strip_prefix(':')
        .ok_or_else(|| PluginError::BadConfig(format!("`{key}` must be followed by `:`")))?;
    let number: String = rest
        .trim_start()
        .chars()
        .take_while(|c| c.is_ascii_digit() || matches!(c, '.' | '-' | '+' | 'e' | 'E'))
        .collect();
    number
        .parse::<f64>()
        .map(Some)
        .map_err(|_| PluginError::BadConfig(format!("`{key}` must be a number, e.g. {{\"{key}\": 1.5}}")))
}

/// Exports `$t` (a [`Generator`]) as the plugin.
#[macro_export]
macro_rules! generator {
    ($t:ty) => {
        static __SLATE_STATE: $crate::Slot<$t> = $crate::Slot::new();
        struct __SlateGuest;
        impl $crate::generator::Guest for __SlateGuest {
            fn describe() -> $crate::prelude::Description {
                <$t as $crate::Generator>::describe()
            }
            fn init() -> Result<(), $crate::prelude::PluginError> {
                __SLATE_STATE.init(<$t as $crate::Generator>::new)
            }
            fn generate_frame(
                info: $crate::prelude::FrameInfo,
            ) -> Result<$crate::video_filter::slate::plugin::types::VideoOutput, $crate::prelude::PluginError> {
                let mut meta = $crate::prelude::Metadata {
                    fields: Vec::new(),
                    objects: Vec::new(),
                    relations: Vec::new(),
                };
                let pixels = __SLATE_STATE.with(|s| <$t as $crate::Generator>::generate_frame(s, &info, &mut meta))?;
                Ok($crate::video_filter::slate::plugin::types::VideoOutput { pixels, meta })
            }
            fn generate_audio(
                info: $crate::prelude::AudioInfo,
            ) -> Result<$crate::video_filter::slate::plugin::types::AudioOutput, $crate::prelude::PluginError> {
                let mut meta = $crate::prelude::Metadata {
                    fields: Vec::new(),
                    objects: Vec::new(),
                    relations: Vec::new(),
                };
                let samples = __SLATE_STATE.with(|s| <$t as $crate::Generator>::generate_audio(s, &info, &mut meta))?;
                Ok($crate::video_filter::slate::plugin::types::AudioOutput { samples, meta })
            }
        }
        $crate::generator::export_generator!(__SlateGuest);
    };
}

/// Exports `$t` (a [`ProvenancePolicy`]) as the plugin.
#[macro_export]
macro_rules! provenance_policy {
    ($t:ty) => {
        static __SLATE_STATE: $crate::Slot<$t> = $crate::Slot::new();
        struct __SlateGuest;
        impl $crate::provenance_policy::Guest for __SlateGuest {
            fn describe() -> $crate::prelude::Description {
                <$t as $crate::ProvenancePolicy>::describe()
            }
            fn init() -> Result<(), $crate::prelude::PluginError> {
                __SLATE_STATE.init(<$t as $crate::ProvenancePolicy>::new)
            }
            fn decide(report_json: String) -> Result<$crate::prelude::Verdict, $crate::prelude::PluginError> {
                __SLATE_STATE.with(|s| <$t as $crate::ProvenancePolicy>::decide(s, &report_json))
            }
        }
        $crate::provenance_policy::export_provenance_policy!(__SlateGuest);
    };
}

/// Exports `$t` (a [`Ranker`]) as the plugin.
#[macro_export]
macro_rules! ranker {
    ($t:ty) => {
        static __SLATE_STATE: $crate::Slot<$t> = $crate::Slot::new();
        struct __SlateGuest;
        impl $crate::ranker::Guest for __SlateGuest {
            fn describe() -> $crate::prelude::Description {
                <$t as $crate::Ranker>::describe()
            }
            fn init() -> Result<(), $crate::prelude::PluginError> {
                __SLATE_STATE.init(<$t as $crate::Ranker>::new)
            }
            fn rank(
                user: Vec<$crate::prelude::Field>,
                candidates: Vec<$crate::prelude::Candidate>,
            ) -> Result<Vec<$crate::prelude::Ranked>, $crate::prelude::PluginError> {
                __SLATE_STATE.with(|s| <$t as $crate::Ranker>::rank(s, &user, &candidates))
            }
        }
        $crate::ranker::export_ranker!(__SlateGuest);
    };
}
