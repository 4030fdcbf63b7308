//! Batch generation: every shot of a storyboard, in `variants` seeded
//! variants (seed, seed + 1, ...: only what the storyboard leaves free
//! changes), rendered by the reference renderer on `jobs` threads and
//! encoded to one MP4 take each (`OUT/v<variant>/<scene>-<shot>.mp4`):
//! the video, then when the shot has audio cues the mixdown and one named
//! AAC track per stem (dialogue spoken by espeak-ng, see [`speech`]).
//! A take appears only when it is whole, so a stopped batch keeps what it
//! finished and the next run skips it — when it was made from the same
//! plan (`<scene>-<shot>.plan` beside it holds a fingerprint of the shot,
//! its starting world and the seed), so an edited shot is rendered again.
//! Before anything renders, flagged cuts are retaken ([`plan`]).
//! `index.json` lists every take with its stems and the sync of each
//! effect against its world-state event marker, the retakes, and per
//! variant each cut's continuity from the world-state metadata;
//! `sheet.png` shows both sides of every cut still flagged.
//!
//! This crate never prints or exits: the CLI does.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use gst::prelude::*;
use serde::Serialize;
use slate_story::audio::{RATE, Stem, StemError, mixdown, stems};
use slate_story::camera::View;
use slate_story::continuity::Break;
use slate_story::world::{WorldState, first_frame_at, shot_starts};
use slate_story::{CueKind, Shot, Storyboard, shot_field};

mod plan;
pub mod speech;

pub use plan::{CameraEdits, OnRequest, Plan, Request, Retake, ShotEdits, plan};

#[derive(Debug, thiserror::Error)]
pub enum GenerateError {
    #[error("{path}: cannot write it: {why}")]
    Output { path: PathBuf, why: String },
    #[error("encoding {path}: {why}")]
    Encode { path: PathBuf, why: String },
    #[error("{storyboard}: {error}")]
    Stem { storyboard: String, error: StemError },
    #[error("{storyboard}: {field}: retake: {why}")]
    Retake {
        storyboard: String,
        field: String,
        why: String,
    },
    #[error("stopped: {done} of {total} takes are done and kept; run again to finish")]
    Stopped { done: usize, total: usize },
}

/// One rendered shot of one variant.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Take {
    pub variant: u32,
    pub seed: u64,
    pub scene: String,
    pub shot: String,
    pub file: PathBuf,
    pub frames: u32,
    /// Frames per second (the storyboard's).
    pub fps: u32,
    /// Its audio tracks after the video: `mix`, then each stem.
    pub tracks: Vec<String>,
    /// Each effect tied to an action against that action's event marker.
    pub sync: Vec<EffectSync>,
    /// False when an earlier run made it and this one kept it.
    pub rendered: bool,
}

/// An effect's onset in its stem against the frame whose world first
/// shows its action (the `story.events` marker).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EffectSync {
    /// `place cup`: the action.
    pub event: String,
    pub stem: String,
    pub marker_frame: u32,
    pub marker_s: f64,
    /// Null when no onset was found within half a second of the marker.
    pub onset_s: Option<f64>,
    /// > 0: the sound is late.
    pub offset_ms: Option<f64>,
    /// EBU R37: at most 40 ms early, 60 ms late.
    pub within_r37: bool,
}

/// A cut of one variant and what the metadata checker found there.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Cut {
    pub variant: u32,
    pub before: String,
    pub after: String,
    pub breaks: Vec<Break>,
}

/// Everything the batch made.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Index {
    pub storyboard: String,
    pub takes: Vec<Take>,
    /// Shots retaken before rendering, in order.
    pub retakes: Vec<Retake>,
    pub cuts: Vec<Cut>,
    /// Cuts without a break, over all cuts (1 when there are none).
    pub continuity: f64,
    /// The contact sheet: both sides of every cut still flagged, a row
    /// each (one empty row when none is).
    pub sheet: PathBuf,
}

