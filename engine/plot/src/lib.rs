//! An RGB canvas for the plots Slate writes (loudness over time, off-policy
//! estimates): lines, filled boxes and text in a 3x5 font drawn at twice
//! its size, saved as PNG. Nothing is anti-aliased; plots are for reading
//! numbers off, and for tests to check pixels in.

use std::path::Path;

pub type Rgb = [u8; 3];
pub const WHITE: Rgb = [255, 255, 255];
pub const GRID: Rgb = [225, 225, 225];
pub const AXIS: Rgb = [90, 90, 90];

pub struct Canvas {
    pub width: usize,
    pub height: usize,
    pub pixels: Vec<u8>,
}

impl Canvas {
    pub fn new(width: usize, height: usize) -> Canvas {
        Canvas {
            width,
            height,
            pixels: WHITE.repeat(width * height),
        }
    }

    pub fn set(&mut self, x: i64, y: i64, colour: Rgb) {
        if (0..self.width as i64).contains(&x) && (0..self.height as i64).contains(&y) {
            let at = (y as usize * self.width + x as usize) * 3;
            self.pixels[at..at + 3].copy_from_slice(&colour);
        }
    }

    pub fn get(&self, x: usize, y: usize) -> Rgb {
        let at = (y * self.width + x) * 3;
        [self.pixels[at], self.pixels[at + 1], self.pixels[at + 2]]
    }

    pub fn line(&mut self, (x0, y0): (i64, i64), (x1, y1): (i64, i64), colour: Rgb) {
        let steps = (x1 - x0).abs().max((y1 - y0).abs()).max(1);
        for i in 0..=steps {
            self.set(x0 + (x1 - x0) * i / steps, y0 + (y1 - y0) * i / steps, colour);
        }
    }

    /// A filled box with corners `a` and `b` (inclusive).
    pub fn fill(&mut self, a: (i64, i64), b: (i64, i64), colour: Rgb) {
        for y in a.1.min(b.1)..=a.1.max(b.1) {
            self.line((a.0, y), (b.0, y), colour);
        }
    }

    /// A bar `width` wide from row `base` to row `top`, with a whisker
    /// from row `low` to row `high` (an interval) over its middle.
    pub fn bar(&mut self, x: i64, width: i64, (base, top): (i64, i64), (low, high): (i64, i64), colour: Rgb) {
        self.fill((x, top), (x + width, base), colour);
        let (middle, cap) = (x + width / 2, width / 4);
        self.line((middle, low), (middle, high), AXIS);
        for y in [low, high] {
            self.line((middle - cap, y), (middle + cap, y), AXIS);
        }
    }

    /// Text with its top left at (x, y), 8 pixels a character.
    pub fn text(&mut self, x: i64, y: i64, text: &str, colour: Rgb) {
        for (i, c) in text.chars().enumerate() {
            let rows = glyph(c);
            for (row, bits) in rows.iter().enumerate() {
                for column in 0..3 {
                    if bits & (0b100 >> column) != 0 {
                        for (dx, dy) in [(0, 0), (1, 0), (0, 1), (1, 1)] {
                            self.set(x + i as i64 * 8 + column * 2 + dx, y + row as i64 * 2 + dy, colour);
                        }
                    }
                }
            }
        }
    }

    /// Writes the canvas to `path` as an 8-bit RGB PNG.
    pub fn save_png(&self, path: &Path) -> Result<(), String> {
        let file = std::fs::File::create(path).map_err(|e| e.to_string())?;
        let mut encoder = png::Encoder::new(std::io::BufWriter::new(file), self.width as u32, self.height as u32);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header().map_err(|e| e.to_string())?;
        writer.write_image_data(&self.pixels).map_err(|e| e.to_string())?;
        writer.finish().map_err(|e| e.to_string())
    }
}

