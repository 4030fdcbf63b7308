//! Running a built pipeline to its end: EOS, an error, or a stop request.
//!
//! A stop request sends EOS, so muxers finalise their files and nothing
//! already captured is lost; a second request (or an EOS that does not come
//! within the grace period) tears the pipeline down at once.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use gst::prelude::*;

use crate::error::{PipelineError, did_you_mean};

/// Asks a running pipeline to stop. Cheap to clone; [`Stop::counter`] can
/// be bumped from a signal handler.
#[derive(Clone, Debug, Default)]
pub struct Stop(Arc<AtomicUsize>);

impl Stop {
    pub fn request(&self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }

    /// The counter behind this stop, for async-signal-safe handlers.
    pub fn counter(&self) -> Arc<AtomicUsize> {
        self.0.clone()
    }

    /// How many times a stop was asked for (a second one means: now).
    pub fn requests(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

/// What a running pipeline has done so far.
#[derive(Clone, Debug)]
pub struct Progress {
    pub position: Option<gst::ClockTime>,
    pub duration: Option<gst::ClockTime>,
    /// Video frames the sources produced so far.
    pub frames: u64,
    pub elapsed: Duration,
}

impl Progress {
    /// Video frames processed per second of wall-clock time.
    pub fn fps(&self) -> f64 {
        self.frames as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// How a run ended without an error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The stream ended, or the pipeline's `duration` was reached.
    Finished,
    /// Stopped on request; outputs were finalised.
    Stopped,
    /// Torn down without finalising, on a second stop request or when the
    /// end did not arrive within the grace period.
    Aborted,
}

/// A failure while the pipeline ran.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("{element}: {message}{}", debug.as_deref().map(|d| format!("\n  ({d})")).unwrap_or_default())]
    Element {
        element: String,
        message: String,
        debug: Option<String>,
    },
    #[error("the pipeline could not start: {0}")]
    Start(String),
}

pub struct RunOptions<'a> {
    /// Send EOS after this much running time.
    pub duration: Option<Duration>,
    pub stop: Stop,
    /// How long to wait for EOS to get through after a stop request.
    pub grace: Duration,
    pub on_progress: Option<&'a mut dyn FnMut(&Progress)>,
    /// Every message from the bus, before the runner acts on it; what it
    /// answers for an error or the end of the stream decides whether the
    /// run ends there.
    pub on_message: Option<&'a mut dyn FnMut(&gst::Message) -> Heard>,
}

/// What the host made of a bus message ([`RunOptions::on_message`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Heard {
    /// The runner acts on it as usual: an error fails the run, the end of
    /// the stream ends it.
    Noted,
    /// The host recovers from it (a failed branch it restarts, the end of
    /// stream that failure sent): the run goes on.
    Recovering,
}

impl Default for RunOptions<'_> {
    fn default() -> Self {
        RunOptions {
            duration: None,
            stop: Stop::default(),
            grace: Duration::from_secs(10),
            on_progress: None,
            on_message: None,
        }
    }
}

/// Parses a gst-launch-1.0 line into a pipeline.
pub fn launch(description: &str) -> Result<gst::Pipeline, PipelineError> {
    gst::init().map_err(|e| PipelineError::new("<launch>", None, format!("GStreamer could not start: {e}")))?;
    let element = gst::parse::launch_full(description, None, gst::ParseFlags::FATAL_ERRORS).map_err(|err| {
        let mut message = err.to_string();
        if let Some(gst::ParseError::NoSuchElement) = err.kind::<gst::ParseError>()
            && let Some(name) = message.split('"').nth(1)
        {
            let factories: Vec<String> = gst::Registry::get()
                .features(gst::ElementFactory::static_type())
                .iter()
                .map(|f| f.name().to_string())
                .collect();
            message.push_str(&did_you_mean(name, factories.iter().map(String::as_str)));
        }
        PipelineError::new("<launch>", None, message)
    })?;
    Ok(match element.downcast::<gst::Pipeline>() {
        Ok(pipeline) => pipeline,
        Err(element) => {
            let pipeline = gst::Pipeline::new();
            pipeline.add(&element).expect("a fresh pipeline takes any element");
            pipeline
        }
    })
}

