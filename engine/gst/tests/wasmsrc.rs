//! `wasmsrc` with the `testcard` generator plugin.

mod common;

use common::{init, plugin};
use gst::prelude::*;
use gstslate::SlateMeta;
use gstslate::model::BoundingBox;

fn source(config: &str, caps: &str) -> gst_check::Harness {
    init();
    let element = gst::ElementFactory::make("wasmsrc")
        .property("plugin", plugin("testcard"))
        .property("config", config)
        .build()
        .unwrap();
    let mut h = gst_check::Harness::with_element(&element, None, Some("src"));
    h.set_sink_caps_str(caps);
    h.play();
    h
}

const CAPS: &str = "video/x-raw,format=RGBA,width=16,height=8,framerate=2/1";

fn pixel(frame: &[u8], x: usize, y: usize) -> [u8; 4] {
    let at = (y * 16 + x) * 4;
    frame[at..at + 4].try_into().unwrap()
}

#[test]
fn the_testcard_draws_bars_and_a_box_where_its_metadata_says() {
    let mut h = source(r#"{"period": 4}"#, CAPS);
    let frames: Vec<gst::Buffer> = (0..5).map(|_| h.pull().unwrap()).collect();
    for (n, frame) in frames.iter().enumerate() {
        assert_eq!(
            frame.pts(),
            Some(gst::ClockTime::from_mseconds(500 * n as u64)),
            "frame {n}"
        );
        assert_eq!(frame.duration(), Some(gst::ClockTime::from_mseconds(500)));
    }
    // At 0 s the 2x2 box is at the left; at 2 s (half the period) it is at
    // (16 - 2) / 2 = 7. Rows 3 and 4 hold it.
    for (frame, left) in [(&frames[0], 0usize), (&frames[4], 7)] {
        let bytes = frame.map_readable().unwrap();
        assert_eq!(bytes.len(), 16 * 8 * 4);
        let record = SlateMeta::record_of(frame);
        assert_eq!(record.objects()[0].label, "box");
        assert_eq!(
            record.objects()[0].bbox,
            Some(BoundingBox {
                x: left as f32,
                y: 3.0,
                w: 2.0,
                h: 2.0
            })
        );
        assert_eq!(pixel(&bytes, left, 3), [255, 255, 255, 255], "box");
        assert_eq!(pixel(&bytes, left + 1, 4), [255, 255, 255, 255], "box");
        assert_eq!(pixel(&bytes, 15, 0), [0, 0, 0, 255], "last bar is black");
        assert_eq!(pixel(&bytes, 2, 0), [255, 255, 0, 255], "second bar is yellow");
    }
}

#[test]
fn the_same_time_gives_the_same_bytes() {
    let mut a = source("", CAPS);
    let mut b = source("", CAPS);
    for _ in 0..3 {
        let (x, y) = (a.pull().unwrap(), b.pull().unwrap());
        assert_eq!(
            x.map_readable().unwrap().as_slice(),
            y.map_readable().unwrap().as_slice()
        );
    }
}

#[test]
fn a_bad_config_refuses_to_start() {
    init();
    let p = common::pipeline(&format!(
        "wasmsrc plugin={} config=\"{{\\\"period\\\": -1}}\" ! fakesink",
        plugin("testcard")
    ));
    let error = common::start_error(&p);
    assert!(
        error.contains("refused to start (property `config`)") && error.contains("`period` must be a positive number"),
        "{error}"
    );
    let p = common::pipeline(&format!("wasmsrc plugin={} ! fakesink", plugin("brightness")));
    let error = common::start_error(&p);
    assert!(
        error.contains("is a video-filter plugin; wasmsrc runs video generator plugins"),
        "{error}"
    );
}

fn flaky(policy: &str) -> gst_check::Harness {
    init();
    let element = gst::ElementFactory::make("wasmsrc")
        .property("plugin", plugin("flaky_source"))
        .property("num-buffers", 6i32)
        .build()
        .unwrap();
    element.set_property_from_str("on-error", policy);
    let mut h = gst_check::Harness::with_element(&element, None, Some("src"));
    h.set_sink_caps_str("video/x-raw,format=GRAY8,width=4,height=4,framerate=10/1");
    h.play();
    h
}

#[test]
fn under_passthrough_a_failed_frame_repeats_the_last_good_one_on_time() {
    let mut h = flaky("passthrough");
    let frames: Vec<(u64, u8)> = (0..6)
        .map(|_| {
            let b = h.pull().unwrap();
            (b.pts().unwrap().mseconds(), b.map_readable().unwrap()[0])
        })
        .collect();
    assert_eq!(frames, [(0, 0), (100, 0), (200, 2), (300, 2), (400, 4), (500, 4)]);
    assert_eq!(h.element().unwrap().property::<u64>("faults"), 3);
}

#[test]
fn under_drop_a_failed_frame_leaves_a_gap() {
    let mut h = flaky("drop");
    let frames: Vec<(u64, u8)> = (0..3)
        .map(|_| {
            let b = h.pull().unwrap();
            (b.pts().unwrap().mseconds(), b.map_readable().unwrap()[0])
        })
        .collect();
    assert_eq!(frames, [(0, 0), (200, 2), (400, 4)]);
    let mut gaps = Vec::new();
    while let Some(event) = h.try_pull_event() {
        if let gst::EventView::Gap(gap) = event.view() {
            gaps.push(gap.get().0.mseconds());
        }
    }
    assert_eq!(&gaps[..2], [100, 300]);
}

/// Live, the generator makes frames in real time, stamped with the running
/// time they are made at, like a camera.
#[test]
fn a_live_generator_runs_in_real_time() {
    init();
    let pipeline = common::pipeline(&format!(
        "wasmsrc name=src is-live=true plugin={} ! {CAPS_LIVE} ! fakesink name=out sync=true signal-handoffs=true",
        plugin("testcard")
    ));
    let source = pipeline.by_name("src").unwrap();
    assert!(source.property::<bool>("is-live"));
    let times = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = times.clone();
    pipeline.by_name("out").unwrap().connect("handoff", false, move |args| {
        let buffer = args[1].get::<gst::Buffer>().unwrap();
        seen.lock().unwrap().push(buffer.pts().unwrap().mseconds());
        None
    });
    pipeline.set_state(gst::State::Playing).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(600));
    pipeline.set_state(gst::State::Null).unwrap();
    let times = times.lock().unwrap().clone();
    // 20 fps for 0.6 s: about 12 frames, not as many as the CPU can make.
    assert!((8..=14).contains(&times.len()), "{} frames: {times:?}", times.len());
    assert!(times.windows(2).all(|w| w[1] - w[0] == 50), "{times:?}");
}

const CAPS_LIVE: &str = "video/x-raw,format=RGBA,width=16,height=8,framerate=20/1";
