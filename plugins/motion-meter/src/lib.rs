//! Measures motion as the mean absolute difference of each colour byte
//! between a frame and the one before (0 = still, 255 = everything
//! changed), writes it as `motion.mean-diff`, and posts a `motion` event
//! when it crosses `threshold` (config `{"threshold": 8}`).

use slate_plugin_sdk::prelude::*;

struct MotionMeter {
    previous: Vec<u8>,
    threshold: f64,
    moving: bool,
}

impl Analyzer for MotionMeter {
    fn describe() -> Description {
        describe_analyzer(
            "motion-meter",
            &[PixelFormat::Gray8, PixelFormat::Rgba, PixelFormat::Bgra],
            &[],
        )
        .config_schema(r#"{"threshold": "mean change per pixel, 0-255, that counts as motion (default 8)"}"#)
    }

    fn new(config: &str) -> Result<Self, PluginError> {
        let config = Config::parse(config, r#"{"threshold": 8}"#)?;
        config.only(&["threshold"])?;
        let threshold = config.number("threshold")?.unwrap_or(8.0);
        Ok(MotionMeter {
            previous: Vec::new(),
            threshold,
            moving: false,
        })
    }

    fn analyze_frame(&mut self, _info: &FrameInfo, pixels: &[u8], meta: &mut Metadata) -> Result<(), PluginError> {
        let diff = if self.previous.len() == pixels.len() {
            let total: u64 = pixels
                .iter()
                .zip(&self.previous)
                .map(|(a, b)| a.abs_diff(*b) as u64)
                .sum();
            total as f64 / pixels.len().max(1) as f64
        } else {
            0.0
        };
        self.previous.clear();
        self.previous.extend_from_slice(pixels);
        meta.fields.push(Field {
            key: "motion.mean-diff".into(),
            value: Value::Float(diff),
        });
        let moving = diff >= self.threshold;
        if moving != self.moving {
            self.moving = moving;
            events::post(
                "motion",
                &[Field {
                    key: "moving".into(),
                    value: Value::Boolean(moving),
                }],
            );
        }
        Ok(())
    }
}

slate_plugin_sdk::export!(analyzer: MotionMeter);
