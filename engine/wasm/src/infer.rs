//! The `inference` capability (slate:plugin@0.3.0): plugin tensors to the
//! host's ONNX sessions and back.

use std::collections::HashMap;
use std::sync::Arc;

use slate_onnx::{Model, Options, Tensor, TensorData};

use crate::bindings::v0_3::slate::plugin::inference::{Tensor as WitTensor, TensorData as WitData};

/// The sessions one plugin instance opened, by (model, session-id).
pub(crate) type Sessions = HashMap<(String, Option<String>), Arc<Model>>;

/// Runs `model` for a plugin. Only models pinned in models.toml: a plugin
/// has no filesystem, so it may not name model files.
pub(crate) fn run(
    sessions: &mut Sessions,
    model: &str,
    session_id: Option<String>,
    inputs: Vec<WitTensor>,
) -> Result<Vec<WitTensor>, String> {
    if !slate_onnx::manifest::names().contains(&model) {
        return Err(format!(
            "no model `{model}` for plugins; they may use {}",
            slate_onnx::manifest::names().join(", ")
        ));
    }
    let key = (model.to_owned(), session_id.clone());
    let session = match sessions.get(&key) {
        Some(session) => session.clone(),
        None => {
            let opened = slate_onnx::open(&Options {
                session_id,
                ..Options::new(model)
            })
            .map_err(|e| e.to_string())?;
            sessions.insert(key, opened.clone());
            opened
        }
    };
    let inputs: Vec<(String, Tensor)> = inputs
        .into_iter()
        .map(|t| {
            let data = match t.data {
                WitData::Float32(d) => TensorData::F32(d),
                WitData::Int64(d) => TensorData::I64(d),
                WitData::Int32(d) => TensorData::I32(d),
                WitData::Uint8(d) => TensorData::U8(d),
            };
            (t.name, Tensor { shape: t.shape, data })
        })
        .collect();
    let outputs = session.run_owned(&inputs).map_err(|e| e.to_string())?;
    Ok(outputs
        .into_iter()
        .map(|(name, t)| WitTensor {
            name,
            shape: t.shape,
            data: match t.data {
                TensorData::F32(d) => WitData::Float32(d),
                TensorData::I64(d) => WitData::Int64(d),
                TensorData::I32(d) => WitData::Int32(d),
                TensorData::U8(d) => WitData::Uint8(d),
            },
        })
        .collect())
}
