//! Slate's local HTTP API: axum on tokio, bound to loopback by default,
//! every route but `/v1/health` behind a bearer token (kept as its SHA-256,
//! compared in constant time). It serves the consent registry
//! (`/v1/consent`), the steerable feed (`/v1/feed`) and, given an inbox,
//! clip uploads for `slate ingest` (`/v1/ingest`); the access-control work adds invites, accounts and
//! rate limits here.
//!
//! Every body is parsed strictly (unknown fields refused) and every
//! refusal is a 4xx whose JSON names the field: `{"error", "field"}`.

mod consent;
mod error;
mod faces;
mod feed;
mod ingest;
mod token;

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::routing::get;
use slate_consent::Registry;
use slate_feed::Feed;

pub use error::ApiError;
pub use feed::MAX_BODY;
pub use ingest::Inbox;
pub use token::Token;

/// What the handlers share.
#[derive(Clone)]
struct App {
    registry: Arc<Registry>,
    token: Arc<Token>,
    inbox: Option<Arc<Inbox>>,
    feed: Option<Arc<Mutex<Feed>>>,
    faces: Arc<faces::Faces>,
}

/// The API's routes over `registry`, behind `token`; uploads go to
/// `inbox` (without one, `/v1/ingest` says how to get one); `/v1/feed`
/// serves `feed`, which lives in the registry's file.
pub fn router(registry: Arc<Registry>, token: Token, inbox: Option<Inbox>, feed: Option<Feed>) -> Router {
    let app = App {
        registry,
        token: Arc::new(token),
        inbox: inbox.map(Arc::new),
        feed: feed.map(|f| Arc::new(Mutex::new(f))),
        faces: Default::default(),
    };
    Router::new()
        .nest("/v1/consent", consent::routes())
        .nest("/v1/ingest", ingest::routes())
        .nest("/v1/feed", feed::routes())
        .route_layer(axum::middleware::from_fn_with_state(app.clone(), token::require))
        .route(
            "/v1/health",
            get(|| async { axum::Json(serde_json::json!({ "ok": true })) }),
        )
        .fallback(|| async {
            ApiError::not_found(
                "path",
                "no such route; see /v1/consent/..., /v1/ingest/... and /v1/feed/...",
            )
        })
        .with_state(app)
}

/// Serves `router` on `listener` until `stop` resolves.
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    stop: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router).with_graceful_shutdown(stop).await
}
