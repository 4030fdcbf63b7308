//! Automation scripts: the `slate` global for driving live pipelines, the
//! way OBS and mpv scripts drive theirs.
//!
//! ```lua
//! local p = slate.pipeline("videotestsrc ! input-selector name=sel ! fakesink")
//! slate.every(1000, function() slate.log.info("tick") end)
//! slate.on("eos", function(name) slate.quit() end)
//! p:play()
//! ```
//! `slate.pipeline(launch_line)`, `slate.pipeline_file(path)` -> pipeline
//! with `play`, `pause`, `stop`, `element(name)`; an element has `get`,
//! `set`, `pad(name)`, `name`; `slate.on(event, fn)` for `eos`, `error`,
//! `warning`, `shot`, `message`; `slate.every(ms, fn)`, `slate.after(ms,
//! fn)` (both return an id for `slate.cancel`); `slate.now()`;
//! `slate.log.{debug,info,warn,error}`; `slate.quit()`.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use gst::prelude::*;
use mlua::{ChunkMode, Function, Lua, UserData, UserDataMethods};

use crate::sandbox::{Budget, Limits, new_state};
use crate::script::ScriptError;

/// Every function the host gives scripts, as `scripts/slate.d.lua` names
/// them (a test keeps the two, and the live `slate` table, in sync).
pub const API: &[&str] = &[
    "slate.pipeline",
    "slate.pipeline_file",
    "slate.on",
    "slate.every",
    "slate.after",
    "slate.cancel",
    "slate.quit",
    "slate.now",
    "slate.log.debug",
    "slate.log.info",
    "slate.log.warn",
    "slate.log.error",
    "Pipeline:play",
    "Pipeline:pause",
    "Pipeline:stop",
    "Pipeline:element",
    "Pipeline:name",
    "Element:name",
    "Element:pad",
    "Element:get",
    "Element:set",
    "Buffer:get",
    "Buffer:set",
    "Buffer:fields",
    "Buffer:objects",
    "Buffer:drop",
    "Buffer:bytes",
];

/// Events a script can subscribe to with `slate.on`.
pub const EVENTS: [&str; 5] = ["eos", "error", "warning", "shot", "message"];

struct Timer {
    id: u64,
    due: Instant,
    every: Option<Duration>,
    callback: Function,
}

/// What the script's `slate` calls have set up.
#[derive(Default)]
struct World {
    pipelines: Vec<gst::Pipeline>,
    handlers: Vec<(String, Function)>,
    timers: Vec<Timer>,
    next_timer: u64,
    quit: bool,
}

/// A loaded automation script and the pipelines it drives.
pub struct Automation {
    name: String,
    lua: Lua,
    budget: Budget,
    limits: Limits,
    world: Arc<Mutex<World>>,
    started: Instant,
}

impl std::fmt::Debug for Automation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Automation").field("name", &self.name).finish()
    }
}

#[derive(Clone)]
struct Pipeline(gst::Pipeline);

#[derive(Clone)]
struct Element(gst::Element);

#[derive(Clone)]
struct Pad(gst::Pad);

impl UserData for Pad {}

fn runtime(e: impl std::fmt::Display) -> mlua::Error {
    mlua::Error::runtime(e.to_string())
}

impl UserData for Pipeline {
    fn add_methods<M: UserDataMethods<Self>>(methods: &mut M) {
        let state = |p: &Pipeline, state: gst::State| {
            p.0.set_state(state).map(|_| ()).map_err(|_| {
                let why = p.0.bus().and_then(|bus| {
                    bus.iter().find_map(|m| match m.view() {
                        gst::MessageView::Error(e) => Some(format!(
                            ": {}: {}",
                            m.src().map(|s| s.name().to_string()).unwrap_or_default(),
                            e.error()
                        )),
                        _ => None,
                    })
                });
                runtime(format!(
                    "pipeline {} refused to go to {state:?}{}",
                    p.0.name(),
                    why.unwrap_or_default()
                ))
            })
        };
        methods.add_method("play", move |_, p, ()| state(p, gst::State::Playing));
        methods.add_method("pause", move |_, p, ()| state(p, gst::State::Paused));
        methods.add_method("stop", move |_, p, ()| state(p, gst::State::Null));
        methods.add_method("element", |_, p, name: String| {
            p.0.by_name(&name)
                .map(Element)
                .ok_or_else(|| runtime(format!("pipeline {} has no element named `{name}`", p.0.name())))
        });
        methods.add_method("name", |_, p, ()| Ok(p.0.name().to_string()));
    }
}

