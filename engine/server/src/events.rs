//! `/v1/events`: a WebSocket in the spirit of obs-websocket v5. Every
//! message is a JSON object with an `op`.
//!
//! - server `hello` `{protocol, server, categories}` on connect
//! - client `identify` `{token, subscriptions?}` (browsers cannot send an
//!   `Authorization` header on a WebSocket, so the token comes here); the
//!   server answers `identified` `{account, subscriptions}`. Until then
//!   nothing else is taken.
//! - client `subscribe` `{subscriptions}`: replaces the categories
//!   (`pipelines`, `stages`, `consent`, `continuity`, `provenance`,
//!   `meters`, `alerts`, `scripts`; all but `meters` unless asked)
//! - server `event` `{category, type, pipeline, at_ms, data}`: the
//!   caller's pipelines' events (an admin's: all)
//! - client `request` `{id, type, data?}` -> server `response` `{id, ok,
//!   data | error, field}`; types `GetPipelines`, `GetPipeline`,
//!   `CreatePipeline`, `StartPipeline`, `PausePipeline`, `StopPipeline`,
//!   `GetProperties`, `SetProperty`, `AttachScript` `{pipeline, script:
//!   {name | lua, settings?}}`, `DetachScript` `{pipeline, script}`
//! - server `error` `{error, field}` for a message it could not take
//!   (malformed JSON, unknown op or field); the connection stays open
//! - server `lagged` `{missed}` when the client read too slowly and events
//!   were dropped
//!
//! A token revoked or an account disabled closes the connection at its
//! next check (every 30 s).

use std::collections::HashSet;
use std::time::Duration;

use axum::Extension;
use axum::extract::State;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade, rejection::WebSocketUpgradeRejection};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use slate_access::{Caller, Scope};
use slate_control::{Category, Event};
use tokio::sync::broadcast::error::RecvError;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::pipelines::{NewPipeline, NewScript, PropertyBody};
use crate::{ApiError, App, blocking};

/// The protocol's version; `hello` says it.
pub const PROTOCOL: u32 = 1;

/// Largest message a client may send.
const MAX_MESSAGE: usize = 64 << 10;

/// How often the caller's token is checked again.
const RECHECK: Duration = Duration::from_secs(30);

pub(crate) fn routes() -> OpenApiRouter<App> {
    OpenApiRouter::new().routes(routes!(events))
}

/// The event stream (a WebSocket; see the protocol in the README): identify with a token, subscribe by category, send requests.
#[utoipa::path(get, path = "/v1/events", tag = "pipelines",
    responses((status = 101, description = "switching to the WebSocket protocol"),
        (status = 426, body = crate::error::ErrorBody, description = "not a WebSocket upgrade")))]
async fn events(
    State(app): State<App>,
    Extension(address): Extension<crate::guard::Address>,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    match upgrade {
        Ok(upgrade) => upgrade
            .max_message_size(MAX_MESSAGE)
            .on_upgrade(move |socket| session(app, socket, address))
            .into_response(),
        Err(why) => ApiError::new(
            StatusCode::UPGRADE_REQUIRED,
            Some("upgrade"),
            format!("/v1/events is a WebSocket: connect with `Upgrade: websocket` ({why})"),
        )
        .into_response(),
    }
}

/// One client's connection.
struct Session {
    app: App,
    caller: Option<Caller>,
    /// The token the caller identified with, checked again every [`RECHECK`].
    secret: Option<String>,
    subscriptions: HashSet<Category>,
}

async fn session(app: App, mut socket: WebSocket, address: crate::guard::Address) {
    let mut events = app.control.subscribe();
    let hello = json!({
        "op": "hello",
        "protocol": PROTOCOL,
        "server": concat!("slate ", env!("CARGO_PKG_VERSION")),
        "categories": Category::ALL.map(Category::as_str),
    });
    if send(&mut socket, &hello).await.is_err() {
        return;
    }
    let mut session = Session {
        app,
        caller: None,
        secret: None,
        subscriptions: HashSet::new(),
    };
    let mut recheck = tokio::time::interval(RECHECK);
    recheck.tick().await;
    loop {
        tokio::select! {
            incoming = socket.recv() => {
                let text = match incoming {
                    Some(Ok(Message::Text(text))) => text.to_string(),
                    Some(Ok(Message::Binary(_))) => {
                        let refusal = refusal("message", "send JSON text messages, not binary ones");
                        if send(&mut socket, &refusal).await.is_err() { return }
                        continue;
                    }
                    Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                    Some(Ok(_)) => continue,
                };
                if session.app.limits.check_address(crate::rate::Class::Read, address.0).refused() {
                    let refusal = refusal("rate", "too many messages from this address; slow down");
                    if send(&mut socket, &refusal).await.is_err() { return }
                    continue;
                }
                let answer = session.take(&text).await;
                if send(&mut socket, &answer).await.is_err() { return }
            }
            event = events.recv() => {
                let message = match event {
                    Ok(event) if session.wants(&event) => event_message(&event),
                    Ok(_) => continue,
                    Err(RecvError::Lagged(missed)) => json!({ "op": "lagged", "missed": missed }),
                    Err(RecvError::Closed) => return,
                };
                if send(&mut socket, &message).await.is_err() { return }
            }
            _ = recheck.tick() => {
                if let Some(secret) = session.secret.clone() {
                    let access = session.app.access.clone();
                    let still = blocking(move || Ok(access.authenticate(&secret)?)).await;
                    if let Err(e) = still {
                        let _ = send(&mut socket, &refusal("token", &e.message)).await;
                        let _ = socket.send(Message::Close(None)).await;
                        return;
                    }
                }
            }
        }
    }
}

