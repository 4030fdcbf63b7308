//! `stem` driven through `gst_check::Harness`: gain, pan, automation over
//! stream time and mute on every sample, live changes, a flush.

mod common;

use common::{f32_block, f32_samples, flush, init, pull_to_eos};
use gst::prelude::*;

const RATE: u64 = 48_000;
const FRAMES: usize = 480;

fn harness(props: &[(&str, &str)]) -> gst_check::Harness {
    init();
    let element = gst::ElementFactory::make("stem").build().unwrap();
    common::filter_harness(
        &element,
        props,
        "audio/x-raw,format=F32LE,rate=48000,channels=2,layout=interleaved",
    )
}

/// 10 ms of stereo at 0.5 in both channels, at `ms`.
fn block(ms: u64) -> gst::Buffer {
    f32_block(gst::ClockTime::from_mseconds(ms), &[0.5; 2 * FRAMES], 2, RATE)
}

fn db(gain_db: f64) -> f32 {
    10f64.powf(gain_db / 20.0) as f32
}

/// Left and right channels of a stereo buffer.
fn channels(buffer: &gst::BufferRef) -> (Vec<f32>, Vec<f32>) {
    let samples = f32_samples(buffer);
    (
        samples.iter().step_by(2).copied().collect(),
        samples.iter().skip(1).step_by(2).copied().collect(),
    )
}

fn close(got: &[f32], expected: impl Fn(usize) -> f32, what: &str) {
    assert_eq!(got.len(), FRAMES, "{what}");
    for (i, g) in got.iter().enumerate() {
        let e = expected(i);
        assert!((g - e).abs() < 1e-5, "{what}, frame {i}: {g} vs {e}");
    }
}

#[test]
fn gain_pan_and_automation_apply_to_every_sample_and_mute_silences() {
    // Hard right, -6 dB, and the automation ramping a further -20 dB over
    // the first 10 ms of stream time.
    let mut h = harness(&[("gain", "-6"), ("pan", "1"), ("automation", "0s=0 10ms=-20")]);
    h.push(block(0)).unwrap();
    let out = h.pull().unwrap();
    assert_eq!(out.pts(), Some(gst::ClockTime::ZERO));
    assert_eq!(out.duration(), Some(gst::ClockTime::from_mseconds(10)));
    let (left, right) = channels(&out);
    close(&left, |_| 0.0, "hard right: the left is silent");
    close(
        &right,
        |i| 0.5 * db(-6.0 - 20.0 * i as f64 / FRAMES as f64),
        "the ramp of the automation",
    );

    h.push(block(10)).unwrap();
    let out = h.pull().unwrap();
    assert_eq!(out.pts(), Some(gst::ClockTime::from_mseconds(10)));
    close(
        &channels(&out).1,
        |_| 0.5 * db(-26.0),
        "past the last point the curve holds",
    );

    // Live changes: centred (both channels at full), then muted.
    h.element().unwrap().set_property("pan", 0.0f64);
    h.push(block(20)).unwrap();
    let (left, right) = channels(&h.pull().unwrap());
    close(&left, |_| 0.5 * db(-26.0), "centre, left");
    close(&right, |_| 0.5 * db(-26.0), "centre, right");
    h.element().unwrap().set_property("mute", true);
    h.push(block(30)).unwrap();
    assert!(f32_samples(&h.pull().unwrap()).iter().all(|s| *s == 0.0), "muted");

    // After a flush and a new segment, stream time (and the curve) starts over.
    h.element().unwrap().set_property("mute", false);
    flush(&mut h);
    h.push(block(0)).unwrap();
    let out = h.pull().unwrap();
    assert_eq!(out.pts(), Some(gst::ClockTime::ZERO));
    close(
        &channels(&out).0,
        |i| 0.5 * db(-6.0 - 20.0 * i as f64 / FRAMES as f64),
        "the ramp again",
    );
    assert!(h.push_event(gst::event::Eos::new()));
    assert!(pull_to_eos(&mut h).is_empty());
}

#[test]
fn automation_follows_stream_time_not_buffer_time() {
    // A segment whose stream time starts at 10 ms: a buffer at 0 is 10 ms
    // into the curve.
    let mut h = harness(&[("automation", "0s=0 10ms=-20 20ms=-20")]);
    let mut segment = gst::FormattedSegment::<gst::ClockTime>::new();
    segment.set_time(gst::ClockTime::from_mseconds(10));
    assert!(h.push_event(gst::event::Segment::new(&segment)));
    h.push(block(0)).unwrap();
    let (left, right) = channels(&h.pull().unwrap());
    close(&left, |_| 0.5 * db(-20.0), "left");
    close(&right, |_| 0.5 * db(-20.0), "right");
}
