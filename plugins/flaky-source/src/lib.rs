//! Misbehaves on purpose, for tests: a generator that makes frames filled
//! with their frame number and returns an error for every odd one, or,
//! with config `{"fail-at": N}`, only for frame N (a camera that drops
//! out once; a new instance fails at its own frame N again).

use slate_plugin_sdk::prelude::*;

struct FlakySource {
    frames: u64,
    fail_at: Option<u64>,
}

impl Generator for FlakySource {
    fn describe() -> Description {
        describe_generator("flaky-source", &[PixelFormat::Rgba, PixelFormat::Gray8], &[])
            .config_schema(r#"{"fail-at": "fail only on this frame number (default: every odd frame)"}"#)
    }

    fn new(config: &str) -> Result<Self, PluginError> {
        let config = Config::parse(config, r#"{"fail-at": 10}"#)?;
        config.only(&["fail-at"])?;
        let fail_at = config.number("fail-at")?.map(|n| n as u64);
        Ok(FlakySource { frames: 0, fail_at })
    }

    fn generate_frame(&mut self, info: &FrameInfo, _meta: &mut Metadata) -> Result<Vec<u8>, PluginError> {
        let n = self.frames;
        self.frames += 1;
        let fails = match self.fail_at {
            Some(at) => n == at,
            None => n % 2 == 1,
        };
        if fails {
            return Err(PluginError::Failed(format!(
                "flaky-source: frame {n} failed on purpose"
            )));
        }
        Ok(vec![n as u8; (info.stride * info.height) as usize])
    }
}

slate_plugin_sdk::export!(generator: FlakySource);
