//! Who owns what: identities, feed items, uploads.

use super::{Access, Caller};
use crate::error::AccessError;
use crate::scope::Scope;

impl Access {
    /// Records that `account` owns the `kind` record `id` (an identity, a
    /// feed item, an upload). A name made again (an upload's, after
    /// `slate ingest` took the first) belongs to whoever made it last.
    pub fn own(&self, kind: &str, id: &str, account: &str) -> Result<(), AccessError> {
        self.db.block_on(
            sqlx::query(
                "INSERT INTO owners (kind, id, account_id, created_at) VALUES (?, ?, ?, ?) \
                 ON CONFLICT (kind, id) DO UPDATE SET account_id = excluded.account_id, created_at = excluded.created_at",
            )
            .bind(kind)
            .bind(id)
            .bind(account)
            .bind(crate::now())
            .execute(self.db.pool()),
        )?;
        Ok(())
    }

    pub fn owner(&self, kind: &str, id: &str) -> Result<Option<String>, AccessError> {
        Ok(self.db.block_on(
            sqlx::query_scalar("SELECT account_id FROM owners WHERE kind = ? AND id = ?")
                .bind(kind)
                .bind(id)
                .fetch_optional(self.db.pool()),
        )?)
    }

    /// The `kind` records `account` owns.
    pub fn owned(&self, kind: &str, account: &str) -> Result<Vec<String>, AccessError> {
        Ok(self.db.block_on(
            sqlx::query_scalar("SELECT id FROM owners WHERE kind = ? AND account_id = ? ORDER BY id")
                .bind(kind)
                .bind(account)
                .fetch_all(self.db.pool()),
        )?)
    }

    /// Refuses unless the caller owns the `kind` record `id` (an admin may
    /// manage anyone's; a record nobody owns is the admins').
    pub fn require_owner(&self, by: &Caller, kind: &'static str, id: &str) -> Result<(), AccessError> {
        if by.can(Scope::Admin) {
            return Ok(());
        }
        match self.owner(kind, id)? {
            Some(owner) if owner == by.account => Ok(()),
            _ => Err(AccessError::Forbidden {
                field: kind.into(),
                why: format!("{kind} `{id}` belongs to another account"),
            }),
        }
    }
}
