//! Invite-only access over HTTP: sign-up races, the scope matrix over
//! every route, tokens and accounts that stop at once, everything bound to
//! its caller, and quotas that hold under racing uploads.

mod support;

use axum::body::Body;
use axum::http::{Method, StatusCode};
use serde_json::{Value, json};
use slate_access::Scope;
use slate_server::guard::{Need, ROUTES};
use support::Api;

impl Api {
    fn as_(&self, token: &str, method: Method, uri: &str, body: &Value) -> (StatusCode, Value) {
        self.send(method, uri, Some(token), body.to_string())
    }

    /// Sends `requests` at once on the server's runtime; the replies in order.
    fn race(&self, requests: Vec<(Method, String, Option<String>, Body)>) -> Vec<(StatusCode, Value)> {
        use tower::ServiceExt;
        self.runtime.block_on(async {
            let mut tasks = Vec::new();
            for (method, uri, token, body) in requests {
                let app = self.app.clone();
                tasks.push(tokio::spawn(async move {
                    let mut request = axum::http::Request::builder().method(method).uri(uri);
                    if let Some(token) = token {
                        request = request.header("authorization", format!("Bearer {token}"));
                    }
                    let response = app.oneshot(request.body(body).unwrap()).await.unwrap();
                    let status = response.status();
                    let bytes = http_body_util::BodyExt::collect(response.into_body())
                        .await
                        .unwrap()
                        .to_bytes();
                    (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
                }));
            }
            let mut replies = Vec::new();
            for task in tasks {
                replies.push(task.await.unwrap());
            }
            replies
        })
    }
}

#[test]
fn an_invite_of_three_admits_exactly_three_of_twenty_racing() {
    let api = Api::new(None, false);
    let (status, invite) = api.post("/v1/admin/invites", &json!({ "uses": 3 }));
    assert_eq!(status, StatusCode::CREATED, "{invite}");
    let code = invite["code"].as_str().unwrap();
    assert!(code.starts_with("inv_"));
    let requests = (0..20)
        .map(|i| {
            let body = json!({ "invite": code, "name": format!("racer {i}") }).to_string();
            (Method::POST, "/v1/accounts".to_owned(), None, Body::from(body))
        })
        .collect();
    let replies = api.race(requests);
    let made: Vec<&Value> = replies
        .iter()
        .filter(|(s, _)| *s == StatusCode::CREATED)
        .map(|(_, r)| r)
        .collect();
    assert_eq!(made.len(), 3, "{replies:?}");
    for (status, reply) in replies.iter().filter(|(s, _)| *s != StatusCode::CREATED) {
        assert_eq!(*status, StatusCode::FORBIDDEN, "{reply}");
        assert_eq!(reply["field"], "invite.uses", "{reply}");
    }
    // Each new account works, and the tree says who brought it.
    let admin = api.get("/v1/me").1["account"]["id"].clone();
    for reply in made {
        let token = reply["token"]["secret"].as_str().unwrap();
        assert!(token.starts_with("slt_"));
        let (status, me) = api.as_(token, Method::GET, "/v1/me", &Value::Null);
        assert_eq!(status, StatusCode::OK, "{me}");
        assert_eq!(me["account"]["invited_by"], admin);
    }
    let accounts = api.get("/v1/admin/accounts").1;
    assert_eq!(accounts["accounts"].as_array().unwrap().len(), 4);
    let uses = &api.get("/v1/admin/invites").1["invites"][0];
    assert_eq!(
        (uses["uses"].as_i64(), uses["uses_allowed"].as_i64()),
        (Some(3), Some(3))
    );
}

#[test]
fn no_invite_no_account_and_bad_invites_are_refused_by_field() {
    let api = Api::new(None, false);
    let sign_up = |body: Value| api.send(Method::POST, "/v1/accounts", None, body.to_string());
    let (status, reply) = sign_up(json!({ "name": "Mallory" }));
    assert_eq!(
        (status, reply["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invite")),
        "{reply}"
    );
    let (status, reply) = sign_up(json!({ "invite": "inv_made_up", "name": "Mallory" }));
    assert_eq!(
        (status, reply["field"].as_str()),
        (StatusCode::FORBIDDEN, Some("invite")),
        "{reply}"
    );
    let (_, invite) = api.post("/v1/admin/invites", &json!({ "uses": 5, "expires_in": 1 }));
    std::thread::sleep(std::time::Duration::from_millis(2100));
    let (status, reply) = sign_up(json!({ "invite": invite["code"], "name": "Late" }));
    assert_eq!(
        (status, reply["field"].as_str()),
        (StatusCode::FORBIDDEN, Some("invite.expires_at")),
        "{reply}"
    );
    let (status, reply) = api.post("/v1/admin/invites", &json!({ "uses": 0 }));
    assert_eq!(
        (status, reply["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("uses")),
        "{reply}"
    );
}

/// The path of `route` with its parameters filled in.
fn concrete(path: &str) -> String {
    path.replace("{id}", "x").replace("{name}", "clip.mp4")
}

#[test]
fn every_route_with_every_scope_passes_only_where_the_scope_allows() {
    let api = Api::new(Some(1 << 20), true);
    let mut checked = 0;
    for scope in Scope::ALL {
        // The admin's account may carry any scope: one token per scope.
        let body = json!({ "name": format!("only {scope}"), "scopes": [scope.as_str()] });
        let (status, token) = api.post("/v1/me/tokens", &body);
        assert_eq!(status, StatusCode::CREATED, "{token}");
        let token = token["secret"].as_str().unwrap().to_owned();
        for route in ROUTES {
            let uri = concrete(route.path);
            let body = if route.method == Method::GET || route.method == Method::DELETE {
                Body::empty()
            } else {
                Body::from("{}")
            };
            let (status, reply) = api.send(route.method.clone(), &uri, Some(&token), body);
            let what = format!("{} {uri} with `{scope}`: {status} {reply}", route.method);
            let allowed = match route.need {
                Need::Public | Need::Token => true,
                Need::Scope(needed) => scope == needed || scope == Scope::Admin,
            };
            assert_ne!(status, StatusCode::UNAUTHORIZED, "{what}");
            assert_ne!(status, StatusCode::INTERNAL_SERVER_ERROR, "{what}");
            if allowed {
                assert_ne!(reply["field"], "scope", "{what}");
                assert_ne!(reply["field"], "path", "the route is not served: {what}");
            } else {
                let Need::Scope(needed) = route.need else {
                    unreachable!()
                };
                assert_eq!(status, StatusCode::FORBIDDEN, "{what}");
                assert_eq!(reply["field"], "scope", "{what}");
                assert!(
                    reply["error"].as_str().unwrap().contains(&format!("`{needed}`")),
                    "{what}"
                );
            }
            checked += 1;
        }
    }
    assert_eq!(checked, ROUTES.len() * Scope::ALL.len());
}

#[test]
fn a_revoked_token_and_a_disabled_account_fail_on_their_next_request() {
    let api = Api::new(None, true);
    let (account, token) = api.member("Grace");
    let (status, second) = api.as_(
        &token,
        Method::POST,
        "/v1/me/tokens",
        &json!({ "name": "ci", "scopes": ["feed:read"] }),
    );
    assert_eq!(status, StatusCode::CREATED, "{second}");
    let second_secret = second["secret"].as_str().unwrap();
    assert_eq!(
        api.as_(second_secret, Method::GET, "/v1/feed", &Value::Null).0,
        StatusCode::OK
    );
    // Shown once: listing tokens gives prefixes, never secrets.
    let listed = api.as_(&token, Method::GET, "/v1/me/tokens", &Value::Null).1;
    assert!(!listed.to_string().contains(second_secret));
    assert_eq!(listed["tokens"].as_array().unwrap().len(), 2);
    // A member's token cannot carry more than a member may.
    let (status, reply) = api.as_(
        &token,
        Method::POST,
        "/v1/me/tokens",
        &json!({ "name": "x", "scopes": ["admin"] }),
    );
    assert_eq!(
        (status, reply["field"].as_str()),
        (StatusCode::FORBIDDEN, Some("scopes")),
        "{reply}"
    );

    let uri = format!("/v1/me/tokens/{}", second["id"].as_str().unwrap());
    assert_eq!(api.as_(&token, Method::DELETE, &uri, &Value::Null).0, StatusCode::OK);
    let (status, reply) = api.as_(second_secret, Method::GET, "/v1/feed", &Value::Null);
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{reply}");
    assert!(reply["error"].as_str().unwrap().contains("revoked"), "{reply}");

    let (status, _) = api.post(
        &format!("/v1/admin/accounts/{account}/disable"),
        &json!({ "reason": "spam" }),
    );
    assert_eq!(status, StatusCode::OK);
    let (status, reply) = api.as_(&token, Method::GET, "/v1/me", &Value::Null);
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{reply}");
    assert!(reply["error"].as_str().unwrap().contains("disabled (spam)"), "{reply}");
    api.post(&format!("/v1/admin/accounts/{account}/enable"), &Value::Null);
    assert_eq!(api.as_(&token, Method::GET, "/v1/me", &Value::Null).0, StatusCode::OK);

    let log = api.get("/v1/admin/audit?last=50").1;
    let actions: Vec<&str> = log
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    for action in [
        "invite.create",
        "account.create",
        "token.create",
        "token.revoke",
        "account.disable",
        "account.enable",
    ] {
        assert!(actions.contains(&action), "{action} not in {actions:?}");
    }
}

fn item(i: usize) -> Value {
    json!({
        "id": format!("clip-{i}"),
        "creator": "studio",
        "title": format!("Clip {i}"),
        "tags": ["test"],
        "duration_s": 10.0,
        "embedding": [1.0, i as f64, 0.5],
        "provenance": "trust",
        "consent": "clear",
    })
}

#[test]
fn feeds_signals_and_identities_are_their_callers_own() {
    let api = Api::new(None, true);
    for i in 0..5 {
        assert_eq!(api.post("/v1/feed/items", &item(i)).0, StatusCode::CREATED);
    }
    let (ada, ada_token) = api.member("Ada");
    let (bob, bob_token) = api.member("Bob");
    // Without `user`, the feed is the caller's own; another's is refused.
    let (status, slate) = api.as_(&ada_token, Method::GET, "/v1/feed?n=3", &Value::Null);
    assert_eq!(status, StatusCode::OK, "{slate}");
    assert_eq!(slate["user"].as_str(), Some(ada.as_str()));
    let (status, reply) = api.as_(&ada_token, Method::GET, &format!("/v1/feed?user={bob}"), &Value::Null);
    assert_eq!(
        (status, reply["field"].as_str()),
        (StatusCode::FORBIDDEN, Some("user")),
        "{reply}"
    );
    let steering = format!("/v1/feed/users/{bob}/steering");
    assert_eq!(
        api.as_(&ada_token, Method::GET, &steering, &Value::Null).0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        api.as_(&bob_token, Method::GET, &steering, &Value::Null).0,
        StatusCode::OK
    );

    // Signals only on one's own impressions.
    let impression = slate["items"][0]["impression"].as_str().unwrap();
    let signal = |event: &str| json!({ "signals": [{ "event": event, "impression": impression, "kind": "like" }] });
    let (status, reply) = api.as_(&bob_token, Method::POST, "/v1/feed/signals", &signal("e1"));
    assert_eq!(
        (status, reply["field"].as_str()),
        (StatusCode::FORBIDDEN, Some("signals[0].impression")),
        "{reply}"
    );
    let (status, reply) = api.as_(&ada_token, Method::POST, "/v1/feed/signals", &signal("e1"));
    assert_eq!(
        (status, reply["accepted"].as_u64()),
        (StatusCode::OK, Some(1)),
        "{reply}"
    );

    // An identity is its registrant's: others neither see it nor grant for it.
    let key = "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c";
    let identity =
        json!({ "name": "Ada", "public_key": key, "embeddings": [{ "source": "a.jpg", "vector": [1.0, 0.0] }] });
    let (status, made) = api.as_(&ada_token, Method::POST, "/v1/consent/identities", &identity);
    assert_eq!(status, StatusCode::CREATED, "{made}");
    let id = made["id"].as_str().unwrap();
    let listed = |token: &str| api.as_(token, Method::GET, "/v1/consent/identities", &Value::Null).1;
    assert_eq!(listed(&ada_token).as_array().unwrap().len(), 1);
    assert_eq!(listed(&bob_token).as_array().unwrap().len(), 0);
    let (status, reply) = api.as_(
        &bob_token,
        Method::GET,
        &format!("/v1/consent/identities/{id}/grants"),
        &Value::Null,
    );
    assert_eq!(
        (status, reply["field"].as_str()),
        (StatusCode::FORBIDDEN, Some("identity")),
        "{reply}"
    );
    let body = json!({ "kind": "slate.consent.grant/1", "id": "g1", "identity": id }).to_string();
    let signed = json!({ "body": body, "signature": "00".repeat(64) });
    let (status, reply) = api.as_(&bob_token, Method::POST, "/v1/consent/grants", &signed);
    assert_eq!(
        (status, reply["field"].as_str()),
        (StatusCode::FORBIDDEN, Some("identity")),
        "{reply}"
    );
    // Ada gets as far as the signature check (she signed nothing here).
    let (status, reply) = api.as_(&ada_token, Method::POST, "/v1/consent/grants", &signed);
    assert_ne!(reply["field"], "identity", "{status} {reply}");
    // The admin sees everyone's.
    assert_eq!(api.get("/v1/consent/identities").1.as_array().unwrap().len(), 1);
}

#[test]
fn stored_bytes_never_pass_the_quota_under_fifty_racing_uploads() {
    const LIMIT: i64 = 1_050_000;
    const CLIP: usize = 100_000;
    let api = Api::new(Some(1 << 30), false);
    let (account, token) = api.member("Uploader");
    let (status, reply) = api.put(
        &format!("/v1/admin/accounts/{account}/limits"),
        &json!({ "stored_bytes": LIMIT }),
    );
    assert_eq!(status, StatusCode::OK, "{reply}");
    let requests = (0..50)
        .map(|i| {
            let uri = format!("/v1/ingest/clips/take-{i}.mp4?shot=s1&model=m");
            (Method::PUT, uri, Some(token.clone()), Body::from(vec![7u8; CLIP]))
        })
        .collect();
    let replies = api.race(requests);
    let stored = replies.iter().filter(|(s, _)| *s == StatusCode::CREATED).count();
    assert_eq!(stored as i64, LIMIT / CLIP as i64, "{replies:?}");
    for (status, reply) in replies.iter().filter(|(s, _)| *s != StatusCode::CREATED) {
        assert_eq!(*status, StatusCode::FORBIDDEN, "{reply}");
        assert_eq!(reply["field"], "quota.stored_bytes", "{reply}");
        assert!(reply["error"].as_str().unwrap().contains("ask an admin"), "{reply}");
    }
    let on_disk: u64 = std::fs::read_dir(api.inbox())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "mp4"))
        .map(|p| std::fs::metadata(p).unwrap().len())
        .sum();
    assert!(on_disk as i64 <= LIMIT, "{on_disk} bytes stored");
    assert!(
        !std::fs::read_dir(api.inbox()).unwrap().any(|e| e
            .unwrap()
            .file_name()
            .to_string_lossy()
            .ends_with(".partial"))
    );
    let me = api.as_(&token, Method::GET, "/v1/me", &Value::Null).1;
    let usage = |quota: &str| {
        me["usage"]
            .as_array()
            .unwrap()
            .iter()
            .find(|u| u["quota"] == quota)
            .cloned()
            .unwrap()
    };
    assert_eq!(usage("stored_bytes")["used"].as_i64(), Some(on_disk as i64), "{me}");
    assert_eq!(usage("stored_bytes")["limit"].as_i64(), Some(LIMIT));
    assert_eq!(
        usage("uploads")["used"].as_u64(),
        Some(stored as u64),
        "refused uploads are handed back"
    );
    assert!(usage("uploads")["resets_at"].as_i64().is_some());
    // Only the uploader lists its clips.
    let (_, other) = api.member("Other");
    let listed = api.as_(&other, Method::GET, "/v1/ingest/clips", &Value::Null).1;
    assert_eq!(listed["clips"].as_array().unwrap().len(), 0);
    let listed = api.as_(&token, Method::GET, "/v1/ingest/clips", &Value::Null).1;
    assert_eq!(listed["clips"].as_array().unwrap().len(), stored);
}

#[test]
fn feed_items_count_to_their_publishers_quota() {
    let api = Api::new(None, true);
    let (account, token) = api.member("Publisher");
    api.put(
        &format!("/v1/admin/accounts/{account}/limits"),
        &json!({ "feed_items": 3 }),
    );
    for i in 0..2 {
        let (status, reply) = api.as_(&token, Method::POST, "/v1/feed/items", &item(i));
        assert_eq!(status, StatusCode::CREATED, "{reply}");
    }
    // A refused publish (a duplicate id) does not use the quota up.
    let (status, _) = api.as_(&token, Method::POST, "/v1/feed/items", &item(0));
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(
        api.as_(&token, Method::POST, "/v1/feed/items", &item(2)).0,
        StatusCode::CREATED
    );
    let (status, reply) = api.as_(&token, Method::POST, "/v1/feed/items", &item(3));
    assert_eq!(
        (status, reply["field"].as_str()),
        (StatusCode::FORBIDDEN, Some("quota.feed_items")),
        "{reply}"
    );
    // The admin is not held to a member's quota.
    assert_eq!(api.post("/v1/feed/items", &item(3)).0, StatusCode::CREATED);
}

#[test]
fn the_openapi_document_covers_every_route_with_its_scope_and_refusals() {
    let api = Api::new(None, false);
    let (status, doc) = api.send(Method::GET, "/v1/openapi.json", None, Body::empty());
    assert_eq!(status, StatusCode::OK);
    assert!(
        doc["openapi"].as_str().unwrap().starts_with("3.1"),
        "{}",
        doc["openapi"]
    );
    let mut documented = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            documented.push(format!("{} {path}", method.to_uppercase()));
            let route = ROUTES
                .iter()
                .find(|r| r.method.as_str().eq_ignore_ascii_case(method) && r.path == path)
                .unwrap();
            let responses = operation["responses"].as_object().unwrap();
            assert!(responses.contains_key("429"), "{method} {path}");
            // Its success: a 2xx, or 101 for the WebSocket.
            let succeeds = |code: &String| code.starts_with('2') || code == "101";
            assert!(responses.keys().any(succeeds), "{method} {path}");
            match route.need {
                Need::Public => assert!(operation.get("security").is_none(), "{method} {path}"),
                Need::Token => assert!(responses.contains_key("401"), "{method} {path}"),
                Need::Scope(scope) => {
                    assert_eq!(operation["security"][0]["bearer"][0], scope.as_str(), "{method} {path}");
                    assert!(responses.contains_key("403"), "{method} {path}");
                }
            }
        }
    }
    let mut routes: Vec<String> = ROUTES.iter().map(|r| format!("{} {}", r.method, r.path)).collect();
    documented.sort();
    routes.sort();
    assert_eq!(documented, routes);
}

