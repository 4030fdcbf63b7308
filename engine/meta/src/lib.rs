//! The metadata that travels with every buffer through a Slate pipeline.
//!
//! A [`Record`] holds typed key/values (scene, shot, take and anything a stage
//! adds), the objects found in the frame and the relations between them. The
//! object/relation model mirrors GStreamer 1.24's analytics relation meta
//! (`GstAnalyticsRelationMeta`): each object has a numeric id unique within
//! the record, an optional pixel box with confidence, and relations are typed
//! edges between ids (`is-part-of`, `contains`, `relates-to`). Moving to that
//! meta later is a field-by-field mapping.
//!
//! This crate knows nothing about GStreamer: the WASM and Lua hosts, the
//! CLI and the stores all use it. It must never hold media bytes.
//!
//! ```
//! use slate_meta::{Record, RelationKind};
//!
//! let mut record = Record::default();
//! record.set(slate_meta::keys::SHOT, "s2");
//! let cup = record.add_object("cup");
//! let table = record.add_object("table");
//! record.relate(cup, RelationKind::RelatesTo, table).unwrap();
//! let json = record.to_json();
//! assert_eq!(Record::from_json(&json).unwrap(), record);
//! ```

mod record;
mod time;
mod value;

pub use record::{BoundingBox, MetaError, Object, ObjectId, Record, Relation, RelationKind};
pub use time::parse_time;
pub use value::Value;

/// Field names every Slate stage agrees on.
pub mod keys {
    /// Scene identifier, e.g. `"opening"`.
    pub const SCENE: &str = "scene";
    /// Shot identifier within a scene, e.g. `"s2"`.
    pub const SHOT: &str = "shot";
    /// Take number of the shot.
    pub const TAKE: &str = "take";
    /// Consent grant ids of everyone shown in the buffer.
    pub const GRANTS: &str = "consent.grants";
}
