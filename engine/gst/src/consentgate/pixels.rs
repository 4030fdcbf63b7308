//! What the gate does to pixels: pixelate a face, black out a frame.

/// A frame's bytes, 4 bytes per pixel.
pub(super) struct Pixels<'a> {
    pub data: &'a mut [u8],
    pub width: usize,
    pub height: usize,
    pub stride: usize,
    /// Where the alpha byte sits in a pixel, for formats that have one.
    pub alpha: Option<usize>,
}

/// Cells across a pixelated face: too few for anyone, a recogniser
/// included, to tell who it was.
const CELLS: f32 = 6.0;

impl Pixels<'_> {
    /// Pixelates `[x, y, w, h]` (clamped to the frame): each cell becomes
    /// its mean colour.
    pub fn pixelate(&mut self, [x, y, w, h]: [f32; 4]) {
        let x0 = x.max(0.0).floor() as usize;
        let y0 = y.max(0.0).floor() as usize;
        let x1 = ((x + w).ceil().max(0.0) as usize).min(self.width);
        let y1 = ((y + h).ceil().max(0.0) as usize).min(self.height);
        if x0 >= x1 || y0 >= y1 {
            return;
        }
        let cell = ((w.max(h) / CELLS).ceil() as usize).max(4);
        for cy in (y0..y1).step_by(cell) {
            for cx in (x0..x1).step_by(cell) {
                let (ex, ey) = ((cx + cell).min(x1), (cy + cell).min(y1));
                let mut sum = [0u32; 4];
                for row in cy..ey {
                    let line = &self.data[row * self.stride + cx * 4..row * self.stride + ex * 4];
                    for pixel in line.chunks_exact(4) {
                        for (s, &v) in sum.iter_mut().zip(pixel) {
                            *s += v as u32;
                        }
                    }
                }
                let n = ((ex - cx) * (ey - cy)) as u32;
                let mean = sum.map(|s| (s / n) as u8);
                for row in cy..ey {
                    let line = &mut self.data[row * self.stride + cx * 4..row * self.stride + ex * 4];
                    for pixel in line.chunks_exact_mut(4) {
                        pixel.copy_from_slice(&mean);
                    }
                }
            }
        }
    }

    /// Black, opaque.
    pub fn black(&mut self) {
        for row in 0..self.height {
            let line = &mut self.data[row * self.stride..row * self.stride + self.width * 4];
            for pixel in line.chunks_exact_mut(4) {
                pixel.fill(0);
                if let Some(a) = self.alpha {
                    pixel[a] = 255;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gradient(width: usize, height: usize) -> Vec<u8> {
        (0..width * height * 4).map(|i| (i * 7 % 251) as u8).collect()
    }

    #[test]
    fn pixelating_changes_the_region_only_and_keeps_its_mean() {
        let (width, height) = (64, 48);
        let original = gradient(width, height);
        let mut data = original.clone();
        let mut pixels = Pixels {
            data: &mut data,
            width,
            height,
            stride: width * 4,
            alpha: Some(3),
        };
        pixels.pixelate([10.0, 8.0, 24.0, 24.0]);
        for y in 0..height {
            for x in 0..width {
                let at = (y * width + x) * 4;
                let inside = (10..34).contains(&x) && (8..32).contains(&y);
                if !inside {
                    assert_eq!(data[at..at + 4], original[at..at + 4], "({x}, {y}) outside changed");
                }
            }
        }
        // Cells of 4x4 (24 / 6): every pixel of a cell is the same.
        assert_eq!(
            data[(8 * width + 10) * 4..(8 * width + 11) * 4],
            data[(11 * width + 13) * 4..(11 * width + 14) * 4]
        );
        assert_ne!(data, original);
    }

    #[test]
    fn regions_outside_the_frame_are_clamped_or_ignored() {
        let (width, height) = (16, 16);
        let mut data = gradient(width, height);
        let mut pixels = Pixels {
            data: &mut data,
            width,
            height,
            stride: width * 4,
            alpha: None,
        };
        pixels.pixelate([-8.0, -8.0, 12.0, 12.0]);
        pixels.pixelate([100.0, 100.0, 10.0, 10.0]);
        pixels.pixelate([f32::NAN, 0.0, 4.0, 4.0]);
        pixels.pixelate([12.0, 12.0, 40.0, 40.0]);
    }

    #[test]
    fn black_keeps_alpha_opaque() {
        let mut data = gradient(4, 2);
        let mut pixels = Pixels {
            data: &mut data,
            width: 4,
            height: 2,
            stride: 16,
            alpha: Some(0),
        };
        pixels.black();
        for pixel in data.chunks_exact(4) {
            assert_eq!(pixel, [255, 0, 0, 0]);
        }
    }
}
