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
            .config_schema(r#"{"delta": "added to every colour byte, -255 to 255 (default 32)"}"#)
    }

    fn new(config: &str) -> Result<Self, PluginError> {
        let config = Config::parse(config, r#"{"delta": 32}"#)?;
        config.only(&["delta"])?;
        let delta = config.number("delta")?.unwrap_or(32.0);
        if !(-255.0..=255.0).contains(&delta) {
            return Err(PluginError::BadConfig(format!(
                "`delta` must be within -255..=255, got {delta}"
            )));
        }
        Ok(Brightness { delta: delta as i16 })
    }

    fn process(&mut self, info: &FrameInfo, pixels: &mut Vec<u8>, _meta: &mut Metadata) -> Result<(), PluginError> {
        match info.format {
            PixelFormat::Gray8 => slate_kernels::brighten_gray(pixels, self.delta),
            _ => slate_kernels::brighten_packed(pixels, self.delta),
        }
        Ok(())
    }
}

slate_plugin_sdk::export!(video_filter: Brightness);
