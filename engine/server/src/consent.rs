//! `/v1/consent`: the identity-rights registry.
//!
//! - `GET  /identities`, `POST /identities` `{name, public_key, embeddings: [{source, vector}], photos: [{source, base64}]}`
//!   (reference faces as embeddings, or as photos the server embeds as `consentgate` does),
//!   or the same as `multipart/form-data`: `name`, `public_key` and one `photo` file per face
//! - `GET  /identities/{id}`, `GET /identities/{id}/grants`
//! - `POST /grants`, `POST /revocations`: `{body, signature}` as the person signed them
//! - `POST /check` `{identity, grantee, channel, use, context?, at?, media?, frames?}`
//! - `GET  /audit?last=N`
//!
//! An identity belongs to the account that registered it: only that
//! account (or an admin) sees it, its grants and its audit entries, and
//! posts its grants and revocations. Checks may name anyone's.

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, FromRequest, Multipart, Path, RawQuery, State};
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::Value;
use slate_access::{Access, Caller, Scope};
use slate_consent::{
    AuditEntry, Context, Grant, GrantRecord, IdentitySummary, Registry, Request, Revocation, Signed, Verdict,
    hex_decode,
};
use utoipa::ToSchema;
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouterExt};
use utoipa_axum::routes;

use crate::accounts::Last;
use crate::error::parse;
use crate::{ApiError, App, Reply, blocking, reply};

/// The most a registration may send (photos included).
const MAX_REGISTRATION: usize = 16 << 20;

/// What `owners` calls an identity.
const IDENTITY: &str = "identity";

pub(crate) fn routes() -> OpenApiRouter<App> {
    OpenApiRouter::new()
        .routes(routes!(identities, register).layer(DefaultBodyLimit::max(MAX_REGISTRATION)))
        .routes(routes!(identity))
        .routes(routes!(grants))
        .routes(routes!(grant))
        .routes(routes!(revoke))
        .routes(routes!(check))
        .routes(routes!(audit))
}

