//! `slate bench generate`: the reference generator at 1280x720 on a scene
//! of 20 objects — natively and as the `storygen` WASM plugin in
//! `wasmsrc` — as frames per second and real-time factor at 25 fps, and
//! the continuity checker: from metadata in cuts per second, from pixels
//! in frames per second natively and as the `continuity` plugin in
//! `wasmstage`.

use std::path::Path;
use std::time::Instant;

use anyhow::Context;
use gst::prelude::*;
use slate_story::Storyboard;
use slate_story::camera::View;
use slate_story::continuity::{Snapshot, check_cut};
use slate_story::pixels::{Look, Shots, Tolerance, judge};
use slate_story::world::shot_starts;

const FPS: f64 = 25.0;

/// A table with 15 things on it and 3 around it, a character, two
/// lights (20 objects with the floor's set), one 10 s dolly shot and a
/// second shot to cut to.
fn storyboard() -> String {
    let mut text = String::from(
        "[storyboard]\ntitle = \"bench\"\nfps = 25\nsize = [1280, 720]\n\n[world.set]\nfloor = [10.0, 10.0]\n\n\
         [[world.prop]]\nid = \"table\"\nshape = \"box\"\nposition = [0.0, 0.0, 0.0]\nsize = [2.0, 0.75, 1.2]\ncolour = \"#8b5a2b\"\n",
    );
    let shapes = ["box", "cylinder", "sphere"];
    for i in 0..18 {
        let (x, z, y) = if i < 15 {
            (-0.8 + 0.4 * f64::from(i % 5), -0.4 + 0.4 * f64::from(i / 5), 0.75)
        } else {
            (-2.0 + 2.0 * f64::from(i - 15), 1.5, 0.0)
        };
        text += &format!(
            "\n[[world.prop]]\nid = \"p{i}\"\nshape = \"{}\"\nposition = [{x}, {y}, {z}]\nsize = [0.15, 0.2, 0.15]\ncolour = \"#{:02x}{:02x}{:02x}\"\nmaterial = \"plastic\"\n",
            shapes[i as usize % 3],
            40 + i * 11,
            200 - i * 7,
            90 + i * 5
        );
    }
    text += "\n[[world.character]]\nid = \"ada\"\nposition = [-1.5, 0.0, 0.5]\ncolour = \"#3a5f8f\"\n\n\
             [[world.light]]\nid = \"key\"\nrole = \"key\"\nposition = [2.0, 3.0, 2.0]\nintensity = 1.0\n\n\
             [[world.light]]\nid = \"fill\"\nrole = \"fill\"\nposition = [-2.5, 2.0, 2.0]\nintensity = 0.4\n\n\
             [[scene]]\nid = \"s\"\n\n[[scene.shot]]\nid = \"wide\"\nduration = 10.0\n\
             camera = { position = [0.0, 1.8, 4.5], target = [0.0, 0.8, 0.0], fov = 45, move = \"dolly\", to = [0.5, 1.6, 3.0] }\n\n\
             [[scene.shot]]\nid = \"close\"\nduration = 10.0\ncamera = { position = [0.8, 1.3, 2.2], target = [0.0, 0.8, 0.0], fov = 20 }\n";
    text
}

