//! A test card: eight colour bars and a white box that crosses the frame
//! once every `period` seconds (config `{"period": 4}`). Deterministic: the
//! same time gives the same bytes. The box is reported as an object with
//! its pixel box, so downstream stages can check what they see.

use slate_plugin_sdk::prelude::*;

const BARS: [[u8; 3]; 8] = [
    [255, 255, 255],
    [255, 255, 0],
    [0, 255, 255],
    [0, 255, 0],
    [255, 0, 255],
    [255, 0, 0],
    [0, 0, 255],
    [0, 0, 0],
];

struct Testcard {
    period_ns: f64,
}

impl Generator for Testcard {
    fn describe() -> Description {
        describe_generator("testcard", &[PixelFormat::Rgba, PixelFormat::Rgbx], &[])
            .config_schema(r#"{"period": "seconds the white box takes to cross the frame, above 0 (default 4)"}"#)
    }

    fn new(config: &str) -> Result<Self, PluginError> {
        let config = Config::parse(config, r#"{"period": 4}"#)?;
        config.only(&["period"])?;
        let period = config.number("period")?.unwrap_or(4.0);
        if !(period > 0.0 && period.is_finite()) {
            return Err(PluginError::BadConfig(format!(
                "`period` must be a positive number of seconds, got {period}"
            )));
        }
        Ok(Testcard {
            period_ns: period * 1e9,
        })
    }

    fn generate_frame(&mut self, info: &FrameInfo, meta: &mut Metadata) -> Result<Vec<u8>, PluginError> {
        let (width, height, stride) = (info.width as usize, info.height as usize, info.stride as usize);
        if stride < width * 4 {
            return Err(PluginError::Unsupported(format!(
                "stride {stride} is less than 4 x width {width}"
            )));
        }
        let mut pixels = vec![0u8; stride * height];
        for row in pixels.chunks_exact_mut(stride) {
            for (x, pixel) in row[..width * 4].chunks_exact_mut(4).enumerate() {
                let bar = BARS[x * BARS.len() / width.max(1)];
                pixel.copy_from_slice(&[bar[0], bar[1], bar[2], 255]);
            }
        }
        let side = (height / 4).max(1).min(width);
        let phase = (info.pts.unwrap_or(0) as f64 % self.period_ns) / self.period_ns;
        let left = (phase * (width - side) as f64) as usize;
        let top = (height - side.min(height)) / 2;
        for row in pixels.chunks_exact_mut(stride).skip(top).take(side) {
            row[left * 4..(left + side) * 4].fill(255);
        }
        meta.objects.push(Object {
            id: 0,
            label: "box".into(),
            bbox: Some(Bbox {
                x: left as f32,
                y: top as f32,
                w: side as f32,
                h: side as f32,
            }),
            confidence: None,
            fields: Vec::new(),
        });
        Ok(pixels)
    }
}

slate_plugin_sdk::export!(generator: Testcard);
