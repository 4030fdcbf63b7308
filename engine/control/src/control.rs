//! The pipelines a server holds: made from a pipeline file or a shipped
//! one by name, with `--set` style overrides, each owned by an account.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use gst::prelude::*;
use serde_json::Value;
use slate_pipeline::{PipelineFile, PropertyValue};
use tokio::sync::broadcast;

use crate::error::{ControlError, conflict, invalid};
use crate::events::Event;
use crate::graph::{Graph, Output};
use crate::library::Library;
use crate::managed::{Made, Managed, Restart, Status};
use crate::scripts::{Attach, ScriptStatus};

/// How many pipelines a server holds at once (finished ones count until
/// they are removed).
pub const MAX_PIPELINES: usize = 32;

/// Where a pipeline's file comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum Source {
    /// A pipeline file's whole text.
    Toml(String),
    /// A shipped pipeline, by the stem of its file (`demo`).
    Name(String),
}

/// A request for a pipeline.
#[derive(Debug, Clone, PartialEq)]
pub struct Create {
    pub source: Source,
    /// `ELEMENT.PROPERTY=VALUE`, as `slate run --set`.
    pub set: Vec<String>,
    /// Overrides the file's duration.
    pub duration: Option<Duration>,
    pub restart: Restart,
}

/// The control plane: every pipeline a server holds, and their events.
pub struct Control {
    pipelines: Mutex<BTreeMap<String, Arc<Managed>>>,
    next: AtomicU64,
    events: broadcast::Sender<Event>,
    /// The shipped pipelines and scripts.
    library: Library,
    scripts: Library,
}

impl Control {
    /// A control plane whose shipped pipelines are the `*.toml` files in
    /// `library`.
    pub fn new(library: Option<PathBuf>) -> Control {
        Control {
            pipelines: Mutex::default(),
            next: AtomicU64::new(1),
            events: broadcast::channel(4096).0,
            library: Library::pipelines(library),
            scripts: Library::scripts(None),
        }
    }

    /// Ships the automation scripts (`*.lua`) in `folder` too: they attach
    /// by name.
    pub fn with_scripts(mut self, folder: PathBuf) -> Control {
        self.scripts = Library::scripts(Some(folder));
        self
    }

    /// The shipped automation scripts' names.
    pub fn shipped_scripts(&self) -> Vec<String> {
        self.scripts.names()
    }

    /// Attaches a Lua automation script to pipeline `id`: `slate.main` in
    /// the script is the pipeline. Refusals name `lua`, `name` or
    /// `settings`, with the script's line.
    pub fn attach(&self, id: &str, attach: Attach) -> Result<ScriptStatus, ControlError> {
        let managed = self.get(id)?;
        let script = crate::scripts::resolve(&self.scripts, attach)?;
        managed.attach(script)
    }

    /// Detaches script `script` from pipeline `id` once its `unload()` ran.
    pub fn detach(&self, id: &str, script: &str) -> Result<(), ControlError> {
        self.get(id)?.detach(script)
    }

    pub fn scripts(&self, id: &str) -> Result<Vec<ScriptStatus>, ControlError> {
        Ok(self.get(id)?.scripts())
    }

