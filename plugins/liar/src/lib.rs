//! Misbehaves on purpose, for tests: returns a frame one byte short.

use slate_plugin_sdk::prelude::*;

struct Liar;

impl VideoFilter for Liar {
    fn describe() -> Description {
        describe_video_filter("liar", &[PixelFormat::Rgba, PixelFormat::Gray8])
    }

    fn new(_config: &str) -> Result<Self, PluginError> {
        Ok(Liar)
    }

    fn process(&mut self, _info: &FrameInfo, pixels: &mut Vec<u8>, _meta: &mut Metadata) -> Result<(), PluginError> {
        pixels.pop();
        Ok(())
    }
}

slate_plugin_sdk::export!(video_filter: Liar);
