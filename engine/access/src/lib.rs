//! Invite-only access to Slate.
//!
//! An admin makes invites (a code shown once, uses allowed, expiry, role);
//! a code makes an account and its first token; accounts make more tokens,
//! each with scopes no wider than their role's, an expiry and a last use.
//! Secrets are shown once and kept as SHA-256 ([`secret`]). Every request
//! authenticates afresh ([`Access::authenticate`]), so a revoked token or a
//! disabled account fails on its next request. Quotas are charged with one
//! conditional `UPDATE` ([`Access::charge`]) so racing requests cannot
//! overrun them. Every change goes into an append-only access log.
//!
//! The tables live in Slate's one database (`slate-store`, migration 0004).
//!
//! ```
//! use slate_access::{Access, Role, Scope};
//! let folder = tempfile::tempdir().unwrap();
//! let access = Access::open(&folder.path().join("slate.sqlite")).unwrap();
//! let (admin, admin_token) = access.init_admin("Ada").unwrap();
//! let caller = access.authenticate(&admin_token.secret).unwrap();
//! let invite = access.invite(&caller, 1, None, Role::Member).unwrap();
//! let (member, token) = access.sign_up(&invite.code, "Grace").unwrap();
//! assert_eq!(member.invited_by.as_deref(), Some(admin.id.as_str()));
//! let member = access.authenticate(&token.secret).unwrap();
//! assert!(member.can(Scope::FeedSignal) && !member.can(Scope::Admin));
//! // The invite had one use.
//! assert!(access.sign_up(&invite.code, "Mallory").is_err());
//! ```

mod error;
mod quota;
mod scope;
pub mod secret;
mod store;

pub use error::AccessError;
pub use quota::{Charge, DAY, Limits, LimitsPatch, Quota, QuotaExceeded, Usage};
pub use scope::{Role, Scope, Scopes};
pub use store::{Access, AccessEvent, Account, Caller, InviteInfo, NewInvite, NewToken, TokenInfo};

/// Seconds since the Unix epoch (the store's clock).
pub use slate_store::now;
