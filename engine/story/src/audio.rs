//! A shot's audio stems from its cues: one mono track per named stem,
//! sample-aligned with the shot's frames. Effects start on the exact first
//! frame that shows their action (the frame where [`WorldState::during`]
//! applies it); music beds and ambience are synthesised; dialogue lines
//! come from a [`Speaker`] (a real TTS engine, which the caller brings:
//! this crate also builds for WASM, where no engine runs). The seed
//! changes only the grain (noise, phases), never when anything sounds.
//!
//! [`WorldState::during`]: crate::world::WorldState::during

use crate::model::{Action, AudioCue, CueKind, Material, Shot, Storyboard, Verb};
use crate::world::first_frame_at;

/// Samples per second of every stem.
pub const RATE: u32 = 48_000;

/// One stem of a shot: mono samples at [`RATE`], as long as the shot's frames.
#[derive(Debug, Clone, PartialEq)]
pub struct Stem {
    pub name: String,
    pub samples: Vec<f32>,
}

/// A line to speak: the words and which voice (the speaking character's
/// place in the storyboard, so each character keeps one voice).
#[derive(Debug, Clone, PartialEq)]
pub struct Line<'a> {
    pub text: &'a str,
    pub voice: usize,
}

/// Speaks lines: mono samples at [`RATE`], or why it cannot.
pub trait Speaker {
    fn speak(&mut self, line: &Line) -> Result<Vec<f32>, String>;
}

/// Leaves every line silent: for where no TTS engine runs (a sandboxed
/// plugin), or when only the other stems matter.
pub struct Unvoiced;

impl Speaker for Unvoiced {
    fn speak(&mut self, _line: &Line) -> Result<Vec<f32>, String> {
        Ok(Vec::new())
    }
}

/// A stem that could not be made; `field` is the cue's place in the
/// storyboard (`scene[0].shot[1].audio[0]`).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{field}: {why}")]
pub struct StemError {
    pub field: String,
    pub why: String,
}

/// Where a cue starts, in samples into the shot: on the first sample of
/// the first frame at or after its time (an effect tied to an action: of
/// the frame that first shows the action).
pub fn onset_sample(board: &Storyboard, shot: &Shot, cue: &AudioCue) -> u64 {
    let fps = board.storyboard.fps;
    let at = cue.action.and_then(|i| shot.actions.get(i)).map_or(cue.at, |a| a.at);
    u64::from(first_frame_at(at, fps)) * u64::from(RATE) / u64::from(fps)
}

/// The stems of `shot` (the `index`-th shot of `board`, `field` its place
/// in the storyboard, e.g. `scene[0].shot[1]`), in the order the cues
/// first name them; none when it has no cues.
pub fn stems(
    board: &Storyboard,
    shot: &Shot,
    field: &str,
    seed: u64,
    speaker: &mut dyn Speaker,
) -> Result<Vec<Stem>, StemError> {
    let fps = u64::from(board.storyboard.fps);
    let length = (u64::from(board.frames(shot)) * u64::from(RATE) / fps) as usize;
    let mut stems: Vec<Stem> = Vec::new();
    for (i, cue) in shot.audio.iter().enumerate() {
        let field = format!("{field}.audio[{i}]");
        let mut noise = Noise::new(seed ^ (i as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15));
        let start = onset_sample(board, shot, cue) as usize;
        let room = length.saturating_sub(start);
        let sound = match cue.kind {
            CueKind::Effect => effect(cue.action.and_then(|a| shot.actions.get(a)), board, &mut noise),
            CueKind::Music => music(room, &mut noise),
            CueKind::Ambience => ambience(room, &mut noise),
            CueKind::Line => {
                let voice = cue
                    .by
                    .as_ref()
                    .and_then(|by| board.world.characters.iter().position(|c| &c.id == by))
                    .unwrap_or(0);
                let text = cue.text.as_deref().unwrap_or_default();
                speaker
                    .speak(&Line { text, voice })
                    .map_err(|why| StemError { field, why })?
            }
        };
        let gain = 10f32.powf(cue.gain as f32 / 20.0);
        let stem = match stems.iter().position(|s| s.name == cue.stem) {
            Some(at) => &mut stems[at],
            None => {
                stems.push(Stem {
                    name: cue.stem.clone(),
                    samples: vec![0.0; length],
                });
                stems.last_mut().expect("just pushed")
            }
        };
        for (out, sample) in stem.samples.iter_mut().skip(start).zip(sound) {
            *out += sample * gain;
        }
    }
    Ok(stems)
}

