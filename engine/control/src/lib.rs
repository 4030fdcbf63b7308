//! Slate's control plane: pipelines made from pipeline files (or the
//! shipped ones, by name), started, paused, stopped (drained: files are
//! finalised and signed) and tuned while they run, each owned by the
//! account that made it, with Lua automation scripts attached to tune it
//! ([`Control::attach`]) and a restart policy for failed branches
//! ([`Restart`]). Every running pipeline reports [`Event`]s on one
//! channel ([`Control::subscribe`]): its state, its bus messages in Slate's
//! words, audio meters and the alerts Slate raises itself ([`watch`]).
//!
//! GStreamer must be initialised, with Slate's elements registered, before
//! a pipeline is made (the `slate` binary does both).

mod control;
mod error;
pub mod events;
mod graph;
mod library;
mod managed;
mod scripts;
pub mod watch;

pub use control::{Control, Create, Source};
pub use error::ControlError;
pub use events::{Category, Event};
pub use graph::{Graph, Link, Node, Output};
pub use managed::{Restart, Scope, State, Status};
pub use scripts::{Attach, MAX_SCRIPTS, ScriptSource, ScriptStatus};