/// What to render, and where.
pub struct Batch<'a> {
    /// The storyboard as planned ([`plan`]): retaken shots already mended.
    pub board: &'a Storyboard,
    /// How it was planned, for the index.
    pub retakes: Vec<Retake>,
    /// How the storyboard is named in the index.
    pub name: String,
    pub variants: u32,
    pub jobs: usize,
    pub out: PathBuf,
}

impl Batch<'_> {
    /// Frames the whole batch renders, over every shot and variant.
    pub fn frames(&self) -> u64 {
        let per_variant: u64 = self.board.shots().map(|(_, s)| u64::from(self.board.frames(s))).sum();
        per_variant * u64::from(self.variants)
    }
}

struct Job<'a> {
    variant: u32,
    /// Where the shot is in the storyboard: `scene[0].shot[1]`.
    field: String,
    scene: &'a str,
    shot: &'a Shot,
    start: &'a WorldState,
    file: PathBuf,
}

/// Renders what is not there yet; `progress` hears every frame rendered,
/// and a set `stop` ends the batch after the takes in hand (unfinished
/// ones leave nothing behind).
pub fn run(batch: &Batch, progress: impl Fn(u64) + Sync, stop: &AtomicBool) -> Result<Index, GenerateError> {
    let board = batch.board;
    let starts = shot_starts(board);
    let mut jobs = Vec::new();
    for variant in 0..batch.variants {
        let folder = batch.out.join(format!("v{variant}"));
        std::fs::create_dir_all(&folder).map_err(|e| output(&folder, e))?;
        let places = board.places().map(|(si, k)| shot_field(si, k));
        for (((scene, shot), start), field) in board.shots().zip(&starts).zip(places) {
            jobs.push(Job {
                variant,
                field,
                scene: &scene.id,
                shot,
                start,
                file: folder.join(format!("{}-{}.mp4", scene.id, shot.id)),
            });
        }
    }
    let total = jobs.len();
    let takes = Mutex::new(Vec::new());
    let failure = Mutex::new(None);
    let queue = Mutex::new(jobs.iter());
    let speaker = speech::Espeak::default();
    std::thread::scope(|scope| {
        for _ in 0..batch.jobs.clamp(1, total.max(1)) {
            scope.spawn(|| {
                loop {
                    if stop.load(Ordering::SeqCst) || failure.lock().expect("not poisoned").is_some() {
                        return;
                    }
                    let Some(job) = queue.lock().expect("not poisoned").next() else {
                        return;
                    };
                    match take(batch, job, speaker.clone(), &progress, stop) {
                        Ok(Some(take)) => takes.lock().expect("not poisoned").push(take),
                        Ok(None) => return,
                        Err(e) => *failure.lock().expect("not poisoned") = Some(e),
                    }
                }
            });
        }
    });
    if let Some(e) = failure.into_inner().expect("not poisoned") {
        return Err(e);
    }
    let mut takes = takes.into_inner().expect("not poisoned");
    if takes.len() < total {
        return Err(GenerateError::Stopped {
            done: takes.len(),
            total,
        });
    }
    let order = |t: &Take| {
        jobs.iter()
            .position(|j| j.variant == t.variant && j.shot.id == t.shot && j.scene == t.scene)
    };
    takes.sort_by_key(order);
    let cuts = cuts(board, &starts, batch.variants);
    let sheet = batch.out.join("sheet.png");
    write_sheet(board, &starts, &cuts, &sheet)?;
    let clean = cuts.iter().filter(|c| c.breaks.is_empty()).count();
    let index = Index {
        storyboard: batch.name.clone(),
        takes,
        retakes: batch.retakes.clone(),
        continuity: if cuts.is_empty() {
            1.0
        } else {
            clean as f64 / cuts.len() as f64
        },
        cuts,
        sheet,
    };
    let path = batch.out.join("index.json");
    let partial = path.with_extension("json.partial");
    std::fs::write(&partial, serde_json::to_vec_pretty(&index).expect("an index is JSON"))
        .map_err(|e| output(&partial, e))?;
    std::fs::rename(&partial, &path).map_err(|e| output(&path, e))?;
    Ok(index)
}

