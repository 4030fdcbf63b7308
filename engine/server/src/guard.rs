//! Who may call what: every route's scope and rate class in one table
//! ([`ROUTES`]), and the layer that holds each request to it — the bearer
//! token authenticated afresh (a revoked token or a disabled account fails
//! on its next request), the rate limits, then the scope. Handlers find the
//! [`Caller`] in the request's extensions.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use slate_access::{Caller, Scope};

use crate::rate::{Class, Standing};
use crate::{ApiError, App};

/// What a route asks of its caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// Nothing: limited per address.
    Public,
    /// A valid token, whatever its scopes (the caller's own account).
    Token,
    Scope(Scope),
}

#[derive(Debug, Clone)]
pub struct RouteSpec {
    pub method: Method,
    pub path: &'static str,
    pub need: Need,
    pub class: Class,
}

const fn route(method: Method, path: &'static str, need: Need, class: Class) -> RouteSpec {
    RouteSpec {
        method,
        path,
        need,
        class,
    }
}

use Class::{Read, SignUp, Signal, Upload, Write};
use Need::{Public, Token};
use Scope::*;

const fn scope(s: Scope) -> Need {
    Need::Scope(s)
}

/// Every route the API serves.
pub const ROUTES: &[RouteSpec] = &[
    route(Method::GET, "/v1/health", Public, Read),
    route(Method::GET, "/v1/openapi.json", Public, Read),
    route(Method::POST, "/v1/accounts", Public, SignUp),
    route(Method::GET, "/v1/me", Token, Read),
    route(Method::GET, "/v1/me/tokens", Token, Read),
    route(Method::POST, "/v1/me/tokens", Token, Write),
    route(Method::DELETE, "/v1/me/tokens/{id}", Token, Write),
    route(Method::GET, "/v1/admin/invites", scope(Admin), Read),
    route(Method::POST, "/v1/admin/invites", scope(Admin), Write),
    route(Method::GET, "/v1/admin/accounts", scope(Admin), Read),
    route(Method::POST, "/v1/admin/accounts/{id}/disable", scope(Admin), Write),
    route(Method::POST, "/v1/admin/accounts/{id}/enable", scope(Admin), Write),
    route(Method::PUT, "/v1/admin/accounts/{id}/limits", scope(Admin), Write),
    route(Method::GET, "/v1/admin/audit", scope(Admin), Read),
    route(Method::GET, "/v1/consent/identities", scope(ConsentRead), Read),
    route(Method::POST, "/v1/consent/identities", scope(ConsentWrite), Upload),
    route(Method::GET, "/v1/consent/identities/{id}", scope(ConsentRead), Read),
    route(
        Method::GET,
        "/v1/consent/identities/{id}/grants",
        scope(ConsentRead),
        Read,
    ),
    route(Method::POST, "/v1/consent/grants", scope(ConsentWrite), Write),
    route(Method::POST, "/v1/consent/revocations", scope(ConsentWrite), Write),
    route(Method::POST, "/v1/consent/check", scope(ConsentRead), Read),
    route(Method::GET, "/v1/consent/audit", scope(ConsentRead), Read),
    route(Method::GET, "/v1/ingest/clips", scope(IngestUpload), Read),
    route(Method::PUT, "/v1/ingest/clips/{name}", scope(IngestUpload), Upload),
    route(Method::GET, "/v1/feed", scope(FeedRead), Read),
    route(Method::POST, "/v1/feed/signals", scope(FeedSignal), Signal),
    route(Method::GET, "/v1/feed/users/{id}/steering", scope(FeedRead), Read),
    route(Method::PUT, "/v1/feed/users/{id}/steering", scope(FeedSignal), Signal),
    route(Method::GET, "/v1/feed/objective", scope(FeedRead), Read),
    route(Method::PUT, "/v1/feed/objective", scope(FeedOperate), Write),
    route(Method::GET, "/v1/feed/learning", scope(FeedRead), Read),
    route(Method::PUT, "/v1/feed/learning", scope(FeedOperate), Write),
    route(Method::POST, "/v1/feed/items", scope(FeedPublish), Upload),
    route(Method::GET, "/v1/feed/stats", scope(FeedOperate), Read),
    route(Method::GET, "/v1/feed/experiment", scope(FeedOperate), Read),
    route(Method::PUT, "/v1/feed/experiment", scope(FeedOperate), Write),
    route(Method::GET, "/v1/feed/experiment/report", scope(FeedOperate), Read),
    route(Method::GET, "/v1/pipelines", scope(PipelinesOperate), Read),
    route(Method::POST, "/v1/pipelines", scope(PipelinesOperate), Write),
    route(Method::GET, "/v1/pipelines/{id}", scope(PipelinesOperate), Read),
    route(Method::DELETE, "/v1/pipelines/{id}", scope(PipelinesOperate), Write),
    route(Method::POST, "/v1/pipelines/{id}/start", scope(PipelinesOperate), Write),
    route(Method::POST, "/v1/pipelines/{id}/pause", scope(PipelinesOperate), Write),
    route(Method::POST, "/v1/pipelines/{id}/stop", scope(PipelinesOperate), Write),
    route(Method::GET, "/v1/pipelines/{id}/graph", scope(PipelinesOperate), Read),
    route(
        Method::GET,
        "/v1/pipelines/{id}/elements/{element}",
        scope(PipelinesOperate),
        Read,
    ),
    route(
        Method::PUT,
        "/v1/pipelines/{id}/elements/{element}/{property}",
        scope(PipelinesOperate),
        Write,
    ),
    route(
        Method::GET,
        "/v1/pipelines/{id}/preview/{file}",
        scope(PipelinesOperate),
        Read,
    ),
    route(Method::GET, "/v1/pipelines/{id}/scripts", scope(PipelinesOperate), Read),
    route(
        Method::POST,
        "/v1/pipelines/{id}/scripts",
        scope(PipelinesOperate),
        Write,
    ),
    route(
        Method::DELETE,
        "/v1/pipelines/{id}/scripts/{script}",
        scope(PipelinesOperate),
        Write,
    ),
    // A WebSocket: its client identifies with a token in the protocol.
    route(Method::GET, "/v1/events", Public, Read),
    route(Method::GET, "/ui", Public, Read),
    route(Method::GET, "/ui/{asset}", Public, Read),
];

