//! The sandbox a script runs in: which globals exist, and the limits.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use mlua::{HookTriggers, Lua, LuaOptions, StdLib, VmState};

/// What a script may use.
#[derive(Debug, Clone, PartialEq)]
pub struct Limits {
    /// Lua VM instructions one call may run.
    pub instructions: u64,
    /// Bytes the whole Lua state may allocate.
    pub memory: usize,
    /// The only folder `require` may load Lua modules from (the script's
    /// own folder when None).
    pub modules: Option<PathBuf>,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            instructions: 10_000_000,
            memory: 64 << 20,
            modules: None,
        }
    }
}

/// How often the instruction hook runs; the budget is checked then.
const HOOK_EVERY: u32 = 1_000;

/// Instructions used by the current call, shared with the hook.
#[derive(Clone, Default)]
pub(crate) struct Budget(Arc<AtomicU64>);

impl Budget {
    pub fn reset(&self) {
        self.0.store(0, Ordering::Relaxed);
    }
}

/// The message a script stopped by its instruction budget fails with.
pub(crate) const OUT_OF_INSTRUCTIONS: &str = "instruction budget exceeded";

/// A fresh Lua state with only safe libraries and the limits set.
pub(crate) fn new_state(limits: &Limits, script_folder: &Path) -> mlua::Result<(Lua, Budget)> {
    let libs = StdLib::COROUTINE | StdLib::TABLE | StdLib::STRING | StdLib::UTF8 | StdLib::MATH | StdLib::OS;
    let lua = Lua::new_with(libs, LuaOptions::default())?;
    lua.set_memory_limit(limits.memory)?;
    // Each hook call leaves a little short-lived garbage with finalisers;
    // the generational collector frees it before it can pile up to the
    // memory limit (the incremental one paced too lazily for that).
    lua.gc_gen(0, 0);
    let budget = Budget::default();
    let used = budget.0.clone();
    let allowed = limits.instructions;
    lua.set_hook(
        HookTriggers::new().every_nth_instruction(HOOK_EVERY),
        move |_lua, _debug| {
            if used.fetch_add(HOOK_EVERY as u64, Ordering::Relaxed) + HOOK_EVERY as u64 > allowed {
                return Err(mlua::Error::runtime(OUT_OF_INSTRUCTIONS));
            }
            Ok(VmState::Continue)
        },
    )?;
    lock_down(&lua, limits.modules.as_deref().unwrap_or(script_folder))?;
    Ok((lua, budget))
}

/// Removes what a script must not reach and confines `require`.
fn lock_down(lua: &Lua, modules: &Path) -> mlua::Result<()> {
    let globals = lua.globals();
    for name in ["dofile", "loadfile", "load", "loadstring", "collectgarbage"] {
        globals.raw_set(name, mlua::Nil)?;
    }
    let os: mlua::Table = globals.get("os")?;
    for name in ["execute", "exit", "getenv", "remove", "rename", "tmpname", "setlocale"] {
        os.raw_set(name, mlua::Nil)?;
    }
    let string: mlua::Table = globals.get("string")?;
    string.raw_set("dump", mlua::Nil)?;
    globals.raw_set("package", mlua::Nil)?;
    let print = lua.create_function(|_, parts: mlua::Variadic<mlua::Value>| {
        let text: Vec<String> = parts
            .iter()
            .map(|v| v.to_string().unwrap_or_else(|_| "?".into()))
            .collect();
        tracing::info!(target: "slate::lua", "{}", text.join("\t"));
        Ok(())
    })?;
    globals.raw_set("print", print)?;
    globals.raw_set("require", confined_require(lua, modules.to_owned())?)?;
    Ok(())
}

/// `require(name)` for Lua files in `folder` only: `a.b` is `folder/a/b.lua`.
fn confined_require(lua: &Lua, folder: PathBuf) -> mlua::Result<mlua::Function> {
    let loaded = lua.create_table()?;
    lua.create_function(move |lua, name: String| {
        if let Ok(module) = loaded.raw_get::<mlua::Value>(name.as_str())
            && !module.is_nil()
        {
            return Ok(module);
        }
        let valid = !name.is_empty()
            && name.split('.').all(|part| !part.is_empty() && part.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'));
        if !valid {
            return Err(mlua::Error::runtime(format!(
                "{}require \"{name}\" refused: module names are letters, digits, `_` and dots, from the scripts folder {}",
                caller(lua),
                folder.display()
            )));
        }
        let file = folder.join(format!("{}.lua", name.replace('.', "/")));
        let source = std::fs::read_to_string(&file).map_err(|e| {
            mlua::Error::runtime(format!(
                "{}require \"{name}\": cannot read {} ({e}); modules come from {}",
                caller(lua),
                file.display(),
                folder.display()
            ))
        })?;
        let module: mlua::Value = lua
            .load(source)
            .set_name(format!("@{}", file.display()))
            .set_mode(mlua::ChunkMode::Text)
            .call(())?;
        let module = if module.is_nil() { mlua::Value::Boolean(true) } else { module };
        loaded.raw_set(name.as_str(), module.clone())?;
        Ok(module)
    })
}

/// `file:line: ` of the Lua code calling into Rust, for error messages.
pub(crate) fn caller(lua: &Lua) -> String {
    lua.inspect_stack(1, |debug| {
        let source = debug.source();
        let file = source.short_src.as_deref().unwrap_or("?").to_owned();
        format!("{file}:{}: ", debug.current_line().unwrap_or_default())
    })
    .unwrap_or_default()
}
