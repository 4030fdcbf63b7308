//! What the API tests share: the router over a real registry file (and,
//! when asked, the feed in it and an upload inbox) in a scratch folder,
//! and requests through it as a client sends them.

#![allow(dead_code)] // Each test uses its part.

use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use http_body_util::BodyExt;
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use serde_json::Value;
use slate_access::Access;
use slate_consent::Registry;
use slate_feed::Feed;
use slate_server::{Inbox, RateLimits, Server, router};
use tower::ServiceExt;

/// The admin's token (adopted as an old `api-token` file is).
pub const TOKEN: &str = "s3cret-token-of-the-admin";

pub struct Api {
    pub app: Router,
    pub runtime: tokio::runtime::Runtime,
    pub dir: tempfile::TempDir,
}

impl Api {
    /// The API over `slate.sqlite` in a scratch folder; with `uploads`
    /// (the largest clip in bytes) clips go to its `inbox` folder; with
    /// `feed`, `/v1/feed` serves the feed in the same file.
    pub fn new(uploads: Option<u64>, feed: bool) -> Api {
        Api::with_limits(uploads, feed, RateLimits::unlimited())
    }

    pub fn with_limits(uploads: Option<u64>, feed: bool, limits: RateLimits) -> Api {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("slate.sqlite");
        let registry = Arc::new(Registry::open(&path).unwrap());
        let feed = feed.then(|| Feed::open(&path, registry.clone()).unwrap());
        let inbox = uploads.map(|max_bytes| {
            let folder = dir.path().join("inbox");
            std::fs::create_dir_all(&folder).unwrap();
            Inbox { folder, max_bytes }
        });
        let access = Arc::new(Access::open(&path).unwrap());
        access.adopt_admin_token(TOKEN).unwrap();
        let server = Server {
            registry,
            access,
            inbox,
            feed,
            limits,
            control: Default::default(),
        };
        Api {
            app: router(server),
            runtime: tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap(),
            dir,
        }
    }

    /// A new member account from a fresh invite: its id and token.
    pub fn member(&self, name: &str) -> (String, String) {
        let (status, invite) = self.post("/v1/admin/invites", &serde_json::json!({ "uses": 1 }));
        assert_eq!(status, StatusCode::CREATED, "{invite}");
        let body = serde_json::json!({ "invite": invite["code"], "name": name });
        let (status, made) = self.send(Method::POST, "/v1/accounts", None, body.to_string());
        assert_eq!(status, StatusCode::CREATED, "{made}");
        (
            made["account"]["id"].as_str().unwrap().to_owned(),
            made["token"]["secret"].as_str().unwrap().to_owned(),
        )
    }

    /// The registry's (and the feed's) file.
    pub fn path(&self) -> PathBuf {
        self.dir.path().join("slate.sqlite")
    }

    pub fn inbox(&self) -> PathBuf {
        self.dir.path().join("inbox")
    }

    /// One request; the status and the JSON reply (null when not JSON).
    pub fn send(&self, method: Method, uri: &str, token: Option<&str>, body: impl Into<Body>) -> (StatusCode, Value) {
        let mut request = Request::builder().method(method).uri(uri);
        if let Some(token) = token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        let request = request.body(body.into()).unwrap();
        self.runtime.block_on(async {
            let response = self.app.clone().oneshot(request).await.unwrap();
            let status = response.status();
            let bytes = response.into_body().collect().await.unwrap().to_bytes();
            (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
        })
    }

    pub fn get(&self, uri: &str) -> (StatusCode, Value) {
        self.send(Method::GET, uri, Some(TOKEN), Body::empty())
    }

    pub fn post(&self, uri: &str, body: &Value) -> (StatusCode, Value) {
        self.send(Method::POST, uri, Some(TOKEN), body.to_string())
    }

    pub fn put(&self, uri: &str, body: &Value) -> (StatusCode, Value) {
        self.send(Method::PUT, uri, Some(TOKEN), body.to_string())
    }
}

/// What every refusal is: a 4xx whose JSON says what is wrong and names
/// the field; `sent` says what was sent, for the failure message.
pub fn refused(status: StatusCode, reply: &Value, sent: &str) -> Result<(), TestCaseError> {
    prop_assert!(status.is_client_error(), "{sent}: {status} {reply}");
    prop_assert!(
        reply["error"].as_str().is_some_and(|e| !e.is_empty()),
        "{sent}: {reply}"
    );
    prop_assert!(
        reply["field"].as_str().is_some_and(|f| !f.is_empty()),
        "{sent}: {reply}"
    );
    Ok(())
}

/// Runs `case` on 1,000 mangling choices (which seed, how, where, with
/// what byte) that it does not reject with `prop_assume!`; each must pass.
pub fn thousand_malformed(seeds: usize, case: impl Fn(usize, u8, usize, u8) -> Result<(), TestCaseError>) {
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
        cases: 1000,
        failure_persistence: None,
        ..ProptestConfig::default()
    });
    let strategy = (0..seeds, any::<u8>(), 0usize..4096, any::<u8>());
    let tried = std::cell::Cell::new(0);
    runner
        .run(&strategy, |(seed, choice, at, byte)| {
            case(seed, choice, at, byte)?;
            tried.set(tried.get() + 1);
            Ok(())
        })
        .unwrap();
    assert_eq!(tried.get(), 1000);
}
