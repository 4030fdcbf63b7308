//! API tokens: made with scopes no wider than the role's, authenticated
//! afresh on every request, revoked at once.

use serde::Serialize;
use sqlx::Row;
use sqlx::sqlite::SqliteRow;

use super::{Access, Caller, Tx, check_name, log};
use crate::error::{AccessError, invalid};
use crate::scope::{Role, Scope, Scopes};
use crate::secret;

/// Only write a token's last use when it is older than this (seconds): a
/// busy token must not turn every request into a write.
const LAST_USE_RESOLUTION: i64 = 60;

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

const TOKEN: &str =
    "SELECT id, account_id, name, prefix, scopes, expires_at, last_used_at, revoked_at, created_at FROM tokens";

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

/// Makes a token for `account` inside `tx`.
pub(super) async fn insert_token(
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

impl Access {
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
}
