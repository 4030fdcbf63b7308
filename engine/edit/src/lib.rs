//! Slate's edit step. A [`Timeline`] is what an editor cuts: video tracks
//! and audio tracks named by stem, clips with a media reference and a
//! frame-exact source range, gaps, transitions (dissolve, wipe), markers,
//! titles over the picture, per-clip effects (a GStreamer element
//! description, a WASM plugin with its config, or a Lua stage) and
//! per-clip gain and pan.
//!
//! Timelines are read from and written to OpenTimelineIO's JSON (`.otio`,
//! what DaVinci Resolve, Premiere and Kdenlive exchange) for the subset
//! they can represent: Timeline, Stack, Track, Clip, Gap, Transition,
//! ExternalReference, Marker, Effect, RationalTime and TimeRange, with
//! Slate's own data under `metadata.slate`. Whatever falls outside it is
//! refused with the OTIO path of the object (`tracks[1].children[4]
//! .effects[0]`), never dropped; other tools' metadata is kept as it was.
//!
//! [`from_batch`] assembles a first cut from a generated batch.

mod assemble;
mod error;
mod model;
mod ops;
mod otio;
mod time;

pub use assemble::from_batch;
pub use error::EditError;
pub use model::{Clip, Effect, Item, Kind, Marker, Stem, Timeline, Title, Track, Transition, Wipe};
pub use otio::{from_otio, to_otio};
pub use time::{Range, Rate, Seconds, Time};
