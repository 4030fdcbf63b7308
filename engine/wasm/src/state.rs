//! What a plugin instance's store holds: the capabilities granted to that
//! plugin and nothing else, and the limits it runs under.

use std::collections::BTreeMap;
use std::time::Instant;

use wasmtime::component::ResourceTable;
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use crate::bindings::types::Field;
use crate::bindings::video_filter::slate::plugin as wit;
use crate::convert::field_to_meta;

/// An event a plugin posted; the stage forwards it to the bus.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub name: String,
    pub fields: Vec<(String, slate_meta::Value)>,
}

/// Caps the memory a plugin may grow to; notes when it tried to exceed it.
pub(crate) struct MemoryCap {
    pub limit: usize,
    pub refused: bool,
}

impl wasmtime::ResourceLimiter for MemoryCap {
    fn memory_growing(&mut self, _current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        let allowed = desired <= self.limit;
        self.refused |= !allowed;
        Ok(allowed)
    }

    fn table_growing(&mut self, _current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        Ok(desired <= 1 << 20)
    }
}

/// Where a plugin's stderr goes: a bounded buffer, shown when it traps
/// (a Rust guest's panic message is written there).
const STDERR_BYTES: usize = 16 * 1024;

pub(crate) struct State {
    wasi: WasiCtx,
    table: ResourceTable,
    pub memory: MemoryCap,
    pub stderr: MemoryOutputPipe,
    config: String,
    plugin: String,
    started: Instant,
    pub events: Vec<Event>,
    pub counters: BTreeMap<String, u64>,
    pub gauges: BTreeMap<String, f64>,
    /// Models this instance opened through `inference`.
    models: slate_onnx::PinnedSessions,
}

impl State {
    pub fn new(plugin: &str, config: &str, memory_limit: usize) -> State {
        let stderr = MemoryOutputPipe::new(STDERR_BYTES);
        // No filesystem, no network, no environment: WASI is linked only
        // because Rust's std imports it.
        let wasi = WasiCtx::builder()
            .stderr(stderr.clone())
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false)
            .build();
        State {
            wasi,
            table: ResourceTable::new(),
            memory: MemoryCap {
                limit: memory_limit,
                refused: false,
            },
            stderr,
            config: config.to_owned(),
            plugin: plugin.to_owned(),
            started: Instant::now(),
            events: Vec::new(),
            counters: BTreeMap::new(),
            gauges: BTreeMap::new(),
            models: Default::default(),
        }
    }

    /// The last lines the plugin wrote to stderr.
    pub fn stderr_tail(&self) -> String {
        let bytes = self.stderr.contents();
        let text = String::from_utf8_lossy(&bytes);
        let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
        lines[lines.len().saturating_sub(3)..].join(" | ")
    }
}

impl WasiView for State {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl wit::types::Host for State {}

impl wit::log::Host for State {
    fn log(&mut self, level: wit::log::Level, message: String) {
        use wit::log::Level;
        let plugin = &self.plugin;
        match level {
            Level::Trace => tracing::trace!(plugin, "{message}"),
            Level::Debug => tracing::debug!(plugin, "{message}"),
            Level::Info => tracing::info!(plugin, "{message}"),
            Level::Warn => tracing::warn!(plugin, "{message}"),
            Level::Error => tracing::error!(plugin, "{message}"),
        }
    }
}

impl wit::metrics::Host for State {
    fn counter_add(&mut self, name: String, delta: u64) {
        let counter = self.counters.entry(name).or_default();
        *counter = counter.saturating_add(delta);
    }

