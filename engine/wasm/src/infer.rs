//! The `inference` capability (slate:plugin@0.3.0): plugin tensors to the
//! host's ONNX sessions and back.

use slate_onnx::{PinnedSessions, Tensor, TensorData};

use crate::bindings::v0_3::slate::plugin::inference::{Tensor as WitTensor, TensorData as WitData};

/// Runs `model` for a plugin: pinned models only (a plugin has no files).
pub(crate) fn run(
    sessions: &mut PinnedSessions,
    model: &str,
    session_id: Option<String>,
    inputs: Vec<WitTensor>,
) -> Result<Vec<WitTensor>, String> {
    let session = sessions.get(model, session_id).map_err(|e| e.to_string())?;
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
