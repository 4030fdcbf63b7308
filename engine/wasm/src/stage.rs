//! A running plugin instance for one stream: calls under a deadline and a
//! memory cap, faults classified, the instance made anew after a fault.

use std::sync::Arc;
use std::time::Duration;

use slate_meta::Record;
use wasmtime::Store;

use crate::bindings::types as wit;
use crate::convert::{metadata_from_wit, metadata_to_wit};
use crate::error::Fault;
use crate::host::TICK;
use crate::plugin::{Bindings, Plugin, World};
use crate::state::{Event, State};

pub use wit::{
    AudioInfo, Candidate as RankCandidate, Decision, Field as RankField, FrameInfo, Ranked, Value as RankValue, Verdict,
};

/// What one plugin instance may use.
#[derive(Debug, Clone, PartialEq)]
pub struct Limits {
    /// Longest a single call may run.
    pub deadline: Duration,
    /// Most linear memory the instance may grow to, in bytes.
    pub memory: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            deadline: Duration::from_millis(200),
            memory: 256 << 20,
        }
    }
}

pub(crate) fn new_store(plugin: &Plugin, config: &str, limits: &Limits) -> Store<State> {
    let name = plugin
        .path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut store = Store::new(&plugin.engine, State::new(&name, config, limits.memory));
    store.limiter(|state| &mut state.memory);
    store.epoch_deadline_trap();
    store
}

/// Runs `call` under the deadline and classifies what went wrong.
pub(crate) fn guarded<R>(
    store: &mut Store<State>,
    limits: &Limits,
    call: impl FnOnce(&mut Store<State>) -> wasmtime::Result<R>,
) -> Result<R, Fault> {
    store.data_mut().memory.refused = false;
    let ticks = limits.deadline.as_nanos().div_ceil(TICK.as_nanos()) as u64 + 1;
    store.set_epoch_deadline(ticks);
    call(store).map_err(|error| {
        if store.data().memory.refused {
            Fault::OutOfMemory(limits.memory)
        } else if error.downcast_ref::<wasmtime::Trap>() == Some(&wasmtime::Trap::Interrupt) {
            Fault::Timeout(limits.deadline)
        } else {
            let stderr = store.data().stderr_tail();
            let trap = error
                .downcast_ref::<wasmtime::Trap>()
                .map(|t| t.to_string())
                .unwrap_or_else(|| format!("{error:#}"));
            Fault::Trap(if stderr.is_empty() {
                trap
            } else {
                format!("{trap} ({stderr})")
            })
        }
    })
}

fn plugin_fault(error: wit::PluginError) -> Fault {
    Fault::Plugin(match error {
        wit::PluginError::BadConfig(why) => format!("bad config: {why}"),
        wit::PluginError::Unsupported(why) => format!("unsupported: {why}"),
        wit::PluginError::Failed(why) => why,
    })
}

/// One plugin instance serving one stream.
pub struct Stage {
    plugin: Arc<Plugin>,
    config: String,
    limits: Limits,
    live: Option<(Store<State>, Bindings)>,
}

impl std::fmt::Debug for Stage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stage")
            .field("plugin", &self.plugin.path)
            .field("live", &self.live.is_some())
            .finish()
    }
}

impl Stage {
    /// Instantiates `plugin` and runs its `init` with `config`, so a bad
    /// config is an error now rather than on the first buffer.
    pub fn new(plugin: Arc<Plugin>, config: &str, limits: Limits) -> Result<Stage, Fault> {
        let mut stage = Stage {
            plugin,
            config: config.to_owned(),
            limits,
            live: None,
        };
        stage.live()?;
        Ok(stage)
    }

    pub fn plugin(&self) -> &Arc<Plugin> {
        &self.plugin
    }

    /// Events the plugin posted since the last call of this.
    pub fn take_events(&mut self) -> Vec<Event> {
        self.live
            .as_mut()
            .map(|(store, _)| std::mem::take(&mut store.data_mut().events))
            .unwrap_or_default()
    }

    /// Counters the plugin keeps (`metrics.counter-add`).
    pub fn counters(&self) -> std::collections::BTreeMap<String, u64> {
        self.live
            .as_ref()
            .map(|(store, _)| store.data().counters.clone())
            .unwrap_or_default()
    }

    fn live(&mut self) -> Result<&mut (Store<State>, Bindings), Fault> {
        if self.live.is_none() {
            let mut store = new_store(&self.plugin, &self.config, &self.limits);
            let bindings = guarded(&mut store, &self.limits, |store| self.plugin.bind(store))?;
            let init = guarded(&mut store, &self.limits, |store| bindings.init(store))?;
            init.map_err(plugin_fault)?;
            self.live = Some((store, bindings));
        }
        Ok(self.live.as_mut().expect("made above"))
    }

    /// Calls the plugin; drops the instance if the call left it unusable.
    fn call<R>(
        &mut self,
        call: impl FnOnce(&mut Store<State>, &Bindings) -> wasmtime::Result<Result<R, wit::PluginError>>,
    ) -> Result<R, Fault> {
        let limits = self.limits.clone();
        let (store, bindings) = self.live()?;
        let result = guarded(store, &limits, |store| call(store, bindings)).and_then(|r| r.map_err(plugin_fault));
        if result.as_ref().is_err_and(Fault::poisons_instance) {
            self.live = None;
        }
        result
    }

    fn wrong_world(&self, wanted: World) -> Fault {
        Fault::Plugin(format!(
            "is a {} plugin, not a {}",
            self.plugin.description.world.name(),
            wanted.name()
        ))
    }