    /// Every event of every pipeline from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.events.subscribe()
    }

    /// The shipped pipelines' names.
    pub fn shipped(&self) -> Vec<String> {
        self.library.names()
    }

    fn held(&self) -> MutexGuard<'_, BTreeMap<String, Arc<Managed>>> {
        self.pipelines.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Builds and checks a pipeline (READY) for `owner`; it starts on
    /// [`Control::start`].
    pub fn create(&self, owner: &str, create: Create) -> Result<Status, ControlError> {
        if self.held().len() >= MAX_PIPELINES {
            return Err(conflict(
                "pipelines",
                format!(
                    "this server holds {MAX_PIPELINES} pipelines already; remove finished ones (DELETE /v1/pipelines/ID)"
                ),
            ));
        }
        let (name, text, origin) = self.resolve(&create.source)?;
        let file = parse(&text, &origin, &create.set)?;
        let built = build(&file, &origin, &create.set)?;
        let rebuild = {
            let (text, origin, set) = (text.clone(), origin.clone(), create.set.clone());
            Box::new(move || build(&parse(&text, &origin, &set)?, &origin, &set))
        };
        let id = format!("p{}", self.next.fetch_add(1, Ordering::Relaxed));
        let made = Made {
            name,
            description: file.description.clone(),
            built,
            duration: create.duration,
            restart: create.restart,
            rebuild,
        };
        let managed = Arc::new(Managed::new(id.clone(), owner.to_owned(), made, self.events.clone()));
        let status = managed.status();
        self.held().insert(id, managed);
        Ok(status)
    }

    /// The file text a source names, with its name and origin.
    fn resolve(&self, source: &Source) -> Result<(String, String, String), ControlError> {
        match source {
            Source::Toml(text) => Ok(("inline".into(), text.clone(), "toml".into())),
            Source::Name(name) => {
                let (path, text) = self.library.read(name)?;
                Ok((name.clone(), text, path.display().to_string()))
            }
        }
    }

    fn get(&self, id: &str) -> Result<Arc<Managed>, ControlError> {
        self.held()
            .get(id)
            .cloned()
            .ok_or_else(|| ControlError::NotFound(id.to_owned()))
    }

    /// Who owns pipeline `id`.
    pub fn owner(&self, id: &str) -> Result<String, ControlError> {
        Ok(self.get(id)?.owner.clone())
    }

    pub fn status(&self, id: &str) -> Result<Status, ControlError> {
        Ok(self.get(id)?.status())
    }

    /// Every pipeline `visible` lets through, oldest first.
    pub fn list(&self, visible: impl Fn(&str) -> bool) -> Vec<Status> {
        let mut all: Vec<Arc<Managed>> = self.held().values().filter(|m| visible(&m.owner)).cloned().collect();
        all.sort_by_key(|m| m.id[1..].parse::<u64>().unwrap_or(0));
        all.iter().map(|m| m.status()).collect()
    }

    pub fn start(&self, id: &str) -> Result<Status, ControlError> {
        let managed = self.get(id)?;
        managed.start()?;
        Ok(managed.status())
    }

    pub fn pause(&self, id: &str) -> Result<Status, ControlError> {
        let managed = self.get(id)?;
        managed.pause()?;
        Ok(managed.status())
    }

    /// Drains the pipeline (see the `stopping` state); `wait` returns only
    /// once it is over.
    pub fn stop(&self, id: &str, wait: bool) -> Result<Status, ControlError> {
        let managed = self.get(id)?;
        managed.stop()?;
        if wait {
            managed.join();
        }
        Ok(managed.status())
    }

    /// Forgets a pipeline that is over (or was never started).
    pub fn remove(&self, id: &str) -> Result<(), ControlError> {
        let managed = self.get(id)?;
        let state = managed.state();
        if !state.is_over() && state != crate::State::Ready {
            return Err(conflict(
                "state",
                format!("pipeline {id} is {state:?}; stop it first").to_lowercase(),
            ));
        }
        self.held().remove(id);
        Ok(())
    }

    /// Stops every pipeline and waits for them to drain (the server is
    /// shutting down).
    pub fn stop_all(&self) {
        let all: Vec<Arc<Managed>> = self.held().values().cloned().collect();
        for managed in &all {
            let _ = managed.stop();
        }
        for managed in &all {
            managed.join();
        }
    }

    /// Puts a mark in pipeline `id`'s event stream, through its bus like
    /// any message: an event `mark` with `label` and `posted-ns` (Unix
    /// time), by which a client can measure how late events reach it.
    pub fn mark(&self, id: &str, label: &str) -> Result<(), ControlError> {
        let posted = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        let s = gst::Structure::builder(crate::events::MARK)
            .field("label", label)
            .field("posted-ns", posted)
            .build();
        let _ = self.get(id)?.pipeline().post_message(gst::message::Application::new(s));
        Ok(())
    }

    pub fn graph(&self, id: &str) -> Result<Graph, ControlError> {
        Ok(crate::graph::graph(&self.get(id)?.pipeline()))
    }

    pub fn outputs(&self, id: &str) -> Result<Vec<Output>, ControlError> {
        Ok(self.get(id)?.outputs())
    }

    /// The file `name` beside the pipeline's preview playlist: a playlist
    /// or segment the operator page plays.
    pub fn preview_file(&self, id: &str, name: &str) -> Result<PathBuf, ControlError> {
        let outputs = self.get(id)?.outputs();
        let playlist = crate::graph::preview(&outputs)
            .ok_or_else(|| invalid("id", format!("pipeline {id} writes no HLS, so it has no preview")))?;
        let plain = !name.is_empty()
            && !name.starts_with('.')
            && name.chars().all(|c| c.is_ascii_alphanumeric() || "._-".contains(c));
        if !plain {
            return Err(invalid("file", format!("`{name}` is not a file name of the preview")));
        }
        Ok(playlist
            .parent()
            .map(|d| d.join(name))
            .unwrap_or_else(|| PathBuf::from(name)))
    }

    /// The properties of element `element`, readable ones with their values.
    pub fn properties(&self, id: &str, element: &str) -> Result<BTreeMap<String, Value>, ControlError> {
        let element = self.element(id, element)?;
        Ok(element
            .list_properties()
            .iter()
            .filter(|p| {
                p.flags().contains(gst::glib::ParamFlags::READABLE) && p.owner_type() != gst::Object::static_type()
            })
            .map(|p| {
                (
                    p.name().to_owned(),
                    crate::events::value_json(&element.property_value(p.name())),
                )
            })
            .collect())
    }

    /// Sets a property while the pipeline runs, with the checks and
    /// messages of pipeline files; answers the value it took.
    pub fn set_property(&self, id: &str, element: &str, property: &str, value: &Value) -> Result<Value, ControlError> {
        let target = self.element(id, element)?;
        let value = property_value(value, "value")?;
        slate_pipeline::set_property(&target, property, &value).map_err(|why| invalid("property", why))?;
        Ok(crate::events::value_json(&target.property_value(property)))
    }

    fn element(&self, id: &str, name: &str) -> Result<gst::Element, ControlError> {
        let pipeline = self.get(id)?.pipeline();
        pipeline.by_name(name).ok_or_else(|| {
            let names: Vec<String> = pipeline.children().iter().map(|e| e.name().to_string()).collect();
            invalid(
                "element",
                format!(
                    "pipeline {id} has no element `{name}`{}",
                    slate_pipeline::did_you_mean(name, names.iter().map(String::as_str))
                ),
            )
        })
    }
}

