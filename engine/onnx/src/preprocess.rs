//! Frames into model inputs: crop to a region, scale (stretch or
//! letterbox), reorder colours, normalise `(pixel - mean) * scale`, and lay
//! out as NCHW or NHWC — in one pass, straight into the input tensor.

use crate::manifest::{Colour, InputSpec, Layout, Resize, Size};

/// How the bytes of a frame are laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PixelFormat {
    Rgba,
    Bgra,
    Rgbx,
    Bgrx,
    Rgb,
    Bgr,
    Gray8,
}

impl PixelFormat {
    pub fn bytes_per_pixel(self) -> usize {
        match self {
            PixelFormat::Rgb | PixelFormat::Bgr => 3,
            PixelFormat::Gray8 => 1,
            _ => 4,
        }
    }

    /// Byte offsets of red, green and blue within a pixel.
    fn rgb(self) -> [usize; 3] {
        match self {
            PixelFormat::Rgba | PixelFormat::Rgbx | PixelFormat::Rgb => [0, 1, 2],
            PixelFormat::Bgra | PixelFormat::Bgrx | PixelFormat::Bgr => [2, 1, 0],
            PixelFormat::Gray8 => [0, 0, 0],
        }
    }
}

/// A frame's pixels.
#[derive(Debug, Clone, Copy)]
pub struct Frame<'a> {
    pub data: &'a [u8],
    pub format: PixelFormat,
    pub width: u32,
    pub height: u32,
    /// Bytes per row.
    pub stride: usize,
}

/// A rectangle of a frame, in pixels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Region {
    pub x: f32,
    pub y: f32,
    pub w: f32,
    pub h: f32,
}

/// Where a region landed in the input tensor, to map results back:
/// `frame = origin + tensor / scale`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Placement {
    pub origin_x: f32,
    pub origin_y: f32,
    pub scale_x: f32,
    pub scale_y: f32,
    /// The input tensor's size.
    pub width: u32,
    pub height: u32,
}

impl Placement {
    /// A point of the input tensor, in frame pixels.
    pub fn to_frame(&self, x: f32, y: f32) -> (f32, f32) {
        (self.origin_x + x / self.scale_x, self.origin_y + y / self.scale_y)
    }
}

/// The input size for a region of `w` x `h` pixels.
pub fn input_size(spec: &InputSpec, w: u32, h: u32) -> (u32, u32) {
    match spec.size {
        Size::Fixed([fw, fh]) => (fw, fh),
        Size::Any(_) => match spec.multiple {
            Some(m) if m > 1 => (w.div_ceil(m) * m, h.div_ceil(m) * m),
            _ => (w, h),
        },
    }
}

/// Values one input of `width` x `height` takes.
pub fn input_len(spec: &InputSpec, width: u32, height: u32) -> usize {
    spec.colour.channels() * width as usize * height as usize
}

/// Fills `out` (one batch item: `input_len` values) from the region of the
/// frame (the whole frame when None), scaled into `width` x `height`.
pub fn fill(
    frame: &Frame<'_>,
    region: Option<Region>,
    spec: &InputSpec,
    (width, height): (u32, u32),
    out: &mut [f32],
) -> Placement {
    let region = region.map(|r| clamp(r, frame)).unwrap_or(Region {
        x: 0.0,
        y: 0.0,
        w: frame.width as f32,
        h: frame.height as f32,
    });
    let (mut scale_x, mut scale_y) = (width as f32 / region.w, height as f32 / region.h);
    if spec.resize == Resize::Letterbox || matches!(spec.size, Size::Any(_)) {
        // Aspect kept; the rest (right and bottom) is padding.
        let s = scale_x.min(scale_y);
        (scale_x, scale_y) = (s, s);
    }
    let channels = spec.colour.channels();
    let plane = width as usize * height as usize;
    let bpp = frame.format.bytes_per_pixel();
    let offsets = frame.format.rgb();
    let order: [usize; 3] = match spec.colour {
        Colour::Bgr => [offsets[2], offsets[1], offsets[0]],
        _ => offsets,
    };
    let placement = Placement {
        origin_x: region.x,
        origin_y: region.y,
        scale_x,
        scale_y,
        width,
        height,
    };
    if scale_x == 1.0
        && scale_y == 1.0
        && region.x.fract() == 0.0
        && region.y.fract() == 0.0
        && spec.colour != Colour::Gray
    {
        copy_exact(frame, region, spec, (width, height), order, out);
        return placement;
    }
    let columns: Vec<Option<(usize, usize, f32)>> = (0..width)
        .map(|x| sample_axis(x, scale_x, region.x, region.w, frame.width))
        .collect();
    for y in 0..height {
        let row = sample_axis(y, scale_y, region.y, region.h, frame.height);
        for (x, column) in columns.iter().enumerate() {
            let at = y as usize * width as usize + x;
            let (Some((y0, y1, fy)), Some((x0, x1, fx))) = (row, column) else {
                // The padding is the mean: zero after normalisation.
                for c in 0..channels {
                    write(out, spec.layout, channels, plane, at, c, 0.0);
                }
                continue;
            };
            let pixel = |px: usize, py: usize, c: usize| -> f32 {
                let base = py * frame.stride + px * bpp;
                match spec.colour {
                    Colour::Gray if frame.format != PixelFormat::Gray8 => {
                        let [r, g, b] = offsets.map(|o| frame.data[base + o] as f32);
                        0.299 * r + 0.587 * g + 0.114 * b
                    }
                    _ => frame.data[base + order[c]] as f32,
                }
            };
            for c in 0..channels {
                let value = bilinear(|px, py| pixel(px, py, c), (*x0, *x1, *fx), (y0, y1, fy));
                put(out, spec, plane, at, c, value);
            }
        }
    }
    placement
}

