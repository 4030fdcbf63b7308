//! Files into interleaved 32-bit float samples, through GStreamer's
//! decoders (`decodebin`): any container and codec the machine can play.

use std::path::Path;
use std::sync::{Arc, Mutex};

use gst::prelude::*;

use crate::AudioError;

/// Calls `each(rate, channels, samples)` for every block of the file's
/// first audio stream, in order, samples interleaved.
pub fn decode_file(
    path: &Path,
    each: impl FnMut(u32, u32, &[f32]) -> Result<(), AudioError> + Send + 'static,
) -> Result<(), AudioError> {
    decode(path, None, each)
}

/// The file's first audio stream as mono samples at `rate` (GStreamer's
/// `audioconvert` downmixes, `audioresample` resamples).
pub fn decode_mono(path: &Path, rate: u32) -> Result<Vec<f32>, AudioError> {
    let samples: Arc<Mutex<Vec<f32>>> = Arc::default();
    let into = samples.clone();
    decode(path, Some(rate), move |_, _, block| {
        into.lock().unwrap().extend_from_slice(block);
        Ok(())
    })?;
    Ok(std::mem::take(&mut *samples.lock().unwrap()))
}

/// `filesrc ! decodebin ! audioconvert ! audioresample ! F32 caps (at
/// `mono_at` Hz, one channel, when given) ! fakesink`.
fn decode(
    path: &Path,
    mono_at: Option<u32>,
    each: impl FnMut(u32, u32, &[f32]) -> Result<(), AudioError> + Send + 'static,
) -> Result<(), AudioError> {
    let fail = |why: String| AudioError::Decode {
        path: path.to_owned(),
        why,
    };
    if !path.is_file() {
        return Err(fail("no such file".into()));
    }
    crate::init().map_err(fail)?;
    let pipeline = gst::Pipeline::new();
    let make = |factory: &str| {
        gst::ElementFactory::make(factory)
            .build()
            .map_err(|_| fail(format!("GStreamer element `{factory}` is missing; run .ci/setup")))
    };
    let (src, decode, convert, resample, filter, sink) = (
        make("filesrc")?,
        make("decodebin")?,
        make("audioconvert")?,
        make("audioresample")?,
        make("capsfilter")?,
        make("fakesink")?,
    );
    src.set_property(
        "location",
        path.to_str().ok_or_else(|| fail("not a UTF-8 path".into()))?,
    );
    let caps = gst_audio::AudioCapsBuilder::new_interleaved().format(gst_audio::AUDIO_FORMAT_F32);
    let caps = match mono_at {
        Some(rate) => caps.rate(rate as i32).channels(1).build(),
        None => caps.build(),
    };
    filter.set_property("caps", &caps);
    sink.set_property("sync", false);
    sink.set_property("signal-handoffs", true);
    pipeline
        .add_many([&src, &decode, &convert, &resample, &filter, &sink])
        .map_err(|e| fail(e.to_string()))?;
    src.link(&decode).map_err(|e| fail(e.to_string()))?;
    gst::Element::link_many([&convert, &resample, &filter, &sink]).map_err(|e| fail(e.to_string()))?;
    let audio_in = convert.static_pad("sink").expect("audioconvert has a sink pad");
    decode.connect_pad_added(move |_, pad| {
        let is_audio = pad
            .current_caps()
            .and_then(|c| c.structure(0).map(|s| s.name().starts_with("audio/")))
            .unwrap_or(false);
        if is_audio && !audio_in.is_linked() {
            let _ = pad.link(&audio_in);
        }
    });
    let failed: Arc<Mutex<Option<AudioError>>> = Arc::default();
    let failure = failed.clone();
    let each = Mutex::new(each);
    sink.connect("handoff", false, move |args| {
        let buffer = args[1].get::<gst::Buffer>().expect("a buffer");
        let pad = args[2].get::<gst::Pad>().expect("a pad");
        let info = pad
            .current_caps()
            .and_then(|c| gst_audio::AudioInfo::from_caps(&c).ok());
        let mut failure = failure.lock().unwrap();
        if let (Some(info), Ok(map), None) = (info, buffer.map_readable(), failure.as_ref()) {
            let samples: Vec<f32> = map
                .chunks_exact(4)
                .map(|b| f32::from_ne_bytes([b[0], b[1], b[2], b[3]]))
                .collect();
            if let Err(e) = (each.lock().unwrap())(info.rate(), info.channels(), &samples) {
                *failure = Some(e);
            }
        }
        None
    });
    let outcome = crate::play_to_end(&pipeline, |_| {}).map_err(|s| fail(s.message));
    pipeline.set_state(gst::State::Null).map_err(|e| fail(e.to_string()))?;
    outcome?;
    match failed.lock().unwrap().take() {
        Some(e) => Err(e),
        None => Ok(()),
    }
}
