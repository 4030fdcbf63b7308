//! Storyboards: a world — the set, props (shape, position, size, colour,
//! material, mass), characters (optionally a consent identity for a
//! cameo) and lights — and scenes of shots, each with its camera and move,
//! blocking, actions that change the world, lighting cues and audio cues
//! on named stems, and how its clock follows the previous shot's.
//!
//! [`Storyboard::parse`] reads TOML and checks everything a generator will
//! rely on; every error names the file, line, column and field:
//!
//! ```text
//! coffee.toml:31:12: scene[0].shot[1].action[0].object: no prop or character `mug` (props: table, cup)
//! ```
//! `pipelines/storyboards/coffee.toml` is a complete example.
//!
//! [`world`] plays the storyboard: one world state runs through every
//! shot (only actions move, hide or recolour props), so the cup stays on
//! the table across cuts by construction. [`camera`] places each shot's
//! camera at any moment and projects world points; [`render`] is the
//! deterministic reference renderer, whose frames say where every object
//! is (world and screen position, pixels shown).
//!
//! [`audio`] makes each shot's stems from its cues, effects on the frame
//! of their action.
//!
//! Continuity is checked from both sources of truth: [`continuity`] from
//! world-state metadata, [`pixels`] from the frames alone (shot
//! boundaries, coloured regions, light on neutral surfaces, VBench-style
//! per-shot scores); [`retake`] re-plans a shot whose cut is flagged.

pub mod audio;
pub mod camera;
pub mod continuity;
mod locate;
mod model;
pub mod pixels;
pub mod render;
pub mod retake;
mod validate;
pub mod world;

pub use model::*;

/// A storyboard that does not read or does not hold together.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{origin}:{line}:{column}: {field}{sep}{message}", sep = if field.is_empty() { "" } else { ": " })]
pub struct StoryError {
    pub origin: String,
    pub line: usize,
    pub column: usize,
    /// The field, as a path: `scene[0].shot[1].camera.fov`.
    pub field: String,
    pub message: String,
}

/// More than one problem: all of them, in file order.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))]
pub struct StoryErrors(pub Vec<StoryError>);

impl Storyboard {
    pub fn load(path: &std::path::Path) -> Result<Storyboard, StoryErrors> {
        let origin = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| {
            StoryErrors(vec![StoryError {
                origin: origin.clone(),
                line: 0,
                column: 0,
                field: String::new(),
                message: format!("cannot read it: {e}"),
            }])
        })?;
        Storyboard::parse(&text, &origin)
    }

    /// Reads `text` (named `origin` in errors) and validates it.
    pub fn parse(text: &str, origin: &str) -> Result<Storyboard, StoryErrors> {
        let located = |span: Option<std::ops::Range<usize>>, field: String, message: String| {
            let (line, column) = locate::line_column(text, span.map_or(0, |s| s.start));
            StoryError {
                origin: origin.to_owned(),
                line,
                column,
                field,
                message,
            }
        };
        let board: Storyboard = toml::from_str(text)
            .map_err(|e| StoryErrors(vec![located(e.span(), String::new(), e.message().trim().to_owned())]))?;
        let problems = validate::problems(&board);
        if problems.is_empty() {
            return Ok(board);
        }
        let document = toml_edit::Document::parse(text.to_owned()).ok();
        let mut errors: Vec<StoryError> = problems
            .into_iter()
            .map(|(path, message)| {
                let span = document.as_ref().and_then(|d| locate::span_of(d, &path));
                located(span, locate::render(&path), message)
            })
            .collect();
        errors.sort_by_key(|e| (e.line, e.column));
        Err(StoryErrors(errors))
    }

    /// Checks a storyboard made or edited in code as [`Storyboard::parse`]
    /// checks a file: each problem as `field: message`.
    pub fn problems(&self) -> Vec<String> {
        validate::problems(self)
            .into_iter()
            .map(|(path, message)| format!("{}: {message}", locate::render(&path)))
            .collect()
    }

    /// Frames `shot` renders: its duration at the storyboard's rate, at least one.
    pub fn frames(&self, shot: &Shot) -> u32 {
        (shot.duration * f64::from(self.storyboard.fps)).round().max(1.0) as u32
    }

    /// Every shot's place, in order: its scene's index and its own.
    pub fn places(&self) -> impl Iterator<Item = (usize, usize)> + '_ {
        self.scenes
            .iter()
            .enumerate()
            .flat_map(|(si, scene)| (0..scene.shots.len()).map(move |k| (si, k)))
    }

    /// Every shot with its scene, in order.
    pub fn shots(&self) -> impl Iterator<Item = (&Scene, &Shot)> {
        self.scenes
            .iter()
            .flat_map(|scene| scene.shots.iter().map(move |shot| (scene, shot)))
    }
}

/// A shot's place as errors name its fields: `scene[0].shot[1]`.
pub fn shot_field(scene: usize, shot: usize) -> String {
    format!("scene[{scene}].shot[{shot}]")
}

/// A colour `#rrggbb` as bytes.
pub fn rgb(colour: &str) -> Option<[u8; 3]> {
    let hex = colour
        .strip_prefix('#')
        .filter(|h| h.len() == 6 && h.bytes().all(|b| b.is_ascii_hexdigit()))?;
    let byte = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).ok();
    Some([byte(0)?, byte(2)?, byte(4)?])
}

#[cfg(test)]
mod tests {
    #[test]
    fn colours_are_six_hex_digits_after_a_hash() {
        assert_eq!(super::rgb("#20a0ff"), Some([0x20, 0xa0, 0xff]));
        for bad in ["20a0ff", "#20a0f", "#+0a0ff", "#20a0fg", "#20 0ff"] {
            assert_eq!(super::rgb(bad), None, "{bad:?}");
        }
    }
}
