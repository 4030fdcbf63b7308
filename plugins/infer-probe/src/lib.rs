#![allow(clippy::too_many_arguments)] // generated bindings
//! A video filter built against `slate:plugin@0.3.0`: it turns each RGBA
//! frame into the `grade` model's input (RGB planes in 0..1) and runs it
//! through the host's `inference` capability, then records the output in
//! the metadata (`graded`, `graded.shape`). Config `{"model": NAME}` picks
//! another model (to test refusals).

wit_bindgen::generate!({
    path: "../../sdk-wit/since_v0.3.0",
    world: "slate:plugin/video-filter@0.3.0",
    generate_all,
});

use slate::plugin::config;
use slate::plugin::inference::{Tensor, TensorData, infer};
use slate::plugin::types::*;

/// What the host's `grade` entry scales pixels by (models/models.toml).
const SCALE: f32 = 0.003921569;

struct InferProbe;

fn model() -> String {
    let config = config::get();
    let Some(at) = config.find("\"model\"") else {
        return "grade".into();
    };
    config[at + 7..].split('"').nth(1).unwrap_or("grade").to_owned()
}

impl Guest for InferProbe {
    fn describe() -> Description {
        Description {
            name: "infer-probe".into(),
            version: "0.3.0".into(),
            world: WorldKind::VideoFilter,
            video_formats: vec![PixelFormat::Rgba],
            audio_formats: vec![],
            config_schema: r#"{"model": "a model name from models/models.toml (default grade)"}"#.into(),
        }
    }

    fn init() -> Result<(), PluginError> {
        Ok(())
    }

    fn process_frame(info: FrameInfo, pixels: Vec<u8>, mut meta: Metadata) -> Result<VideoOutput, PluginError> {
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
        let outputs = infer(&model(), None, &[input]).map_err(PluginError::Failed)?;
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
        Ok(VideoOutput { pixels, meta })
    }
}

export!(InferProbe);
