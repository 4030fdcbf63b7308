//! `metalog` driven through `gst_check::Harness`.

mod common;

use common::{init, pipeline, play_to_eos, start_error};
use gstslate::SlateMeta;
use gstslate::model::Record;

fn tagged_buffer(ms: u64, shot: Option<&str>) -> gst::Buffer {
    let mut buffer = gst::Buffer::from_slice(vec![7u8; 4]);
    let b = buffer.get_mut().unwrap();
    b.set_pts(gst::ClockTime::from_mseconds(ms));
    if let Some(shot) = shot {
        let mut record = Record::default();
        record.set("shot", shot);
        let face = record.add_object("face");
        record.object_mut(face).unwrap().confidence = Some(0.9);
        SlateMeta::add(b, record);
    }
    buffer
}

#[test]
fn writes_one_json_line_per_buffer_and_passes_buffers_unchanged() {
    init();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("meta.jsonl");
    let element = gst::ElementFactory::make("metalog")
        .name("log")
        .property("location", path.to_str().unwrap())
        .build()
        .unwrap();
    let mut h = gst_check::Harness::with_element(&element, Some("sink"), Some("src"));
    h.set_src_caps_str("application/octet-stream");
    let inputs = [(0, Some("s1")), (40, None), (80, Some("s2"))];
    for (ms, shot) in inputs {
        let input = tagged_buffer(ms, shot);
        h.push(input.clone()).unwrap();
        let out = h.pull().unwrap();
        assert_eq!(out.pts(), input.pts());
        assert_eq!(out.map_readable().unwrap().as_slice(), &[7u8; 4]);
        assert_eq!(
            SlateMeta::record_of(&out),
            SlateMeta::record_of(&input),
            "meta passes through"
        );
    }

    // Lines are on disk as soon as each buffer passed, before EOS or stop.
    let text = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<serde_json::Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[0]["element"], "log");
    assert_eq!(lines[0]["pts_ns"], 0);
    assert_eq!(lines[0]["fields"]["shot"], "s1");
    assert_eq!(lines[0]["objects"][0]["label"], "face");
    assert!(
        lines[1].get("fields").is_none(),
        "an untagged buffer logs timing only: {}",
        lines[1]
    );
    assert_eq!(lines[2]["pts"], 0.08);
    assert_eq!(lines[2]["fields"]["shot"], "s2");
    drop(h);
}

#[test]
fn without_location_lines_go_to_the_bus() {
    let pipeline = pipeline("videotestsrc num-buffers=3 ! shottag shot=s7 ! metalog name=log ! fakesink");
    let mut lines = Vec::new();
    play_to_eos(&pipeline, |s| {
        if s.name() == "slate-meta" {
            let json: String = s.get("json").unwrap();
            lines.push(serde_json::from_str::<serde_json::Value>(&json).unwrap());
        }
    });
    assert_eq!(lines.len(), 3);
    assert!(
        lines
            .iter()
            .all(|l| l["fields"]["shot"] == "s7" && l["element"] == "log")
    );
}

#[test]
fn an_unwritable_location_is_an_error_naming_the_file() {
    let pipeline = pipeline("fakesrc num-buffers=1 ! metalog location=/nonexistent/dir/m.jsonl ! fakesink");
    let error = start_error(&pipeline);
    assert!(
        error.starts_with("Could not create the metadata log /nonexistent/dir/m.jsonl (property `location`)"),
        "{error}"
    );
}