/// All stems summed, kept within full scale.
pub fn mixdown(stems: &[Stem]) -> Vec<f32> {
    let length = stems.iter().map(|s| s.samples.len()).max().unwrap_or(0);
    let mut mix = vec![0.0f32; length];
    for stem in stems {
        for (out, sample) in mix.iter_mut().zip(&stem.samples) {
            *out += sample;
        }
    }
    for sample in &mut mix {
        *sample = sample.clamp(-1.0, 1.0);
    }
    mix
}

/// An effect: full level on its first sample, then a ring at the pitch
/// of what is handled (its material) over a noise burst, gone in 120 ms.
fn effect(action: Option<&Action>, board: &Storyboard, noise: &mut Noise) -> Vec<f32> {
    let material = action
        .and_then(|a| board.world.props.iter().find(|p| p.id == a.object))
        .map_or(Material::Matte, |p| p.material);
    let pitch = match material {
        Material::Ceramic => 2_400.0,
        Material::Glass => 3_100.0,
        Material::Metal => 1_250.0,
        Material::Plastic => 800.0,
        Material::Wood => 420.0,
        Material::Matte => 300.0,
    };
    // Putting down knocks harder than picking up.
    let level = match action.map(|a| a.verb) {
        Some(Verb::Place) => 0.8,
        Some(Verb::PickUp) => 0.5,
        _ => 0.7,
    };
    let length = (RATE as usize * 120) / 1000;
    let decay = 1.0 / (0.025 * RATE as f32);
    let phase = noise.next() * std::f32::consts::TAU;
    (0..length)
        .map(|n| {
            let t = n as f32 / RATE as f32;
            let envelope = (-(n as f32) * decay).exp();
            // The ring starts at its crest so the onset sample is loud.
            let ring = (std::f32::consts::TAU * pitch * t + std::f32::consts::FRAC_PI_2).sin();
            let grain = 0.35 * (noise.next() * 2.0 - 1.0) * (phase.cos() * 0.5 + 0.5);
            level * envelope * (0.65 * ring + grain)
        })
        .collect()
}

/// A soft A-minor bed with a half-second fade in and a slow swell.
fn music(length: usize, noise: &mut Noise) -> Vec<f32> {
    let notes = [220.0f32, 261.63, 329.63];
    let phases: Vec<f32> = notes.iter().map(|_| noise.next() * std::f32::consts::TAU).collect();
    (0..length)
        .map(|n| {
            let t = n as f32 / RATE as f32;
            let fade = (t / 0.5).min(1.0);
            let swell = 0.8 + 0.2 * (std::f32::consts::TAU * 0.25 * t).sin();
            let chord: f32 = notes
                .iter()
                .zip(&phases)
                .map(|(f, p)| (std::f32::consts::TAU * f * t + p).sin())
                .sum();
            0.12 * fade * swell * chord
        })
        .collect()
}

/// Room tone: noise through a low-pass, steady.
fn ambience(length: usize, noise: &mut Noise) -> Vec<f32> {
    let mut low = 0.0f32;
    (0..length)
        .map(|_| {
            low += 0.05 * ((noise.next() * 2.0 - 1.0) - low);
            0.3 * low
        })
        .collect()
}

/// Seeded noise (xorshift64*), the same on every machine.
struct Noise(u64);

impl Noise {
    fn new(seed: u64) -> Noise {
        Noise(seed | 1)
    }

