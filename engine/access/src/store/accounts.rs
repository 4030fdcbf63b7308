//! Accounts: the first admin, an old token file adopted, listing,
//! disabling and limits.

use serde::Serialize;
use sqlx::Row;
use sqlx::sqlite::SqliteRow;

use super::tokens::{NewToken, insert_token};
use super::{Access, Caller, Tx, check_name, log};
use crate::error::{AccessError, invalid};
use crate::quota::{Limits, LimitsPatch, Quota};
use crate::scope::{Role, Scope};
use crate::secret;

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Account {
    pub id: String,
    pub name: String,
    pub role: Role,
    /// The account whose invite brought this one (none for the first admin).
    pub invited_by: Option<String>,
    pub invite: Option<String>,
    pub limits: Limits,
    pub disabled_at: Option<i64>,
    pub disabled_reason: Option<String>,
    pub created_at: i64,
}

const ACCOUNT: &str =
    "SELECT id, name, role, invited_by, invite_id, limits, disabled_at, disabled_reason, created_at FROM accounts";

fn account_of(row: &SqliteRow) -> Result<Account, AccessError> {
    let role = Role::parse(row.get::<&str, _>(2), "role")?;
    let limits: Option<String> = row.get(5);
    let limits = match limits {
        Some(json) => {
            serde_json::from_str(&json).map_err(|e| AccessError::Store(format!("account limits do not read: {e}")))?
        }
        None => Limits::of(role),
    };
    Ok(Account {
        id: row.get(0),
        name: row.get(1),
        role,
        invited_by: row.get(3),
        invite: row.get(4),
        limits,
        disabled_at: row.get(6),
        disabled_reason: row.get(7),
        created_at: row.get(8),
    })
}

/// Makes an account inside `tx`.
pub(super) async fn insert_account(
    tx: &mut Tx<'_>,
    name: &str,
    role: Role,
    invite: Option<(&str, &str)>,
    at: i64,
) -> Result<Account, AccessError> {
    check_name("name", name)?;
    let account = Account {
        id: secret::id("acc_"),
        name: name.trim().to_owned(),
        role,
        invited_by: invite.map(|(_, by)| by.to_owned()),
        invite: invite.map(|(id, _)| id.to_owned()),
        limits: Limits::of(role),
        disabled_at: None,
        disabled_reason: None,
        created_at: at,
    };
    sqlx::query("INSERT INTO accounts (id, name, role, invited_by, invite_id, created_at) VALUES (?, ?, ?, ?, ?, ?)")
        .bind(&account.id)
        .bind(&account.name)
        .bind(role.as_str())
        .bind(&account.invited_by)
        .bind(&account.invite)
        .bind(at)
        .execute(&mut **tx)
        .await?;
    let detail = serde_json::json!({ "name": account.name, "role": role, "invite": account.invite });
    log(
        tx,
        account.invited_by.as_deref(),
        "account.create",
        &account.id,
        detail,
        at,
    )
    .await?;
    Ok(account)
}

/// The oldest admin's id, inside `tx`.
async fn first_admin(tx: &mut Tx<'_>) -> Result<Option<String>, AccessError> {
    Ok(
        sqlx::query_scalar("SELECT id FROM accounts WHERE role = 'admin' ORDER BY created_at, id LIMIT 1")
            .fetch_optional(&mut **tx)
            .await?,
    )
}

impl Access {
    /// The first admin and its token, on an install with no admin yet.
    pub fn init_admin(&self, name: &str) -> Result<(Account, NewToken), AccessError> {
        let secret = secret::new(secret::TOKEN_PREFIX);
        let at = crate::now();
        self.db.block_on(async {
            let mut tx = self.db.begin_write().await?;
            // The write lock is held from here: two inits cannot both see no admin.
            let admin = first_admin(&mut tx).await?;
            if let Some(id) = admin {
                return Err(AccessError::Conflict { what: "admin", id });
            }
            let account = insert_account(&mut tx, name, Role::Admin, None, at).await?;
            let token = insert_token(
                &mut tx,
                &account.id,
                "admin init",
                Role::Admin.scopes(),
                None,
                secret,
                at,
            )
            .await?;
            tx.commit().await?;
            Ok((account, token))
        })
    }

    /// The first admin, acting for commands run on the machine that holds
    /// the database (whoever can read the file is its admin).
    pub fn local_admin(&self) -> Result<Caller, AccessError> {
        let admin = self
            .accounts()?
            .into_iter()
            .find(|a| a.role == Role::Admin && a.disabled_at.is_none())
            .ok_or_else(|| invalid("admin", "this install has no admin yet; run `slate admin init` first"))?;
        Ok(Caller {
            account: admin.id,
            name: admin.name,
            role: Role::Admin,
            token: "local".into(),
            scopes: Role::Admin.scopes(),
        })
    }

