//! `slate-bench` (run as `slate bench ...`): Slate's benchmarks, measured,
//! not asserted; each prints ratios from one run. A binary of its own, so
//! the shipped `slate` links no benchmark code, no pixel kernels and never
//! runs cargo.

use std::io::IsTerminal;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, anyhow};
use clap::{Parser, Subcommand};
use gst::prelude::*;

mod audio;
mod c2pa;
mod consent;
mod events;
mod feed;
mod generate;
mod loopback;
mod lua;
mod onnx;
mod pipeline;
mod wasm;

#[global_allocator]
static ALLOCATOR: slate_provenance::alloc::HugeBlocks = slate_provenance::alloc::HugeBlocks;

/// Measure Slate's performance (`slate bench` runs this).
#[derive(Parser)]
#[command(name = "slate bench", version, about)]
struct Cli {
    #[command(subcommand)]
    what: Bench,
}

#[derive(Subcommand)]
enum Bench {
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
    /// Event latency: bus message -> WebSocket client (p50, p99) with
    /// live pipelines running under the control plane.
    Events {
        #[arg(long, default_value_t = 4)]
        pipelines: usize,
        /// Marks to time.
        #[arg(long, default_value_t = 1000)]
        marks: usize,
    },
    /// A per-pixel filter native vs as a WASM component, 1080p RGBA.
    Wasm {
        /// Seconds to run each side.
        #[arg(long, default_value_t = 3.0)]
        seconds: f64,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none())
        .with_target(false)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("SLATE_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .init();
    match init_gstreamer().and_then(|()| bench(cli.what)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}

fn bench(what: Bench) -> anyhow::Result<()> {
    match what {
        Bench::Pipeline { seconds } => pipeline::run(seconds),
        Bench::Wasm { seconds } => wasm::run(seconds),
        Bench::Lua { seconds } => lua::run(seconds),
        Bench::Onnx { seconds } => onnx::run(seconds),
        Bench::Consent { seconds, faces } => consent::run(seconds, &faces),
        Bench::Generate { seconds } => generate::run(seconds),
        Bench::Audio { seconds } => audio::run(seconds),
        Bench::Feed { items, users, requests } => feed::run(items, users, requests),
        Bench::Events { pipelines, marks } => events::run(pipelines, marks),
        Bench::C2pa { sizes, rounds } => c2pa::run(&sizes, rounds),
    }
}

/// GStreamer with Slate's elements and the gst-plugins-rs elements Slate
/// ships statically, as `slate` starts it.
fn init_gstreamer() -> anyhow::Result<()> {
    gst::init()?;
    gstslate::plugin_register_static()?;
    gsthlssink3::plugin_register_static()?;
    gstfmp4::plugin_register_static()?;
    Ok(())
}

/// Runs `pipeline` to its end, prepared to PAUSED first so start-up is not
/// timed (a sink prerolls on the first buffer, so that one is not timed
/// either); returns the time from PLAYING to EOS.
fn timed(pipeline: &gst::Pipeline) -> anyhow::Result<std::time::Duration> {
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