fn output(path: &Path, e: impl std::fmt::Display) -> GenerateError {
    GenerateError::Output {
        path: path.to_owned(),
        why: e.to_string(),
    }
}

/// One take: kept when a finished file is there; None when stopped.
fn take(
    batch: &Batch,
    job: &Job,
    mut speaker: speech::Espeak,
    progress: &impl Fn(u64),
    stop: &AtomicBool,
) -> Result<Option<Take>, GenerateError> {
    let board = batch.board;
    let seed = board.storyboard.seed + u64::from(job.variant);
    let frames = board.frames(job.shot);
    let stems = stems(board, job.shot, &job.field, seed, &mut speaker).map_err(|error| GenerateError::Stem {
        storyboard: batch.name.clone(),
        error,
    })?;
    let mut tracks = Vec::new();
    if !stems.is_empty() {
        tracks.push("mix".to_owned());
        tracks.extend(stems.iter().map(|s| s.name.clone()));
    }
    let made = |rendered| Take {
        variant: job.variant,
        seed,
        scene: job.scene.to_owned(),
        shot: job.shot.id.clone(),
        file: job.file.clone(),
        frames,
        fps: board.storyboard.fps,
        tracks: tracks.clone(),
        sync: effect_sync(board, job.shot, &stems),
        rendered,
    };
    let mut seeded = board.clone();
    seeded.storyboard.seed = seed;
    // What the take is made from: a kept take must come from the same.
    let fingerprint = format!(
        "{:016x}",
        fnv1a(
            format!(
                "{:?}|{:?}|{:?}|{:?}",
                seeded.storyboard, seeded.world, job.shot, job.start
            )
            .as_bytes()
        )
    );
    let plan_file = job.file.with_extension("plan");
    if job.file.is_file() && std::fs::read_to_string(&plan_file).is_ok_and(|kept| kept == fingerprint) {
        progress(u64::from(frames));
        return Ok(Some(made(false)));
    }
    let [width, height] = board.storyboard.size;
    let partial = job.file.with_extension("mp4.partial");
    let mut audio: Vec<Vec<f32>> = Vec::new();
    if !stems.is_empty() {
        audio.push(mixdown(&stems));
        audio.extend(stems.iter().map(|s| s.samples.clone()));
    }
    let mut encoder = Encoder::start(&partial, width, height, board.storyboard.fps, &tracks)?;
    for k in 0..frames {
        if stop.load(Ordering::SeqCst) {
            drop(encoder);
            let _ = std::fs::remove_file(&partial);
            return Ok(None);
        }
        let t = f64::from(k) / f64::from(board.storyboard.fps);
        let view = View::of_shot(&job.shot.camera, job.shot.duration, t, width, height);
        let frame = slate_story::render::render(&seeded, &job.start.during(job.shot, t), &view);
        encoder.push(frame.rgba, k, &audio)?;
        progress(1);
    }
    encoder.finish()?;
    if !tracks.is_empty() {
        let mut names = vec!["video"];
        names.extend(tracks.iter().map(String::as_str));
        slate_audio::name_tracks(&partial, &names).map_err(|e| GenerateError::Encode {
            path: partial.clone(),
            why: e.to_string(),
        })?;
    }
    std::fs::write(&plan_file, &fingerprint).map_err(|e| output(&plan_file, e))?;
    std::fs::rename(&partial, &job.file).map_err(|e| output(&job.file, e))?;
    Ok(Some(made(true)))
}

