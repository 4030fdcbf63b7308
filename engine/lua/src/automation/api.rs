//! The `slate` table: what a script calls.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use gst::prelude::*;
use mlua::{Function, Lua, Table};

use super::objects::{Element, Pipeline, runtime};
use super::{Automation, EVENTS, LogListener, Observer, Timer, World, settings, table};

type Shared = std::sync::Arc<std::sync::Mutex<World>>;

pub(super) fn install(automation: &Automation, overrides: BTreeMap<String, String>) -> mlua::Result<()> {
    let (lua, world) = (&automation.lua, &automation.world);
    let slate = lua.create_table()?;
    pipelines(lua, world, &slate, automation.name.clone())?;
    events(lua, world, &slate)?;
    timers(lua, world, &slate)?;
    script(lua, world, &slate, overrides, automation.log.clone())?;
    crate::infer::install(lua, &slate)?;
    super::timeline::install(lua, &slate)?;
    if let Some(main) = &automation.main {
        slate.set("main", Pipeline(main.clone()))?;
    }
    lua.globals().set("slate", slate)
}

/// `slate.pipeline` (a launch line or a table) and `slate.pipeline_file`;
/// `origin` names the script in errors.
fn pipelines(lua: &Lua, world: &Shared, slate: &Table, origin: String) -> mlua::Result<()> {
    slate.set(
        "pipeline",
        with_world(lua, world, move |_, world, description: mlua::Value| {
            let pipeline = match description {
                mlua::Value::String(line) => slate_pipeline::launch(&line.to_str()?).map_err(runtime)?,
                mlua::Value::Table(t) => {
                    let text = table::to_toml(&t)?;
                    let file = slate_pipeline::PipelineFile::parse(&text, &format!("{origin}: slate.pipeline{{...}}"))
                        .map_err(runtime)?;
                    slate_pipeline::build(&file).map_err(runtime)?.pipeline
                }
                other => {
                    return Err(runtime(format!(
                        "slate.pipeline takes a launch line or a table, not a {}",
                        other.type_name()
                    )));
                }
            };
            slate_pipeline::prepare_outputs(&pipeline).map_err(runtime)?;
            Ok(Pipeline(world.lock().unwrap().watch(pipeline, false)))
        })?,
    )?;
    slate.set(
        "pipeline_file",
        with_world(lua, world, |_, world, path: String| {
            let file = slate_pipeline::PipelineFile::load(Path::new(&path)).map_err(runtime)?;
            let built = slate_pipeline::build(&file).map_err(runtime)?;
            built.prepare().map_err(runtime)?;
            Ok(Pipeline(world.lock().unwrap().watch(built.pipeline, false)))
        })?,
    )?;
    Ok(())
}

/// `slate.on` (bus events) and `slate.observe` (property changes).
fn events(lua: &Lua, world: &Shared, slate: &Table) -> mlua::Result<()> {
    slate.set(
        "on",
        with_world(lua, world, |_, world, (event, callback): (String, Function)| {
            if !EVENTS.contains(&event.as_str()) {
                return Err(runtime(format!(
                    "slate.on: unknown event `{event}`{}; events: {}",
                    slate_pipeline::did_you_mean(&event, EVENTS),
                    EVENTS.join(", ")
                )));
            }
            world.lock().unwrap().handlers.push((event, callback));
            Ok(())
        })?,
    )?;
    slate.set(
        "observe",
        with_world(
            lua,
            world,
            |_, world, (element, property, callback): (mlua::UserDataRef<Element>, String, Function)| {
                let element = element.clone();
                if element.element.find_property(&property).is_none() {
                    return Err(runtime(format!(
                        "slate.observe: `{}` has no property `{property}`",
                        element.element.name()
                    )));
                }
                let mut world = world.lock().unwrap();
                let id = world.id();
                world.observers.push(Observer {
                    id,
                    element,
                    property,
                    last: None,
                    callback,
                });
                Ok(id)
            },
        )?,
    )?;
    Ok(())
}

