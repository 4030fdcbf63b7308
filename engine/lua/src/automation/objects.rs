//! What scripts hold: pipelines, elements and pads, and how GStreamer
//! values cross into Lua and back.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use gst::prelude::*;
use mlua::{Lua, UserData, UserDataMethods};

/// How long `stop()` waits for end-of-stream to reach the sinks (muxers
/// writing their index) before it stops the pipeline anyway.
pub(crate) const DRAIN: Duration = Duration::from_secs(4);

pub(crate) fn runtime(e: impl std::fmt::Display) -> mlua::Error {
    mlua::Error::runtime(e.to_string())
}

/// A pipeline a script made (or was given), with what the run loop needs
/// to know about it.
pub(crate) struct Watched {
    pub pipeline: gst::Pipeline,
    /// Set by `stop()`: until when to wait for end-of-stream.
    pub draining: Mutex<Option<Instant>>,
    /// Ended: end-of-stream, an error nobody handles, or stopped.
    pub ended: AtomicBool,
    /// The last error posted on its bus, for messages about refusals.
    pub last_error: Mutex<Option<String>>,
    /// Run by a host (the control plane), which plays, stops and watches
    /// it: the script tunes it, nothing more.
    pub attached: bool,
}

impl Watched {
    pub fn new(pipeline: gst::Pipeline, attached: bool) -> Arc<Watched> {
        Arc::new(Watched {
            pipeline,
            attached,
            draining: Mutex::new(None),
            ended: AtomicBool::new(false),
            last_error: Mutex::new(None),
        })
    }

    /// Refuses what only the pipeline's host may do to an attached one.
    fn owned(&self, what: &str) -> mlua::Result<()> {
        match self.attached {
            true => Err(runtime(format!(
                "pipeline {} is run by the control plane: {what} it there (the operator page, or /v1/pipelines)",
                self.pipeline.name()
            ))),
            false => Ok(()),
        }
    }

    fn set_state(&self, state: gst::State) -> mlua::Result<()> {
        self.pipeline.set_state(state).map(|_| ()).map_err(|_| {
            let why = self.last_error.lock().unwrap().clone();
            runtime(format!(
                "pipeline {} refused to go to {state:?}{}",
                self.pipeline.name(),
                why.map(|w| format!(": {w}")).unwrap_or_default()
            ))
        })
    }

    /// Ends the pipeline without losing what it wrote: sends end-of-stream
    /// and lets the run loop stop it once that reached the sinks (or after
    /// [`DRAIN`]). A pipeline that is not running stops at once.
    pub fn stop(&self) {
        let (_, current, pending) = self.pipeline.state(gst::ClockTime::ZERO);
        let running = current == gst::State::Playing || pending == gst::State::Playing;
        if !running || self.draining.lock().unwrap().is_some() {
            if !running {
                self.halt();
            }
            return;
        }
        *self.draining.lock().unwrap() = Some(Instant::now() + DRAIN);
        // Sending EOS waits for each source's streaming thread; that must
        // not hold up the script, and a thread stuck downstream (e.g. in an
        // input-selector) is freed by `halt` after the drain time.
        let pipeline = self.pipeline.clone();
        std::thread::spawn(move || pipeline.send_event(gst::event::Eos::new()));
    }

    /// Stops now. Elements go first, sinks before sources, so a streaming
    /// thread blocked inside an element is released before the pipeline's
    /// own state change (which an EOS still being sent holds) is needed.
    pub fn halt(&self) {
        *self.draining.lock().unwrap() = None;
        if let Ok(elements) = self
            .pipeline
            .iterate_sorted()
            .into_iter()
            .collect::<Result<Vec<_>, _>>()
        {
            for element in elements {
                let _ = element.set_state(gst::State::Null);
            }
        }
        let _ = self.pipeline.set_state(gst::State::Null);
        self.ended.store(true, Ordering::SeqCst);
    }

    /// Not running and not about to: ended, or never started. An attached
    /// pipeline is never idle: its host ends the script when it is over.
    pub fn is_idle(&self) -> bool {
        if self.attached {
            return false;
        }
        if self.is_draining() {
            return false;
        }
        let (_, current, pending) = self.pipeline.state(gst::ClockTime::ZERO);
        self.ended.load(Ordering::SeqCst) || (current < gst::State::Paused && pending == gst::State::VoidPending)
    }

    pub fn is_draining(&self) -> bool {
        self.draining.lock().unwrap().is_some()
    }