#[test]
fn sign_ups_are_limited_per_address_and_every_answer_says_where_it_stands() {
    let mut limits = slate_server::RateLimits::unlimited();
    limits.set("sign_up=60:2").unwrap();
    let api = Api::with_limits(None, false, limits);
    let attempt = || {
        let body = json!({ "invite": "inv_guess", "name": "Mallory" }).to_string();
        let request = axum::http::Request::builder()
            .method(Method::POST)
            .uri("/v1/accounts")
            .body(Body::from(body))
            .unwrap();
        api.runtime.block_on(async {
            use tower::ServiceExt;
            api.app.clone().oneshot(request).await.unwrap()
        })
    };
    let first = attempt();
    assert_eq!(first.status(), StatusCode::FORBIDDEN, "a guessed code is refused");
    assert_eq!(first.headers()["x-ratelimit-limit"], "60");
    assert_eq!(first.headers()["x-ratelimit-remaining"], "1");
    assert_eq!(first.headers()["ratelimit-policy"], "\"sign_up\";q=60;w=60");
    assert_eq!(attempt().status(), StatusCode::FORBIDDEN);
    let limited = attempt();
    assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(limited.headers()["retry-after"], "1");
    assert_eq!(limited.headers()["x-ratelimit-remaining"], "0");
    // A wrong token is limited per address too, and says so.
    let (status, _) = api.send(Method::GET, "/v1/me", Some("slt_guess"), Body::empty());
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // So do a path no route takes and a method a route does not.
    for (method, uri) in [(Method::GET, "/v1/nothing"), (Method::PATCH, "/v1/me")] {
        let request = axum::http::Request::builder()
            .method(method)
            .uri(uri)
            .body(Body::empty())
            .unwrap();
        let response = api.runtime.block_on(async {
            use tower::ServiceExt;
            api.app.clone().oneshot(request).await.unwrap()
        });
        assert!(response.headers().contains_key("x-ratelimit-remaining"), "{uri}");
        if response.status() == StatusCode::METHOD_NOT_ALLOWED {
            assert_eq!(response.headers()["allow"], "GET");
        } else {
            assert_eq!(response.status(), StatusCode::NOT_FOUND);
        }
    }
}
