//! Refusals as JSON: what is wrong, and which field.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use slate_access::AccessError;
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

/// Every refusal's body.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// What is wrong and what to do.
    pub error: String,
    /// The field, parameter or header at fault (`signals[3].impression`,
    /// `scope`, `quota.stored_bytes`, `rate`); null when it is no one's input.
    pub field: Option<String>,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if self.status.is_server_error() {
            tracing::error!("HTTP {}: {}", self.status, self.message);
        }
        let body = ErrorBody {
            error: self.message,
            field: self.field,
        };
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
            ConsentError::Database(_) | ConsentError::Store(_) | ConsentError::Key { .. } => {
                ApiError::internal(message)
            }
        }
    }
}

impl From<AccessError> for ApiError {
    fn from(e: AccessError) -> Self {
        let message = e.to_string();
        match e {
            AccessError::Invalid { field, .. } => ApiError::bad(&field, message),
            AccessError::Unauthenticated(_) => ApiError::new(StatusCode::UNAUTHORIZED, Some("authorization"), message),
            AccessError::Forbidden { field, .. } => ApiError::new(StatusCode::FORBIDDEN, Some(&field), message),
            AccessError::Unknown { what, .. } => ApiError::not_found(what, message),
            AccessError::Conflict { what, .. } => ApiError::new(StatusCode::CONFLICT, Some(what), message),
            AccessError::Quota(over) => ApiError::new(
                StatusCode::FORBIDDEN,
                Some(&format!("quota.{}", over.quota.as_str())),
                message,
            ),
            AccessError::Database(_) | AccessError::Store(_) => ApiError::internal(message),
        }
    }
}

/// Parses a JSON body strictly, naming the field that is wrong. A JSON
/// number is a number however it is spelled: `3.0` is the integer 3, as
/// JSON Schema (and so the OpenAPI document) says.
pub fn parse<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let value: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| ApiError::bad("body", format!("the body is not JSON: {e}")))?;
    parse_value(value, "body")
}

/// [`parse`] for JSON already read (a WebSocket message's fields); a
/// refusal of the whole value names `whole`.
pub fn parse_value<T: serde::de::DeserializeOwned>(mut value: serde_json::Value, whole: &str) -> Result<T, ApiError> {
    whole_numbers(&mut value);
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let message = e.into_inner().to_string();
        ApiError::bad(
            &field(path, &message, whole),
            format!("the {whole} is not valid: {message}"),
        )
    })
}

/// Spells whole floats (`3.0`) as integers, wherever they are.
fn whole_numbers(value: &mut serde_json::Value) {
    use serde_json::Value;
    match value {
        Value::Number(n) if n.is_f64() => {
            let x = n.as_f64().unwrap_or(f64::NAN);
            if x.fract() == 0.0 && x.abs() < 9.0e15 {
                *value = Value::from(x as i64);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(whole_numbers),
        Value::Object(fields) => fields.values_mut().for_each(whole_numbers),
        _ => {}
    }
}

/// Parses a query string strictly, naming the parameter that is wrong;
/// `usage` shows what the query should look like.
pub fn parse_query<T: serde::de::DeserializeOwned>(query: Option<&str>, usage: &str) -> Result<T, ApiError> {
    let pairs = form_urlencoded::parse(query.unwrap_or("").as_bytes());
    serde_path_to_error::deserialize(serde_urlencoded::Deserializer::new(pairs)).map_err(|e| {
        let path = e.path().to_string();
        let message = e.into_inner().to_string();
        ApiError::bad(
            &field(path, &message, "query"),
            format!("{message} (the query is {usage})"),
        )
    })
}

/// The field to name for a refusal: where serde stopped (`path`, unless
/// it is the root or a key it could not read), else the one its message
/// names ("missing field `x`", "unknown field `x`"), else `whole`; never
/// empty (a key may be, as in `?=`).
fn field(path: String, message: &str, whole: &str) -> String {
    let quoted = || {
        let start = message.find('`')? + 1;
        let end = start + message[start..].find('`')?;
        Some(message[start..end].to_owned())
    };
    [Some(path).filter(|p| p != "." && p != "?"), quoted()]
        .into_iter()
        .flatten()
        .find(|f| !f.is_empty())
        .unwrap_or_else(|| whole.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusal_always_names_a_field() {
        #[derive(Debug, serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        #[allow(dead_code)]
        struct Query {
            user: String,
            #[serde(default)]
            n: usize,
        }
        let named = |query: &str| parse_query::<Query>(Some(query), "?user=").unwrap_err().field;
        assert_eq!(named("user=a&n=x").as_deref(), Some("n"));
        assert_eq!(named("n=3").as_deref(), Some("user"));
        assert_eq!(named("user=a&colour=red").as_deref(), Some("colour"));
        assert_eq!(named("=").as_deref(), Some("query"));
        assert_eq!(named("user=a&=1").as_deref(), Some("query"));
        let body = |json: &str| parse::<Query>(json.as_bytes()).unwrap_err().field;
        assert_eq!(body(r#"{"user": "a", "": 1}"#).as_deref(), Some("body"));
        assert_eq!(body(r#"{"user": 3}"#).as_deref(), Some("user"));
        assert_eq!(body("{").as_deref(), Some("body"));
    }
}
