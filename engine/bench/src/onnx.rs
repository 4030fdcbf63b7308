//! `slate bench onnx`: the same model and inputs through a bare `ort`
//! session loop and through `videotestsrc ! onnxinfer ! fakesink`, side by
//! side in one run, for batch 1 and 4; then the face detector at 720p.

use std::time::Instant;

use anyhow::{Context, anyhow};
use gst::prelude::*;
use ort::session::Session;
use ort::value::TensorRef;

/// Frames the element sees (the bare loop runs the same number).
const WIDTH: u32 = 640;
const HEIGHT: u32 = 360;
/// This machine is shared and noisy: both sides run this many times,
/// alternating, and the medians are compared.
const ROUNDS: usize = 3;

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

pub fn run(seconds: f64) -> anyhow::Result<()> {
    anyhow::ensure!(
        seconds > 0.0 && seconds.is_finite(),
        "--seconds must be a positive number"
    );
    let runtime = slate_onnx::init()?;
    let model = slate_onnx::open(&slate_onnx::Options::new("centerface"))?;
    println!(
        "ONNX Runtime {} ({}), CenterFace, {WIDTH}x{HEIGHT} frames (input padded to {}x{}), about {seconds} s per case",
        runtime.version,
        model.provider,
        WIDTH,
        HEIGHT.div_ceil(32) * 32
    );
    println!(
        "{:<8} {:>16} {:>18} {:>8}   (median of {ROUNDS} alternating rounds each)",
        "batch", "bare ort (fps)", "onnxinfer (fps)", "ratio"
    );
    for batch in [1usize, 4] {
        let frames = frames_for(seconds / ROUNDS as f64, batch, &model.spec.path)?;
        let mut bare = Vec::new();
        let mut through = Vec::new();
        for _ in 0..ROUNDS {
            bare.push(bare_ort(&model.spec.path, batch, frames)?);
            through.push(element(WIDTH, HEIGHT, batch, frames)?);
        }
        let (bare, through) = (median(bare), median(through));
        println!("{batch:<8} {bare:>16.1} {through:>18.1} {:>7.2}x", through / bare);
    }
    let frames = frames_for(seconds, 1, &model.spec.path)? / 3;
    let fps = element(1280, 720, 1, frames.max(5))?;
    println!("face detector at 1280x720 (input 1280x736), batch 1: {fps:.1} fps");
    Ok(())
}

/// How many frames take about `seconds` for the bare loop.
fn frames_for(seconds: f64, batch: usize, path: &std::path::Path) -> anyhow::Result<u64> {
    let probe = bare_ort(path, batch, (2 * batch) as u64)?;
    Ok(((probe * seconds) as u64).max(2 * batch as u64))
}

/// Frames per second of a plain ort session running the model on a
/// prepared input, as a program using ort directly would.
fn bare_ort(path: &std::path::Path, batch: usize, frames: u64) -> anyhow::Result<f64> {
    let mut session = Session::builder()?.commit_from_file(path)?;
    let height = HEIGHT.div_ceil(32) * 32;
    let shape = [batch as i64, 3, height as i64, WIDTH as i64];
    let input: Vec<f32> = (0..batch * 3 * height as usize * WIDTH as usize)
        .map(|i| (i % 251) as f32)
        .collect();
    let runs = frames.div_ceil(batch as u64);
    let started = Instant::now();
    for _ in 0..runs {
        let outputs = session.run(ort::inputs!["input.1" => TensorRef::from_array_view((shape, input.as_slice()))?])?;
        let (_, heat) = outputs[0].try_extract_tensor::<f32>()?;
        std::hint::black_box(heat);
    }
    Ok((runs * batch as u64) as f64 / started.elapsed().as_secs_f64())
}

/// Frames per second through the element, source to sink.
fn element(width: u32, height: u32, batch: usize, frames: u64) -> anyhow::Result<f64> {
    let pipeline = gst::parse::launch(&format!(
        "videotestsrc num-buffers={frames} pattern=smpte ! video/x-raw,format=BGRx,width={width},height={height} \
         ! onnxinfer model=centerface batch-size={batch} ! fakesink"
    ))?
    .downcast::<gst::Pipeline>()
    .map_err(|_| anyhow!("not a pipeline"))?;
    let elapsed = crate::timed(&pipeline).context("onnxinfer")?;
    Ok(frames as f64 / elapsed.as_secs_f64())
}
