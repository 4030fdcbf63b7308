//! A loaded stage script and its hooks.

use std::path::{Path, PathBuf};

use mlua::{ChunkMode, Function, Lua};

use crate::buffer::Buffer;
use crate::sandbox::{Budget, Limits, OUT_OF_INSTRUCTIONS, new_state};

/// Why a script could not load or a hook failed. The message starts with
/// `file:line:` when Lua knows where.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ScriptError {
    #[error("cannot read script {path}: {why}")]
    Read { path: PathBuf, why: String },
    #[error("{0}")]
    Error(String),
    #[error("{0}: ran out of its instruction budget ({1} instructions); it may loop forever")]
    Instructions(String, u64),
    #[error("{0}: ran out of its memory limit ({mib} MiB)", mib = .1 >> 20)]
    Memory(String, usize),
}

impl ScriptError {
    /// A short name of the cause, for bus messages and metrics.
    pub fn cause(&self) -> &'static str {
        match self {
            ScriptError::Read { .. } => "read",
            ScriptError::Error(_) => "error",
            ScriptError::Instructions(..) => "instructions",
            ScriptError::Memory(..) => "memory",
        }
    }
}

/// One stage script in its own sandbox.
pub struct Script {
    name: String,
    lua: Lua,
    budget: Budget,
    limits: Limits,
    /// The one `buf` handed to every `process` call; each buffer's data is
    /// swapped in for the call and out after it, so calls allocate nothing
    /// (per-call userdata would also pile up: Lua's emergency collection at
    /// the memory limit cannot free objects with finalisers).
    buf: mlua::AnyUserData,
}

impl std::fmt::Debug for Script {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Script").field("name", &self.name).finish()
    }
}

impl Script {
    /// Loads a script file, runs its top level and its `load()` hook.
    pub fn load(path: &Path, limits: Limits) -> Result<Script, ScriptError> {
        let source = std::fs::read_to_string(path).map_err(|e| ScriptError::Read {
            path: path.to_owned(),
            why: e.to_string(),
        })?;
        let folder = path.parent().map(Path::to_path_buf).unwrap_or_default();
        Script::from_source(&path.display().to_string(), &source, &folder, limits)
    }

    /// Loads a script from text; `name` stands for its file in messages and
    /// `folder` is where `require` looks unless the limits say otherwise.
    pub fn from_source(name: &str, source: &str, folder: &Path, limits: Limits) -> Result<Script, ScriptError> {
        let setup_error = |e: mlua::Error| ScriptError::Error(format!("{name}: {e}"));
        let (lua, budget) = new_state(&limits, folder).map_err(setup_error)?;
        let buf = lua
            .create_userdata(Buffer::new(None, None, Default::default()))
            .map_err(setup_error)?;
        // Stage scripts get the part of `slate` that makes sense per buffer.
        let slate = lua.create_table().map_err(setup_error)?;
        crate::infer::install(&lua, &slate).map_err(setup_error)?;
        lua.globals().set("slate", slate).map_err(setup_error)?;
        let script = Script {
            name: name.to_owned(),
            lua,
            budget,
            limits,
            buf,
        };
        script.guarded(|lua| {
            lua.load(source)
                .set_name(format!("@{name}"))
                .set_mode(ChunkMode::Text)
                .exec()
        })?;
        script.call_hook("load", ())?;
        Ok(script)
    }

    /// Bytes the script's Lua state holds now.
    pub fn used_memory(&self) -> usize {
        self.lua.used_memory()
    }

    /// True when the script defines a global function `name`.
    pub fn has(&self, name: &str) -> bool {
        self.lua.globals().get::<Function>(name).is_ok()
    }

    /// Calls `process(buf)`; the script's changes are left in `buffer`.
    /// `buf` is valid only during the call.
    pub fn process(&mut self, buffer: &mut Buffer) -> Result<(), ScriptError> {
        let Ok(process) = self.lua.globals().get::<Function>("process") else {
            return Ok(());
        };
        self.swap_buffer(buffer)?;
        let result = self.guarded(|_| process.call::<()>(&self.buf));
        self.swap_buffer(buffer)?;
        result
    }

    fn swap_buffer(&self, buffer: &mut Buffer) -> Result<(), ScriptError> {
        let mut held = self
            .buf
            .borrow_mut::<Buffer>()
            .map_err(|e| ScriptError::Error(format!("{}: {e}", self.name)))?;
        std::mem::swap(&mut *held, buffer);
        Ok(())
    }

    /// Calls `on_caps(caps)` with the caps as text, if defined.
    pub fn on_caps(&mut self, caps: &str) -> Result<(), ScriptError> {
        self.call_hook("on_caps", caps.to_owned())
    }

    /// Calls `unload()`, if defined, before the script is replaced or stopped.
    pub fn unload(&mut self) -> Result<(), ScriptError> {
        self.call_hook("unload", ())
    }

    fn call_hook(&self, name: &str, args: impl mlua::IntoLuaMulti) -> Result<(), ScriptError> {
        let Ok(hook) = self.lua.globals().get::<Function>(name) else {
            return Ok(());
        };
        self.guarded(|_| hook.call::<()>(args))
    }

    /// Runs `call` with a fresh instruction budget and names what failed.
    fn guarded<R>(&self, call: impl FnOnce(&Lua) -> mlua::Result<R>) -> Result<R, ScriptError> {
        self.budget.reset();
        call(&self.lua).map_err(|e| explain(&self.name, &self.limits, e))
    }
}

/// Names what went wrong in script `name`, with `file:line` when Lua knows it.
pub(crate) fn explain(name: &str, limits: &Limits, error: mlua::Error) -> ScriptError {
    if matches!(root(&error), mlua::Error::MemoryError(_)) {
        return ScriptError::Memory(name.to_owned(), limits.memory);
    }
    let text = message(&error);
    if text.contains(OUT_OF_INSTRUCTIONS) {
        return ScriptError::Instructions(name.to_owned(), limits.instructions);
    }
    if text.starts_with(name) || text.contains(".lua:") {
        ScriptError::Error(text)
    } else {
        ScriptError::Error(format!("{name}: {text}"))
    }
}

fn root(error: &mlua::Error) -> &mlua::Error {
    match error {
        mlua::Error::CallbackError { cause, .. } => root(cause),
        other => other,
    }
}

/// The first line of what went wrong, without mlua's wrapping.
fn message(error: &mlua::Error) -> String {
    let text = match root(error) {
        mlua::Error::RuntimeError(text) | mlua::Error::SyntaxError { message: text, .. } => text.clone(),
        other => other.to_string(),
    };
    text.lines().next().unwrap_or_default().trim().to_owned()
}
