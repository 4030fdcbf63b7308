//! Automation scripts: the `slate` global for driving live pipelines, the
//! way OBS and mpv scripts drive theirs.
//!
//! ```lua
//! local p = slate.pipeline("videotestsrc is-live=true ! input-selector name=sel ! fakesink")
//! slate.every(1000, function() slate.log.info("tick") end)
//! slate.on("eos", function(pipeline) slate.quit() end)
//! p:play()
//! ```
//! `scripts/slate.d.lua` documents every function; [`API`] lists them.
//! Bus messages reach the script through a channel fed by each pipeline's
//! bus sync handler, so a callback runs within microseconds of the post.

mod api;
mod objects;
mod settings;
mod table;
mod timeline;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use gst::prelude::*;
use mlua::{ChunkMode, Function, Lua};

use self::objects::{DRAIN, Element, Watched, value_to_lua};
pub use self::settings::Setting;
use crate::sandbox::{Budget, Limits, new_state};
use crate::script::ScriptError;

/// Every function the host gives scripts, as `scripts/slate.d.lua` names
/// them (a test keeps the two, and the live `slate` table, in sync).
pub const API: &[&str] = &[
    "slate.pipeline",
    "slate.pipeline_file",
    "slate.on",
    "slate.observe",
    "slate.every",
    "slate.after",
    "slate.at",
    "slate.cancel",
    "slate.settings",
    "slate.quit",
    "slate.now",
    "slate.clock",
    "slate.infer",
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
    "Element:stem",
    "Element:get",
    "Element:set",
    "Element:restart",
    "slate.timeline.load",
    "slate.timeline.new",
    "Timeline:add_track",
    "Timeline:insert",
    "Timeline:trim",
    "Timeline:move",
    "Timeline:ripple_delete",
    "Timeline:lift",
    "Timeline:add_transition",
    "Timeline:items",
    "Timeline:duration",
    "Timeline:save",
    "Buffer:get",
    "Buffer:set",
    "Buffer:fields",
    "Buffer:objects",
    "Buffer:drop",
    "Buffer:bytes",
];

/// Events a script can subscribe to with `slate.on`.
pub const EVENTS: [&str; 6] = ["eos", "error", "warning", "state", "shot", "element-message"];

/// How often observed properties are compared with their last value.
const OBSERVE_EVERY: Duration = Duration::from_millis(20);

/// How an automation script is started.
#[derive(Debug, Clone, Default)]
pub struct Options {
    pub limits: Limits,
    /// Values for the script's declared settings, as text (`name`, `value`).
    pub settings: BTreeMap<String, String>,
    /// The pipeline `slate run FILE --script` built: `slate.main` in the
    /// script, played when the run starts unless the script played it.
    pub main: Option<gst::Pipeline>,
    /// `main` is run by a host (the control plane): the script neither
    /// plays, pauses nor stops it, its bus is the host's, which passes the
    /// messages in through [`Automation::inbox`], and it runs on after the
    /// script ends.
    pub attached: bool,
    /// Hears what the script logs (`slate.log`, and errors in callbacks),
    /// besides `tracing`.
    pub log: Option<LogListener>,
}

/// Where a host hears a script's log lines: `(level, line)`, the level
/// one of `debug`, `info`, `warn`, `error`.
#[derive(Clone)]
pub struct LogListener(pub Arc<HearLine>);

/// What a [`LogListener`] calls with `(level, line)`.
pub type HearLine = dyn Fn(&str, &str) + Send + Sync;

impl std::fmt::Debug for LogListener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LogListener")
    }
}

/// Passes an attached pipeline's bus messages to its script (see
/// [`Options::attached`]).
#[derive(Debug, Clone)]
pub struct Inbox(mpsc::Sender<(usize, gst::Message)>);

impl Inbox {
    pub fn deliver(&self, message: &gst::Message) {
        // A script that ended hears nothing more.
        let _ = self.0.send((MAIN, message.clone()));
    }
}

/// `slate.main` is the first pipeline a script's world watches.
const MAIN: usize = 0;

struct Timer {
    id: u64,
    due: Instant,
    every: Option<Duration>,
    callback: Function,
}

struct Observer {
    id: u64,
    element: Element,
    property: String,
    /// What the callback saw last (None: not called yet).
    last: Option<String>,
    callback: Function,
}

/// What the script's `slate` calls have set up.
struct World {
    pipelines: Vec<Arc<Watched>>,
    handlers: Vec<(String, Function)>,
    timers: Vec<Timer>,
    observers: Vec<Observer>,
    next_id: u64,
    quit: bool,
    settings: Option<Vec<Setting>>,
    /// Where bus sync handlers send messages: (pipeline index, message).
    messages: mpsc::Sender<(usize, gst::Message)>,
}

