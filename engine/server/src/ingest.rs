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

use std::path::{Path as FsPath, PathBuf};

use axum::body::Body;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::routing::{get, put};
use axum::{Json, Router};
use http_body_util::BodyExt;
use serde::Deserialize;
use serde_json::{Value, json};
use slate_ingest::{Clip, MEDIA, Sidecar};
use tokio::io::AsyncWriteExt;

use crate::error::parse_query;
use crate::{ApiError, App};

/// Where uploads go, and how big one may be.
#[derive(Debug, Clone)]
pub struct Inbox {
    pub folder: PathBuf,
    pub max_bytes: u64,
}

pub(crate) fn routes() -> Router<App> {
    Router::new()
        .route("/clips", get(clips))
        .route("/clips/{name}", put(upload))
}

type Reply = Result<(StatusCode, Json<Value>), ApiError>;

fn inbox(app: &App) -> Result<&Inbox, ApiError> {
    app.inbox.as_deref().ok_or_else(|| {
        ApiError::not_found(
            "path",
            "this server takes no uploads; start it with --ingest-dir FOLDER (the folder `slate ingest` watches)",
        )
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Query {
    shot: String,
    #[serde(default)]
    prompt: String,
    model: String,
}

async fn upload(
    State(app): State<App>,
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
    match receive(body, &partial, inbox.max_bytes).await {
        Ok(0) => {
            let _ = tokio::fs::remove_file(&partial).await;
            return Err(ApiError::bad("body", "the body is empty; send the clip's bytes"));
        }
        Ok(_) => {}
        // Someone else's upload of this name: theirs to finish.
        Err(e) if e.status == StatusCode::CONFLICT => return Err(e),
        Err(e) => {
            let _ = tokio::fs::remove_file(&partial).await;
            return Err(e);
        }
    }
    let internal = |e: std::io::Error| ApiError::internal(format!("{}: {e}", inbox.folder.display()));
    tokio::fs::rename(&partial, &clip).await.map_err(internal)?;
    let text = serde_json::to_vec(&sidecar).expect("a sidecar is JSON");
    let sidecar_partial = inbox.folder.join(format!(".{name}.json.partial"));
    tokio::fs::write(&sidecar_partial, text).await.map_err(internal)?;
    tokio::fs::rename(&sidecar_partial, &sidecar_path)
        .await
        .map_err(internal)?;
    tracing::info!(clip = %clip.display(), shot = sidecar.shot, model = sidecar.model, "clip uploaded");
    Ok((StatusCode::CREATED, Json(json!({ "clip": name, "sidecar": sidecar }))))
}

/// A plain file name with a media extension.
fn check_name(name: &str) -> Result<(), ApiError> {
    let plain = !name.is_empty()
        && name.len() <= 128
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'));
    let media = FsPath::new(name)
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| MEDIA.contains(&e));
    if plain && media {
        Ok(())
    } else {
        Err(ApiError::bad(
            "name",
            format!(
                "`{name}` is not a clip name: letters, digits, . - _ (up to 128, not starting with .) ending in .{}",
                MEDIA.join(", .")
            ),
        ))
    }
}

/// Streams `body` into `path`; the bytes written.
async fn receive(body: Body, path: &FsPath, limit: u64) -> Result<u64, ApiError> {
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
        file.write_all(&data).await.map_err(internal)?;
    }
    file.sync_all().await.map_err(internal)?;
    Ok(written)
}

async fn clips(State(app): State<App>) -> Reply {
    let folder = inbox(&app)?.folder.clone();
    let listed = tokio::task::spawn_blocking(move || -> std::io::Result<Vec<Value>> {
        let mut found = Vec::new();
        for entry in std::fs::read_dir(&folder)? {
            let path = entry?.path();
            if path.extension().is_some_and(|e| e == "json")
                && let Ok(Some(clip)) = Clip::of_sidecar(&path)
            {
                let name = clip.path.file_name().map(|n| n.to_string_lossy().into_owned());
                found.push(json!({ "clip": name, "sidecar": clip.sidecar }));
            }
        }
        found.sort_by(|a, b| a["clip"].as_str().cmp(&b["clip"].as_str()));
        Ok(found)
    })
    .await
    .map_err(|e| ApiError::internal(format!("listing the inbox failed: {e}")))?
    .map_err(|e| ApiError::internal(format!("listing the inbox: {e}")))?;
    Ok((StatusCode::OK, Json(json!({ "clips": listed }))))
}
