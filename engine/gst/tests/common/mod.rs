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
        slate_wasm::examples::build(&plugins).unwrap()
    });
    dir.join(format!("{name}.wasm")).display().to_string()
}