impl World {
    fn id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    /// Adopts a pipeline: its bus messages go to the run loop (an
    /// attached one's through its host).
    fn watch(&mut self, pipeline: gst::Pipeline, attached: bool) -> Arc<Watched> {
        let watched = Watched::new(pipeline, attached);
        let index = self.pipelines.len();
        self.pipelines.push(watched.clone());
        if attached {
            return watched;
        }
        let sender = self.messages.clone();
        let weak = Arc::downgrade(&watched);
        let bus = watched.pipeline.bus().expect("a pipeline has a bus");
        bus.set_sync_handler(move |_, message| {
            if let gst::MessageView::Error(e) = message.view()
                && let Some(watched) = weak.upgrade()
            {
                *watched.last_error.lock().unwrap() = Some(format!("{}: {}", source_name(message), e.error()));
            }
            let _ = sender.send((index, message.clone()));
            gst::BusSyncReply::Drop
        });
        watched
    }
}

/// A loaded automation script and the pipelines it drives.
pub struct Automation {
    name: String,
    lua: Lua,
    budget: Budget,
    limits: Limits,
    world: Arc<Mutex<World>>,
    messages: mpsc::Receiver<(usize, gst::Message)>,
    main: Option<Arc<Watched>>,
    stop: slate_pipeline::Stop,
    log: Option<LogListener>,
    inbox: Inbox,
}

impl std::fmt::Debug for Automation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Automation").field("name", &self.name).finish()
    }
}

impl Automation {
    /// Loads an automation script and runs its top level and `load()`.
    pub fn load(path: &Path, options: Options) -> Result<Automation, ScriptError> {
        let source = std::fs::read_to_string(path).map_err(|e| ScriptError::Read {
            path: path.to_owned(),
            why: e.to_string(),
        })?;
        let folder = path.parent().map(Path::to_path_buf).unwrap_or_default();
        Automation::from_source(&path.display().to_string(), &source, &folder, options)
    }

    pub fn from_source(name: &str, source: &str, folder: &Path, options: Options) -> Result<Automation, ScriptError> {
        let setup = |e: &dyn std::fmt::Display| ScriptError::Error(format!("{name}: {e}"));
        gst::init().map_err(|e| setup(&e))?;
        let (lua, budget) = new_state(&options.limits, folder).map_err(|e| setup(&e))?;
        let (sender, messages) = mpsc::channel();
        let inbox = Inbox(sender.clone());
        let mut world = World {
            pipelines: Vec::new(),
            handlers: Vec::new(),
            timers: Vec::new(),
            observers: Vec::new(),
            next_id: 0,
            quit: false,
            settings: None,
            messages: sender,
        };
        let main = options.main.map(|p| world.watch(p, options.attached));
        let automation = Automation {
            name: name.to_owned(),
            lua,
            budget,
            limits: options.limits,
            world: Arc::new(Mutex::new(world)),
            messages,
            main,
            stop: slate_pipeline::Stop::default(),
            log: options.log,
            inbox,
        };
        api::install(&automation, options.settings.clone()).map_err(|e| setup(&e))?;
        automation.guarded(|lua| {
            lua.load(source)
                .set_name(format!("@{name}"))
                .set_mode(ChunkMode::Text)
                .exec()
        })?;
        automation.check_overrides(&options.settings)?;
        automation.call_global("load")?;
        Ok(automation)
    }

    /// Settings given on the command line must be ones the script declared.
    fn check_overrides(&self, overrides: &BTreeMap<String, String>) -> Result<(), ScriptError> {
        let declared = self.settings();
        for name in overrides.keys() {
            if !declared.iter().any(|s| &s.name == name) {
                let names: Vec<&str> = declared.iter().map(|s| s.name.as_str()).collect();
                let known = match names.is_empty() {
                    true => "it declares none (slate.settings{...})".to_owned(),
                    false => format!("it declares {}", names.join(", ")),
                };
                return Err(ScriptError::Error(format!(
                    "{}: no setting `{name}`{}; {known}",
                    self.name,
                    slate_pipeline::did_you_mean(name, names.iter().copied())
                )));
            }
        }
        Ok(())
    }

    /// The settings the script declared, with the values it got.
    pub fn settings(&self) -> Vec<Setting> {
        self.world.lock().unwrap().settings.clone().unwrap_or_default()
    }

