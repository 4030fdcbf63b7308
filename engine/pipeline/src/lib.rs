//! Slate's declarative pipelines: read a TOML pipeline file
//! ([`PipelineFile`]), build it into a GStreamer pipeline ([`build`]) and run
//! it to the end ([`run`]) with clean stops, progress and clear errors.
//!
//! Everything here that a user can get wrong is a [`PipelineError`] naming
//! the file, line and element or property; runtime failures are a
//! [`RunError`]. This crate never exits the process or prints: the CLI does.

mod branch;
mod build;
mod error;
mod file;
mod run;
mod values;

pub use values::set_property;

pub use branch::{branch_of, describe_branch, restart_branch};
pub use build::{Built, build};
pub use error::{Location, PipelineError, did_you_mean};
pub use file::{ElementDecl, LinkChain, PipelineFile, PropertyDecl, PropertyValue, Role, Step};
pub use run::{Heard, Outcome, Progress, RunError, RunOptions, Stop, launch, prepare_outputs, run};
