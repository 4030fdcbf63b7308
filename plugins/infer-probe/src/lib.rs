//! A video filter that needs `slate:plugin@0.3.0` (the SDK's version): it turns each RGBA
//! frame into the `grade` model's input (RGB planes in 0..1) and runs it
//! through the host's `inference` capability, then records the output in
//! the metadata (`graded`, `graded.shape`). Config `{"model": NAME}` picks
//! another model (to test refusals).

use slate_plugin_sdk::inference::{Tensor, TensorData, infer};
use slate_plugin_sdk::prelude::*;

/// What the host's `grade` entry scales pixels by (models/models.toml).
const SCALE: f32 = 0.003921569;

struct InferProbe {
    model: String,
}

impl VideoFilter for InferProbe {
    fn describe() -> Description {
        describe_video_filter("infer-probe", &[PixelFormat::Rgba])
            .config_schema(r#"{"model": "a model name from models/models.toml (default grade)"}"#)
    }

    fn new(config: &str) -> Result<InferProbe, PluginError> {
        let config = Config::parse(config, r#"{"model": "grade"}"#)?;
        config.only(&["model"])?;
        let model = config.text("model")?.unwrap_or("grade").to_owned();
        Ok(InferProbe { model })
    }

    fn process(&mut self, info: &FrameInfo, pixels: &mut Vec<u8>, meta: &mut Metadata) -> Result<(), PluginError> {
        let (w, h) = (info.width as usize, info.height as usize);
        let mut planes = vec![0.0f32; 3 * w * h];
        for y in 0..h {
            for x in 0..w {
                let at = y * info.stride as usize + x * 4;
                for c in 0..3 {
                    planes[c * w * h + y * w + x] = pixels[at + c] as f32 * SCALE;
                }
            }
        }
        let input = Tensor {
            name: "image".into(),
            shape: vec![1, 3, h as i64, w as i64],
            data: TensorData::Float32(planes),
        };
        let outputs = infer(&self.model, None, &[input]).map_err(PluginError::Failed)?;
        let output = outputs.first().ok_or_else(|| PluginError::Failed("no output".into()))?;
        let TensorData::Float32(values) = &output.data else {
            return Err(PluginError::Failed("the output is not float32".into()));
        };
        meta.fields.push(Field {
            key: "graded".into(),
            value: Value::FloatList(values.iter().map(|v| *v as f64).collect()),
        });
        meta.fields.push(Field {
            key: "graded.shape".into(),
            value: Value::FloatList(output.shape.iter().map(|d| *d as f64).collect()),
        });
        Ok(())
    }
}

slate_plugin_sdk::export!(video_filter: InferProbe);
