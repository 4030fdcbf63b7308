//! The HTTP API against a real registry file: tokens, the consent routes,
//! refusals that name their field, and 1,000 malformed bodies that change
//! nothing.

use axum::body::Body;
use axum::http::{Method, StatusCode};
use proptest::prelude::*;
use serde_json::{Value, json};
use slate_consent::{IdentityKey, Registry};

mod support;
use support::{Api, TOKEN, refused, thousand_malformed};

impl Api {
    /// Everything but the audit log, to see that nothing changed.
    fn snapshot(&self) -> Value {
        let (_, identities) = self.get("/v1/consent/identities");
        let grants: Vec<Value> = identities
            .as_array()
            .unwrap()
            .iter()
            .map(|i| {
                self.get(&format!("/v1/consent/identities/{}/grants", i["id"].as_str().unwrap()))
                    .1
            })
            .collect();
        json!({ "identities": identities, "grants": grants })
    }
}

fn signed(s: slate_consent::Signed) -> Value {
    json!({ "body": s.body, "signature": s.signature })
}

fn terms(channel: &str) -> slate_consent::Terms {
    slate_consent::Terms {
        grantee: "studio".into(),
        channels: vec![channel.into()],
        uses: vec!["cameo".into()],
        forbidden: vec![],
        valid_from: 0,
        valid_until: 4_000_000_000,
    }
}

