//! `slate bench consent`: frames per second of `consentgate` at 1280x720
//! with one face and with four (two people with a grant, two unknown and
//! blurred), checking every frame and every 5th, side by side with the
//! bare face detector (`onnxinfer model=centerface`) on the same frames.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::{Context, anyhow};
use gst::prelude::*;
use slate_consent::{IdentityKey, Registry, Terms};

const WIDTH: u32 = 1280;
const HEIGHT: u32 = 720;

pub fn run(seconds: f64, faces: &Path) -> anyhow::Result<()> {
    anyhow::ensure!(
        seconds > 0.0 && seconds.is_finite(),
        "--seconds must be a positive number"
    );
    let photo = |name: &str| {
        let path = faces.join(name);
        anyhow::ensure!(
            path.is_file(),
            "{}: missing; run from the repository or give --faces (a folder with grace_hopper.ppm and astronaut.ppm)",
            path.display()
        );
        Ok(path)
    };
    let (grace, eileen) = (photo("grace_hopper.ppm")?, photo("astronaut.ppm")?);
    let scratch = tempfile::tempdir()?;
    let registry_path = scratch.path().join("consent.sqlite");
    let registry = Registry::open(&registry_path)?;
    let key = IdentityKey::generate()?;
    let finder = slate_onnx::faces::FaceFinder::standard()?;
    let grace_embedding = finder.photo_embedding(&slate_onnx::faces::Photo::open(&grace)?)?;
    let id = registry.register(
        "Grace Hopper",
        key.public(),
        &[(grace.display().to_string(), grace_embedding)],
    )?;
    let now = slate_consent::now();
    let terms = Terms {
        grantee: "bench".into(),
        channels: vec!["*".into()],
        uses: vec!["cameo".into()],
        forbidden: Vec::new(),
        valid_from: now - 60,
        valid_until: now + 86_400,
    };
    registry.add_grant(&key.grant("bench-grant", &id, terms))?;

    let runtime = slate_onnx::init()?;
    println!(
        "consentgate at {WIDTH}x{HEIGHT}, ONNX Runtime {} on this CPU ({} threads), about {seconds} s per case",
        runtime.version,
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    println!(
        "{:<7} {:>9} {:>17} {:>12} {:>16}",
        "faces", "interval", "detector (fps)", "gate (fps)", "gate / detector"
    );
    let one = [(&grace, 500, 200, false)];
    let four = [
        (&grace, 40, 40, false),
        (&eileen, 360, 60, false),
        (&grace, 700, 380, true),
        (&eileen, 1000, 400, true),
    ];
    for layout in [&one[..], &four[..]] {
        let frame = scratch.path().join(format!("frame-{}.rgbx", layout.len()));
        compose(layout, &frame)?;
        let probe = fps(&frame, "onnxinfer model=centerface", 3)?.0;
        let frames = ((probe * seconds) as u64).max(30);
        let (detector, _) = fps(&frame, "onnxinfer model=centerface", frames)?;
        for interval in [1, 5] {
            let gate = format!(
                "consentgate registry={} grantee=bench channel=web interval={interval}",
                registry_path.display()
            );
            let (gate_fps, found) = fps(&frame, &gate, frames)?;
            anyhow::ensure!(
                found == layout.len(),
                "the gate saw {found} faces where the frame has {}",
                layout.len()
            );
            println!(
                "{:<7} {interval:>9} {detector:>17.1} {gate_fps:>12.1} {:>15.2}x",
                layout.len(),
                gate_fps / detector
            );
        }
    }
    Ok(())
}

/// Writes one RGBx frame with the photos at their places (mirrored when
/// asked) on black.
fn compose(layout: &[(&std::path::PathBuf, u32, u32, bool)], out: &Path) -> anyhow::Result<()> {
    let mut line = String::from("compositor name=mix background=black");
    for (i, (_, x, y, _)) in layout.iter().enumerate() {
        line += &format!(" sink_{i}::xpos={x} sink_{i}::ypos={y}");
    }
    line += &format!(
        " ! video/x-raw,format=RGBx,width={WIDTH},height={HEIGHT} ! filesink location=\"{}\"",
        out.display()
    );
    for (i, (photo, _, _, mirror)) in layout.iter().enumerate() {
        let flip = if *mirror {
            "videoflip method=horizontal-flip ! "
        } else {
            ""
        };
        line += &format!(
            " filesrc location=\"{}\" ! pnmdec ! imagefreeze num-buffers=1 ! videoconvert ! {flip}mix.sink_{i}",
            photo.display()
        );
    }
    crate::timed(&launch(&line)?).map(|_| ())
}

fn launch(line: &str) -> anyhow::Result<gst::Pipeline> {
    gst::parse::launch(line)?
        .downcast::<gst::Pipeline>()
        .map_err(|_| anyhow!("not a pipeline"))
}

/// Frames per second of `stage` on `frames` copies of the frame in
/// `file`, and how many faces the last frame carried.
fn fps(file: &Path, stage: &str, frames: u64) -> anyhow::Result<(f64, usize)> {
    let line = format!(
        "filesrc location=\"{}\" blocksize={} ! rawvideoparse width={WIDTH} height={HEIGHT} format=rgbx framerate=30/1 \
         ! imagefreeze num-buffers={frames} ! {stage} ! fakesink name=out signal-handoffs=true",
        file.display(),
        WIDTH * HEIGHT * 4
    );
    let faces = Arc::new(AtomicUsize::new(0));
    let seen = faces.clone();
    let pipeline = launch(&line)?;
    {
        let sink = pipeline.by_name("out").context("named in the line")?;
        sink.connect("handoff", false, move |args| {
            let buffer = args[1].get::<gst::Buffer>().expect("a buffer");
            let record = gstslate::SlateMeta::record_of(&buffer);
            seen.store(
                record.objects().iter().filter(|o| o.label == "face").count(),
                Ordering::Relaxed,
            );
            None
        });
    }
    let elapsed = crate::timed(&pipeline)?;
    // The first frame went through while the pipeline prerolled, untimed.
    Ok((
        (frames - 1) as f64 / elapsed.as_secs_f64(),
        faces.load(Ordering::Relaxed),
    ))
}
