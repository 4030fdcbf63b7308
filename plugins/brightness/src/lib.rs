//! Adds `delta` (config `{"delta": 40}`, may be negative) to every colour
//! channel, saturating; alpha and padding bytes of the x formats stay.

use slate_plugin_sdk::prelude::*;

struct Brightness {
    delta: i16,
}

impl VideoFilter for Brightness {
    fn describe() -> Description {
        let formats = [
            PixelFormat::Rgba,
            PixelFormat::Bgra,
            PixelFormat::Rgbx,
            PixelFormat::Bgrx,
            PixelFormat::Gray8,
        ];
        describe_video_filter("brightness", &formats)
    }

    fn new(config: &str) -> Result<Self, PluginError> {
        let delta = slate_plugin_sdk::config_number(config, "delta")?.unwrap_or(32.0);
        if !(-255.0..=255.0).contains(&delta) {
            return Err(PluginError::BadConfig(format!(
                "`delta` must be within -255..=255, got {delta}"
            )));
        }
        Ok(Brightness { delta: delta as i16 })
    }

    fn process(&mut self, info: &FrameInfo, pixels: &mut Vec<u8>, _meta: &mut Metadata) -> Result<(), PluginError> {
        let shift = |v: u8| (v as i16 + self.delta).clamp(0, 255) as u8;
        if info.format == PixelFormat::Gray8 {
            pixels.iter_mut().for_each(|p| *p = shift(*p));
            return Ok(());
        }
        // Channel 3 of each pixel is alpha or padding.
        for pixel in pixels.chunks_exact_mut(4) {
            for channel in &mut pixel[..3] {
                *channel = shift(*channel);
            }
        }
        Ok(())
    }
}

slate_plugin_sdk::video_filter!(Brightness);
