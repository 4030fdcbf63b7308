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
//! slate_plugin_sdk::export!(video_filter: Invert);
//! ```
//! Build with `cargo build --release --target wasm32-wasip2`; the `.wasm`
//! is a component the `wasmstage` element loads. The SDK builds against
//! the newest WIT version (`sdk-wit/since_v0.3.0`); older versions live only
//! in the host, which still loads plugins built against them. It hides
//! wit-bindgen: the generated modules are public only for the macro. A
//! plugin's `describe()` reports the plugin crate's own version.

#[doc(hidden)]
#[allow(clippy::too_many_arguments)] // generated
pub mod video_filter {
    wit_bindgen::generate!({
        path: "../../sdk-wit/since_v0.3.0",
        world: "slate:plugin/video-filter@0.3.0",
        pub_export_macro: true,
        export_macro_name: "export_video_filter",
        default_bindings_module: "slate_plugin_sdk::video_filter",
        generate_all,
    });
}

/// Another world of 0.3.0, sharing the interfaces generated in `video_filter`.
macro_rules! world_of {
    ($module:ident, $world:tt, $export:tt, $path:tt) => {
        #[doc(hidden)]
        #[allow(clippy::too_many_arguments)] // generated
        pub mod $module {
            wit_bindgen::generate!({
                path: "../../sdk-wit/since_v0.3.0",
                world: $world,
                pub_export_macro: true,
                export_macro_name: $export,
                default_bindings_module: $path,
                with: {
                    "slate:plugin/types@0.3.0": crate::video_filter::slate::plugin::types,
                    "slate:plugin/log@0.3.0": crate::video_filter::slate::plugin::log,
                    "slate:plugin/metrics@0.3.0": crate::video_filter::slate::plugin::metrics,
                    "slate:plugin/config@0.3.0": crate::video_filter::slate::plugin::config,
                    "slate:plugin/clock@0.3.0": crate::video_filter::slate::plugin::clock,
                    "slate:plugin/events@0.3.0": crate::video_filter::slate::plugin::events,
                    "slate:plugin/inference@0.3.0": crate::video_filter::slate::plugin::inference,
                },
            });
        }
    };
}

world_of!(
    audio_filter,
    "slate:plugin/audio-filter@0.3.0",
    "export_audio_filter",
    "slate_plugin_sdk::audio_filter"
);
world_of!(
    analyzer,
    "slate:plugin/analyzer@0.3.0",
    "export_analyzer",
    "slate_plugin_sdk::analyzer"
);
world_of!(
    generator,
    "slate:plugin/generator@0.3.0",
    "export_generator",
    "slate_plugin_sdk::generator"
);
world_of!(
    provenance_policy,
    "slate:plugin/provenance-policy@0.3.0",
    "export_provenance_policy",
    "slate_plugin_sdk::provenance_policy"
);

