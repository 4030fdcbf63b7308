//! Refusals as JSON: what is wrong, and which field.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use slate_consent::ConsentError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: StatusCode,
    pub field: Option<String>,
    pub message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, field: Option<&str>, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            field: field.map(str::to_owned),
            message: message.into(),
        }
    }

    pub fn bad(field: &str, message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, Some(field), message)
    }

    pub fn not_found(field: &str, message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, Some(field), message)
    }

    pub fn internal(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, None, message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if self.status.is_server_error() {
            tracing::error!("HTTP {}: {}", self.status, self.message);
        }
        let body = serde_json::json!({ "error": self.message, "field": self.field });
        (self.status, axum::Json(body)).into_response()
    }
}

impl From<ConsentError> for ApiError {
    fn from(e: ConsentError) -> Self {
        let message = e.to_string();
        match e {
            ConsentError::Invalid { field, .. } => ApiError::bad(field, message),
            ConsentError::BadSignature { .. } => ApiError::new(StatusCode::FORBIDDEN, Some("signature"), message),
            ConsentError::Revoked { .. } => ApiError::new(StatusCode::CONFLICT, Some("id"), message),
            ConsentError::Duplicate(_) => ApiError::new(StatusCode::CONFLICT, Some("id"), message),
            ConsentError::UnknownIdentity(_) => ApiError::not_found("identity", message),
            ConsentError::UnknownGrant(_) => ApiError::not_found("grant", message),
            ConsentError::Open { .. } | ConsentError::Store(_) | ConsentError::Key { .. } => {
                ApiError::internal(message)
            }
        }
    }
}

/// Parses a JSON body strictly, naming the field that is wrong.
pub fn parse<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut json = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut json).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let message = inner.to_string();
        let field = if path != "." {
            path
        } else if let Some(named) = quoted(&message) {
            named
        } else {
            "body".into()
        };
        ApiError::bad(&field, format!("the body is not valid: {message}"))
    })?;
    json.end()
        .map_err(|e| ApiError::bad("body", format!("the body has more after its JSON: {e}")))?;
    Ok(value)
}

/// Parses a query string strictly, naming the parameter that is wrong;
/// `usage` shows what the query should look like.
pub fn parse_query<T: serde::de::DeserializeOwned>(query: Option<&str>, usage: &str) -> Result<T, ApiError> {
    let pairs = form_urlencoded::parse(query.unwrap_or("").as_bytes());
    serde_path_to_error::deserialize(serde_urlencoded::Deserializer::new(pairs)).map_err(|e| {
        let path = e.path().to_string();
        let message = e.into_inner().to_string();
        let field = if path != "." {
            path
        } else {
            quoted(&message).unwrap_or_else(|| "query".into())
        };
        ApiError::bad(&field, format!("{message} (the query is {usage})"))
    })
}

/// The field serde names in "missing field `x`" or "unknown field `x`".
fn quoted(message: &str) -> Option<String> {
    let start = message.find('`')? + 1;
    let end = start + message[start..].find('`')?;
    Some(message[start..end].to_owned())
}
