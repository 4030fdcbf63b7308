//! `slate.infer(model, inputs [, options])`: the host's ONNX sessions from
//! Lua, for stage and automation scripts alike.
//!
//! ```lua
//! local out = slate.infer("grade", { image = { shape = {1, 3, 1, 1}, data = {0.5, 0.5, 0.5} } })
//! print(out.graded.data[1])
//! ```
//! A tensor is `{ shape = {...}, data = {...}, type = "float32" }` (type
//! also `int64`, `int32`, `uint8`; float32 when left out). Outputs come
//! back the same way, by output name. `options.session_id` shares the
//! session with elements and plugins that name the same id. Only models
//! pinned in models/models.toml: a script has no files.

use std::sync::Mutex;

use mlua::{Lua, Table};
use slate_onnx::{PinnedSessions, Tensor, TensorData};

fn runtime(e: impl std::fmt::Display) -> mlua::Error {
    mlua::Error::runtime(e.to_string())
}

/// Adds `infer` to the `slate` table of a script's state.
pub(crate) fn install(lua: &Lua, slate: &Table) -> mlua::Result<()> {
    let sessions = Mutex::new(PinnedSessions::default());
    slate.set(
        "infer",
        lua.create_function(move |lua, (model, inputs, options): (String, Table, Option<Table>)| {
            let session_id: Option<String> = match &options {
                Some(options) => options.get("session_id")?,
                None => None,
            };
            let session = sessions
                .lock()
                .unwrap()
                .get(&model, session_id)
                .map_err(|e| runtime(format!("slate.infer: {e}")))?;
            let mut tensors = Vec::new();
            for pair in inputs.pairs::<String, Table>() {
                let (name, tensor) = pair.map_err(|e| {
                    runtime(format!(
                        "slate.infer: inputs are {{ NAME = {{ shape = {{...}}, data = {{...}} }} }} ({e})"
                    ))
                })?;
                tensors.push((name.clone(), to_tensor(&name, &tensor)?));
            }
            let outputs = session
                .run_owned(&tensors)
                .map_err(|e| runtime(format!("slate.infer: {e}")))?;
            let result = lua.create_table()?;
            for (name, tensor) in outputs {
                let table = lua.create_table()?;
                table.set("shape", tensor.shape)?;
                match tensor.data {
                    TensorData::F32(d) => table.set("data", d)?,
                    TensorData::I64(d) => table.set("data", d)?,
                    TensorData::I32(d) => table.set("data", d)?,
                    TensorData::U8(d) => table.set("data", d)?,
                }
                result.set(name, table)?;
            }
            Ok(result)
        })?,
    )
}

fn to_tensor(name: &str, table: &Table) -> mlua::Result<Tensor> {
    let shape: Vec<i64> = table
        .get("shape")
        .map_err(|_| runtime(format!("slate.infer: input `{name}` needs `shape`, a list of integers")))?;
    let kind: Option<String> = table.get("type")?;
    let bad_data = |e: mlua::Error| {
        runtime(format!(
            "slate.infer: input `{name}`: `data` must be a list of numbers ({e})"
        ))
    };
    let data = match kind.as_deref().unwrap_or("float32") {
        "float32" => TensorData::F32(table.get("data").map_err(bad_data)?),
        "int64" => TensorData::I64(table.get("data").map_err(bad_data)?),
        "int32" => TensorData::I32(table.get("data").map_err(bad_data)?),
        "uint8" => TensorData::U8(table.get("data").map_err(bad_data)?),
        other => {
            return Err(runtime(format!(
                "slate.infer: input `{name}` has type `{other}`; use float32, int64, int32 or uint8"
            )));
        }
    };
    Ok(Tensor { shape, data })
}