/// The spec of a matched route (`path` as axum matched it).
pub fn spec(method: &Method, path: &str) -> Option<&'static RouteSpec> {
    ROUTES.iter().find(|r| r.method == *method && r.path == path)
}

/// The caller's address, in every routed request's extensions.
#[derive(Debug, Clone, Copy)]
pub struct Address(pub IpAddr);

/// The caller's address; in-process requests (tests) have none.
fn address(request: &Request) -> IpAddr {
    request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(a)| a.ip())
        .unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST))
}

fn bearer(request: &Request) -> Option<String> {
    let header = request.headers().get(axum::http::header::AUTHORIZATION)?;
    let value = header.to_str().ok()?.trim();
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim().to_owned())
}

/// The layer every route runs behind.
pub(crate) async fn guard(State(app): State<App>, mut request: Request, next: Next) -> Response {
    let matched = request.extensions().get::<MatchedPath>().map(|m| m.as_str().to_owned());
    let Some(spec) = matched.as_deref().and_then(|path| spec(request.method(), path)) else {
        let allowed: Vec<&str> = ROUTES
            .iter()
            .filter(|r| matched.as_deref() == Some(r.path))
            .map(|r| r.method.as_str())
            .collect();
        if !allowed.is_empty() {
            let refusal = ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                Some("method"),
                format!("{} is not served here; use {}", request.method(), allowed.join(", ")),
            );
            let mut response = unrouted(&app, &request, refusal);
            if let Ok(allow) = axum::http::HeaderValue::from_str(&allowed.join(", ")) {
                response.headers_mut().insert(axum::http::header::ALLOW, allow);
            }
            return response;
        }
        return ApiError::internal(format!(
            "{} {} is not in the access table; every route must be",
            request.method(),
            matched.as_deref().unwrap_or("?")
        ))
        .into_response();
    };
    let standing = match admit(&app, spec, &mut request).await {
        Ok(standing) => standing,
        Err((error, standing)) => {
            let mut response = error.into_response();
            if let Some(standing) = standing {
                standing.write(response.headers_mut());
            }
            return response;
        }
    };
    let mut response = next.run(request).await;
    standing.write(response.headers_mut());
    response
}

/// The answer to a request no route takes (`refusal`), limited per
/// address like every other.
pub(crate) fn unrouted(app: &App, request: &Request, refusal: ApiError) -> Response {
    let standing = app.limits.check_address(Class::Read, address(request));
    let mut response = match standing.refused() {
        true => too_many(&standing).into_response(),
        false => refusal.into_response(),
    };
    standing.write(response.headers_mut());
    response
}

fn too_many(standing: &Standing) -> ApiError {
    ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        Some("rate"),
        format!(
            "over the `{}` rate limit ({} a minute); retry in {} s",
            standing.class.as_str(),
            standing.per_minute,
            standing.retry_after.unwrap_or(1)
        ),
    )
}

type Refusal = (ApiError, Option<Standing>);

/// Authenticates, limits and checks the scope of one request; the caller
/// goes into its extensions.
async fn admit(app: &App, spec: &RouteSpec, request: &mut Request) -> Result<Standing, Refusal> {
    let at = address(request);
    request.extensions_mut().insert(Address(at));
    let limited = |standing: Standing| -> Result<Standing, Refusal> {
        if standing.refused() {
            Err((too_many(&standing), Some(standing)))
        } else {
            Ok(standing)
        }
    };
    if spec.need == Need::Public {
        return limited(app.limits.check_address(spec.class, at));
    }
    let Some(secret) = bearer(request) else {
        let standing = app.limits.check_address(Class::Read, at);
        return Err((
            ApiError::new(
                StatusCode::UNAUTHORIZED,
                Some("authorization"),
                "send an API token as `Authorization: Bearer slt_…` (`slate admin init` makes the first)",
            ),
            Some(standing),
        ));
    };
    let access = app.access.clone();
    let caller = crate::blocking(move || Ok(access.authenticate(&secret)?)).await;
    let caller: Caller = match caller {
        Ok(caller) => caller,
        Err(e) => {
            // Guessing tokens is limited per address.
            let standing = app.limits.check_address(Class::Read, at);
            return Err((e, Some(standing)));
        }
    };
    let standing = limited(app.limits.check_token(spec.class, &caller.token, &caller.account))?;
    if let Need::Scope(scope) = spec.need {
        caller.require(scope).map_err(|e| (e.into(), Some(standing)))?;
    }
    request.extensions_mut().insert(caller);
    Ok(standing)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_route_is_listed_once() {
        for (i, a) in ROUTES.iter().enumerate() {
            assert!(
                !ROUTES[i + 1..].iter().any(|b| a.method == b.method && a.path == b.path),
                "{} {} twice",
                a.method,
                a.path
            );
        }
        assert_eq!(spec(&Method::GET, "/v1/feed").map(|r| r.path), Some("/v1/feed"));
    }
}
