//! Accounts: sign-up with an invite, the caller's own account and tokens,
//! and what admins do (invites, accounts, limits, the access log).
//!
//! - `POST /v1/accounts` `{invite, name}`: an account and its first token,
//!   shown once (public; limited per address)
//! - `GET /v1/me`: the account, this token's scopes, quota usage and limits,
//!   rate limits
//! - `GET|POST /v1/me/tokens` `{name, scopes, expires_at?}`, `DELETE /v1/me/tokens/{id}`
//! - `GET|POST /v1/admin/invites` `{uses, role?, expires_at?}`, `GET /v1/admin/accounts`,
//!   `POST /v1/admin/accounts/{id}/disable` `{reason}` and `/enable`,
//!   `PUT /v1/admin/accounts/{id}/limits`, `GET /v1/admin/audit?last=N`

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use slate_access::{
    AccessEvent, Account, Caller, InviteInfo, LimitsPatch, NewInvite, NewToken, Role, Scope, Scopes, TokenInfo, Usage,
};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::{parse, parse_query};
use crate::rate::RateLimits;
use crate::{ApiError, App, Reply, blocking, reply};

pub(crate) fn routes() -> OpenApiRouter<App> {
    OpenApiRouter::new()
        .routes(routes!(sign_up))
        .routes(routes!(me))
        .routes(routes!(tokens, create_token))
        .routes(routes!(revoke_token))
        .routes(routes!(invites, invite))
        .routes(routes!(accounts))
        .routes(routes!(disable))
        .routes(routes!(enable))
        .routes(routes!(limits))
        .routes(routes!(audit))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct SignUp {
    /// The invite code (`inv_…`).
    invite: String,
    #[schema(min_length = 1, max_length = 200)]
    name: String,
}

#[derive(Serialize, ToSchema)]
struct SignedUp {
    account: Account,
    /// The account's first token, with the role's scopes: its secret is shown this once.
    token: NewToken,
}

/// Makes an account with an invite code; the token is shown this once.
#[utoipa::path(post, path = "/v1/accounts", tag = "accounts", request_body = SignUp,
    responses((status = 201, body = SignedUp),
        (status = 403, description = "no such invite, or it expired or is used up: `field` says which", body = crate::error::ErrorBody)))]
async fn sign_up(State(app): State<App>, body: Bytes) -> Reply {
    let new: SignUp = parse(&body)?;
    let access = app.access.clone();
    let (account, token) = blocking(move || Ok(access.sign_up(&new.invite, &new.name)?)).await?;
    tracing::info!(account = account.id, invited_by = ?account.invited_by, "account made");
    reply(StatusCode::CREATED, SignedUp { account, token })
}

#[derive(Serialize, ToSchema)]
struct Me {
    account: Account,
    token: ThisToken,
    /// Each quota: used in its current period, and the limit.
    usage: Vec<Usage>,
    rate_limits: RateLimits,
}

#[derive(Serialize, ToSchema)]
struct ThisToken {
    id: String,
    scopes: Vec<Scope>,
}

/// The caller's account, this token's scopes, quota usage and limits.
#[utoipa::path(get, path = "/v1/me", tag = "accounts", responses((status = 200, body = Me)))]
async fn me(State(app): State<App>, Extension(caller): Extension<Caller>) -> Reply {
    let access = app.access.clone();
    let id = caller.account.clone();
    let (account, usage) = blocking(move || Ok((access.account(&id)?, access.usage(&id)?))).await?;
    let me = Me {
        account,
        token: ThisToken {
            id: caller.token,
            scopes: caller.scopes.iter().collect(),
        },
        usage,
        rate_limits: app.limits.limits().clone(),
    };
    reply(StatusCode::OK, me)
}

#[derive(Serialize, ToSchema)]
struct TokenList {
    tokens: Vec<TokenInfo>,
}

/// The caller's tokens (never their secrets).
#[utoipa::path(get, path = "/v1/me/tokens", tag = "accounts", responses((status = 200, body = TokenList)))]
async fn tokens(State(app): State<App>, Extension(caller): Extension<Caller>) -> Reply {
    let access = app.access.clone();
    let tokens = blocking(move || Ok(access.tokens(&caller.account)?)).await?;
    reply(StatusCode::OK, TokenList { tokens })
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct TokenRequest {
    #[schema(min_length = 1, max_length = 200)]
    name: String,
    /// No wider than the account's role allows.
    #[schema(min_items = 1)]
    scopes: Vec<Scope>,
    /// Seconds from now until it stops working (at most ten years); never when absent.
    #[schema(minimum = 1, maximum = 315_360_000)]
    expires_in: Option<i64>,
}

/// `now + seconds`, for an `expires_in` field.
fn expiry(field: &str, seconds: Option<i64>) -> Result<Option<i64>, ApiError> {
    match seconds {
        Some(s) if !(1..=315_360_000).contains(&s) => {
            Err(ApiError::bad(field, format!("{s}; give 1 to 315360000 seconds")))
        }
        Some(s) => Ok(Some(slate_access::now() + s)),
        None => Ok(None),
    }
}

/// A new token for the caller's account: its secret is shown this once.
#[utoipa::path(post, path = "/v1/me/tokens", tag = "accounts", request_body = TokenRequest,
    responses((status = 201, body = NewToken)))]
async fn create_token(State(app): State<App>, Extension(caller): Extension<Caller>, body: Bytes) -> Reply {
    let new: TokenRequest = parse(&body)?;
    let scopes = Scopes::of(new.scopes.iter().copied());
    let access = app.access.clone();
    let expires_at = expiry("expires_in", new.expires_in)?;
    let token = blocking(move || Ok(access.create_token(&caller, &new.name, scopes, expires_at)?)).await?;
    reply(StatusCode::CREATED, token)
}

