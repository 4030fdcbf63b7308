//! `avsync` on files: measure the offsets of a flash-and-beep file, and
//! correct a file by moving one stream (no re-encoding).

use std::path::Path;

use gst::prelude::*;
use slate_audio::SyncEvent;

use super::SYNC_MESSAGE;

/// Every flash/beep pair in `path`, in order.
pub fn measure_file(path: &Path) -> Result<Vec<SyncEvent>, String> {
    let location = path
        .to_str()
        .ok_or_else(|| format!("{}: not a UTF-8 path", path.display()))?;
    if !path.is_file() {
        return Err(format!("{location}: no such file"));
    }
    let pipeline = launch(
        "filesrc name=src ! decodebin name=d \
         d. ! queue ! videoconvert ! video/x-raw,format=GRAY8 ! meter.video \
         d. ! queue ! audioconvert ! audio/x-raw,format=F32LE,channels=1 ! meter.audio \
         avsync name=meter",
    )?;
    pipeline
        .by_name("src")
        .expect("named")
        .set_property("location", location);
    let mut events = Vec::new();
    play(&pipeline, |s| {
        if s.name() == SYNC_MESSAGE {
            let get = |f: &str| s.get::<f64>(f).unwrap_or_default();
            events.push(SyncEvent::new(get("flash"), get("beep")));
        }
    })
    .map_err(|e| format!("{location}: {e}"))?;
    Ok(events)
}

/// Writes `input` (MP4) to `output` with its audio moved by `-offset_ms`
/// (the offset measured: > 0 audio late). The stream that must wait is
/// delayed, so nothing is cut.
pub fn correct_file(input: &Path, output: &Path, offset_ms: f64) -> Result<(), String> {
    let utf8 = |p: &Path| {
        p.to_str()
            .map(str::to_owned)
            .ok_or_else(|| format!("{}: not a UTF-8 path", p.display()))
    };
    let (from, to) = (utf8(input)?, utf8(output)?);
    if !input.is_file() {
        return Err(format!("{from}: no such file"));
    }
    let pipeline = launch(
        "filesrc name=src ! qtdemux name=d \
         d.video_0 ! queue name=vq ! mux.video_0 \
         d.audio_0 ! queue name=aq ! mux.audio_0 \
         mp4mux name=mux ! filesink name=out",
    )?;
    pipeline.by_name("src").expect("named").set_property("location", &from);
    pipeline.by_name("out").expect("named").set_property("location", &to);
    let shift = (offset_ms.abs() * 1e6) as i64;
    // Audio late: video waits; audio early: audio waits.
    let waits = if offset_ms > 0.0 { "vq" } else { "aq" };
    pipeline
        .by_name(waits)
        .and_then(|q| q.static_pad("src"))
        .expect("named above")
        .set_offset(shift);
    play(&pipeline, |_| {})
        .map_err(|e| format!("{from}: {e} (correct works on MP4 files with one video and one audio track)"))
}

fn launch(line: &str) -> Result<gst::Pipeline, String> {
    gst::init().map_err(|e| e.to_string())?;
    gst::parse::launch(line)
        .map_err(|e| format!("{e}; run .ci/setup"))
        .map(|p| {
            p.downcast::<gst::Pipeline>()
                .expect("a launch line of several elements is a pipeline")
        })
}

/// Plays to the end, handing element messages to `on_element`.
fn play(pipeline: &gst::Pipeline, on_element: impl FnMut(&gst::StructureRef)) -> Result<(), String> {
    let outcome = slate_audio::play_to_end(pipeline, on_element).map_err(|s| s.message);
    let _ = pipeline.set_state(gst::State::Null);
    outcome
}
