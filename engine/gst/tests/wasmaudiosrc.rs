//! `wasmaudiosrc` with the `storygen` generator, driven through
//! `gst_check::Harness`: blocks timed sample by sample, the storyboard's
//! stems one per channel, and the end after `num-buffers`.

mod common;

use common::{f32_samples, init, plugin, pull_to_eos};
use gst::prelude::*;
use gstslate::SlateMeta;
use gstslate::model::Value;

const COFFEE: &str = include_str!("../../../pipelines/storyboards/coffee.toml");
const CAPS: &str = "audio/x-raw,format=F32LE,rate=48000,channels=4,layout=interleaved,channel-mask=(bitmask)0";

fn source(props: &[(&str, &str)]) -> gst_check::Harness {
    init();
    let element = gst::ElementFactory::make("wasmaudiosrc")
        .property("plugin", plugin("storygen"))
        .property("config", COFFEE)
        .build()
        .unwrap();
    for (name, value) in props {
        element.set_property_from_str(name, value);
    }
    let mut h = gst_check::Harness::with_element(&element, None, Some("src"));
    h.set_sink_caps_str(CAPS);
    h.play();
    h
}

#[test]
fn blocks_are_timed_by_their_samples_and_carry_the_storyboards_stems() {
    let mut h = source(&[("samples-per-buffer", "4800"), ("num-buffers", "3")]);
    let blocks = pull_to_eos(&mut h);
    assert_eq!(blocks.len(), 3, "num-buffers, then end-of-stream");
    let mut samples = Vec::new();
    for (n, block) in blocks.iter().enumerate() {
        let n = n as u64;
        assert_eq!(block.pts(), Some(gst::ClockTime::from_mseconds(100 * n)), "block {n}");
        assert_eq!(block.duration(), Some(gst::ClockTime::from_mseconds(100)));
        assert_eq!((block.offset(), block.offset_end()), (4800 * n, 4800 * (n + 1)));
        assert_eq!(block.size(), 4800 * 4 * 4, "4800 frames of 4 F32 channels");
        assert_eq!(
            SlateMeta::record_of(block).get("stems"),
            Some(&Value::TextList(
                ["music", "dialogue", "effects", "ambience"].map(String::from).to_vec()
            ))
        );
        samples.extend(f32_samples(block));
    }
    let caps = h.sinkpad().unwrap().current_caps().unwrap();
    let info = gst_audio::AudioInfo::from_caps(&caps).unwrap();
    assert_eq!((info.rate(), info.channels()), (48_000, 4), "{caps}");
    // Channel 0 is the wide shot's music as slate-story makes it; the
    // others are silent in its first 0.3 s.
    let board = slate_story::Storyboard::parse(COFFEE, "coffee.toml").unwrap();
    let wide = &board.scenes[0].shots[0];
    let made = slate_story::audio::stems(
        &board,
        wide,
        "scene[0].shot[0]",
        board.storyboard.seed,
        &mut slate_story::audio::Unvoiced,
    )
    .unwrap();
    let music = &made.iter().find(|s| s.name == "music").unwrap().samples;
    let channel = |c: usize| -> Vec<f32> { samples.iter().skip(c).step_by(4).copied().collect() };
    let ours = channel(0);
    assert!(ours.iter().any(|s| s.abs() > 1e-3), "the music plays from 0 s");
    let apart = ours
        .iter()
        .zip(music)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max);
    assert!(apart < 1e-5, "the music is slate-story's: {apart}");
    for c in 1..4 {
        assert!(channel(c).iter().all(|s| *s == 0.0), "channel {c}");
    }
}

#[test]
fn two_sources_make_the_same_bytes() {
    let mut a = source(&[("samples-per-buffer", "480")]);
    let mut b = source(&[("samples-per-buffer", "480")]);
    for n in 0..3u64 {
        let (x, y) = (a.pull().unwrap(), b.pull().unwrap());
        assert_eq!(x.pts(), Some(gst::ClockTime::from_mseconds(10 * n)));
        assert_eq!(x.size(), 480 * 16);
        assert_eq!(
            x.map_readable().unwrap().as_slice(),
            y.map_readable().unwrap().as_slice()
        );
    }
}
