//! `/v1/pipelines`: the control plane over HTTP.
//!
//! - `GET  /` the caller's pipelines (an admin's: all) and the shipped ones
//! - `POST /` `{name | toml, set?, duration?, restart?, start?}`: builds and
//!   checks one (READY), owned by the caller; `start: true` starts it too
//! - `GET|DELETE /{id}`; `POST /{id}/start|pause|stop` (stop drains: files
//!   are finalised and signed; `?wait=true` answers once it has)
//! - `GET /{id}/graph`: elements, links and GStreamer's dot graph
//! - `GET /{id}/elements/{element}`: its properties;
//!   `PUT /{id}/elements/{element}/{property}` `{value}` sets one live
//! - `GET /{id}/preview/{file}`: the live HLS preview's playlists and
//!   segments
//! - `GET|POST /{id}/scripts` `{name | lua, settings?}`: Lua automation
//!   scripts attached to it (and the shipped ones); `DELETE
//!   /{id}/scripts/{script}` detaches one once its `unload()` ran
//!
//! Refusals name the field: `toml`/`name` (with the file's line), `set[N]`,
//! `element`, `property`, `value`, `state`, `lua`, `settings`, `script`.

use axum::Extension;
use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use slate_access::{Caller, Scope};
use slate_control::{Attach, ControlError, Create, Graph, Restart, ScriptSource, ScriptStatus, Source, Status};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::{parse, parse_query};
use crate::{ApiError, App, Reply, blocking, reply};

pub(crate) fn routes() -> OpenApiRouter<App> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(status, remove))
        .routes(routes!(start))
        .routes(routes!(pause))
        .routes(routes!(stop))
        .routes(routes!(graph))
        .routes(routes!(element))
        .routes(routes!(set_property))
        .routes(routes!(preview))
        .routes(routes!(scripts, attach))
        .routes(routes!(detach))
}

impl From<ControlError> for ApiError {
    fn from(e: ControlError) -> Self {
        let field = e.field().to_owned();
        let message = e.to_string();
        match e {
            ControlError::Invalid { .. } => ApiError::bad(&field, message),
            ControlError::NotFound(_) => ApiError::not_found(&field, message),
            ControlError::Conflict { .. } => ApiError::new(StatusCode::CONFLICT, Some(&field), message),
        }
    }
}

/// A new pipeline: a shipped one by `name`, or a pipeline file's `toml`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewPipeline {
    /// A shipped pipeline (`GET /v1/pipelines` lists them).
    #[schema(min_length = 1, max_length = 100)]
    name: Option<String>,
    /// A whole pipeline file.
    #[schema(min_length = 1, max_length = 65536)]
    toml: Option<String>,
    /// Overrides, as `slate run --set`: `ELEMENT.PROPERTY=VALUE`.
    #[serde(default)]
    #[schema(max_items = 100)]
    set: Vec<String>,
    /// Stop after this long (`30s`, `1500ms`, `00:01:00`), instead of the file's duration.
    #[schema(min_length = 1, max_length = 40)]
    duration: Option<String>,
    #[serde(default)]
    restart: Restart,
    /// Start it at once.
    #[serde(default)]
    start: bool,
}

impl NewPipeline {
    pub(crate) fn into_create(self) -> Result<(Create, bool), ApiError> {
        let source = match (self.name, self.toml) {
            (Some(name), None) => Source::Name(name),
            (None, Some(toml)) => Source::Toml(toml),
            (Some(_), Some(_)) => return Err(ApiError::bad("toml", "send `name` or `toml`, not both")),
            (None, None) => {
                return Err(ApiError::bad(
                    "name",
                    "send `name` (a shipped pipeline) or `toml` (a pipeline file)",
                ));
            }
        };
        let duration = self
            .duration
            .map(|d| slate_meta::parse_time(&d).map_err(|why| ApiError::bad("duration", why)))
            .transpose()?;
        if self.restart.attempts > 10 {
            return Err(ApiError::bad("restart.attempts", "at most 10 restarts"));
        }
        Ok((
            Create {
                source,
                set: self.set,
                duration,
                restart: self.restart,
            },
            self.start,
        ))
    }
}

