//! The continuity checker as an `analyzer` stage, from both sources of
//! truth.
//!
//! From pixels (any clip): it finds the cuts in the frames it is shown and
//! judges each one (`slate_story::pixels`): regions that vanish, appear,
//! change colour or move, left and right swapping, light jumping. Every
//! frame gets `continuity.shot` (the shot's number) and the running
//! VBench-style scores of its shot; the first frame after a cut gets
//! `continuity.report`, the cut as JSON (frame, distance, breaks,
//! measures, the scores of the shot that ended).
//!
//! From world-state metadata (frames of a generator that carries
//! `story.world`, such as `storygen`): where the metadata's shot changes,
//! the invariants of `slate_story::continuity` — objects move, appear,
//! vanish or change colour only through an action, lights change only on
//! a cue, characters keep their marks, the line is kept unless the shot
//! crosses it on purpose — and `continuity.world-report` (JSON: frame,
//! shots, breaks) on that frame.
//!
//! Every break is posted as a `continuity` event whose `source` is
//! `pixels` or `metadata`.
//!
//! Embeddings come from the host's `colour-layout` model through the
//! `inference` capability (0.3.0). Where the host cannot run it (no ONNX
//! Runtime), the plugin says so once and uses the same signature computed
//! in the guest. Config: `{"embeddings": false}` skips the model.

use serde_json::json;
use slate_plugin_sdk::prelude::*;
use slate_story::continuity::{WORLD_FIELD, WorldMeta, check_declared};
use slate_story::pixels::{Look, Scorer, Shots, Tolerance, judge};

/// The `colour-layout` model's input side (models/models.toml).
const EMBED_SIZE: usize = 64;
const EMBED_SCALE: f32 = 0.003921569;

struct Checker {
    shots: Shots,
    scorer: Scorer,
    shot: u32,
    embed: bool,
    /// Frames seen.
    frames: u64,
    /// The world of the frame before, when frames carry it.
    world: Option<WorldMeta>,
    /// Said once when `story.world` does not read.
    warned: bool,
}

/// Posts a break as a `continuity` event.
fn post(kind: String, subject: &str, detail: &str, source: &str, frame: u64) {
    events::post(
        "continuity",
        &[
            text("kind", kind),
            text("subject", subject.to_owned()),
            text("detail", detail.to_owned()),
            text("source", source.to_owned()),
            Field {
                key: "frame".into(),
                value: Value::Integer(frame as i64),
            },
        ],
    );
}

