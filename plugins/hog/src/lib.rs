//! Misbehaves on purpose, for tests: allocates memory without end.

use slate_plugin_sdk::prelude::*;

struct Hog {
    hoard: Vec<Vec<u8>>,
}

impl VideoFilter for Hog {
    fn describe() -> Description {
        describe_video_filter("hog", &[PixelFormat::Rgba, PixelFormat::Gray8])
    }

    fn new(_config: &str) -> Result<Self, PluginError> {
        Ok(Hog { hoard: Vec::new() })
    }

    fn process(&mut self, _info: &FrameInfo, _pixels: &mut Vec<u8>, _meta: &mut Metadata) -> Result<(), PluginError> {
        loop {
            self.hoard.push(std::hint::black_box(vec![1u8; 16 << 20]));
        }
    }
}

slate_plugin_sdk::export!(video_filter: Hog);
