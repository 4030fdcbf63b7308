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

    /// Calls the global function `name` with `argument` as a Lua value
    /// (objects become tables with string keys, arrays sequences) and
    /// returns what it returns the same way: None when it returns nothing
    /// or nil, or when the script has no such function.
    pub fn call_json(
        &self,
        name: &str,
        argument: &serde_json::Value,
    ) -> Result<Option<serde_json::Value>, ScriptError> {
        let Ok(hook) = self.lua.globals().get::<Function>(name) else {
            return Ok(None);
        };
        let value = self.guarded(|lua| {
            let argument = to_lua(lua, argument)?;
            let returned = hook.call::<mlua::Value>(argument)?;
            from_lua(&returned, 0)
        })?;
        Ok(Some(value).filter(|v| !v.is_null()))
    }

    /// Runs `call` with a fresh instruction budget and names what failed.
    fn guarded<R>(&self, call: impl FnOnce(&Lua) -> mlua::Result<R>) -> Result<R, ScriptError> {
        self.budget.reset();
        call(&self.lua).map_err(|e| explain(&self.name, &self.limits, e))
    }
}

fn to_lua(lua: &Lua, value: &serde_json::Value) -> mlua::Result<mlua::Value> {
    use serde_json::Value as J;
    Ok(match value {
        J::Null => mlua::Value::Nil,
        J::Bool(b) => mlua::Value::Boolean(*b),
        J::Number(n) => match n.as_i64() {
            Some(i) => mlua::Value::Integer(i),
            None => mlua::Value::Number(n.as_f64().unwrap_or(f64::NAN)),
        },
        J::String(text) => mlua::Value::String(lua.create_string(text)?),
        J::Array(items) => {
            let table = lua.create_table()?;
            for (i, item) in items.iter().enumerate() {
                table.raw_set(i + 1, to_lua(lua, item)?)?;
            }
            mlua::Value::Table(table)
        }
        J::Object(fields) => {
            let table = lua.create_table()?;
            for (key, item) in fields {
                table.raw_set(key.as_str(), to_lua(lua, item)?)?;
            }
            mlua::Value::Table(table)
        }
    })
}

/// A returned Lua value as JSON: a table with keys 1..n only is an array,
/// any other table an object (its keys must be strings); functions and
/// the like are refused, and so is nesting deeper than 32.
fn from_lua(value: &mlua::Value, depth: usize) -> mlua::Result<serde_json::Value> {
    use serde_json::Value as J;
    let refuse = |why: String| Err(mlua::Error::RuntimeError(why));
    if depth > 32 {
        return refuse("the returned value nests deeper than 32 tables".into());
    }
    Ok(match value {
        mlua::Value::Nil => J::Null,
        mlua::Value::Boolean(b) => J::Bool(*b),
        mlua::Value::Integer(i) => J::from(*i),
        mlua::Value::Number(n) => match serde_json::Number::from_f64(*n) {
            Some(n) => J::Number(n),
            None => return refuse(format!("returned {n}, which is not a finite number")),
        },
        mlua::Value::String(text) => J::String(text.to_str()?.to_owned()),
        mlua::Value::Table(table) => {
            let length = table.raw_len();
            let mut pairs = Vec::new();
            for pair in table.pairs::<mlua::Value, mlua::Value>() {
                pairs.push(pair?);
            }
            if length > 0 && pairs.len() == length {
                let items: mlua::Result<Vec<J>> = (1..=length)
                    .map(|i| from_lua(&table.raw_get::<mlua::Value>(i)?, depth + 1))
                    .collect();
                J::Array(items?)
            } else {
                let mut fields = serde_json::Map::new();
                for (key, item) in pairs {
                    let mlua::Value::String(key) = key else {
                        return refuse(format!("a returned table has a {} key; use strings", key.type_name()));
                    };
                    fields.insert(key.to_str()?.to_owned(), from_lua(&item, depth + 1)?);
                }
                J::Object(fields)
            }
        }
        other => return refuse(format!("returned a {}, which is not data", other.type_name())),
    })
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

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn script(source: &str) -> Script {
        Script::from_source("hook.lua", source, Path::new("."), Limits::default()).expect("loads")
    }

    #[test]
    fn a_hook_gets_json_as_tables_and_returns_tables_as_json() {
        let hook = script(
            r#"function retake(request)
                 local kinds = {}
                 for i, b in ipairs(request.breaks) do kinds[i] = b.kind .. ":" .. request.attempt end
                 return { kinds = kinds, camera = { fov = 30.5, position = { 1, 2, 3 } }, ok = true }
               end"#,
        );
        let answer = hook
            .call_json(
                "retake",
                &json!({"attempt": 2, "breaks": [{"kind": "crossed-line"}, {"kind": "off-mark"}]}),
            )
            .expect("runs");
        assert_eq!(
            answer,
            Some(
                json!({"kinds": ["crossed-line:2", "off-mark:2"], "camera": {"fov": 30.5, "position": [1, 2, 3]}, "ok": true})
            )
        );
    }

    #[test]
    fn nothing_returned_or_no_hook_is_none() {
        let hook = script("function quiet(x) end");
        assert_eq!(hook.call_json("quiet", &json!({})).expect("runs"), None);
        assert_eq!(hook.call_json("absent", &json!({})).expect("runs"), None);
    }

    #[test]
    fn what_is_not_data_is_refused_with_the_script_named() {
        let hook = script(
            "function f() return { go = function() end } end
             function g() return { [true] = 1 } end
             function h() return 0/0 end
             function spin() while true do end end",
        );
        for (name, says) in [("f", "function"), ("g", "boolean key"), ("h", "finite")] {
            let error = hook.call_json(name, &json!(null)).unwrap_err().to_string();
            assert!(error.contains("hook.lua") && error.contains(says), "{name}: {error}");
        }
        assert!(matches!(
            hook.call_json("spin", &json!(null)),
            Err(ScriptError::Instructions(..))
        ));
    }
}
