//! `loudnorm`: live normalisation in a pipeline, its stated latency, and
//! a clear refusal of a bad profile.

mod common;

use common::{pipeline, play_to_eos, start_error};
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