    /// A global number the script set (for hosts and benchmarks that read
    /// a script's results).
    pub fn number(&self, global: &str) -> Option<f64> {
        self.lua.globals().get::<Option<f64>>(global).ok().flatten()
    }

    /// A handle that ends [`Automation::run`] from elsewhere (a signal
    /// handler): the first request stops the way `slate.quit()` does, a
    /// second one skips waiting for pipelines to drain.
    pub fn stopper(&self) -> slate_pipeline::Stop {
        self.stop.clone()
    }

    /// Where the host of an attached pipeline sends its bus messages.
    pub fn inbox(&self) -> Inbox {
        self.inbox.clone()
    }

    /// Runs until `slate.quit()`, a stop request, `limit`, or until every
    /// pipeline ended and no timer is left. Callback errors are logged with
    /// file:line and the script goes on. Then `unload()` runs and every
    /// pipeline still running is stopped the way `Pipeline:stop` does, so
    /// files are finished.
    pub fn run(&mut self, limit: Option<Duration>) -> Result<(), ScriptError> {
        let deadline = limit.map(|l| Instant::now() + l);
        if let Some(main) = self.main.as_ref().filter(|main| !main.attached) {
            let (_, current, pending) = main.pipeline.state(gst::ClockTime::ZERO);
            if current < gst::State::Paused && pending == gst::State::VoidPending {
                main.pipeline.set_state(gst::State::Playing).map_err(|_| {
                    let why = main.last_error.lock().unwrap().clone().unwrap_or_default();
                    ScriptError::Error(format!("{}: slate.main failed to start: {why}", self.name))
                })?;
            }
        }
        let mut next_observation = Instant::now();
        loop {
            if self.stop.requests() > 0 || deadline.is_some_and(|d| Instant::now() >= d) || self.finished() {
                break;
            }
            let now = Instant::now();
            self.fire_timers(now);
            if now >= next_observation {
                self.poll_observers();
                next_observation = now + OBSERVE_EVERY;
            }
            self.halt_overdue(now);
            let wake = self.next_timer().unwrap_or(next_observation).min(next_observation);
            let wait = wake.saturating_duration_since(Instant::now()).min(OBSERVE_EVERY);
            if let Ok((index, message)) = self.messages.recv_timeout(wait) {
                self.handle(index, &message, true);
                while let Ok((index, message)) = self.messages.try_recv() {
                    self.handle(index, &message, true);
                }
            }
        }
        let result = self.call_global("unload");
        self.finish_pipelines();
        result
    }

    fn finished(&self) -> bool {
        let world = self.world.lock().unwrap();
        world.quit || (world.timers.is_empty() && world.pipelines.iter().all(|p| p.is_idle()))
    }

    /// Drains every running pipeline at once, then stops them all (an
    /// attached one runs on).
    fn finish_pipelines(&mut self) {
        let mut pipelines = self.world.lock().unwrap().pipelines.clone();
        pipelines.retain(|p| !p.attached);
        for p in &pipelines {
            if !p.ended.load(Ordering::SeqCst) || p.is_draining() {
                p.stop();
            }
        }
        let until = Instant::now() + DRAIN;
        while self.stop.requests() < 2 && Instant::now() < until && pipelines.iter().any(|p| p.is_draining()) {
            if let Ok((index, message)) = self.messages.recv_timeout(Duration::from_millis(20)) {
                self.handle(index, &message, false);
            }
        }
        for p in &pipelines {
            if p.is_draining() {
                tracing::warn!(
                    target: "slate::script",
                    "pipeline {} did not finish within {DRAIN:?}; stopped without draining",
                    p.pipeline.name()
                );
            }
            p.halt();
            if let Some(bus) = p.pipeline.bus() {
                bus.unset_sync_handler();
            }
        }
    }

    fn halt_overdue(&self, now: Instant) {
        let pipelines = self.world.lock().unwrap().pipelines.clone();
        for p in pipelines.iter().filter(|p| p.drain_overdue(now)) {
            tracing::warn!(
                target: "slate::script",
                "pipeline {} did not drain within {DRAIN:?}; stopping it",
                p.pipeline.name()
            );
            p.halt();
        }
    }

