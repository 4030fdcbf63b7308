//! Multiplies every sample by `gain` (config `{"gain": 0.5}`).

use slate_plugin_sdk::prelude::*;

struct Gain {
    gain: f32,
}

impl AudioFilter for Gain {
    fn describe() -> Description {
        describe_audio_filter("gain", &[SampleFormat::F32le, SampleFormat::S16le])
    }

    fn new(config: &str) -> Result<Self, PluginError> {
        let gain = slate_plugin_sdk::config_number(config, "gain")?.unwrap_or(1.0);
        if !gain.is_finite() || gain < 0.0 {
            return Err(PluginError::BadConfig(format!(
                "`gain` must be a finite number >= 0, got {gain}"
            )));
        }
        Ok(Gain { gain: gain as f32 })
    }

    fn process(&mut self, info: &AudioInfo, samples: &mut Vec<u8>, _meta: &mut Metadata) -> Result<(), PluginError> {
        match info.format {
            SampleFormat::F32le => {
                for sample in samples.chunks_exact_mut(4) {
                    let value = f32::from_le_bytes(sample.try_into().unwrap()) * self.gain;
                    sample.copy_from_slice(&value.to_le_bytes());
                }
            }
            SampleFormat::S16le => {
                for sample in samples.chunks_exact_mut(2) {
                    let value = i16::from_le_bytes(sample.try_into().unwrap()) as f32 * self.gain;
                    let value = value.round().clamp(i16::MIN as f32, i16::MAX as f32) as i16;
                    sample.copy_from_slice(&value.to_le_bytes());
                }
            }
        }
        metrics::counter_add("samples", (samples.len() / 4) as u64);
        Ok(())
    }
}

slate_plugin_sdk::audio_filter!(Gain);