world_of!(
    ranker,
    "slate:plugin/ranker@0.3.0",
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
        Analyzer, AudioFilter, Config, DescriptionExt, Generator, ProvenancePolicy, Ranker, VideoFilter, clock,
        describe_analyzer, describe_audio_filter, describe_generator, describe_provenance_policy, describe_ranker,
        describe_video_filter, events, inference, log, metrics,
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

pub use wit::{clock, events, inference, metrics};

mod config;
pub use config::Config;
/// The JSON values a [`Config`] holds.
pub use serde_json as json;

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

/// A description without a version: [`export!`] fills in the plugin
/// crate's own.
fn description(name: &str, world: WorldKind, video: &[PixelFormat], audio: &[SampleFormat]) -> Description {
    Description {
        name: name.into(),
        version: String::new(),
        world,
        video_formats: video.to_vec(),
        audio_formats: audio.to_vec(),
        config_schema: String::new(),
    }
}

/// What a plugin adds to the description the `describe_*` functions make.
pub trait DescriptionExt {
    /// What the plugin's config takes, shown by `slate inspect` and the
    /// stage's errors: a JSON object of key -> what it means.
    fn config_schema(self, schema: &str) -> Self;
}

impl DescriptionExt for Description {
    fn config_schema(mut self, schema: &str) -> Self {
        self.config_schema = schema.into();
        self
    }
}

/// `description` with `version` where the plugin gave none.
#[doc(hidden)]
pub fn versioned(mut description: Description, version: &str) -> Description {
    if description.version.is_empty() {
        description.version = version.into();
    }
    description
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

/// Exports `$t` as the plugin of one world: `export!(video_filter: T)`
/// for a [`VideoFilter`], likewise `audio_filter`, `analyzer`, `generator`,
/// `provenance_policy` and `ranker` for the trait of that name.
#[macro_export]
macro_rules! export {
    (video_filter: $t:ty) => {
        $crate::export!(@guest video_filter, export_video_filter, VideoFilter, $t, {
            fn process_frame(
                info: $crate::prelude::FrameInfo,
                mut pixels: Vec<u8>,
                mut meta: $crate::prelude::Metadata,
            ) -> Result<$crate::__types::VideoOutput, $crate::prelude::PluginError> {
                __SLATE_STATE.with(|s| <$t as $crate::VideoFilter>::process(s, &info, &mut pixels, &mut meta))?;
                Ok($crate::__types::VideoOutput { pixels, meta })
            }
        });
    };
    (audio_filter: $t:ty) => {
        $crate::export!(@guest audio_filter, export_audio_filter, AudioFilter, $t, {
            fn process_audio(
                info: $crate::prelude::AudioInfo,
                mut samples: Vec<u8>,
                mut meta: $crate::prelude::Metadata,
            ) -> Result<$crate::__types::AudioOutput, $crate::prelude::PluginError> {
                __SLATE_STATE.with(|s| <$t as $crate::AudioFilter>::process(s, &info, &mut samples, &mut meta))?;
                Ok($crate::__types::AudioOutput { samples, meta })
            }
        });
    };
    (analyzer: $t:ty) => {
        $crate::export!(@guest analyzer, export_analyzer, Analyzer, $t, {
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
        });
    };
    (generator: $t:ty) => {
        $crate::export!(@guest generator, export_generator, Generator, $t, {
            fn generate_frame(
                info: $crate::prelude::FrameInfo,
            ) -> Result<$crate::__types::VideoOutput, $crate::prelude::PluginError> {
                let mut meta = $crate::empty_metadata();
                let pixels = __SLATE_STATE.with(|s| <$t as $crate::Generator>::generate_frame(s, &info, &mut meta))?;
                Ok($crate::__types::VideoOutput { pixels, meta })
            }
            fn generate_audio(
                info: $crate::prelude::AudioInfo,
            ) -> Result<$crate::__types::AudioOutput, $crate::prelude::PluginError> {
                let mut meta = $crate::empty_metadata();
                let samples = __SLATE_STATE.with(|s| <$t as $crate::Generator>::generate_audio(s, &info, &mut meta))?;
                Ok($crate::__types::AudioOutput { samples, meta })
            }
        });
    };
    (provenance_policy: $t:ty) => {
        $crate::export!(@guest provenance_policy, export_provenance_policy, ProvenancePolicy, $t, {
            fn decide(report_json: String) -> Result<$crate::prelude::Verdict, $crate::prelude::PluginError> {
                __SLATE_STATE.with(|s| <$t as $crate::ProvenancePolicy>::decide(s, &report_json))
            }
        });
    };
    (ranker: $t:ty) => {
        $crate::export!(@guest ranker, export_ranker, Ranker, $t, {
            fn rank(
                user: Vec<$crate::prelude::Field>,
                candidates: Vec<$crate::prelude::Candidate>,
            ) -> Result<Vec<$crate::prelude::Ranked>, $crate::prelude::PluginError> {
                __SLATE_STATE.with(|s| <$t as $crate::Ranker>::rank(s, &user, &candidates))
            }
        });
    };
    // What every world shares: the state, describe (with the plugin
    // crate's version) and init (with the stage's config).
    (@guest $world:ident, $export:ident, $trait:ident, $t:ty, { $($calls:tt)* }) => {
        static __SLATE_STATE: $crate::Slot<$t> = $crate::Slot::new();
        struct __SlateGuest;
        impl $crate::$world::Guest for __SlateGuest {
            fn describe() -> $crate::prelude::Description {
                $crate::versioned(<$t as $crate::$trait>::describe(), env!("CARGO_PKG_VERSION"))
            }
            fn init() -> Result<(), $crate::prelude::PluginError> {
                __SLATE_STATE.init(<$t as $crate::$trait>::new)
            }
            $($calls)*
        }
        $crate::$world::$export!(__SlateGuest);
    };
}

#[doc(hidden)]
pub use wit::types as __types;

/// Metadata with nothing in it, for a generator to fill.
#[doc(hidden)]
pub fn empty_metadata() -> Metadata {
    Metadata {
        fields: Vec::new(),
        objects: Vec::new(),
        relations: Vec::new(),
    }
}
