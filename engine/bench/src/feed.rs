//! `slate bench feed`: `GET /v1/feed` latency (p50, p99) over real HTTP on
//! loopback with 100k items and 10k users in the store, and the rate at
//! which `POST /v1/feed/signals` takes events in, batched.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow};
use slate_feed::rng::Rng;
use slate_feed::{Consent, Feed, NewItem, Provenance, Steering};

const TOKEN: &str = "bench-token-of-the-admin";

/// One request, `Connection: close`; the status and the body.
fn request(address: SocketAddr, method: &str, path: &str, body: &str) -> anyhow::Result<(u16, String)> {
    let mut stream = TcpStream::connect(address)?;
    stream.set_read_timeout(Some(Duration::from_secs(60)))?;
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: bench\r\nAuthorization: Bearer {TOKEN}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    let status = response
        .get(9..12)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| anyhow!("no HTTP status in {response:.80}"))?;
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    Ok((status, body))
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

pub fn run(items: usize, users: usize, requests: usize) -> anyhow::Result<()> {
    anyhow::ensure!(
        items >= 100 && users >= 1 && requests >= 10,
        "--items >= 100, --users >= 1, --requests >= 10"
    );
    let scratch = tempfile::tempdir()?;
    let path = scratch.path().join("slate.sqlite");
    let registry = Arc::new(slate_consent::Registry::open(&path)?);
    let mut feed = Feed::open(&path, registry.clone())?;
    let mut rng = Rng::new(7);
    let started = Instant::now();
    let now = slate_feed::now();
    for i in 0..items {
        let provenance = match i % 50 {
            0 => Provenance::Throttle,
            1 => Provenance::Reject,
            _ => Provenance::Trust,
        };
        feed.publish(NewItem {
            id: format!("item-{i}"),
            creator: format!("creator-{}", rng.below(2000)),
            title: String::new(),
            tags: vec![format!("tag-{}", rng.below(40))],
            duration_s: 10.0 + rng.below(600) as f64,
            // 384 numbers, like MiniLM's text embeddings.
            embedding: (0..384).map(|_| rng.normal() as f32).collect(),
            provenance,
            throttle_rate: None,
            consent: if i % 97 == 0 { Consent::Flagged } else { Consent::Clear },
            grants: Vec::new(),
            published_at: Some(now - rng.below(30 * 86_400) as i64),
        })?;
    }
    for u in 0..users {
        let mut dials = Steering::default();
        match u % 10 {
            0 => dials.less_tags.push(format!("tag-{}", u % 40)),
            1 => dials.follow.push(format!("creator-{}", u % 2000)),
            2 => dials.novelty = 0.5,
            _ => {}
        }
        feed.set_steering(&format!("user-{u}"), dials)?;
    }
    println!(
        "store: {items} items (384-d embeddings), {users} users, set up in {:.1} s; GET /v1/feed?n=10 over loopback HTTP",
        started.elapsed().as_secs_f64()
    );

    let access = std::sync::Arc::new(slate_access::Access::with(registry.database().clone()));
    access.adopt_admin_token(TOKEN)?;
    let server = crate::loopback::serve(slate_server::Server {
        registry,
        access,
        inbox: None,
        feed: Some(feed),
        // What is measured is the feed, not the limits.
        limits: slate_server::RateLimits::unlimited(),
        control: Default::default(),
    })?;
    let address = server.address;

    let mut latencies = Vec::with_capacity(requests);
    let mut impressions: Vec<String> = Vec::new();
    for r in 0..requests + 5 {
        let user = format!("user-{}", rng.below(users));
        let at = Instant::now();
        let (status, body) = request(address, "GET", &format!("/v1/feed?user={user}&n=10"), "")?;
        let took = at.elapsed();
        anyhow::ensure!(status == 200, "GET /v1/feed: HTTP {status}: {body}");
        // The first few warm the caches and are not counted.
        if r >= 5 {
            latencies.push(took);
        }
        let slate: serde_json::Value = serde_json::from_str(&body).context("the slate is JSON")?;
        impressions.extend(
            slate["items"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|i| i["impression"].as_str().map(str::to_owned)),
        );
    }
    latencies.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "{:<26} {:>8} {:>8} {:>8} {:>8}",
        "GET /v1/feed", "requests", "p50 ms", "p99 ms", "max ms"
    );
    println!(
        "{:<26} {:>8} {:>8.2} {:>8.2} {:>8.2}",
        "",
        latencies.len(),
        ms(percentile(&latencies, 0.5)),
        ms(percentile(&latencies, 0.99)),
        ms(*latencies.last().expect("requests >= 10"))
    );

    // Signals: impression + watch + like/skip per served item, 250 a batch.
    let kinds = [
        r#""kind":"impression""#,
        r#""kind":"watch","seconds":12"#,
        r#""kind":"like""#,
        r#""kind":"skip","seconds":3"#,
    ];
    let events: Vec<String> = impressions
        .iter()
        .enumerate()
        .flat_map(|(i, id)| {
            kinds
                .iter()
                .enumerate()
                .map(move |(k, kind)| format!(r#"{{"event":"e{i}-{k}","impression":"{id}",{kind}}}"#))
        })
        .collect();
    let started = Instant::now();
    let mut accepted = 0;
    for batch in events.chunks(250) {
        let body = format!(r#"{{"signals":[{}]}}"#, batch.join(","));
        let (status, reply) = request(address, "POST", "/v1/feed/signals", &body)?;
        anyhow::ensure!(status == 200, "POST /v1/feed/signals: HTTP {status}: {reply}");
        accepted += serde_json::from_str::<serde_json::Value>(&reply)?["accepted"]
            .as_u64()
            .unwrap_or(0);
    }
    let elapsed = started.elapsed().as_secs_f64();
    // The same events again: all duplicates, counted once.
    let (_, reply) = request(
        address,
        "POST",
        "/v1/feed/signals",
        &format!(r#"{{"signals":[{}]}}"#, events[..250.min(events.len())].join(",")),
    )?;
    println!(
        "{:<26} {:>8} {:>10} {:>12}",
        "POST /v1/feed/signals", "events", "seconds", "events/s"
    );
    println!(
        "{:<26} {:>8} {:>10.2} {:>12.0}",
        "(250 per batch)",
        accepted,
        elapsed,
        accepted as f64 / elapsed
    );
    println!("a batch sent twice: {reply}");
    server.stop()?;
    Ok(())
}