async fn send(socket: &mut WebSocket, message: &Value) -> Result<(), axum::Error> {
    socket.send(Message::Text(message.to_string().into())).await
}

fn refusal(field: &str, message: &str) -> Value {
    json!({ "op": "error", "error": message, "field": field })
}

fn event_message(event: &Event) -> Value {
    let mut message = serde_json::to_value(event).unwrap_or_default();
    if let Value::Object(map) = &mut message {
        map.insert("op".into(), "event".into());
    }
    message
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Identify {
    token: String,
    subscriptions: Option<Vec<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Subscribe {
    subscriptions: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Request {
    id: Value,
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    data: Value,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Target {
    pipeline: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ElementTarget {
    pipeline: String,
    element: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PropertyTarget {
    pipeline: String,
    element: String,
    property: String,
    value: Value,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AttachTarget {
    pipeline: String,
    script: NewScript,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ScriptTarget {
    pipeline: String,
    script: String,
}

/// The request types, as `response` errors list them.
const REQUESTS: &str = "GetPipelines, GetPipeline, CreatePipeline, StartPipeline, PausePipeline, StopPipeline, \
    GetProperties, SetProperty, AttachScript, DetachScript";

impl Session {
    /// Whether the client should see `event`.
    fn wants(&self, event: &Event) -> bool {
        let Some(caller) = &self.caller else { return false };
        self.subscriptions.contains(&event.category) && (event.owner == caller.account || caller.can(Scope::Admin))
    }

    /// Answers one client message.
    async fn take(&mut self, text: &str) -> Value {
        let mut message: Value = match serde_json::from_str(text) {
            Ok(Value::Object(map)) => Value::Object(map),
            Ok(_) => return refusal("message", "a message is a JSON object with an `op`"),
            Err(e) => return refusal("message", &format!("not JSON: {e}")),
        };
        let op = match message.as_object_mut().and_then(|m| m.remove("op")) {
            Some(Value::String(op)) => op,
            Some(_) => return refusal("op", "`op` is a string: identify, subscribe or request"),
            None => return refusal("op", "every message has an `op`: identify, subscribe or request"),
        };
        match (op.as_str(), &self.caller) {
            ("identify", _) => self.identify(message).await,
            (_, None) if ["subscribe", "request"].contains(&op.as_str()) => {
                refusal("op", "identify first: {\"op\": \"identify\", \"token\": \"slt_…\"}")
            }
            ("subscribe", Some(_)) => match strict::<Subscribe>(message) {
                Ok(s) => match categories(&s.subscriptions) {
                    Ok(set) => {
                        self.subscriptions = set;
                        json!({ "op": "subscribed", "subscriptions": self.names() })
                    }
                    Err(e) => e,
                },
                Err(e) => e,
            },
            ("request", Some(caller)) => {
                let caller = caller.clone();
                match strict::<Request>(message) {
                    Ok(request) => self.request(caller, request).await,
                    Err(e) => e,
                }
            }
            (other, _) => refusal(
                "op",
                &format!("unknown op `{other}`; use identify, subscribe or request"),
            ),
        }
    }

    async fn identify(&mut self, message: Value) -> Value {
        let identify = match strict::<Identify>(message) {
            Ok(identify) => identify,
            Err(e) => return e,
        };
        let subscriptions = match identify.subscriptions {
            Some(names) => match categories(&names) {
                Ok(set) => set,
                Err(e) => return e,
            },
            None => Category::ALL.into_iter().filter(|c| *c != Category::Meters).collect(),
        };
        let access = self.app.access.clone();
        let secret = identify.token.clone();
        let caller = match blocking(move || Ok(access.authenticate(&secret)?)).await {
            Ok(caller) => caller,
            Err(e) => return refusal("token", &e.message),
        };
        if let Err(e) = caller.require(Scope::PipelinesOperate) {
            return refusal("token", &e.to_string());
        }
        self.subscriptions = subscriptions;
        let answer = json!({ "op": "identified", "account": caller.account, "subscriptions": self.names() });
        self.caller = Some(caller);
        self.secret = Some(identify.token);
        answer
    }

    fn names(&self) -> Vec<&'static str> {
        Category::ALL
            .into_iter()
            .filter(|c| self.subscriptions.contains(c))
            .map(Category::as_str)
            .collect()
    }

    async fn request(&self, caller: Caller, request: Request) -> Value {
        let id = request.id.clone();
        match self.answer(caller, request).await {
            Ok(data) => json!({ "op": "response", "id": id, "ok": true, "data": data }),
            Err(e) => json!({ "op": "response", "id": id, "ok": false, "error": e.message, "field": e.field }),
        }
    }

    async fn answer(&self, caller: Caller, request: Request) -> Result<Value, ApiError> {
        let app = self.app.clone();
        let control = app.control.clone();
        let data = request.data;
        let value = match request.kind.as_str() {
            "GetPipelines" => {
                let admin = caller.can(Scope::Admin);
                json!(control.list(|owner| admin || owner == caller.account))
            }
            "GetPipeline" => {
                let t: Target = data_of(data)?;
                crate::pipelines::owned(&app, &caller, &t.pipeline)?;
                json!(control.status(&t.pipeline)?)
            }
            "CreatePipeline" => {
                let (create, start) = data_of::<NewPipeline>(data)?.into_create()?;
                let status = blocking(move || {
                    let status = control.create(&caller.account, create)?;
                    Ok(if start { control.start(&status.id)? } else { status })
                })
                .await?;
                json!(status)
            }
            kind @ ("StartPipeline" | "PausePipeline" | "StopPipeline") => {
                let t: Target = data_of(data)?;
                crate::pipelines::owned(&app, &caller, &t.pipeline)?;
                let kind = kind.to_owned();
                json!(
                    blocking(move || Ok(match kind.as_str() {
                        "StartPipeline" => control.start(&t.pipeline)?,
                        "PausePipeline" => control.pause(&t.pipeline)?,
                        _ => control.stop(&t.pipeline, false)?,
                    }))
                    .await?
                )
            }
            "GetProperties" => {
                let t: ElementTarget = data_of(data)?;
                crate::pipelines::owned(&app, &caller, &t.pipeline)?;
                json!(control.properties(&t.pipeline, &t.element)?)
            }
            "SetProperty" => {
                let t: PropertyTarget = data_of(data)?;
                crate::pipelines::owned(&app, &caller, &t.pipeline)?;
                let value =
                    blocking(move || Ok(control.set_property(&t.pipeline, &t.element, &t.property, &t.value)?)).await?;
                json!(PropertyBody { value })
            }
            "AttachScript" => {
                let t: AttachTarget = data_of(data)?;
                let attach = t.script.into_attach()?;
                crate::pipelines::owned(&app, &caller, &t.pipeline)?;
                json!(blocking(move || Ok(control.attach(&t.pipeline, attach)?)).await?)
            }
            "DetachScript" => {
                let t: ScriptTarget = data_of(data)?;
                crate::pipelines::owned(&app, &caller, &t.pipeline)?;
                blocking(move || Ok(control.detach(&t.pipeline, &t.script)?)).await?;
                json!({})
            }
            other => {
                return Err(ApiError::bad(
                    "type",
                    format!("unknown request type `{other}`; use {REQUESTS}"),
                ));
            }
        };
        Ok(value)
    }
}

/// Parses a message's fields strictly, naming the one that is wrong.
fn strict<T: serde::de::DeserializeOwned>(message: Value) -> Result<T, Value> {
    crate::error::parse_value(message, "message")
        .map_err(|e| refusal(e.field.as_deref().unwrap_or("message"), &e.message))
}

/// A request's `data`, parsed strictly; refusals name `data.FIELD`.
fn data_of<T: serde::de::DeserializeOwned>(data: Value) -> Result<T, ApiError> {
    crate::error::parse_value(data, "data").map_err(|mut e| {
        e.field = match e.field.as_deref() {
            None | Some("data") => Some("data".into()),
            Some(field) => Some(format!("data.{field}")),
        };
        e
    })
}

fn categories(names: &[String]) -> Result<HashSet<Category>, Value> {
    names
        .iter()
        .enumerate()
        .map(|(i, name)| {
            Category::parse(name).ok_or_else(|| {
                refusal(
                    &format!("subscriptions[{i}]"),
                    &format!(
                        "`{name}` is not a category; use {}",
                        Category::ALL.map(Category::as_str).join(", ")
                    ),
                )
            })
        })
        .collect()
}
