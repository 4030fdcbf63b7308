//! Batch generation: every shot of a storyboard, in `variants` seeded
//! variants (seed, seed + 1, ...: only what the storyboard leaves free
//! changes), rendered by the reference renderer on `jobs` threads and
//! encoded to one MP4 take each (`OUT/v<variant>/<scene>-<shot>.mp4`).
//! A take appears only when it is whole, so a stopped batch keeps what it
//! finished and the next run skips it. `index.json` lists every take and,
//! per variant, each cut's continuity from the world-state metadata.
//!
//! This crate never prints or exits: the CLI does.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use gst::prelude::*;
use serde::Serialize;
use slate_story::camera::View;
use slate_story::continuity::{Break, Snapshot, check_cut};
use slate_story::world::{WorldState, shot_starts};
use slate_story::{Shot, Storyboard};

#[derive(Debug, thiserror::Error)]
pub enum GenerateError {
    #[error("{path}: cannot write it: {why}")]
    Output { path: PathBuf, why: String },
    #[error("encoding {path}: {why}")]
    Encode { path: PathBuf, why: String },
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
    /// False when an earlier run made it and this one kept it.
    pub rendered: bool,
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
    pub cuts: Vec<Cut>,
    /// Cuts without a break, over all cuts (1 when there are none).
    pub continuity: f64,
}

/// What to render, and where.
pub struct Batch<'a> {
    pub board: &'a Storyboard,
    /// How the storyboard is named in the index.
    pub name: String,
    pub variants: u32,
    pub jobs: usize,
    pub out: PathBuf,
}

impl Batch<'_> {
    /// Frames the whole batch renders, over every shot and variant.
    pub fn frames(&self) -> u64 {
        let per_variant: u64 = self
            .board
            .shots()
            .map(|(_, s)| u64::from(frames_of(self.board, s)))
            .sum();
        per_variant * u64::from(self.variants)
    }
}

struct Job<'a> {
    variant: u32,
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
        for ((scene, shot), start) in board.shots().zip(&starts) {
            jobs.push(Job {
                variant,
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
                    match take(board, job, &progress, stop) {
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
    let clean = cuts.iter().filter(|c| c.breaks.is_empty()).count();
    let index = Index {
        storyboard: batch.name.clone(),
        takes,
        continuity: if cuts.is_empty() {
            1.0
        } else {
            clean as f64 / cuts.len() as f64
        },
        cuts,
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

fn frames_of(board: &Storyboard, shot: &Shot) -> u32 {
    (shot.duration * f64::from(board.storyboard.fps)).round().max(1.0) as u32
}

/// One take: kept when a finished file is there; None when stopped.
fn take(
    board: &Storyboard,
    job: &Job,
    progress: &impl Fn(u64),
    stop: &AtomicBool,
) -> Result<Option<Take>, GenerateError> {
    let seed = board.storyboard.seed + u64::from(job.variant);
    let frames = frames_of(board, job.shot);
    let made = |rendered| Take {
        variant: job.variant,
        seed,
        scene: job.scene.to_owned(),
        shot: job.shot.id.clone(),
        file: job.file.clone(),
        frames,
        rendered,
    };
    if job.file.is_file() {
        progress(u64::from(frames));
        return Ok(Some(made(false)));
    }
    let mut seeded = board.clone();
    seeded.storyboard.seed = seed;
    let [width, height] = board.storyboard.size;
    let partial = job.file.with_extension("mp4.partial");
    let mut encoder = Encoder::start(&partial, width, height, board.storyboard.fps)?;
    for k in 0..frames {
        if stop.load(Ordering::SeqCst) {
            drop(encoder);
            let _ = std::fs::remove_file(&partial);
            return Ok(None);
        }
        let t = f64::from(k) / f64::from(board.storyboard.fps);
        let view = View::of_shot(&job.shot.camera, job.shot.duration, t, width, height);
        let frame = slate_story::render::render(&seeded, &job.start.during(job.shot, t), &view);
        encoder.push(frame.rgba, k)?;
        progress(1);
    }
    encoder.finish()?;
    std::fs::rename(&partial, &job.file).map_err(|e| output(&job.file, e))?;
    Ok(Some(made(true)))
}

/// Each variant's cuts through the metadata checker (the world does not
/// depend on the seed, so every variant's cuts are judged alike).
fn cuts(board: &Storyboard, starts: &[WorldState], variants: u32) -> Vec<Cut> {
    let shots: Vec<&Shot> = board.shots().map(|(_, s)| s).collect();
    let [width, height] = board.storyboard.size;
    let line = match board.world.characters.as_slice() {
        [a, b, ..] => Some((a.position, b.position)),
        _ => None,
    };
    let snapshot = |i: usize, t: f64| {
        let view = View::of_shot(&shots[i].camera, shots[i].duration, t, width, height);
        Snapshot::of(&shots[i].id, &starts[i].during(shots[i], t), &view)
    };
    (0..variants)
        .flat_map(|variant| (1..shots.len()).map(move |i| (variant, i)))
        .map(|(variant, i)| Cut {
            variant,
            before: shots[i - 1].id.clone(),
            after: shots[i].id.clone(),
            breaks: check_cut(
                &snapshot(i - 1, shots[i - 1].duration),
                &snapshot(i, 0.0),
                shots[i],
                line,
            ),
        })
        .collect()
}

/// `appsrc ! videoconvert ! x264enc ! mp4mux ! filesink`.
struct Encoder {
    path: PathBuf,
    pipeline: gst::Pipeline,
    src: gst_app::AppSrc,
    frame: gst::ClockTime,
}

impl Encoder {
    fn start(path: &Path, width: u32, height: u32, fps: u32) -> Result<Encoder, GenerateError> {
        let fail = |why: String| GenerateError::Encode {
            path: path.to_owned(),
            why,
        };
        let pipeline = gst::parse::launch(&format!(
            "appsrc name=src format=time caps=video/x-raw,format=RGBA,width={width},height={height},framerate={fps}/1 \
             ! videoconvert ! x264enc threads=1 speed-preset=veryfast ! mp4mux ! filesink name=sink"
        ))
        .map_err(|e| fail(e.to_string()))?
        .downcast::<gst::Pipeline>()
        .map_err(|_| fail("not a pipeline".into()))?;
        pipeline
            .by_name("sink")
            .expect("named above")
            .set_property("location", path.display().to_string());
        let src = pipeline
            .by_name("src")
            .expect("named above")
            .downcast::<gst_app::AppSrc>()
            .expect("an appsrc");
        pipeline
            .set_state(gst::State::Playing)
            .map_err(|e| fail(e.to_string()))?;
        Ok(Encoder {
            path: path.to_owned(),
            pipeline,
            src,
            frame: gst::ClockTime::SECOND / u64::from(fps.max(1)),
        })
    }

    fn fail(&self, why: impl std::fmt::Display) -> GenerateError {
        GenerateError::Encode {
            path: self.path.clone(),
            why: why.to_string(),
        }
    }

    fn push(&mut self, rgba: Vec<u8>, k: u32) -> Result<(), GenerateError> {
        let mut buffer = gst::Buffer::from_mut_slice(rgba);
        {
            let buffer = buffer.get_mut().expect("new");
            buffer.set_pts(self.frame * u64::from(k));
            buffer.set_duration(self.frame);
        }
        self.src.push_buffer(buffer).map(|_| ()).map_err(|e| self.fail(e))
    }

    fn finish(self) -> Result<(), GenerateError> {
        self.src.end_of_stream().map_err(|e| self.fail(e))?;
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
