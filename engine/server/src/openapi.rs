//! The API's OpenAPI 3.1 document, served at `/v1/openapi.json`: paths,
//! parameters and bodies come from the handlers' annotations (utoipa), so
//! they cannot drift from the router; what every operation needs (its
//! scope, as a bearer security requirement) and the refusals it can give
//! (with the rate-limit headers every response carries) come from the
//! access table ([`crate::guard::ROUTES`]).

use axum::http::Method;
use utoipa::OpenApi;
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::path::Operation;
use utoipa::openapi::response::ResponseBuilder;
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, RefOr};

use crate::guard::{Need, ROUTES};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Slate",
        description = "Slate's HTTP API: invite-only accounts with scoped tokens, the consent registry, \
                       the steerable feed and clip uploads. Send a token as `Authorization: Bearer slt_…`; \
                       every response carries its caller's rate-limit standing."
    ),
    components(schemas(crate::error::ErrorBody))
)]
pub(crate) struct Doc;

/// The refusals every guarded operation can give, and what each means.
const REFUSALS: &[(&str, &str)] = &[
    ("400", "the input is wrong: `field` names where"),
    (
        "401",
        "no token, or one that is unknown, expired, revoked, or of a disabled account",
    ),
    (
        "403",
        "the token lacks a scope, the record is another account's, or a quota is used up",
    ),
    ("404", "no such record"),
    ("409", "the record exists already"),
    ("413", "the body is too large"),
    ("429", "over a rate limit: retry after `Retry-After` seconds"),
];

/// The access table's needs and refusals, added to `doc`.
pub(crate) fn complete(mut doc: utoipa::openapi::OpenApi) -> utoipa::openapi::OpenApi {
    let components = doc.components.get_or_insert_with(Default::default);
    components.add_security_scheme("bearer", SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)));
    for (path, item) in doc.paths.paths.iter_mut() {
        let operations = [
            (Method::GET, &mut item.get),
            (Method::PUT, &mut item.put),
            (Method::POST, &mut item.post),
            (Method::DELETE, &mut item.delete),
        ];
        for (method, operation) in operations {
            let Some(operation) = operation else { continue };
            let route = ROUTES
                .iter()
                .find(|r| r.method == method && r.path == path)
                .unwrap_or_else(|| panic!("{method} {path} is served but not in the access table"));
            complete_operation(operation, route.need);
        }
    }
    doc
}

fn complete_operation(operation: &mut Operation, need: Need) {
    let refusals: Vec<_> = match need {
        // A public route is refused only by its rate limit (and bad input).
        Need::Public => REFUSALS
            .iter()
            .filter(|(code, _)| ["400", "429"].contains(code))
            .collect(),
        Need::Token | Need::Scope(_) => REFUSALS.iter().collect(),
    };
    for (code, why) in refusals {
        let refusal = with_rate_headers(ResponseBuilder::new().description(*why))
            .content(
                "application/json",
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("ErrorBody")))
                    .build(),
            )
            .build();
        operation
            .responses
            .responses
            .entry(code.to_string())
            .or_insert(RefOr::T(refusal));
    }
    for (_, response) in operation.responses.responses.iter_mut() {
        if let RefOr::T(response) = response {
            for (name, header) in rate_headers() {
                response.headers.entry(name.to_owned()).or_insert(header);
            }
        }
    }
    operation.security = match need {
        Need::Public => None,
        Need::Token => Some(vec![SecurityRequirement::new("bearer", Vec::<String>::new())]),
        Need::Scope(scope) => Some(vec![SecurityRequirement::new("bearer", [scope.as_str()])]),
    };
}

fn with_rate_headers(builder: ResponseBuilder) -> ResponseBuilder {
    rate_headers()
        .into_iter()
        .fold(builder, |b, (name, header)| b.header(name, header))
}

/// The headers every response carries (`Retry-After` only on 429).
fn rate_headers() -> Vec<(&'static str, utoipa::openapi::header::Header)> {
    let integer = || ObjectBuilder::new().schema_type(Type::Integer).minimum(Some(0)).build();
    let string = || ObjectBuilder::new().schema_type(Type::String).build();
    let header = |schema: utoipa::openapi::schema::Object, description: &str| {
        HeaderBuilder::new()
            .schema(schema)
            .description(Some(description))
            .build()
    };
    vec![
        (
            "x-ratelimit-limit",
            header(integer(), "requests a minute in this route's class"),
        ),
        (
            "x-ratelimit-remaining",
            header(integer(), "requests that may be sent right now"),
        ),
        (
            "x-ratelimit-reset",
            header(integer(), "seconds until the whole burst is back"),
        ),
        (
            "ratelimit-policy",
            header(string(), "IETF RateLimit-Policy, e.g. `\"read\";q=600;w=60`"),
        ),
        (
            "ratelimit",
            header(string(), "IETF RateLimit, e.g. `\"read\";r=59;t=1`"),
        ),
        (
            "retry-after",
            header(integer(), "on 429: seconds until a request passes"),
        ),
    ]
}
