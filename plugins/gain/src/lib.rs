//! Multiplies every sample by `gain` (config `{"gain": 0.5}`).

use slate_plugin_sdk::prelude::*;

struct Gain {
    gain: f32,
}

impl AudioFilter for Gain {
    fn describe() -> Description {
        describe_audio_filter("gain", &[SampleFormat::F32le, SampleFormat::S16le])
            .config_schema(r#"{"gain": "linear factor for every sample (default 1)"}"#)
    }

    fn new(config: &str) -> Result<Self, PluginError> {
        let config = Config::parse(config, r#"{"gain": 0.5}"#)?;
        config.only(&["gain"])?;
        let gain = config.number("gain")?.unwrap_or(1.0);
        if !gain.is_finite() || gain < 0.0 {
            return Err(PluginError::BadConfig(format!(
                "`gain` must be a finite number >= 0, got {gain}"
            )));
        }
        Ok(Gain { gain: gain as f32 })
    }

    fn process(&mut self, info: &AudioInfo, samples: &mut Vec<u8>, _meta: &mut Metadata) -> Result<(), PluginError> {
        let mut values = slate_plugin_sdk::samples_f32(info.format, samples);
        values.iter_mut().for_each(|s| *s *= self.gain);
        slate_plugin_sdk::store_f32(info.format, &values, samples);
        metrics::counter_add("samples", values.len() as u64);
        Ok(())
    }
}

slate_plugin_sdk::export!(audio_filter: Gain);
