//! Applies a gamma curve through a 256-entry lookup table to every colour
//! channel (config `{"gamma": 0.5}`; below 1 brightens the mid-tones). The
//! fourth byte of packed formats (alpha or padding) is kept.

use slate_plugin_sdk::prelude::*;

struct Lut {
    table: [u8; 256],
}

impl VideoFilter for Lut {
    fn describe() -> Description {
        describe_video_filter(
            "lut",
            &[
                PixelFormat::Rgba,
                PixelFormat::Bgra,
                PixelFormat::Rgbx,
                PixelFormat::Bgrx,
                PixelFormat::Gray8,
            ],
        )
        .config_schema(r#"{"gamma": "the curve applied to every colour byte (default 0.5)"}"#)
    }

    fn new(config: &str) -> Result<Self, PluginError> {
        let config = Config::parse(config, r#"{"gamma": 0.5}"#)?;
        config.only(&["gamma"])?;
        let gamma = config.number("gamma")?.unwrap_or(0.5);
        if !(0.05..=20.0).contains(&gamma) {
            return Err(PluginError::BadConfig(format!(
                "`gamma` must be within 0.05..=20, got {gamma}"
            )));
        }
        let mut table = [0u8; 256];
        for (i, entry) in table.iter_mut().enumerate() {
            *entry = (255.0 * (i as f64 / 255.0).powf(gamma)).round() as u8;
        }
        Ok(Lut { table })
    }

    fn process(&mut self, info: &FrameInfo, pixels: &mut Vec<u8>, _meta: &mut Metadata) -> Result<(), PluginError> {
        if info.format == PixelFormat::Gray8 {
            pixels.iter_mut().for_each(|p| *p = self.table[*p as usize]);
            return Ok(());
        }
        for pixel in pixels.chunks_exact_mut(4) {
            for channel in &mut pixel[..3] {
                *channel = self.table[*channel as usize];
            }
        }
        Ok(())
    }
}

slate_plugin_sdk::export!(video_filter: Lut);