/// The ArcFace template: where the eyes, nose tip and mouth corners of an
/// aligned face sit in a 112x112 crop.
const ARCFACE: [[f32; 2]; 5] = [
    [38.2946, 51.6963],
    [73.5318, 51.5014],
    [56.0252, 71.7366],
    [41.5493, 92.3655],
    [70.7299, 92.2041],
];

/// The similarity (rotation, uniform scale, shift) that best maps the
/// points `from` onto `to`, least squares: `(a, b, tx, ty)` for
/// `x' = a x - b y + tx`, `y' = b x + a y + ty`.
pub fn similarity(from: &[[f32; 2]], to: &[[f32; 2]]) -> (f32, f32, f32, f32) {
    let n = from.len().min(to.len()) as f32;
    let mean = |p: &[[f32; 2]]| {
        let (x, y) = p.iter().fold((0.0, 0.0), |(x, y), q| (x + q[0], y + q[1]));
        (x / n, y / n)
    };
    let ((fx, fy), (tx, ty)) = (mean(from), mean(to));
    let (mut dot, mut cross, mut norm) = (0.0, 0.0, 0.0);
    for (f, t) in from.iter().zip(to) {
        let (sx, sy, dx, dy) = (f[0] - fx, f[1] - fy, t[0] - tx, t[1] - ty);
        dot += sx * dx + sy * dy;
        cross += sx * dy - sy * dx;
        norm += sx * sx + sy * sy;
    }
    let (a, b) = if norm > 0.0 {
        (dot / norm, cross / norm)
    } else {
        (1.0, 0.0)
    };
    (a, b, tx - (a * fx - b * fy), ty - (b * fx + a * fy))
}

/// Fills `out` with the face whose 5 landmarks (x, y pairs in frame
/// pixels: eyes, nose, mouth corners) are given, warped onto the ArcFace
/// template scaled to `width` x `height`.
pub fn fill_aligned(
    frame: &Frame<'_>,
    landmarks: &[f32; 10],
    spec: &InputSpec,
    (width, height): (u32, u32),
    out: &mut [f32],
) {
    let template: Vec<[f32; 2]> = ARCFACE
        .iter()
        .map(|p| [p[0] * width as f32 / 112.0, p[1] * height as f32 / 112.0])
        .collect();
    let points: Vec<[f32; 2]> = landmarks.chunks_exact(2).map(|p| [p[0], p[1]]).collect();
    let (a, b, tx, ty) = similarity(&points, &template);
    let det = a * a + b * b;
    let channels = spec.colour.channels();
    let plane = width as usize * height as usize;
    let bpp = frame.format.bytes_per_pixel();
    let offsets = frame.format.rgb();
    let order: [usize; 3] = match spec.colour {
        Colour::Bgr => [offsets[2], offsets[1], offsets[0]],
        _ => offsets,
    };
    let (max_x, max_y) = (frame.width as f32 - 1.0, frame.height as f32 - 1.0);
    for v in 0..height {
        for u in 0..width {
            // Back from the template to the frame: the inverse similarity.
            let (du, dv) = (u as f32 - tx, v as f32 - ty);
            let x = ((a * du + b * dv) / det).clamp(0.0, max_x);
            let y = ((-b * du + a * dv) / det).clamp(0.0, max_y);
            let (x0, y0) = (x.floor(), y.floor());
            let (fx, fy) = (x - x0, y - y0);
            let (x0, y0) = (x0 as usize, y0 as usize);
            let (x1, y1) = ((x0 + 1).min(max_x as usize), (y0 + 1).min(max_y as usize));
            let at = v as usize * width as usize + u as usize;
            for (c, offset) in order.iter().enumerate().take(channels) {
                let pixel = |px: usize, py: usize| frame.data[py * frame.stride + px * bpp + offset] as f32;
                put(out, spec, plane, at, c, bilinear(pixel, (x0, x1, fx), (y0, y1, fy)));
            }
        }
    }
}

