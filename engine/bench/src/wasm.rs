//! `slate bench wasm`: the brightness kernel natively and inside the
//! `brightness` component, on the same 1920x1080 RGBA frame, side by side.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Context;
use slate_meta::Record;
use slate_wasm::{FrameInfo, Host, Limits, PixelFormat, Stage};

const WIDTH: u32 = 1920;
const HEIGHT: u32 = 1080;
const DELTA: i16 = 24;

pub fn run(seconds: f64) -> anyhow::Result<()> {
    anyhow::ensure!(
        seconds > 0.0 && seconds.is_finite(),
        "--seconds must be a positive number"
    );
    let budget = Duration::from_secs_f64(seconds);
    let plugins = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../plugins");
    let built = slate_test_plugins::build(&plugins).map_err(anyhow::Error::msg)?;
    let wasm = built.join("brightness.wasm");
    let frame: Vec<u8> = (0..WIDTH * HEIGHT * 4).map(|i| (i % 251) as u8).collect();
    let megabytes = frame.len() as f64 / 1e6;

    // Start-up: compile with an empty cache, then read the cached code back.
    let cache = tempfile::tempdir()?;
    let started = Instant::now();
    Host::new(Some(cache.path().to_owned()))?.load(&wasm)?;
    let cold = started.elapsed();
    let host = Host::new(Some(cache.path().to_owned()))?;
    let started = Instant::now();
    let plugin = host.load(&wasm)?;
    let warm = started.elapsed();
    let started = Instant::now();
    let mut stage = Stage::new(
        plugin,
        &format!("{{\"delta\": {DELTA}}}"),
        Limits {
            deadline: Duration::from_secs(5),
            ..Limits::default()
        },
    )
    .context("the brightness plugin did not start")?;
    let instantiate = started.elapsed();

    let mut native_frame = frame.clone();
    let native = per_second(budget, || slate_kernels::brighten_packed(&mut native_frame, DELTA));
    let mut copy = vec![0u8; frame.len()];
    let copies = per_second(budget, || copy.copy_from_slice(std::hint::black_box(&frame)));
    let info = FrameInfo {
        width: WIDTH,
        height: HEIGHT,
        format: PixelFormat::Rgba,
        stride: WIDTH * 4,
        pts: None,
        duration: None,
    };
    let meta = Record::default();
    let mut failed = None;
    let component = per_second(budget, || {
        if let Err(fault) = stage.process_frame(info, &frame, &meta) {
            failed = Some(fault);
        }
    });
    if let Some(fault) = failed {
        anyhow::bail!("the brightness plugin failed during the benchmark: {fault}");
    }
    let (mut check, _) = stage.process_frame(info, &frame, &meta)?;
    let mut expected = frame.clone();
    slate_kernels::brighten_packed(&mut expected, DELTA);
    anyhow::ensure!(
        check == expected,
        "the component's output differs from the native kernel's"
    );
    check.clear();

    let ms = |per_second: f64| 1000.0 / per_second;
    println!("per-pixel brightness, {WIDTH}x{HEIGHT} RGBA ({megabytes:.1} MB a frame), {seconds} s per side");
    println!("{:<34} {:>10} {:>12}", "", "frames/s", "ms/frame");
    println!(
        "{:<34} {:>10.1} {:>12.2}",
        "native (in-process Rust)",
        native,
        ms(native)
    );
    println!(
        "{:<34} {:>10.1} {:>12.2}",
        "WASM component (copy in + out)",
        component,
        ms(component)
    );
    println!("{:<34} {:>10.1} {:>12.2}", "memcpy of one frame", copies, ms(copies));
    println!("component / native: {:.2}x", component / native);
    let crossing = 2.0 * ms(copies);
    println!(
        "where the component's time goes: ~{:.2} ms copying the frame in and out (2 memcpy), ~{:.2} ms the rest (kernel, calls)",
        crossing,
        (ms(component) - crossing).max(0.0)
    );
    println!(
        "start: cold {:.1} ms (compile), warm {:.1} ms (precompiled cache), instance + init {:.2} ms",
        cold.as_secs_f64() * 1e3,
        warm.as_secs_f64() * 1e3,
        instantiate.as_secs_f64() * 1e3
    );
    Ok(())
}

/// Runs `work` repeatedly for about `budget`; returns runs per second.
fn per_second(budget: Duration, mut work: impl FnMut()) -> f64 {
    work(); // warm caches and code
    let started = Instant::now();
    let mut runs = 0u64;
    while started.elapsed() < budget {
        work();
        runs += 1;
    }
    runs as f64 / started.elapsed().as_secs_f64()
}