impl UserData for Element {
    fn add_methods<M: UserDataMethods<Self>>(methods: &mut M) {
        methods.add_method("name", |_, e, ()| Ok(e.0.name().to_string()));
        methods.add_method("pad", |_, e, name: String| {
            e.0.static_pad(&name)
                .or_else(|| e.0.request_pad_simple(&name))
                .map(Pad)
                .ok_or_else(|| runtime(format!("`{}` has no pad `{name}`", e.0.name())))
        });
        methods.add_method("get", |lua, e, name: String| {
            if e.0.find_property(&name).is_none() {
                return Err(runtime(format!("`{}` has no property `{name}`", e.0.name())));
            }
            value_to_lua(lua, &e.0.property_value(&name))
        });
        methods.add_method("set", |_, e, (name, value): (String, mlua::Value)| {
            if let mlua::Value::UserData(ud) = &value {
                let pad = ud
                    .borrow::<Pad>()
                    .map_err(|_| runtime("only pads can be set as objects"))?;
                e.0.set_property(&name, &pad.0);
                return Ok(());
            }
            let value = lua_to_property(&value)?;
            slate_pipeline::set_property(&e.0, &name, &value).map_err(runtime)
        });
    }
}

fn lua_to_property(value: &mlua::Value) -> mlua::Result<slate_pipeline::PropertyValue> {
    use slate_pipeline::PropertyValue;
    Ok(match value {
        mlua::Value::Boolean(b) => PropertyValue::Bool(*b),
        mlua::Value::Integer(i) => PropertyValue::Int(*i),
        mlua::Value::Number(n) => PropertyValue::Float(*n),
        mlua::Value::String(s) => PropertyValue::Text(s.to_str()?.to_owned()),
        other => {
            return Err(runtime(format!(
                "a property takes a boolean, number, string or pad, not a {}",
                other.type_name()
            )));
        }
    })
}

fn value_to_lua(lua: &Lua, value: &gst::glib::Value) -> mlua::Result<mlua::Value> {
    if let Ok(v) = value.get::<bool>() {
        return Ok(mlua::Value::Boolean(v));
    }
    macro_rules! integer {
        ($($t:ty),*) => {$( if let Ok(v) = value.get::<$t>() { return Ok(mlua::Value::Integer(v as i64)); } )*};
    }
    integer!(i32, u32, i64, u64);
    if let Ok(v) = value.get::<f64>() {
        return Ok(mlua::Value::Number(v));
    }
    if let Ok(v) = value.get::<f32>() {
        return Ok(mlua::Value::Number(v.into()));
    }
    if let Ok(v) = value.get::<Option<String>>() {
        return v
            .map(|s| lua.create_string(s).map(mlua::Value::String))
            .unwrap_or(Ok(mlua::Nil));
    }
    if let Some((_, v)) = gst::glib::EnumValue::from_value(value) {
        return lua.create_string(v.nick()).map(mlua::Value::String);
    }
    if let Ok(Some(pad)) = value.get::<Option<gst::Pad>>() {
        return lua.create_string(pad.name()).map(mlua::Value::String);
    }
    Ok(value
        .serialize()
        .map(|s| mlua::Value::String(lua.create_string(s.as_str()).unwrap()))
        .unwrap_or(mlua::Nil))
}

impl Automation {
    /// Loads an automation script and runs its top level and `load()`.
    pub fn load(path: &Path, limits: Limits) -> Result<Automation, ScriptError> {
        let source = std::fs::read_to_string(path).map_err(|e| ScriptError::Read {
            path: path.to_owned(),
            why: e.to_string(),
        })?;
        let folder = path.parent().map(Path::to_path_buf).unwrap_or_default();
        Automation::from_source(&path.display().to_string(), &source, &folder, limits)
    }