pub fn run(seconds: f64) -> anyhow::Result<()> {
    anyhow::ensure!(
        seconds > 0.0 && seconds.is_finite(),
        "--seconds must be a positive number"
    );
    let text = storyboard();
    let board = Storyboard::parse(&text, "bench storyboard").map_err(anyhow::Error::msg)?;
    let shots: Vec<_> = board.shots().map(|(_, s)| s.clone()).collect();
    let starts = shot_starts(&board);
    println!("reference generator, 1280x720, 20 objects (table, 18 props, a character) and 2 lights, this CPU");

    let started = Instant::now();
    let mut frames = 0u32;
    while started.elapsed().as_secs_f64() < seconds {
        let t = f64::from(frames) / FPS % shots[0].duration;
        let view = View::of_shot(&shots[0].camera, shots[0].duration, t, 1280, 720);
        let frame = slate_story::render::render(&board, &starts[0].during(&shots[0], t), &view);
        std::hint::black_box(&frame);
        frames += 1;
    }
    let native = f64::from(frames) / started.elapsed().as_secs_f64();
    println!(
        "{:<40} {native:>8.2} fps {:>8.3}x real time",
        "native (slate-story)",
        native / FPS
    );

    let plugins = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../plugins");
    let built = slate_test_plugins::build(&plugins).map_err(anyhow::Error::msg)?;
    let count = ((native * seconds).ceil() as u32).max(3);
    let pipeline = gst::parse::launch(&format!(
        "wasmsrc name=src num-buffers={count} ! video/x-raw,format=RGBA,width=1280,height=720,framerate=25/1 ! fakesink"
    ))?
    .downcast::<gst::Pipeline>()
    .map_err(|_| anyhow::anyhow!("not a pipeline"))?;
    let src = pipeline.by_name("src").context("wasmsrc")?;
    src.set_property("plugin", built.join("storygen.wasm").display().to_string());
    src.set_property("config", &text);
    // A full frame of ray casting takes longer than a filter's default deadline.
    src.set_property("deadline-ms", 60_000u32);
    let wall = crate::timed(&pipeline)?.as_secs_f64();
    // The prerolled first frame is not timed.
    let wasm = f64::from(count - 1) / wall;
    println!(
        "{:<40} {wasm:>8.2} fps {:>8.3}x real time ({:.2}x native)",
        "WASM plugin (storygen in wasmsrc)",
        wasm / FPS,
        wasm / native
    );

    let view = |i: usize, t: f64| View::of_shot(&shots[i].camera, shots[i].duration, t, 1280, 720);
    let before = Snapshot::of(
        "wide",
        &starts[0].during(&shots[0], shots[0].duration),
        &view(0, shots[0].duration),
    );
    let after = Snapshot::of("close", &starts[1].during(&shots[1], 0.0), &view(1, 0.0));
    let line = Some(([-1.5, 0.0, 0.5], [0.0, 0.0, 0.0]));
    let started = Instant::now();
    let mut checks = 0u64;
    while started.elapsed().as_secs_f64() < seconds.min(1.0) {
        std::hint::black_box(check_cut(&before, &after, &shots[1], line));
        checks += 1;
    }
    println!(
        "{:<40} {:>8.0} cuts/s (from world-state metadata)",
        "continuity checker",
        checks as f64 / started.elapsed().as_secs_f64()
    );

    // From pixels: every frame is summed up and pushed through the cut
    // finder; the cut itself is judged once per shot.
    let frames = [
        slate_story::render::render(
            &board,
            &starts[0].during(&shots[0], shots[0].duration),
            &view(0, shots[0].duration),
        ),
        slate_story::render::render(&board, &starts[1].during(&shots[1], 0.0), &view(1, 0.0)),
    ];
    let mut finder = Shots::default();
    let started = Instant::now();
    let mut looked = 0u64;
    while started.elapsed().as_secs_f64() < seconds {
        let frame = &frames[(looked / 25 % 2) as usize];
        let look = Look::of(&frame.rgba, frame.width, frame.height, frame.width as usize * 4);
        if let Some((_, before)) = finder.push(look) {
            std::hint::black_box(judge(&before, finder.last().expect("pushed"), &Tolerance::default()));
        }
        looked += 1;
    }
    let pixels = looked as f64 / started.elapsed().as_secs_f64();
    println!(
        "{:<40} {pixels:>8.2} fps {:>8.3}x real time (from pixels, native)",
        "continuity checker",
        pixels / FPS
    );
    let count = ((pixels * seconds).ceil() as u32).max(3);
    let pipeline = gst::parse::launch(&format!(
        "videotestsrc num-buffers={count} pattern=smpte ! video/x-raw,format=RGBA,width=1280,height=720,framerate=25/1 \
         ! wasmstage name=check ! fakesink"
    ))?
    .downcast::<gst::Pipeline>()
    .map_err(|_| anyhow::anyhow!("not a pipeline"))?;
    let check = pipeline.by_name("check").context("wasmstage")?;
    check.set_property("plugin", built.join("continuity.wasm").display().to_string());
    let wall = crate::timed(&pipeline)?.as_secs_f64();
    let plugin = f64::from(count - 1) / wall;
    println!(
        "{:<40} {plugin:>8.2} fps {:>8.3}x real time ({:.2}x native; with colour-layout embeddings)",
        "continuity plugin (in wasmstage)",
        plugin / FPS,
        plugin / pixels
    );
    Ok(())
}
