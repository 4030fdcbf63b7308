//! The `continuity` plugin (analyzer, `plugins/continuity`) in
//! `wasmstage`, behind the reference generator: the cuts it finds from
//! pixels alone are the generator's own shot changes, every frame carries
//! its shot number and running scores, and each break it reports at a cut
//! is also posted on the bus as a `continuity` event.

mod common;

use std::sync::{Arc, Mutex};

use common::{pipeline, play_to_eos, plugin};
use gst::prelude::*;
use gstslate::SlateMeta;
use gstslate::model::{Record, Value};

const COFFEE: &str = include_str!("../../../pipelines/storyboards/coffee.toml");

fn text<'a>(record: &'a Record, key: &str) -> Option<&'a str> {
    record.get(key).and_then(Value::as_text)
}

/// A break posted on the bus: frame, kind, source.
type Event = (i64, String, String);

/// `count` frames of `storyboard` from storygen through the continuity
/// plugin at 320x180, 25 fps: each frame's metadata, and the events.
fn check(storyboard: &str, count: u32) -> (Vec<Record>, Vec<Event>) {
    common::init();
    let p = pipeline(&format!(
        "wasmsrc name=src num-buffers={count} ! video/x-raw,format=RGBA,width=320,height=180,framerate=25/1 \
         ! wasmstage name=check ! fakesink name=out signal-handoffs=true"
    ));
    let src = p.by_name("src").unwrap();
    src.set_property("plugin", plugin("storygen"));
    src.set_property("config", storyboard);
    p.by_name("check").unwrap().set_property("plugin", plugin("continuity"));
    let records = Arc::new(Mutex::new(Vec::new()));
    let into = records.clone();
    p.by_name("out").unwrap().connect("handoff", false, move |args| {
        let buffer = args[1].get::<gst::Buffer>().unwrap();
        into.lock().unwrap().push(SlateMeta::record_of(&buffer));
        None
    });
    let mut events = Vec::new();
    play_to_eos(&p, |s| {
        if s.name() == "slate-plugin-event" && s.get::<String>("name").unwrap() == "continuity" {
            events.push((
                s.get::<i64>("frame").unwrap(),
                s.get::<String>("kind").unwrap(),
                s.get::<String>("source").unwrap(),
            ));
        }
    });
    let records = std::mem::take(&mut *records.lock().unwrap());
    (records, events)
}

/// The frames with a `continuity.world-report`, and the breaks in them.
fn world_reports(records: &[Record]) -> Vec<(usize, Vec<(String, String)>)> {
    (0..records.len())
        .filter_map(|i| {
            let report: serde_json::Value =
                serde_json::from_str(text(&records[i], "continuity.world-report")?).unwrap();
            assert_eq!(report["frame"], i as u64);
            let breaks = report["breaks"]
                .as_array()
                .unwrap()
                .iter()
                .map(|b| {
                    (
                        b["kind"].as_str().unwrap().to_owned(),
                        b["subject"].as_str().unwrap().to_owned(),
                    )
                })
                .collect();
            Some((i, breaks))
        })
        .collect()
}

#[test]
fn cuts_found_from_pixels_are_the_generators_shot_changes() {
    let (records, events) = check(COFFEE, 250);
    assert_eq!(records.len(), 250);
    // Where the generator changes shot, and where the checker saw cuts.
    let changes: Vec<usize> = (1..records.len())
        .filter(|&i| text(&records[i], "shot") != text(&records[i - 1], "shot"))
        .collect();
    let cuts: Vec<usize> = (0..records.len())
        .filter(|&i| records[i].get("continuity.report").is_some())
        .collect();
    assert_eq!(changes, [100, 175], "coffee.toml: 4 s, 3 s and 3 s at 25 fps");
    assert_eq!(cuts, changes, "the checker finds the cuts from pixels alone");
    for (i, record) in records.iter().enumerate() {
        let shot = match record.get("continuity.shot") {
            Some(Value::Int(n)) => *n,
            other => panic!("frame {i}: continuity.shot is {other:?}"),
        };
        assert_eq!(shot, changes.iter().filter(|&&c| c <= i).count() as i64, "frame {i}");
        for key in [
            "subject-consistency",
            "background-consistency",
            "temporal-flicker",
            "motion-smoothness",
        ] {
            match record.get(&format!("continuity.{key}")) {
                Some(Value::Float(v)) => assert!((0.0..=1.0).contains(v), "frame {i}: {key} = {v}"),
                other => panic!("frame {i}: {key} is {other:?}"),
            }
        }
    }
    // Every break in a report is an event on the bus, and nothing else is.
    let mut reported = Vec::new();
    for &cut in &cuts {
        let report: serde_json::Value =
            serde_json::from_str(text(&records[cut], "continuity.report").unwrap()).unwrap();
        assert_eq!(report["frame"], cut as u64);
        assert!(report["scores_before"]["frames"].as_u64().unwrap() > 0, "{report:#}");
        println!("cut at {cut}: {} {}", report["breaks"], report["measures"]);
        for b in report["breaks"].as_array().unwrap() {
            reported.push((cut as i64, b["kind"].as_str().unwrap().to_owned()));
        }
    }
    println!("breaks at the cuts (from pixels; coffee.toml moves the cup and cues the light at them): {reported:?}");
    let from_pixels: Vec<(i64, String)> = events
        .iter()
        .filter(|e| e.2 == "pixels")
        .map(|(frame, kind, _)| (*frame, kind.clone()))
        .collect();
    assert_eq!(from_pixels, reported);
    // The metadata checker sees the same cuts in the world the frames
    // carry, and the world is continuous through them.
    assert_eq!(world_reports(&records), [(100, vec![]), (175, vec![])]);
    assert!(events.iter().all(|e| e.2 == "pixels"), "{events:?}");
}

/// Shot two starts with Ada away from where shot one left her and the
/// camera across the line between Ada and Bo: storygen renders what it
/// is told, and the metadata checker in the plugin names both.
#[test]
fn the_metadata_checker_in_the_plugin_names_breaks_across_a_cut() {
    let board = include_str!("../../../pipelines/storyboards/retake.toml");
    let (records, events) = check(board, 25);
    let off_mark = ("off-mark".to_owned(), "ada".to_owned());
    let line = ("crossed-line".to_owned(), String::new());
    assert_eq!(world_reports(&records), [(13, vec![off_mark, line])]);
    let from_metadata: Vec<&Event> = events.iter().filter(|e| e.2 == "metadata").collect();
    assert_eq!(
        from_metadata,
        [
            &(13, "off-mark".to_owned(), "metadata".to_owned()),
            &(13, "crossed-line".to_owned(), "metadata".to_owned())
        ]
    );
}

#[test]
fn a_bad_config_is_refused_naming_the_field() {
    common::init();
    let p = pipeline(
        "videotestsrc num-buffers=1 ! video/x-raw,format=RGBA,width=32,height=18 ! wasmstage name=check ! fakesink",
    );
    let check = p.by_name("check").unwrap();
    check.set_property("plugin", plugin("continuity"));
    check.set_property("config", r#"{"embeddings": "yes"}"#);
    let error = common::start_error(&p);
    assert!(error.contains("`embeddings` must be true or false"), "{error}");
}
