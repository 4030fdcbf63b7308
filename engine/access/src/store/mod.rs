//! Accounts, invites, tokens, quotas, owners and the access log, through
//! sqlx (blocking calls on the store's runtime: [`Database`]). Every
//! transaction that writes begins IMMEDIATE ([`Database::begin_write`]).

mod accounts;
mod invites;
mod owners;
mod quotas;
mod tokens;

use std::path::Path;

use serde::Serialize;
use slate_store::Database;
use sqlx::Row;

use crate::error::{AccessError, invalid};
use crate::scope::{Role, Scope, Scopes};

pub use accounts::Account;
pub use invites::{InviteInfo, NewInvite};
pub use tokens::{NewToken, TokenInfo};

/// Access control in Slate's database; every call blocks on the store's
/// runtime (from async code, call it in `spawn_blocking`).
pub struct Access {
    db: Database,
}

/// Who is calling: the account, and what this token may do.
#[derive(Debug, Clone)]
pub struct Caller {
    pub account: String,
    pub name: String,
    pub role: Role,
    pub token: String,
    pub scopes: Scopes,
}

impl Caller {
    pub fn can(&self, scope: Scope) -> bool {
        self.scopes.contains(scope)
    }

    /// Refuses unless the token carries `scope`, naming it.
    pub fn require(&self, scope: Scope) -> Result<(), AccessError> {
        if self.can(scope) {
            Ok(())
        } else {
            Err(AccessError::Forbidden {
                field: "scope".into(),
                why: format!(
                    "this token lacks the scope `{scope}`; make a token with it (POST /v1/me/tokens) or ask an admin"
                ),
            })
        }
    }
}

/// One change in the access log.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AccessEvent {
    pub seq: i64,
    pub at: i64,
    pub actor: Option<String>,
    pub action: String,
    pub subject: String,
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub detail: serde_json::Value,
}

type Tx<'a> = sqlx::Transaction<'a, sqlx::Sqlite>;

/// Appends to the access log inside `tx`.
pub(super) async fn log(
    tx: &mut Tx<'_>,
    actor: Option<&str>,
    action: &str,
    subject: &str,
    detail: serde_json::Value,
    at: i64,
) -> Result<(), AccessError> {
    sqlx::query("INSERT INTO access_audit (at, actor, action, subject, detail) VALUES (?, ?, ?, ?, ?)")
        .bind(at)
        .bind(actor)
        .bind(action)
        .bind(subject)
        .bind(detail.to_string())
        .execute(&mut **tx)
        .await?;
    Ok(())
}

pub(super) fn check_name(field: &str, name: &str) -> Result<(), AccessError> {
    if name.trim().is_empty() {
        return Err(invalid(field, "empty; give a name"));
    }
    if name.len() > 200 || name.chars().any(char::is_control) {
        return Err(invalid(field, "at most 200 bytes, no control characters"));
    }
    Ok(())
}

impl Access {
    /// Opens (making it if need be) Slate's database at `path`.
    pub fn open(path: &Path) -> Result<Access, AccessError> {
        Ok(Access::with(Database::open(path)?))
    }

    pub fn with(db: Database) -> Access {
        Access { db }
    }

    pub fn database(&self) -> &Database {
        &self.db
    }

    /// The last `last` changes, oldest first.
    pub fn audit(&self, last: i64) -> Result<Vec<AccessEvent>, AccessError> {
        let rows = self.db.block_on(
            sqlx::query(
                "SELECT seq, at, actor, action, subject, detail FROM \
                 (SELECT * FROM access_audit ORDER BY seq DESC LIMIT ?) ORDER BY seq",
            )
            .bind(last)
            .fetch_all(self.db.pool()),
        )?;
        Ok(rows
            .iter()
            .map(|row| AccessEvent {
                seq: row.get(0),
                at: row.get(1),
                actor: row.get(2),
                action: row.get(3),
                subject: row.get(4),
                detail: serde_json::from_str(row.get::<&str, _>(5)).unwrap_or(serde_json::Value::Null),
            })
            .collect())
    }
}

#[cfg(test)]
mod tests;
