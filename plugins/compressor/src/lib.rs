//! A feed-forward compressor: above `threshold_db` the level rises only
//! 1/`ratio` as fast; attack and release smooth the gain; `makeup_db` is
//! added after. The detector is the RMS of all channels together (the
//! channels move as one, so the stereo image stays put). Config:
//! `{"threshold_db": -20, "ratio": 4, "attack_ms": 5, "release_ms": 100, "makeup_db": 0}`.

use slate_plugin_sdk::prelude::*;

struct Compressor {
    threshold_db: f32,
    ratio: f32,
    attack_ms: f32,
    release_ms: f32,
    makeup_db: f32,
    /// Mean square of the signal, smoothed (per rate, set on first block).
    power: f32,
    /// Gain reduction now, dB (>= 0).
    reduction_db: f32,
}

fn setting(config: &Config, key: &str, default: f64, min: f64, max: f64) -> Result<f32, PluginError> {
    config.number_in(key, default, min, max).map(|v| v as f32)
}

impl AudioFilter for Compressor {
    fn describe() -> Description {
        describe_audio_filter("compressor", &[SampleFormat::F32le, SampleFormat::S16le])
            .config_schema(r#"{"threshold_db": "-80 to 0 (default -20)", "ratio": "1 to 100 (default 4)", "attack_ms": "0.1 to 1000 (default 5)", "release_ms": "1 to 5000 (default 100)", "makeup_db": "0 to 40 (default 0)"}"#)
    }

    fn new(config: &str) -> Result<Self, PluginError> {
        let config = Config::parse(config, r#"{"threshold_db": -20, "ratio": 4}"#)?;
        config.only(&["threshold_db", "ratio", "attack_ms", "release_ms", "makeup_db"])?;
        let config = &config;
        Ok(Compressor {
            threshold_db: setting(config, "threshold_db", -20.0, -80.0, 0.0)?,
            ratio: setting(config, "ratio", 4.0, 1.0, 100.0)?,
            attack_ms: setting(config, "attack_ms", 5.0, 0.1, 1000.0)?,
            release_ms: setting(config, "release_ms", 100.0, 1.0, 5000.0)?,
            makeup_db: setting(config, "makeup_db", 0.0, 0.0, 40.0)?,
            power: 0.0,
            reduction_db: 0.0,
        })
    }

    fn process(&mut self, info: &AudioInfo, samples: &mut Vec<u8>, meta: &mut Metadata) -> Result<(), PluginError> {
        let channels = info.channels.max(1) as usize;
        let rate = info.rate.max(1) as f32;
        let coefficient = |ms: f32| (-1.0 / (ms / 1000.0 * rate)).exp();
        // The detector averages over 10 ms; the gain moves with attack/release.
        let (detect, attack, release) = (
            coefficient(10.0),
            coefficient(self.attack_ms),
            coefficient(self.release_ms),
        );
        let mut frames = slate_plugin_sdk::samples_f32(info.format, samples);
        let slope = 1.0 - 1.0 / self.ratio;
        let mut deepest = 0.0f32;
        for frame in frames.chunks_exact_mut(channels) {
            let square = frame.iter().map(|s| s * s).sum::<f32>() / channels as f32;
            self.power = detect * self.power + (1.0 - detect) * square;
            let level_db = 10.0 * self.power.max(1e-12).log10() + 3.01; // RMS of a sine reads its peak
            let wanted = (level_db - self.threshold_db).max(0.0) * slope;
            let smoothing = if wanted > self.reduction_db { attack } else { release };
            self.reduction_db = smoothing * self.reduction_db + (1.0 - smoothing) * wanted;
            deepest = deepest.max(self.reduction_db);
            let gain = 10f32.powf((self.makeup_db - self.reduction_db) / 20.0);
            frame.iter_mut().for_each(|s| *s *= gain);
        }
        slate_plugin_sdk::store_f32(info.format, &frames, samples);
        meta.fields.push(Field {
            key: "compressor.reduction-db".into(),
            value: Value::Float(f64::from(deepest)),
        });
        Ok(())
    }
}

slate_plugin_sdk::export!(audio_filter: Compressor);
