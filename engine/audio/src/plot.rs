//! A PNG of loudness over time: momentary (light blue) and short-term
//! (dark blue) loudness, the integrated loudness (red), and the target
//! band (green, target +- 1 LU) when there is one; LUFS up the side,
//! seconds along the bottom.

use std::path::Path;

use crate::{AudioError, Loudness};

const WIDTH: usize = 1000;
const HEIGHT: usize = 400;
/// Plot area inside the margins.
const LEFT: usize = 50;
const RIGHT: usize = 20;
const TOP: usize = 20;
const BOTTOM: usize = 30;
/// LUFS range shown.
const CEILING: f64 = 0.0;
const FLOOR: f64 = -60.0;

use slate_plot::{AXIS, Canvas, GRID, Rgb};

pub const BAND: Rgb = [200, 240, 200];
const TARGET: Rgb = [40, 160, 40];
pub const MOMENTARY: Rgb = [150, 190, 250];
pub const SHORT_TERM: Rgb = [20, 60, 170];
const INTEGRATED: Rgb = [210, 40, 40];

/// Where `lufs` sits vertically.
pub fn y_of(lufs: f64) -> i64 {
    let span = (HEIGHT - TOP - BOTTOM) as f64;
    let clamped = lufs.clamp(FLOOR, CEILING);
    TOP as i64 + ((CEILING - clamped) / (CEILING - FLOOR) * span).round() as i64
}

/// Writes the plot of `loudness` (its `series`) to `path`; `target` draws
/// the band of a profile.
pub fn plot_png(path: &Path, loudness: &Loudness, target: Option<f64>) -> Result<(), AudioError> {
    let fail = |why: String| AudioError::Output {
        path: path.to_owned(),
        why,
    };
    if path.extension().and_then(|e| e.to_str()) != Some("png") {
        return Err(fail("the plot is written as .png".into()));
    }
    let mut canvas = Canvas::new(WIDTH, HEIGHT);
    let (x0, x1) = (LEFT as i64, (WIDTH - RIGHT) as i64);
    let duration = loudness.duration_s.max(0.1);
    let x_of = |t: f64| x0 + ((t / duration).clamp(0.0, 1.0) * (x1 - x0) as f64).round() as i64;
    if let Some(target) = target {
        for y in y_of(target + 1.0)..=y_of(target - 1.0) {
            canvas.line((x0, y), (x1, y), BAND);
        }
    }
    for lufs in (FLOOR as i64..=CEILING as i64).step_by(10) {
        let y = y_of(lufs as f64);
        canvas.line((x0, y), (x1, y), GRID);
        canvas.text(4, y - 4, &lufs.to_string(), AXIS);
    }
    let step = [1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 300.0, 600.0, 1800.0]
        .into_iter()
        .find(|s| duration / s <= 12.0)
        .unwrap_or(3600.0);
    let mut t = 0.0;
    while t <= duration {
        let x = x_of(t);
        canvas.line((x, TOP as i64), (x, y_of(FLOOR)), GRID);
        canvas.text(x - 6, (HEIGHT - BOTTOM + 8) as i64, &format!("{}s", t as u64), AXIS);
        t += step;
    }
    if let Some(target) = target {
        canvas.line((x0, y_of(target)), (x1, y_of(target)), TARGET);
    }
    canvas.text(4, 4, "LUFS", AXIS);
    if let Some(integrated) = loudness.integrated_lufs {
        let y = y_of(integrated);
        for x in (x0..x1).step_by(8) {
            canvas.line((x, y), (x + 4, y), INTEGRATED);
        }
    }
    for (pick, colour) in [(0usize, MOMENTARY), (1, SHORT_TERM)] {
        let mut previous: Option<(i64, i64)> = None;
        for &(t, momentary, short_term) in &loudness.series {
            let value = if pick == 0 { momentary } else { short_term };
            let point = value.filter(|v| *v >= FLOOR).map(|v| (x_of(t), y_of(v)));
            if let (Some(a), Some(b)) = (previous, point) {
                canvas.line(a, b, colour);
            }
            previous = point;
        }
    }
    canvas.line((x0, TOP as i64), (x0, y_of(FLOOR)), AXIS);
    canvas.line((x0, y_of(FLOOR)), (x1, y_of(FLOOR)), AXIS);
    canvas.save_png(path).map_err(fail)
}