/// The sheet of the cuts still flagged (the first variant's: the others
/// differ only in grain), drawn at the ingest checker's size.
fn write_sheet(board: &Storyboard, starts: &[WorldState], cuts: &[Cut], path: &Path) -> Result<(), GenerateError> {
    let shots: Vec<&Shot> = board.shots().map(|(_, s)| s).collect();
    let fps = f64::from(board.storyboard.fps);
    let frame = |i: usize, t: f64| {
        let shot = shots[i];
        let view = View::of_shot(
            &shot.camera,
            shot.duration,
            t,
            slate_ingest::WIDTH,
            slate_ingest::HEIGHT,
        );
        slate_story::render::render(board, &starts[i].during(shot, t), &view).rgba
    };
    let pairs: Vec<(Vec<u8>, Vec<u8>)> = cuts
        .iter()
        .filter(|c| c.variant == 0 && !c.breaks.is_empty())
        .filter_map(|c| shots.iter().position(|s| s.id == c.after))
        .map(|i| {
            let last = f64::from(board.frames(shots[i - 1]) - 1) / fps;
            (frame(i - 1, last), frame(i, 0.0))
        })
        .collect();
    slate_ingest::write_sheet(path, &pairs).map_err(|e| output(path, e))
}

/// FNV-1a, 64 bits: the same on every machine and run.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, b| {
        (hash ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Each effect cue tied to an action: the first frame that shows the
/// action against the onset found in the effect's stem (after 200 ms of
/// quiet, above -34 dBFS).
fn effect_sync(board: &Storyboard, shot: &Shot, stems: &[Stem]) -> Vec<EffectSync> {
    let fps = board.storyboard.fps;
    shot.audio
        .iter()
        .filter(|cue| cue.kind == CueKind::Effect)
        .filter_map(|cue| Some((cue, shot.actions.get(cue.action?)?)))
        .filter_map(|(cue, action)| {
            let stem = stems.iter().find(|s| s.name == cue.stem)?;
            let onsets = slate_audio::BeepFinder::new(RATE, 0.02).samples(0.0, &stem.samples);
            let marker_frame = first_frame_at(action.at, fps);
            let marker_s = f64::from(marker_frame) / f64::from(fps);
            let paired = slate_audio::pair(&[marker_s], &onsets).into_iter().next();
            Some(EffectSync {
                event: format!("{} {}", action.verb.name(), action.object),
                stem: cue.stem.clone(),
                marker_frame,
                marker_s,
                onset_s: paired.map(|p| p.beep_s),
                offset_ms: paired.map(|p| p.offset_ms),
                within_r37: paired.is_some_and(|p| p.within_r37),
            })
        })
        .collect()
}

/// Each variant's cuts through the metadata checker (the world does not
/// depend on the seed, so every variant's cuts are judged alike).
fn cuts(board: &Storyboard, starts: &[WorldState], variants: u32) -> Vec<Cut> {
    let ids: Vec<&str> = board.shots().map(|(_, s)| s.id.as_str()).collect();
    let judged: Vec<(usize, Vec<Break>)> = (1..ids.len()).map(|i| (i, plan::breaks_at(board, starts, i))).collect();
    let mut cuts = Vec::new();
    for variant in 0..variants {
        for (i, breaks) in &judged {
            cuts.push(Cut {
                variant,
                before: ids[i - 1].to_owned(),
                after: ids[*i].to_owned(),
                breaks: breaks.clone(),
            });
        }
    }
    cuts
}

/// `appsrc ! videoconvert ! x264enc ! mp4mux ! filesink`, and per audio
/// track `appsrc ! avenc_aac ! mp4mux`.
struct Encoder {
    path: PathBuf,
    pipeline: gst::Pipeline,
    src: gst_app::AppSrc,
    audio: Vec<gst_app::AppSrc>,
    fps: u32,
    frame: gst::ClockTime,
}

impl Encoder {
    fn start(path: &Path, width: u32, height: u32, fps: u32, tracks: &[String]) -> Result<Encoder, GenerateError> {
        let fail = |why: String| GenerateError::Encode {
            path: path.to_owned(),
            why,
        };
        let mut line = format!(
            "appsrc name=src format=time caps=video/x-raw,format=RGBA,width={width},height={height},framerate={fps}/1 \
             ! videoconvert ! x264enc threads=1 speed-preset=veryfast ! mux.video_0 \
             mp4mux name=mux ! filesink name=sink "
        );
        for (i, name) in tracks.iter().enumerate() {
            line += &format!(
                "appsrc name=audio-{i} format=time \
                 caps=audio/x-raw,format=F32LE,rate={RATE},channels=1,layout=interleaved \
                 ! audioconvert ! avenc_aac bitrate=128000 ! aacparse ! taginject tags=\"title={name}\" ! mux.audio_{i} "
            );
        }
        let pipeline = gst::parse::launch(&line)
            .map_err(|e| fail(e.to_string()))?
            .downcast::<gst::Pipeline>()
            .map_err(|_| fail("not a pipeline".into()))?;
        pipeline
            .by_name("sink")
            .expect("named above")
            .set_property("location", path.display().to_string());
        let appsrc = |name: &str| {
            pipeline
                .by_name(name)
                .expect("named above")
                .downcast::<gst_app::AppSrc>()
                .expect("an appsrc")
        };
        let src = appsrc("src");
        let audio = (0..tracks.len()).map(|i| appsrc(&format!("audio-{i}"))).collect();
        pipeline
            .set_state(gst::State::Playing)
            .map_err(|e| fail(e.to_string()))?;
        Ok(Encoder {
            path: path.to_owned(),
            pipeline,
            src,
            audio,
            fps,
            frame: gst::ClockTime::SECOND / u64::from(fps.max(1)),
        })
    }

    fn fail(&self, why: impl std::fmt::Display) -> GenerateError {
        GenerateError::Encode {
            path: self.path.clone(),
            why: why.to_string(),
        }
    }

    /// Frame `k`, and the same frame's span of each audio track (whole
    /// tracks, one per `Encoder::start` track).
    fn push(&mut self, rgba: Vec<u8>, k: u32, audio: &[Vec<f32>]) -> Result<(), GenerateError> {
        let mut buffer = gst::Buffer::from_mut_slice(rgba);
        {
            let buffer = buffer.get_mut().expect("new");
            buffer.set_pts(self.frame * u64::from(k));
            buffer.set_duration(self.frame);
        }
        self.src.push_buffer(buffer).map_err(|e| self.fail(e))?;
        // The encoder's priming plays before the first sample, so each
        // track starts that much into its samples: what is heard at a time
        // is what the stem has there.
        let priming = slate_audio::AAC_PRIMING_SAMPLES as usize;
        let per_frame = (RATE / self.fps.max(1)) as usize;
        for (src, samples) in self.audio.iter().zip(audio) {
            let from = (priming + k as usize * per_frame).min(samples.len());
            let to = (from + per_frame).min(samples.len());
            if from == to {
                continue;
            }
            let bytes: Vec<u8> = samples[from..to].iter().flat_map(|s| s.to_le_bytes()).collect();
            let mut buffer = gst::Buffer::from_mut_slice(bytes);
            {
                let buffer = buffer.get_mut().expect("new");
                let ns = |n: usize| gst::ClockTime::from_nseconds(n as u64 * 1_000_000_000 / u64::from(RATE));
                buffer.set_pts(ns(from - priming));
                buffer.set_duration(ns(to - priming) - ns(from - priming));
            }
            src.push_buffer(buffer).map_err(|e| self.fail(e))?;
        }
        Ok(())
    }

    fn finish(self) -> Result<(), GenerateError> {
        self.src.end_of_stream().map_err(|e| self.fail(e))?;
        for src in &self.audio {
            src.end_of_stream().map_err(|e| self.fail(e))?;
        }
        let bus = self.pipeline.bus().expect("a pipeline has a bus");
        let ended = bus.timed_pop_filtered(
            gst::ClockTime::from_seconds(60),
            &[gst::MessageType::Eos, gst::MessageType::Error],
        );
        match ended.as_ref().map(|m| m.view()) {
            Some(gst::MessageView::Eos(_)) => Ok(()),
            Some(gst::MessageView::Error(e)) => Err(self.fail(e.error())),
            _ => Err(self.fail("the encoder did not finish within 60 s")),
        }
    }
}

impl Drop for Encoder {
    fn drop(&mut self) {
        let _ = self.pipeline.set_state(gst::State::Null);
    }
}
