//! Ingest: clips from any video model come with a sidecar (prompt, shot
//! id, model name) and go through the same downstream stages as Slate's
//! own shots. [`check`] runs a sequence of clips through the `continuity`
//! WASM plugin (in `wasmstage`) as one film and reports every cut —
//! between clips and inside them — with its breaks, measures and the
//! shots' VBench-style scores, and draws a contact sheet of the frames on
//! both sides of every flagged cut. [`Library`] keeps an output folder:
//! each clip signed with the original as its C2PA ingredient, the report
//! and the sheet. [`watch`] feeds a library from a folder as clips land.
//!
//! This crate never prints or exits: the CLI does.

mod check;
mod error;
mod library;
mod sheet;
mod sidecar;
mod watch;

pub use check::{Cut, HEIGHT, Report, ShotReport, WIDTH, check};
pub use error::IngestError;
pub use library::Library;
pub use sheet::write_sheet;
pub use sidecar::{Clip, MEDIA, Sidecar};
pub use watch::{Watch, watch};