#[derive(Serialize, ToSchema)]
struct Pipelines {
    pipelines: Vec<Status>,
    /// Names `POST /v1/pipelines` takes as `name`.
    shipped: Vec<String>,
}

/// Refuses a caller that does not own pipeline `id` (admins own all).
pub(crate) fn owned(app: &App, caller: &Caller, id: &str) -> Result<(), ApiError> {
    let owner = app.control.owner(id)?;
    if owner != caller.account && !caller.can(Scope::Admin) {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            Some("id"),
            format!("pipeline {id} belongs to another account"),
        ));
    }
    Ok(())
}

/// The caller's pipelines (an admin's: every one) and the shipped ones.
#[utoipa::path(get, path = "/v1/pipelines", tag = "pipelines", responses((status = 200, body = Pipelines)))]
async fn list(State(app): State<App>, Extension(caller): Extension<Caller>) -> Reply {
    let admin = caller.can(Scope::Admin);
    let pipelines = app.control.list(|owner| admin || owner == caller.account);
    reply(
        StatusCode::OK,
        Pipelines {
            pipelines,
            shipped: app.control.shipped(),
        },
    )
}

/// Builds and checks a pipeline (READY), owned by the caller; `start: true` starts it.
#[utoipa::path(post, path = "/v1/pipelines", tag = "pipelines", request_body = NewPipeline,
    responses((status = 201, body = Status), (status = 409, body = crate::error::ErrorBody)))]
async fn create(State(app): State<App>, Extension(caller): Extension<Caller>, body: Body) -> Reply {
    let new: NewPipeline = parse(&crate::feed::bytes(body).await?)?;
    let (create, start) = new.into_create()?;
    let control = app.control.clone();
    let status = blocking(move || {
        let status = control.create(&caller.account, create)?;
        Ok(match start {
            true => control.start(&status.id)?,
            false => status,
        })
    })
    .await?;
    reply(StatusCode::CREATED, status)
}

/// A pipeline's state, position, frame rate, drops, faults, alerts and outputs.
#[utoipa::path(get, path = "/v1/pipelines/{id}", tag = "pipelines", params(("id" = String, Path)),
    responses((status = 200, body = Status)))]
async fn status(State(app): State<App>, Extension(caller): Extension<Caller>, Path(id): Path<String>) -> Reply {
    owned(&app, &caller, &id)?;
    reply(StatusCode::OK, app.control.status(&id)?)
}

/// Forgets a pipeline that is over or was never started.
#[utoipa::path(delete, path = "/v1/pipelines/{id}", tag = "pipelines", params(("id" = String, Path)),
    responses((status = 204), (status = 409, body = crate::error::ErrorBody)))]
async fn remove(
    State(app): State<App>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    owned(&app, &caller, &id)?;
    app.control.remove(&id)?;
    Ok(StatusCode::NO_CONTENT)
}

/// Starts a ready pipeline or resumes a paused one.
#[utoipa::path(post, path = "/v1/pipelines/{id}/start", tag = "pipelines", params(("id" = String, Path)),
    responses((status = 200, body = Status), (status = 409, body = crate::error::ErrorBody)))]
async fn start(State(app): State<App>, Extension(caller): Extension<Caller>, Path(id): Path<String>) -> Reply {
    owned(&app, &caller, &id)?;
    let control = app.control.clone();
    reply(StatusCode::OK, blocking(move || Ok(control.start(&id)?)).await?)
}

/// Pauses a playing pipeline.
#[utoipa::path(post, path = "/v1/pipelines/{id}/pause", tag = "pipelines", params(("id" = String, Path)),
    responses((status = 200, body = Status), (status = 409, body = crate::error::ErrorBody)))]
