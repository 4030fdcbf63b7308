//! `slate bench`: measured, not asserted. Prints ratios from one run.

use std::time::Instant;

use anyhow::{Context, anyhow};
use clap::Subcommand;
use gst::prelude::*;
use slate_pipeline::{PipelineFile, RunOptions};

use crate::Failure;

/// The demo pipeline the bench measures: exactly the shipped file.
const DEMO: &str = include_str!("../../../pipelines/demo.toml");

#[derive(Subcommand)]
pub enum Bench {
    /// Real-time factor of the demo pipeline at 720p30 and 1080p30.
    Pipeline {
        /// Seconds of media to push through at each size.
        #[arg(long, default_value_t = 10)]
        seconds: u32,
    },
    /// Lua stage hooks: calls per second, trivial and with metadata access.
    Lua {
        /// Seconds to run each case.
        #[arg(long, default_value_t = 2.0)]
        seconds: f64,
    },
    /// ONNX inference: a bare ort loop vs the onnxinfer element, batch 1
    /// and 4, and the face detector at 720p.
    Onnx {
        /// Seconds (about) per case.
        #[arg(long, default_value_t = 5.0)]
        seconds: f64,
    },
    /// C2PA signing and verifying of MP4s vs plain SHA-256 of the same bytes.
    C2pa {
        /// File sizes to measure, in MB.
        #[arg(long, value_delimiter = ',', default_value = "10,200")]
        sizes: Vec<u64>,
        /// Runs per side; the fastest counts.
        #[arg(long, default_value_t = 3)]
        rounds: u32,
    },
    /// The consent gate at 1280x720 with one and four faces, next to the
    /// bare face detector.
    Consent {
        /// Seconds (about) per case.
        #[arg(long, default_value_t = 5.0)]
        seconds: f64,
        /// The folder with the face photos.
        #[arg(long, default_value = "tests/fixtures/faces")]
        faces: std::path::PathBuf,
    },
    /// 8 stems at 48 kHz stereo: mixing, ducking under VAD, live loudness
    /// (real-time factor), and the latency each stage adds.
    Audio {
        /// Seconds of audio per case.
        #[arg(long, default_value_t = 30)]
        seconds: u32,
    },
    /// The reference generator at 1280x720 with 20 objects, natively and
    /// as a WASM plugin, and the continuity checker.
    Generate {
        /// Seconds (about) per case.
        #[arg(long, default_value_t = 5.0)]
        seconds: f64,
    },
    /// The feed's HTTP API: GET /v1/feed p50/p99 with 100k items and 10k
    /// users, and signal ingest (events/s).
    Feed {
        #[arg(long, default_value_t = 100_000)]
        items: usize,
        #[arg(long, default_value_t = 10_000)]
        users: usize,
        /// Timed GET /v1/feed requests.
        #[arg(long, default_value_t = 500)]
        requests: usize,
    },
    /// A per-pixel filter native vs as a WASM component, 1080p RGBA.
    Wasm {
        /// Seconds to run each side.
        #[arg(long, default_value_t = 3.0)]
        seconds: f64,
    },
}

pub fn bench(what: Bench) -> Result<(), Failure> {
    match what {
        Bench::Pipeline { seconds } => pipeline(seconds),
        Bench::Wasm { seconds } => crate::bench_wasm::run(seconds).map_err(Failure::Runtime),
        Bench::Lua { seconds } => lua(seconds).map_err(Failure::Runtime),
        Bench::Onnx { seconds } => crate::bench_onnx::run(seconds).map_err(Failure::Runtime),
        Bench::Consent { seconds, faces } => crate::bench_consent::run(seconds, &faces).map_err(Failure::Runtime),
        Bench::Generate { seconds } => crate::bench_generate::run(seconds).map_err(Failure::Runtime),
        Bench::Audio { seconds } => crate::bench_audio::run(seconds).map_err(Failure::Runtime),
        Bench::Feed { items, users, requests } => {
            crate::bench_feed::run(items, users, requests).map_err(Failure::Runtime)
        }
        Bench::C2pa { sizes, rounds } => crate::bench_c2pa::run(&sizes, rounds).map_err(Failure::Runtime),
    }
}

