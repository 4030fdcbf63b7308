//! Slate's control plane: pipelines made from pipeline files (or the
//! shipped ones, by name), started, paused, stopped (drained: files are
//! finalised and signed) and tuned while they run, each owned by the
//! account that made it. Every running pipeline reports [`Event`]s on one
//! channel ([`Control::subscribe`]): its state, its bus messages in Slate's
//! words, audio meters and the alerts Slate raises itself ([`watch`]).
//!
//! GStreamer must be initialised, with Slate's elements registered, before
//! a pipeline is made (the `slate` binary does both).

mod control;
mod error;
pub mod events;
mod graph;
mod managed;
pub mod watch;

pub use control::{Control, Create, Source};
pub use error::ControlError;
pub use events::{Category, Event};
pub use graph::{Graph, Link, Node, Output};
pub use managed::{Restart, State, Status};