/// Runs `pipeline` until it ends; always leaves it in the NULL state.
pub fn run(pipeline: &gst::Pipeline, mut options: RunOptions) -> Result<Outcome, RunError> {
    prepare_outputs(pipeline).map_err(RunError::Start)?;
    let frames = count_video_frames(pipeline);
    let result = drive(pipeline, &mut options, &frames);
    let _ = pipeline.set_state(gst::State::Null);
    result
}

fn drive(pipeline: &gst::Pipeline, options: &mut RunOptions, frames: &FrameCount) -> Result<Outcome, RunError> {
    let bus = pipeline.bus().expect("a pipeline has a bus");
    if pipeline.set_state(gst::State::Playing).is_err() {
        return Err(first_error(&bus).unwrap_or_else(|| RunError::Start("an element refused to start".into())));
    }
    let started = Instant::now();
    let mut stops_seen = 0;
    let mut eos_sent: Option<Instant> = None;
    let mut duration_armed = false;
    let mut last_progress = Instant::now();
    let planned = options
        .duration
        .map(|d| gst::ClockTime::from_nseconds(d.as_nanos() as u64));
    let progress = || Progress {
        position: pipeline.query_position::<gst::ClockTime>(),
        // Live captures have no duration of their own; a set one counts.
        duration: pipeline.query_duration::<gst::ClockTime>().or(planned),
        frames: frames.get(),
        elapsed: started.elapsed(),
    };
    loop {
        let requests = options.stop.requests();
        if requests > stops_seen {
            stops_seen = requests;
            if requests >= 2 {
                tracing::warn!("second stop request: tearing down without finalising");
                return Ok(Outcome::Aborted);
            }
            tracing::info!("stop requested: sending EOS so outputs are finalised");
            pipeline.send_event(gst::event::Eos::new());
            eos_sent = Some(Instant::now());
        }
        if eos_sent.is_some_and(|at| at.elapsed() > options.grace) {
            tracing::warn!("EOS did not get through within {:?}: tearing down", options.grace);
            return Ok(Outcome::Aborted);
        }
        if let Some(report) = options.on_progress.as_mut()
            && last_progress.elapsed() >= Duration::from_millis(250)
        {
            last_progress = Instant::now();
            report(&progress());
        }
        let Some(message) = bus.timed_pop(gst::ClockTime::from_mseconds(50)) else {
            continue;
        };
        let heard = options
            .on_message
            .as_mut()
            .map_or(Heard::Noted, |observe| observe(&message));
        match message.view() {
            gst::MessageView::Eos(_) | gst::MessageView::Error(_) if heard == Heard::Recovering && stops_seen == 0 => {}
            gst::MessageView::Eos(_) => {
                if let Some(report) = options.on_progress.as_mut() {
                    report(&progress());
                }
                return Ok(if stops_seen > 0 {
                    Outcome::Stopped
                } else {
                    Outcome::Finished
                });
            }
            gst::MessageView::Error(_) => return Err(as_run_error(&message).expect("an error message")),
            gst::MessageView::Warning(w) => {
                let source = message.src().map(|s| s.name().to_string()).unwrap_or_default();
                tracing::warn!("{source}: {} ({:?})", w.error(), w.debug());
            }
            gst::MessageView::StateChanged(change)
                if change.current() == gst::State::Playing
                    && message.src() == Some(pipeline.upcast_ref())
                    && !duration_armed =>
            {
                duration_armed = true;
                if let Some(duration) = options.duration {
                    schedule_eos(pipeline, duration);
                }
            }
            _ => {}
        }
    }
}

/// Sends EOS once `duration` of running time has passed.
fn schedule_eos(pipeline: &gst::Pipeline, duration: Duration) {
    let Some(clock) = pipeline.clock() else { return };
    let at = pipeline.base_time().unwrap_or(gst::ClockTime::ZERO)
        + gst::ClockTime::from_nseconds(duration.as_nanos() as u64);
    let weak = pipeline.downgrade();
    let id = clock.new_single_shot_id(at);
    let _ = id.wait_async(move |_, _, _| {
        if let Some(pipeline) = weak.upgrade() {
            tracing::info!("duration reached: sending EOS");
            pipeline.send_event(gst::event::Eos::new());
        }
    });
}