    pub fn from_source(name: &str, source: &str, folder: &Path, limits: Limits) -> Result<Automation, ScriptError> {
        let setup = |e: &dyn std::fmt::Display| ScriptError::Error(format!("{name}: {e}"));
        gst::init().map_err(|e| setup(&e))?;
        let (lua, budget) = new_state(&limits, folder).map_err(|e| setup(&e))?;
        let automation = Automation {
            name: name.to_owned(),
            lua,
            budget,
            limits,
            world: Arc::default(),
            started: Instant::now(),
        };
        automation.install().map_err(|e| setup(&e))?;
        automation.guarded(|lua| {
            lua.load(source)
                .set_name(format!("@{name}"))
                .set_mode(ChunkMode::Text)
                .exec()
        })?;
        automation.call_global("load")?;
        Ok(automation)
    }

    fn install(&self) -> mlua::Result<()> {
        let lua = &self.lua;
        let slate = lua.create_table()?;
        let world = self.world.clone();
        slate.set(
            "pipeline",
            lua.create_function(move |_, description: String| {
                let pipeline = slate_pipeline::launch(&description).map_err(runtime)?;
                slate_pipeline::prepare_outputs(&pipeline).map_err(runtime)?;
                world.lock().unwrap().pipelines.push(pipeline.clone());
                Ok(Pipeline(pipeline))
            })?,
        )?;
        let world = self.world.clone();
        slate.set(
            "pipeline_file",
            lua.create_function(move |_, path: String| {
                let file = slate_pipeline::PipelineFile::load(Path::new(&path)).map_err(runtime)?;
                let built = slate_pipeline::build(&file).map_err(runtime)?;
                built.prepare().map_err(runtime)?;
                world.lock().unwrap().pipelines.push(built.pipeline.clone());
                Ok(Pipeline(built.pipeline))
            })?,
        )?;
        let world = self.world.clone();
        slate.set(
            "on",
            lua.create_function(move |_, (event, callback): (String, Function)| {
                if !EVENTS.contains(&event.as_str()) {
                    return Err(runtime(format!(
                        "slate.on: unknown event `{event}`; events: {}",
                        EVENTS.join(", ")
                    )));
                }
                world.lock().unwrap().handlers.push((event, callback));
                Ok(())
            })?,
        )?;
        for (name, repeat) in [("every", true), ("after", false)] {
            let world = self.world.clone();
            slate.set(
                name,
                lua.create_function(move |_, (ms, callback): (f64, Function)| {
                    if !(ms.is_finite() && ms >= 1.0) {
                        return Err(runtime(format!(
                            "slate.{name}: milliseconds must be a number >= 1, not {ms}"
                        )));
                    }
                    let period = Duration::from_secs_f64(ms / 1000.0);
                    let mut world = world.lock().unwrap();
                    world.next_timer += 1;
                    let id = world.next_timer;
                    world.timers.push(Timer {
                        id,
                        due: Instant::now() + period,
                        every: repeat.then_some(period),
                        callback,
                    });
                    Ok(id)
                })?,
            )?;
        }
        let world = self.world.clone();
        slate.set(
            "cancel",
            lua.create_function(move |_, id: u64| {
                world.lock().unwrap().timers.retain(|t| t.id != id);
                Ok(())
            })?,
        )?;
        let world = self.world.clone();
        slate.set(
            "quit",
            lua.create_function(move |_, ()| {
                world.lock().unwrap().quit = true;
                Ok(())
            })?,
        )?;
        let started = self.started;
        slate.set(
            "now",
            lua.create_function(move |_, ()| Ok(started.elapsed().as_secs_f64()))?,
        )?;
        let log = lua.create_table()?;
        log.set(
            "debug",
            lua.create_function(|_, m: String| {
                tracing::debug!(target: "slate::script", "{m}");
                Ok(())
            })?,
        )?;
        log.set(
            "info",
            lua.create_function(|_, m: String| {
                tracing::info!(target: "slate::script", "{m}");
                Ok(())
            })?,
        )?;
        log.set(
            "warn",
            lua.create_function(|_, m: String| {
                tracing::warn!(target: "slate::script", "{m}");
                Ok(())
            })?,
        )?;
        log.set(
            "error",
            lua.create_function(|_, m: String| {
                tracing::error!(target: "slate::script", "{m}");
                Ok(())
            })?,
        )?;
        slate.set("log", log)?;
        lua.globals().set("slate", slate)
    }