/// 3x5 glyphs, one row per entry, high bit on the left; letters are drawn
/// as capitals (lower case `s` stays the seconds mark of the time axes).
fn glyph(c: char) -> [u8; 5] {
    match c {
        '0' => [0b111, 0b101, 0b101, 0b101, 0b111],
        '1' => [0b010, 0b110, 0b010, 0b010, 0b111],
        '2' => [0b111, 0b001, 0b111, 0b100, 0b111],
        '3' => [0b111, 0b001, 0b111, 0b001, 0b111],
        '4' => [0b101, 0b101, 0b111, 0b001, 0b001],
        '5' => [0b111, 0b100, 0b111, 0b001, 0b111],
        '6' => [0b111, 0b100, 0b111, 0b101, 0b111],
        '7' => [0b111, 0b001, 0b010, 0b010, 0b010],
        '8' => [0b111, 0b101, 0b111, 0b101, 0b111],
        '9' => [0b111, 0b101, 0b111, 0b001, 0b111],
        '-' => [0b000, 0b000, 0b111, 0b000, 0b000],
        '.' => [0b000, 0b000, 0b000, 0b000, 0b010],
        ':' => [0b000, 0b010, 0b000, 0b010, 0b000],
        '%' => [0b101, 0b001, 0b010, 0b100, 0b101],
        '(' => [0b001, 0b010, 0b010, 0b010, 0b001],
        ')' => [0b100, 0b010, 0b010, 0b010, 0b100],
        '=' => [0b000, 0b111, 0b000, 0b111, 0b000],
        's' => [0b000, 0b011, 0b110, 0b011, 0b110],
        c => letter(c.to_ascii_uppercase()),
    }
}

fn letter(c: char) -> [u8; 5] {
    match c {
        'A' => [0b010, 0b101, 0b111, 0b101, 0b101],
        'B' => [0b110, 0b101, 0b110, 0b101, 0b110],
        'C' => [0b011, 0b100, 0b100, 0b100, 0b011],
        'D' => [0b110, 0b101, 0b101, 0b101, 0b110],
        'E' => [0b111, 0b100, 0b110, 0b100, 0b111],
        'F' => [0b111, 0b100, 0b110, 0b100, 0b100],
        'G' => [0b011, 0b100, 0b101, 0b101, 0b011],
        'H' => [0b101, 0b101, 0b111, 0b101, 0b101],
        'I' => [0b111, 0b010, 0b010, 0b010, 0b111],
        'J' => [0b001, 0b001, 0b001, 0b101, 0b010],
        'K' => [0b101, 0b101, 0b110, 0b101, 0b101],
        'L' => [0b100, 0b100, 0b100, 0b100, 0b111],
        'M' => [0b101, 0b111, 0b111, 0b101, 0b101],
        'N' => [0b110, 0b101, 0b101, 0b101, 0b101],
        'O' => [0b010, 0b101, 0b101, 0b101, 0b010],
        'P' => [0b110, 0b101, 0b110, 0b100, 0b100],
        'Q' => [0b010, 0b101, 0b101, 0b110, 0b011],
        'R' => [0b110, 0b101, 0b110, 0b101, 0b101],
        'S' => [0b111, 0b100, 0b111, 0b001, 0b111],
        'T' => [0b111, 0b010, 0b010, 0b010, 0b010],
        'U' => [0b101, 0b101, 0b101, 0b101, 0b111],
        'V' => [0b101, 0b101, 0b101, 0b101, 0b010],
        'W' => [0b101, 0b101, 0b111, 0b111, 0b101],
        'X' => [0b101, 0b101, 0b010, 0b101, 0b101],
        'Y' => [0b101, 0b101, 0b010, 0b010, 0b010],
        'Z' => [0b111, 0b001, 0b010, 0b100, 0b111],
        _ => [0; 5],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drawing_lands_where_asked_and_survives_the_png() {
        let mut canvas = Canvas::new(40, 20);
        canvas.fill((2, 2), (5, 4), AXIS);
        canvas.text(10, 2, "A1", [200, 0, 0]);
        assert_eq!(canvas.get(3, 3), AXIS);
        assert_eq!(canvas.get(6, 3), WHITE);
        assert_eq!(canvas.get(12, 2), [200, 0, 0]);
        let dir = std::env::temp_dir().join(format!("slate-plot-{}.png", std::process::id()));
        canvas.save_png(&dir).unwrap();
        let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(&dir).unwrap()));
        let reader = decoder.read_info().unwrap();
        assert_eq!((reader.info().width, reader.info().height), (40, 20));
        std::fs::remove_file(dir).unwrap();
    }
}
