//! Where `SlateMeta` survives in real pipelines (documented in `meta.rs`).

mod common;

use common::{init, pipeline, play_to_eos};
use gst::prelude::*;
use gstslate::SlateMeta;
use gstslate::model::BoundingBox;

/// Runs `videotestsrc ! shottag (adds a face box) ! {middle} ! appsink`-like
/// pipeline and returns the records reaching each sink.
fn records_through(middle: &str, sinks: &[&str]) -> Vec<Vec<gstslate::model::Record>> {
    let description = format!(
        "videotestsrc num-buffers=10 ! video/x-raw,width=320,height=240,framerate=30/1 ! shottag name=tag shot=s1 ! {middle}"
    );
    let pipeline = pipeline(&description);
    // Put a face on every frame, so box transforms are visible too.
    let tag = pipeline.by_name("tag").unwrap();
    tag.static_pad("src")
        .unwrap()
        .add_probe(gst::PadProbeType::BUFFER, |_, info| {
            if let Some(gst::PadProbeData::Buffer(buffer)) = &mut info.data {
                let buffer = buffer.make_mut();
                let mut meta = buffer.meta_mut::<SlateMeta>().unwrap();
                let face = meta.record_mut().add_object("face");
                meta.record_mut().object_mut(face).unwrap().bbox = Some(BoundingBox {
                    x: 32.0,
                    y: 24.0,
                    w: 64.0,
                    h: 48.0,
                });
            }
            gst::PadProbeReturn::Ok
        });
    let collected: Vec<_> = sinks
        .iter()
        .map(|_| std::sync::Arc::new(std::sync::Mutex::new(Vec::new())))
        .collect();
    for (name, store) in sinks.iter().zip(&collected) {
        let store = store.clone();
        let sink = pipeline.by_name(name).unwrap();
        sink.static_pad("sink")
            .unwrap()
            .add_probe(gst::PadProbeType::BUFFER, move |_, info| {
                if let Some(gst::PadProbeData::Buffer(buffer)) = &info.data {
                    store.lock().unwrap().push(SlateMeta::record_of(buffer));
                }
                gst::PadProbeReturn::Ok
            });
    }
    play_to_eos(&pipeline, |_| {});
    collected.iter().map(|c| c.lock().unwrap().clone()).collect()
}

fn assert_tagged(records: &[gstslate::model::Record], expected_box: BoundingBox, path: &str) {
    assert_eq!(records.len(), 10, "{path}: every buffer arrives");
    for record in records {
        assert_eq!(
            record.get("shot").map(|v| v.to_string()).as_deref(),
            Some("s1"),
            "{path}: {record:?}"
        );
        assert_eq!(record.objects()[0].bbox, Some(expected_box), "{path}");
    }
}

const BOX: BoundingBox = BoundingBox {
    x: 32.0,
    y: 24.0,
    w: 64.0,
    h: 48.0,
};

#[test]
fn survives_queue_tee_and_videoconvert() {
    init();
    let out = records_through(
        "tee name=t ! queue ! videoconvert ! video/x-raw,format=RGBA ! fakesink name=a  t. ! queue ! fakesink name=b",
        &["a", "b"],
    );
    assert_tagged(&out[0], BOX, "tee ! queue ! videoconvert");
    assert_tagged(&out[1], BOX, "tee ! queue");
}

#[test]
fn survives_videoscale_with_boxes_in_source_pixels() {
    // GStreamer 1.22's videoscale only rescales metas tagged `size` (see
    // meta.rs for why SlateMeta is untagged): the meta is kept, boxes are not
    // rescaled. If a GStreamer upgrade changes that, this test says so.
    init();
    let out = records_through(
        "videoscale ! video/x-raw,width=640,height=120 ! fakesink name=a",
        &["a"],
    );
    assert_tagged(&out[0], BOX, "videoscale");
}

#[test]
fn survives_h264_encode_parse_and_decode() {
    init();
    let out = records_through(
        "videoconvert ! x264enc tune=zerolatency ! h264parse ! tee name=t ! queue ! fakesink name=encoded \
         t. ! queue ! avdec_h264 ! fakesink name=decoded",
        &["encoded", "decoded"],
    );
    assert_tagged(&out[0], BOX, "x264enc ! h264parse");
    assert_tagged(&out[1], BOX, "x264enc ! h264parse ! avdec_h264");
}