    fn gauge_set(&mut self, name: String, value: f64) {
        self.gauges.insert(name, value);
    }
}

impl wit::config::Host for State {
    fn get(&mut self) -> String {
        self.config.clone()
    }
}

impl wit::clock::Host for State {
    fn monotonic_ns(&mut self) -> u64 {
        self.started.elapsed().as_nanos() as u64
    }
}

/// Events are bounded so a plugin cannot flood the bus or the host's memory.
const EVENTS_PER_CALL: usize = 64;

impl wit::events::Host for State {
    fn post(&mut self, name: String, fields: Vec<Field>) {
        if self.events.len() >= EVENTS_PER_CALL {
            return;
        }
        self.events.push(Event {
            name,
            fields: fields.into_iter().map(field_to_meta).collect(),
        });
    }
}

/// The capabilities of 0.2.0 and later, the same as 0.1.0's plus
/// `log.enabled`: one implementation, instantiated for each version's
/// generated types.
macro_rules! capabilities_since_v0_2 {
    ($version:ident) => {
        mod $version {
            use super::State;
            use crate::bindings::types as v1_types;
            use crate::bindings::video_filter::slate::plugin as v1;
            use crate::bindings::$version::slate::plugin as vn;

            impl vn::log::Host for State {
                fn log(&mut self, level: vn::log::Level, message: String) {
                    v1::log::Host::log(self, same_level(level), message)
                }

                fn enabled(&mut self, level: vn::log::Level) -> bool {
                    use vn::log::Level;
                    match level {
                        Level::Trace => tracing::enabled!(tracing::Level::TRACE),
                        Level::Debug => tracing::enabled!(tracing::Level::DEBUG),
                        Level::Info => tracing::enabled!(tracing::Level::INFO),
                        Level::Warn => tracing::enabled!(tracing::Level::WARN),
                        Level::Error => tracing::enabled!(tracing::Level::ERROR),
                    }
                }
            }

            fn same_level(level: vn::log::Level) -> v1::log::Level {
                use vn::log::Level;
                match level {
                    Level::Trace => v1::log::Level::Trace,
                    Level::Debug => v1::log::Level::Debug,
                    Level::Info => v1::log::Level::Info,
                    Level::Warn => v1::log::Level::Warn,
                    Level::Error => v1::log::Level::Error,
                }
            }

            impl vn::metrics::Host for State {
                fn counter_add(&mut self, name: String, delta: u64) {
                    v1::metrics::Host::counter_add(self, name, delta)
                }

                fn gauge_set(&mut self, name: String, value: f64) {
                    v1::metrics::Host::gauge_set(self, name, value)
                }
            }

            impl vn::config::Host for State {
                fn get(&mut self) -> String {
                    v1::config::Host::get(self)
                }
            }

            impl vn::clock::Host for State {
                fn monotonic_ns(&mut self) -> u64 {
                    v1::clock::Host::monotonic_ns(self)
                }
            }

            impl vn::types::Host for State {}

            impl vn::events::Host for State {
                fn post(&mut self, name: String, fields: Vec<vn::types::Field>) {
                    v1::events::Host::post(self, name, fields.into_iter().map(same_field).collect())
                }
            }

            fn same_field(field: vn::types::Field) -> v1_types::Field {
                use vn::types::Value;
                let value = match field.value {
                    Value::Boolean(v) => v1_types::Value::Boolean(v),
                    Value::Integer(v) => v1_types::Value::Integer(v),
                    Value::Float(v) => v1_types::Value::Float(v),
                    Value::Text(v) => v1_types::Value::Text(v),
                    Value::TextList(v) => v1_types::Value::TextList(v),
                    Value::FloatList(v) => v1_types::Value::FloatList(v),
                };
                v1_types::Field {
                    key: field.key,
                    value,
                }
            }
        }
    };
}

capabilities_since_v0_2!(v0_2);
capabilities_since_v0_2!(v0_3);

/// `inference`, new in 0.3.0: the host's ONNX sessions. Models by name
/// only (a plugin has no filesystem); sessions are kept per instance, or
/// shared through the registry under a `session-id`.
impl crate::bindings::v0_3::slate::plugin::inference::Host for State {
    fn infer(
        &mut self,
        model: String,
        session_id: Option<String>,
        inputs: Vec<crate::bindings::v0_3::slate::plugin::inference::Tensor>,
    ) -> Result<Vec<crate::bindings::v0_3::slate::plugin::inference::Tensor>, String> {
        crate::infer::run(&mut self.models, &model, session_id, inputs)
    }
}