/// A serde enum's name (`off-mark`).
fn name_of(kind: impl serde::Serialize) -> String {
    serde_json::to_value(kind)
        .ok()
        .and_then(|k| k.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// The frame as the `colour-layout` model's input: RGB planes, 64x64,
/// nearest pixel.
fn embedding_input(info: &FrameInfo, pixels: &[u8]) -> inference::Tensor {
    let (w, h, stride) = (info.width as usize, info.height as usize, info.stride as usize);
    let plane = EMBED_SIZE * EMBED_SIZE;
    let mut planes = vec![0f32; 3 * plane];
    for y in 0..EMBED_SIZE {
        let row = (y * h / EMBED_SIZE).min(h.saturating_sub(1)) * stride;
        for x in 0..EMBED_SIZE {
            let at = row + (x * w / EMBED_SIZE).min(w.saturating_sub(1)) * 4;
            for c in 0..3 {
                planes[c * plane + y * EMBED_SIZE + x] = f32::from(pixels[at + c]) * EMBED_SCALE;
            }
        }
    }
    inference::Tensor {
        name: "image".into(),
        shape: vec![1, 3, EMBED_SIZE as i64, EMBED_SIZE as i64],
        data: inference::TensorData::Float32(planes),
    }
}

fn embedding(info: &FrameInfo, pixels: &[u8]) -> Result<Vec<f32>, String> {
    let outputs = inference::infer("colour-layout", Some("continuity"), &[embedding_input(info, pixels)])?;
    match outputs.into_iter().next().map(|t| t.data) {
        Some(inference::TensorData::Float32(values)) => Ok(values),
        _ => Err("colour-layout gave no float32 output".into()),
    }
}

fn text(key: &str, value: String) -> Field {
    Field {
        key: key.into(),
        value: Value::Text(value),
    }
}

fn float(key: &str, value: f32) -> Field {
    Field {
        key: key.into(),
        value: Value::Float(f64::from(value)),
    }
}

impl Checker {
    fn look(&mut self, info: &FrameInfo, pixels: &[u8]) -> Look {
        let mut look = Look::of(pixels, info.width, info.height, info.stride as usize);
        if self.embed {
            match embedding(info, pixels) {
                Ok(vector) => look.embedding = vector,
                Err(e) => {
                    log::warn(&format!(
                        "embeddings from the frame itself from now on: the colour-layout model failed: {e}"
                    ));
                    self.embed = false;
                }
            }
        }
        look
    }

    /// The metadata checker: at a change of the metadata's shot, the
    /// invariants across the cut.
    fn world(&mut self, meta: &mut Metadata) {
        let Some(text_value) = meta
            .fields
            .iter()
            .find(|f| f.key == WORLD_FIELD)
            .and_then(|f| match &f.value {
                Value::Text(t) => Some(t.clone()),
                _ => None,
            })
        else {
            self.world = None;
            return;
        };
        let world: WorldMeta = match serde_json::from_str(&text_value) {
            Ok(world) => world,
            Err(e) => {
                if !self.warned {
                    log::warn(&format!("{WORLD_FIELD} does not read, so no metadata checks: {e}"));
                    self.warned = true;
                }
                self.world = None;
                return;
            }
        };
        if let Some(before) = self.world.take().filter(|b| b.shot != world.shot) {
            let breaks = check_declared(&before.snapshot, &world.snapshot, &world.declared, world.line);
            for b in &breaks {
                post(name_of(b.kind), &b.subject, &b.detail, "metadata", self.frames);
            }
            let report = json!({
                "frame": self.frames,
                "shot_before": before.shot,
                "shot_after": world.shot,
                "breaks": breaks,
            });
            meta.fields.push(text("continuity.world-report", report.to_string()));
        }
        self.world = Some(world);
    }

    fn frame(&mut self, info: &FrameInfo, pixels: &[u8], meta: &mut Metadata) {
        self.world(meta);
        self.frames += 1;
        let look = self.look(info, pixels);
        if let Some((cut, before)) = self.shots.push(look) {
            let after = self.shots.last().expect("just pushed");
            let (breaks, measures) = judge(&before, after, &Tolerance::default());
            let ended = self.scorer.scores();
            self.scorer = Scorer::default();
            self.shot += 1;
            for b in &breaks {
                post(name_of(b.kind), &b.subject, &b.detail, "pixels", cut.frame);
            }
            let report = json!({
                "frame": cut.frame,
                "pts": info.pts,
                "distance": cut.distance,
                "shot_before": self.shot - 1,
                "shot_after": self.shot,
                "breaks": breaks,
                "measures": measures,
                "scores_before": ended,
            });
            meta.fields.push(text("continuity.report", report.to_string()));
        }
        if let Some(look) = self.shots.last() {
            self.scorer.push(look);
        }
        let scores = self.scorer.scores();
        meta.fields.push(Field {
            key: "continuity.shot".into(),
            value: Value::Integer(i64::from(self.shot)),
        });
        meta.fields
            .push(float("continuity.subject-consistency", scores.subject_consistency));
        meta.fields.push(float(
            "continuity.background-consistency",
            scores.background_consistency,
        ));
        meta.fields
            .push(float("continuity.temporal-flicker", scores.temporal_flicker));
        meta.fields
            .push(float("continuity.motion-smoothness", scores.motion_smoothness));
    }
}

impl Analyzer for Checker {
    fn describe() -> Description {
        describe_analyzer("continuity", &[PixelFormat::Rgba, PixelFormat::Rgbx], &[]).config_schema(
            r#"{"embeddings": "true (default): the host's colour-layout model; false: the guest's own"}"#,
        )
    }

    fn new(config: &str) -> Result<Checker, PluginError> {
        let config = Config::parse(config, r#"{"embeddings": true}"#)?;
        config.only(&["embeddings"])?;
        let embed = config.flag("embeddings", true)?;
        Ok(Checker {
            shots: Shots::default(),
            scorer: Scorer::default(),
            shot: 0,
            embed,
            frames: 0,
            world: None,
            warned: false,
        })
    }

    fn analyze_frame(&mut self, info: &FrameInfo, pixels: &[u8], meta: &mut Metadata) -> Result<(), PluginError> {
        let needed = info.stride as usize * info.height as usize;
        if pixels.len() < needed || (info.stride as usize) < info.width as usize * 4 {
            return Err(PluginError::Unsupported(format!(
                "a {}x{} frame with stride {} cannot be {} bytes",
                info.width,
                info.height,
                info.stride,
                pixels.len()
            )));
        }
        self.frame(info, pixels, meta);
        Ok(())
    }

    fn analyze_audio(&mut self, _info: &AudioInfo, _samples: &[u8], _meta: &mut Metadata) -> Result<(), PluginError> {
        Ok(())
    }
}

slate_plugin_sdk::export!(analyzer: Checker);