/// `slate.every`, `slate.after`, `slate.at` and `slate.cancel`.
fn timers(lua: &Lua, world: &Shared, slate: &Table) -> mlua::Result<()> {
    for (name, repeat) in [("every", true), ("after", false)] {
        slate.set(
            name,
            with_world(lua, world, move |_, world, (ms, callback): (f64, Function)| {
                if !(ms.is_finite() && ms >= 1.0) {
                    return Err(runtime(format!(
                        "slate.{name}: milliseconds must be a number >= 1, not {ms}"
                    )));
                }
                let period = Duration::from_secs_f64(ms / 1000.0);
                Ok(add_timer(
                    world,
                    Instant::now() + period,
                    repeat.then_some(period),
                    callback,
                ))
            })?,
        )?;
    }
    let os: Table = lua.globals().get("os")?;
    let (date, time): (Function, Function) = (os.get("date")?, os.get("time")?);
    slate.set(
        "at",
        with_world(
            lua,
            world,
            move |_, world, (when, callback): (mlua::Value, Function)| {
                let unix = match &when {
                    mlua::Value::Integer(i) => *i as f64,
                    mlua::Value::Number(n) => *n,
                    mlua::Value::String(s) => next_clock_time(&s.to_str()?, &date, &time)?,
                    other => {
                        return Err(runtime(format!(
                            "slate.at takes a time of day \"HH:MM[:SS]\" or a Unix time in seconds, not a {}",
                            other.type_name()
                        )));
                    }
                };
                let now = unix_now();
                if !unix.is_finite() || unix < now - 1.0 {
                    return Err(runtime(format!(
                        "slate.at: {unix:.3} is {:.1} s in the past; give a time to come",
                        now - unix
                    )));
                }
                let due = Instant::now() + Duration::from_secs_f64((unix - now).max(0.0));
                Ok(add_timer(world, due, None, callback))
            },
        )?,
    )?;
    slate.set(
        "cancel",
        with_world(lua, world, |_, world, id: u64| {
            let mut world = world.lock().unwrap();
            world.timers.retain(|t| t.id != id);
            world.observers.retain(|o| o.id != id);
            Ok(())
        })?,
    )?;
    Ok(())
}

/// What a script has of its own: `slate.settings`, `quit`, `now`, `clock`
/// and `log`.
fn script(
    lua: &Lua,
    world: &Shared,
    slate: &Table,
    overrides: BTreeMap<String, String>,
    listener: Option<LogListener>,
) -> mlua::Result<()> {
    slate.set(
        "settings",
        with_world(lua, world, move |lua, world, declared: Table| {
            if world.lock().unwrap().settings.is_some() {
                return Err(runtime("slate.settings: declare all settings in one call"));
            }
            let (settings, values) = settings::declare(lua, declared, &overrides)?;
            world.lock().unwrap().settings = Some(settings);
            Ok(values)
        })?,
    )?;
    slate.set(
        "quit",
        with_world(lua, world, |_, world, ()| {
            world.lock().unwrap().quit = true;
            Ok(())
        })?,
    )?;
    let started = Instant::now();
    slate.set(
        "now",
        lua.create_function(move |_, ()| Ok(started.elapsed().as_secs_f64()))?,
    )?;
    slate.set("clock", lua.create_function(|_, ()| Ok(unix_now()))?)?;
    let log = lua.create_table()?;
    for level in ["debug", "info", "warn", "error"] {
        let listener = listener.clone();
        log.set(
            level,
            lua.create_function(move |_, message: String| {
                if let Some(listener) = &listener {
                    (listener.0)(level, &message);
                }
                match level {
                    "debug" => tracing::debug!(target: "slate::script", "{message}"),
                    "info" => tracing::info!(target: "slate::script", "{message}"),
                    "warn" => tracing::warn!(target: "slate::script", "{message}"),
                    _ => tracing::error!(target: "slate::script", "{message}"),
                }
                Ok(())
            })?,
        )?;
    }
    slate.set("log", log)
}

/// A Lua function whose body gets the shared world.
fn with_world<A, R>(
    lua: &Lua,
    world: &Shared,
    body: impl Fn(&Lua, &Shared, A) -> mlua::Result<R> + Send + 'static,
) -> mlua::Result<Function>
where
    A: mlua::FromLuaMulti,
    R: mlua::IntoLuaMulti,
{
    let world = world.clone();
    lua.create_function(move |lua, args: A| body(lua, &world, args))
}

fn add_timer(world: &Shared, due: Instant, every: Option<Duration>, callback: Function) -> u64 {
    let mut world = world.lock().unwrap();
    let id = world.id();
    world.timers.push(Timer {
        id,
        due,
        every,
        callback,
    });
    id
}

fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// The next time the local clock shows `HH:MM[:SS]`: today, or tomorrow
/// when that has passed. Lua's `os.date`/`os.time` know the time zone.
fn next_clock_time(text: &str, date: &Function, time: &Function) -> mlua::Result<f64> {
    let bad = || {
        runtime(format!(
            "slate.at: `{text}` is not a time of day like \"21:30\" or \"21:30:15\""
        ))
    };
    let parts: Vec<u32> = text
        .split(':')
        .map(|p| p.trim().parse::<u32>().map_err(|_| bad()))
        .collect::<mlua::Result<_>>()?;
    let (hour, minute, second) = match parts.as_slice() {
        [h, m] => (*h, *m, 0),
        [h, m, s] => (*h, *m, *s),
        _ => return Err(bad()),
    };
    if hour > 23 || minute > 59 || second > 59 {
        return Err(bad());
    }
    let today: Table = date.call("*t")?;
    today.set("hour", hour)?;
    today.set("min", minute)?;
    today.set("sec", second)?;
    let mut unix: f64 = time.call(today)?;
    if unix < unix_now() - 1.0 {
        unix += 86_400.0;
    }
    Ok(unix)
}