    /// Runs until `slate.quit()`, until every pipeline ended and no timer is
    /// left, or until `limit`. Callback errors are logged with file:line and
    /// the script goes on. Pipelines are stopped at the end.
    pub fn run(&mut self, limit: Option<Duration>) -> Result<(), ScriptError> {
        let deadline = limit.map(|l| Instant::now() + l);
        let mut ended = std::collections::HashSet::new();
        loop {
            let (pipelines, quit, no_timers) = {
                let world = self.world.lock().unwrap();
                (world.pipelines.clone(), world.quit, world.timers.is_empty())
            };
            let all_ended = pipelines.iter().all(|p| ended.contains(&p.name().to_string()));
            if quit || deadline.is_some_and(|d| Instant::now() >= d) || (no_timers && all_ended) {
                break;
            }
            for pipeline in &pipelines {
                let bus = pipeline.bus().expect("a pipeline has a bus");
                while let Some(message) = bus.pop() {
                    if matches!(message.view(), gst::MessageView::Eos(_) | gst::MessageView::Error(_)) {
                        ended.insert(pipeline.name().to_string());
                    }
                    self.dispatch(pipeline, &message);
                }
            }
            self.fire_timers();
            std::thread::sleep(Duration::from_millis(5));
        }
        let result = self.call_global("unload");
        for pipeline in &self.world.lock().unwrap().pipelines {
            let _ = pipeline.set_state(gst::State::Null);
        }
        result
    }

    fn fire_timers(&self) {
        let now = Instant::now();
        let due: Vec<Function> = {
            let mut world = self.world.lock().unwrap();
            let mut due = Vec::new();
            world.timers.retain_mut(|timer| {
                if timer.due > now {
                    return true;
                }
                due.push(timer.callback.clone());
                match timer.every {
                    Some(period) => {
                        timer.due += period;
                        true
                    }
                    None => false,
                }
            });
            due
        };
        for callback in due {
            self.report(self.guarded(|_| callback.call::<()>(())));
        }
    }

    fn dispatch(&self, pipeline: &gst::Pipeline, message: &gst::Message) {
        let (event, args): (&str, Vec<mlua::Value>) = match message.view() {
            gst::MessageView::Eos(_) => ("eos", vec![self.text(&pipeline.name())]),
            gst::MessageView::Error(e) => ("error", vec![self.text(&e.error().to_string()), self.source(message)]),
            gst::MessageView::Warning(w) => ("warning", vec![self.text(&w.error().to_string()), self.source(message)]),
            gst::MessageView::Element(_) => match message.structure() {
                Some(s) if s.name() == "slate-shot" => ("shot", vec![self.fields(s)]),
                Some(s) => ("message", vec![self.text(s.name()), self.fields(s)]),
                None => return,
            },
            _ => return,
        };
        let handlers: Vec<Function> = self
            .world
            .lock()
            .unwrap()
            .handlers
            .iter()
            .filter(|(e, _)| e == event)
            .map(|(_, f)| f.clone())
            .collect();
        for handler in handlers {
            let args = mlua::MultiValue::from_iter(args.iter().cloned());
            self.report(self.guarded(|_| handler.call::<()>(args)));
        }
    }

    fn text(&self, text: &str) -> mlua::Value {
        self.lua
            .create_string(text)
            .map(mlua::Value::String)
            .unwrap_or(mlua::Nil)
    }

    fn source(&self, message: &gst::Message) -> mlua::Value {
        self.text(&message.src().map(|s| s.name().to_string()).unwrap_or_default())
    }

    fn fields(&self, structure: &gst::StructureRef) -> mlua::Value {
        let Ok(table) = self.lua.create_table() else {
            return mlua::Nil;
        };
        for (key, value) in structure.iter() {
            if let Ok(value) = value_to_lua(&self.lua, value) {
                let _ = table.set(key.as_str(), value);
            }
        }
        mlua::Value::Table(table)
    }

    fn report(&self, result: Result<(), ScriptError>) {
        if let Err(e) = result {
            tracing::error!(target: "slate::script", "{e}");
        }
    }

    fn call_global(&self, name: &str) -> Result<(), ScriptError> {
        let Ok(hook) = self.lua.globals().get::<Function>(name) else {
            return Ok(());
        };
        self.guarded(|_| hook.call::<()>(()))
    }

    fn guarded<R>(&self, call: impl FnOnce(&Lua) -> mlua::Result<R>) -> Result<R, ScriptError> {
        self.budget.reset();
        call(&self.lua).map_err(|e| crate::script::explain(&self.name, &self.limits, e))
    }
}