/// Runs `pipeline` to its end, prepared to PAUSED first so start-up is not
/// timed (a sink prerolls on the first buffer, so that one is not timed
/// either); returns the time from PLAYING to EOS.
pub(crate) fn timed(pipeline: &gst::Pipeline) -> anyhow::Result<std::time::Duration> {
    let bus = pipeline.bus().context("a pipeline has a bus")?;
    pipeline.set_state(gst::State::Paused)?;
    bus.timed_pop_filtered(
        gst::ClockTime::from_seconds(60),
        &[gst::MessageType::AsyncDone, gst::MessageType::Error],
    );
    let started = Instant::now();
    pipeline.set_state(gst::State::Playing)?;
    let outcome = bus.timed_pop_filtered(
        gst::ClockTime::from_seconds(600),
        &[gst::MessageType::Eos, gst::MessageType::Error],
    );
    let elapsed = started.elapsed().max(std::time::Duration::from_micros(1));
    pipeline.set_state(gst::State::Null)?;
    match outcome.as_ref().map(|m| m.view()) {
        Some(gst::MessageView::Eos(_)) => Ok(elapsed),
        Some(gst::MessageView::Error(e)) => Err(anyhow!("{} ({:?})", e.error(), e.debug())),
        _ => Err(anyhow!("the pipeline did not finish in 10 minutes")),
    }
}

fn pipeline(seconds: u32) -> Result<(), Failure> {
    if seconds == 0 {
        return Err(Failure::BadInput(anyhow!("--seconds must be at least 1")));
    }
    println!(
        "demo pipeline (pipelines/demo.toml), {seconds} s of media per size, sources not live, all outputs written"
    );
    println!(
        "{:<10} {:>8} {:>10} {:>10} {:>22}",
        "size", "frames", "wall (s)", "fps", "real-time factor (x30)"
    );
    for (label, width, height) in [("720p30", 1280, 720), ("1080p30", 1920, 1080)] {
        let (frames, wall) = run_demo(width, height, seconds).map_err(Failure::Runtime)?;
        let fps = frames as f64 / wall;
        println!("{label:<10} {frames:>8} {wall:>10.2} {fps:>10.1} {:>21.2}x", fps / 30.0);
    }
    Ok(())
}

/// Runs the demo at `width`x`height` as fast as it goes; returns the video
/// frames pushed and the wall-clock seconds taken.
fn run_demo(width: u32, height: u32, seconds: u32) -> anyhow::Result<(u64, f64)> {
    let scratch = tempfile::tempdir()?;
    let mut file = PipelineFile::parse(DEMO, "pipelines/demo.toml")?;
    file.duration = None;
    let frames = u64::from(seconds) * 30;
    // 1600 samples per buffer at 48 kHz: 30 audio buffers a second.
    let overrides = [
        "camera.is-live=false".to_owned(),
        "mic.is-live=false".to_owned(),
        format!("camera.num-buffers={frames}"),
        format!("mic.num-buffers={frames}"),
        format!("camera.caps=video/x-raw,width={width},height={height},framerate=30/1"),
    ];
    for assignment in &overrides {
        file.apply_override(assignment)
            .context("the shipped demo no longer has `camera` and `mic` sources")?;
    }
    redirect_outputs(&mut file, scratch.path());
    let built = slate_pipeline::build(&file)?;
    built.prepare()?;
    let started = Instant::now();
    slate_pipeline::run(&built.pipeline, RunOptions::default())?;
    Ok((frames, started.elapsed().as_secs_f64()))
}

/// Points every file the pipeline writes into `dir`, keeping file names.
fn redirect_outputs(file: &mut PipelineFile, dir: &std::path::Path) {
    for element in &mut file.elements {
        for prop in &mut element.properties {
            if let slate_pipeline::PropertyValue::Text(path) = &mut prop.value
                && (prop.name == "location" || prop.name.ends_with("-location"))
            {
                let name = std::path::Path::new(path.as_str())
                    .file_name()
                    .map(|n| n.to_owned())
                    .unwrap_or_default();
                *path = dir.join(name).display().to_string();
            }
        }
    }
}