/// An API with Grace registered, one grant `g1` (web) and one revoked
/// grant `g0`; the bodies that made them.
fn populated() -> (Api, IdentityKey, String, Vec<(&'static str, Value)>) {
    let api = Api::new(None, false);
    let key = IdentityKey::generate().unwrap();
    let register = json!({
        "name": "Grace",
        "public_key": key.public_hex(),
        "embeddings": [{ "source": "grace.ppm", "vector": [0.6, 0.8, 0.0] }],
    });
    let (status, identity) = api.post("/v1/consent/identities", &register);
    assert_eq!(status, StatusCode::CREATED, "{identity}");
    let id = identity["id"].as_str().unwrap().to_owned();
    let g1 = signed(key.grant("g1", &id, terms("web")));
    let g0 = signed(key.grant("g0", &id, terms("tv")));
    let r0 = signed(key.revoke("g0", &id, 100));
    for (uri, body) in [
        ("/v1/consent/grants", &g1),
        ("/v1/consent/grants", &g0),
        ("/v1/consent/revocations", &r0),
    ] {
        let (status, reply) = api.post(uri, body);
        assert_eq!(status, StatusCode::CREATED, "{reply}");
    }
    let seeds = vec![
        ("/v1/consent/identities", register),
        ("/v1/consent/grants", g1),
        ("/v1/consent/grants", g0),
        ("/v1/consent/revocations", r0),
    ];
    (api, key, id, seeds)
}

#[test]
fn a_token_is_needed_except_for_health() {
    let api = Api::new(None, false);
    let (status, body) = api.send(Method::GET, "/v1/consent/identities", None, Body::empty());
    assert_eq!(
        (status, body["field"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("authorization"))
    );
    let (status, _) = api.send(Method::GET, "/v1/consent/identities", Some("wrong"), Body::empty());
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, body) = api.send(Method::GET, "/v1/health", None, Body::empty());
    assert_eq!((status, body["ok"].as_bool()), (StatusCode::OK, Some(true)));
    let (status, body) = api.get("/v1/nope");
    assert_eq!((status, body["field"].as_str()), (StatusCode::NOT_FOUND, Some("path")));
}

#[test]
fn register_grant_check_revoke_and_audit_over_http() {
    let (api, key, id, _) = populated();
    let check = |channel: &str| {
        api.post(
            "/v1/consent/check",
            &json!({ "identity": id, "grantee": "studio", "channel": channel, "use": "cameo", "media": "clip.mp4", "frames": "0-29" }),
        )
    };
    let (status, verdict) = check("web");
    assert_eq!(
        (status, verdict["allowed"].as_bool(), verdict["grant"].as_str()),
        (StatusCode::OK, Some(true), Some("g1"))
    );
    let (_, verdict) = check("tv");
    assert_eq!(verdict["allowed"].as_bool(), Some(false));
    assert!(
        verdict["reason"].as_str().unwrap().starts_with("revoked at 100"),
        "{verdict}"
    );

    let (status, _) = api.post(
        "/v1/consent/revocations",
        &signed(key.revoke("g1", &id, slate_consent::now())),
    );
    assert_eq!(status, StatusCode::CREATED);
    let (_, verdict) = check("web");
    assert_eq!(verdict["allowed"].as_bool(), Some(false), "{verdict}");

    let (_, grants) = api.get(&format!("/v1/consent/identities/{id}/grants"));
    assert_eq!(grants.as_array().unwrap().len(), 2);
    assert!(grants.as_array().unwrap().iter().all(|g| g["revoked_at"].is_i64()));
    let (_, audit) = api.get("/v1/consent/audit?last=10");
    let audit = audit.as_array().unwrap();
    assert_eq!(audit.len(), 3);
    assert_eq!(
        (audit[0]["checker"].as_str(), audit[0]["media"].as_str()),
        (Some("http"), Some("clip.mp4"))
    );
    let (_, me) = api.get(&format!("/v1/consent/identities/{id}"));
    assert_eq!((me["name"].as_str(), me["photos"].as_u64()), (Some("Grace"), Some(1)));
}

#[test]
fn refusals_name_the_field() {
    let (api, key, id, _) = populated();
    let cases: Vec<(&str, Value, StatusCode, &str)> = vec![
        (
            "/v1/consent/identities",
            json!({ "name": "X", "public_key": "zz", "embeddings": [] }),
            StatusCode::BAD_REQUEST,
            "public_key",
        ),
        (
            "/v1/consent/identities",
            json!({ "name": "X", "public_key": IdentityKey::generate().unwrap().public_hex(), "embeddings": [] }),
            StatusCode::BAD_REQUEST,
            "embeddings",
        ),
        (
            "/v1/consent/identities",
            json!({ "name": "X", "public_key": "00", "embeddings": [], "age": 3 }),
            StatusCode::BAD_REQUEST,
            "age",
        ),
        (
            "/v1/consent/identities",
            json!({ "public_key": "00", "embeddings": [] }),
            StatusCode::BAD_REQUEST,
            "name",
        ),
        (
            "/v1/consent/identities",
            json!({ "name": "X", "public_key": "00", "embeddings": [{ "source": "a", "vector": "no" }] }),
            StatusCode::BAD_REQUEST,
            "embeddings[0].vector",
        ),
        (
            "/v1/consent/identities",
            json!({ "name": "X", "public_key": IdentityKey::generate().unwrap().public_hex(), "embeddings": [{ "source": "a", "vector": [1.0] }, { "source": "b", "vector": [1.0, 2.0] }] }),
            StatusCode::BAD_REQUEST,
            "embeddings[1].vector",
        ),
        (
            "/v1/consent/check",
            json!({ "identity": "nobody", "grantee": "s", "channel": "c", "use": "cameo" }),
            StatusCode::NOT_FOUND,
            "identity",
        ),
        (
            "/v1/consent/check",
            json!({ "identity": id, "grantee": " ", "channel": "c", "use": "cameo" }),
            StatusCode::BAD_REQUEST,
            "grantee",
        ),
        (
            "/v1/consent/revocations",
            signed(key.revoke("nope", &id, 5)),
            StatusCode::NOT_FOUND,
            "grant",
        ),
    ];
    for (uri, body, status, field) in cases {
        let (got, reply) = api.post(uri, &body);
        assert_eq!(
            (got, reply["field"].as_str()),
            (status, Some(field)),
            "{uri} {body}: {reply}"
        );
        assert!(!reply["error"].as_str().unwrap().is_empty());
    }
    // Edited after signing, signed by another key, replayed after revocation.
    let mut edited = key.grant("g2", &id, terms("web"));
    edited.body = edited.body.replace("studio", "anyone");
    let (status, reply) = api.post("/v1/consent/grants", &signed(edited));
    assert_eq!(
        (status, reply["field"].as_str()),
        (StatusCode::FORBIDDEN, Some("signature")),
        "{reply}"
    );
    let mallory = IdentityKey::generate().unwrap();
    let (status, _) = api.post("/v1/consent/grants", &signed(mallory.grant("g3", &id, terms("web"))));
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, reply) = api.post("/v1/consent/grants", &signed(key.grant("g0", &id, terms("tv"))));
    assert_eq!(
        (status, reply["field"].as_str()),
        (StatusCode::CONFLICT, Some("id")),
        "{reply}"
    );
    let (status, reply) = api.get("/v1/consent/audit?last=0");
    assert_eq!(
        (status, reply["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("last"))
    );
    let (status, reply) = api.get("/v1/consent/audit?last=many");
    assert_eq!(
        (status, reply["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("last"))
    );
}

/// A malformed version of `seed`: bytes cut or flipped, a field dropped,
/// retyped or added, a text edited. Each seed was already accepted once,
/// so even an intact one is refused (registered, duplicate, revoked).
fn mangle(seed: &Value, choice: u8, at: usize, byte: u8) -> Vec<u8> {
    let text = seed.to_string();
    let mut object = seed.as_object().unwrap().clone();
    let keys: Vec<String> = object.keys().cloned().collect();
    let key = &keys[at % keys.len()];
    match choice % 7 {
        0 => text.as_bytes()[..at % text.len()].to_vec(),
        1 => {
            let mut bytes = text.into_bytes();
            let i = at % bytes.len();
            bytes[i] ^= byte | 1;
            bytes
        }
        2 => {
            object.remove(key);
            Value::Object(object).to_string().into_bytes()
        }
        3 => {
            object.insert(key.clone(), json!([byte, "x", null]));
            Value::Object(object).to_string().into_bytes()
        }
        4 => {
            object.insert(format!("extra{byte}"), json!(byte));
            Value::Object(object).to_string().into_bytes()
        }
        5 => {
            if let Some(Value::String(s)) = object.get_mut(key) {
                let mut chars: Vec<char> = s.chars().collect();
                if !chars.is_empty() {
                    let i = at % chars.len();
                    // Never a hex digit: keys and signatures stop being
                    // ones; a signed body stops matching its signature.
                    chars[i] = 'z';
                }
                *s = chars.into_iter().collect();
            }
            Value::Object(object).to_string().into_bytes()
        }
        _ => vec![byte; at % 64],
    }
}

/// Whether `bytes` is JSON with a well-formed public key other than the
/// seed's.
fn another_key(seed: &Value, bytes: &[u8]) -> bool {
    let Ok(value) = serde_json::from_slice::<Value>(bytes) else {
        return false;
    };
    let key = value["public_key"].as_str().unwrap_or_default();
    key.len() == 64 && key.bytes().all(|b| b.is_ascii_hexdigit()) && value["public_key"] != seed["public_key"]
}

#[test]
fn a_thousand_malformed_bodies_are_refused_and_change_nothing() {
    let (api, _, _, seeds) = populated();
    let before = api.snapshot();
    let audit_before = api.get("/v1/consent/audit?last=10000").1;
    thousand_malformed(seeds.len(), |seed, choice, at, byte| {
        let (uri, body) = &seeds[seed];
        let bytes = mangle(body, choice, at, byte);
        // A flipped hex digit of a public key is another valid key:
        // a new person, not a malformed body.
        prop_assume!(!another_key(body, &bytes));
        let (status, reply) = api.send(Method::POST, uri, Some(TOKEN), bytes.clone());
        refused(status, &reply, &format!("{} {}", uri, String::from_utf8_lossy(&bytes)))?;
        Ok(())
    });
    assert_eq!(api.snapshot(), before, "the registry is unchanged");
    assert_eq!(api.get("/v1/consent/audit?last=10000").1, audit_before);
    let path = api.path();
    drop(api.app);
    assert!(Registry::open(&path).is_ok(), "the file is still a registry");
}
