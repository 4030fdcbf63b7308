//! `/v1/feed` against a real store (the registry's SQLite file): slates
//! with propensities and explanations, idempotent signals, steering and
//! the operator's objective, and 1,000 malformed bodies that are refused
//! naming their field and change nothing.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Method, StatusCode};
use serde_json::{Value, json};
use slate_consent::Registry;
use slate_feed::Feed;
use slate_server::MAX_BODY;

mod support;
use support::{Api, TOKEN, refused, thousand_malformed};

impl Api {
    /// Everything the feed keeps, to see that nothing changed: counts,
    /// settings, a user's dials, and every impression with its reward.
    fn snapshot(&self) -> Value {
        let stats = self.get("/v1/feed/stats").1;
        json!({
            "stats": stats,
            "objective": self.get("/v1/feed/objective").1,
            "learning": self.get("/v1/feed/learning").1,
            "experiment": self.get("/v1/feed/experiment").1,
            "steering": self.get("/v1/feed/users/ada/steering").1,
            "report": self.get("/v1/feed/experiment/report").1,
        })
    }
}

fn item(i: usize) -> Value {
    let embedding: Vec<f64> = (0..8).map(|d| (((i * 7 + d * 3) % 11) as f64 - 5.0) / 5.0).collect();
    json!({
        "id": format!("item-{i}"),
        "creator": format!("creator-{}", i % 4),
        "title": format!("clip {i}"),
        "tags": [format!("tag-{}", i % 3)],
        "duration_s": 20.0 + i as f64,
        "embedding": embedding,
        "provenance": "trust",
        "consent": "clear",
    })
}

/// A feed of 30 items with one slate served to `ada`; its impression ids.
fn populated() -> (Api, Vec<String>) {
    let api = Api::new(None, true);
    for i in 0..30 {
        let (status, reply) = api.post("/v1/feed/items", &item(i));
        assert_eq!(status, StatusCode::CREATED, "{reply}");
    }
    let (status, slate) = api.get("/v1/feed?user=ada&n=5");
    assert_eq!(status, StatusCode::OK, "{slate}");
    let impressions = slate["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["impression"].as_str().unwrap().to_owned())
        .collect();
    (api, impressions)
}

#[test]
fn slates_signals_steering_and_the_objective_over_http() {
    let (api, impressions) = populated();
    assert_eq!(impressions.len(), 5);

    // A slate: each item with its propensity and why it is there.
    let (status, slate) = api.get("/v1/feed?user=bob&n=10");
    assert_eq!(status, StatusCode::OK, "{slate}");
    assert_eq!(slate["user"], "bob");
    let items = slate["items"].as_array().unwrap();
    assert_eq!(items.len(), 10);
    for (position, ranked) in items.iter().enumerate() {
        assert_eq!(ranked["position"], position);
        let propensity = ranked["propensity"].as_f64().unwrap();
        assert!(propensity > 0.0 && propensity <= 1.0, "{ranked}");
        assert!(!ranked["why"].as_str().unwrap().is_empty(), "{ranked}");
        assert!(!ranked["terms"].as_array().unwrap().is_empty(), "{ranked}");
    }
    let mut shown: Vec<&str> = items.iter().map(|r| r["item"].as_str().unwrap()).collect();
    shown.sort();
    shown.dedup();
    assert_eq!(shown.len(), 10, "no item twice in a slate");

    // Signals: batched, an event id counts once, in the batch or later.
    let first = &impressions[0];
    let batch = json!({ "signals": [
        { "event": "e1", "impression": first, "kind": "impression" },
        { "event": "e2", "impression": first, "kind": "watch", "seconds": 10.0 },
        { "event": "e3", "impression": first, "kind": "like" },
        { "event": "e2", "impression": first, "kind": "watch", "seconds": 10.0 },
    ]});
    let (status, taken) = api.post("/v1/feed/signals", &batch);
    assert_eq!(status, StatusCode::OK, "{taken}");
    assert_eq!(taken, json!({ "accepted": 3, "duplicates": 1 }));
    assert_eq!(
        api.post("/v1/feed/signals", &batch).1,
        json!({ "accepted": 0, "duplicates": 4 })
    );

    // Steering and the objective are kept and shown back.
    let dials = json!({ "less_tags": ["tag-0"], "follow": ["creator-1"], "more_like": ["item-3"], "novelty": 0.5 });
    let (status, set) = api.put("/v1/feed/users/ada/steering", &dials);
    assert_eq!(status, StatusCode::OK, "{set}");
    assert_eq!(set["less_tags"], json!(["tag-0"]));
    assert_eq!(api.get("/v1/feed/users/ada/steering").1, set);
    let (status, objective) = api.put("/v1/feed/objective", &json!({ "likes": 2.0, "diversity": 0.3 }));
    assert_eq!(status, StatusCode::OK, "{objective}");
    assert_eq!(objective["likes"], 2.0);
    assert_eq!(objective["watch_time"], 1.0, "what is not given keeps its default");
    assert_eq!(api.get("/v1/feed/objective").1, objective);

    // An item published twice is a conflict, named.
    let (status, reply) = api.post("/v1/feed/items", &item(3));
    assert_eq!((status, reply["field"].as_str()), (StatusCode::CONFLICT, Some("id")));

    let stats = api.get("/v1/feed/stats").1;
    assert_eq!((stats["items"].as_u64(), stats["slates"].as_u64()), (Some(30), Some(2)));
}

#[test]
fn bad_queries_are_named_and_the_feed_needs_its_token() {
    let (api, _) = populated();
    for (query, field) in [
        ("?user=&n=5", "user"),
        ("?user=ada&n=0", "n"),
        ("?user=ada&n=51", "n"),
        ("?user=ada&n=ten", "n"),
        ("?user=ada&colour=red", "colour"),
    ] {
        let (status, reply) = api.get(&format!("/v1/feed{query}"));
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}: {reply}");
        assert_eq!(reply["field"].as_str(), Some(field), "{query}: {reply}");
    }
    let (status, _) = api.send(Method::GET, "/v1/feed?user=ada", None, Body::empty());
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = api.send(Method::GET, "/v1/feed?user=ada", Some("wrong"), Body::empty());
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // A body over the limit is refused before it is read in full.
    let huge = vec![b' '; MAX_BODY + 1];
    let (status, reply) = api.send(Method::POST, "/v1/feed/signals", Some(TOKEN), huge);
    assert_eq!(
        (status, reply["field"].as_str()),
        (StatusCode::PAYLOAD_TOO_LARGE, Some("body"))
    );

    // A server started without a feed says so.
    let bare = Api::new(None, false);
    let (status, reply) = bare.get("/v1/feed?user=ada");
    assert_eq!(
        (status, reply["field"].as_str()),
        (StatusCode::NOT_FOUND, Some("path")),
        "{reply}"
    );
}

