//! Silero VAD v6: speech probability for every 512 samples at 16 kHz, fed
//! with the 64 samples before them and a recurrent state, and speech
//! segments from those probabilities.

use std::sync::Arc;

use crate::error::OnnxError;
use crate::session::Model;
use crate::tensor::{TensorView, ViewData};

pub const RATE: u32 = 16_000;
pub const CHUNK: usize = 512;
const CONTEXT: usize = 64;

/// One audio stream through a Silero VAD session.
pub struct SileroVad {
    model: Arc<Model>,
    state: Vec<f32>,
    context: Vec<f32>,
    pending: Vec<f32>,
    input: Vec<f32>,
    /// Chunks scored so far.
    chunks: u64,
}

impl SileroVad {
    pub fn new(model: Arc<Model>) -> SileroVad {
        SileroVad {
            model,
            state: vec![0.0; 2 * 128],
            context: vec![0.0; CONTEXT],
            pending: Vec::with_capacity(CHUNK),
            input: vec![0.0; CONTEXT + CHUNK],
            chunks: 0,
        }
    }

    /// Feeds 16 kHz mono samples (-1..1); returns the speech probability of
    /// every 32 ms chunk completed, with the chunk's start in seconds.
    pub fn push(&mut self, samples: &[f32]) -> Result<Vec<(f64, f32)>, OnnxError> {
        let mut scores = Vec::new();
        for &sample in samples {
            self.pending.push(sample);
            if self.pending.len() == CHUNK {
                let at = self.chunks as f64 * CHUNK as f64 / RATE as f64;
                scores.push((at, self.score()?));
                self.chunks += 1;
                self.pending.clear();
            }
        }
        Ok(scores)
    }

    fn score(&mut self) -> Result<f32, OnnxError> {
        self.input[..CONTEXT].copy_from_slice(&self.context);
        self.input[CONTEXT..].copy_from_slice(&self.pending);
        self.context.copy_from_slice(&self.pending[CHUNK - CONTEXT..]);
        let rate = [RATE as i64];
        let inputs = [
            (
                "input",
                TensorView {
                    shape: &[1, (CONTEXT + CHUNK) as i64],
                    data: ViewData::F32(&self.input),
                },
            ),
            (
                "state",
                TensorView {
                    shape: &[2, 1, 128],
                    data: ViewData::F32(&self.state),
                },
            ),
            (
                "sr",
                TensorView {
                    shape: &[],
                    data: ViewData::I64(&rate),
                },
            ),
        ];
        let size = self.state.len();
        let (probability, state) = self
            .model
            .run(&inputs, |outputs| {
                let probability = match outputs.first().map(|o| o.1.data) {
                    Some(ViewData::F32(p)) if !p.is_empty() => p[0],
                    _ => return Err("Silero VAD's first output is one float".to_owned()),
                };
                match outputs.get(1).map(|o| o.1.data) {
                    Some(ViewData::F32(next)) if next.len() == size => Ok((probability, next.to_vec())),
                    _ => Err("Silero VAD's second output is its 2x1x128 state".to_owned()),
                }
            })?
            .map_err(|why| OnnxError::Mismatch {
                model: self.model.spec.name.clone(),
                why,
            })?;
        self.state = state;
        Ok(probability)
    }
}

/// Speech segments from chunk probabilities, the way Silero's own
/// `get_speech_timestamps` decides: speech starts at a chunk >= `start`,
/// and ends once probabilities stay below `end` for `min_silence` seconds.
#[derive(Debug, Clone)]
pub struct SpeechSegments {
    pub start: f32,
    pub end: f32,
    pub min_silence: f64,
    speaking_since: Option<f64>,
    quiet_since: Option<f64>,
}

impl Default for SpeechSegments {
    fn default() -> Self {
        SpeechSegments {
            start: 0.5,
            end: 0.35,
            min_silence: 0.1,
            speaking_since: None,
            quiet_since: None,
        }
    }
}

/// A change in speech: started at, or ended (with where it started).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SpeechEvent {
    Started(f64),
    Ended { start: f64, end: f64 },
}

impl SpeechSegments {
    /// The event the chunk at `at` (seconds) with `probability` causes.
    pub fn update(&mut self, at: f64, probability: f32) -> Option<SpeechEvent> {
        match self.speaking_since {
            None if probability >= self.start => {
                self.speaking_since = Some(at);
                self.quiet_since = None;
                Some(SpeechEvent::Started(at))
            }
            None => None,
            Some(start) => {
                if probability >= self.end {
                    self.quiet_since = None;
                    return None;
                }
                let quiet = *self.quiet_since.get_or_insert(at);
                if at + CHUNK as f64 / RATE as f64 - quiet >= self.min_silence {
                    self.speaking_since = None;
                    self.quiet_since = None;
                    return Some(SpeechEvent::Ended { start, end: quiet });
                }
                None
            }
        }
    }

    /// Whether speech is going on.
    pub fn speaking(&self) -> bool {
        self.speaking_since.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_need_a_start_and_enough_silence_to_end() {
        let mut s = SpeechSegments::default();
        let step = CHUNK as f64 / RATE as f64;
        let probabilities = [0.1, 0.6, 0.9, 0.2, 0.8, 0.1, 0.1, 0.1, 0.1, 0.1];
        let events: Vec<SpeechEvent> = probabilities
            .iter()
            .enumerate()
            .filter_map(|(i, p)| s.update(i as f64 * step, *p))
            .collect();
        assert_eq!(events[0], SpeechEvent::Started(step));
        // The dip at chunk 3 is too short; silence from chunk 5 ends it.
        let SpeechEvent::Ended { start, end } = events[1] else {
            panic!("{events:?}")
        };
        assert_eq!((start, end), (step, 5.0 * step));
        assert_eq!(events.len(), 2);
    }
}
