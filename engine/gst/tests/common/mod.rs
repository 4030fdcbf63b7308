//! What the element tests share: one-time setup and running a pipeline to
//! its end while watching the bus.

#![allow(dead_code)] // each test file uses part of this

use gst::prelude::*;

/// Starts GStreamer with the `slate` plugin registered, once per process.
pub fn init() {
    static INIT: std::sync::Once = std::sync::Once::new();
    INIT.call_once(|| {
        gst::init().unwrap();
        gstslate::plugin_register_static().unwrap();
        gsthlssink3::plugin_register_static().unwrap();
        gstfmp4::plugin_register_static().unwrap();
    });
}

/// A harness on a filter's `sink` and `src` pads, with `props` set from
/// strings and `caps` on what the harness pushes.
pub fn filter_harness(element: &gst::Element, props: &[(&str, &str)], caps: &str) -> gst_check::Harness {
    for (name, value) in props {
        element.set_property_from_str(name, value);
    }
    let mut h = gst_check::Harness::with_element(element, Some("sink"), Some("src"));
    h.set_src_caps_str(caps);
    h
}

/// Parses a gst-launch line into a pipeline.
pub fn pipeline(description: &str) -> gst::Pipeline {
    init();
    gst::parse::launch(description)
        .unwrap()
        .downcast::<gst::Pipeline>()
        .unwrap()
}

/// Plays `pipeline` until EOS (panicking on an error), hands every element
/// message's structure to `on_element`, and leaves it in NULL.
pub fn play_to_eos(pipeline: &gst::Pipeline, mut on_element: impl FnMut(&gst::StructureRef)) {
    let bus = pipeline.bus().unwrap();
    pipeline.set_state(gst::State::Playing).unwrap();
    for message in bus.iter_timed(gst::ClockTime::from_seconds(30)) {
        match message.view() {
            gst::MessageView::Element(e) => {
                if let Some(s) = e.structure() {
                    on_element(s);
                }
            }
            gst::MessageView::Eos(_) => break,
            gst::MessageView::Error(err) => panic!("{}: {:?}", err.error(), err.debug()),
            _ => {}
        }
    }
    pipeline.set_state(gst::State::Null).unwrap();
}

/// The first error a pipeline posts when started, as "message (debug)".
pub fn start_error(pipeline: &gst::Pipeline) -> String {
    let _ = pipeline.set_state(gst::State::Playing);
    let error = pipeline
        .bus()
        .unwrap()
        .iter_timed(gst::ClockTime::from_seconds(5))
        .find_map(|m| match m.view() {
            gst::MessageView::Error(e) => Some(format!("{} ({:?})", e.error(), e.debug())),
            _ => None,
        })
        .expect("an error message");
    pipeline.set_state(gst::State::Null).unwrap();
    error
}

/// The folder of built example plugins (`plugins/`), built once per process.
pub fn plugin(name: &str) -> String {
    static BUILT: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();
    let dir = BUILT.get_or_init(|| {
        let plugins = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../plugins");
        slate_test_plugins::build(&plugins).unwrap()
    });
    dir.join(format!("{name}.wasm")).display().to_string()
}

/// Flushes the element of `h` (flush-start, flush-stop) and starts a new
/// TIME segment from 0, as a flushing seek upstream would.
pub fn flush(h: &mut gst_check::Harness) {
    h.push_event(gst::event::FlushStart::new());
    h.push_event(gst::event::FlushStop::new(true));
    h.push_event(gst::event::Segment::new(&gst::FormattedSegment::<gst::ClockTime>::new()));
}

/// Every buffer `h` gives until end-of-stream (panics if none comes).
pub fn pull_to_eos(h: &mut gst_check::Harness) -> Vec<gst::Buffer> {
    let mut buffers = Vec::new();
    while let Some(buffer) = h.pull_until_eos().expect("end-of-stream within the harness timeout") {
        buffers.push(buffer);
    }
    buffers
}

/// A block of interleaved F32 samples at `pts`, lasting `frames / rate`.
pub fn f32_block(pts: gst::ClockTime, samples: &[f32], channels: usize, rate: u64) -> gst::Buffer {
    let frames = (samples.len() / channels) as u64;
    let mut buffer = gst::Buffer::from_mut_slice(samples.iter().flat_map(|s| s.to_ne_bytes()).collect::<Vec<u8>>());
    let b = buffer.get_mut().unwrap();
    b.set_pts(pts);
    b.set_duration(gst::ClockTime::SECOND.mul_div_floor(frames, rate).unwrap());
    buffer
}

/// The F32 samples of a buffer.
pub fn f32_samples(buffer: &gst::BufferRef) -> Vec<f32> {
    buffer
        .map_readable()
        .unwrap()
        .chunks_exact(4)
        .map(|b| f32::from_ne_bytes([b[0], b[1], b[2], b[3]]))
        .collect()
}

/// A bus of its own for an element outside any pipeline (a harness's), so
/// its messages can be read.
pub fn bus_for(element: &gst::Element) -> gst::Bus {
    let bus = gst::Bus::new();
    element.set_bus(Some(&bus));
    bus
}

/// Every message waiting on `bus`, oldest first.
pub fn drain(bus: &gst::Bus) -> Vec<gst::Message> {
    std::iter::from_fn(|| bus.pop()).collect()
}

/// The structures of the element messages named `name` among `messages`.
pub fn element_messages(messages: &[gst::Message], name: &str) -> Vec<gst::Structure> {
    messages
        .iter()
        .filter(|m| m.type_() == gst::MessageType::Element)
        .filter_map(|m| m.structure().filter(|s| s.name() == name).map(|s| s.to_owned()))
        .collect()
}

/// The texts of the warnings (or errors) among `messages`.
pub fn problems(messages: &[gst::Message], kind: gst::MessageType) -> Vec<String> {
    messages
        .iter()
        .filter_map(|m| match m.view() {
            gst::MessageView::Warning(w) if kind == gst::MessageType::Warning => Some(w.error().to_string()),
            gst::MessageView::Error(e) if kind == gst::MessageType::Error => Some(e.error().to_string()),
            _ => None,
        })
        .collect()
}
