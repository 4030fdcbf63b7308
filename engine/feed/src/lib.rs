//! Slate's steerable feed: a ranked slate of published media per user,
//! learned from what people watch, skip, like, share, hide and remix.
//!
//! - [`Feed`] ranks and learns, over the [`store`] (tables in the consent
//!   registry's SQLite file): a composite reward from signals (weights in
//!   the operator's [`Objective`]), an online ridge reward model, and a
//!   [`policy`] — LinUCB, linear Thompson sampling or epsilon-greedy, with
//!   an epsilon floor, a per-user exploration budget and MMR diversity —
//!   whose propensities are logged with every impression.
//! - Users steer their feed ([`Steering`]); provenance and consent hold
//!   items back (rejected or flagged never, throttled at most at their
//!   rate, an item whose grant is revoked leaves at once).
//! - A/B/n [`Experiment`]s split users by hash; [`ope`] estimates a target
//!   policy's value from logs (IPS, SNIPS, DR), also on the Open Bandit
//!   Dataset; [`sim`] is a synthetic population to test all of it against.
//! - Ranker plugins ([`rescore`]): WASM `ranker` components or Lua hooks,
//!   fail-open.

pub mod embed;
pub mod engine;
mod error;
pub mod experiment;
pub mod linear;
pub mod model;
pub mod ope;
#[cfg(feature = "openapi")]
pub mod openapi;
pub mod policy;
pub mod rescore;
pub mod rng;
pub mod sim;
pub mod steering;
pub mod store;

pub use engine::{Feed, Held, Ranked, SignalsOut, SlateOut, Term};
pub use error::FeedError;
pub use model::{Arm, Consent, Experiment, Learning, NewItem, Objective, Provenance, Signal, SignalKind};
pub use steering::Steering;

/// Seconds since the Unix epoch, the feed's clock.
pub fn now() -> i64 {
    slate_consent::now()
}
