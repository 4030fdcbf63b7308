//! Dialogue through espeak-ng: each character speaks with a voice of its
//! own, resampled to the stems' rate by GStreamer. A line is spoken once
//! per batch (every variant says it alike; speech has no seed).

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};

use slate_story::audio::{Line, RATE, Speaker};

/// Voices in the order characters are named in the storyboard.
const VOICES: [&str; 6] = ["en+m3", "en+f3", "en+m5", "en+f4", "en+m7", "en+f2"];

/// Words per minute.
const SPEED: &str = "160";

/// Lines already spoken, by words and voice.
type Spoken = HashMap<(String, usize), Vec<f32>>;

/// espeak-ng, found on PATH when the first line is spoken.
#[derive(Clone, Default)]
pub struct Espeak {
    spoken: Arc<Mutex<Spoken>>,
}

impl Espeak {
    fn program() -> Result<PathBuf, String> {
        std::env::var_os("PATH")
            .iter()
            .flat_map(std::env::split_paths)
            .map(|dir| dir.join("espeak-ng"))
            .find(|p| p.is_file())
            .ok_or_else(|| "a line needs espeak-ng to speak it and it is not on PATH; install it (apt install espeak-ng, or run .ci/setup)".to_owned())
    }

    fn say(line: &Line) -> Result<Vec<f32>, String> {
        let program = Espeak::program()?;
        let wav = tempfile::Builder::new()
            .prefix("slate-line-")
            .suffix(".wav")
            .tempfile()
            .map_err(|e| format!("a scratch file for the speech: {e}"))?;
        let voice = VOICES[line.voice % VOICES.len()];
        let mut child = Command::new(&program)
            // (Not -q: quiet also stops the file being written.)
            .args(["-v", voice, "-s", SPEED, "-w"])
            .arg(wav.path())
            .stdin(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("{}: {e}", program.display()))?;
        // The words go through stdin, so a line starting with '-' is words.
        let words = child.stdin.take().expect("piped");
        std::io::Write::write_all(&mut { words }, line.text.as_bytes())
            .map_err(|e| format!("{}: {e}", program.display()))?;
        let done = child
            .wait_with_output()
            .map_err(|e| format!("{}: {e}", program.display()))?;
        if !done.status.success() {
            return Err(format!(
                "espeak-ng failed ({}): {}",
                done.status,
                String::from_utf8_lossy(&done.stderr).trim()
            ));
        }
        slate_audio::decode_mono(wav.path(), RATE).map_err(|e| format!("reading espeak-ng's speech: {e}"))
    }
}

impl Speaker for Espeak {
    fn speak(&mut self, line: &Line) -> Result<Vec<f32>, String> {
        let key = (line.text.to_owned(), line.voice % VOICES.len());
        if let Some(samples) = self.spoken.lock().expect("not poisoned").get(&key) {
            return Ok(samples.clone());
        }
        let samples = Espeak::say(line)?;
        self.spoken.lock().expect("not poisoned").insert(key, samples.clone());
        Ok(samples)
    }
}
