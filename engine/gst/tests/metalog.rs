//! `metalog` driven through `gst_check::Harness`.

use gst::prelude::*;
use gstslate::SlateMeta;
use gstslate::model::Record;

fn init() {
    static INIT: std::sync::Once = std::sync::Once::new();
    INIT.call_once(|| {
        gst::init().unwrap();
        gstslate::plugin_register_static().unwrap();
    });
}

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
    init();
    let pipeline = gst::parse::launch("videotestsrc num-buffers=3 ! shottag shot=s7 ! metalog name=log ! fakesink")
        .unwrap()
        .downcast::<gst::Pipeline>()
        .unwrap();
    let bus = pipeline.bus().unwrap();
    pipeline.set_state(gst::State::Playing).unwrap();
    let mut lines = Vec::new();
    for message in bus.iter_timed(gst::ClockTime::from_seconds(10)) {
        match message.view() {
            gst::MessageView::Element(e) if e.structure().is_some_and(|s| s.name() == "slate-meta") => {
                let json: String = e.structure().unwrap().get("json").unwrap();
                lines.push(serde_json::from_str::<serde_json::Value>(&json).unwrap());
            }
            gst::MessageView::Eos(_) => break,
            gst::MessageView::Error(err) => panic!("{}", err.error()),
            _ => {}
        }
    }
    pipeline.set_state(gst::State::Null).unwrap();
    assert_eq!(lines.len(), 3);
    assert!(lines.iter().all(|l| l["fields"]["shot"] == "s7"));
}

#[test]
fn an_unwritable_location_is_an_error_naming_the_file() {
    init();
    let pipeline = gst::parse::launch("fakesrc num-buffers=1 ! metalog location=/nonexistent/dir/m.jsonl ! fakesink")
        .unwrap()
        .downcast::<gst::Pipeline>()
        .unwrap();
    let _ = pipeline.set_state(gst::State::Playing);
    let error = pipeline
        .bus()
        .unwrap()
        .iter_timed(gst::ClockTime::from_seconds(5))
        .find_map(|m| match m.view() {
            gst::MessageView::Error(e) => Some(format!("{} / {:?}", e.error(), e.debug())),
            _ => None,
        })
        .expect("an error message");
    pipeline.set_state(gst::State::Null).unwrap();
    assert!(
        error.contains("/nonexistent/dir/m.jsonl") && error.contains("location"),
        "{error}"
    );
}
