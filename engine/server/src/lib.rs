//! Slate's HTTP API: axum on tokio, bound to loopback by default. Access
//! is invite-only: every route but the public ones (`/v1/health`,
//! `/v1/openapi.json`, sign-up) needs a bearer token, whose account and
//! scopes decide what it may do ([`guard`]), within rate limits per token,
//! account and address ([`rate`]) and the account's quotas. It serves
//! accounts and tokens (`/v1/accounts`, `/v1/me`, `/v1/admin`), the consent
//! registry (`/v1/consent`), the steerable feed (`/v1/feed`) and, given an
//! inbox, clip uploads for `slate ingest` (`/v1/ingest`), and the control
//! plane: live pipelines (`/v1/pipelines`), their events over a WebSocket
//! (`/v1/events`) and the operator page (`/ui`). Its OpenAPI 3.1
//! document is made from the handlers themselves ([`openapi`]).
//!
//! Every body is parsed strictly (unknown fields refused) and every
//! refusal is a 4xx whose JSON names the field: `{"error", "field"}`.

mod accounts;
mod consent;
mod error;
pub mod events;
mod faces;
mod feed;
pub mod guard;
mod ingest;
mod openapi;
mod page;
mod pipelines;
pub mod rate;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, OnceLock};

use axum::extract::State;
use axum::http::StatusCode;
use axum::{Json, Router};
use serde_json::Value;
use slate_access::Access;
use slate_consent::Registry;
use slate_control::Control;
use slate_feed::Feed;
use utoipa::OpenApi as _;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use error::ApiError;
pub use feed::MAX_BODY;
pub use ingest::Inbox;
pub use rate::{Rate, RateLimits};

/// What a server serves.
pub struct Server {
    pub registry: Arc<Registry>,
    pub access: Arc<Access>,
    /// Where uploads go (without one, `/v1/ingest` says how to get one).
    pub inbox: Option<Inbox>,
    /// The feed `/v1/feed` serves (it lives in the registry's file).
    pub feed: Option<Feed>,
    pub limits: RateLimits,
    /// The pipelines `/v1/pipelines` and `/v1/events` operate.
    pub control: Arc<Control>,
}

/// What the handlers share.
#[derive(Clone)]
struct App {
    registry: Arc<Registry>,
    access: Arc<Access>,
    inbox: Option<Arc<Inbox>>,
    feed: Option<Arc<Mutex<Feed>>>,
    faces: Arc<faces::Faces>,
    limits: Arc<rate::Limiters>,
    control: Arc<Control>,
    /// The OpenAPI document, made with the router.
    spec: Arc<OnceLock<Value>>,
}

/// The API's routes, each behind its guard.
pub fn router(server: Server) -> Router {
    let app = App {
        registry: server.registry,
        access: server.access,
        inbox: server.inbox.map(Arc::new),
        feed: server.feed.map(|f| Arc::new(Mutex::new(f))),
        faces: Default::default(),
        limits: Arc::new(rate::Limiters::new(server.limits)),
        control: server.control,
        spec: Default::default(),
    };
    let (routes, doc) = OpenApiRouter::with_openapi(openapi::Doc::openapi())
        .routes(routes!(health))
        .routes(routes!(spec))
        .merge(accounts::routes())
        .merge(consent::routes())
        .merge(ingest::routes())
        .merge(feed::routes())
        .merge(pipelines::routes())
        .merge(events::routes())
        .merge(page::routes())
        .split_for_parts();
    let doc = serde_json::to_value(openapi::complete(doc)).expect("the OpenAPI document is JSON");
    app.spec.set(doc).expect("set once");
    routes
        .route_layer(axum::middleware::from_fn_with_state(app.clone(), guard::guard))
        .fallback(|State(app): State<App>, request: axum::extract::Request| async move {
            let refusal = ApiError::not_found("path", "no such route; /v1/openapi.json lists them");
            guard::unrouted(&app, &request, refusal)
        })
        .with_state(app)
}

/// Serves `router` on `listener` until `stop` resolves; handlers see each
/// caller's address (sign-ups are limited by it).
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    stop: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router.into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(stop)
        .await
}

#[derive(serde::Serialize, utoipa::ToSchema)]
struct Health {
    ok: bool,
}

/// Whether the server is up.
#[utoipa::path(get, path = "/v1/health", tag = "meta", responses((status = 200, body = Health)))]
async fn health() -> Json<Health> {
    Json(Health { ok: true })
}

/// This document.
#[utoipa::path(get, path = "/v1/openapi.json", tag = "meta", responses((status = 200, body = Object)))]
async fn spec(State(app): State<App>) -> Json<Value> {
    Json(app.spec.get().cloned().unwrap_or_default())
}

type Reply = Result<(StatusCode, Json<Value>), ApiError>;

fn reply(status: StatusCode, value: impl serde::Serialize) -> Reply {
    let value = serde_json::to_value(value).map_err(|e| ApiError::internal(e.to_string()))?;
    Ok((status, Json(value)))
}

/// Runs `work` off the async threads (the store's calls block).
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| ApiError::internal(format!("a store task failed: {e}")))?
}
