//! Loudness normalisation to a delivery profile.
//!
//! File mode is exact: measure the whole file, apply the gain that brings
//! it to the target with a true-peak limiter under the ceiling, measure
//! the result and correct the gain until it lands within 0.05 LU (the
//! limiter takes a little loudness off peaky material). Live mode works on
//! a stream with a bounded look-ahead ([`LiveNormaliser`]).
//!
//! (gst-plugins-rs' `audioloudnorm` was the first choice for live mode;
//! 0.15.4 reads out of bounds when it drains at end of stream, so Slate
//! does not link it.)

use std::path::Path;
use std::sync::{Arc, Mutex};

use serde::Serialize;

use crate::limiter::Limiter;
use crate::{AudioError, Loudness, Meter, Writer, decode_file, measure_file};

/// A delivery target: integrated loudness and the highest true peak.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Profile {
    pub name: String,
    pub integrated_lufs: f64,
    pub true_peak_dbtp: f64,
}

/// The named profiles: name, LUFS, dBTP, what it is.
pub const PROFILES: [(&str, f64, f64, &str); 3] = [
    ("ebu-r128", -23.0, -1.0, "EBU R128 broadcast"),
    ("streaming", -14.0, -1.0, "music and video streaming platforms"),
    ("atsc-a85", -24.0, -2.0, "ATSC A/85 (US broadcast, LKFS)"),
];

impl Profile {
    pub fn named(name: &str) -> Result<Profile, AudioError> {
        PROFILES
            .iter()
            .find(|(n, ..)| *n == name)
            .map(|&(name, lufs, tp, _)| Profile {
                name: name.into(),
                integrated_lufs: lufs,
                true_peak_dbtp: tp,
            })
            .ok_or_else(|| {
                let names: Vec<_> = PROFILES.iter().map(|(n, ..)| *n).collect();
                AudioError::Profile(format!(
                    "no profile `{name}`: use one of {} or custom with a target",
                    names.join(", ")
                ))
            })
    }

    /// A target of one's own: -70 < LUFS < 0, -20 <= dBTP <= 0.
    pub fn custom(integrated_lufs: f64, true_peak_dbtp: f64) -> Result<Profile, AudioError> {
        if !(integrated_lufs > -70.0 && integrated_lufs < 0.0) {
            return Err(AudioError::Profile(format!(
                "target {integrated_lufs} LUFS: choose a loudness between -70 and 0 LUFS"
            )));
        }
        if !(-20.0..=0.0).contains(&true_peak_dbtp) {
            return Err(AudioError::Profile(format!(
                "true peak {true_peak_dbtp} dBTP: choose a ceiling between -20 and 0 dBTP"
            )));
        }
        Ok(Profile {
            name: "custom".into(),
            integrated_lufs,
            true_peak_dbtp,
        })
    }
}

/// What normalisation did.
#[derive(Debug, Clone, Serialize)]
pub struct Normalised {
    pub profile: Profile,
    pub mode: &'static str,
    pub input: Loudness,
    pub output: Loudness,
    /// Gain applied before the limiter, dB (none for a silent file).
    pub gain_db: f64,
    /// The deepest the limiter went, dB below unity (0: it never acted).
    pub limiter_db: f64,
    /// Latency of the normaliser, ms (live mode: its look-ahead).
    pub latency_ms: f64,
    /// File mode: how many times the file was processed.
    pub passes: u32,
    /// Anything the user should know (e.g. silence left as it is).
    pub note: Option<String>,
}

/// Our limiter's ceiling sits this far under the profile's.
const CEILING_MARGIN_DB: f64 = 0.3;
/// File mode lands within this of the target, LU.
const TOLERANCE_LU: f64 = 0.05;
const MAX_PASSES: u32 = 10;

