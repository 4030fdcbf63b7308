//! A split-band de-esser: while the level of the band above
//! `frequency_hz` is over `threshold_db`, that band is turned down by up to
//! `max_reduction_db`. The split is a 4th-order Linkwitz-Riley low-pass:
//! the output is `gain * input + (1 - gain) * low band`, so the voice below
//! the split passes as it was and, an octave above it, the sibilance is
//! turned down by the gain. Config:
//! `{"frequency_hz": 4500, "threshold_db": -30, "max_reduction_db": 12}`.

use slate_plugin_sdk::prelude::*;

/// A Butterworth biquad low-pass (RBJ cookbook, Q = 0.707).
#[derive(Clone, Default)]
struct LowPass {
    b: [f32; 3],
    a: [f32; 2],
    x: [f32; 2],
    y: [f32; 2],
}

impl LowPass {
    fn new(frequency: f32, rate: f32) -> LowPass {
        let w = 2.0 * std::f32::consts::PI * frequency / rate;
        let alpha = w.sin() / (2.0 * std::f32::consts::FRAC_1_SQRT_2);
        let cos = w.cos();
        let a0 = 1.0 + alpha;
        LowPass {
            b: [(1.0 - cos) / 2.0 / a0, (1.0 - cos) / a0, (1.0 - cos) / 2.0 / a0],
            a: [-2.0 * cos / a0, (1.0 - alpha) / a0],
            x: [0.0; 2],
            y: [0.0; 2],
        }
    }

    fn next(&mut self, x: f32) -> f32 {
        let y = self.b[0] * x + self.b[1] * self.x[0] + self.b[2] * self.x[1]
            - self.a[0] * self.y[0]
            - self.a[1] * self.y[1];
        self.x = [x, self.x[0]];
        self.y = [y, self.y[0]];
        y
    }
}

struct DeEsser {
    frequency: f32,
    threshold_db: f32,
    max_reduction_db: f32,
    /// Two low-passes in a row (Linkwitz-Riley) per channel.
    filters: Vec<[LowPass; 2]>,
    rate: u32,
    /// Smoothed power of the high band, and the reduction now (dB).
    power: f32,
    reduction_db: f32,
}

fn setting(config: &Config, key: &str, default: f64, min: f64, max: f64) -> Result<f32, PluginError> {
    config.number_in(key, default, min, max).map(|v| v as f32)
}

impl AudioFilter for DeEsser {
    fn describe() -> Description {
        describe_audio_filter("de-esser", &[SampleFormat::F32le, SampleFormat::S16le])
            .config_schema(r#"{"frequency_hz": "1000 to 16000 (default 4500)", "threshold_db": "-80 to 0 (default -30)", "max_reduction_db": "0 to 40 (default 12)"}"#)
    }

    fn new(config: &str) -> Result<Self, PluginError> {
        let config = Config::parse(config, r#"{"frequency_hz": 4500, "threshold_db": -30}"#)?;
        config.only(&["frequency_hz", "threshold_db", "max_reduction_db"])?;
        let config = &config;
        Ok(DeEsser {
            frequency: setting(config, "frequency_hz", 4500.0, 1000.0, 16000.0)?,
            threshold_db: setting(config, "threshold_db", -30.0, -80.0, 0.0)?,
            max_reduction_db: setting(config, "max_reduction_db", 12.0, 0.0, 40.0)?,
            filters: Vec::new(),
            rate: 0,
            power: 0.0,
            reduction_db: 0.0,
        })
    }

    fn process(&mut self, info: &AudioInfo, samples: &mut Vec<u8>, meta: &mut Metadata) -> Result<(), PluginError> {
        let channels = info.channels.max(1) as usize;
        if self.rate != info.rate || self.filters.len() != channels {
            if f64::from(self.frequency) >= f64::from(info.rate) / 2.0 {
                return Err(PluginError::BadConfig(format!(
                    "`frequency_hz` {} must be below half the sample rate ({} Hz)",
                    self.frequency, info.rate
                )));
            }
            self.rate = info.rate;
            let stage = LowPass::new(self.frequency, info.rate as f32);
            self.filters = vec![[stage.clone(), stage]; channels];
        }
        let rate = info.rate as f32;
        let coefficient = |ms: f32| (-1.0 / (ms / 1000.0 * rate)).exp();
        let (detect, attack, release) = (coefficient(5.0), coefficient(1.0), coefficient(60.0));
        let mut values = slate_plugin_sdk::samples_f32(info.format, samples);
        let mut deepest = 0.0f32;
        let mut lows = vec![0.0f32; channels];
        for frame in values.chunks_exact_mut(channels) {
            let mut square = 0.0;
            for ((sample, [first, second]), low) in frame.iter().zip(&mut self.filters).zip(&mut lows) {
                *low = second.next(first.next(*sample));
                let high = sample - *low;
                square += high * high;
            }
            self.power = detect * self.power + (1.0 - detect) * square / channels as f32;
            let level_db = 10.0 * self.power.max(1e-12).log10() + 3.01;
            let wanted = (level_db - self.threshold_db).clamp(0.0, self.max_reduction_db);
            let smoothing = if wanted > self.reduction_db { attack } else { release };
            self.reduction_db = smoothing * self.reduction_db + (1.0 - smoothing) * wanted;
            deepest = deepest.max(self.reduction_db);
            let gain = 10f32.powf(-self.reduction_db / 20.0);
            for (sample, low) in frame.iter_mut().zip(&lows) {
                *sample = gain * *sample + (1.0 - gain) * low;
            }
        }
        slate_plugin_sdk::store_f32(info.format, &values, samples);
        meta.fields.push(Field {
            key: "de-esser.reduction-db".into(),
            value: Value::Float(f64::from(deepest)),
        });
        Ok(())
    }
}

slate_plugin_sdk::export!(audio_filter: DeEsser);
