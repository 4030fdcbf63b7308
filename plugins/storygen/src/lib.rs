//! The reference generator: the config is a storyboard (TOML, see
//! `pipelines/storyboards/`); frame by frame it renders the shot playing
//! at the frame's time, every shot from its camera, with one world state
//! running through the cuts. Each frame carries the shot, the actions that
//! first show in it (`story.events`, the world-state event markers),
//! per object its world and screen position and whether it shows, and
//! the whole world state as a checker needs it (`story.world`, JSON: see
//! `slate_story::continuity::WorldMeta`).
//!
//! Audio (`wasmaudiosrc`, 48 kHz F32): the storyboard's stems, one per
//! channel in the order the storyboard first names them (each buffer's
//! `stems` field), sample-aligned with the frames: effects on the first
//! frame of their action. Lines are silent here — a sandboxed plugin runs
//! no TTS engine; `slate generate` speaks them with espeak-ng. Same storyboard and
//! seed, same bytes.

use slate_plugin_sdk::prelude::*;
use slate_story::audio::{RATE, Unvoiced, stems};
use slate_story::camera::View;
use slate_story::continuity::{Declared, Snapshot, WORLD_FIELD, WorldMeta, line_of};
use slate_story::world::{WorldState, events_at, shot_starts};
use slate_story::{CueKind, Storyboard, shot_field};

struct StoryGen {
    board: Storyboard,
    /// Per shot: the world at its start, and when it starts in the film.
    starts: Vec<(WorldState, f64)>,
    /// Every stem's name, in the order the storyboard first names it.
    stem_names: Vec<String>,
    /// The shot whose stems were made last, and its channels.
    stems: Option<(usize, Vec<Vec<f32>>)>,
    said_lines_are_silent: bool,
}

