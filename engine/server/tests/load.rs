//! A bounded load test over loopback HTTP: one token sending at ten times
//! its rate limit gets at most its burst plus its rate, and 429s with a
//! `Retry-After` that holds; another account in the same run keeps its
//! latency (both p99s printed). Alone in its binary, so no other test
//! shares the machine with it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use slate_access::Access;
use slate_consent::Registry;
use slate_feed::Feed;
use slate_server::{RateLimits, Server, router, serve};

/// The flooded token's read limit: 600 a minute (10 a second), burst 20.
const PER_SECOND: u32 = 10;
const BURST: u32 = 20;
/// The flood: ten times the limit, for this long.
const FLOOD: Duration = Duration::from_secs(3);

struct Live {
    base: String,
    admin: String,
    _stop: tokio::sync::oneshot::Sender<()>,
    _dir: tempfile::TempDir,
}

fn start() -> Live {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("slate.sqlite");
    let registry = Arc::new(Registry::open(&path).unwrap());
    let feed = Feed::open(&path, registry.clone()).unwrap();
    let access = Arc::new(Access::open(&path).unwrap());
    let (_, admin) = access.init_admin("Ada").unwrap();
    let mut limits = RateLimits::default();
    limits.set(&format!("read={}:{BURST}", PER_SECOND * 60)).unwrap();
    limits.set("signal=1000000:100000").unwrap();
    limits.set("write=1000000:100000").unwrap();
    limits.set("upload=1000000:100000").unwrap();
    limits.set("sign_up=1000000:100000").unwrap();
    let app = router(Server {
        registry,
        access,
        inbox: None,
        feed: Some(feed),
        limits,
        control: Default::default(),
    });
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    listener.set_nonblocking(true).unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            serve(listener, app, async {
                let _ = stopped.await;
            })
            .await
            .unwrap();
        });
    });
    Live {
        base,
        admin: admin.secret,
        _stop: stop,
        _dir: dir,
    }
}

fn new_agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(10)))
        .build()
        .into()
}

/// One request: the status, the named headers, the JSON body.
fn send(
    agent: &ureq::Agent,
    method: &str,
    url: &str,
    token: &str,
    body: Option<&Value>,
) -> (u16, ureq::http::HeaderMap, Value) {
    let auth = format!("Bearer {token}");
    let mut response = match (method, body) {
        ("GET", _) => agent.get(url).header("authorization", &auth).call(),
        (_, Some(body)) => agent
            .post(url)
            .header("authorization", &auth)
            .content_type("application/json")
            .send(body.to_string().as_bytes()),
        _ => unreachable!(),
    }
    .unwrap();
    let headers = response.headers().clone();
    let status = response.status().as_u16();
    let body = response.body_mut().read_json().unwrap_or(Value::Null);
    (status, headers, body)
}

fn header(headers: &ureq::http::HeaderMap, name: &str) -> Option<u64> {
    headers.get(name)?.to_str().ok()?.parse().ok()
}

fn p99(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[(samples.len() * 99).div_ceil(100) - 1]
}

/// A new member: its token.
fn member(live: &Live, name: &str) -> String {
    let agent = new_agent();
    let (_, _, invite) = send(
        &agent,
        "POST",
        &format!("{}/v1/admin/invites", live.base),
        &live.admin,
        Some(&json!({"uses": 1})),
    );
    let body = json!({ "invite": invite["code"], "name": name }).to_string();
    let mut response = agent
        .post(format!("{}/v1/accounts", live.base))
        .content_type("application/json")
        .send(body.as_bytes())
        .unwrap();
    let made: Value = response.body_mut().read_json().unwrap();
    made["token"]["secret"].as_str().unwrap().to_owned()
}

