//! `/v1/ingest`: clips from any video model, uploaded into the folder
//! `slate ingest` watches (the server's inbox), so they go through the
//! same checks, library and signing as clips dropped there by hand.
//!
//! - `PUT /clips/{name}?shot=&prompt=&model=`, the clip as the body:
//!   streamed to `.NAME.partial`, moved to NAME, then the sidecar
//!   (`a.json` for `a.mp4`) written the same way — last, which is how the
//!   watcher knows the clip is whole. 201 `{clip, sidecar}`.
//! - `GET /clips`: the clips in the inbox with their sidecars.
//!
//! A name is a plain file name with a media extension; one already there
//! is 409 (uploads never overwrite); a body over the limit is 413 and
//! leaves nothing behind.
//!
//! An upload belongs to the account that sent it and counts to its
//! `uploads` (a day) and `stored_bytes` quotas. Bytes are charged before
//! they are written, a step at a time, so uploads racing past the quota
//! together never store more than it allows; a refused or broken upload
//! hands back its charges.

use std::path::{Path as FsPath, PathBuf};
use std::sync::Arc;

use axum::Extension;
use axum::body::Body;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use http_body_util::BodyExt;
use serde::{Deserialize, Serialize};
use slate_access::{Access, Caller, Charge, Quota, Scope};
use slate_ingest::{Clip, MEDIA, Sidecar};
use tokio::io::AsyncWriteExt;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::parse_query;
use crate::{ApiError, App, Reply, blocking, reply};

/// What `owners` calls an upload.
const UPLOAD: &str = "upload";

/// Stored bytes are charged this far ahead of what has arrived.
const CHARGE_STEP: i64 = 1 << 20;

/// Where uploads go, and how big one may be.
#[derive(Debug, Clone)]
pub struct Inbox {
    pub folder: PathBuf,
    pub max_bytes: u64,
}

pub(crate) fn routes() -> OpenApiRouter<App> {
    OpenApiRouter::new().routes(routes!(clips)).routes(routes!(upload))
}

fn inbox(app: &App) -> Result<&Inbox, ApiError> {
    app.inbox.as_deref().ok_or_else(|| {
        ApiError::not_found(
            "path",
            "this server takes no uploads; start it with --ingest-dir FOLDER (the folder `slate ingest` watches)",
        )
    })
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct Query {
    /// The storyboard shot the clip is a take of.
    #[param(min_length = 1, max_length = 200, pattern = "\\S")]
    shot: String,
    #[serde(default)]
    #[param(max_length = 4000)]
    prompt: String,
    /// The model that made it.
    #[param(min_length = 1, max_length = 200, pattern = "\\S")]
    model: String,
}

/// A clip in the inbox, with its sidecar.
#[derive(Serialize, ToSchema)]
struct Uploaded {
    clip: String,
    sidecar: Sidecar,
}

#[derive(Serialize, ToSchema)]
struct ClipList {
    clips: Vec<Uploaded>,
}

/// Uploads a clip into the inbox `slate ingest` watches; it is the
/// caller's and counts to its `uploads` and `stored_bytes` quotas.
#[utoipa::path(put, path = "/v1/ingest/clips/{name}", tag = "ingest",
    params(("name" = String, Path, description = "up to 100 letters, digits, . - _ then a media extension",
        pattern = "^[A-Za-z0-9_-][A-Za-z0-9._-]{0,99}\\.(mp4|mov|mkv|webm|m4v)$"), Query),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 201, body = Uploaded)))]