/// Runs `work` on the registry off the async threads (its calls block).
async fn with_registry<T: serde::Serialize + Send + 'static>(
    app: &App,
    status: StatusCode,
    work: impl FnOnce(&Registry) -> Result<T, ApiError> + Send + 'static,
) -> Reply {
    let registry = app.registry.clone();
    reply(status, blocking(move || work(&registry)).await?)
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct NewIdentity {
    #[schema(min_length = 1, max_length = 200)]
    name: String,
    /// Ed25519 public key, 64 hex digits.
    #[schema(pattern = "^[0-9a-fA-F]{64}$")]
    public_key: String,
    /// Reference face embeddings, one per photo (made by the face models,
    /// e.g. `onnxinfer model=face-embed roi=face`).
    #[serde(default)]
    embeddings: Vec<Embedding>,
    /// Photos of the person, one face each, embedded here.
    #[serde(default)]
    photos: Vec<PhotoUpload>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct PhotoUpload {
    source: String,
    /// The JPEG, PNG or PNM file, base64 (standard alphabet, padded).
    #[schema(content_encoding = "base64")]
    base64: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct Embedding {
    source: String,
    #[schema(min_items = 1)]
    vector: Vec<f32>,
}

/// A registration as a form: one `photo` file per reference face.
#[derive(ToSchema)]
#[allow(dead_code)] // Read field by field from the form.
struct RegistrationForm {
    name: String,
    /// Ed25519 public key, 64 hex digits.
    public_key: String,
    #[schema(value_type = Vec<String>, format = Binary)]
    photo: Vec<Vec<u8>>,
}

/// Registers a person with reference faces: embeddings, or photos embedded
/// here as `consentgate` embeds frames. The identity is the caller's.
#[utoipa::path(post, path = "/v1/consent/identities", tag = "consent",
    request_body(content((NewIdentity = "application/json"), (RegistrationForm = "multipart/form-data"))),
    responses((status = 201, body = IdentitySummary), (status = 503, description = "the face models cannot start here", body = crate::error::ErrorBody)))]
async fn register(
    State(app): State<App>,
    Extension(caller): Extension<Caller>,
    request: axum::extract::Request,
) -> Reply {
    let multipart = request
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/form-data"));
    let (new, photos) = if multipart {
        let form = Multipart::from_request(request, &())
            .await
            .map_err(|e| ApiError::bad("body", format!("not a multipart form: {e}")))?;
        from_form(form).await?
    } else {
        let body = Bytes::from_request(request, &())
            .await
            .map_err(|e| ApiError::new(e.status(), Some("body"), e.body_text()))?;
        let new: NewIdentity = parse(&body)?;
        let photos = decode_photos(&new.photos)?;
        (new, photos)
    };
    let key: [u8; 32] = hex_decode(&new.public_key)
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| {
            ApiError::bad(
                "public_key",
                "not an Ed25519 public key: give its 32 bytes as 64 hex digits",
            )
        })?;
    if new.embeddings.is_empty() && photos.is_empty() {
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
    let faces = app.faces.clone();
    let access = app.access.clone();
    let mut embeddings: Vec<(String, Vec<f32>)> = new.embeddings.into_iter().map(|e| (e.source, e.vector)).collect();
    with_registry(&app, StatusCode::CREATED, move |r| {
        embeddings.extend(faces.embed(&photos)?);
        let id = r.register(&new.name, key, &embeddings)?;
        access.own(IDENTITY, &id, &caller.account)?;
        Ok(r.identity(&id)?.summary())
    })
    .await
}

/// A registration sent as a form: `name`, `public_key`, and `photo` files
/// (each file's name is its source).
async fn from_form(mut form: Multipart) -> Result<(NewIdentity, Vec<(String, Vec<u8>)>), ApiError> {
    let broken =
        |e: axum::extract::multipart::MultipartError| ApiError::bad("body", format!("the form broke off: {e}"));
    let (mut name, mut public_key, mut photos) = (None, None, Vec::new());
    while let Some(field) = form.next_field().await.map_err(broken)? {
        let label = field.name().unwrap_or_default().to_owned();
        match label.as_str() {
            "name" => name = Some(field.text().await.map_err(broken)?),
            "public_key" => public_key = Some(field.text().await.map_err(broken)?),
            "photo" => {
                let source = field
                    .file_name()
                    .map(str::to_owned)
                    .unwrap_or_else(|| format!("photo {}", photos.len() + 1));
                photos.push((source, field.bytes().await.map_err(broken)?.to_vec()));
            }
            other => {
                return Err(ApiError::bad(
                    other,
                    "not a field of a registration; send name, public_key and photo files",
                ));
            }
        }
    }
    let new = NewIdentity {
        name: name.ok_or_else(|| ApiError::bad("name", "missing; give the person's display name"))?,
        public_key: public_key.ok_or_else(|| ApiError::bad("public_key", "missing"))?,
        embeddings: Vec::new(),
        photos: Vec::new(),
    };
    Ok((new, photos))
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

/// The identities the caller may see: its own, or all for an admin.
fn visible(access: &Access, caller: &Caller) -> Result<Option<std::collections::HashSet<String>>, ApiError> {
    if caller.can(Scope::Admin) {
        return Ok(None);
    }
    Ok(Some(access.owned(IDENTITY, &caller.account)?.into_iter().collect()))
}

/// The caller's identities (an admin's: everyone's).
#[utoipa::path(get, path = "/v1/consent/identities", tag = "consent", responses((status = 200, body = Vec<IdentitySummary>)))]
async fn identities(State(app): State<App>, Extension(caller): Extension<Caller>) -> Reply {
    let access = app.access.clone();
    with_registry(&app, StatusCode::OK, move |r| {
        let visible = visible(&access, &caller)?;
        Ok(r.identities()?
            .iter()
            .filter(|i| visible.as_ref().is_none_or(|v| v.contains(&i.id)))
            .map(|i| i.summary())
            .collect::<Vec<_>>())
    })
    .await
}

/// One of the caller's identities.
#[utoipa::path(get, path = "/v1/consent/identities/{id}", tag = "consent", params(("id" = String, Path)),
    responses((status = 200, body = IdentitySummary)))]
