//! `slate bench events`: how late the event stream is. N live pipelines
//! (video and audio, so their meters flow too) run under the control
//! plane behind `slate serve`'s router on loopback; marks are posted on
//! their buses in turn and a WebSocket client on `/v1/events` times each
//! from the bus post to its arrival: p50 and p99, next to the 50 ms aim.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, anyhow};
use serde_json::{Value, json};
use slate_control::{Control, Create, Source};

const TOKEN: &str = "slt_benchTokenOfTheAdminForEventLatency0000";

/// A small live pipeline with a picture and a sound.
const PIPELINE: &str = r#"
[pipeline]
links = ["cam ! videoconvert ! picture", "mic ! sound"]
[source.cam]
element = "videotestsrc"
caps = "video/x-raw,width=320,height=180,framerate=30/1"
properties = { is-live = true, pattern = "ball" }
[source.mic]
element = "audiotestsrc"
properties = { is-live = true, samplesperbuffer = 480 }
[sink.picture]
element = "fakesink"
[sink.sound]
element = "fakesink"
"#;

fn unix_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

type Socket = tungstenite::WebSocket<tungstenite::stream::MaybeTlsStream<std::net::TcpStream>>;

/// The next text message, as JSON.
fn read(socket: &mut Socket) -> anyhow::Result<Value> {
    loop {
        if let tungstenite::Message::Text(text) = socket.read()? {
            return Ok(serde_json::from_str(&text)?);
        }
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

pub fn run(pipelines: usize, marks: usize) -> anyhow::Result<()> {
    anyhow::ensure!(
        (1..=32).contains(&pipelines) && marks >= 10,
        "--pipelines 1..=32, --marks >= 10"
    );
    let scratch = tempfile::tempdir()?;
    let path = scratch.path().join("slate.sqlite");
    let registry = Arc::new(slate_consent::Registry::open(&path)?);
    let access = Arc::new(slate_access::Access::with(registry.database().clone()));
    access.adopt_admin_token(TOKEN)?;
    let control = Arc::new(Control::default());
    let mut ids = Vec::new();
    for _ in 0..pipelines {
        let create = Create {
            source: Source::Toml(PIPELINE.into()),
            set: Vec::new(),
            duration: None,
            restart: Default::default(),
        };
        let status = control.create("bench", create)?;
        control.start(&status.id)?;
        ids.push(status.id);
    }
    let server = crate::loopback::serve(slate_server::Server {
        registry,
        access,
        inbox: None,
        feed: None,
        limits: slate_server::RateLimits::unlimited(),
        control: control.clone(),
    })?;
    let address = server.address;
    let (mut socket, _) =
        tungstenite::connect(format!("ws://{address}/v1/events")).context("connecting to /v1/events")?;
    anyhow::ensure!(read(&mut socket)?["op"] == "hello", "no hello");
    let identify = json!({ "op": "identify", "token": TOKEN, "subscriptions": ["pipelines", "meters", "alerts"] });
    socket.send(tungstenite::Message::text(identify.to_string()))?;

    // Let the pipelines settle, then post marks every 10 ms in turn.
    std::thread::sleep(Duration::from_secs(1));
    let poster = {
        let control = control.clone();
        let ids = ids.clone();
        std::thread::spawn(move || -> anyhow::Result<()> {
            for i in 0..marks {
                control.mark(&ids[i % ids.len()], &i.to_string())?;
                std::thread::sleep(Duration::from_millis(10));
            }
            Ok(())
        })
    };
    let mut latencies = Vec::with_capacity(marks);
    let (mut meters, started) = (0usize, Instant::now());
    while latencies.len() < marks {
        anyhow::ensure!(
            started.elapsed() < Duration::from_secs(60 + marks as u64 / 50),
            "marks went missing"
        );
        let message = read(&mut socket)?;
        match (message["op"].as_str(), message["type"].as_str()) {
            (Some("event"), Some("mark")) => {
                let posted = message["data"]["posted-ns"]
                    .as_u64()
                    .ok_or_else(|| anyhow!("a mark without posted-ns"))?;
                latencies.push(Duration::from_nanos(unix_ns().saturating_sub(posted)));
            }
            (Some("event"), Some("meter")) => meters += 1,
            (Some("lagged"), _) => return Err(anyhow!("the client lagged: {message}")),
            _ => {}
        }
    }
    poster.join().map_err(|_| anyhow!("the poster panicked"))??;
    let rate = meters as f64 / started.elapsed().as_secs_f64();
    latencies.sort();
    let (p50, p99) = (percentile(&latencies, 0.50), percentile(&latencies, 0.99));
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!("event latency, bus post -> WebSocket client on loopback, {pipelines} live pipelines:");
    println!("  {marks} marks, with {rate:.0} meter events/s on the same socket");
    println!(
        "  p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        ms(p50),
        ms(p99),
        ms(*latencies.last().unwrap())
    );
    println!("  p99 / aim (50 ms): {:.3}", ms(p99) / 50.0);
    server.stop()?;
    control.stop_all();
    Ok(())
}