/// Revokes one of the caller's tokens: it fails from the next request.
#[utoipa::path(delete, path = "/v1/me/tokens/{id}", tag = "accounts", params(("id" = String, Path)),
    responses((status = 200, body = TokenInfo)))]
async fn revoke_token(State(app): State<App>, Extension(caller): Extension<Caller>, Path(id): Path<String>) -> Reply {
    let access = app.access.clone();
    let token = blocking(move || Ok(access.revoke_token(&caller, &id)?)).await?;
    reply(StatusCode::OK, token)
}

#[derive(Serialize, ToSchema)]
struct InviteList {
    invites: Vec<InviteInfo>,
}

/// Every invite, with its uses.
#[utoipa::path(get, path = "/v1/admin/invites", tag = "admin", responses((status = 200, body = InviteList)))]
async fn invites(State(app): State<App>) -> Reply {
    let access = app.access.clone();
    let invites = blocking(move || Ok(access.invites()?)).await?;
    reply(StatusCode::OK, InviteList { invites })
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct InviteRequest {
    /// How many accounts it admits.
    #[schema(minimum = 1, maximum = 10000)]
    uses: i64,
    #[serde(default = "member")]
    #[schema(default = "member")]
    role: Role,
    /// Seconds from now until it stops admitting (at most ten years); never when absent.
    #[schema(minimum = 1, maximum = 315_360_000)]
    expires_in: Option<i64>,
}

fn member() -> Role {
    Role::Member
}

/// Makes an invite: its code is shown this once.
#[utoipa::path(post, path = "/v1/admin/invites", tag = "admin", request_body = InviteRequest,
    responses((status = 201, body = NewInvite)))]
async fn invite(State(app): State<App>, Extension(caller): Extension<Caller>, body: Bytes) -> Reply {
    let new: InviteRequest = parse(&body)?;
    let access = app.access.clone();
    let expires_at = expiry("expires_in", new.expires_in)?;
    let invite = blocking(move || Ok(access.invite(&caller, new.uses, expires_at, new.role)?)).await?;
    reply(StatusCode::CREATED, invite)
}

#[derive(Serialize, ToSchema)]
struct AccountList {
    /// Oldest first; `invited_by` gives the invite tree.
    accounts: Vec<Account>,
}

/// Every account, with who invited it.
#[utoipa::path(get, path = "/v1/admin/accounts", tag = "admin", responses((status = 200, body = AccountList)))]
async fn accounts(State(app): State<App>) -> Reply {
    let access = app.access.clone();
    let accounts = blocking(move || Ok(access.accounts()?)).await?;
    reply(StatusCode::OK, AccountList { accounts })
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct Disable {
    /// Why, for the access log.
    #[schema(min_length = 1)]
    reason: String,
}

/// Disables an account: its tokens stop from their next request.
#[utoipa::path(post, path = "/v1/admin/accounts/{id}/disable", tag = "admin", params(("id" = String, Path)),
    request_body = Disable, responses((status = 200, body = Account)))]
async fn disable(
    State(app): State<App>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    body: Bytes,
) -> Reply {
    let why: Disable = parse(&body)?;
    if why.reason.trim().is_empty() {
        return Err(ApiError::bad("reason", "empty; say why, for the access log"));
    }
    let access = app.access.clone();
    let account = blocking(move || Ok(access.set_disabled(&caller, &id, Some(&why.reason))?)).await?;
    reply(StatusCode::OK, account)
}

/// Enables a disabled account again.
#[utoipa::path(post, path = "/v1/admin/accounts/{id}/enable", tag = "admin", params(("id" = String, Path)),
    responses((status = 200, body = Account)))]
async fn enable(State(app): State<App>, Extension(caller): Extension<Caller>, Path(id): Path<String>) -> Reply {
    let access = app.access.clone();
    let account = blocking(move || Ok(access.set_disabled(&caller, &id, None)?)).await?;
    reply(StatusCode::OK, account)
}

/// Sets an account's quota limits; those left out stay.
#[utoipa::path(put, path = "/v1/admin/accounts/{id}/limits", tag = "admin", params(("id" = String, Path)),
    request_body = LimitsPatch, responses((status = 200, body = Account)))]
async fn limits(
    State(app): State<App>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    body: Bytes,
) -> Reply {
    let patch: LimitsPatch = parse(&body)?;
    let access = app.access.clone();
    let account = blocking(move || Ok(access.set_limits(&caller, &id, patch)?)).await?;
    reply(StatusCode::OK, account)
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct Last {
    /// How many of the newest entries.
    #[serde(default = "hundred")]
    #[param(minimum = 1, maximum = 10000, default = 100)]
    pub last: i64,
}

fn hundred() -> i64 {
    100
}

impl Last {
    pub fn read(query: Option<&str>) -> Result<i64, ApiError> {
        let Last { last } = parse_query(query, "?last=N")?;
        if !(1..=10_000).contains(&last) {
            return Err(ApiError::bad("last", format!("{last}; ask for 1 to 10000 entries")));
        }
        Ok(last)
    }
}

/// The access log: accounts, invites, tokens and limits as they changed.
#[utoipa::path(get, path = "/v1/admin/audit", tag = "admin", params(Last),
    responses((status = 200, body = Vec<AccessEvent>)))]
async fn audit(State(app): State<App>, RawQuery(query): RawQuery) -> Reply {
    let last = Last::read(query.as_deref())?;
    let access = app.access.clone();
    let events = blocking(move || Ok(access.audit(last)?)).await?;
    reply(StatusCode::OK, events)
}
