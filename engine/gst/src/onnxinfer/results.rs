//! What one inference found, and how it is written into a buffer's record.

use slate_meta::{BoundingBox, Record, RelationKind};
use slate_onnx::manifest::PostKind;
use slate_onnx::postprocess::{self, Detection};
use slate_onnx::preprocess::Placement;
use slate_onnx::{TensorView, ViewData};

/// The results for one batch item.
#[derive(Debug, Clone)]
pub enum Found {
    Detections(Vec<Detection>),
    Vector(Vec<f32>),
    Classes(Vec<(usize, f32)>),
    /// Nothing decoded.
    Nothing,
}

/// One batch item's results, with the raw tensors when asked.
#[derive(Debug, Clone)]
pub struct Item {
    pub found: Found,
    pub tensors: Vec<(String, Vec<i64>, Vec<f64>)>,
}

/// Decodes batch item `item` of `outputs`.
pub fn decode(
    outputs: &[(&str, TensorView<'_>)],
    item: usize,
    batch: usize,
    post: Option<PostKind>,
    placement: &Placement,
    threshold: f32,
    raw: bool,
) -> Result<Item, String> {
    let row = |index: usize| -> Result<Vec<f32>, String> {
        let (name, view) = outputs.get(index).ok_or("the model has no outputs")?;
        let ViewData::F32(data) = view.data else {
            return Err(format!("output `{name}` is not float32"));
        };
        let size = data.len() / batch.max(1);
        Ok(data[item * size..(item + 1) * size].to_vec())
    };
    let found = match post {
        Some(PostKind::Centerface) => {
            Found::Detections(postprocess::decode_centerface(outputs, item, placement, threshold)?)
        }
        Some(PostKind::Embedding) => {
            let mut vector = row(0)?;
            postprocess::l2_normalise(&mut vector);
            Found::Vector(vector)
        }
        Some(PostKind::Classification) => Found::Classes(postprocess::top_k(&row(0)?, 5)),
        Some(PostKind::SileroVad) | None => Found::Nothing,
    };
    let mut tensors = Vec::new();
    if raw {
        for (index, (name, view)) in outputs.iter().enumerate() {
            if let ViewData::F32(_) = view.data {
                let mut shape = view.shape.to_vec();
                if let Some(first) = shape.first_mut() {
                    *first = 1;
                }
                tensors.push((
                    name.to_string(),
                    shape,
                    row(index)?.into_iter().map(f64::from).collect(),
                ));
            }
        }
    }
    Ok(Item { found, tensors })
}

/// Writes an item's results into `record`: on the object it was computed
/// for (`on`, with `roi`), or on the frame. `model` names the fields.
pub fn write(record: &mut Record, item: &Item, on: Option<u32>, model: &str, label: &str) {
    match &item.found {
        Found::Detections(detections) => {
            for d in detections {
                let id = record.add_object(label);
                if let Some(object) = record.object_mut(id) {
                    object.bbox = Some(BoundingBox {
                        x: d.x,
                        y: d.y,
                        w: d.w,
                        h: d.h,
                    });
                    object.confidence = Some(d.score);
                    if !d.landmarks.is_empty() {
                        let points: Vec<f64> = d.landmarks.iter().map(|v| f64::from(*v)).collect();
                        object.fields.insert("landmarks".into(), points.into());
                    }
                }
                if let Some(parent) = on {
                    let _ = record.relate(id, RelationKind::IsPartOf, parent);
                }
            }
        }
        Found::Vector(vector) => {
            let values: Vec<f64> = vector.iter().map(|v| f64::from(*v)).collect();
            set(record, on, &format!("{model}.embedding"), "embedding", values.into());
        }
        Found::Classes(classes) => {
            if let Some((class, score)) = classes.first() {
                set(record, on, &format!("{model}.class"), "class", (*class as i64).into());
                set(
                    record,
                    on,
                    &format!("{model}.score"),
                    "class.score",
                    f64::from(*score).into(),
                );
            }
        }
        Found::Nothing => {}
    }
    for (name, shape, values) in &item.tensors {
        let shape: Vec<f64> = shape.iter().map(|d| *d as f64).collect();
        set(
            record,
            on,
            &format!("onnx.{name}"),
            &format!("onnx.{name}"),
            values.clone().into(),
        );
        set(
            record,
            on,
            &format!("onnx.{name}.shape"),
            &format!("onnx.{name}.shape"),
            shape.into(),
        );
    }
}

fn set(record: &mut Record, on: Option<u32>, frame_key: &str, object_key: &str, value: slate_meta::Value) {
    match on.and_then(|id| record.object_mut(id)) {
        Some(object) => {
            object.fields.insert(object_key.to_owned(), value);
        }
        None => record.set(frame_key, value),
    }
}