async fn pause(State(app): State<App>, Extension(caller): Extension<Caller>, Path(id): Path<String>) -> Reply {
    owned(&app, &caller, &id)?;
    let control = app.control.clone();
    reply(StatusCode::OK, blocking(move || Ok(control.pause(&id)?)).await?)
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct StopQuery {
    /// Answer once the pipeline has drained (files finalised and signed).
    #[serde(default)]
    wait: bool,
}

/// Stops a pipeline: EOS drains it, files are finalised and signed; a second stop tears it down.
#[utoipa::path(post, path = "/v1/pipelines/{id}/stop", tag = "pipelines", params(("id" = String, Path), StopQuery),
    responses((status = 200, body = Status)))]
async fn stop(
    State(app): State<App>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> Reply {
    let query: StopQuery = parse_query(query.as_deref(), "?wait=true")?;
    owned(&app, &caller, &id)?;
    let control = app.control.clone();
    reply(
        StatusCode::OK,
        blocking(move || Ok(control.stop(&id, query.wait)?)).await?,
    )
}

/// The running graph: elements, links with their media, and GStreamer's dot graph.
#[utoipa::path(get, path = "/v1/pipelines/{id}/graph", tag = "pipelines", params(("id" = String, Path)),
    responses((status = 200, body = Graph)))]
async fn graph(State(app): State<App>, Extension(caller): Extension<Caller>, Path(id): Path<String>) -> Reply {
    owned(&app, &caller, &id)?;
    reply(StatusCode::OK, app.control.graph(&id)?)
}

#[derive(Serialize, ToSchema)]
struct Properties {
    element: String,
    #[schema(value_type = Object)]
    properties: std::collections::BTreeMap<String, Value>,
}

/// An element's properties and their values now.
#[utoipa::path(get, path = "/v1/pipelines/{id}/elements/{element}", tag = "pipelines",
    params(("id" = String, Path), ("element" = String, Path)), responses((status = 200, body = Properties)))]
async fn element(
    State(app): State<App>,
    Extension(caller): Extension<Caller>,
    Path((id, element)): Path<(String, String)>,
) -> Reply {
    owned(&app, &caller, &id)?;
    let properties = app.control.properties(&id, &element)?;
    reply(StatusCode::OK, Properties { element, properties })
}

/// A property's new value, as a pipeline file would write it.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct PropertyBody {
    #[schema(value_type = Object)]
    pub(crate) value: Value,
}

/// Sets a property while the pipeline runs, checked as pipeline files are; answers the value taken.
#[utoipa::path(put, path = "/v1/pipelines/{id}/elements/{element}/{property}", tag = "pipelines",
    params(("id" = String, Path), ("element" = String, Path), ("property" = String, Path)),
    request_body = PropertyBody, responses((status = 200, body = PropertyBody)))]
async fn set_property(
    State(app): State<App>,
    Extension(caller): Extension<Caller>,
    Path((id, element, property)): Path<(String, String, String)>,
    body: Body,
) -> Reply {
    let body: PropertyBody = parse(&crate::feed::bytes(body).await?)?;
    owned(&app, &caller, &id)?;
    let control = app.control.clone();
    let value = blocking(move || Ok(control.set_property(&id, &element, &property, &body.value)?)).await?;
    reply(StatusCode::OK, PropertyBody { value })
}

/// A file of the live preview: the HLS playlists and CMAF segments.
#[utoipa::path(get, path = "/v1/pipelines/{id}/preview/{file}", tag = "pipelines",
    params(("id" = String, Path), ("file" = String, Path)),
    responses((status = 200, description = "a playlist or a CMAF segment",
        content((String = "application/vnd.apple.mpegurl"), (String = "video/mp4")))))]
