//! `/v1/consent`: the identity-rights registry.
//!
//! - `GET  /identities`, `POST /identities` `{name, public_key, embeddings: [{source, vector}], photos: [{source, base64}]}`
//!   (reference faces as embeddings, or as photos the server embeds as `consentgate` does)
//! - `GET  /identities/{id}`, `GET /identities/{id}/grants`
//! - `POST /grants`, `POST /revocations`: `{body, signature}` as the person signed them
//! - `POST /check` `{identity, grantee, channel, use, context?, at?, media?, frames?}`
//! - `GET  /audit?last=N`

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::Value;
use slate_consent::{Context, Registry, Request, Signed, hex_decode};

use crate::error::parse;
use crate::{ApiError, App};

pub(crate) fn routes() -> Router<App> {
    Router::new()
        .route("/identities", get(identities).post(register))
        .route("/identities/{id}", get(identity))
        .route("/identities/{id}/grants", get(grants))
        .route("/grants", post(grant))
        .route("/revocations", post(revoke))
        .route("/check", post(check))
        .route("/audit", get(audit))
}

type Reply = Result<(StatusCode, Json<Value>), ApiError>;

/// Runs `work` on the registry off the async threads (its calls block).
async fn with_registry<T: serde::Serialize + Send + 'static>(
    app: &App,
    status: StatusCode,
    work: impl FnOnce(&Registry) -> Result<T, ApiError> + Send + 'static,
) -> Reply {
    let registry = app.registry.clone();
    let value = tokio::task::spawn_blocking(move || work(&registry))
        .await
        .map_err(|e| ApiError::internal(format!("the registry task failed: {e}")))??;
    let value = serde_json::to_value(value).map_err(|e| ApiError::internal(e.to_string()))?;
    Ok((status, Json(value)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewIdentity {
    name: String,
    /// Ed25519 public key, 64 hex digits.
    public_key: String,
    /// Reference face embeddings, one per photo (made by the face models,
    /// e.g. `onnxinfer model=face-embed roi=face`).
    #[serde(default)]
    embeddings: Vec<Embedding>,
    /// Photos of the person, one face each, embedded here.
    #[serde(default)]
    photos: Vec<PhotoUpload>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PhotoUpload {
    source: String,
    /// The JPEG, PNG or PNM file, base64 (standard alphabet, padded).
    base64: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Embedding {
    source: String,
    vector: Vec<f32>,
}

async fn register(State(app): State<App>, body: Bytes) -> Reply {
    let new: NewIdentity = parse(&body)?;
    let key: [u8; 32] = hex_decode(&new.public_key)
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| {
            ApiError::bad(
                "public_key",
                "not an Ed25519 public key: give its 32 bytes as 64 hex digits",
            )
        })?;
    if new.embeddings.is_empty() && new.photos.is_empty() {
        return Err(ApiError::bad(
            "embeddings",
            "give at least one reference face: an embedding, or a photo in `photos`",
        ));
    }
    let width = new.embeddings.first().map(|e| e.vector.len());
    if let Some(i) = new.embeddings.iter().position(|e| Some(e.vector.len()) != width) {
        return Err(ApiError::bad(
            &format!("embeddings[{i}].vector"),
            format!(
                "has {} values where the first has {}",
                new.embeddings[i].vector.len(),
                width.unwrap_or_default()
            ),
        ));
    }
    let photos = decode_photos(&new.photos)?;
    let faces = app.faces.clone();
    let mut embeddings: Vec<(String, Vec<f32>)> = new.embeddings.into_iter().map(|e| (e.source, e.vector)).collect();
    with_registry(&app, StatusCode::CREATED, move |r| {
        embeddings.extend(faces.embed(&photos)?);
        let id = r.register(&new.name, key, &embeddings)?;
        Ok(r.identity(&id)?.summary())
    })
    .await
}

/// The uploads' bytes, each with its source.
fn decode_photos(photos: &[PhotoUpload]) -> Result<Vec<(String, Vec<u8>)>, ApiError> {
    use base64::Engine as _;
    photos
        .iter()
        .enumerate()
        .map(|(i, photo)| {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(photo.base64.trim())
                .map_err(|e| ApiError::bad(&format!("photos[{i}].base64"), format!("not base64: {e}")))?;
            Ok((photo.source.clone(), bytes))
        })
        .collect()
}

async fn identities(State(app): State<App>) -> Reply {
    with_registry(&app, StatusCode::OK, |r| {
        Ok(r.identities()?.iter().map(|i| i.summary()).collect::<Vec<_>>())
    })
    .await
}

async fn identity(State(app): State<App>, Path(id): Path<String>) -> Reply {
    with_registry(&app, StatusCode::OK, move |r| Ok(r.identity(&id)?.summary())).await
}

async fn grants(State(app): State<App>, Path(id): Path<String>) -> Reply {
    with_registry(&app, StatusCode::OK, move |r| Ok(r.grants(&id)?)).await
}

/// A record as its person signed it.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SignedBody {
    /// The exact JSON text that was signed.
    body: String,
    /// Ed25519 signature of `body`, 128 hex digits.
    signature: String,
}

impl From<SignedBody> for Signed {
    fn from(s: SignedBody) -> Signed {
        Signed {
            body: s.body,
            signature: s.signature,
        }
    }
}

async fn grant(State(app): State<App>, body: Bytes) -> Reply {
    let signed: Signed = parse::<SignedBody>(&body)?.into();
    with_registry(&app, StatusCode::CREATED, move |r| Ok(r.add_grant(&signed)?)).await
}

async fn revoke(State(app): State<App>, body: Bytes) -> Reply {
    let signed: Signed = parse::<SignedBody>(&body)?.into();
    with_registry(&app, StatusCode::CREATED, move |r| Ok(r.revoke(&signed)?)).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CheckBody {
    identity: String,
    grantee: String,
    channel: String,
    #[serde(rename = "use")]
    use_: String,
    #[serde(default)]
    context: Vec<String>,
    /// Seconds since the epoch; now when absent.
    at: Option<i64>,
    /// For the audit log: what media, which frames.
    #[serde(default)]
    media: String,
    #[serde(default)]
    frames: String,
}

async fn check(State(app): State<App>, body: Bytes) -> Reply {
    let b: CheckBody = parse(&body)?;
    for (field, value) in [("grantee", &b.grantee), ("channel", &b.channel), ("use", &b.use_)] {
        if value.trim().is_empty() {
            return Err(ApiError::bad(field, "empty"));
        }
    }
    with_registry(&app, StatusCode::OK, move |r| {
        let request = Request {
            identity: b.identity,
            grantee: b.grantee,
            channel: b.channel,
            use_: b.use_,
            context: b.context,
            at: b.at.unwrap_or_else(slate_consent::now),
        };
        let context = Context {
            checker: "http",
            media: &b.media,
            frames: &b.frames,
        };
        Ok(r.check(&request, &context)?)
    })
    .await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AuditQuery {
    last: Option<i64>,
}

async fn audit(
    State(app): State<App>,
    query: Result<Query<AuditQuery>, axum::extract::rejection::QueryRejection>,
) -> Reply {
    let Query(query) = query.map_err(|e| ApiError::bad("last", format!("{e}; use ?last=N")))?;
    let last = query.last.unwrap_or(100);
    if !(1..=10_000).contains(&last) {
        return Err(ApiError::bad("last", format!("{last}; ask for 1 to 10000 entries")));
    }
    with_registry(&app, StatusCode::OK, move |r| Ok(r.audit(last)?)).await
}