/// Normalises `input` into `output` (.wav or .flac, same rate and
/// channels), exactly: measure, apply, re-measure, correct.
pub fn normalise_file(input: &Path, output: &Path, profile: &Profile) -> Result<Normalised, AudioError> {
    Writer::check_name(output)?;
    let before = measure_file(input)?;
    let Some(loudness) = before.integrated_lufs else {
        let (after, _) = apply(input, output, 0.0, None)?;
        return Ok(Normalised {
            profile: profile.clone(),
            mode: "file",
            input: before,
            output: after,
            gain_db: 0.0,
            limiter_db: 0.0,
            latency_ms: 0.0,
            passes: 1,
            note: Some(
                "silent: nothing above the -70 LUFS gate, so there is no loudness to normalise; \
                 written unchanged"
                    .into(),
            ),
        });
    };
    let mut gain = profile.integrated_lufs - loudness;
    let mut ceiling = profile.true_peak_dbtp - CEILING_MARGIN_DB;
    // The limiter takes loudness off as the gain rises, so each pass
    // corrects by the slope the last two passes showed (secant method).
    let mut previous: Option<(f64, f64)> = None;
    let mut passes = 0;
    loop {
        passes += 1;
        let (after, min_gain) = apply(input, output, gain, Some(ceiling))?;
        let reached = after.integrated_lufs.unwrap_or(profile.integrated_lufs);
        let error = profile.integrated_lufs - reached;
        let excess = after
            .true_peak_dbtp
            .map_or(0.0, |tp| tp - (profile.true_peak_dbtp - 0.1));
        let done = error.abs() <= TOLERANCE_LU && excess <= 0.0;
        if done || passes == MAX_PASSES {
            let note = (!done).then(|| format!("landed {error:+.2} LU from the target after {passes} passes"));
            return Ok(Normalised {
                profile: profile.clone(),
                mode: "file",
                input: before,
                output: after,
                gain_db: gain,
                limiter_db: -20.0 * f64::from(min_gain).log10(),
                latency_ms: 0.0,
                passes,
                note,
            });
        }
        let slope = match previous {
            Some((g, r)) if (gain - g).abs() > 1e-3 => ((reached - r) / (gain - g)).clamp(0.05, 1.5),
            _ => 1.0,
        };
        previous = Some((gain, reached));
        gain += (error / slope).clamp(-12.0, 12.0);
        if excess > 0.0 {
            ceiling -= excess + 0.05;
            previous = None;
        }
    }
}

/// One pass: gain, limiter (when given a ceiling), measure and write.
/// Returns the output's loudness and the limiter's lowest gain.
fn apply(input: &Path, output: &Path, gain_db: f64, ceiling: Option<f64>) -> Result<(Loudness, f32), AudioError> {
    struct Pass {
        meter: Meter,
        limiter: Option<Limiter>,
        writer: Writer,
        out: Vec<f32>,
    }
    impl Pass {
        fn drain(&mut self) -> Result<(), AudioError> {
            self.meter.add(&self.out)?;
            self.writer.write(&self.out)?;
            self.out.clear();
            Ok(())
        }
    }
    let scale = 10f64.powf(gain_db / 20.0) as f32;
    let output_path = output.to_owned();
    let state: Arc<Mutex<Option<Pass>>> = Arc::default();
    let feed = state.clone();
    decode_file(input, move |rate, channels, samples| {
        let mut state = feed.lock().unwrap();
        let pass = match &mut *state {
            Some(pass) => pass,
            None => state.insert(Pass {
                meter: Meter::new(rate, channels)?,
                limiter: ceiling.map(|c| Limiter::new(rate, channels, c)),
                writer: Writer::create(&output_path, rate, channels)?,
                out: Vec::new(),
            }),
        };
        let scaled: Vec<f32> = samples.iter().map(|s| s * scale).collect();
        match &mut pass.limiter {
            Some(limiter) => limiter.push(&scaled, &mut pass.out),
            None => pass.out.extend_from_slice(&scaled),
        }
        pass.drain()
    })?;
    let mut pass = state
        .lock()
        .unwrap()
        .take()
        .ok_or_else(|| AudioError::NoAudio(input.to_owned()))?;
    let mut min_gain = 1.0;
    if let Some(mut limiter) = pass.limiter.take() {
        limiter.flush(&mut pass.out);
        min_gain = limiter.min_gain;
    }
    pass.drain()?;
    pass.writer.finish()?;
    Ok((pass.meter.report(), min_gain))
}

/// Live mode: the stream is delayed by the look-ahead; the gain follows
/// the gated loudness of everything heard so far (look-ahead included),
/// moving at most 1 dB/s once playing, then the true-peak limiter. Bounded
/// memory and a stated latency; close to the target on steady material,
/// not exact (that is file mode).
pub struct LiveNormaliser {
    target: f64,
    meter: ebur128::EbuR128,
    channels: usize,
    rate: u32,
    delay: std::collections::VecDeque<f32>,
    lookahead: usize,
    /// Current gain, dB, and the most it may move per frame.
    gain_db: f64,
    slew_per_frame: f64,
    started: bool,
    limiter: Limiter,
    scaled: Vec<f32>,
}

/// The live normaliser's look-ahead.
pub const LIVE_LOOKAHEAD_S: f64 = 3.0;

