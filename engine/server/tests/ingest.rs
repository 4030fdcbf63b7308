//! Clip uploads into a real inbox folder: what lands there is what the
//! `slate ingest` watcher reads (the clip, then its sidecar); bad names,
//! queries and bodies are refused by field and leave nothing behind.

use std::path::Path;

use axum::http::{Method, StatusCode};
use proptest::prelude::*;
use serde_json::{Value, json};

mod support;
use support::{Api, TOKEN};

const LIMIT: u64 = 64 * 1024;

impl Api {
    fn with_inbox(open: bool) -> Api {
        Api::new(open.then_some(LIMIT), false)
    }

    fn upload(&self, uri: &str, body: &[u8]) -> (StatusCode, Value) {
        self.send(Method::PUT, uri, Some(TOKEN), body.to_vec())
    }

    /// The inbox's file names, sorted.
    fn files(&self) -> Vec<String> {
        names(&self.inbox())
    }
}

fn names(folder: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(folder)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

const GOOD: &str = "shot=s2&prompt=the%20cup%2C%20from%20the%20left&model=acme-video-2";

#[test]
fn an_uploaded_clip_lands_whole_with_its_sidecar_last() {
    let api = Api::with_inbox(true);
    let clip: Vec<u8> = (0..40_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let (status, reply) = api.upload(&format!("/v1/ingest/clips/s2.mp4?{GOOD}"), &clip);
    assert_eq!(status, StatusCode::CREATED, "{reply}");
    assert_eq!(
        reply,
        json!({"clip": "s2.mp4", "sidecar": {"shot": "s2", "prompt": "the cup, from the left", "model": "acme-video-2"}})
    );
    assert_eq!(api.files(), ["s2.json", "s2.mp4"]);
    assert_eq!(std::fs::read(api.inbox().join("s2.mp4")).unwrap(), clip);
    // The watcher's own reader takes the sidecar as written.
    let read = slate_ingest::Clip::of_sidecar(&api.inbox().join("s2.json"))
        .unwrap()
        .unwrap();
    assert_eq!(read.sidecar.model, "acme-video-2");
    assert_eq!(read.path, api.inbox().join("s2.mp4"));
    let (status, listed) = api.send(Method::GET, "/v1/ingest/clips", Some(TOKEN), Vec::new());
    assert_eq!(status, StatusCode::OK);
    assert_eq!(listed["clips"][0]["clip"], "s2.mp4");

    // Never overwritten; another extension with the same stem would share the sidecar.
    for name in ["s2.mp4", "s2.mov"] {
        let (status, reply) = api.upload(&format!("/v1/ingest/clips/{name}?{GOOD}"), b"other");
        assert_eq!(
            (status, reply["field"].as_str()),
            (StatusCode::CONFLICT, Some("name")),
            "{reply}"
        );
    }
    assert_eq!(std::fs::read(api.inbox().join("s2.mp4")).unwrap(), clip);
}

#[test]
fn bad_names_queries_and_bodies_are_refused_by_field_and_leave_nothing() {
    let api = Api::with_inbox(true);
    let cases: [(&str, &[u8], StatusCode, &str); 11] = [
        ("..%2Fescape.mp4", b"x", StatusCode::BAD_REQUEST, "name"),
        (".hidden.mp4", b"x", StatusCode::BAD_REQUEST, "name"),
        ("notes.txt", b"x", StatusCode::BAD_REQUEST, "name"),
        ("a%20b.mp4", b"x", StatusCode::BAD_REQUEST, "name"),
        ("a.mp4?shot=s1&prompt=p", b"x", StatusCode::BAD_REQUEST, "model"),
        (
            "a.mp4?shot=s1&prompt=p&model=m&seed=4",
            b"x",
            StatusCode::BAD_REQUEST,
            "seed",
        ),
        ("a.mp4?shot=%20&prompt=p&model=m", b"x", StatusCode::BAD_REQUEST, "shot"),
        ("a.mp4?shot=s1&prompt=p&model=", b"x", StatusCode::BAD_REQUEST, "model"),
        ("a.mp4", b"x", StatusCode::BAD_REQUEST, "shot"),
        ("a.mp4?shot=s1&model=m", b"", StatusCode::BAD_REQUEST, "body"),
        (
            "a.mp4?shot=s1&model=m",
            &[7u8; LIMIT as usize + 1],
            StatusCode::PAYLOAD_TOO_LARGE,
            "body",
        ),
    ];
    for (path, body, want, field) in cases {
        let (status, reply) = api.upload(&format!("/v1/ingest/clips/{path}"), body);
        assert_eq!(
            (status, reply["field"].as_str()),
            (want, Some(field)),
            "{path}: {reply}"
        );
        assert!(
            reply["error"].as_str().is_some_and(|e| !e.is_empty()),
            "{path}: {reply}"
        );
    }
    assert_eq!(api.files(), Vec::<String>::new(), "nothing left behind");

    let (status, _) = api.send(
        Method::PUT,
        &format!("/v1/ingest/clips/a.mp4?{GOOD}"),
        None,
        b"x".to_vec(),
    );
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let closed = Api::with_inbox(false);
    let (status, reply) = closed.upload(&format!("/v1/ingest/clips/a.mp4?{GOOD}"), b"x");
    assert_eq!((status, reply["field"].as_str()), (StatusCode::NOT_FOUND, Some("path")));
    assert!(reply["error"].as_str().unwrap().contains("--ingest-dir"), "{reply}");
}

fn mangled() -> impl Strategy<Value = (String, String, Vec<u8>)> {
    let name = prop_oneof![
        Just("clip.mp4".to_owned()),
        "[a-z0-9._%-]{0,12}(\\.mp4|\\.mkv|\\.txt|)",
        any::<Vec<u8>>().prop_map(|b| b.iter().map(|c| format!("%{c:02X}")).collect()),
    ];
    let query = prop_oneof![
        Just(GOOD.to_owned()),
        "(shot|prompt|model|seed|x)=[a-z%0-9 ]{0,6}(&(shot|prompt|model|seed)=[a-z%0-9]{0,6}){0,4}",
        any::<Vec<u8>>().prop_map(|b| String::from_utf8_lossy(&b).replace(['#', ' '], "")),
    ];
    (name, query, prop::collection::vec(any::<u8>(), 0..64))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    /// Whatever the name, query and body: a 201 with exactly its two files
    /// in the inbox, or a 4xx naming a field and the inbox unchanged.
    #[test]
    fn any_upload_is_taken_whole_or_refused_by_field((name, query, body) in mangled()) {
        let api = Api::with_inbox(true);
        let uri = format!("/v1/ingest/clips/{name}?{query}");
        prop_assume!(uri.parse::<axum::http::Uri>().is_ok());
        let (status, reply) = api.upload(&uri, &body);
        if status == StatusCode::CREATED {
            let clip = reply["clip"].as_str().unwrap().to_owned();
            let stem = Path::new(&clip).file_stem().unwrap().to_string_lossy().into_owned();
            let mut want = vec![clip.clone(), format!("{stem}.json")];
            want.sort();
            prop_assert_eq!(api.files(), want);
            prop_assert_eq!(std::fs::read(api.inbox().join(&clip)).unwrap(), body);
        } else {
            prop_assert!(status.is_client_error(), "{} {}: {}", status, uri, reply);
            prop_assert!(reply["field"].as_str().is_some_and(|f| !f.is_empty()), "{}: {}", uri, reply);
            prop_assert_eq!(api.files(), Vec::<String>::new());
        }
    }
}
