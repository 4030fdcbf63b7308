//! The contact sheet: for every flagged cut, the last frame before it and
//! the first after it side by side, one cut a row, in film order, as PNG.

use std::path::Path;

use crate::check::{Frame, HEIGHT, WIDTH};
use crate::error::{IngestError, output, write_whole};

const GAP: u32 = 8;
/// The band between the two sides of a cut.
const CUT_COLOUR: [u8; 4] = [220, 40, 40, 255];
const BACKGROUND: [u8; 4] = [24, 24, 28, 255];

/// Writes `pairs` (RGBA frames of the analysis size) to `path`; with no
/// pairs, a single empty row says nothing was flagged.
pub fn write_sheet(path: &Path, pairs: &[(Frame, Frame)]) -> Result<(), IngestError> {
    let rows = pairs.len().max(1) as u32;
    let (width, height) = (2 * WIDTH + 3 * GAP, rows * (HEIGHT + GAP) + GAP);
    let mut rgba: Vec<u8> = BACKGROUND.repeat((width * height) as usize);
    let mut put = |x: u32, y: u32, px: &[u8]| {
        let at = ((y * width + x) * 4) as usize;
        rgba[at..at + 4].copy_from_slice(px);
    };
    for (row, (before, after)) in pairs.iter().enumerate() {
        let top = GAP + row as u32 * (HEIGHT + GAP);
        for (column, frame) in [before, after].into_iter().enumerate() {
            let left = GAP + column as u32 * (WIDTH + GAP);
            if frame.len() < (WIDTH * HEIGHT * 4) as usize {
                continue;
            }
            for y in 0..HEIGHT {
                for x in 0..WIDTH {
                    let at = ((y * WIDTH + x) * 4) as usize;
                    put(left + x, top + y, &frame[at..at + 4]);
                }
            }
        }
        for y in top..top + HEIGHT {
            for x in GAP + WIDTH + 2..2 * GAP + WIDTH - 2 {
                put(x, y, &CUT_COLOUR);
            }
        }
    }
    let mut png = Vec::new();
    let mut encoder = png::Encoder::new(&mut png, width, height);
    encoder.set_color(png::ColorType::Rgba);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().map_err(|e| output(path, e))?;
    writer.write_image_data(&rgba).map_err(|e| output(path, e))?;
    writer.finish().map_err(|e| output(path, e))?;
    write_whole(path, &png)
}
