//! Slate's identity-rights registry: who may appear, where, how and until
//! when.
//!
//! People register with an Ed25519 public key and reference face
//! embeddings; they grant scoped rights to their likeness in [`Grant`]s
//! they sign, and take them back with signed [`Revocation`]s, which win
//! from their timestamp on. A pipeline asks [`Registry::check`] whether a
//! person may be shown for its grantee, channel and use at a moment; every
//! answer goes into an append-only audit log. Everything lives in Slate's
//! database ([`slate_store::Database`], which owns the schema), through
//! sqlx.

mod error;
mod keys;
mod model;
mod store;

pub use error::ConsentError;
pub use keys::IdentityKey;
pub use model::{
    AuditEntry, Grant, GrantRecord, Identity, IdentitySummary, Request, Revocation, Signed, Terms, Verdict, best_match,
    cosine, hex, hex_decode,
};
pub use store::{Context, GrantWindow, Registry};

/// Seconds since the Unix epoch, the registry's clock (the store's).
pub use slate_store::now;
