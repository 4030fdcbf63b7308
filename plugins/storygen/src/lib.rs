//! The reference generator: the config is a storyboard (TOML, see
//! `pipelines/storyboards/`); frame by frame it renders the shot playing
//! at the frame's time, every shot from its camera, with one world state
//! running through the cuts. Each frame carries the shot, the actions that
//! first show in it (`story.events`, the world-state event markers),
//! per object its world and screen position and whether it shows, and
//! the whole world state as a checker needs it (`story.world`, JSON: see
//! `slate_story::continuity::WorldMeta`). Same storyboard and
//! seed, same bytes.

use slate_plugin_sdk::prelude::*;
use slate_story::Storyboard;
use slate_story::camera::View;
use slate_story::continuity::{Declared, Snapshot, WORLD_FIELD, WorldMeta, line_of};
use slate_story::world::{WorldState, events_at, shot_starts};

struct StoryGen {
    board: Storyboard,
    /// Per shot: the world at its start, and when it starts in the film.
    starts: Vec<(WorldState, f64)>,
}

impl Generator for StoryGen {
    fn describe() -> Description {
        describe_generator("storygen", &[PixelFormat::Rgba, PixelFormat::Rgbx], &[])
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
        Ok(StoryGen { board, starts })
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

slate_plugin_sdk::generator!(StoryGen);
