//! `/v1/feed`: the steerable feed.
//!
//! - `GET  /?user=ID&n=10`: a ranked slate, each item with its impression
//!   id, propensity and the terms that put it there
//! - `POST /signals` `{signals: [{event, impression, kind, seconds?, prompt?}]}`:
//!   batched (at most 1,000, 1 MiB), idempotent by event id, all or nothing
//! - `GET|PUT /users/{id}/steering` `{more_like, less_tags, more_tags, novelty, follow}`
//! - `GET|PUT /objective` (the operator's weights), `GET|PUT /learning`
//! - `POST /items` (a published item), `GET /stats`
//! - `GET|PUT /experiment` (`null` ends it), `GET /experiment/report`

use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use http_body_util::BodyExt;
use serde::Deserialize;
use serde_json::Value;
use slate_feed::{Experiment, Feed, FeedError, Learning, NewItem, Objective, Signal, Steering};

use crate::error::{parse, parse_query};
use crate::{ApiError, App};

/// Largest body a feed route reads.
pub const MAX_BODY: usize = 1 << 20;

pub(crate) fn routes() -> Router<App> {
    Router::new()
        .route("/", get(slate))
        .route("/signals", post(signals))
        .route("/users/{id}/steering", get(steering).put(steer))
        .route("/objective", get(objective).put(set_objective))
        .route("/learning", get(learning).put(set_learning))
        .route("/items", post(publish))
        .route("/stats", get(stats))
        .route("/experiment", get(experiment).put(set_experiment))
        .route("/experiment/report", get(report))
}

type Reply = Result<(StatusCode, Json<Value>), ApiError>;

impl From<FeedError> for ApiError {
    fn from(e: FeedError) -> Self {
        let message = e.to_string();
        match &e {
            FeedError::Invalid { field, .. } => ApiError::bad(field, message),
            FeedError::Conflict { field, .. } => ApiError::new(StatusCode::CONFLICT, Some(field), message),
            FeedError::Unknown { what, .. } => ApiError::not_found(what, message),
            FeedError::File { .. }
            | FeedError::Store(_)
            | FeedError::Consent(_)
            | FeedError::Database(_)
            | FeedError::Model(_) => ApiError::internal(message),
        }
    }
}

/// Runs `work` on the feed off the async threads (its calls block).
async fn with_feed<T: serde::Serialize + Send + 'static>(
    app: &App,
    status: StatusCode,
    work: impl FnOnce(&mut Feed) -> Result<T, ApiError> + Send + 'static,
) -> Reply {
    let feed: Arc<Mutex<Feed>> = app
        .feed
        .clone()
        .ok_or_else(|| ApiError::not_found("path", "this server has no feed"))?;
    let value = tokio::task::spawn_blocking(move || {
        let mut feed = feed.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        work(&mut feed)
    })
    .await
    .map_err(|e| ApiError::internal(format!("the feed task failed: {e}")))??;
    let value = serde_json::to_value(value).map_err(|e| ApiError::internal(e.to_string()))?;
    Ok((status, Json(value)))
}

/// The body, refused past [`MAX_BODY`].
async fn bytes(body: Body) -> Result<Vec<u8>, ApiError> {
    let limited = http_body_util::Limited::new(body, MAX_BODY);
    match limited.collect().await {
        Ok(collected) => Ok(collected.to_bytes().to_vec()),
        Err(e) if e.downcast_ref::<http_body_util::LengthLimitError>().is_some() => Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            Some("body"),
            format!("the body is over {MAX_BODY} bytes; send fewer signals per batch"),
        )),
        Err(e) => Err(ApiError::bad("body", format!("the body did not arrive: {e}"))),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SlateQuery {
    user: String,
    #[serde(default = "ten")]
    n: usize,
}

fn ten() -> usize {
    10
}

async fn slate(State(app): State<App>, RawQuery(query): RawQuery) -> Reply {
    let query: SlateQuery = parse_query(query.as_deref(), "?user=ID&n=COUNT")?;
    with_feed(&app, StatusCode::OK, move |feed| Ok(feed.rank(&query.user, query.n)?)).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Batch {
    signals: Vec<Signal>,
}

async fn signals(State(app): State<App>, body: Body) -> Reply {
    let batch: Batch = parse(&bytes(body).await?)?;
    with_feed(&app, StatusCode::OK, move |feed| Ok(feed.record(&batch.signals)?)).await
}

async fn steering(State(app): State<App>, Path(id): Path<String>) -> Reply {
    with_feed(&app, StatusCode::OK, move |feed| Ok(feed.steering(&id))).await
}

async fn steer(State(app): State<App>, Path(id): Path<String>, body: Body) -> Reply {
    let dials: Steering = parse(&bytes(body).await?)?;
    with_feed(&app, StatusCode::OK, move |feed| {
        feed.set_steering(&id, dials)?;
        Ok(feed.steering(&id))
    })
    .await
}

async fn objective(State(app): State<App>) -> Reply {
    with_feed(&app, StatusCode::OK, |feed| Ok(feed.objective().clone())).await
}

async fn set_objective(State(app): State<App>, body: Body) -> Reply {
    let objective: Objective = parse(&bytes(body).await?)?;
    with_feed(&app, StatusCode::OK, move |feed| {
        feed.set_objective(objective)?;
        Ok(feed.objective().clone())
    })
    .await
}

async fn learning(State(app): State<App>) -> Reply {
    with_feed(&app, StatusCode::OK, |feed| Ok(feed.learning().clone())).await
}

async fn set_learning(State(app): State<App>, body: Body) -> Reply {
    let learning: Learning = parse(&bytes(body).await?)?;
    with_feed(&app, StatusCode::OK, move |feed| {
        feed.set_learning(learning)?;
        Ok(feed.learning().clone())
    })
    .await
}

async fn publish(State(app): State<App>, body: Body) -> Reply {
    let item: NewItem = parse(&bytes(body).await?)?;
    let id = item.id.clone();
    with_feed(&app, StatusCode::CREATED, move |feed| {
        feed.publish(item)?;
        Ok(serde_json::json!({ "id": id }))
    })
    .await
}

async fn stats(State(app): State<App>) -> Reply {
    with_feed(&app, StatusCode::OK, |feed| Ok(feed.stats()?)).await
}

async fn experiment(State(app): State<App>) -> Reply {
    with_feed(&app, StatusCode::OK, |feed| Ok(feed.experiment().cloned())).await
}

async fn set_experiment(State(app): State<App>, body: Body) -> Reply {
    let experiment: Option<Experiment> = parse(&bytes(body).await?)?;
    with_feed(&app, StatusCode::OK, move |feed| {
        feed.set_experiment(experiment)?;
        Ok(feed.experiment().cloned())
    })
    .await
}

async fn report(State(app): State<App>) -> Reply {
    with_feed(&app, StatusCode::OK, |feed| Ok(feed.report()?)).await
}
