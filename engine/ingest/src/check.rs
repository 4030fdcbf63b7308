//! A sequence of clips through the `continuity` plugin as one film: each
//! clip decoded and scaled to the analysis size, its frames pushed in
//! order into `appsrc ! wasmstage ! appsink`, and what the plugin wrote
//! on each frame (`continuity.report` at a cut, the running shot scores)
//! gathered into a [`Report`].

use std::path::{Path, PathBuf};

use gst::prelude::*;
use gstslate::SlateMeta;
use gstslate::model::{Record, Value};
use serde::Serialize;

use crate::error::IngestError;
use crate::sidecar::Clip;

/// Frames are judged at this size: enough for regions and light, and
/// quick.
pub const WIDTH: u32 = 320;
pub const HEIGHT: u32 = 180;

/// A cut the checker found: between clips or inside one.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Cut {
    /// The frame that starts the new shot, counted over the whole film.
    pub frame: u64,
    /// The clips on either side (indexes into [`Report::clips`]) and
    /// where in each, seconds.
    pub clip_before: usize,
    pub at_before: f64,
    pub clip_after: usize,
    pub at_after: f64,
    /// How far apart the two frames' layouts are.
    pub distance: f64,
    /// Each break: kind, subject, detail.
    pub breaks: Vec<serde_json::Value>,
    /// The figures the breaks were judged on.
    pub measures: serde_json::Value,
}

/// One shot the checker saw, with its VBench-style scores.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ShotReport {
    pub clip: usize,
    pub first_frame: u64,
    pub frames: u64,
    pub scores: serde_json::Value,
}

/// The film's continuity: its clips, every cut, every shot.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub clips: Vec<Clip>,
    pub cuts: Vec<Cut>,
    pub shots: Vec<ShotReport>,
    /// Cuts with at least one break.
    pub flagged: usize,
}

/// A frame at the analysis size, for the contact sheet.
pub type Frame = Vec<u8>;

/// Checks `clips`, in order, as one film with the continuity plugin at
/// `plugin`. Returns the report and, for every flagged cut, the frames on
/// both sides.
pub fn check(plugin: &Path, clips: &[Clip]) -> Result<(Report, Vec<(Frame, Frame)>), IngestError> {
    let mut checker = Checker::start(plugin)?;
    let mut report = Report {
        clips: clips.to_vec(),
        cuts: Vec::new(),
        shots: Vec::new(),
        flagged: 0,
    };
    let mut sheet = Vec::new();
    let mut previous: Option<(Frame, usize, f64)> = None;
    let mut frame = 0u64;
    for (index, clip) in clips.iter().enumerate() {
        decode(&clip.path, |pixels, at| {
            let record = checker.push(&pixels, frame)?;
            if let Some(cut) = record.get("continuity.report").and_then(Value::as_text) {
                let cut: serde_json::Value = serde_json::from_str(cut).map_err(|e| checker.fail(e))?;
                let (before, clip_before, at_before) = previous.take().unwrap_or((Vec::new(), index, 0.0));
                let breaks = cut["breaks"].as_array().cloned().unwrap_or_default();
                if !breaks.is_empty() {
                    report.flagged += 1;
                    sheet.push((before, pixels.clone()));
                }
                report.cuts.push(Cut {
                    frame,
                    clip_before,
                    at_before,
                    clip_after: index,
                    at_after: at,
                    distance: cut["distance"].as_f64().unwrap_or(0.0),
                    breaks,
                    measures: cut["measures"].clone(),
                });
            }
            if report.shots.is_empty() || record.get("continuity.report").is_some() {
                report.shots.push(ShotReport {
                    clip: index,
                    first_frame: frame,
                    frames: 0,
                    scores: serde_json::Value::Null,
                });
            }
            let shot = report.shots.last_mut().expect("just made");
            shot.frames += 1;
            shot.scores = running_scores(&record);
            previous = Some((pixels, index, at));
            frame += 1;
            Ok(())
        })?;
    }
    checker.finish()?;
    Ok((report, sheet))
}

/// The scores of the shot so far, as the plugin wrote them on a frame.
fn running_scores(record: &Record) -> serde_json::Value {
    let score = |key: &str| match record.get(&format!("continuity.{key}")) {
        Some(Value::Float(v)) => serde_json::json!(v),
        _ => serde_json::Value::Null,
    };
    serde_json::json!({
        "subject_consistency": score("subject-consistency"),
        "background_consistency": score("background-consistency"),
        "temporal_flicker": score("temporal-flicker"),
        "motion_smoothness": score("motion-smoothness"),
    })
}

/// `appsrc ! wasmstage(continuity) ! appsink`, a frame in, a frame out.
struct Checker {
    plugin: PathBuf,
    pipeline: gst::Pipeline,
    src: gst_app::AppSrc,
    sink: gst_app::AppSink,
}

/// How long one frame may take through the plugin.
const FRAME_TIMEOUT: gst::ClockTime = gst::ClockTime::from_seconds(30);
const FRAME: gst::ClockTime = gst::ClockTime::from_mseconds(40);