    /// Runs a video filter on one frame: new pixels (same size) and metadata.
    pub fn process_frame(&mut self, info: FrameInfo, pixels: &[u8], meta: &Record) -> Result<(Vec<u8>, Record), Fault> {
        if self.plugin.description.world != World::VideoFilter {
            return Err(self.wrong_world(World::VideoFilter));
        }
        let meta = metadata_to_wit(meta);
        let output = self.call(|store, bindings| match bindings {
            Bindings::Video(b) => b.call_process_frame(store, info, pixels, &meta),
            _ => unreachable!("world checked above"),
        })?;
        if output.pixels.len() != pixels.len() {
            return Err(Fault::BadOutput(format!(
                "{} bytes for a {}x{} frame of {} bytes",
                output.pixels.len(),
                info.width,
                info.height,
                pixels.len()
            )));
        }
        let meta = metadata_from_wit(output.meta).map_err(|e| Fault::BadOutput(e.to_string()))?;
        Ok((output.pixels, meta))
    }

    /// Runs an audio filter on one block: new samples (same size) and metadata.
    pub fn process_audio(
        &mut self,
        info: AudioInfo,
        samples: &[u8],
        meta: &Record,
    ) -> Result<(Vec<u8>, Record), Fault> {
        if self.plugin.description.world != World::AudioFilter {
            return Err(self.wrong_world(World::AudioFilter));
        }
        let meta = metadata_to_wit(meta);
        let output = self.call(|store, bindings| match bindings {
            Bindings::Audio(b) => b.call_process_audio(store, info, samples, &meta),
            _ => unreachable!("world checked above"),
        })?;
        if output.samples.len() != samples.len() {
            return Err(Fault::BadOutput(format!(
                "{} bytes for an audio block of {} bytes",
                output.samples.len(),
                samples.len()
            )));
        }
        let meta = metadata_from_wit(output.meta).map_err(|e| Fault::BadOutput(e.to_string()))?;
        Ok((output.samples, meta))
    }

    /// Runs an analyzer on one frame: the metadata it returns.
    pub fn analyze_frame(&mut self, info: FrameInfo, pixels: &[u8], meta: &Record) -> Result<Record, Fault> {
        if self.plugin.description.world != World::Analyzer {
            return Err(self.wrong_world(World::Analyzer));
        }
        let meta = metadata_to_wit(meta);
        let output = self.call(|store, bindings| match bindings {
            Bindings::Analyzer(b) => b.call_analyze_frame(store, info, pixels, &meta),
            _ => unreachable!("world checked above"),
        })?;
        metadata_from_wit(output).map_err(|e| Fault::BadOutput(e.to_string()))
    }

    /// Asks a generator for the frame described by `info` (size, format,
    /// time): its pixels (exactly `stride * height` bytes) and metadata.
    pub fn generate_frame(&mut self, info: FrameInfo) -> Result<(Vec<u8>, Record), Fault> {
        if self.plugin.description.world != World::Generator {
            return Err(self.wrong_world(World::Generator));
        }
        let output = self.call(|store, bindings| match bindings {
            Bindings::Generator(b) => b.call_generate_frame(store, info),
            _ => unreachable!("world checked above"),
        })?;
        let expected = info.stride as usize * info.height as usize;
        if output.pixels.len() != expected {
            return Err(Fault::BadOutput(format!(
                "{} bytes for a {}x{} frame of {expected} bytes",
                output.pixels.len(),
                info.width,
                info.height
            )));
        }
        let meta = metadata_from_wit(output.meta).map_err(|e| Fault::BadOutput(e.to_string()))?;
        Ok((output.pixels, meta))
    }

    /// Asks a generator for the audio block described by `info` (rate,
    /// channels, format, `frames` samples per channel, time): exactly that
    /// many interleaved samples, and metadata.
    pub fn generate_audio(&mut self, info: AudioInfo) -> Result<(Vec<u8>, Record), Fault> {
        if self.plugin.description.world != World::Generator {
            return Err(self.wrong_world(World::Generator));
        }
        let output = self.call(|store, bindings| match bindings {
            Bindings::Generator(b) => b.call_generate_audio(store, info),
            _ => unreachable!("world checked above"),
        })?;
        let width = match info.format {
            wit::SampleFormat::F32le => 4,
            wit::SampleFormat::S16le => 2,
        };
        let expected = info.frames as usize * info.channels as usize * width;
        if output.samples.len() != expected {
            return Err(Fault::BadOutput(format!(
                "{} bytes for {} samples of {} channels ({expected} bytes)",
                output.samples.len(),
                info.frames,
                info.channels
            )));
        }
        let meta = metadata_from_wit(output.meta).map_err(|e| Fault::BadOutput(e.to_string()))?;
        Ok((output.samples, meta))
    }

    /// Asks a ranker to re-score feed `candidates` for `user`.
    pub fn rank(&mut self, user: Vec<RankField>, candidates: Vec<RankCandidate>) -> Result<Vec<Ranked>, Fault> {
        if self.plugin.description.world != World::Ranker {
            return Err(self.wrong_world(World::Ranker));
        }
        self.call(|store, bindings| match bindings {
            Bindings::Ranker(b) => b.call_rank(store, &user, &candidates),
            _ => unreachable!("world checked above"),
        })
    }

    /// Asks a provenance policy what to do with media whose C2PA report
    /// (JSON) is `report`.
    pub fn decide(&mut self, report: &str) -> Result<Verdict, Fault> {
        if self.plugin.description.world != World::ProvenancePolicy {
            return Err(self.wrong_world(World::ProvenancePolicy));
        }
        self.call(|store, bindings| match bindings {
            Bindings::Policy(b) => b.call_decide(store, report),
            _ => unreachable!("world checked above"),
        })
    }
}