impl Default for Control {
    /// A control plane with no shipped pipelines.
    fn default() -> Control {
        Control::new(None)
    }
}

impl Drop for Control {
    fn drop(&mut self) {
        self.stop_all();
    }
}

/// A pipeline file with its overrides; refusals name `toml`/`name` (the
/// file) or `set[N]`.
fn parse(text: &str, origin: &str, set: &[String]) -> Result<PipelineFile, ControlError> {
    let mut file = PipelineFile::parse(text, origin).map_err(|e| invalid(file_field(origin), e.to_string()))?;
    for (i, assignment) in set.iter().enumerate() {
        file.apply_override(assignment)
            .map_err(|e| invalid(format!("set[{i}]"), e.to_string()))?;
    }
    Ok(file)
}

fn build(file: &PipelineFile, origin: &str, set: &[String]) -> Result<slate_pipeline::Built, ControlError> {
    let refuse = |e: slate_pipeline::PipelineError| invalid(fault_field(&e, origin, set), e.to_string());
    let built = slate_pipeline::build(file).map_err(refuse)?;
    built.prepare().map_err(refuse)?;
    Ok(built)
}

/// Which field a build fault is about: an override (`set[N]`) when it
/// has no line in the file and names the override's property, else the
/// file.
fn fault_field(e: &slate_pipeline::PipelineError, origin: &str, set: &[String]) -> String {
    let from_override = e.at.is_none().then(|| {
        set.iter().position(|assignment| {
            let target = assignment.split_once('=').map_or(assignment.as_str(), |(t, _)| t);
            target
                .split_once('.')
                .is_some_and(|(_, property)| e.message.contains(&format!("property `{property}`")))
        })
    });
    match from_override.flatten() {
        Some(i) => format!("set[{i}]"),
        None => file_field(origin).to_owned(),
    }
}

/// The request field a file's faults are about: the text sent, or the
/// shipped name.
fn file_field(origin: &str) -> &'static str {
    if origin == "toml" { "toml" } else { "name" }
}

/// A JSON value as a pipeline file would write it.
pub fn property_value(value: &Value, field: &str) -> Result<PropertyValue, ControlError> {
    Ok(match value {
        Value::Bool(b) => PropertyValue::Bool(*b),
        Value::Number(n) => match n.as_i64() {
            Some(i) => PropertyValue::Int(i),
            None if n.is_u64() => return Err(invalid(field, format!("{n} is too large"))),
            None => PropertyValue::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        Value::String(s) => PropertyValue::Text(s.clone()),
        Value::Array(items) => PropertyValue::List(
            items
                .iter()
                .enumerate()
                .map(|(i, v)| property_value(v, &format!("{field}[{i}]")))
                .collect::<Result<_, _>>()?,
        ),
        Value::Object(map) => PropertyValue::Table(
            map.iter()
                .map(|(k, v)| Ok((k.clone(), property_value(v, &format!("{field}.{k}"))?)))
                .collect::<Result<_, ControlError>>()?,
        ),
        Value::Null => {
            return Err(invalid(
                field,
                "null is no property value; send a boolean, number, string, array or table",
            ));
        }
    })
}
