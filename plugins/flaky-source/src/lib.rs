//! Misbehaves on purpose, for tests: a generator that makes frames filled
//! with their frame number and returns an error for every odd one.

use slate_plugin_sdk::prelude::*;

struct FlakySource {
    frames: u64,
}

impl Generator for FlakySource {
    fn describe() -> Description {
        describe_generator("flaky-source", &[PixelFormat::Rgba, PixelFormat::Gray8], &[])
    }

    fn new(_config: &str) -> Result<Self, PluginError> {
        Ok(FlakySource { frames: 0 })
    }

    fn generate_frame(&mut self, info: &FrameInfo, _meta: &mut Metadata) -> Result<Vec<u8>, PluginError> {
        let n = self.frames;
        self.frames += 1;
        if n % 2 == 1 {
            return Err(PluginError::Failed(format!(
                "flaky-source: frame {n} failed on purpose"
            )));
        }
        Ok(vec![n as u8; (info.stride * info.height) as usize])
    }
}

slate_plugin_sdk::generator!(FlakySource);
