//! `/ui`: the operator page, served by the server itself. Its files are
//! built into the binary; the one library it uses (hls.js) is vendored
//! from npm, pinned by version and SHA-256 (`page/vendor/README.md`).

use axum::extract::Path;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::{ApiError, App};

/// Every file of the page: name, media type, contents.
const FILES: &[(&str, &str, &[u8])] = &[
    (
        "index.html",
        "text/html; charset=utf-8",
        include_bytes!("../page/index.html"),
    ),
    (
        "app.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../page/app.js"),
    ),
    (
        "style.css",
        "text/css; charset=utf-8",
        include_bytes!("../page/style.css"),
    ),
    (
        "hls.min.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../page/vendor/hls.min.js"),
    ),
];

pub(crate) fn routes() -> OpenApiRouter<App> {
    OpenApiRouter::new().routes(routes!(page)).routes(routes!(asset))
}

/// The operator page.
#[utoipa::path(get, path = "/ui", tag = "meta",
    responses((status = 200, content_type = "text/html", body = String)))]
async fn page() -> Response {
    file("index.html").into_response()
}

/// A file of the operator page (`app.js`, `style.css`, `hls.min.js`).
#[utoipa::path(get, path = "/ui/{asset}", tag = "meta", params(("asset" = String, Path)),
    responses((status = 200, description = "the file",
        content((String = "text/javascript"), (String = "text/css"), (String = "text/html"))),
        (status = 404, body = crate::error::ErrorBody, description = "the page has no such file")))]
async fn asset(Path(asset): Path<String>) -> Response {
    file(&asset).into_response()
}

fn file(name: &str) -> Result<Response, ApiError> {
    let (_, kind, bytes) = FILES.iter().find(|(n, ..)| *n == name).ok_or_else(|| {
        let names: Vec<&str> = FILES.iter().map(|(n, ..)| *n).collect();
        ApiError::not_found(
            "asset",
            format!("the page has no `{name}`; it has {}", names.join(", ")),
        )
    })?;
    Ok((
        [
            (header::CONTENT_TYPE, *kind),
            (header::CACHE_CONTROL, "no-cache"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        *bytes,
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use sha2::{Digest, Sha256};

    use super::FILES;

    #[test]
    fn the_vendored_library_is_the_pinned_one() {
        let (_, _, bytes) = FILES.iter().find(|(n, ..)| *n == "hls.min.js").unwrap();
        let hash: String = Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            hash, "72b87a6e58db623feca73ab370970c1126ec06eb3dcd0a67fd14b47b6340b820",
            "page/vendor/hls.min.js is not hls.js 1.6.19 as published; run scripts/vendor-js"
        );
    }
}
