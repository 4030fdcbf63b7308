//! `loudnorm`: live normalisation in a pipeline, its stated latency, and
//! a clear refusal of a bad profile; and through `gst_check::Harness`: the
//! look-ahead held back, drained at EOS, timed, and dropped by a flush.

mod common;

use common::{f32_block, f32_samples, flush, pipeline, play_to_eos, pull_to_eos, start_error};
use gst::prelude::*;

#[test]
fn a_stream_lands_near_its_profile_with_nothing_lost() {
    common::init();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.wav");
    // 12 s of a tone at about -31 LUFS, normalised live to -14.
    let p = pipeline(&format!(
        "audiotestsrc wave=sine freq=330 volume=0.04 num-buffers=1200 samplesperbuffer=480 \
         ! audio/x-raw,format=F32LE,rate=48000,channels=2 ! loudnorm profile=streaming \
         ! audioconvert ! wavenc ! filesink location={}",
        out.display()
    ));
    play_to_eos(&p, |_| {});
    let report = slate_audio::measure_file(&out).unwrap();
    println!("{report:?}");
    assert!(
        (report.duration_s - 12.0).abs() < 0.01,
        "every sample comes out: {}",
        report.duration_s
    );
    assert!((report.integrated_lufs.unwrap() + 14.0).abs() <= 1.0, "{report:?}");
    assert!(report.true_peak_dbtp.unwrap() <= -1.0, "{report:?}");
}

#[test]
fn the_latency_query_states_the_look_ahead() {
    common::init();
    let p = pipeline(
        "audiotestsrc is-live=true ! audio/x-raw,format=F32LE,rate=48000,channels=1 ! loudnorm ! fakesink sync=true",
    );
    p.set_state(gst::State::Playing).unwrap();
    let _ = p.state(gst::ClockTime::from_seconds(5));
    let mut query = gst::query::Latency::new();
    assert!(p.query(&mut query));
    let (live, min, _) = query.result();
    p.set_state(gst::State::Null).unwrap();
    assert!(live);
    assert!(min >= gst::ClockTime::from_seconds(3), "{min}");
}

#[test]
fn a_bad_profile_is_refused_at_start() {
    common::init();
    let error = start_error(&pipeline("audiotestsrc ! loudnorm profile=loud ! fakesink"));
    assert!(error.contains("no profile `loud`"), "{error}");
    let custom = pipeline("audiotestsrc num-buffers=5 ! loudnorm profile=custom target=-3 true-peak=-0.5 ! fakesink");
    play_to_eos(&custom, |_| {});
}

const RATE: u64 = 48_000;
const BLOCK: usize = 480;

fn harness(profile: &str) -> gst_check::Harness {
    common::init();
    let element = gst::ElementFactory::make("loudnorm")
        .property("profile", profile)
        .build()
        .unwrap();
    let mut h = gst_check::Harness::with_element(&element, Some("sink"), Some("src"));
    h.set_src_caps_str("audio/x-raw,format=F32LE,rate=48000,channels=1,layout=interleaved");
    h
}

/// Block `n` (480 samples) of a 440 Hz sine of amplitude `amplitude`.
fn sine_block(n: usize, amplitude: f32) -> Vec<f32> {
    (n * BLOCK..(n + 1) * BLOCK)
        .map(|i| amplitude * (2.0 * std::f32::consts::PI * 440.0 * i as f32 / RATE as f32).sin())
        .collect()
}

fn at_ms(ms: u64) -> gst::ClockTime {
    gst::ClockTime::from_mseconds(ms)
}

