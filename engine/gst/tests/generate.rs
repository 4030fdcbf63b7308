//! The reference generator (`plugins/storygen`) in `wasmsrc`: a storyboard
//! in, frames out with where every object is; the cup stays put across
//! cuts, lands where the metadata says, and the same seed gives the same
//! bytes.

mod common;

use std::sync::{Arc, Mutex};

use common::{pipeline, play_to_eos, plugin};
use gst::prelude::*;
use gstslate::SlateMeta;
use gstslate::model::{Record, Value};

const COFFEE: &str = include_str!("../../../pipelines/storyboards/coffee.toml");

/// `count` frames of the storyboard at 320x180, 25 fps: bytes and metadata.
fn frames(storyboard: &str, count: u32) -> Vec<(Vec<u8>, Record)> {
    common::init();
    let p = pipeline(&format!(
        "wasmsrc name=src num-buffers={count} ! video/x-raw,format=RGBA,width=320,height=180,framerate=25/1 \
         ! fakesink name=out signal-handoffs=true"
    ));
    let src = p.by_name("src").unwrap();
    src.set_property("plugin", plugin("storygen"));
    src.set_property("config", storyboard);
    let seen = Arc::new(Mutex::new(Vec::new()));
    let into = seen.clone();
    p.by_name("out").unwrap().connect("handoff", false, move |args| {
        let buffer = args[1].get::<gst::Buffer>().unwrap();
        let bytes = buffer.map_readable().unwrap().to_vec();
        into.lock().unwrap().push((bytes, SlateMeta::record_of(&buffer)));
        None
    });
    play_to_eos(&p, |_| {});
    std::mem::take(&mut *seen.lock().unwrap())
}

fn float(fields: &std::collections::BTreeMap<String, Value>, key: &str) -> f64 {
    match fields.get(key) {
        Some(Value::Float(v)) => *v,
        other => panic!("{key}: {other:?}"),
    }
}

#[test]
fn the_generator_renders_every_shot_with_the_world_in_its_metadata() {
    // 10 s of storyboard at 25 fps: wide 0-4 s, close 4-7 s, reverse 7-10 s.
    let frames = frames(COFFEE, 250);
    assert_eq!(frames.len(), 250);
    let mut shots = Vec::new();
    let mut cup_world = Vec::new();
    for (bytes, record) in &frames {
        let shot = record.get("shot").and_then(Value::as_text).unwrap().to_owned();
        if shots.last() != Some(&shot) {
            shots.push(shot.clone());
        }
        let cup = record
            .objects()
            .iter()
            .find(|o| o.label == "cup")
            .expect("the cup is in every frame's metadata");
        let world = [
            float(&cup.fields, "world.x"),
            float(&cup.fields, "world.y"),
            float(&cup.fields, "world.z"),
        ];
        cup_world.push((shot, world));
        // Where the metadata puts the cup, the pixels are the cup's green.
        if cup.fields.get("visible") == Some(&Value::Bool(true)) {
            let (x, y) = (
                float(&cup.fields, "screen.x") as usize,
                float(&cup.fields, "screen.y") as usize,
            );
            let at = (y * 320 + x) * 4;
            let (r, g, b) = (bytes[at], bytes[at + 1], bytes[at + 2]);
            assert!(g > r && g > b, "green at the cup's screen position: {r},{g},{b}");
        }
    }
    assert_eq!(shots, ["wide", "close", "reverse"]);
    // Across each cut the cup is exactly where it was.
    for pair in cup_world.windows(2) {
        if pair[0].0 != pair[1].0 {
            assert_eq!(pair[0].1, pair[1].1, "cut {} -> {}", pair[0].0, pair[1].0);
        }
    }
    assert_eq!(cup_world[0].1, [0.2, 0.8, 0.1], "the cup's middle, on the table");
    assert_eq!(cup_world.last().unwrap().1, [0.3, 0.8, 0.0], "where Ada put it down");
    // The event markers: each action on the first frame whose world has it
    // (the close-up starts at frame 100; 0.5 s in is frame 113, 2.0 s is 150),
    // and the cup's world position changes on exactly those frames.
    let events: Vec<(usize, &str)> = frames
        .iter()
        .enumerate()
        .filter_map(|(k, (_, record))| Some((k, record.get("story.events").and_then(Value::as_text)?)))
        .collect();
    assert_eq!(events, [(113, "pick-up cup by ada"), (150, "place cup by ada")]);
    let jumps: Vec<usize> = (100..175).filter(|&k| cup_world[k].1 != cup_world[k - 1].1).collect();
    assert_eq!((jumps.first(), jumps.last()), (Some(&113), Some(&150)), "{jumps:?}");
}

