//! A loaded plugin: compiled, pre-linked, and described by itself.

use std::path::{Path, PathBuf};

use wasmtime::Store;
use wasmtime::component::{Component, InstancePre};

use crate::bindings::types as wit;
use crate::bindings::{analyzer, audio_filter, generator, provenance_policy, ranker, video_filter};
use crate::error::LoadError;
use crate::host::{Host, Origin};
use crate::state::State;

/// The WIT world a plugin implements.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum World {
    VideoFilter,
    AudioFilter,
    Generator,
    Analyzer,
    ProvenancePolicy,
    Ranker,
}

impl World {
    pub fn name(self) -> &'static str {
        match self {
            World::VideoFilter => "video-filter",
            World::AudioFilter => "audio-filter",
            World::Generator => "generator",
            World::Analyzer => "analyzer",
            World::ProvenancePolicy => "provenance-policy",
            World::Ranker => "ranker",
        }
    }

    fn of(kind: wit::WorldKind) -> World {
        match kind {
            wit::WorldKind::VideoFilter => World::VideoFilter,
            wit::WorldKind::AudioFilter => World::AudioFilter,
            wit::WorldKind::Generator => World::Generator,
            wit::WorldKind::Analyzer => World::Analyzer,
            wit::WorldKind::ProvenancePolicy => World::ProvenancePolicy,
            wit::WorldKind::Ranker => World::Ranker,
        }
    }
}

pub use wit::{PixelFormat, SampleFormat};

/// What a plugin says about itself in `describe()`.
#[derive(Debug, Clone, PartialEq)]
pub struct Description {
    pub name: String,
    pub version: String,
    pub world: World,
    pub video_formats: Vec<PixelFormat>,
    pub audio_formats: Vec<SampleFormat>,
    pub config_schema: String,
}

/// A plugin ready to instantiate: one per file version, shared by stages.
pub struct Plugin {
    pub path: PathBuf,
    /// SHA-256 of the file, hex: names the exact code that ran.
    pub hash: String,
    pub description: Description,
    pub origin: Origin,
    pub(crate) engine: wasmtime::Engine,
    pub(crate) pre: InstancePre<State>,
}

impl std::fmt::Debug for Plugin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Plugin")
            .field("path", &self.path)
            .field("description", &self.description)
            .finish()
    }
}

/// An instance of one of the worlds the host runs.
pub(crate) enum Bindings {
    Video(video_filter::VideoFilter),
    Audio(audio_filter::AudioFilter),
    Analyzer(analyzer::Analyzer),
    Generator(generator::Generator),
    Policy(provenance_policy::ProvenancePolicy),
    Ranker(ranker::Ranker),
}

impl Bindings {
    pub(crate) fn describe(&self, store: &mut Store<State>) -> wasmtime::Result<wit::Description> {
        match self {
            Bindings::Video(b) => b.call_describe(store),
            Bindings::Audio(b) => b.call_describe(store),
            Bindings::Analyzer(b) => b.call_describe(store),
            Bindings::Generator(b) => b.call_describe(store),
            Bindings::Policy(b) => b.call_describe(store),
            Bindings::Ranker(b) => b.call_describe(store),
        }
    }

    pub(crate) fn init(&self, store: &mut Store<State>) -> wasmtime::Result<Result<(), wit::PluginError>> {
        match self {
            Bindings::Video(b) => b.call_init(store),
            Bindings::Audio(b) => b.call_init(store),
            Bindings::Analyzer(b) => b.call_init(store),
            Bindings::Generator(b) => b.call_init(store),
            Bindings::Policy(b) => b.call_init(store),
            Bindings::Ranker(b) => b.call_init(store),
        }
    }
}

impl Plugin {
    pub(crate) fn describe(
        host: &Host,
        path: &Path,
        hash: String,
        component: Component,
        world: World,
        origin: Origin,
    ) -> Result<Plugin, LoadError> {
        let instantiate_error = |e: wasmtime::Error| LoadError::Instantiate {
            path: path.to_owned(),
            why: format!("{e:#}"),
        };
        let pre = host.linker.instantiate_pre(&component).map_err(instantiate_error)?;
        let mut plugin = Plugin {
            path: path.to_owned(),
            hash,
            description: Description {
                name: String::new(),
                version: String::new(),
                world,
                video_formats: Vec::new(),
                audio_formats: Vec::new(),
                config_schema: String::new(),
            },
            origin,
            engine: host.engine.clone(),
            pre,
        };
        let limits = crate::Limits::default();
        let mut store = crate::stage::new_store(&plugin, "", &limits);
        let bindings = plugin.bind(&mut store).map_err(instantiate_error)?;
        let said = crate::stage::guarded(&mut store, &limits, |store| bindings.describe(store)).map_err(|fault| {
            LoadError::Describe {
                path: path.to_owned(),
                fault,
            }
        })?;
        if World::of(said.world) != world {
            return Err(LoadError::WorldMismatch {
                path: path.to_owned(),
                said: World::of(said.world).name().into(),
                actual: world.name().into(),
            });
        }
        plugin.description = Description {
            name: said.name,
            version: said.version,
            world,
            video_formats: said.video_formats,
            audio_formats: said.audio_formats,
            config_schema: said.config_schema,
        };
        Ok(plugin)
    }

    /// Instantiates the plugin's world in `store`.
    pub(crate) fn bind(&self, store: &mut Store<State>) -> wasmtime::Result<Bindings> {
        Ok(match self.description.world {
            World::VideoFilter => {
                Bindings::Video(video_filter::VideoFilterPre::new(self.pre.clone())?.instantiate(store)?)
            }
            World::AudioFilter => {
                Bindings::Audio(audio_filter::AudioFilterPre::new(self.pre.clone())?.instantiate(store)?)
            }
            World::Analyzer => Bindings::Analyzer(analyzer::AnalyzerPre::new(self.pre.clone())?.instantiate(store)?),
            World::Generator => {
                Bindings::Generator(generator::GeneratorPre::new(self.pre.clone())?.instantiate(store)?)
            }
            World::ProvenancePolicy => {
                Bindings::Policy(provenance_policy::ProvenancePolicyPre::new(self.pre.clone())?.instantiate(store)?)
            }
            World::Ranker => Bindings::Ranker(ranker::RankerPre::new(self.pre.clone())?.instantiate(store)?),
        })
    }
}
