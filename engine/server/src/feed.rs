//! `/v1/feed`: the steerable feed.
//!
//! - `GET  /?user=ID&n=10`: a ranked slate, each item with its impression
//!   id, propensity and the terms that put it there (`user` is the caller's
//!   account unless given)
//! - `POST /signals` `{signals: [{event, impression, kind, seconds?, prompt?}]}`:
//!   batched (at most 1,000, 1 MiB), idempotent by event id, all or nothing
//! - `GET|PUT /users/{id}/steering` `{more_like, less_tags, more_tags, novelty, follow}`
//! - `GET|PUT /objective` (the operator's weights), `GET|PUT /learning`
//! - `POST /items` (a published item), `GET /stats`
//! - `GET|PUT /experiment` (`null` ends it), `GET /experiment/report`
//!
//! A caller's slates, signals and steering are its own: its account id is
//! its feed user, and another user's need `feed:operate`. Published items
//! belong to the account that published them and count to its
//! `feed_items` quota.

use std::sync::{Arc, Mutex};

use axum::Extension;
use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use http_body_util::BodyExt;
use serde::{Deserialize, Serialize};
use slate_access::{Caller, Quota, Scope};
use slate_feed::experiment::ArmReport;
use slate_feed::{Experiment, Feed, FeedError, Learning, NewItem, Objective, Signal, SignalsOut, SlateOut, Steering};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::{parse, parse_query};
use crate::{ApiError, App, Reply, blocking, reply};

/// What `owners` calls a published item.
const ITEM: &str = "item";

/// Largest body a feed route reads.
pub const MAX_BODY: usize = 1 << 20;

pub(crate) fn routes() -> OpenApiRouter<App> {
    OpenApiRouter::new()
        .routes(routes!(slate))
        .routes(routes!(signals))
        .routes(routes!(steering, steer))
        .routes(routes!(objective, set_objective))
        .routes(routes!(learning, set_learning))
        .routes(routes!(publish))
        .routes(routes!(stats))
        .routes(routes!(experiment, set_experiment))
        .routes(routes!(report))
}

impl From<FeedError> for ApiError {
    fn from(e: FeedError) -> Self {
        let message = e.to_string();
        match &e {
            FeedError::Invalid { field, .. } => ApiError::bad(field, message),
            FeedError::Conflict { field, .. } => ApiError::new(StatusCode::CONFLICT, Some(field), message),
            FeedError::Forbidden { field, .. } => ApiError::new(StatusCode::FORBIDDEN, Some(field), message),
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
    let value = blocking(move || {
        let mut feed = feed.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        work(&mut feed)
    })
    .await?;
    reply(status, value)
}

/// Refuses another user's feed unless the caller operates the feed.
fn require_self(caller: &Caller, user: &str, field: &str) -> Result<(), ApiError> {
    slate_feed::model::check_name(field, user)?;
    if user == caller.account || caller.can(Scope::FeedOperate) {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::FORBIDDEN,
            Some(field),
            format!(
                "`{user}` is another user; your feed is `{}` (another's needs the scope `feed:operate`)",
                caller.account
            ),
        ))
    }
}

/// The body, refused past [`MAX_BODY`].
pub(crate) async fn bytes(body: Body) -> Result<Vec<u8>, ApiError> {
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

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct SlateQuery {
    /// Whose feed: the caller's own unless given (another's needs `feed:operate`).
    #[param(schema_with = slate_feed::openapi::name)]
    user: Option<String>,
    /// How many items.
    #[serde(default = "ten")]
    #[param(minimum = 1, maximum = 50, default = 10)]
    n: usize,
}

fn ten() -> usize {
    10
}

/// A ranked slate, each item with its impression id, propensity and the
/// terms that put it there.
#[utoipa::path(get, path = "/v1/feed", tag = "feed", params(SlateQuery), responses((status = 200, body = SlateOut)))]
async fn slate(State(app): State<App>, Extension(caller): Extension<Caller>, RawQuery(query): RawQuery) -> Reply {
    let query: SlateQuery = parse_query(query.as_deref(), "?user=ID&n=COUNT")?;
    let user = query.user.unwrap_or_else(|| caller.account.clone());
    require_self(&caller, &user, "user")?;
    with_feed(&app, StatusCode::OK, move |feed| Ok(feed.rank(&user, query.n)?)).await
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct Batch {
    /// Idempotent by event id; all or nothing.
    #[schema(min_items = 1, max_items = 1000)]
    signals: Vec<Signal>,
}

/// Signals on the caller's impressions (anyone's with `feed:operate`).
#[utoipa::path(post, path = "/v1/feed/signals", tag = "feed", request_body = Batch, responses((status = 200, body = SignalsOut)))]
async fn signals(State(app): State<App>, Extension(caller): Extension<Caller>, body: Body) -> Reply {
    let batch: Batch = parse(&bytes(body).await?)?;
    with_feed(&app, StatusCode::OK, move |feed| {
        if caller.can(Scope::FeedOperate) {
            Ok(feed.record(&batch.signals)?)
        } else {
            Ok(feed.record_for(&caller.account, &batch.signals)?)
        }
    })
    .await
}

/// A feed user: an account id.
#[derive(IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)] // Read by axum's `Path`.
struct User {
    #[param(schema_with = slate_feed::openapi::name)]
    id: String,
}

/// A user's steering dials.
#[utoipa::path(get, path = "/v1/feed/users/{id}/steering", tag = "feed", params(User),
    responses((status = 200, body = Steering)))]
