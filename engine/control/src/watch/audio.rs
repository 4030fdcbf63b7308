//! Audio meters: every 100 ms of a stem's samples, its peak and RMS per
//! channel (dBFS) and its momentary loudness (EBU R128, 400 ms, LUFS);
//! `silence` when every channel stays under [`SILENCE_DBFS`] for the hold.

use std::time::Instant;

use ebur128::{EbuR128, Mode};
use gst::prelude::*;

use super::{Alert, Condition, METER, post_alert};

/// Quieter than this on every channel is silence.
pub const SILENCE_DBFS: f64 = -60.0;

pub(super) struct Meter {
    element: gst::Element,
    info: gst_audio::AudioInfo,
    loudness: EbuR128,
    peak: Vec<f64>,
    squares: Vec<f64>,
    frames: usize,
    /// Frames in one reading (100 ms).
    block: usize,
    samples: Vec<f32>,
    silence: Condition,
}

impl Meter {
    pub(super) fn new(element: gst::Element, info: gst_audio::AudioInfo) -> Option<Meter> {
        use gst_audio::AudioFormat::*;
        let readable = matches!(info.format(), S16le | S32le | F32le | F64le)
            && info.layout() == gst_audio::AudioLayout::Interleaved
            && info.channels() > 0;
        if !readable {
            tracing::debug!("{}: no meter for {:?} audio", element.name(), info.format());
            return None;
        }
        let channels = info.channels() as usize;
        let loudness = EbuR128::new(info.channels(), info.rate(), Mode::M).ok()?;
        Some(Meter {
            element,
            loudness,
            peak: vec![0.0; channels],
            squares: vec![0.0; channels],
            frames: 0,
            block: (info.rate() as usize / 10).max(1),
            samples: Vec::new(),
            silence: Condition::default(),
            info,
        })
    }

    pub(super) fn buffer(&mut self, buffer: &gst::BufferRef) {
        let Ok(map) = buffer.map_readable() else { return };
        let mut samples = std::mem::take(&mut self.samples);
        samples.clear();
        read_samples(self.info.format(), map.as_slice(), &mut samples);
        let channels = self.peak.len();
        for frame in samples.chunks_exact(channels) {
            for (c, &s) in frame.iter().enumerate() {
                let s = f64::from(s);
                self.peak[c] = self.peak[c].max(s.abs());
                self.squares[c] += s * s;
            }
            self.frames += 1;
            if self.frames == self.block {
                self.report();
            }
        }
        let _ = self.loudness.add_frames_f32(&samples);
        self.samples = samples;
    }

    /// Posts one reading and starts the next.
    fn report(&mut self) {
        let db = |amplitude: f64| 20.0 * amplitude.max(1e-10).log10();
        let peak: Vec<f64> = self.peak.iter().map(|&p| round(db(p))).collect();
        let rms: Vec<f64> = self
            .squares
            .iter()
            .map(|&s| round(db((s / self.frames as f64).sqrt())))
            .collect();
        let momentary = self.loudness.loudness_momentary().ok().filter(|l| l.is_finite());
        let quiet = rms.iter().all(|&r| r < SILENCE_DBFS);
        let mut s = gst::Structure::builder(METER)
            .field("peak-db", gst::Array::new(peak.iter().copied()))
            .field("rms-db", gst::Array::new(rms.iter().copied()))
            .field("rate", self.info.rate())
            .build();
        if let Some(lufs) = momentary {
            s.set("momentary-lufs", round(lufs));
        }
        let _ = self
            .element
            .post_message(gst::message::Element::builder(s).src(&self.element).build());
        if let Some(active) = self.silence.observe(quiet, Instant::now()) {
            let message = match active {
                true => format!("`{}` is silent (under {SILENCE_DBFS} dBFS)", self.element.name()),
                false => format!("`{}` has sound again", self.element.name()),
            };
            post_alert(&self.element, Alert::Silence, active, &message);
        }
        self.peak.fill(0.0);
        self.squares.fill(0.0);
        self.frames = 0;
    }
}

fn round(v: f64) -> f64 {
    (v * 10.0).round() / 10.0
}

/// Interleaved samples of the formats [`Meter::new`] takes, as f32 in -1..1.
fn read_samples(format: gst_audio::AudioFormat, bytes: &[u8], out: &mut Vec<f32>) {
    use gst_audio::AudioFormat::*;
    match format {
        S16le => out.extend(
            bytes
                .chunks_exact(2)
                .map(|b| f32::from(i16::from_le_bytes([b[0], b[1]])) / 32768.0),
        ),
        S32le => out.extend(
            bytes
                .chunks_exact(4)
                .map(|b| i32::from_le_bytes([b[0], b[1], b[2], b[3]]) as f32 / 2_147_483_648.0),
        ),
        F32le => out.extend(
            bytes
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])),
        ),
        F64le => out.extend(
            bytes
                .chunks_exact(8)
                .map(|b| f64::from_le_bytes(b.try_into().expect("8 bytes")) as f32),
        ),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_of_each_format_read_alike() {
        let mut out = Vec::new();
        read_samples(gst_audio::AudioFormat::S16le, &16384i16.to_le_bytes(), &mut out);
        read_samples(gst_audio::AudioFormat::S32le, &(1i32 << 30).to_le_bytes(), &mut out);
        read_samples(gst_audio::AudioFormat::F32le, &0.5f32.to_le_bytes(), &mut out);
        read_samples(gst_audio::AudioFormat::F64le, &0.5f64.to_le_bytes(), &mut out);
        assert_eq!(out, [0.5; 4]);
    }
}
