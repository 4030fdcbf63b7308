//! Accounts, invites, tokens, quotas, owners and the access log, through
//! sqlx (blocking calls on the store's runtime: [`Database`]).

use std::path::Path;

use serde::Serialize;
use slate_store::Database;
use sqlx::Row;
use sqlx::sqlite::SqliteRow;

use crate::error::{AccessError, invalid};
use crate::quota::{Charge, Limits, LimitsPatch, Quota, QuotaExceeded, Usage};
use crate::scope::{Role, Scope, Scopes};
use crate::secret;

/// Only write a token's last use when it is older than this (seconds): a
/// busy token must not turn every request into a write.
const LAST_USE_RESOLUTION: i64 = 60;

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

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TokenInfo {
    pub id: String,
    pub account: String,
    pub name: String,
    /// The secret's first characters, to recognise it.
    pub prefix: String,
    pub scopes: Vec<&'static str>,
    pub expires_at: Option<i64>,
    pub last_used_at: Option<i64>,
    pub revoked_at: Option<i64>,
    pub created_at: i64,
}

/// A token just made: its secret is shown this once.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewToken {
    #[serde(flatten)]
    pub info: TokenInfo,
    pub secret: String,
}

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

const ACCOUNT: &str =
    "SELECT id, name, role, invited_by, invite_id, limits, disabled_at, disabled_reason, created_at FROM accounts";
const TOKEN: &str =
    "SELECT id, account_id, name, prefix, scopes, expires_at, last_used_at, revoked_at, created_at FROM tokens";
const INVITE: &str = "SELECT id, role, uses_allowed, uses, expires_at, created_by, created_at FROM invites";

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

fn token_of(row: &SqliteRow) -> Result<TokenInfo, AccessError> {
    let scopes = Scopes::parse(row.get::<&str, _>(4).split_whitespace(), "scopes")?;
    Ok(TokenInfo {
        id: row.get(0),
        account: row.get(1),
        name: row.get(2),
        prefix: row.get(3),
        scopes: scopes.names(),
        expires_at: row.get(5),
        last_used_at: row.get(6),
        revoked_at: row.get(7),
        created_at: row.get(8),
    })
}

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

type Tx<'a> = sqlx::Transaction<'a, sqlx::Sqlite>;