async fn upload(
    State(app): State<App>,
    Extension(caller): Extension<Caller>,
    name: Result<Path<String>, PathRejection>,
    RawQuery(query): RawQuery,
    body: Body,
) -> Reply {
    let inbox = inbox(&app)?;
    let Path(name) = name.map_err(|e| ApiError::bad("name", format!("the clip's name does not read: {e}")))?;
    check_name(&name)?;
    let query: Query = parse_query(query.as_deref(), "?shot=&prompt=&model=")?;
    let sidecar = Sidecar {
        shot: query.shot,
        prompt: query.prompt,
        model: query.model,
    };
    if let Some((field, why)) = sidecar.problem() {
        return Err(ApiError::bad(field, format!("{field} {why}")));
    }
    let clip = inbox.folder.join(&name);
    let sidecar_path = clip.with_extension("json");
    if clip.exists() || sidecar_path.exists() {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            Some("name"),
            format!("{name} is already in the inbox; upload under another name"),
        ));
    }
    let partial = inbox.folder.join(format!(".{name}.partial"));
    let mut meter = Meter::start(app.access.clone(), caller.account.clone()).await?;
    let received = receive(body, &partial, inbox.max_bytes, &mut meter).await;
    let refused = match received {
        Ok(0) => Some(ApiError::bad("body", "the body is empty; send the clip's bytes")),
        Ok(_) => None,
        Err(e) => Some(e),
    };
    if let Some(e) = refused {
        meter.refund_all().await;
        // A conflict is someone else's upload of this name: theirs to finish.
        if e.status != StatusCode::CONFLICT {
            let _ = tokio::fs::remove_file(&partial).await;
        }
        return Err(e);
    }
    meter.settle().await?;
    let internal = |e: std::io::Error| ApiError::internal(format!("{}: {e}", inbox.folder.display()));
    tokio::fs::rename(&partial, &clip).await.map_err(internal)?;
    let text = serde_json::to_vec(&sidecar).expect("a sidecar is JSON");
    let sidecar_partial = inbox.folder.join(format!(".{name}.json.partial"));
    tokio::fs::write(&sidecar_partial, text).await.map_err(internal)?;
    tokio::fs::rename(&sidecar_partial, &sidecar_path)
        .await
        .map_err(internal)?;
    let (access, owner, clip_name) = (app.access.clone(), caller.account.clone(), name.clone());
    blocking(move || Ok(access.own(UPLOAD, &clip_name, &owner)?)).await?;
    tracing::info!(clip = %clip.display(), shot = sidecar.shot, model = sidecar.model, "clip uploaded");
    reply(StatusCode::CREATED, Uploaded { clip: name, sidecar })
}

/// A plain file name with a media extension.
/// A stem of 1 to 100 of letters, digits, `.`, `-` and `_` (not starting
/// with `.`), then `.` and a media extension: what [`NAME_PATTERN`] says.
fn check_name(name: &str) -> Result<(), ApiError> {
    let (stem, extension) = name.rsplit_once('.').unwrap_or((name, ""));
    let plain = (1..=100).contains(&stem.len())
        && !stem.starts_with('.')
        && stem
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'));
    if plain && MEDIA.contains(&extension) {
        Ok(())
    } else {
        Err(ApiError::bad(
            "name",
            format!(
                "`{name}` is not a clip name: up to 100 letters, digits, . - _ (not starting with .) then .{}",
                MEDIA.join(", .")
            ),
        ))
    }
}

/// An upload's charges: one of the day's uploads, and its bytes as they come.
struct Meter {
    access: Arc<Access>,
    account: String,
    charges: Vec<Charge>,
    /// Bytes charged so far, and bytes written.
    charged: i64,
    written: i64,
}

impl Meter {
    async fn start(access: Arc<Access>, account: String) -> Result<Meter, ApiError> {
        let mut meter = Meter {
            access,
            account,
            charges: Vec::new(),
            charged: 0,
            written: 0,
        };
        meter.charge(Quota::Uploads, 1).await?;
        Ok(meter)
    }

    async fn charge(&mut self, quota: Quota, amount: i64) -> Result<(), ApiError> {
        let (access, account) = (self.access.clone(), self.account.clone());
        let charge = blocking(move || Ok(access.charge(&account, quota, amount)?)).await?;
        self.charges.push(charge);
        Ok(())
    }