    /// Updates the pipeline's standing and calls the script's handlers.
    fn handle(&self, index: usize, message: &gst::Message, dispatch: bool) {
        let Some(watched) = self.world.lock().unwrap().pipelines.get(index).cloned() else {
            return;
        };
        let has_error_handler = self.world.lock().unwrap().handlers.iter().any(|(e, _)| e == "error");
        match message.view() {
            gst::MessageView::Eos(_) if !watched.attached => {
                if watched.is_draining() {
                    watched.halt();
                }
                watched.ended.store(true, Ordering::SeqCst);
            }
            // Without a handler nobody can recover it: stop it (an
            // attached pipeline's host decides for it).
            gst::MessageView::Error(e) if !watched.attached && (watched.is_draining() || !has_error_handler) => {
                tracing::error!(
                    target: "slate::script",
                    "pipeline {}: {}: {}",
                    watched.pipeline.name(),
                    source_name(message),
                    e.error()
                );
                watched.halt();
            }
            _ => {}
        }
        if dispatch {
            self.dispatch(&watched.pipeline, message);
        }
    }

    fn dispatch(&self, pipeline: &gst::Pipeline, message: &gst::Message) {
        let name = pipeline.name();
        let mut events: Vec<(&str, Vec<mlua::Value>)> = Vec::new();
        match message.view() {
            gst::MessageView::Eos(_) => events.push(("eos", vec![self.text(&name)])),
            gst::MessageView::Error(e) => events.push((
                "error",
                vec![
                    self.text(&e.error().to_string()),
                    self.text(&source_name(message)),
                    self.text(&name),
                ],
            )),
            gst::MessageView::Warning(w) => events.push((
                "warning",
                vec![
                    self.text(&w.error().to_string()),
                    self.text(&source_name(message)),
                    self.text(&name),
                ],
            )),
            gst::MessageView::StateChanged(s) if message.src() == Some(pipeline.upcast_ref()) => events.push((
                "state",
                vec![
                    self.text(&name),
                    self.text(state_name(s.old())),
                    self.text(state_name(s.current())),
                ],
            )),
            gst::MessageView::Element(_) => {
                let Some(s) = message.structure() else {
                    return;
                };
                if s.name() == "slate-shot" {
                    events.push(("shot", vec![self.fields(s)]));
                }
                events.push((
                    "element-message",
                    vec![self.text(s.name()), self.fields(s), self.text(&source_name(message))],
                ));
            }
            _ => return,
        }
        for (event, args) in events {
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
    }

    fn next_timer(&self) -> Option<Instant> {
        self.world.lock().unwrap().timers.iter().map(|t| t.due).min()
    }

    fn fire_timers(&self, now: Instant) {
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
                        // A late loop turn does not make a periodic timer
                        // fire several times to catch up.
                        while timer.due <= now {
                            timer.due += period;
                        }
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

    /// Calls each observer whose property changed since it last saw it
    /// (and once at first, with the value it starts from).
    fn poll_observers(&self) {
        let observers: Vec<(u64, Element, String, Option<String>, Function)> = self
            .world
            .lock()
            .unwrap()
            .observers
            .iter()
            .map(|o| {
                (
                    o.id,
                    o.element.clone(),
                    o.property.clone(),
                    o.last.clone(),
                    o.callback.clone(),
                )
            })
            .collect();
        for (id, element, property, last, callback) in observers {
            let value = element.element.property_value(&property);
            let seen = value
                .serialize()
                .map(|s| s.to_string())
                .unwrap_or_else(|_| format!("{value:?}"));
            if last.as_ref() == Some(&seen) {
                continue;
            }
            if let Some(o) = self.world.lock().unwrap().observers.iter_mut().find(|o| o.id == id) {
                o.last = Some(seen);
            }
            self.report(self.guarded(|lua| callback.call::<()>((value_to_lua(lua, &value)?, element))));
        }
    }

    fn text(&self, text: &str) -> mlua::Value {
        self.lua
            .create_string(text)
            .map(mlua::Value::String)
            .unwrap_or(mlua::Nil)
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
            if let Some(listener) = &self.log {
                (listener.0)("error", &e.to_string());
            }
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

impl Drop for Automation {
    fn drop(&mut self) {
        for p in self.world.lock().unwrap().pipelines.iter().filter(|p| !p.attached) {
            let _ = p.pipeline.set_state(gst::State::Null);
            if let Some(bus) = p.pipeline.bus() {
                bus.unset_sync_handler();
            }
        }
    }
}

fn source_name(message: &gst::Message) -> String {
    message.src().map(|s| s.name().to_string()).unwrap_or_default()
}

fn state_name(state: gst::State) -> &'static str {
    match state {
        gst::State::VoidPending => "void",
        gst::State::Null => "null",
        gst::State::Ready => "ready",
        gst::State::Paused => "paused",
        gst::State::Playing => "playing",
    }
}
