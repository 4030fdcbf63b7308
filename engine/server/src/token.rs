//! The bearer token: only its SHA-256 is kept, compared in constant time.

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use sha2::{Digest, Sha256};

use crate::{ApiError, App};

pub struct Token([u8; 32]);

impl Token {
    pub fn new(secret: &str) -> Token {
        Token(Sha256::digest(secret.trim().as_bytes()).into())
    }

    /// Writes a new random secret (32 bytes, hex) to `path`, readable by
    /// its owner only; never overwrites.
    pub fn write_new(path: &std::path::Path) -> std::io::Result<()> {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let mut bytes = [0u8; 32];
        getrandom::getrandom(&mut bytes).map_err(std::io::Error::other)?;
        let secret = slate_consent::hex(&bytes);
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)?;
        writeln!(file, "{secret}")
    }

    pub fn matches(&self, given: &str) -> bool {
        let given: [u8; 32] = Sha256::digest(given.as_bytes()).into();
        given.iter().zip(&self.0).fold(0u8, |d, (a, b)| d | (a ^ b)) == 0
    }
}

pub(crate) async fn require(State(app): State<App>, request: Request, next: Next) -> Result<Response, ApiError> {
    let header = request.headers().get(axum::http::header::AUTHORIZATION);
    let given = header
        .and_then(|h| h.to_str().ok())
        .and_then(|h| h.strip_prefix("Bearer "))
        .ok_or_else(|| {
            ApiError::new(
                axum::http::StatusCode::UNAUTHORIZED,
                Some("authorization"),
                "send the API token as `Authorization: Bearer <token>`",
            )
        })?;
    if !app.token.matches(given.trim()) {
        return Err(ApiError::new(
            axum::http::StatusCode::UNAUTHORIZED,
            Some("authorization"),
            "the API token is not valid",
        ));
    }
    Ok(next.run(request).await)
}