    /// In [0, 1).
    fn next(&mut self) -> f32 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 40) as f32 / (1u64 << 24) as f32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Silent;

    impl Speaker for Silent {
        fn speak(&mut self, line: &Line) -> Result<Vec<f32>, String> {
            Err(format!("no voice for {:?}", line.text))
        }
    }

    /// Speaks every line as a 10 ms click train, one click per character.
    struct Clicks;

    impl Speaker for Clicks {
        fn speak(&mut self, line: &Line) -> Result<Vec<f32>, String> {
            let mut samples = vec![0.0; line.text.len() * 480];
            for k in 0..line.text.len() {
                samples[k * 480] = 0.5 + line.voice as f32 * 0.1;
            }
            Ok(samples)
        }
    }

    fn board() -> Storyboard {
        Storyboard::parse(
            r##"
            [storyboard]
            title = "t"
            fps = 25
            [world]
            set = { floor = [4.0, 4.0] }
            prop = [{ id = "cup", shape = "cylinder", position = [0.0, 0.0, 0.0], size = [0.1, 0.1, 0.1], colour = "#ffffff", material = "ceramic" }]
            character = [{ id = "ada", position = [1.0, 0.0, 0.0], colour = "#aa0000" }, { id = "bo", position = [-1.0, 0.0, 0.0], colour = "#00aa00" }]
            [[scene]]
            id = "a"
            [[scene.shot]]
            id = "s"
            duration = 2.0
            camera = { position = [0.0, 1.0, 3.0], target = [0.0, 0.0, 0.0] }
            action = [{ at = 0.28, verb = "pick-up", object = "cup", by = "ada" }, { at = 1.3, verb = "place", object = "cup", by = "ada", to = [0.5, 0.0, 0.0] }]
            audio = [
              { stem = "fx", kind = "effect", action = 0 },
              { stem = "fx", kind = "effect", action = 1, gain = -6 },
              { stem = "bed", kind = "music", at = 0.5 },
              { stem = "dialogue", kind = "line", at = 1.0, by = "bo", text = "hi" },
            ]
            "##,
            "t.toml",
        )
        .expect("valid")
    }

    #[test]
    fn effects_start_on_the_first_sample_of_their_actions_frame() {
        let board = board();
        let shot = &board.scenes[0].shots[0];
        let stems = stems(&board, shot, "scene[0].shot[0]", 7, &mut Clicks).expect("made");
        let names: Vec<&str> = stems.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["fx", "bed", "dialogue"]);
        assert!(stems.iter().all(|s| s.samples.len() == 2 * 48_000));
        let fx = &stems[0].samples;
        // Frame 7 (0.28 s) and frame 33 (1.32 s), 1920 samples a frame.
        for (onset, level) in [(7 * 1920, 0.5), (33 * 1920, 0.8 * 0.501)] {
            assert!(
                fx[onset - 50..onset].iter().all(|s| s.abs() < 1e-3),
                "quiet before {onset}"
            );
            assert!((fx[onset] - level * 0.65).abs() < 0.2, "loud at {onset}: {}", fx[onset]);
        }
        let first_sound = |s: &[f32]| s.iter().position(|x| x.abs() > 1e-6);
        let bed = first_sound(&stems[1].samples).expect("a bed");
        // 0.5 s is between frames 12 and 13: the bed starts with frame 13.
        assert!((24_960..25_060).contains(&bed), "the bed fades in from frame 13: {bed}");
        assert_eq!(first_sound(&stems[2].samples), Some(48_000));
        assert!(
            (stems[2].samples[48_000] - 0.6).abs() < 1e-6,
            "bo speaks with the second voice"
        );
    }

    #[test]
    fn the_seed_changes_the_grain_and_never_the_timing() {
        let board = board();
        let shot = &board.scenes[0].shots[0];
        let make = |seed| stems(&board, shot, "s", seed, &mut Clicks).expect("made");
        assert_eq!(make(7), make(7), "same seed, same samples");
        let (a, b) = (make(7), make(8));
        assert_ne!(a[0].samples, b[0].samples);
        // The bed fades in from silence, so where it passes silence
        // depends on its phases; the effects and lines start sharp.
        for (x, y) in a.iter().zip(&b).filter(|(x, _)| x.name != "bed") {
            // Sound after at least 10 ms of silence.
            let onsets = |s: &[f32]| {
                let mut quiet = usize::MAX;
                let mut found = Vec::new();
                for (i, x) in s.iter().enumerate() {
                    if x.abs() > 1e-6 {
                        if quiet >= 480 {
                            found.push(i);
                        }
                        quiet = 0;
                    } else {
                        quiet = quiet.saturating_add(1);
                    }
                }
                found
            };
            assert_eq!(onsets(&x.samples), onsets(&y.samples), "{}", x.name);
        }
    }

    #[test]
    fn a_line_nobody_can_speak_names_its_cue() {
        let board = board();
        let error = stems(&board, &board.scenes[0].shots[0], "scene[0].shot[0]", 1, &mut Silent).unwrap_err();
        assert_eq!(error.field, "scene[0].shot[0].audio[3]");
        assert!(error.to_string().contains("no voice for \"hi\""), "{error}");
    }

    #[test]
    fn the_mixdown_sums_the_stems_within_full_scale() {
        let stems = [
            Stem {
                name: "a".into(),
                samples: vec![0.5, 0.9, -0.2],
            },
            Stem {
                name: "b".into(),
                samples: vec![0.25, 0.9],
            },
        ];
        assert_eq!(mixdown(&stems), [0.75, 1.0, -0.2]);
    }
}
