//! Lua automation scripts attached to a pipeline the control plane runs.
//! `slate.main` is that pipeline: the script tunes it from its events,
//! timers and observers (`Element:set`, `Element:restart`) while the
//! control plane plays, stops and watches it. Each script runs on its own
//! thread, in its own sandbox, until it quits, is detached, or its
//! pipeline is over; a pipeline built again after a failure gets its
//! scripts attached again.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use serde::Serialize;
use serde_json::Value;
use slate_lua::{Automation, Inbox, LogListener, Options, ScriptError};
use slate_pipeline::Stop;

use crate::error::{ControlError, conflict, invalid};
use crate::library::Library;

/// How many scripts one pipeline takes.
pub const MAX_SCRIPTS: usize = 8;

/// Where a script comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum ScriptSource {
    /// The script's whole text.
    Lua(String),
    /// A shipped script, by the stem of its file (`watchdog`).
    Name(String),
}

/// A request to attach a script.
#[derive(Debug, Clone, PartialEq)]
pub struct Attach {
    pub source: ScriptSource,
    /// Values for the settings the script declares (`slate.settings`).
    pub settings: BTreeMap<String, String>,
}

/// An attached script as its operators see it.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ScriptStatus {
    pub id: String,
    /// The shipped script's name, or `inline`.
    pub name: String,
    /// The values of the settings it declared.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub settings: BTreeMap<String, Value>,
}

/// A script's text, resolved, with what it was asked to attach with: what
/// attaching it again needs.
#[derive(Debug, Clone)]
pub(crate) struct Script {
    pub(crate) name: String,
    pub(crate) text: String,
    /// Where `require` looks.
    pub(crate) folder: PathBuf,
    pub(crate) settings: BTreeMap<String, String>,
    /// The request field its faults are about: `lua` or `name`.
    pub(crate) field: &'static str,
}

/// A running script.
pub(crate) struct Attached {
    pub(crate) status: ScriptStatus,
    pub(crate) script: Script,
    /// Which attachment this is: one attached again after a rebuild is
    /// another, under the same id.
    pub(crate) serial: u64,
    inbox: Inbox,
    stop: Stop,
    /// Why it is being detached, for the `detached` event.
    reason: Arc<Mutex<Option<String>>>,
    thread: Option<JoinHandle<()>>,
}

impl Attached {
    /// Loads `script` on `pipeline` (its top level and `load()` run now,
    /// so a script that does not load is refused) and starts its thread;
    /// `ended(reason)` runs on that thread once the script is over.
    pub(crate) fn start(
        id: String,
        serial: u64,
        script: Script,
        pipeline: gst::Pipeline,
        log: LogListener,
        ended: impl FnOnce(String) + Send + 'static,
    ) -> Result<Attached, ControlError> {
        let options = Options {
            main: Some(pipeline),
            attached: true,
            settings: script.settings.clone(),
            log: Some(log),
            ..Options::default()
        };
        let mut automation = Automation::from_source(&script.name, &script.text, &script.folder, options)
            .map_err(|e| invalid(fault_field(&e, script.field), e.to_string()))?;
        let status = ScriptStatus {
            id: id.clone(),
            name: script.name.clone(),
            settings: automation.settings().into_iter().map(|s| (s.name, s.value)).collect(),
        };
        let (inbox, stop) = (automation.inbox(), automation.stopper());
        let reason = Arc::new(Mutex::new(None));
        let why = reason.clone();
        let thread = std::thread::Builder::new()
            .name(format!("script-{id}"))
            .spawn(move || {
                let result = automation.run(None);
                drop(automation);
                let given = why.lock().unwrap_or_else(|e| e.into_inner()).take();
                ended(match result {
                    Err(e) => format!("unload() failed: {e}"),
                    Ok(()) => given.unwrap_or_else(|| "the script ended (slate.quit)".into()),
                });
            })
            .map_err(|e| conflict("script", format!("cannot start a thread for the script: {e}")))?;
        Ok(Attached {
            status,
            script,
            serial,
            inbox,
            stop,
            reason,
            thread: Some(thread),
        })
    }

    pub(crate) fn deliver(&self, message: &gst::Message) {
        self.inbox.deliver(message);
    }

    /// Asks the script to end (its `unload()` runs); [`Attached::join`]
    /// waits for it.
    pub(crate) fn detach(&mut self, reason: &str) {
        self.reason
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get_or_insert_with(|| reason.to_owned());
        self.stop.request();
    }

    pub(crate) fn join(mut self) {
        if let Some(thread) = self.thread.take()
            && thread.thread().id() != std::thread::current().id()
        {
            let _ = thread.join();
        }
    }
}

/// Which field a script's refusal is about: its settings, or the script.
fn fault_field(e: &ScriptError, field: &'static str) -> &'static str {
    // Refused overrides read "setting `x`: ..." or "no setting `x`".
    match e.to_string().contains("setting `") {
        true => "settings",
        false => field,
    }
}

/// The script `attach` asks for, read.
pub(crate) fn resolve(library: &Library, attach: Attach) -> Result<Script, ControlError> {
    let folder = library.folder().map(Path::to_path_buf).unwrap_or_default();
    let (name, text, field) = match attach.source {
        ScriptSource::Lua(text) => ("inline".to_owned(), text, "lua"),
        ScriptSource::Name(name) => {
            let (_, text) = library.read(&name)?;
            (name, text, "name")
        }
    };
    Ok(Script {
        name,
        text,
        folder,
        settings: attach.settings,
        field,
    })
}