/// A body the feed took once, where in it the mangling happens (the first
/// signal of a batch, else the body itself), the keys that must be there,
/// and values each of which is wrong for its key.
struct Seed {
    method: Method,
    uri: &'static str,
    body: Value,
    nested: bool,
    required: &'static [&'static str],
    wrong: Vec<(&'static str, Value)>,
}

fn seeds(impression: &str) -> Vec<Seed> {
    let signals = json!({ "signals": [
        { "event": "s1", "impression": impression, "kind": "watch", "seconds": 4.0 },
    ]});
    vec![
        Seed {
            method: Method::POST,
            uri: "/v1/feed/signals",
            body: signals,
            nested: true,
            required: &["event", "impression", "kind", "seconds"],
            wrong: vec![
                ("event", json!("")),
                ("event", json!("x".repeat(201))),
                ("impression", json!("no-such-impression")),
                ("impression", json!("\u{7}")),
                ("kind", json!("clap")),
                ("seconds", json!(-1.0)),
                ("seconds", json!(1e9)),
                ("prompt", json!("a tweak's prompt on a watch")),
            ],
        },
        Seed {
            method: Method::POST,
            uri: "/v1/feed/items",
            body: item(30),
            nested: false,
            required: &["id", "creator", "duration_s", "embedding", "provenance", "consent"],
            wrong: vec![
                ("id", json!(" ")),
                ("creator", json!("a\nb")),
                ("duration_s", json!(0.0)),
                ("duration_s", json!(-3.0)),
                ("embedding", json!([])),
                ("embedding", json!([0.0, 0.0])),
                ("provenance", json!("maybe")),
                ("consent", json!("ok")),
                ("throttle_rate", json!(1.5)),
                ("tags", json!([""])),
                ("grants", json!(["g\u{0}"])),
                ("title", json!("t".repeat(2001))),
            ],
        },
        Seed {
            method: Method::PUT,
            uri: "/v1/feed/users/ada/steering",
            body: json!({ "less_tags": ["tag-1"], "more_like": ["item-2"], "novelty": -0.5 }),
            nested: false,
            required: &[],
            wrong: vec![
                ("novelty", json!(1.5)),
                ("less_tags", json!([""])),
                ("less_tags", json!((0..65).map(|i| format!("t{i}")).collect::<Vec<_>>())),
                ("more_tags", json!(["tag-1"])),
                ("more_like", json!(["no-such-item"])),
                ("follow", json!(["c".repeat(201)])),
            ],
        },
        Seed {
            method: Method::PUT,
            uri: "/v1/feed/objective",
            body: json!({ "likes": 0.8, "skips": 0.4 }),
            nested: false,
            required: &[],
            wrong: vec![
                ("likes", json!(-1.0)),
                ("skips", json!(11.0)),
                ("freshness_half_life_h", json!(0.0)),
                ("throttle_rate", json!(0.0)),
                ("watch_time", json!("lots")),
            ],
        },
        Seed {
            method: Method::PUT,
            uri: "/v1/feed/learning",
            body: json!({ "policy": "thompson", "shortlist": 100 }),
            nested: false,
            required: &[],
            wrong: vec![
                ("policy", json!("oracle")),
                ("shortlist", json!(0)),
                ("shortlist", json!(-5)),
                ("params", json!({ "epsilon": 2.0 })),
                ("params", json!({ "lambda": 0.0 })),
                ("params", json!({ "propensity_draws": 1_000_000 })),
                ("params", json!({ "gamma": 1.0 })),
            ],
        },
        Seed {
            method: Method::PUT,
            uri: "/v1/feed/experiment",
            body: json!({ "name": "ranker-v2", "arms": [{ "name": "a", "policy": "linucb" }, { "name": "b", "policy": "thompson" }], "holdout": 0.1 }),
            nested: false,
            required: &["name", "arms"],
            wrong: vec![
                ("name", json!("")),
                ("arms", json!([])),
                ("arms", json!([{ "name": "default", "policy": "linucb" }])),
                (
                    "arms",
                    json!([{ "name": "a", "policy": "linucb" }, { "name": "a", "policy": "random" }]),
                ),
                ("arms", json!([{ "name": "a", "policy": "linucb", "weight": 0 }])),
                ("holdout", json!(1.0)),
            ],
        },
    ]
}