#[test]
fn a_flooding_token_is_held_to_its_limit_and_another_account_keeps_its_latency() {
    let live = start();
    let flooder = member(&live, "Flooder");
    let steady = member(&live, "Steady");
    // The steady account reads its slate and signals on it (its own class).
    let agent = new_agent();
    for i in 0..3 {
        let item = json!({"id": format!("item-{i}"), "creator": "c", "duration_s": 10.0, "embedding": [1.0, i as f64],
                          "provenance": "trust", "consent": "clear"});
        assert_eq!(
            send(
                &agent,
                "POST",
                &format!("{}/v1/feed/items", live.base),
                &live.admin,
                Some(&item)
            )
            .0,
            201
        );
    }
    let (status, _, slate) = send(&agent, "GET", &format!("{}/v1/feed?n=1", live.base), &steady, None);
    assert_eq!(status, 200, "{slate}");
    let signal = json!({"signals": [{"event": "e-1", "impression": slate["items"][0]["impression"], "kind": "like"}]});
    let steady_request = {
        let (base, steady) = (live.base.clone(), steady.clone());
        move |agent: &ureq::Agent| {
            let at = Instant::now();
            let (status, _, reply) = send(
                agent,
                "POST",
                &format!("{base}/v1/feed/signals"),
                &steady,
                Some(&signal),
            );
            assert_eq!(status, 200, "{reply}");
            at.elapsed()
        }
    };
    let measure = |n: usize| -> Vec<Duration> {
        let agent = new_agent();
        (0..n).map(|_| steady_request(&agent)).collect()
    };
    let _warm = measure(50);
    let unloaded = p99(measure(300));

    // The flood: ten times the limit, paced, on its own thread.
    let flood = {
        let url = format!("{}/v1/me", live.base);
        let flooder = flooder.clone();
        std::thread::spawn(move || {
            let agent = new_agent();
            let every = Duration::from_secs(1) / (PER_SECOND * 10);
            let start = Instant::now();
            let mut replies = Vec::new();
            let mut next = start;
            while start.elapsed() < FLOOD {
                let (status, headers, _) = send(&agent, "GET", &url, &flooder, None);
                replies.push((start.elapsed(), status, headers));
                next += every;
                if let Some(wait) = next.checked_duration_since(Instant::now()) {
                    std::thread::sleep(wait);
                }
            }
            replies
        })
    };
    let loaded = p99(measure(300));
    let replies = flood.join().unwrap();

    let sent = replies.len();
    let passed: Vec<Duration> = replies.iter().filter(|r| r.1 == 200).map(|r| r.0).collect();
    let refused = replies.iter().filter(|r| r.1 == 429).count();
    assert_eq!(passed.len() + refused, sent, "only 200 and 429");
    let seconds = replies.last().unwrap().0.as_secs_f64();
    println!(
        "flood: {sent} requests in {seconds:.1} s ({:.0}/s against a limit of {PER_SECOND}/s, burst {BURST}): {} passed, {refused} refused",
        sent as f64 / seconds,
        passed.len()
    );
    assert!(
        sent as f64 >= seconds * f64::from(PER_SECOND) * 8.0,
        "the flood reached ~10x the limit"
    );
    let most = f64::from(BURST) + seconds * f64::from(PER_SECOND) + 1.0;
    assert!(passed.len() as f64 <= most, "{} passed; at most {most}", passed.len());
    assert!(
        passed.len() as f64 >= most - 4.0,
        "{} passed; the limit lets {most} through",
        passed.len()
    );
    // In any one second after the burst is spent, at most the rate (and a boundary) passes.
    for window in 1..(seconds as u64) {
        let (from, to) = (Duration::from_secs(window), Duration::from_secs(window + 1));
        let in_window = passed.iter().filter(|t| **t >= from && **t < to).count();
        assert!(
            in_window <= PER_SECOND as usize + 1,
            "{in_window} passed in second {window}"
        );
    }
    for (_, status, headers) in &replies {
        assert_eq!(header(headers, "x-ratelimit-limit"), Some(u64::from(PER_SECOND) * 60));
        assert!(headers.contains_key("ratelimit") && headers.contains_key("ratelimit-policy"));
        if *status == 429 {
            // One request comes back every 0.1 s: a whole second is always enough.
            assert_eq!(header(headers, "retry-after"), Some(1));
            assert_eq!(header(headers, "x-ratelimit-remaining"), Some(0));
        }
    }
    // Retry-After holds: after waiting it, the next request passes.
    let agent = new_agent();
    let url = format!("{}/v1/me", live.base);
    let mut after = None;
    for _ in 0..(BURST + 5) {
        let (status, headers, _) = send(&agent, "GET", &url, &flooder, None);
        if status == 429 {
            after = header(&headers, "retry-after");
            break;
        }
    }
    let after = after.expect("the burst runs out");
    std::thread::sleep(Duration::from_secs(after));
    assert_eq!(
        send(&agent, "GET", &url, &flooder, None).0,
        200,
        "after Retry-After: {after} s"
    );

    println!(
        "another account's p99: {:.2} ms unloaded, {:.2} ms during the flood",
        unloaded.as_secs_f64() * 1e3,
        loaded.as_secs_f64() * 1e3
    );
    assert!(
        loaded <= unloaded * 2,
        "p99 {loaded:?} during the flood against {unloaded:?} without"
    );
}