async fn preview(
    State(app): State<App>,
    Extension(caller): Extension<Caller>,
    Path((id, file)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    owned(&app, &caller, &id)?;
    let path = app.control.preview_file(&id, &file)?;
    let bytes = tokio::fs::read(&path)
        .await
        .map_err(|_| ApiError::not_found("file", format!("the preview has no `{file}` (yet)")))?;
    let kind = match path.extension().and_then(|e| e.to_str()) {
        Some("m3u8") => "application/vnd.apple.mpegurl",
        Some("mp4" | "m4s") => "video/mp4",
        _ => "application/octet-stream",
    };
    Ok((
        [(header::CONTENT_TYPE, kind), (header::CACHE_CONTROL, "no-store")],
        bytes,
    )
        .into_response())
}

#[derive(Serialize, ToSchema)]
struct Scripts {
    scripts: Vec<ScriptStatus>,
    /// Names `POST /v1/pipelines/{id}/scripts` takes as `name`.
    shipped: Vec<String>,
}

/// The automation scripts attached to a pipeline, and the shipped ones.
#[utoipa::path(get, path = "/v1/pipelines/{id}/scripts", tag = "pipelines", params(("id" = String, Path)),
    responses((status = 200, body = Scripts)))]
async fn scripts(State(app): State<App>, Extension(caller): Extension<Caller>, Path(id): Path<String>) -> Reply {
    owned(&app, &caller, &id)?;
    reply(
        StatusCode::OK,
        Scripts {
            scripts: app.control.scripts(&id)?,
            shipped: app.control.shipped_scripts(),
        },
    )
}

/// A Lua automation script for a running pipeline: a shipped one by `name`, or its text as `lua`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewScript {
    #[schema(min_length = 1, max_length = 100)]
    name: Option<String>,
    #[schema(min_length = 1, max_length = 65536)]
    lua: Option<String>,
    /// Values for the settings the script declares (`slate.settings`): strings, numbers or booleans.
    #[serde(default)]
    #[schema(value_type = Object)]
    settings: std::collections::BTreeMap<String, Value>,
}

impl NewScript {
    pub(crate) fn into_attach(self) -> Result<Attach, ApiError> {
        let source = match (self.name, self.lua) {
            (Some(name), None) => ScriptSource::Name(name),
            (None, Some(lua)) => ScriptSource::Lua(lua),
            (Some(_), Some(_)) => return Err(ApiError::bad("lua", "send `name` or `lua`, not both")),
            (None, None) => {
                return Err(ApiError::bad(
                    "name",
                    "send `name` (a shipped script) or `lua` (a script's text)",
                ));
            }
        };
        let settings = self
            .settings
            .into_iter()
            .map(|(key, value)| {
                let text = match value {
                    Value::String(text) => text,
                    Value::Number(_) | Value::Bool(_) => value.to_string(),
                    _ => {
                        return Err(ApiError::bad(
                            &format!("settings.{key}"),
                            "a setting is a string, number or boolean",
                        ));
                    }
                };
                Ok((key, text))
            })
            .collect::<Result<_, ApiError>>()?;
        Ok(Attach { source, settings })
    }
}

/// Attaches a Lua automation script (`slate.main` is the pipeline); its top level and `load()` run before the answer.
#[utoipa::path(post, path = "/v1/pipelines/{id}/scripts", tag = "pipelines", params(("id" = String, Path)),
    request_body = NewScript,
    responses((status = 201, body = ScriptStatus), (status = 409, body = crate::error::ErrorBody)))]
async fn attach(
    State(app): State<App>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    body: Body,
) -> Reply {
    let new: NewScript = parse(&crate::feed::bytes(body).await?)?;
    let attach = new.into_attach()?;
    owned(&app, &caller, &id)?;
    let control = app.control.clone();
    reply(
        StatusCode::CREATED,
        blocking(move || Ok(control.attach(&id, attach)?)).await?,
    )
}

/// Detaches a script once its `unload()` ran; the pipeline runs on.
#[utoipa::path(delete, path = "/v1/pipelines/{id}/scripts/{script}", tag = "pipelines",
    params(("id" = String, Path), ("script" = String, Path)), responses((status = 204)))]
async fn detach(
    State(app): State<App>,
    Extension(caller): Extension<Caller>,
    Path((id, script)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    owned(&app, &caller, &id)?;
    let control = app.control.clone();
    blocking(move || Ok(control.detach(&id, &script)?)).await?;
    Ok(StatusCode::NO_CONTENT)
}