/// The common case of a region taken 1:1 (padded to a multiple): a plain
/// copy with the colour order and normalisation, no resampling.
fn copy_exact(
    frame: &Frame<'_>,
    region: Region,
    spec: &InputSpec,
    (width, height): (u32, u32),
    order: [usize; 3],
    out: &mut [f32],
) {
    let (x0, y0) = (region.x as usize, region.y as usize);
    let (w, h) = (region.w as usize, region.h as usize);
    let (width, height) = (width as usize, height as usize);
    let bpp = frame.format.bytes_per_pixel();
    let plane = width * height;
    out.fill(0.0);
    for y in 0..h.min(height) {
        let row = &frame.data[(y0 + y) * frame.stride + x0 * bpp..];
        for c in 0..3 {
            let (mean, scale, offset) = (spec.mean[c], spec.scale[c], order[c]);
            match spec.layout {
                Layout::Nchw => {
                    let line = &mut out[c * plane + y * width..c * plane + y * width + w.min(width)];
                    for (x, value) in line.iter_mut().enumerate() {
                        *value = (row[x * bpp + offset] as f32 - mean) * scale;
                    }
                }
                Layout::Nhwc => {
                    for x in 0..w.min(width) {
                        out[(y * width + x) * 3 + c] = (row[x * bpp + offset] as f32 - mean) * scale;
                    }
                }
            }
        }
    }
}

/// The four pixels around a point, mixed by its fractions: each axis is
/// (first pixel, second pixel, weight of the second).
#[inline]
fn bilinear(
    pixel: impl Fn(usize, usize) -> f32,
    (x0, x1, fx): (usize, usize, f32),
    (y0, y1, fy): (usize, usize, f32),
) -> f32 {
    let top = pixel(x0, y0) * (1.0 - fx) + pixel(x1, y0) * fx;
    let bottom = pixel(x0, y1) * (1.0 - fx) + pixel(x1, y1) * fx;
    top * (1.0 - fy) + bottom * fy
}

/// Channel `c` of input pixel `at`, normalised: `(value - mean) * scale`.
#[inline]
fn put(out: &mut [f32], spec: &InputSpec, plane: usize, at: usize, c: usize, value: f32) {
    let normalised = (value - spec.mean[c]) * spec.scale[c];
    write(out, spec.layout, spec.colour.channels(), plane, at, c, normalised);
}

#[inline]
fn write(out: &mut [f32], layout: Layout, channels: usize, plane: usize, at: usize, c: usize, value: f32) {
    match layout {
        Layout::Nchw => out[c * plane + at] = value,
        Layout::Nhwc => out[at * channels + c] = value,
    }
}

/// The two source pixels and the weight of the second for output position
/// `i`, or None in the padding.
fn sample_axis(i: u32, scale: f32, start: f32, length: f32, limit: u32) -> Option<(usize, usize, f32)> {
    let source = (i as f32 + 0.5) / scale - 0.5;
    if source > length - 0.5 {
        return None;
    }
    let position = (start + source.max(0.0)).min(limit as f32 - 1.0);
    let first = position.floor();
    let second = (first + 1.0).min(limit as f32 - 1.0);
    Some((first as usize, second as usize, position - first))
}

