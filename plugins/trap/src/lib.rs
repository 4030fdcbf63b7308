//! Misbehaves on purpose, for tests: panics (a trap) on every second frame.

use slate_plugin_sdk::prelude::*;

struct Trap {
    frames: u64,
}

impl VideoFilter for Trap {
    fn describe() -> Description {
        describe_video_filter("trap", &[PixelFormat::Rgba, PixelFormat::Gray8])
    }

    fn new(_config: &str) -> Result<Self, PluginError> {
        Ok(Trap { frames: 0 })
    }

    fn process(&mut self, _info: &FrameInfo, _pixels: &mut Vec<u8>, _meta: &mut Metadata) -> Result<(), PluginError> {
        self.frames += 1;
        if self.frames.is_multiple_of(2) {
            panic!("trap plugin: deliberate panic on frame {}", self.frames);
        }
        Ok(())
    }
}

slate_plugin_sdk::export!(video_filter: Trap);