impl Checker {
    fn start(plugin: &Path) -> Result<Checker, IngestError> {
        let fail = |why: String| IngestError::Checker {
            plugin: plugin.to_owned(),
            why,
        };
        if !plugin.is_file() {
            return Err(fail(
                "no such file; build the plugins (`cargo build --release --target wasm32-wasip2` in plugins/) or pass --plugin".into(),
            ));
        }
        let caps = format!("video/x-raw,format=RGBA,width={WIDTH},height={HEIGHT},framerate=25/1");
        let pipeline = gst::parse::launch(&format!(
            "appsrc name=src format=time caps={caps} ! wasmstage name=stage ! appsink name=sink sync=false"
        ))
        .map_err(|e| fail(format!("cannot make the pipeline: {e}")))?
        .downcast::<gst::Pipeline>()
        .map_err(|_| fail("not a pipeline".into()))?;
        let stage = pipeline.by_name("stage").expect("named above");
        stage.set_property("plugin", plugin.display().to_string());
        let get = |name: &str| pipeline.by_name(name).expect("named above");
        let src = get("src").downcast::<gst_app::AppSrc>().expect("an appsrc");
        let sink = get("sink").downcast::<gst_app::AppSink>().expect("an appsink");
        let checker = Checker {
            plugin: plugin.to_owned(),
            pipeline,
            src,
            sink,
        };
        if checker.pipeline.set_state(gst::State::Playing).is_err() {
            return Err(checker.bus_error("cannot start"));
        }
        Ok(checker)
    }

    fn fail(&self, why: impl std::fmt::Display) -> IngestError {
        IngestError::Checker {
            plugin: self.plugin.clone(),
            why: why.to_string(),
        }
    }

    /// The first error on the bus, or `otherwise`.
    fn bus_error(&self, otherwise: &str) -> IngestError {
        let bus = self.pipeline.bus().expect("a pipeline has a bus");
        while let Some(message) = bus.pop() {
            if let gst::MessageView::Error(e) = message.view() {
                return self.fail(e.error());
            }
        }
        self.fail(otherwise)
    }

    /// Pushes one frame and returns the metadata the plugin gave it.
    fn push(&mut self, pixels: &[u8], frame: u64) -> Result<Record, IngestError> {
        let mut buffer = gst::Buffer::from_slice(pixels.to_vec());
        {
            let buffer = buffer.get_mut().expect("new");
            buffer.set_pts(FRAME * frame);
            buffer.set_duration(FRAME);
        }
        self.src
            .push_buffer(buffer)
            .map_err(|e| self.fail(format!("frame {frame}: {e}")))?;
        let sample = self
            .sink
            .try_pull_sample(FRAME_TIMEOUT)
            .ok_or_else(|| self.bus_error(&format!("frame {frame} did not come back")))?;
        Ok(sample.buffer().map(SlateMeta::record_of).unwrap_or_default())
    }

    fn finish(self) -> Result<(), IngestError> {
        let _ = self.src.end_of_stream();
        let bus = self.pipeline.bus().expect("a pipeline has a bus");
        let ended = bus.timed_pop_filtered(FRAME_TIMEOUT, &[gst::MessageType::Eos, gst::MessageType::Error]);
        let _ = self.pipeline.set_state(gst::State::Null);
        match ended.as_ref().map(|m| m.view()) {
            Some(gst::MessageView::Error(e)) => Err(self.fail(e.error())),
            _ => Ok(()),
        }
    }
}

impl Drop for Checker {
    fn drop(&mut self) {
        let _ = self.pipeline.set_state(gst::State::Null);
    }
}

/// Decodes `path`'s video at the analysis size, RGBA, handing each frame
/// and its time (seconds) to `frame`.
fn decode(path: &Path, mut frame: impl FnMut(Frame, f64) -> Result<(), IngestError>) -> Result<(), IngestError> {
    let fail = |why: String| IngestError::Decode {
        path: path.to_owned(),
        why,
    };
    let pipeline = gst::parse::launch(&format!(
        "filesrc name=file ! decodebin ! videoconvert ! videoscale ! \
         video/x-raw,format=RGBA,width={WIDTH},height={HEIGHT},pixel-aspect-ratio=1/1 ! appsink name=sink sync=false"
    ))
    .map_err(|e| fail(e.to_string()))?
    .downcast::<gst::Pipeline>()
    .map_err(|_| fail("not a pipeline".into()))?;
    pipeline
        .by_name("file")
        .expect("named above")
        .set_property("location", path.display().to_string());
    let sink = pipeline
        .by_name("sink")
        .expect("named above")
        .downcast::<gst_app::AppSink>()
        .expect("an appsink");
    let stop = |result| {
        let _ = pipeline.set_state(gst::State::Null);
        result
    };
    if pipeline.set_state(gst::State::Playing).is_err() {
        return stop(Err(fail("cannot start decoding".into())));
    }
    let bus = pipeline.bus().expect("a pipeline has a bus");
    let (mut frames, mut waited) = (0, gst::ClockTime::ZERO);
    let wait = gst::ClockTime::from_mseconds(100);
    while !sink.is_eos() {
        let Some(sample) = sink.try_pull_sample(wait) else {
            // Nothing yet: the end, an error, or a slow decoder.
            if let Some(message) = bus.pop_filtered(&[gst::MessageType::Error]) {
                let gst::MessageView::Error(e) = message.view() else {
                    unreachable!()
                };
                return stop(Err(fail(e.error().to_string())));
            }
            waited += wait;
            if waited > FRAME_TIMEOUT {
                return stop(Err(fail(format!("no frame for {waited}"))));
            }
            continue;
        };
        waited = gst::ClockTime::ZERO;
        let Some(buffer) = sample.buffer() else { continue };
        let at = buffer.pts().map_or(0.0, |t| t.nseconds() as f64 / 1e9);
        let pixels = buffer.map_readable().map_err(|e| fail(e.to_string()))?.to_vec();
        if let Err(e) = frame(pixels, at) {
            return stop(Err(e));
        }
        frames += 1;
    }
    if frames == 0 {
        return stop(Err(fail("no video frames in it".into())));
    }
    stop(Ok(()))
}
