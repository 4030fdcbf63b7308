//! `shottag` driven through `gst_check::Harness`.

mod common;

use common::{init, pipeline, play_to_eos, start_error};
use gstslate::SlateMeta;
use gstslate::model::Value;

fn buffer_at(ms: u64) -> gst::Buffer {
    let mut buffer = gst::Buffer::from_slice(vec![ms as u8; 8]);
    let b = buffer.get_mut().unwrap();
    b.set_pts(gst::ClockTime::from_mseconds(ms));
    b.set_duration(gst::ClockTime::from_mseconds(40));
    buffer
}

fn harness(props: &[(&str, &str)]) -> gst_check::Harness {
    let element = gst::ElementFactory::make("shottag").build().unwrap();
    common::filter_harness(
        &element,
        props,
        "video/x-raw,format=GRAY8,width=8,height=1,framerate=25/1",
    )
}

#[test]
fn stamps_properties_on_every_buffer_and_keeps_bytes() {
    init();
    let mut h = harness(&[
        ("scene", "opening"),
        ("shot", "s1"),
        ("take", "3"),
        ("fields", "f, camera=A, lens=(int)35"),
    ]);
    for ms in [0, 40, 80] {
        h.push(buffer_at(ms)).unwrap();
        let out = h.pull().unwrap();
        assert_eq!(out.pts(), Some(gst::ClockTime::from_mseconds(ms)));
        assert_eq!(out.map_readable().unwrap().as_slice(), &[ms as u8; 8]);
        let record = SlateMeta::record_of(&out);
        assert_eq!(record.get("scene"), Some(&Value::from("opening")));
        assert_eq!(record.get("shot"), Some(&Value::from("s1")));
        assert_eq!(record.get("take"), Some(&Value::Int(3)));
        assert_eq!(record.get("camera"), Some(&Value::from("A")));
        assert_eq!(record.get("lens"), Some(&Value::Int(35)));
    }
}

#[test]
fn cues_switch_shots_at_their_times_and_announce_each_change_once() {
    init();
    let mut h = harness(&[
        ("scene", "demo"),
        ("cues", "0s: shot=s1; 100ms: shot=s2, take=2; 0.2s: shot=s3"),
    ]);
    let mut shots = Vec::new();
    for ms in (0..300).step_by(40) {
        h.push(buffer_at(ms)).unwrap();
        let record = SlateMeta::record_of(&h.pull().unwrap());
        shots.push((ms, record.get("shot").unwrap().to_string(), record.get("take").cloned()));
    }
    let expected = |ms| {
        if ms < 100 {
            "s1"
        } else if ms < 200 {
            "s2"
        } else {
            "s3"
        }
    };
    for (ms, shot, take) in &shots {
        assert_eq!(shot, expected(*ms), "shot at {ms} ms");
        assert_eq!(take.is_some(), shot == "s2", "only the s2 cue sets a take (at {ms} ms)");
    }
}

#[test]
fn shot_changes_are_posted_on_the_bus() {
    let pipeline = pipeline(
        "videotestsrc num-buffers=30 ! video/x-raw,framerate=30/1 ! shottag scene=x cues=\"0s: shot=a; 0.5s: shot=b\" ! fakesink",
    );
    let mut announced = Vec::new();
    play_to_eos(&pipeline, |s| {
        if s.name() == "slate-shot" {
            announced.push((s.get::<String>("shot").unwrap(), s.get::<u64>("stream-time").unwrap()));
        }
    });
    assert_eq!(announced, vec![("a".into(), 0), ("b".into(), 500_000_000)]);
}

#[test]
fn a_tagger_with_nothing_to_stamp_adds_no_meta() {
    init();
    let mut h = harness(&[("cues", "5s: shot=late")]);
    h.push(buffer_at(0)).unwrap();
    assert!(
        h.pull().unwrap().meta::<SlateMeta>().is_none(),
        "no fields before the first cue"
    );
    h.push(buffer_at(5000)).unwrap();
    assert_eq!(
        SlateMeta::record_of(&h.pull().unwrap()).get("shot"),
        Some(&Value::from("late"))
    );
}

#[test]
fn invalid_cues_refuse_to_start_and_say_why() {
    let pipeline = pipeline("fakesrc num-buffers=1 ! shottag cues=\"4s: shot=b; 2s: shot=a\" ! fakesink");
    let error = start_error(&pipeline);
    assert!(
        error.starts_with("Invalid `cues` property") && error.contains("time order"),
        "{error}"
    );
}
