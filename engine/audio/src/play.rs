//! Playing a pipeline to its end, the one loop every file job here runs.

use gst::prelude::*;

/// Why a pipeline stopped before its end: the element that said so (its
/// path in the pipeline) and what it said.
#[derive(Debug, Clone, PartialEq)]
pub struct Stopped {
    pub element: String,
    pub message: String,
}

impl std::fmt::Display for Stopped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// Sets `pipeline` playing (if it is not yet) and waits for the end of the
/// stream or the first error, handing element messages to `on_element`.
/// The caller sets it back to NULL.
pub fn play_to_end(pipeline: &gst::Pipeline, mut on_element: impl FnMut(&gst::StructureRef)) -> Result<(), Stopped> {
    let stopped = |element: String, message: String| Stopped { element, message };
    pipeline
        .set_state(gst::State::Playing)
        .map_err(|e| stopped(pipeline.path_string().to_string(), e.to_string()))?;
    let bus = pipeline.bus().expect("a pipeline has a bus");
    for message in bus.iter_timed(gst::ClockTime::NONE) {
        match message.view() {
            gst::MessageView::Eos(_) => break,
            gst::MessageView::Error(e) => {
                let from = e.src().map(|s| s.path_string().to_string()).unwrap_or_default();
                return Err(stopped(from, e.error().to_string()));
            }
            gst::MessageView::Element(e) => {
                if let Some(s) = e.structure() {
                    on_element(s);
                }
            }
            _ => {}
        }
    }
    Ok(())
}
