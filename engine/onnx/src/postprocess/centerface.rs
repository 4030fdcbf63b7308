//! CenterFace: a heatmap of face centres at 1/4 of the input size, with
//! log-scale box sizes, sub-pixel offsets and 5 landmarks per cell.

use super::{Detection, nms};
use crate::preprocess::Placement;
use crate::tensor::{TensorView, ViewData};

/// Faces from CenterFace's four outputs (heatmap, scale, offset,
/// landmarks, in the model's order) for batch item `item`, in frame pixels.
pub fn decode(
    outputs: &[(&str, TensorView<'_>)],
    item: usize,
    placement: &Placement,
    threshold: f32,
) -> Result<Vec<Detection>, String> {
    let [heat, scale, offset, marks] = outputs else {
        return Err(format!("CenterFace has 4 outputs, this model {}", outputs.len()));
    };
    let (heat, h, w) = plane(&heat.1, 1, item)?;
    let (scale, _, _) = plane(&scale.1, 2, item)?;
    let (offset, _, _) = plane(&offset.1, 2, item)?;
    let (marks, _, _) = plane(&marks.1, 10, item)?;
    let cells = h * w;
    let (max_x, max_y) = (placement.width as f32, placement.height as f32);
    let mut found = Vec::new();
    for (cell, &score) in heat.iter().enumerate() {
        if score <= threshold {
            continue;
        }
        let (row, column) = ((cell / w) as f32, (cell % w) as f32);
        let bh = scale[cell].exp() * 4.0;
        let bw = scale[cells + cell].exp() * 4.0;
        let (oy, ox) = (offset[cell], offset[cells + cell]);
        let x0 = ((column + ox + 0.5) * 4.0 - bw / 2.0).clamp(0.0, max_x);
        let y0 = ((row + oy + 0.5) * 4.0 - bh / 2.0).clamp(0.0, max_y);
        let x1 = (x0 + bw).min(max_x);
        let y1 = (y0 + bh).min(max_y);
        let mut landmarks = Vec::with_capacity(10);
        for j in 0..5 {
            let ly = marks[(2 * j) * cells + cell] * bh + y0;
            let lx = marks[(2 * j + 1) * cells + cell] * bw + x0;
            let (fx, fy) = placement.to_frame(lx, ly);
            landmarks.extend([fx, fy]);
        }
        let (fx0, fy0) = placement.to_frame(x0, y0);
        let (fx1, fy1) = placement.to_frame(x1, y1);
        found.push(Detection {
            x: fx0,
            y: fy0,
            w: fx1 - fx0,
            h: fy1 - fy0,
            score,
            landmarks,
        });
    }
    Ok(nms(found, 0.3))
}

/// Batch item `item` of an NCHW output with `channels` channels.
fn plane<'a>(t: &TensorView<'a>, channels: i64, item: usize) -> Result<(&'a [f32], usize, usize), String> {
    let ViewData::F32(data) = t.data else {
        return Err("CenterFace outputs are float32".into());
    };
    let [_, c, h, w] = *t.shape else {
        return Err(format!("CenterFace outputs are NCHW, not {:?}", t.shape));
    };
    if c != channels {
        return Err(format!("a CenterFace output has {channels} channels, not {c}"));
    }
    let (h, w) = (h as usize, w as usize);
    let size = channels as usize * h * w;
    let data = data
        .get(item * size..(item + 1) * size)
        .ok_or_else(|| format!("CenterFace output has no batch item {item}"))?;
    Ok((data, h, w))
}