impl LiveNormaliser {
    pub fn new(rate: u32, channels: u32, profile: &Profile) -> Result<LiveNormaliser, AudioError> {
        let meter = ebur128::EbuR128::new(channels, rate, ebur128::Mode::I)
            .map_err(|e| AudioError::Meter(format!("{channels} channels at {rate} Hz: {e}")))?;
        Ok(LiveNormaliser {
            target: profile.integrated_lufs,
            meter,
            channels: channels as usize,
            rate,
            delay: std::collections::VecDeque::new(),
            lookahead: (LIVE_LOOKAHEAD_S * f64::from(rate)) as usize,
            gain_db: 0.0,
            slew_per_frame: 1.0 / f64::from(rate),
            started: false,
            limiter: Limiter::new(rate, channels, profile.true_peak_dbtp - CEILING_MARGIN_DB),
            scaled: Vec::new(),
        })
    }

    /// Latency from input to output, ms.
    pub fn latency_ms(&self) -> f64 {
        (self.lookahead + self.limiter.latency_frames()) as f64 * 1000.0 / f64::from(self.rate)
    }

    /// Takes interleaved samples; appends what is ready to `out`.
    pub fn push(&mut self, samples: &[f32], out: &mut Vec<f32>) -> Result<(), AudioError> {
        self.meter
            .add_frames_f32(samples)
            .map_err(|e| AudioError::Meter(e.to_string()))?;
        self.delay.extend(samples);
        let wanted = self
            .meter
            .loudness_global()
            .ok()
            .filter(|l| l.is_finite())
            .map(|l| self.target - l);
        let ready = (self.delay.len() / self.channels).saturating_sub(self.lookahead);
        if let Some(wanted) = wanted
            && !self.started
        {
            self.gain_db = wanted;
        }
        self.started |= wanted.is_some();
        self.scaled.clear();
        for _ in 0..ready {
            if let Some(wanted) = wanted {
                let step = (wanted - self.gain_db).clamp(-self.slew_per_frame, self.slew_per_frame);
                self.gain_db += step;
            }
            let scale = 10f64.powf(self.gain_db / 20.0) as f32;
            for _ in 0..self.channels {
                self.scaled.push(self.delay.pop_front().unwrap_or(0.0) * scale);
            }
        }
        self.limiter.push(&self.scaled, out);
        Ok(())
    }

    /// The input has ended: lets the rest out.
    pub fn flush(&mut self, out: &mut Vec<f32>) {
        let scale = 10f64.powf(self.gain_db / 20.0) as f32;
        let rest: Vec<f32> = self.delay.drain(..).map(|s| s * scale).collect();
        self.limiter.push(&rest, out);
        self.limiter.flush(out);
    }
}

/// Live mode on a file: [`LiveNormaliser`] over the decoded stream, as a
/// pipeline would run it, then the output measured.
pub fn normalise_live(input: &Path, output: &Path, profile: &Profile) -> Result<Normalised, AudioError> {
    Writer::check_name(output)?;
    struct Live {
        normaliser: LiveNormaliser,
        /// The input's loudness and the output's, measured as they pass.
        before: Meter,
        meter: Meter,
        writer: Writer,
        out: Vec<f32>,
    }
    let output_path = output.to_owned();
    let target = profile.clone();
    let state: Arc<Mutex<Option<Live>>> = Arc::default();
    let feed = state.clone();
    decode_file(input, move |rate, channels, samples| {
        let mut state = feed.lock().unwrap();
        let live = match &mut *state {
            Some(live) => live,
            None => state.insert(Live {
                normaliser: LiveNormaliser::new(rate, channels, &target)?,
                before: Meter::new(rate, channels)?,
                meter: Meter::new(rate, channels)?,
                writer: Writer::create(&output_path, rate, channels)?,
                out: Vec::new(),
            }),
        };
        live.before.add(samples)?;
        live.normaliser.push(samples, &mut live.out)?;
        live.meter.add(&live.out)?;
        live.writer.write(&live.out)?;
        live.out.clear();
        Ok(())
    })?;
    let mut live = state
        .lock()
        .unwrap()
        .take()
        .ok_or_else(|| AudioError::NoAudio(input.to_owned()))?;
    live.normaliser.flush(&mut live.out);
    live.meter.add(&live.out)?;
    live.writer.write(&live.out)?;
    live.writer.finish()?;
    let after = live.meter.report();
    Ok(Normalised {
        profile: profile.clone(),
        mode: "live",
        gain_db: live.normaliser.gain_db,
        input: live.before.report(),
        output: after,
        limiter_db: -20.0 * f64::from(live.normaliser.limiter.min_gain).log10(),
        latency_ms: live.normaliser.latency_ms(),
        passes: 1,
        note: None,
    })
}
