//! Slate's provenance, with C2PA (the `c2pa` crate, Rust-native crypto, no
//! network at sign or verify time): a local signing CA and signer made on
//! first use ([`Identity`]), manifests that say what a pipeline did
//! ([`Story`]), signing finished MP4 and fragmented MP4 / HLS output, and
//! verification reports ([`verify`]).

pub mod alloc;
mod error;
mod folder;
mod keys;
mod manifest;
mod sign;
mod structure;
mod verify;

pub use error::ProvenanceError;
pub use folder::{playlist_groups, verify_path, verify_playlist};
pub use keys::{Identity, Validity};
pub use manifest::{Edit, PluginUse, SLATE_ASSERTION, Source, Story};
pub use sign::{sign_file, sign_fragmented};
pub use verify::{Report, State, Status, Trust, verify};

/// The media type C2PA reads `path` as, from its extension; None for a
/// file it cannot sign or read.
pub fn media_type(path: &std::path::Path) -> Option<String> {
    c2pa::format_from_path(path).filter(|mime| mime.contains('/'))
}
