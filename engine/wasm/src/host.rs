//! The process-wide WASM host: one engine, an epoch ticker for deadlines, a
//! linker with the capabilities, and a precompiled-component cache on disk.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use wasmtime::component::{Component, HasSelf, Linker, types::ComponentItem};
use wasmtime::{Config, Engine};

use crate::bindings::{v0_2, v0_3, video_filter};
use crate::error::LoadError;
use crate::plugin::{Plugin, World};
use crate::state::State;

/// How often the deadline clock ticks.
pub(crate) const TICK: Duration = Duration::from_millis(2);

pub struct Host {
    pub(crate) engine: Engine,
    pub(crate) linker: Linker<State>,
    cache_dir: Option<PathBuf>,
}

/// Where a plugin's machine code came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// Compiled now (and written to the cache).
    Compiled,
    /// Read back from the precompiled cache.
    Cached,
}

impl Host {
    /// The shared host, caching in `wasm/` in Slate's cache folder
    /// ([`slate_store::cache_dir`]).
    pub fn global() -> Result<&'static Host, LoadError> {
        static HOST: OnceLock<Result<Host, String>> = OnceLock::new();
        HOST.get_or_init(|| Host::new(Some(slate_store::cache_dir().join("wasm"))).map_err(|e| e.to_string()))
            .as_ref()
            .map_err(|e| LoadError::Engine(e.clone()))
    }

    /// A host with its own engine; `cache_dir` None disables the cache.
    pub fn new(cache_dir: Option<PathBuf>) -> Result<Host, LoadError> {
        let mut config = Config::new();
        config.wasm_component_model(true).epoch_interruption(true);
        let engine = Engine::new(&config).map_err(|e| LoadError::Engine(e.to_string()))?;
        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker).map_err(|e| LoadError::Engine(e.to_string()))?;
        // Every world imports the same capabilities: link them once, in
        // every version of the contract the host supports.
        video_filter::VideoFilter::add_to_linker::<State, HasSelf<State>>(&mut linker, |s| s)
            .map_err(|e| LoadError::Engine(e.to_string()))?;
        v0_2::Capabilities::add_to_linker::<State, HasSelf<State>>(&mut linker, |s| s)
            .map_err(|e| LoadError::Engine(e.to_string()))?;
        v0_3::Capabilities::add_to_linker::<State, HasSelf<State>>(&mut linker, |s| s)
            .map_err(|e| LoadError::Engine(e.to_string()))?;
        start_ticker(&engine);
        Ok(Host {
            engine,
            linker,
            cache_dir,
        })
    }

    /// Loads (compiling or reading back from the cache) and describes a
    /// plugin file.
    pub fn load(&self, path: &Path) -> Result<Arc<Plugin>, LoadError> {
        let started = Instant::now();
        let bytes = std::fs::read(path).map_err(|source| LoadError::Read {
            path: path.to_owned(),
            source,
        })?;
        let hash = hash_of(&bytes);
        let (component, origin) = self.component(path, &bytes, &hash)?;
        let world = detect_world(&self.engine, &component).ok_or_else(|| LoadError::NoWorld {
            path: path.to_owned(),
            exports: exports(&self.engine, &component),
        })?;
        let plugin = Plugin::describe(self, path, hash, component, world, origin)?;
        tracing::debug!("loaded {} ({:?}) in {:?}", path.display(), origin, started.elapsed());
        Ok(Arc::new(plugin))
    }

    fn component(&self, path: &Path, bytes: &[u8], hash: &str) -> Result<(Component, Origin), LoadError> {
        let cached = self.cache_dir.as_ref().map(|dir| {
            // Keyed by the engine's build and settings too: wasmtime refuses
            // (and we then recompile) code made by another one.
            let mut engine_key = std::collections::hash_map::DefaultHasher::new();
            std::hash::Hash::hash(&self.engine.precompile_compatibility_hash(), &mut engine_key);
            dir.join(format!("{hash}-{:016x}.cwasm", std::hash::Hasher::finish(&engine_key)))
        });
        if let Some(file) = cached.as_ref().filter(|f| f.exists()) {
            // SAFETY: the cache holds only what `serialize` below wrote for
            // this engine's configuration (keyed by its compatibility hash).
            match unsafe { Component::deserialize_file(&self.engine, file) } {
                Ok(component) => return Ok((component, Origin::Cached)),
                Err(e) => tracing::warn!("ignoring unreadable cache entry {}: {e}", file.display()),
            }
        }
        let component = Component::new(&self.engine, bytes).map_err(|e| LoadError::NotAComponent {
            path: path.to_owned(),
            why: format!("{e:#}"),
        })?;
        if let Some(file) = cached
            && let Err(e) = write_cache(&file, &component)
        {
            tracing::warn!("cannot cache compiled plugin at {}: {e}", file.display());
        }
        Ok((component, Origin::Compiled))
    }
}

/// Writes atomically, so a concurrent reader never sees half a file.
fn write_cache(file: &Path, component: &Component) -> Result<(), Box<dyn std::error::Error>> {
    let dir = file.parent().ok_or("cache path has no folder")?;
    std::fs::create_dir_all(dir)?;
    let bytes = component.serialize()?;
    let partial = file.with_extension(format!("partial-{}", std::process::id()));
    std::fs::write(&partial, bytes)?;
    std::fs::rename(&partial, file)?;
    Ok(())
}

/// Increments the engine's epoch every tick; deadlines count ticks.
fn start_ticker(engine: &Engine) {
    let weak = engine.weak();
    std::thread::Builder::new()
        .name("slate-wasm-epoch".into())
        .spawn(move || {
            while let Some(engine) = weak.upgrade() {
                engine.increment_epoch();
                drop(engine);
                std::thread::sleep(TICK);
            }
        })
        .expect("the epoch thread starts");
}

/// The world a component implements, from the function it exports.
fn detect_world(engine: &Engine, component: &Component) -> Option<World> {
    let names: Vec<String> = component
        .component_type()
        .exports(engine)
        .map(|(name, _)| name.to_owned())
        .collect();
    let has = |name: &str| names.iter().any(|n| n == name);
    if !has("describe") {
        return None;
    }
    [
        ("process-frame", World::VideoFilter),
        ("process-audio", World::AudioFilter),
        ("analyze-frame", World::Analyzer),
        ("generate-frame", World::Generator),
        ("decide", World::ProvenancePolicy),
        ("rank", World::Ranker),
    ]
    .into_iter()
    .find(|(export, _)| has(export))
    .map(|(_, world)| world)
}

fn exports(engine: &Engine, component: &Component) -> String {
    let names: Vec<String> = component
        .component_type()
        .exports(engine)
        .map(|(name, item)| match item {
            ComponentItem::ComponentFunc(_) => format!("{name}()"),
            _ => name.to_owned(),
        })
        .collect();
    if names.is_empty() {
        "nothing".into()
    } else {
        names.join(", ")
    }
}

/// The SHA-256 of a plugin file, hex: the name of the exact code that runs.
pub fn hash_of(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