#[test]
fn harness_holds_the_look_ahead_then_drains_every_sample_in_place_at_eos() {
    let mut h = harness("ebu-r128");
    // 100 ms from 1 s: far less than the 3 s look-ahead, too short to
    // measure (so the gain stays 0 dB).
    let input: Vec<f32> = (0..10).flat_map(|n| sine_block(n, 0.1)).collect();
    for n in 0..10 {
        h.push(f32_block(at_ms(1000 + 10 * n as u64), &sine_block(n, 0.1), 1, RATE))
            .unwrap();
    }
    assert!(h.try_pull().is_none(), "nothing leaves before the look-ahead fills");
    assert!(h.push_event(gst::event::Eos::new()));
    let out = pull_to_eos(&mut h);
    assert_eq!(out.len(), 1, "the drain is one buffer");
    assert_eq!(out[0].pts(), Some(at_ms(1000)), "timed from the first input sample");
    assert_eq!(out[0].duration(), Some(at_ms(100)));
    assert_eq!(out[0].offset(), 0);
    let samples = f32_samples(&out[0]);
    assert_eq!(samples.len(), input.len(), "every sample comes out");
    let apart = samples
        .iter()
        .zip(&input)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f32::max);
    assert!(apart < 1e-6, "unmeasured audio passes unchanged and unshifted: {apart}");
    let caps = h.sinkpad().unwrap().current_caps().unwrap();
    let info = gst_audio::AudioInfo::from_caps(&caps).unwrap();
    assert_eq!((info.rate(), info.channels()), (48_000, 1), "{caps}");
}

#[test]
fn harness_output_is_contiguous_and_turned_up_to_the_profile() {
    // 4 s of a quiet tone (about -31 LUFS) to `streaming` (-14 LUFS).
    let mut h = harness("streaming");
    let blocks = 400;
    let mut out = Vec::new();
    let mut first_out_after = None;
    for n in 0..blocks {
        h.push(f32_block(at_ms(10 * n as u64), &sine_block(n, 0.04), 1, RATE))
            .unwrap();
        while let Some(buffer) = h.try_pull() {
            first_out_after.get_or_insert(n + 1);
            out.push(buffer);
        }
    }
    // The look-ahead (3 s = 300 blocks) plus the limiter's few ms.
    let first = first_out_after.expect("output starts before the end");
    assert!((301..=303).contains(&first), "first output after {first} blocks");
    assert!(h.push_event(gst::event::Eos::new()));
    out.extend(pull_to_eos(&mut h));
    let mut sent = 0u64;
    let mut samples = Vec::new();
    for buffer in &out {
        assert_eq!(buffer.offset(), sent);
        assert_eq!(
            buffer.pts(),
            Some(gst::ClockTime::SECOND.mul_div_floor(sent, RATE).unwrap()),
            "buffers follow each other sample for sample"
        );
        let these = f32_samples(buffer);
        sent += these.len() as u64;
        assert_eq!(
            buffer.pts().unwrap() + buffer.duration().unwrap(),
            gst::ClockTime::SECOND.mul_div_floor(sent, RATE).unwrap()
        );
        samples.extend(these);
    }
    assert_eq!(sent, (blocks * BLOCK) as u64, "every sample comes out");
    // Past the first second, the tone is some 17 dB louder (-31 -> -14).
    let peak = samples[48_000..].iter().fold(0.0f32, |m, s| m.max(s.abs()));
    let gain_db = 20.0 * (peak / 0.04).log10();
    assert!((14.0..=20.0).contains(&gain_db), "turned up by {gain_db:.1} dB");
}

#[test]
fn harness_flush_drops_what_the_look_ahead_held() {
    let mut h = harness("ebu-r128");
    for n in 0..20 {
        h.push(f32_block(at_ms(10 * n as u64), &sine_block(n, 0.5), 1, RATE))
            .unwrap();
    }
    flush(&mut h);
    let after: Vec<f32> = (0..5).flat_map(|n| sine_block(n, 0.1)).collect();
    for n in 0..5 {
        h.push(f32_block(at_ms(5000 + 10 * n as u64), &sine_block(n, 0.1), 1, RATE))
            .unwrap();
    }
    assert!(h.push_event(gst::event::Eos::new()));
    let out = pull_to_eos(&mut h);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].pts(), Some(at_ms(5000)), "timing restarts after the flush");
    assert_eq!(out[0].offset(), 0);
    let samples = f32_samples(&out[0]);
    assert_eq!(samples.len(), after.len(), "only what came after the flush");
    assert!(samples.iter().zip(&after).all(|(a, b)| (a - b).abs() < 1e-6));
}