    pub fn drain_overdue(&self, now: Instant) -> bool {
        self.draining.lock().unwrap().is_some_and(|until| now >= until)
    }
}

/// `Pipeline` in scripts.
#[derive(Clone)]
pub(crate) struct Pipeline(pub Arc<Watched>);

impl UserData for Pipeline {
    fn add_methods<M: UserDataMethods<Self>>(methods: &mut M) {
        methods.add_method("play", |_, p, ()| {
            p.0.owned("play")?;
            p.0.ended.store(false, Ordering::SeqCst);
            p.0.set_state(gst::State::Playing)
        });
        methods.add_method("pause", |_, p, ()| {
            p.0.owned("pause")?;
            p.0.set_state(gst::State::Paused)
        });
        methods.add_method("stop", |_, p, ()| {
            p.0.owned("stop")?;
            p.0.stop();
            Ok(())
        });
        methods.add_method("element", |_, p, name: String| {
            p.0.pipeline
                .by_name(&name)
                .map(|element| Element {
                    element,
                    owner: p.0.clone(),
                })
                .ok_or_else(|| {
                    runtime(format!(
                        "pipeline {} has no element named `{name}`",
                        p.0.pipeline.name()
                    ))
                })
        });
        methods.add_method("name", |_, p, ()| Ok(p.0.pipeline.name().to_string()));
    }
}

/// `Element` in scripts, with the pipeline it belongs to.
#[derive(Clone)]
pub(crate) struct Element {
    pub element: gst::Element,
    pub owner: Arc<Watched>,
}

/// `Pad` in scripts: only ever handed back to `Element:set`.
#[derive(Clone)]
pub(crate) struct Pad(gst::Pad);

impl UserData for Pad {}

impl UserData for Element {
    fn add_methods<M: UserDataMethods<Self>>(methods: &mut M) {
        methods.add_method("name", |_, e, ()| Ok(e.element.name().to_string()));
        methods.add_method("stem", |_, e, name: String| {
            let stems: Vec<gst::Element> = e
                .element
                .downcast_ref::<gst::Bin>()
                .map(|bin| bin.children())
                .unwrap_or_default()
                .into_iter()
                .filter(|c| c.factory().is_some_and(|f| f.name() == "stem"))
                .collect();
            match stems.iter().find(|s| s.name() == name.as_str()) {
                Some(stem) => Ok(Element {
                    element: stem.clone(),
                    owner: e.owner.clone(),
                }),
                None => {
                    let names: Vec<String> = stems.iter().map(|s| s.name().to_string()).collect();
                    Err(runtime(format!(
                        "element `{}` has no stem `{name}` (stems: {})",
                        e.element.name(),
                        if names.is_empty() {
                            "none: not a stemmix".to_owned()
                        } else {
                            names.join(", ")
                        }
                    )))
                }
            }
        });
        methods.add_method("pad", |_, e, name: String| {
            e.element
                .static_pad(&name)
                .or_else(|| e.element.request_pad_simple(&name))
                .map(Pad)
                .ok_or_else(|| runtime(format!("`{}` has no pad `{name}`", e.element.name())))
        });
        methods.add_method("get", |lua, e, name: String| {
            if e.element.find_property(&name).is_none() {
                return Err(runtime(format!("`{}` has no property `{name}`", e.element.name())));
            }
            value_to_lua(lua, &e.element.property_value(&name))
        });
        methods.add_method("set", |_, e, (name, value): (String, mlua::Value)| {
            if let mlua::Value::UserData(ud) = &value {
                let pad = ud
                    .borrow::<Pad>()
                    .map_err(|_| runtime("only pads can be set as objects"))?;
                e.element.set_property(&name, &pad.0);
                return Ok(());
            }
            let value = lua_to_property(&value)?;
            slate_pipeline::set_property(&e.element, &name, &value).map_err(runtime)
        });
        methods.add_method("restart", |_, e, ()| {
            slate_pipeline::restart_branch(&e.element).map_err(runtime)?;
            // Its end-of-stream may have ended the whole pipeline.
            e.owner.ended.store(false, Ordering::SeqCst);
            Ok(())
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

pub(crate) fn value_to_lua(lua: &Lua, value: &gst::glib::Value) -> mlua::Result<mlua::Value> {
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
    match value.serialize() {
        Ok(text) => lua.create_string(text.as_str()).map(mlua::Value::String),
        Err(_) => Ok(mlua::Nil),
    }
}