/// Calls of `process(buf)` per second through the same path `luastage` uses.
fn lua(seconds: f64) -> anyhow::Result<()> {
    anyhow::ensure!(
        seconds > 0.0 && seconds.is_finite(),
        "--seconds must be a positive number"
    );
    let budget = std::time::Duration::from_secs_f64(seconds);
    let cases = [
        ("trivial hook", "function process(buf) end"),
        (
            "read pts, set one field",
            "function process(buf) buf:set('shot', buf.pts > 1 and 's2' or 's1') end",
        ),
        (
            "read a field, set two",
            "function process(buf) local t = buf:get('take') or 0 buf:set('take', t + 1) buf:set('seen', true) end",
        ),
    ];
    println!("Lua stage hooks (Lua 5.4, sandboxed, instruction budget on), {seconds} s per case");
    println!("{:<28} {:>14} {:>12}", "", "calls/s", "µs/call");
    for (name, source) in cases {
        let mut script = slate_lua::Script::from_source(
            "bench.lua",
            source,
            std::path::Path::new("."),
            slate_lua::Limits::default(),
        )?;
        let mut record = slate_meta::Record::default();
        record.set("take", 1i64);
        let mut buffer = slate_lua::Buffer::new(Some(2_000_000_000), Some(33_333_333), record);
        let started = Instant::now();
        let mut calls = 0u64;
        while started.elapsed() < budget {
            for _ in 0..1000 {
                script.process(&mut buffer)?;
            }
            calls += 1000;
        }
        let per_second = calls as f64 / started.elapsed().as_secs_f64();
        println!("{name:<28} {per_second:>14.0} {:>12.2}", 1e6 / per_second);
    }
    event_latency(budget)
}

/// Time from an element posting a bus message to the automation script's
/// `slate.on` callback running, measured by the script with `slate.clock()`.
fn event_latency(budget: std::time::Duration) -> anyhow::Result<()> {
    const SCRIPT: &str = r#"
        local seen = {}
        slate.on("element-message", function(name, fields)
          if name == "bench" then seen[#seen + 1] = slate.clock() - fields.sent end
        end)
        function unload()
          table.sort(seen)
          events = #seen
          local sum = 0 for _, l in ipairs(seen) do sum = sum + l end
          mean = sum / #seen
          p50 = seen[math.ceil(#seen * 0.50)]
          p99 = seen[math.ceil(#seen * 0.99)]
          worst = seen[#seen]
        end
    "#;
    let pipeline = slate_pipeline::launch("videotestsrc is-live=true ! fakesink")?;
    let options = slate_lua::Options {
        main: Some(pipeline.clone()),
        ..slate_lua::Options::default()
    };
    let mut automation = slate_lua::Automation::from_source("bench.lua", SCRIPT, std::path::Path::new("."), options)?;
    let sender = std::thread::spawn(move || {
        let started = Instant::now();
        while started.elapsed() < budget {
            let sent = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0.0, |d| d.as_secs_f64());
            let structure = gst::Structure::builder("bench").field("sent", sent).build();
            let _ = pipeline.post_message(gst::message::Element::builder(structure).src(&pipeline).build());
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
    });
    automation.run(Some(budget + std::time::Duration::from_millis(200)))?;
    sender
        .join()
        .map_err(|_| anyhow::anyhow!("the message thread panicked"))?;
    let get = |name: &str| automation.number(name).unwrap_or(f64::NAN);
    println!(
        "event -> callback latency ({} bus messages, one every 2 ms): mean {:.1} µs, p50 {:.1} µs, p99 {:.1} µs, max {:.1} µs",
        get("events"),
        get("mean") * 1e6,
        get("p50") * 1e6,
        get("p99") * 1e6,
        get("worst") * 1e6
    );
    Ok(())
}