fn clamp(region: Region, frame: &Frame<'_>) -> Region {
    let x = region.x.clamp(0.0, frame.width as f32 - 1.0);
    let y = region.y.clamp(0.0, frame.height as f32 - 1.0);
    Region {
        x,
        y,
        w: region.w.min(frame.width as f32 - x).max(1.0),
        h: region.h.min(frame.height as f32 - y).max(1.0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::{AnySize, DType};

    fn spec(layout: Layout, colour: Colour, size: Size, resize: Resize) -> InputSpec {
        InputSpec {
            name: None,
            layout,
            colour,
            size,
            multiple: None,
            resize,
            mean: [0.0; 3],
            scale: [1.0; 3],
            dtype: DType::F32,
            align: None,
        }
    }

    #[test]
    fn similarity_recovers_a_rotation_scale_and_shift() {
        let from = [[0.0, 0.0], [10.0, 0.0], [0.0, 10.0], [7.0, 3.0]];
        // Rotate 90 degrees, scale 2, shift (5, 1).
        let to: Vec<[f32; 2]> = from.iter().map(|p| [-2.0 * p[1] + 5.0, 2.0 * p[0] + 1.0]).collect();
        let (a, b, tx, ty) = similarity(&from, &to);
        for (got, want) in [(a, 0.0), (b, 2.0), (tx, 5.0), (ty, 1.0)] {
            assert!((got - want).abs() < 1e-4, "{:?}", (a, b, tx, ty));
        }
    }

    /// A 4x2 RGBA frame whose pixel (x, y) is (10x + y, 100, 200, 255).
    fn frame_bytes() -> Vec<u8> {
        (0..2u8)
            .flat_map(|y| (0..4u8).flat_map(move |x| [10 * x + y, 100, 200, 255]))
            .collect()
    }

    /// `frame_bytes()` as the frame they are.
    fn frame_of(bytes: &[u8]) -> Frame<'_> {
        Frame {
            data: bytes,
            format: PixelFormat::Rgba,
            width: 4,
            height: 2,
            stride: 16,
        }
    }

    #[test]
    fn same_size_copies_pixels_in_the_asked_order_and_layout() {
        let bytes = frame_bytes();
        let frame = frame_of(&bytes);
        let nchw_bgr = spec(Layout::Nchw, Colour::Bgr, Size::Any(AnySize::Any), Resize::Stretch);
        let mut out = vec![0.0; 24];
        let placed = fill(&frame, None, &nchw_bgr, (4, 2), &mut out);
        assert_eq!((placed.scale_x, placed.scale_y), (1.0, 1.0));
        assert_eq!(&out[0..4], &[200.0; 4], "blue plane first");
        assert_eq!(&out[16..20], &[0.0, 10.0, 20.0, 30.0], "red plane last, row 0");
        assert_eq!(out[20], 1.0, "red of (0, 1)");
        let nhwc = spec(Layout::Nhwc, Colour::Rgb, Size::Any(AnySize::Any), Resize::Stretch);
        fill(&frame, None, &nhwc, (4, 2), &mut out);
        assert_eq!(&out[3..6], &[10.0, 100.0, 200.0], "pixel (1, 0)");
    }

    #[test]
    fn letterbox_keeps_the_aspect_and_pads_with_the_mean() {
        let bytes = frame_bytes();
        let frame = frame_of(&bytes);
        let mut boxed = spec(Layout::Nchw, Colour::Rgb, Size::Fixed([8, 8]), Resize::Letterbox);
        boxed.mean = [5.0; 3];
        let mut out = vec![9.0; 3 * 64];
        let placed = fill(&frame, None, &boxed, (8, 8), &mut out);
        assert_eq!((placed.scale_x, placed.scale_y), (2.0, 2.0));
        // Rows 0..4 hold the frame; rows 4..8 are padding (mean - mean = 0).
        assert!(out[4 * 8..8 * 8].iter().all(|v| *v == 0.0));
        assert_eq!(out[0], -5.0, "red 0 minus the mean");
        assert_eq!(placed.to_frame(8.0, 4.0), (4.0, 2.0));
    }

    #[test]
    fn a_region_is_cropped_and_mapped_back() {
        let bytes = frame_bytes();
        let frame = frame_of(&bytes);
        let gray = spec(Layout::Nchw, Colour::Gray, Size::Fixed([2, 2]), Resize::Stretch);
        let mut out = vec![0.0; 4];
        let placed = fill(
            &frame,
            Some(Region {
                x: 2.0,
                y: 0.0,
                w: 2.0,
                h: 2.0,
            }),
            &gray,
            (2, 2),
            &mut out,
        );
        assert_eq!(placed.to_frame(0.0, 0.0), (2.0, 0.0));
        let luma = |r: f32| 0.299 * r + 0.587 * 100.0 + 0.114 * 200.0;
        assert!((out[0] - luma(20.0)).abs() < 1e-3, "{out:?}");
        assert!((out[3] - luma(31.0)).abs() < 1e-3, "{out:?}");
    }
}
