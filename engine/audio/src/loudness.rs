//! The meter and its report.

use ebur128::{EbuR128, Mode};
use serde::Serialize;

use crate::AudioError;

/// Loudness of a programme, per EBU R128 / ITU-R BS.1770-4. Values that do
/// not exist for the input (a silent file has no integrated loudness) are
/// `None`, never `-inf` or NaN.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Loudness {
    /// Integrated (gated) loudness, LUFS.
    pub integrated_lufs: Option<f64>,
    /// Loudness range, LU.
    pub loudness_range_lu: Option<f64>,
    /// The loudest momentary (400 ms) and short-term (3 s) loudness, LUFS.
    pub momentary_max_lufs: Option<f64>,
    pub short_term_max_lufs: Option<f64>,
    /// Highest true (inter-sample) peak over all channels, dBTP.
    pub true_peak_dbtp: Option<f64>,
    /// Highest sample peak over all channels, dBFS.
    pub sample_peak_dbfs: Option<f64>,
    pub duration_s: f64,
    pub rate: u32,
    pub channels: u32,
    /// Nothing above the absolute gate (-70 LUFS): nothing to normalise.
    pub silent: bool,
    /// Every 100 ms: (seconds, momentary, short-term LUFS), for plots.
    #[serde(skip)]
    pub series: Vec<(f64, Option<f64>, Option<f64>)>,
}

/// Measures a stream block by block.
pub struct Meter {
    state: EbuR128,
    rate: u32,
    channels: u32,
    frames: u64,
    /// Frames since the last momentary/short-term reading.
    since: u64,
    momentary_max: f64,
    short_term_max: f64,
    series: Vec<(f64, Option<f64>, Option<f64>)>,
}

impl Meter {
    pub fn new(rate: u32, channels: u32) -> Result<Meter, AudioError> {
        // Not Mode::HISTOGRAM: it rounds loudness to 0.1 LU, too coarse to
        // normalise to 0.05.
        let mode = Mode::I | Mode::S | Mode::M | Mode::LRA | Mode::TRUE_PEAK | Mode::SAMPLE_PEAK;
        let state = EbuR128::new(channels, rate, mode)
            .map_err(|e| AudioError::Meter(format!("{channels} channels at {rate} Hz: {e}")))?;
        Ok(Meter {
            state,
            rate,
            channels,
            frames: 0,
            since: 0,
            momentary_max: f64::NEG_INFINITY,
            short_term_max: f64::NEG_INFINITY,
            series: Vec::new(),
        })
    }

    /// Adds interleaved samples; the maxima are read every 100 ms.
    pub fn add(&mut self, samples: &[f32]) -> Result<(), AudioError> {
        let step = (self.rate / 10).max(1) as usize * self.channels as usize;
        for block in samples.chunks(step) {
            self.state
                .add_frames_f32(block)
                .map_err(|e| AudioError::Meter(e.to_string()))?;
            let frames = (block.len() / self.channels as usize) as u64;
            self.frames += frames;
            self.since += frames;
            if self.since >= u64::from(self.rate / 10) {
                self.since = 0;
                self.read_maxima();
            }
        }
        Ok(())
    }

    fn read_maxima(&mut self) {
        let momentary = self.state.loudness_momentary().ok().filter(|m| m.is_finite());
        let short_term = self.state.loudness_shortterm().ok().filter(|s| s.is_finite());
        self.momentary_max = self.momentary_max.max(momentary.unwrap_or(f64::NEG_INFINITY));
        self.short_term_max = self.short_term_max.max(short_term.unwrap_or(f64::NEG_INFINITY));
        let at = self.frames as f64 / f64::from(self.rate);
        self.series.push((at, momentary, short_term));
    }

    pub fn report(mut self) -> Loudness {
        self.read_maxima();
        let finite = |v: f64| v.is_finite().then_some(v);
        let db = |amplitude: f64| finite(20.0 * amplitude.log10());
        let peak = |read: &dyn Fn(u32) -> Result<f64, ebur128::Error>| {
            (0..self.channels).filter_map(|c| read(c).ok()).fold(0.0f64, f64::max)
        };
        let integrated = self.state.loudness_global().ok().and_then(finite);
        Loudness {
            integrated_lufs: integrated,
            loudness_range_lu: integrated.and(self.state.loudness_range().ok().and_then(finite)),
            momentary_max_lufs: finite(self.momentary_max),
            short_term_max_lufs: finite(self.short_term_max),
            true_peak_dbtp: db(peak(&|c| self.state.true_peak(c))),
            sample_peak_dbfs: db(peak(&|c| self.state.sample_peak(c))),
            duration_s: self.frames as f64 / f64::from(self.rate),
            rate: self.rate,
            channels: self.channels,
            silent: integrated.is_none(),
            series: std::mem::take(&mut self.series),
        }
    }
}
