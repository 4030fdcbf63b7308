//! Misbehaves on purpose, for tests: never returns from a frame.

use slate_plugin_sdk::prelude::*;

struct Spin;

impl VideoFilter for Spin {
    fn describe() -> Description {
        describe_video_filter("spin", &[PixelFormat::Rgba, PixelFormat::Gray8])
    }

    fn new(_config: &str) -> Result<Self, PluginError> {
        Ok(Spin)
    }

    fn process(&mut self, _info: &FrameInfo, pixels: &mut Vec<u8>, _meta: &mut Metadata) -> Result<(), PluginError> {
        let mut x = 0u64;
        loop {
            x = std::hint::black_box(x.wrapping_add(pixels.len() as u64));
        }
    }
}

slate_plugin_sdk::export!(video_filter: Spin);