#[test]
fn the_same_seed_gives_the_same_bytes() {
    let once = frames(COFFEE, 3);
    let again = frames(COFFEE, 3);
    assert!(once.iter().zip(&again).all(|(a, b)| a.0 == b.0));
    let reseeded = frames(&COFFEE.replacen("seed = 7", "seed = 8", 1), 3);
    assert!(
        once.iter().zip(&reseeded).any(|(a, b)| a.0 != b.0),
        "the seed changes the floor's grain"
    );
}

#[test]
fn a_bad_storyboard_is_refused_with_its_line() {
    common::init();
    let p = pipeline("wasmsrc name=src num-buffers=1 ! fakesink");
    let src = p.by_name("src").unwrap();
    src.set_property("plugin", plugin("storygen"));
    src.set_property("config", COFFEE.replacen("fov = 12", "fov = 300", 1));
    let error = common::start_error(&p);
    assert!(
        error.contains("storyboard (config):") && error.contains("camera.fov: 300 is out of range"),
        "{error}"
    );
}

/// coffee.toml's stems from storygen in `wasmaudiosrc`, one per channel:
/// the effects sit on the frames `story.events` marks, and every channel
/// is the stem slate-story makes for the shot.
#[test]
fn the_generator_makes_the_storyboards_stems_one_per_channel() {
    common::init();
    // 10 s at 48 kHz in blocks of 4800.
    let p = pipeline(
        "wasmaudiosrc name=src samples-per-buffer=4800 num-buffers=100 \
         ! audio/x-raw,format=F32LE,rate=48000,channels=4,layout=interleaved ! fakesink name=out signal-handoffs=true",
    );
    let src = p.by_name("src").unwrap();
    src.set_property("plugin", plugin("storygen"));
    src.set_property("config", COFFEE);
    let seen = Arc::new(Mutex::new((Vec::new(), None)));
    let into = seen.clone();
    p.by_name("out").unwrap().connect("handoff", false, move |args| {
        let buffer = args[1].get::<gst::Buffer>().unwrap();
        let mut seen = into.lock().unwrap();
        let map = buffer.map_readable().unwrap();
        seen.0.extend(
            map.chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])),
        );
        if seen.1.is_none() {
            seen.1 = SlateMeta::record_of(&buffer).get("stems").cloned();
        }
        None
    });
    play_to_eos(&p, |_| {});
    let (samples, names) = std::mem::take(&mut *seen.lock().unwrap());
    assert_eq!(samples.len(), 480_000 * 4);
    let names = match names {
        Some(Value::TextList(names)) => names,
        other => panic!("stems: {other:?}"),
    };
    assert_eq!(names, ["music", "dialogue", "effects", "ambience"]);
    let channel = |c: usize| -> Vec<f32> { samples.iter().skip(c).step_by(4).copied().collect() };
    // The effects: after silence, sound starts on frames 113 and 150
    // (1920 samples a frame at 25 fps), where the cup is picked up and put down.
    let effects = channel(2);
    let onsets: Vec<usize> = (1..effects.len())
        .filter(|&n| effects[n].abs() > 0.01 && effects[n.saturating_sub(4800)..n].iter().all(|s| s.abs() <= 0.01))
        .collect();
    assert_eq!(onsets, [113 * 1920, 150 * 1920]);
    // Channel by channel, what slate-story makes for the shots.
    let board = slate_story::Storyboard::parse(COFFEE, "coffee.toml").unwrap();
    let close = &board.scenes[0].shots[1];
    let made = slate_story::audio::stems(
        &board,
        close,
        "scene[0].shot[1]",
        board.storyboard.seed,
        &mut slate_story::audio::Unvoiced,
    )
    .unwrap();
    // (The guest's libm may round sin and exp differently in the last bits.)
    let apart = effects[192_000..336_000]
        .iter()
        .zip(&made[0].samples)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max);
    assert_eq!(made[0].samples.len(), 144_000);
    assert!(
        apart < 1e-5,
        "the close-up's effects, from 4 s, are slate-story's: {apart}"
    );
    let music = channel(0);
    assert!(
        music[24_000..192_000].iter().any(|s| s.abs() > 0.02),
        "the bed plays in the wide shot"
    );
    assert!(music[192_000..].iter().all(|s| *s == 0.0), "and only there");
    assert!(channel(1).iter().all(|s| *s == 0.0), "lines are silent in the plugin");
    let ambience = channel(3);
    assert!(ambience[..336_000].iter().all(|s| *s == 0.0) && ambience[336_000..].iter().any(|s| s.abs() > 0.001));
}