async fn steering(State(app): State<App>, Extension(caller): Extension<Caller>, Path(id): Path<String>) -> Reply {
    require_self(&caller, &id, "id")?;
    with_feed(&app, StatusCode::OK, move |feed| Ok(feed.steering(&id))).await
}

/// Sets a user's steering dials.
#[utoipa::path(put, path = "/v1/feed/users/{id}/steering", tag = "feed", params(User),
    request_body = Steering, responses((status = 200, body = Steering)))]
async fn steer(
    State(app): State<App>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    body: Body,
) -> Reply {
    require_self(&caller, &id, "id")?;
    let dials: Steering = parse(&bytes(body).await?)?;
    with_feed(&app, StatusCode::OK, move |feed| {
        feed.set_steering(&id, dials)?;
        Ok(feed.steering(&id))
    })
    .await
}

/// The operator's objective weights.
#[utoipa::path(get, path = "/v1/feed/objective", tag = "feed", responses((status = 200, body = Objective)))]
async fn objective(State(app): State<App>) -> Reply {
    with_feed(&app, StatusCode::OK, |feed| Ok(feed.objective().clone())).await
}

#[utoipa::path(put, path = "/v1/feed/objective", tag = "feed", request_body = Objective,
    responses((status = 200, body = Objective)))]
async fn set_objective(State(app): State<App>, body: Body) -> Reply {
    let objective: Objective = parse(&bytes(body).await?)?;
    with_feed(&app, StatusCode::OK, move |feed| {
        feed.set_objective(objective)?;
        Ok(feed.objective().clone())
    })
    .await
}

/// How the feed learns: the policy and its parameters.
#[utoipa::path(get, path = "/v1/feed/learning", tag = "feed", responses((status = 200, body = Learning)))]
async fn learning(State(app): State<App>) -> Reply {
    with_feed(&app, StatusCode::OK, |feed| Ok(feed.learning().clone())).await
}

#[utoipa::path(put, path = "/v1/feed/learning", tag = "feed", request_body = Learning,
    responses((status = 200, body = Learning)))]
async fn set_learning(State(app): State<App>, body: Body) -> Reply {
    let learning: Learning = parse(&bytes(body).await?)?;
    with_feed(&app, StatusCode::OK, move |feed| {
        feed.set_learning(learning)?;
        Ok(feed.learning().clone())
    })
    .await
}

#[derive(Serialize, ToSchema)]
struct Published {
    id: String,
}

/// Publishes an item into the feed; it is the caller's and counts to its `feed_items` quota.
#[utoipa::path(post, path = "/v1/feed/items", tag = "feed", request_body = NewItem,
    responses((status = 201, body = Published)))]
async fn publish(State(app): State<App>, Extension(caller): Extension<Caller>, body: Body) -> Reply {
    let item: NewItem = parse(&bytes(body).await?)?;
    let id = item.id.clone();
    let access = app.access.clone();
    with_feed(&app, StatusCode::CREATED, move |feed| {
        let charge = access.charge(&caller.account, Quota::FeedItems, 1)?;
        if let Err(e) = feed.publish(item) {
            access.refund(&caller.account, charge)?;
            return Err(e.into());
        }
        access.own(ITEM, &id, &caller.account)?;
        Ok(Published { id })
    })
    .await
}

/// Counts of items, users, slates, impressions and signals.
#[utoipa::path(get, path = "/v1/feed/stats", tag = "feed", responses((status = 200, body = Object)))]
async fn stats(State(app): State<App>) -> Reply {
    with_feed(&app, StatusCode::OK, |feed| Ok(feed.stats()?)).await
}

/// The running A/B experiment, if any.
#[utoipa::path(get, path = "/v1/feed/experiment", tag = "feed", responses((status = 200, body = Option<Experiment>)))]
async fn experiment(State(app): State<App>) -> Reply {
    with_feed(&app, StatusCode::OK, |feed| Ok(feed.experiment().cloned())).await
}

/// Starts an experiment (`null` ends it).
#[utoipa::path(put, path = "/v1/feed/experiment", tag = "feed", request_body = Option<Experiment>,
    responses((status = 200, body = Option<Experiment>)))]
async fn set_experiment(State(app): State<App>, body: Body) -> Reply {
    let experiment: Option<Experiment> = parse(&bytes(body).await?)?;
    with_feed(&app, StatusCode::OK, move |feed| {
        feed.set_experiment(experiment)?;
        Ok(feed.experiment().cloned())
    })
    .await
}

/// Each arm's metrics with 95% intervals.
#[utoipa::path(get, path = "/v1/feed/experiment/report", tag = "feed", responses((status = 200, body = Vec<ArmReport>)))]
async fn report(State(app): State<App>) -> Reply {
    with_feed(&app, StatusCode::OK, |feed| Ok(feed.report()?)).await
}
