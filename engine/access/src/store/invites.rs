//! Invites: codes shown once, each admitting so many accounts until it
//! expires; a code's use is taken with one conditional update.

use serde::Serialize;
use sqlx::Row;
use sqlx::sqlite::SqliteRow;

use super::accounts::{Account, insert_account};
use super::tokens::{NewToken, insert_token};
use super::{Access, Caller, check_name, log};
use crate::error::{AccessError, invalid};
use crate::scope::{Role, Scope};
use crate::secret;

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InviteInfo {
    pub id: String,
    pub role: Role,
    pub uses_allowed: i64,
    pub uses: i64,
    pub expires_at: Option<i64>,
    pub created_by: String,
    pub created_at: i64,
}

/// An invite just made: its code is shown this once.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewInvite {
    #[serde(flatten)]
    pub info: InviteInfo,
    pub code: String,
}

const INVITE: &str = "SELECT id, role, uses_allowed, uses, expires_at, created_by, created_at FROM invites";

fn invite_of(row: &SqliteRow) -> Result<InviteInfo, AccessError> {
    Ok(InviteInfo {
        id: row.get(0),
        role: Role::parse(row.get::<&str, _>(1), "role")?,
        uses_allowed: row.get(2),
        uses: row.get(3),
        expires_at: row.get(4),
        created_by: row.get(5),
        created_at: row.get(6),
    })
}

impl Access {
    /// An invite for `uses` accounts of `role`, until `expires_at` if given.
    pub fn invite(
        &self,
        by: &Caller,
        uses: i64,
        expires_at: Option<i64>,
        role: Role,
    ) -> Result<NewInvite, AccessError> {
        by.require(Scope::Admin)?;
        if !(1..=10_000).contains(&uses) {
            return Err(invalid("uses", format!("{uses}; an invite admits 1 to 10000 accounts")));
        }
        let at = crate::now();
        if let Some(expires) = expires_at.filter(|e| *e <= at) {
            return Err(invalid("expires_at", format!("{expires} is not in the future")));
        }
        let code = secret::new(secret::INVITE_PREFIX);
        let info = InviteInfo {
            id: secret::id("inv_"),
            role,
            uses_allowed: uses,
            uses: 0,
            expires_at,
            created_by: by.account.clone(),
            created_at: at,
        };
        self.db.block_on(async {
            let mut tx = self.db.begin_write().await?;
            sqlx::query(
                "INSERT INTO invites (id, code_hash, role, uses_allowed, expires_at, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            )
            .bind(&info.id)
            .bind(&secret::hash(&code)[..])
            .bind(role.as_str())
            .bind(uses)
            .bind(expires_at)
            .bind(&by.account)
            .bind(at)
            .execute(&mut *tx)
            .await?;
            let detail = serde_json::json!({ "role": role, "uses_allowed": uses, "expires_at": expires_at });
            log(&mut tx, Some(&by.account), "invite.create", &info.id, detail, at).await?;
            tx.commit().await?;
            Ok(NewInvite { info, code })
        })
    }

    pub fn invites(&self) -> Result<Vec<InviteInfo>, AccessError> {
        let rows = self.db.block_on(
            sqlx::query(sqlx::AssertSqlSafe(format!("{INVITE} ORDER BY created_at, id"))).fetch_all(self.db.pool()),
        )?;
        rows.iter().map(invite_of).collect()
    }

    /// A new account from an invite `code`, with its first token (the
    /// role's scopes). The invite's use is taken with one conditional
    /// update, so an invite of N uses admits exactly N however many race.
    pub fn sign_up(&self, code: &str, name: &str) -> Result<(Account, NewToken), AccessError> {
        check_name("name", name)?;
        let hash = secret::hash(code);
        let at = crate::now();
        self.db.block_on(async {
            let mut tx = self.db.begin_write().await?;
            let taken = sqlx::query(
                "UPDATE invites SET uses = uses + 1 \
                 WHERE code_hash = ? AND uses < uses_allowed AND (expires_at IS NULL OR expires_at > ?) \
                 RETURNING id, role, created_by",
            )
            .bind(&hash[..])
            .bind(at)
            .fetch_optional(&mut *tx)
            .await?;
            let Some(taken) = taken else {
                let invite = sqlx::query(sqlx::AssertSqlSafe(format!("{INVITE} WHERE code_hash = ?")))
                    .bind(&hash[..])
                    .fetch_optional(&mut *tx)
                    .await?;
                let refused = |field: &str, why: String| AccessError::Forbidden {
                    field: field.into(),
                    why,
                };
                return Err(match invite.as_ref().map(invite_of).transpose()? {
                    None => refused(
                        "invite",
                        "no such invite code; Slate is invite-only: ask someone on it for an invite".into(),
                    ),
                    Some(i) if i.expires_at.is_some_and(|e| e <= at) => refused(
                        "invite.expires_at",
                        format!(
                            "the invite expired at {}; ask for a new one",
                            i.expires_at.unwrap_or_default()
                        ),
                    ),
                    Some(i) => refused(
                        "invite.uses",
                        format!(
                            "the invite is used up ({} of {}); ask for a new one",
                            i.uses, i.uses_allowed
                        ),
                    ),
                });
            };
            let (invite, by): (String, String) = (taken.get(0), taken.get(2));
            let role = Role::parse(taken.get::<&str, _>(1), "role")?;
            let account = insert_account(&mut tx, name, role, Some((&invite, &by)), at).await?;
            let secret = secret::new(secret::TOKEN_PREFIX);
            let token = insert_token(&mut tx, &account.id, "sign-up", role.scopes(), None, secret, at).await?;
            tx.commit().await?;
            Ok((account, token))
        })
    }
}