    /// Charges for `bytes` more before they are written: a step ahead, or
    /// exactly what they need when a step would pass the quota.
    async fn take(&mut self, bytes: usize) -> Result<(), ApiError> {
        self.written += bytes as i64;
        let short = self.written - self.charged;
        if short <= 0 {
            return Ok(());
        }
        if self.charge(Quota::StoredBytes, short.max(CHARGE_STEP)).await.is_ok() {
            self.charged += short.max(CHARGE_STEP);
            return Ok(());
        }
        self.charge(Quota::StoredBytes, short).await?;
        self.charged += short;
        Ok(())
    }

    /// Hands back what was charged ahead and not written.
    async fn settle(&mut self) -> Result<(), ApiError> {
        let over = self.charged - self.written;
        if over > 0 {
            let (access, account) = (self.access.clone(), self.account.clone());
            let charge = Charge {
                quota: Quota::StoredBytes,
                period: Quota::StoredBytes.period(slate_access::now()),
                amount: over,
            };
            blocking(move || Ok(access.refund(&account, charge)?)).await?;
        }
        Ok(())
    }

    async fn refund_all(&mut self) {
        let (access, account, charges) = (
            self.access.clone(),
            self.account.clone(),
            std::mem::take(&mut self.charges),
        );
        let refunded = blocking(move || {
            for charge in charges {
                access.refund(&account, charge)?;
            }
            Ok(())
        })
        .await;
        if let Err(e) = refunded {
            tracing::error!("could not hand back an upload's quota: {}", e.message);
        }
    }
}

/// Streams `body` into `path`, each chunk charged to `meter` first; the
/// bytes written.
async fn receive(body: Body, path: &FsPath, limit: u64, meter: &mut Meter) -> Result<u64, ApiError> {
    let internal = |e: std::io::Error| ApiError::internal(format!("{}: {e}", path.display()));
    // create_new: two uploads of one name at once cannot share the file.
    let mut file = match tokio::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .await
    {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                Some("name"),
                "this name is being uploaded right now",
            ));
        }
        Err(e) => return Err(internal(e)),
    };
    let mut body = body;
    let mut written = 0u64;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| ApiError::bad("body", format!("the upload broke off: {e}")))?;
        let Ok(data) = frame.into_data() else {
            continue;
        };
        written += data.len() as u64;
        if written > limit {
            return Err(ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                Some("body"),
                format!("a clip may be at most {limit} bytes"),
            ));
        }
        meter.take(data.len()).await?;
        file.write_all(&data).await.map_err(internal)?;
    }
    file.sync_all().await.map_err(internal)?;
    Ok(written)
}

/// The caller's clips in the inbox (an admin's: all of them).
#[utoipa::path(get, path = "/v1/ingest/clips", tag = "ingest", responses((status = 200, body = ClipList)))]
async fn clips(State(app): State<App>, Extension(caller): Extension<Caller>) -> Reply {
    let folder = inbox(&app)?.folder.clone();
    let access = app.access.clone();
    let mine = match caller.can(Scope::Admin) {
        true => None,
        false => Some(blocking(move || Ok(access.owned(UPLOAD, &caller.account)?)).await?),
    };
    let listed = tokio::task::spawn_blocking(move || -> std::io::Result<Vec<Uploaded>> {
        let mut found = Vec::new();
        for entry in std::fs::read_dir(&folder)? {
            let path = entry?.path();
            if path.extension().is_some_and(|e| e == "json")
                && let Ok(Some(clip)) = Clip::of_sidecar(&path)
                && let Some(name) = clip.path.file_name().map(|n| n.to_string_lossy().into_owned())
                && mine.as_ref().is_none_or(|mine| mine.contains(&name))
            {
                found.push(Uploaded {
                    clip: name,
                    sidecar: clip.sidecar,
                });
            }
        }
        found.sort_by(|a, b| a.clip.cmp(&b.clip));
        Ok(found)
    })
    .await
    .map_err(|e| ApiError::internal(format!("listing the inbox failed: {e}")))?
    .map_err(|e| ApiError::internal(format!("listing the inbox: {e}")))?;
    reply(StatusCode::OK, ClipList { clips: listed })
}