/// A malformed version of `seed`: the text cut short, a byte made
/// invalid UTF-8, a field retyped, an unknown field, a value wrong for its
/// field, a required field dropped, or bytes that are not JSON.
fn mangle(seed: &Seed, choice: u8, at: usize, byte: u8) -> Vec<u8> {
    let text = seed.body.to_string();
    let mut body = seed.body.clone();
    let target = if seed.nested {
        &mut body["signals"][0]
    } else {
        &mut body
    };
    let object = target.as_object_mut().unwrap();
    let keys: Vec<String> = object.keys().cloned().collect();
    match choice % 7 {
        0 => return text.as_bytes()[..at % text.len()].to_vec(),
        1 => {
            let mut bytes = text.into_bytes();
            let i = at % bytes.len();
            // Every byte of the seed is ASCII: a high one alone is never UTF-8.
            bytes[i] = byte | 0x80;
            return bytes;
        }
        2 => {
            object.insert(keys[at % keys.len()].clone(), json!([byte, "x", null]));
        }
        3 => {
            object.insert(format!("extra{byte}"), json!(byte));
        }
        4 => {
            let (key, value) = &seed.wrong[at % seed.wrong.len()];
            object.insert((*key).to_owned(), value.clone());
        }
        5 if !seed.required.is_empty() => {
            object.remove(seed.required[at % seed.required.len()]);
        }
        5 => return Vec::new(),
        _ => return vec![byte; at % 64],
    }
    body.to_string().into_bytes()
}

#[test]
fn a_thousand_malformed_bodies_are_refused_naming_the_field_and_change_nothing() {
    let (api, impressions) = populated();
    let seeds = seeds(&impressions[1]);
    for seed in &seeds {
        let (status, reply) = api.send(seed.method.clone(), seed.uri, Some(TOKEN), seed.body.to_string());
        assert!(status.is_success(), "{} {}: {status} {reply}", seed.uri, seed.body);
    }
    let before = api.snapshot();
    thousand_malformed(seeds.len(), |which, choice, at, byte| {
        let seed = &seeds[which];
        let bytes = mangle(seed, choice, at, byte);
        let (status, reply) = api.send(seed.method.clone(), seed.uri, Some(TOKEN), bytes.clone());
        refused(
            status,
            &reply,
            &format!("{} {}", seed.uri, String::from_utf8_lossy(&bytes)),
        )?;
        Ok(())
    });
    assert_eq!(api.snapshot(), before, "the feed is unchanged");

    // The signal sent once is still there once: the same event again is a
    // duplicate, and the store reopens as it was.
    let (status, again) = api.post("/v1/feed/signals", &seeds[0].body);
    assert_eq!(status, StatusCode::OK);
    assert_eq!(again, json!({ "accepted": 0, "duplicates": 1 }));
    let stats = before["stats"].clone();
    let path = api.path();
    drop(api.app);
    let registry = Arc::new(Registry::open(&path).unwrap());
    let feed = Feed::open(&path, registry).unwrap();
    assert_eq!(feed.stats().unwrap()["items"], stats["items"]);
    assert_eq!(
        serde_json::to_value(feed.report().unwrap()).unwrap(),
        before["report"],
        "the reopened store reports the same"
    );
}