/// Appends to the access log inside `tx`.
async fn log(
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

/// Makes a token for `account` inside `tx`.
async fn insert_token(
    tx: &mut Tx<'_>,
    account: &str,
    name: &str,
    scopes: Scopes,
    expires_at: Option<i64>,
    secret: String,
    at: i64,
) -> Result<NewToken, AccessError> {
    let info = TokenInfo {
        id: secret::id("tok_"),
        account: account.to_owned(),
        name: name.to_owned(),
        prefix: secret[..secret::SHOWN.min(secret.len())].to_owned(),
        scopes: scopes.names(),
        expires_at,
        last_used_at: None,
        revoked_at: None,
        created_at: at,
    };
    sqlx::query(
        "INSERT INTO tokens (id, account_id, name, hash, prefix, scopes, expires_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(&info.id)
    .bind(account)
    .bind(name)
    .bind(&secret::hash(&secret)[..])
    .bind(&info.prefix)
    .bind(scopes.to_text())
    .bind(expires_at)
    .bind(at)
    .execute(&mut **tx)
    .await
    .map_err(|e| match e {
        sqlx::Error::Database(d) if d.is_unique_violation() => AccessError::Conflict {
            what: "token",
            id: info.prefix.clone(),
        },
        e => e.into(),
    })?;
    let detail =
        serde_json::json!({ "account": account, "name": name, "scopes": info.scopes, "expires_at": expires_at });
    log(tx, Some(account), "token.create", &info.id, detail, at).await?;
    Ok(NewToken { info, secret })
}

/// Makes an account inside `tx`.
async fn insert_account(
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

fn check_name(field: &str, name: &str) -> Result<(), AccessError> {
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

    /// The first admin and its token, on an install with no admin yet.
    pub fn init_admin(&self, name: &str) -> Result<(Account, NewToken), AccessError> {
        self.init_admin_with(name, secret::new(secret::TOKEN_PREFIX))
    }

    fn init_admin_with(&self, name: &str, secret: String) -> Result<(Account, NewToken), AccessError> {
        let at = crate::now();
        self.db.block_on(async {
            let mut tx = self.db.begin_write().await?;
            // The write lock is held from here: two inits cannot both see no admin.
            let admin: Option<String> =
                sqlx::query_scalar("SELECT id FROM accounts WHERE role = 'admin' ORDER BY created_at LIMIT 1")
                    .fetch_optional(&mut *tx)
                    .await?;
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
            let admin: Option<String> =
                sqlx::query_scalar("SELECT id FROM accounts WHERE role = 'admin' ORDER BY created_at LIMIT 1")
                    .fetch_optional(&mut *tx)
                    .await?;
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

    /// Who holds `secret`: refused if it is unknown, expired or revoked,
    /// or its account is disabled.
    pub fn authenticate(&self, secret: &str) -> Result<Caller, AccessError> {
        let at = crate::now();
        let hash = secret::hash(secret);
        let row = self.db.block_on(
            sqlx::query(
                "SELECT t.id, t.scopes, t.expires_at, t.revoked_at, t.last_used_at, a.id, a.name, a.role, a.disabled_at, a.disabled_reason \
                 FROM tokens t JOIN accounts a ON a.id = t.account_id WHERE t.hash = ?",
            )
            .bind(&hash[..])
            .fetch_optional(self.db.pool()),
        )?;
        let row = row.ok_or_else(|| AccessError::Unauthenticated("the API token is not valid".into()))?;
        let token: String = row.get(0);
        if let Some(revoked) = row.get::<Option<i64>, _>(3) {
            return Err(AccessError::Unauthenticated(format!(
                "the token `{token}` was revoked at {revoked}; make a new one"
            )));
        }
        if let Some(expired) = row.get::<Option<i64>, _>(2).filter(|e| *e <= at) {
            return Err(AccessError::Unauthenticated(format!(
                "the token `{token}` expired at {expired}; make a new one"
            )));
        }
        let account: String = row.get(5);
        if row.get::<Option<i64>, _>(8).is_some() {
            let reason: Option<String> = row.get(9);
            return Err(AccessError::Unauthenticated(format!(
                "the account `{account}` is disabled ({}); ask an admin",
                reason.as_deref().unwrap_or("no reason given")
            )));
        }
        let role = Role::parse(row.get::<&str, _>(7), "role")?;
        let mut scopes = Scopes::parse(row.get::<&str, _>(1).split_whitespace(), "scopes")?;
        if !scopes.is_subset(role.scopes()) {
            // The account's role narrowed since the token was made.
            scopes = Scopes::of(scopes.iter().filter(|s| role.scopes().contains(*s)));
        }
        if row
            .get::<Option<i64>, _>(4)
            .is_none_or(|used| used + LAST_USE_RESOLUTION <= at)
        {
            self.db.block_on(
                sqlx::query("UPDATE tokens SET last_used_at = ? WHERE id = ?")
                    .bind(at)
                    .bind(&token)
                    .execute(self.db.pool()),
            )?;
        }
        Ok(Caller {
            account,
            name: row.get(6),
            role,
            token,
            scopes,
        })
    }

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

    /// A new token for the caller's own account, with `scopes` no wider
    /// than the account's role allows.
    pub fn create_token(
        &self,
        by: &Caller,
        name: &str,
        scopes: Scopes,
        expires_at: Option<i64>,
    ) -> Result<NewToken, AccessError> {
        check_name("name", name)?;
        if scopes == Scopes::default() {
            return Err(invalid("scopes", "give at least one scope"));
        }
        if !scopes.is_subset(by.role.scopes()) {
            let beyond: Vec<_> = scopes.iter().filter(|s| !by.role.scopes().contains(*s)).collect();
            return Err(AccessError::Forbidden {
                field: "scopes".into(),
                why: format!(
                    "a {} account's tokens cannot carry {}",
                    by.role.as_str(),
                    beyond.iter().map(|s| format!("`{s}`")).collect::<Vec<_>>().join(", ")
                ),
            });
        }
        let at = crate::now();
        if let Some(expires) = expires_at.filter(|e| *e <= at) {
            return Err(invalid("expires_at", format!("{expires} is not in the future")));
        }
        let secret = secret::new(secret::TOKEN_PREFIX);
        self.db.block_on(async {
            let mut tx = self.db.begin_write().await?;
            let token = insert_token(&mut tx, &by.account, name, scopes, expires_at, secret, at).await?;
            tx.commit().await?;
            Ok(token)
        })
    }

    /// The tokens of `account` (never their secrets).
    pub fn tokens(&self, account: &str) -> Result<Vec<TokenInfo>, AccessError> {
        let rows = self.db.block_on(
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "{TOKEN} WHERE account_id = ? ORDER BY created_at, id"
            )))
            .bind(account)
            .fetch_all(self.db.pool()),
        )?;
        rows.iter().map(token_of).collect()
    }

    /// Revokes a token of the caller's account (any account's for an
    /// admin); it fails from the next request.
    pub fn revoke_token(&self, by: &Caller, id: &str) -> Result<TokenInfo, AccessError> {
        let at = crate::now();
        let admin = by.can(Scope::Admin);
        self.db.block_on(async {
            let mut tx = self.db.begin_write().await?;
            let done = sqlx::query(
                "UPDATE tokens SET revoked_at = coalesce(revoked_at, ?) WHERE id = ? AND (account_id = ? OR ?)",
            )
            .bind(at)
            .bind(id)
            .bind(&by.account)
            .bind(admin)
            .execute(&mut *tx)
            .await?;
            if done.rows_affected() == 0 {
                return Err(AccessError::Unknown {
                    what: "token",
                    id: id.to_owned(),
                });
            }
            log(
                &mut tx,
                Some(&by.account),
                "token.revoke",
                id,
                serde_json::json!({}),
                at,
            )
            .await?;
            let row = sqlx::query(sqlx::AssertSqlSafe(format!("{TOKEN} WHERE id = ?")))
                .bind(id)
                .fetch_one(&mut *tx)
                .await?;
            tx.commit().await?;
            token_of(&row)
        })
    }

    /// Takes `amount` of `quota` for `account`, or refuses without taking
    /// anything if that would pass its limit. One conditional `UPDATE`:
    /// racing charges cannot overrun the limit together.
    pub fn charge(&self, account: &str, quota: Quota, amount: i64) -> Result<Charge, AccessError> {
        if amount < 0 {
            return Err(invalid(quota.as_str(), "a charge cannot be negative"));
        }
        let limit = self.account(account)?.limits.get(quota);
        let period = quota.period(crate::now());
        let charged = self.db.block_on(async {
            sqlx::query(
                "INSERT INTO quota_usage (account_id, quota, period, used) VALUES (?, ?, ?, 0) ON CONFLICT DO NOTHING",
            )
            .bind(account)
            .bind(quota.as_str())
            .bind(period)
            .execute(self.db.pool())
            .await?;
            sqlx::query_scalar::<_, i64>(
                "UPDATE quota_usage SET used = used + ?1 \
                 WHERE account_id = ?2 AND quota = ?3 AND period = ?4 AND used <= ?5 - ?1 RETURNING used",
            )
            .bind(amount)
            .bind(account)
            .bind(quota.as_str())
            .bind(period)
            .bind(limit)
            .fetch_optional(self.db.pool())
            .await
        })?;
        match charged {
            Some(_) => Ok(Charge { quota, period, amount }),
            None => Err(AccessError::Quota(QuotaExceeded {
                quota,
                limit,
                used: self.used(account, quota, period)?,
                asked: amount,
                resets_at: quota.resets_at(period),
            })),
        }
    }

    /// Hands back a charge whose work did not happen.
    pub fn refund(&self, account: &str, charge: Charge) -> Result<(), AccessError> {
        self.db.block_on(
            sqlx::query(
                "UPDATE quota_usage SET used = max(used - ?, 0) WHERE account_id = ? AND quota = ? AND period = ?",
            )
            .bind(charge.amount)
            .bind(account)
            .bind(charge.quota.as_str())
            .bind(charge.period)
            .execute(self.db.pool()),
        )?;
        Ok(())
    }

    fn used(&self, account: &str, quota: Quota, period: i64) -> Result<i64, AccessError> {
        let used: Option<i64> = self.db.block_on(
            sqlx::query_scalar("SELECT used FROM quota_usage WHERE account_id = ? AND quota = ? AND period = ?")
                .bind(account)
                .bind(quota.as_str())
                .bind(period)
                .fetch_optional(self.db.pool()),
        )?;
        Ok(used.unwrap_or(0))
    }

    /// Every quota of `account`: used in the current period, and its limit.
    pub fn usage(&self, account: &str) -> Result<Vec<Usage>, AccessError> {
        let limits = self.account(account)?.limits;
        let now = crate::now();
        Quota::ALL
            .into_iter()
            .map(|quota| {
                let period = quota.period(now);
                Ok(Usage {
                    quota,
                    used: self.used(account, quota, period)?,
                    limit: limits.get(quota),
                    resets_at: quota.resets_at(period),
                })
            })
            .collect()
    }

    /// Records that `account` owns the `kind` record `id` (an identity, a
    /// feed item, an upload).
    pub fn own(&self, kind: &str, id: &str, account: &str) -> Result<(), AccessError> {
        self.db
            .block_on(
                sqlx::query("INSERT INTO owners (kind, id, account_id, created_at) VALUES (?, ?, ?, ?)")
                    .bind(kind)
                    .bind(id)
                    .bind(account)
                    .bind(crate::now())
                    .execute(self.db.pool()),
            )
            .map_err(|e| match e {
                sqlx::Error::Database(d) if d.is_unique_violation() => AccessError::Conflict {
                    what: "owned record",
                    id: format!("{kind} {id}"),
                },
                e => e.into(),
            })?;
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
mod tests {
    use super::*;

    fn fresh() -> (tempfile::TempDir, Access, Caller) {
        let dir = tempfile::tempdir().unwrap();
        let access = Access::open(&dir.path().join("slate.sqlite")).unwrap();
        let (_, token) = access.init_admin("Ada").unwrap();
        let admin = access.authenticate(&token.secret).unwrap();
        (dir, access, admin)
    }

    fn member(access: &Access, admin: &Caller) -> Caller {
        let invite = access.invite(admin, 1, None, Role::Member).unwrap();
        let (_, token) = access.sign_up(&invite.code, "Grace").unwrap();
        access.authenticate(&token.secret).unwrap()
    }

    #[test]
    fn there_is_one_first_admin() {
        let (_dir, access, admin) = fresh();
        let e = access.init_admin("Eve").unwrap_err();
        assert!(
            matches!(e, AccessError::Conflict { what: "admin", ref id } if *id == admin.account),
            "{e}"
        );
    }

    #[test]
    fn an_old_token_file_becomes_the_admins_token() {
        let (_dir, access, admin) = fresh();
        let old = "0123456789abcdef0123456789abcdef";
        assert_eq!(access.adopt_admin_token(old).unwrap(), admin.account);
        assert_eq!(
            access.adopt_admin_token(old).unwrap(),
            admin.account,
            "adopting twice is once"
        );
        assert_eq!(access.authenticate(old).unwrap().account, admin.account);
        assert_eq!(access.tokens(&admin.account).unwrap().len(), 2);
        // On a fresh install it makes the admin.
        let dir = tempfile::tempdir().unwrap();
        let access = Access::open(&dir.path().join("slate.sqlite")).unwrap();
        let id = access.adopt_admin_token(old).unwrap();
        assert_eq!(access.account(&id).unwrap().role, Role::Admin);
    }

    #[test]
    fn refusals_name_the_invite_field() {
        let (_dir, access, admin) = fresh();
        let field = |code: &str| match access.sign_up(code, "X").unwrap_err() {
            AccessError::Forbidden { field, .. } => field,
            e => panic!("{e}"),
        };
        assert_eq!(field("inv_nothing"), "invite");
        let once = access.invite(&admin, 1, None, Role::Member).unwrap();
        access.sign_up(&once.code, "A").unwrap();
        assert_eq!(field(&once.code), "invite.uses");
        let soon = access.invite(&admin, 5, Some(crate::now() + 1), Role::Member).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(2100));
        assert_eq!(field(&soon.code), "invite.expires_at");
    }

    #[test]
    fn revoked_tokens_and_disabled_accounts_stop_at_once() {
        let (_dir, access, admin) = fresh();
        let member = member(&access, &admin);
        let extra = access
            .create_token(&member, "ci", Scopes::of([Scope::FeedRead]), None)
            .unwrap();
        let reader = access.authenticate(&extra.secret).unwrap();
        assert!(reader.can(Scope::FeedRead) && !reader.can(Scope::FeedSignal));
        access.revoke_token(&member, &extra.info.id).unwrap();
        assert!(matches!(
            access.authenticate(&extra.secret),
            Err(AccessError::Unauthenticated(_))
        ));
        let second = access
            .create_token(&member, "ci2", Scopes::of([Scope::FeedRead]), None)
            .unwrap();
        access.set_disabled(&admin, &member.account, Some("spam")).unwrap();
        let e = access.authenticate(&second.secret).unwrap_err();
        assert!(e.to_string().contains("disabled (spam)"), "{e}");
        access.set_disabled(&admin, &member.account, None).unwrap();
        access.authenticate(&second.secret).unwrap();
        let actions: Vec<String> = access.audit(100).unwrap().into_iter().map(|e| e.action).collect();
        for action in [
            "invite.create",
            "account.create",
            "token.revoke",
            "account.disable",
            "account.enable",
        ] {
            assert!(actions.iter().any(|a| a == action), "{action} not in {actions:?}");
        }
    }

    #[test]
    fn a_member_cannot_widen_its_tokens_or_revoke_others() {
        let (_dir, access, admin) = fresh();
        let member = member(&access, &admin);
        let e = access
            .create_token(&member, "x", Scopes::of([Scope::Admin]), None)
            .unwrap_err();
        assert!(e.to_string().contains("`admin`"), "{e}");
        assert!(access.invite(&member, 1, None, Role::Member).is_err());
        let theirs = access.tokens(&admin.account).unwrap()[0].id.clone();
        assert!(matches!(
            access.revoke_token(&member, &theirs),
            Err(AccessError::Unknown { .. })
        ));
    }

    #[test]
    fn charges_stop_at_the_limit_and_refunds_give_back() {
        let (_dir, access, admin) = fresh();
        let member = member(&access, &admin);
        let patch = LimitsPatch {
            stored_bytes: Some(100),
            ..Default::default()
        };
        access.set_limits(&admin, &member.account, patch).unwrap();
        let first = access.charge(&member.account, Quota::StoredBytes, 60).unwrap();
        let AccessError::Quota(over) = access.charge(&member.account, Quota::StoredBytes, 41).unwrap_err() else {
            panic!("not a quota refusal")
        };
        assert_eq!((over.used, over.limit, over.resets_at), (60, 100, None));
        access.charge(&member.account, Quota::StoredBytes, 40).unwrap();
        access.refund(&member.account, first).unwrap();
        let usage = access.usage(&member.account).unwrap();
        let stored = usage.iter().find(|u| u.quota == Quota::StoredBytes).unwrap();
        assert_eq!((stored.used, stored.limit), (40, 100));
        let uploads = usage.iter().find(|u| u.quota == Quota::Uploads).unwrap();
        assert!(uploads.resets_at.unwrap() > crate::now());
    }
}