fn first_error(bus: &gst::Bus) -> Option<RunError> {
    bus.iter().find_map(|m| as_run_error(&m))
}

fn as_run_error(message: &gst::Message) -> Option<RunError> {
    let gst::MessageView::Error(err) = message.view() else {
        return None;
    };
    Some(RunError::Element {
        element: message
            .src()
            .map(|s| s.name().to_string())
            .unwrap_or_else(|| "pipeline".into()),
        message: err.error().to_string(),
        debug: err.debug().as_deref().and_then(debug_detail).map(str::to_owned),
    })
}

/// The part of a GStreamer debug string a user can act on. They read
/// `file.c(123): function (): /GstPipeline:p/GstX:x:\ndetail`; only the
/// detail is worth showing, and there is none when only the location is.
pub(crate) fn debug_detail(debug: &str) -> Option<&str> {
    let detail = match debug.split_once(":\n") {
        Some((location, detail)) if location.contains("(): ") => detail,
        _ if debug.contains("(): /") => return None,
        _ => debug,
    };
    Some(detail.trim()).filter(|d| !d.is_empty())
}

/// Creates the folders that file-writing elements will write into, so a
/// pipeline writing `out/demo.mp4` works in a fresh checkout.
pub fn prepare_outputs(pipeline: &gst::Pipeline) -> Result<(), String> {
    let mut elements = pipeline.iterate_recurse();
    while let Ok(Some(element)) = elements.next() {
        let is_source = element.iterate_sink_pads().next().ok().flatten().is_none()
            && element.element_flags().contains(gst::ElementFlags::SOURCE);
        if is_source {
            continue;
        }
        for pspec in element.list_properties() {
            let name = pspec.name();
            let writes_a_file = (name == "location" || name.ends_with("-location"))
                && pspec.value_type() == gst::glib::Type::STRING
                && pspec.flags().contains(gst::glib::ParamFlags::READWRITE);
            if !writes_a_file {
                continue;
            }
            let Some(path) = element.property::<Option<String>>(name) else {
                continue;
            };
            if let Some(dir) = std::path::Path::new(&path)
                .parent()
                .filter(|d| !d.as_os_str().is_empty())
            {
                std::fs::create_dir_all(dir).map_err(|e| {
                    format!(
                        "cannot create folder {} for `{}` of `{}`: {e}",
                        dir.display(),
                        name,
                        element.name()
                    )
                })?;
            }
        }
    }
    Ok(())
}

/// Frames seen on the video outputs of the pipeline's sources.
struct FrameCount(Vec<Arc<AtomicU64>>);

impl FrameCount {
    fn get(&self) -> u64 {
        self.0.iter().map(|c| c.load(Ordering::Relaxed)).max().unwrap_or(0)
    }
}

fn count_video_frames(pipeline: &gst::Pipeline) -> FrameCount {
    let mut counters = Vec::new();
    let mut sources = pipeline.iterate_sources();
    while let Ok(Some(source)) = sources.next() {
        for pad in source.src_pads() {
            let counter = Arc::new(AtomicU64::new(0));
            let is_video = OnceLock::new();
            let count = counter.clone();
            pad.add_probe(gst::PadProbeType::BUFFER, move |pad, _| {
                let video = *is_video.get_or_init(|| {
                    pad.current_caps()
                        .and_then(|c| c.structure(0).map(|s| s.name().starts_with("video/x-raw")))
                        .unwrap_or(false)
                });
                if video {
                    count.fetch_add(1, Ordering::Relaxed);
                }
                gst::PadProbeReturn::Ok
            });
            counters.push(counter);
        }
    }
    FrameCount(counters)
}

#[cfg(test)]
mod tests {
    use super::debug_detail;

    #[test]
    fn debug_strings_keep_only_what_a_user_can_act_on() {
        let with_detail = "gstfilesink.c(458): gst_file_sink_open_file (): /GstPipeline:p/GstFileSink:file:\nsystem error: No such file";
        assert_eq!(debug_detail(with_detail), Some("system error: No such file"));
        assert_eq!(
            debug_detail("imp.rs(201): change_state (): /GstPipeline:p/GstShotTag:tag"),
            None
        );
        assert_eq!(debug_detail("plain words"), Some("plain words"));
    }
}
