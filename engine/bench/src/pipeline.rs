//! The demo pipeline's real-time factor.

use std::time::Instant;

use anyhow::{Context, anyhow};
use slate_pipeline::{PipelineFile, RunOptions};

/// The demo pipeline the bench measures: exactly the shipped file.
const DEMO: &str = include_str!("../../../pipelines/demo.toml");

pub fn run(seconds: u32) -> anyhow::Result<()> {
    if seconds == 0 {
        return Err(anyhow!("--seconds must be at least 1"));
    }
    println!(
        "demo pipeline (pipelines/demo.toml), {seconds} s of media per size, sources not live, all outputs written"
    );
    println!(
        "{:<10} {:>8} {:>10} {:>10} {:>22}",
        "size", "frames", "wall (s)", "fps", "real-time factor (x30)"
    );
    for (label, width, height) in [("720p30", 1280, 720), ("1080p30", 1920, 1080)] {
        let (frames, wall) = run_demo(width, height, seconds)?;
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
