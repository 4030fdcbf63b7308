//! Pixel kernels with no dependencies, so the same code runs inside a WASM
//! plugin and natively: `slate bench wasm` compares exactly this code.

/// Adds `delta` to every colour channel of packed 4-byte pixels, saturating;
/// the fourth byte (alpha or padding) is kept.
pub fn brighten_packed(pixels: &mut [u8], delta: i16) {
    for pixel in pixels.chunks_exact_mut(4) {
        for channel in &mut pixel[..3] {
            *channel = shift(*channel, delta);
        }
    }
}

/// Adds `delta` to every byte of a one-channel frame, saturating.
pub fn brighten_gray(pixels: &mut [u8], delta: i16) {
    pixels.iter_mut().for_each(|p| *p = shift(*p, delta));
}

#[inline(always)]
fn shift(value: u8, delta: i16) -> u8 {
    (value as i16 + delta).clamp(0, 255) as u8
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saturates_and_keeps_the_fourth_byte() {
        let mut pixels = [10, 250, 0, 7, 255, 1, 128, 9];
        brighten_packed(&mut pixels, 10);
        assert_eq!(pixels, [20, 255, 10, 7, 255, 11, 138, 9]);
        brighten_packed(&mut pixels, -20);
        assert_eq!(pixels, [0, 235, 0, 7, 235, 0, 118, 9]);
        let mut gray = [0, 100, 250];
        brighten_gray(&mut gray, 10);
        assert_eq!(gray, [10, 110, 255]);
    }
}