impl Generator for StoryGen {
    fn describe() -> Description {
        describe_generator(
            "storygen",
            &[PixelFormat::Rgba, PixelFormat::Rgbx],
            &[SampleFormat::F32le],
        )
        .config_schema(r#"{"(the whole config)": "a storyboard in TOML (README: Storyboards)"}"#)
    }

    fn new(config: &str) -> Result<Self, PluginError> {
        let board =
            Storyboard::parse(config, "storyboard (config)").map_err(|e| PluginError::BadConfig(e.to_string()))?;
        let mut at = 0.0;
        let starts = shot_starts(&board)
            .into_iter()
            .zip(board.shots())
            .map(|(state, (_, shot))| {
                let start = at;
                at += shot.duration;
                (state, start)
            })
            .collect();
        let mut stem_names: Vec<String> = Vec::new();
        for cue in board.shots().flat_map(|(_, shot)| &shot.audio) {
            if !stem_names.contains(&cue.stem) {
                stem_names.push(cue.stem.clone());
            }
        }
        Ok(StoryGen {
            board,
            starts,
            stem_names,
            stems: None,
            said_lines_are_silent: false,
        })
    }

    fn generate_audio(&mut self, info: &AudioInfo, meta: &mut Metadata) -> Result<Vec<u8>, PluginError> {
        if info.rate != RATE || info.format != SampleFormat::F32le {
            return Err(PluginError::Unsupported(format!(
                "storygen makes F32 audio at {RATE} Hz; put audioconvert ! audioresample after it"
            )));
        }
        // The first sample's number, from its time (ns).
        let start = (u128::from(info.pts.unwrap_or(0)) * u128::from(RATE)).div_ceil(1_000_000_000) as u64;
        let channels = info.channels as usize;
        let mut out = vec![0f32; info.frames as usize * channels];
        for k in 0..info.frames as usize {
            let n = start + k as u64;
            let Some(index) = self
                .starts
                .iter()
                .rposition(|(_, s)| (s * f64::from(RATE)).round() as u64 <= n)
            else {
                continue;
            };
            let first = (self.starts[index].1 * f64::from(RATE)).round() as u64;
            let stems = self.stems_of(index)?;
            for (channel, stem) in stems.iter().enumerate().take(channels) {
                out[k * channels + channel] = stem.get((n - first) as usize).copied().unwrap_or(0.0);
            }
        }
        meta.fields.push(Field {
            key: "stems".into(),
            value: Value::TextList(self.stem_names.clone()),
        });
        Ok(out.iter().flat_map(|s| s.to_le_bytes()).collect())
    }

    fn generate_frame(&mut self, info: &FrameInfo, meta: &mut Metadata) -> Result<Vec<u8>, PluginError> {
        let (width, height, stride) = (info.width as usize, info.height as usize, info.stride as usize);
        if stride < width * 4 {
            return Err(PluginError::Unsupported(format!(
                "stride {stride} is less than 4 x width {width}"
            )));
        }
        let now = info.pts.unwrap_or(0) as f64 / 1e9;
        let shots: Vec<_> = self.board.shots().collect();
        let index = self.starts.iter().rposition(|(_, start)| *start <= now).unwrap_or(0);
        let (scene, shot) = shots[index];
        let (start_state, start) = &self.starts[index];
        // Past the end, the last shot holds its last frame.
        let t = (now - start).min(shot.duration);
        let state = start_state.during(shot, t);
        let view = View::of_shot(&shot.camera, shot.duration, t, info.width, info.height);
        let frame = slate_story::render::render(&self.board, &state, &view);
        let mut pixels = vec![0u8; stride * height];
        for (row, source) in pixels.chunks_exact_mut(stride).zip(frame.rgba.chunks_exact(width * 4)) {
            row[..width * 4].copy_from_slice(source);
        }
        let text = |key: &str, value: &str| Field {
            key: key.into(),
            value: Value::Text(value.into()),
        };
        let number = |key: &str, value: f64| Field {
            key: key.into(),
            value: Value::Float(value),
        };
        meta.fields.push(text("scene", &scene.id));
        meta.fields.push(text("shot", &shot.id));
        meta.fields.push(number("story.shot-time", t));
        let fps = self.board.storyboard.fps;
        let events: Vec<String> = events_at(shot, (t * f64::from(fps)).round() as u32, fps)
            .map(|a| {
                let by = a.by.as_deref().map(|who| format!(" by {who}")).unwrap_or_default();
                format!("{} {}{by}", a.verb.name(), a.object)
            })
            .collect();
        if !events.is_empty() {
            meta.fields.push(text("story.events", &events.join("; ")));
        }
        let world = WorldMeta {
            shot: shot.id.clone(),
            snapshot: Snapshot::of(&shot.id, &state, &view),
            declared: Declared::of(shot),
            line: line_of(&self.board),
        };
        meta.fields.push(text(
            WORLD_FIELD,
            &serde_json::to_string(&world).expect("the world is JSON"),
        ));
        for (id, object) in frame.objects.iter().enumerate() {
            let mut fields = vec![
                text("kind", object.kind),
                number("world.x", object.world[0]),
                number("world.y", object.world[1]),
                number("world.z", object.world[2]),
                Field {
                    key: "visible".into(),
                    value: Value::Boolean(object.pixels > 0),
                },
            ];
            if let Some([x, y]) = object.screen {
                fields.push(number("screen.x", x));
                fields.push(number("screen.y", y));
            }
            meta.objects.push(Object {
                id: id as u32,
                label: object.id.clone(),
                bbox: object.bbox.map(|[x, y, w, h]| Bbox {
                    x: x as f32,
                    y: y as f32,
                    w: w as f32,
                    h: h as f32,
                }),
                confidence: None,
                fields,
            });
        }
        Ok(pixels)
    }
}

impl StoryGen {
    /// Shot `index`'s stems as channels (silent for stems it has no cue
    /// on), made once while the shot plays.
    fn stems_of(&mut self, index: usize) -> Result<&[Vec<f32>], PluginError> {
        if self.stems.as_ref().is_none_or(|(made, _)| *made != index) {
            let ((si, k), (_, shot)) = self
                .board
                .places()
                .zip(self.board.shots())
                .nth(index)
                .expect("a shot of the board");
            if !self.said_lines_are_silent && shot.audio.iter().any(|c| c.kind == CueKind::Line) {
                log::warn(
                    "lines are silent: a sandboxed plugin runs no TTS engine (slate generate speaks them with espeak-ng)",
                );
                self.said_lines_are_silent = true;
            }
            let made = stems(
                &self.board,
                shot,
                &shot_field(si, k),
                self.board.storyboard.seed,
                &mut Unvoiced,
            )
            .map_err(|e| PluginError::Failed(e.to_string()))?;
            let length = made.first().map_or(0, |s| s.samples.len());
            let channels = self
                .stem_names
                .iter()
                .map(|name| {
                    made.iter()
                        .find(|s| &s.name == name)
                        .map_or_else(|| vec![0.0; length], |s| s.samples.clone())
                })
                .collect();
            self.stems = Some((index, channels));
        }
        Ok(&self.stems.as_ref().expect("made above").1)
    }
}

slate_plugin_sdk::export!(generator: StoryGen);