    /// Keeps an old single API token (the `api-token` file) working as an
    /// admin's token: the first admin's, made if there is none. Returns
    /// the admin's account id.
    pub fn adopt_admin_token(&self, secret: &str) -> Result<String, AccessError> {
        if secret.trim().len() < 16 {
            return Err(invalid("token", "a token needs at least 16 characters"));
        }
        let hash = secret::hash(secret);
        let known: Option<String> = self.db.block_on(
            sqlx::query_scalar("SELECT account_id FROM tokens WHERE hash = ?")
                .bind(&hash[..])
                .fetch_optional(self.db.pool()),
        )?;
        if let Some(account) = known {
            return Ok(account);
        }
        let at = crate::now();
        let secret = secret.trim().to_owned();
        self.db.block_on(async {
            let mut tx = self.db.begin_write().await?;
            let admin = first_admin(&mut tx).await?;
            let admin = match admin {
                Some(id) => id,
                None => insert_account(&mut tx, "admin", Role::Admin, None, at).await?.id,
            };
            let adopted = insert_token(
                &mut tx,
                &admin,
                "api-token file",
                Role::Admin.scopes(),
                None,
                secret,
                at,
            )
            .await;
            match adopted {
                Ok(_) => tx.commit().await?,
                // Another process adopted it first.
                Err(AccessError::Conflict { .. }) => {}
                Err(e) => return Err(e),
            }
            Ok(admin)
        })
    }

    pub fn account(&self, id: &str) -> Result<Account, AccessError> {
        let row = self.db.block_on(
            sqlx::query(sqlx::AssertSqlSafe(format!("{ACCOUNT} WHERE id = ?")))
                .bind(id)
                .fetch_optional(self.db.pool()),
        )?;
        account_of(&row.ok_or_else(|| AccessError::Unknown {
            what: "account",
            id: id.to_owned(),
        })?)
    }

    /// Every account, oldest first: with `invited_by`, the invite tree.
    pub fn accounts(&self) -> Result<Vec<Account>, AccessError> {
        let rows = self.db.block_on(
            sqlx::query(sqlx::AssertSqlSafe(format!("{ACCOUNT} ORDER BY created_at, id"))).fetch_all(self.db.pool()),
        )?;
        rows.iter().map(account_of).collect()
    }

    /// Disables (`reason` given) or enables (`None`) an account: its tokens
    /// stop, or work again, from the next request.
    pub fn set_disabled(&self, by: &Caller, id: &str, reason: Option<&str>) -> Result<Account, AccessError> {
        by.require(Scope::Admin)?;
        if reason.is_some() && id == by.account {
            return Err(AccessError::Forbidden {
                field: "account".into(),
                why: "an admin cannot disable its own account".into(),
            });
        }
        let at = crate::now();
        self.db.block_on(async {
            let mut tx = self.db.begin_write().await?;
            let done = sqlx::query("UPDATE accounts SET disabled_at = ?, disabled_reason = ? WHERE id = ?")
                .bind(reason.map(|_| at))
                .bind(reason)
                .bind(id)
                .execute(&mut *tx)
                .await?;
            if done.rows_affected() == 0 {
                return Err(AccessError::Unknown {
                    what: "account",
                    id: id.to_owned(),
                });
            }
            let action = if reason.is_some() {
                "account.disable"
            } else {
                "account.enable"
            };
            log(
                &mut tx,
                Some(&by.account),
                action,
                id,
                serde_json::json!({ "reason": reason }),
                at,
            )
            .await?;
            tx.commit().await?;
            Ok(())
        })?;
        self.account(id)
    }

    pub fn set_limits(&self, by: &Caller, id: &str, patch: LimitsPatch) -> Result<Account, AccessError> {
        by.require(Scope::Admin)?;
        let account = self.account(id)?;
        let limits = account.limits.patched(patch);
        if let Some(quota) = Quota::ALL.into_iter().find(|q| limits.get(*q) < 0) {
            return Err(invalid(quota.as_str(), "a limit cannot be negative"));
        }
        let at = crate::now();
        let json = serde_json::to_string(&limits).expect("limits are JSON");
        self.db.block_on(async {
            let mut tx = self.db.begin_write().await?;
            sqlx::query("UPDATE accounts SET limits = ? WHERE id = ?")
                .bind(&json)
                .bind(id)
                .execute(&mut *tx)
                .await?;
            log(
                &mut tx,
                Some(&by.account),
                "account.limits",
                id,
                serde_json::json!(limits),
                at,
            )
            .await?;
            tx.commit().await?;
            Ok::<_, AccessError>(())
        })?;
        self.account(id)
    }
}