async fn identity(State(app): State<App>, Extension(caller): Extension<Caller>, Path(id): Path<String>) -> Reply {
    let access = app.access.clone();
    with_registry(&app, StatusCode::OK, move |r| {
        let identity = r.identity(&id)?;
        access.require_owner(&caller, IDENTITY, &id)?;
        Ok(identity.summary())
    })
    .await
}

/// The grants of one of the caller's identities, each with when it was revoked.
#[utoipa::path(get, path = "/v1/consent/identities/{id}/grants", tag = "consent", params(("id" = String, Path)),
    responses((status = 200, body = Vec<GrantRecord>)))]
async fn grants(State(app): State<App>, Extension(caller): Extension<Caller>, Path(id): Path<String>) -> Reply {
    let access = app.access.clone();
    with_registry(&app, StatusCode::OK, move |r| {
        let grants = r.grants(&id)?;
        access.require_owner(&caller, IDENTITY, &id)?;
        Ok(grants)
    })
    .await
}

/// A record as its person signed it.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct SignedBody {
    /// The exact JSON text that was signed.
    body: String,
    /// Ed25519 signature of `body`, 128 hex digits.
    #[schema(pattern = "^[0-9a-fA-F]{128}$")]
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

/// Refuses a signed record about an identity the caller does not own (a
/// body that does not read is left to the registry to refuse).
fn require_signer(access: &Access, caller: &Caller, signed: &Signed) -> Result<(), ApiError> {
    let identity = serde_json::from_str::<Value>(&signed.body)
        .ok()
        .and_then(|body| body.get(IDENTITY)?.as_str().map(str::to_owned));
    match identity {
        Some(identity) => Ok(access.require_owner(caller, IDENTITY, &identity)?),
        None => Ok(()),
    }
}

/// Adds a grant its person signed (for an identity of the caller's).
#[utoipa::path(post, path = "/v1/consent/grants", tag = "consent", request_body = SignedBody,
    responses((status = 201, body = Grant)))]
async fn grant(State(app): State<App>, Extension(caller): Extension<Caller>, body: Bytes) -> Reply {
    let signed: Signed = parse::<SignedBody>(&body)?.into();
    let access = app.access.clone();
    with_registry(&app, StatusCode::CREATED, move |r| {
        require_signer(&access, &caller, &signed)?;
        Ok(r.add_grant(&signed)?)
    })
    .await
}

/// Adds a revocation its person signed (for an identity of the caller's).
#[utoipa::path(post, path = "/v1/consent/revocations", tag = "consent", request_body = SignedBody,
    responses((status = 201, body = Revocation)))]
async fn revoke(State(app): State<App>, Extension(caller): Extension<Caller>, body: Bytes) -> Reply {
    let signed: Signed = parse::<SignedBody>(&body)?.into();
    let access = app.access.clone();
    with_registry(&app, StatusCode::CREATED, move |r| {
        require_signer(&access, &caller, &signed)?;
        Ok(r.revoke(&signed)?)
    })
    .await
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct CheckBody {
    identity: String,
    #[schema(pattern = "\\S")]
    grantee: String,
    #[schema(pattern = "\\S")]
    channel: String,
    #[serde(rename = "use")]
    #[schema(pattern = "\\S")]
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

/// May this person be shown here, now, like this? The answer goes into the audit log.
#[utoipa::path(post, path = "/v1/consent/check", tag = "consent", request_body = CheckBody,
    responses((status = 200, body = Verdict)))]
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

/// The last `last` entries of the audit log; for all but admins, those
/// among them about the caller's identities.
#[utoipa::path(get, path = "/v1/consent/audit", tag = "consent", params(Last),
    responses((status = 200, body = Vec<AuditEntry>)))]
async fn audit(State(app): State<App>, Extension(caller): Extension<Caller>, RawQuery(query): RawQuery) -> Reply {
    let last = Last::read(query.as_deref())?;
    let access = app.access.clone();
    with_registry(&app, StatusCode::OK, move |r| {
        let visible = visible(&access, &caller)?;
        let mut entries = r.audit(last)?;
        if let Some(visible) = visible {
            entries.retain(|e| e.identity.as_ref().is_some_and(|i| visible.contains(i)));
        }
        Ok(entries)
    })
    .await
}
