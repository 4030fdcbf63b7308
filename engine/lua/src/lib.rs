//! Slate's Lua: scripts run in a sandbox with a per-call instruction budget
//! and a memory cap. A [`Script`] is one loaded stage script; its `process`
//! hook sees each buffer as a [`Buffer`] (timing, metadata, and the bytes
//! only when it asks). Errors name the file and line; they never take the
//! process down, and the caller decides what happens to the buffer.
//!
//! What a script can never do: open files (`io`), run programs
//! (`os.execute`), load bytecode or code from strings (`load`, `loadstring`,
//! `dofile`, `loadfile`), reach `debug`, or `require` anything outside the
//! allow-listed scripts folder.
//!
//! ```no_run
//! use slate_lua::{Buffer, Limits, Script};
//! # fn main() -> Result<(), slate_lua::ScriptError> {
//! let mut script = Script::load("tag.lua".as_ref(), Limits::default())?;
//! let mut buffer = Buffer::new(Some(0), None, Default::default());
//! script.process(&mut buffer)?;
//! # Ok(()) }
//! ```

mod automation;
mod buffer;
mod infer;
mod sandbox;
mod script;

pub use automation::{API, Automation, EVENTS, Inbox, LogListener, Options, Setting};
pub use buffer::Buffer;
pub use sandbox::Limits;
pub use script::{Script, ScriptError};
