//! Continuity from pixels alone, for clips that come without world-state
//! metadata (another model's shots, edits). Each frame is summed up as a
//! [`Look`]: an 8x8 colour layout, the coloured regions it shows (one per
//! hue: position, share of the frame, the light on its brightest face)
//! and the warmth of its neutral surfaces. [`Shots`] finds the cuts in a stream of
//! looks and [`compare`] judges each cut: a region that vanishes, appears
//! or changes hue, one that moves against the others, the left-right order
//! flipping (the 180-degree line), the light jumping on the faces both
//! sides show or on neutral surfaces.
//!
//! It never needs the storyboard, so it cannot know that a change at a cut
//! was meant: what pixels show changed is reported, and the metadata
//! checker ([`crate::continuity`]) is the one that can explain it.

use serde::Serialize;

use crate::continuity::{Break, BreakKind};

/// The layout grid: cells per side.
pub const GRID: usize = 8;
const HUE_BINS: usize = 36;
/// Below this saturation a pixel is neutral, above the next it is coloured.
const NEUTRAL_SATURATION: f32 = 0.25;
const COLOURED_SATURATION: f32 = 0.4;
/// Regions smaller than this share of the frame have a centre that
/// holds still as the camera moves.
const COMPACT: f32 = 0.05;
/// Darker than this (value, 0..1) says nothing about hue or light.
const DARK: f32 = 0.12;

/// One coloured region: every coloured pixel of one hue band.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Region {
    /// Mean hue, degrees.
    pub hue: f32,
    /// Share of the frame's pixels.
    pub share: f32,
    /// Middle, as a fraction of the frame's width and height.
    pub centre: [f32; 2],
    /// Linear brightness of its brightest large face (0..1).
    pub lit: f32,
    /// Left, top, right, bottom, as fractions of the frame.
    pub bounds: [f32; 4],
    /// Whether it is all in the frame (touches no edge).
    pub whole: bool,
}

/// What one frame shows, in the terms continuity needs.
#[derive(Debug, Clone, PartialEq)]
pub struct Look {
    /// Mean colour (0..1) of each grid cell, row by row.
    pub layout: Vec<[f32; 3]>,
    pub regions: Vec<Region>,
    /// How warm the neutral surfaces are, ln(red / blue) in linear light;
    /// None when under 2% of the frame is neutral and lit.
    pub warmth: Option<f32>,
    /// Share of the coloured pixels in each hue band: what the frame's
    /// subjects are.
    pub hues: Vec<f32>,
    /// The frame as a vector for similarity: the layout, centred, unless
    /// a model's embedding replaced it (the `continuity` plugin asks the
    /// host's `colour-layout` model).
    pub embedding: Vec<f32>,
}

fn hsv(r: u8, g: u8, b: u8) -> (f32, f32, f32) {
    let (r, g, b) = (f32::from(r) / 255.0, f32::from(g) / 255.0, f32::from(b) / 255.0);
    let max = r.max(g).max(b);
    let min = r.min(g).min(b);
    let chroma = max - min;
    let hue = if chroma <= f32::EPSILON {
        0.0
    } else if max == r {
        60.0 * ((g - b) / chroma).rem_euclid(6.0)
    } else if max == g {
        60.0 * ((b - r) / chroma + 2.0)
    } else {
        60.0 * ((r - g) / chroma + 4.0)
    };
    let saturation = if max > 0.0 { chroma / max } else { 0.0 };
    (hue, saturation, max)
}

/// A byte of sRGB-ish gamma as linear light (a table: this runs per pixel).
fn linear(c: u8) -> f32 {
    static TABLE: std::sync::OnceLock<[f32; 256]> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| std::array::from_fn(|i| (i as f32 / 255.0).powf(2.2)))[usize::from(c)]
}

/// Brightness levels of a region's histogram.
const LEVELS: usize = 64;
/// A face is a run of three levels holding this share of the region.
const FACE: f32 = 0.15;

#[derive(Clone, Copy)]
struct Bin {
    count: u32,
    x: f64,
    y: f64,
    cos: f64,
    sin: f64,
    levels: [u32; LEVELS],
    /// Left, top, right, bottom pixel.
    bounds: [usize; 4],
}

impl Default for Bin {
    fn default() -> Self {
        Bin {
            count: 0,
            x: 0.0,
            y: 0.0,
            cos: 0.0,
            sin: 0.0,
            levels: [0; LEVELS],
            bounds: [usize::MAX, usize::MAX, 0, 0],
        }
    }
}

impl Bin {
    fn add(&mut self, other: &Bin) {
        self.count += other.count;
        self.x += other.x;
        self.y += other.y;
        self.cos += other.cos;
        self.sin += other.sin;
        for (a, b) in self.levels.iter_mut().zip(&other.levels) {
            *a += b;
        }
        self.bounds = [
            self.bounds[0].min(other.bounds[0]),
            self.bounds[1].min(other.bounds[1]),
            self.bounds[2].max(other.bounds[2]),
            self.bounds[3].max(other.bounds[3]),
        ];
    }

    /// Linear brightness of the brightest face that covers a good part of
    /// the region: on a Lambertian surface what the light gives it,
    /// whichever way the camera looks.
    fn lit(&self) -> f32 {
        let least = (self.count as f32 * FACE).ceil() as u32;
        let Some(level) = (1..LEVELS - 1)
            .rev()
            .find(|&l| self.levels[l - 1] + self.levels[l] + self.levels[l + 1] >= least)
        else {
            return 0.0;
        };
        let window = level - 1..=level + 1;
        let count: u32 = window.clone().map(|l| self.levels[l]).sum();
        let value: f32 = window
            .map(|l| self.levels[l] as f32 * (l as f32 + 0.5) / LEVELS as f32)
            .sum::<f32>()
            / count.max(1) as f32;
        value.powf(2.2)
    }
}

impl Look {
    /// Sums up an RGBA (or RGBx) frame `stride` bytes a row.
    pub fn of(pixels: &[u8], width: u32, height: u32, stride: usize) -> Look {
        let (w, h) = (width as usize, height as usize);
        let mut cells = vec![([0f64; 3], 0u32); GRID * GRID];
        let mut bins = [Bin::default(); HUE_BINS];
        let (mut neutral, mut warmth) = (0usize, 0f64);
        for y in 0..h {
            let row = &pixels[y * stride..y * stride + w * 4];
            let cell_row = y * GRID / h.max(1) * GRID;
            for (x, px) in row.chunks_exact(4).enumerate() {
                let cell = &mut cells[cell_row + x * GRID / w.max(1)];
                for (sum, byte) in cell.0.iter_mut().zip(px) {
                    *sum += f64::from(*byte);
                }
                cell.1 += 1;
                let (hue, saturation, value) = hsv(px[0], px[1], px[2]);
                if value < DARK {
                    continue;
                }
                if saturation >= COLOURED_SATURATION {
                    let bin = &mut bins[(hue / 360.0 * HUE_BINS as f32) as usize % HUE_BINS];
                    let angle = f64::from(hue).to_radians();
                    bin.count += 1;
                    bin.x += x as f64;
                    bin.y += y as f64;
                    bin.cos += angle.cos();
                    bin.sin += angle.sin();
                    bin.levels[((value * LEVELS as f32) as usize).min(LEVELS - 1)] += 1;
                    bin.bounds = [
                        bin.bounds[0].min(x),
                        bin.bounds[1].min(y),
                        bin.bounds[2].max(x),
                        bin.bounds[3].max(y),
                    ];
                } else if saturation < NEUTRAL_SATURATION {
                    neutral += 1;
                    warmth += f64::from((linear(px[0]).max(1e-4) / linear(px[2]).max(1e-4)).ln());
                }
            }
        }
        let layout: Vec<[f32; 3]> = cells
            .iter()
            .map(|(sum, n)| sum.map(|s| (s / f64::from((*n).max(1)) / 255.0) as f32))
            .collect();
        let total = (w * h).max(1);
        let warmth = (neutral * 50 >= total).then(|| (warmth / neutral as f64) as f32);
        let coloured = bins.iter().map(|b| b.count).sum::<u32>().max(1) as f32;
        let embedding = centred(&layout);
        Look {
            regions: regions(&bins, total, w, h),
            hues: bins.iter().map(|b| b.count as f32 / coloured).collect(),
            layout,
            warmth,
            embedding,
        }
    }

    /// How different two frames' layouts are: the mean colour distance
    /// between their cells once each frame is divided by its mean colour
    /// (0 = the same), and the share of cells that moved more than a
    /// little. Dividing out the mean is a white balance: a light that dims
    /// or warms the whole frame is no cut; a new framing is.
    pub fn distance(&self, other: &Look) -> (f32, f32) {
        let (a, b) = (balanced(&self.layout), balanced(&other.layout));
        let gaps: Vec<f32> = cell_gaps(&a, &b).collect();
        let n = gaps.len().max(1) as f32;
        let moved = gaps.iter().filter(|g| **g > MOVED_CELL).count() as f32;
        (gaps.iter().sum::<f32>() / n, moved / n)
    }
}

/// A cell whose balanced colour moves more than this has changed.
const MOVED_CELL: f32 = 0.02;

/// The layout with each channel divided by its mean, halved so a plain
/// frame stays near 0.5.
fn balanced(layout: &[[f32; 3]]) -> Vec<[f32; 3]> {
    let n = layout.len().max(1) as f32;
    let mean: [f32; 3] = [0, 1, 2].map(|c| (layout.iter().map(|cell| cell[c]).sum::<f32>() / n).max(1e-3));
    layout
        .iter()
        .map(|cell| [0, 1, 2].map(|c| 0.5 * cell[c] / mean[c]))
        .collect()
}

/// The layout as one vector less its mean, like the `colour-layout` model.
fn centred(layout: &[[f32; 3]]) -> Vec<f32> {
    let flat: Vec<f32> = layout.iter().flatten().copied().collect();
    let mean = flat.iter().sum::<f32>() / flat.len().max(1) as f32;
    flat.iter().map(|v| v - mean).collect()
}

/// The hue histogram cut into regions: runs of bins with enough pixels
/// (wrapping around red), each run split again at a valley between two
/// peaks, so a yellow cup on a brown table stays its own region.
fn regions(bins: &[Bin; HUE_BINS], total: usize, w: usize, h: usize) -> Vec<Region> {
    let least = (total / 4000).max(6) as u32;
    let count = |i: usize| bins[i % HUE_BINS].count;
    // Start after the emptiest bin: a gap, or (every hue present, as in a
    // rainbow) the deepest valley.
    let gap = (0..HUE_BINS).min_by_key(|&i| count(i)).unwrap_or(0);
    let mut found = Vec::new();
    let mut run = Bin::default();
    // The highest bin of the run so far, and the lowest since it.
    let (mut peak, mut valley) = (0u32, u32::MAX);
    for step in 1..=HUE_BINS {
        let i = (gap + step) % HUE_BINS;
        let n = count(i);
        let rising_again = valley.saturating_mul(2) < peak && n > valley.saturating_mul(2);
        if n < least || rising_again {
            if run.count > 0 {
                found.push(region(&run, total, w, h));
            }
            run = Bin::default();
            (peak, valley) = (0, u32::MAX);
            if n < least {
                continue;
            }
        }
        run.add(&bins[i]);
        if n >= peak {
            (peak, valley) = (n, n);
        } else {
            valley = valley.min(n);
        }
    }
    if run.count > 0 {
        found.push(region(&run, total, w, h));
    }
    found
}

fn region(run: &Bin, total: usize, w: usize, h: usize) -> Region {
    let n = f64::from(run.count);
    let [left, top, right, bottom] = run.bounds;
    Region {
        hue: run.sin.atan2(run.cos).to_degrees().rem_euclid(360.0) as f32,
        share: run.count as f32 / total as f32,
        centre: [(run.x / n / w as f64) as f32, (run.y / n / h as f64) as f32],
        bounds: [
            left as f32 / w as f32,
            top as f32 / h as f32,
            (right + 1) as f32 / w as f32,
            (bottom + 1) as f32 / h as f32,
        ],
        lit: run.lit(),
        whole: left > 0 && top > 0 && right + 1 < w && bottom + 1 < h,
    }
}

/// A colour name for a hue, for reports.
pub fn hue_name(hue: f32) -> &'static str {
    const NAMES: [&str; 12] = [
        "red", "orange", "yellow", "lime", "green", "teal", "cyan", "azure", "blue", "violet", "magenta", "pink",
    ];
    NAMES[((hue.rem_euclid(360.0) + 15.0) / 30.0) as usize % 12]
}

fn hue_gap(a: f32, b: f32) -> f32 {
    let d = (a - b).rem_euclid(360.0);
    d.min(360.0 - d)
}

/// How far things may differ across a cut and still be the same.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Tolerance {
    /// Hue, degrees, for a region to be the same region.
    pub hue: f32,
    /// Smallest share of the frame a region needs to count as gone when
    /// it is not found on the other side (and 2.5 times this, scaled by
    /// the cut's zoom, on the side it is missing from).
    pub presence: f32,
    /// How far a small region may shift across the large one holding it,
    /// as a fraction of that one's width.
    pub layout: f32,
    /// Ratio of the light on lit faces, either way.
    pub light: f32,
    /// Change of warmth, ln(red / blue).
    pub warmth: f32,
}

impl Default for Tolerance {
    fn default() -> Self {
        Tolerance {
            hue: 15.0,
            presence: 0.0004,
            layout: 0.2,
            light: 1.15,
            warmth: 0.08,
        }
    }
}

/// What a cut's two frames measure, the figures [`compare`] judges.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Measures {
    /// Regions on both sides, gone after the cut, new after it.
    pub matched: usize,
    pub lost: usize,
    pub new: usize,
    /// Pairs of regions far enough apart to order, and how many swap.
    pub ordered_pairs: usize,
    pub swapped_pairs: usize,
    /// The furthest a small region shifts across the large one holding
    /// it, as a fraction of that one's width (None: nothing holds one).
    pub shift: Option<f32>,
    /// The lit faces of regions seen on both sides, after / before (the
    /// median), and the change of warmth of neutral surfaces.
    pub light_ratio: Option<f32>,
    pub warmth_change: Option<f32>,
}

/// Judges the cut from `before` (last frame of a shot) to `after` (first
/// frame of the next).
pub fn compare(before: &Look, after: &Look, tolerance: &Tolerance) -> Vec<Break> {
    judge(before, after, tolerance).0
}

/// [`compare`], with the figures it judged.
pub fn judge(before: &Look, after: &Look, tolerance: &Tolerance) -> (Vec<Break>, Measures) {
    let mut breaks = Vec::new();
    let pairs = matched(before, after, tolerance);
    // How much bigger things are after the cut: a region that would be
    // too small to see on the other side is not missed there.
    let mut zooms: Vec<f32> = pairs
        .iter()
        .map(|&(a, b)| after.regions[b].share / before.regions[a].share.max(1e-6))
        .collect();
    zooms.sort_by(f32::total_cmp);
    let zoom = zooms.get(zooms.len() / 2).copied().unwrap_or(1.0).max(1e-3);
    let seen = |share: f32| share >= tolerance.presence * 2.5;
    let lost: Vec<&Region> = unmatched(&before.regions, &pairs, 0)
        .filter(|r| r.share >= tolerance.presence && seen(r.share * zoom))
        .collect();
    let new: Vec<&Region> = unmatched(&after.regions, &pairs, 1)
        .filter(|r| r.share >= tolerance.presence && seen(r.share / zoom))
        .collect();
    let mut used = vec![false; new.len()];
    for gone in &lost {
        // Gone on one side, come on the other about as big: recoloured.
        let instead = new.iter().enumerate().position(|(i, n)| {
            !used[i]
                && n.share / gone.share < 4.0
                && gone.share / n.share < 4.0
                && distance(n.centre, gone.centre) < 0.3
        });
        let (kind, detail) = match instead {
            Some(i) => {
                used[i] = true;
                (
                    BreakKind::Recoloured,
                    format!(
                        "the {} region turns {} at the cut",
                        hue_name(gone.hue),
                        hue_name(new[i].hue)
                    ),
                )
            }
            None => (
                BreakKind::Vanished,
                format!(
                    "the {} region ({:.1}% of the frame) is gone after the cut",
                    hue_name(gone.hue),
                    gone.share * 100.0
                ),
            ),
        };
        breaks.push(Break {
            kind,
            subject: hue_name(gone.hue).into(),
            detail,
        });
    }
    for (come, _) in new.iter().zip(&used).filter(|(_, u)| !**u) {
        breaks.push(Break {
            kind: BreakKind::Appeared,
            subject: hue_name(come.hue).into(),
            detail: format!(
                "a {} region ({:.1}% of the frame) appears at the cut",
                hue_name(come.hue),
                come.share * 100.0
            ),
        });
    }
    let placed: Vec<([f32; 2], [f32; 2], f32)> = pairs
        .iter()
        .map(|&(a, b)| (&before.regions[a], &after.regions[b]))
        .filter(|(a, b)| a.whole && b.whole)
        .map(|(a, b)| (a.centre, b.centre, a.hue))
        .collect();
    let (ordered_pairs, swapped_pairs) = swapped(&placed);
    let shift = shifted(before, after, &pairs);
    if ordered_pairs >= 2 && swapped_pairs * 2 > ordered_pairs {
        breaks.push(Break {
            kind: BreakKind::CrossedLine,
            subject: String::new(),
            detail: format!(
                "left and right swap at the cut ({swapped_pairs} of {ordered_pairs} pairs of regions): the 180-degree line is crossed"
            ),
        });
    } else if let Some((hue, shift)) = shift.filter(|s| s.1 > tolerance.layout) {
        breaks.push(Break {
            kind: BreakKind::Moved,
            subject: hue_name(hue).into(),
            detail: format!(
                "the {} region shifts {:.0}% of the width of what holds it at the cut",
                hue_name(hue),
                shift * 100.0
            ),
        });
    }
    let mut ratios: Vec<f32> = pairs
        .iter()
        .map(|&(a, b)| (&before.regions[a], &after.regions[b]))
        .filter(|(a, b)| a.share >= 4.0 * tolerance.presence && b.share >= 4.0 * tolerance.presence)
        .map(|(a, b)| b.lit.max(1e-4) / a.lit.max(1e-4))
        .collect();
    ratios.sort_by(f32::total_cmp);
    let ratio = ratios.get(ratios.len() / 2).copied();
    let warmer = before.warmth.zip(after.warmth).map(|(a, b)| b - a);
    let light = (ratio.is_some() || warmer.is_some()).then(|| (ratio.unwrap_or(1.0), warmer.unwrap_or(0.0)));
    if let Some((ratio, warmer)) = light
        && (ratio > tolerance.light || ratio < 1.0 / tolerance.light || warmer.abs() > tolerance.warmth)
    {
        breaks.push(Break {
            kind: BreakKind::LightJump,
            subject: "light".into(),
            detail: format!(
                "the light goes x{ratio:.2} on the lit faces of what both sides show, and {warmer:+.2} in warmth on neutral surfaces, at the cut"
            ),
        });
    }
    let measures = Measures {
        matched: pairs.len(),
        lost: lost.len(),
        new: new.len(),
        ordered_pairs,
        swapped_pairs,
        shift: shift.map(|s| s.1),
        light_ratio: ratio,
        warmth_change: warmer,
    };
    (breaks, measures)
}

fn distance(a: [f32; 2], b: [f32; 2]) -> f32 {
    ((a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2)).sqrt()
}

/// Regions of `before` and `after` that are the same (closest hue
/// first), as index pairs.
fn matched(before: &Look, after: &Look, tolerance: &Tolerance) -> Vec<(usize, usize)> {
    let mut candidates: Vec<(f32, usize, usize)> = Vec::new();
    for (i, a) in before.regions.iter().enumerate() {
        for (j, b) in after.regions.iter().enumerate() {
            let gap = hue_gap(a.hue, b.hue);
            if gap <= tolerance.hue {
                candidates.push((gap, i, j));
            }
        }
    }
    candidates.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut pairs: Vec<(usize, usize)> = Vec::new();
    for (_, i, j) in candidates {
        if !pairs.iter().any(|&(a, b)| a == i || b == j) {
            pairs.push((i, j));
        }
    }
    pairs
}

fn unmatched<'a>(regions: &'a [Region], pairs: &'a [(usize, usize)], side: usize) -> impl Iterator<Item = &'a Region> {
    regions
        .iter()
        .enumerate()
        .filter_map(move |(i, r)| (!pairs.iter().any(|p| if side == 0 { p.0 == i } else { p.1 == i })).then_some(r))
}

/// Pairs of regions far enough apart to have a left and right on both
/// sides of the cut, and how many of them swap.
fn swapped(placed: &[([f32; 2], [f32; 2], f32)]) -> (usize, usize) {
    let (mut pairs, mut swapped) = (0, 0);
    for (i, a) in placed.iter().enumerate() {
        for b in &placed[i + 1..] {
            let (before, after) = (b.0[0] - a.0[0], b.1[0] - a.1[0]);
            if before.abs() < 0.15 || after.abs() < 0.15 {
                continue;
            }
            pairs += 1;
            if before.signum() != after.signum() {
                swapped += 1;
            }
        }
    }
    (pairs, swapped)
}

/// The small region that shifts most across the width of a large one
/// that holds it on both sides of the cut (a cup on a table), and how
/// far, as a fraction of that width. Only widths: a table's depth on the
/// frame changes with the camera's height.
fn shifted(before: &Look, after: &Look, pairs: &[(usize, usize)]) -> Option<(f32, f32)> {
    let both: Vec<(&Region, &Region)> = pairs
        .iter()
        .map(|&(a, b)| (&before.regions[a], &after.regions[b]))
        .collect();
    // Where across the holder's width, when the holder is all there
    // from left to right.
    let across = |r: &Region, holder: &Region| {
        let [left, _, right, _] = holder.bounds;
        (left > 0.0 && right < 1.0).then(|| (r.centre[0] - left) / (right - left))
    };
    let mut worst: Option<(f32, f32)> = None;
    for (a, b) in both
        .iter()
        .filter(|(a, b)| a.whole && b.whole && a.share < COMPACT && b.share < COMPACT)
    {
        for (ha, hb) in both
            .iter()
            .filter(|(ha, hb)| ha.share >= COMPACT && hb.share >= COMPACT)
        {
            if let (Some(from), Some(to)) = (across(a, ha), across(b, hb))
                && (0.0..=1.0).contains(&from)
                && worst.is_none_or(|w| (to - from).abs() > w.1)
            {
                worst = Some((a.hue, (to - from).abs()));
            }
        }
    }
    worst
}

/// A cut found in a stream of frames.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Cut {
    /// The frame that starts the new shot (counted from 0).
    pub frame: u64,
    /// How different it is from the frame before (layout distance).
    pub distance: f32,
}

/// Finds cuts: a frame whose layout is far from the one before, both
/// absolutely and against how much frames have been changing within the
/// shot, so a moving camera or a prop crossing the frame is not one.
#[derive(Debug, Clone, Default)]
pub struct Shots {
    last: Option<Look>,
    /// Distances between frames of this shot, newest last.
    recent: Vec<f32>,
    frame: u64,
}

/// Smallest layout distance that is a cut, and how many times the shot's
/// usual change it must be.
const CUT_DISTANCE: f32 = 0.01;
const CUT_FACTOR: f32 = 4.0;
/// And the share of the frame's cells it must change: an object jumping
/// in a close-up changes a few.
const CUT_CELLS: f32 = 0.25;

/// Whether two frames show the same things in the same places (the same
/// hues, where they were and as big): then a change over the whole frame
/// is the light, not a cut.
fn same_framing(a: &Look, b: &Look) -> bool {
    let tolerance = Tolerance::default();
    let pairs = matched(a, b, &tolerance);
    let big = |r: &Region| r.share >= 4.0 * tolerance.presence;
    let counted: Vec<_> = pairs
        .iter()
        .map(|&(i, j)| (&a.regions[i], &b.regions[j]))
        .filter(|(x, y)| big(x) || big(y))
        .collect();
    let all = a
        .regions
        .iter()
        .filter(|r| big(r))
        .count()
        .max(b.regions.iter().filter(|r| big(r)).count());
    counted.len() >= 2
        && counted.len() == all
        && counted.iter().all(|(x, y)| {
            let ratio = y.share / x.share.max(1e-6);
            distance(x.centre, y.centre) < 0.02 && (0.8..1.25).contains(&ratio)
        })
}
const RECENT: usize = 12;

impl Shots {
    /// Takes the next frame. When it starts a new shot: the cut, and the
    /// last frame of the shot before.
    pub fn push(&mut self, look: Look) -> Option<(Cut, Look)> {
        let frame = self.frame;
        self.frame += 1;
        let previous = self.last.replace(look)?;
        let now = self.last.as_ref()?;
        let (distance, moved) = previous.distance(now);
        if distance > CUT_DISTANCE
            && distance > CUT_FACTOR * median(&self.recent)
            && moved >= CUT_CELLS
            && !same_framing(&previous, now)
        {
            self.recent.clear();
            return Some((Cut { frame, distance }, previous));
        }
        self.recent.push(distance);
        if self.recent.len() > RECENT {
            self.recent.remove(0);
        }
        None
    }

    /// The frame pushed last.
    pub fn last(&self) -> Option<&Look> {
        self.last.as_ref()
    }
}

fn median(values: &[f32]) -> f32 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f32::total_cmp);
    sorted.get(sorted.len() / 2).copied().unwrap_or(0.0)
}

/// VBench-style scores of one shot, each 0..1 with 1 the best (VBench's
/// definitions, with our features for its networks':
/// `docs` in the README's continuity section):
/// - subject consistency: for every frame after the first, the mean of
///   its cosine similarity to the first frame and to the frame before,
///   on the hue make-up of its coloured pixels (VBench: DINO features);
/// - background consistency: the same on the whole frame's embedding
///   (VBench: CLIP features; here the `colour-layout` signature);
/// - temporal flicker: 1 - the mean absolute difference of the layout
///   between neighbouring frames (VBench: of the pixels of static shots);
/// - motion smoothness: 1 - the mean absolute difference between each
///   frame's layout and the mean of its two neighbours', what linear
///   interpolation predicts (VBench: what a frame-interpolation model
///   predicts).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ShotScores {
    pub frames: u32,
    pub subject_consistency: f32,
    pub background_consistency: f32,
    pub temporal_flicker: f32,
    pub motion_smoothness: f32,
}

/// Adds up [`ShotScores`] frame by frame.
#[derive(Debug, Clone, Default)]
pub struct Scorer {
    first: Option<Look>,
    /// The two frames before, older first.
    previous: Vec<Look>,
    frames: u32,
    subject: f64,
    background: f64,
    flicker: f64,
    pairs: u32,
    smooth: f64,
    triples: u32,
}

fn cosine(a: &[f32], b: &[f32]) -> f64 {
    let dot: f64 = a.iter().zip(b).map(|(x, y)| f64::from(*x) * f64::from(*y)).sum();
    let norm = |v: &[f32]| v.iter().map(|x| f64::from(*x).powi(2)).sum::<f64>().sqrt();
    let (na, nb) = (norm(a), norm(b));
    if na < 1e-6 && nb < 1e-6 {
        1.0
    } else if na < 1e-6 || nb < 1e-6 {
        0.0
    } else {
        (dot / (na * nb)).clamp(-1.0, 1.0)
    }
}

/// Per cell, the mean absolute difference of the three channels.
fn cell_gaps<'a>(a: &'a [[f32; 3]], b: &'a [[f32; 3]]) -> impl Iterator<Item = f32> + 'a {
    a.iter()
        .zip(b)
        .map(|(x, y)| x.iter().zip(y).map(|(p, q)| (p - q).abs()).sum::<f32>() / 3.0)
}

fn layout_gap(a: &[[f32; 3]], b: &[[f32; 3]]) -> f64 {
    f64::from(cell_gaps(a, b).sum::<f32>()) / a.len().max(1) as f64
}

impl Scorer {
    pub fn push(&mut self, look: &Look) {
        self.frames += 1;
        let Some(first) = &self.first else {
            self.first = Some(look.clone());
            self.previous.push(look.clone());
            return;
        };
        let last = self.previous.last().expect("a frame came before");
        // Opposites are as unlike as it gets: similarity below 0 counts 0.
        let similar = |a: &[f32], b: &[f32]| cosine(a, b).max(0.0);
        self.subject += (similar(&look.hues, &first.hues) + similar(&look.hues, &last.hues)) / 2.0;
        self.background +=
            (similar(&look.embedding, &first.embedding) + similar(&look.embedding, &last.embedding)) / 2.0;
        self.flicker += layout_gap(&look.layout, &last.layout);
        self.pairs += 1;
        if let [two_back, one_back] = self.previous.as_slice() {
            let between: Vec<[f32; 3]> = two_back
                .layout
                .iter()
                .zip(&look.layout)
                .map(|(a, b)| [0, 1, 2].map(|c| (a[c] + b[c]) / 2.0))
                .collect();
            self.smooth += layout_gap(&one_back.layout, &between);
            self.triples += 1;
        }
        self.previous.push(look.clone());
        if self.previous.len() > 2 {
            self.previous.remove(0);
        }
    }

    pub fn scores(&self) -> ShotScores {
        // With nothing to compare yet, a shot is as consistent as can be.
        let mean = |sum: f64, n: u32| if n == 0 { 0.0 } else { (sum / f64::from(n)) as f32 };
        let similar = |sum: f64, n: u32| if n == 0 { 1.0 } else { mean(sum, n) };
        ShotScores {
            frames: self.frames,
            subject_consistency: similar(self.subject, self.pairs),
            background_consistency: similar(self.background, self.pairs),
            temporal_flicker: 1.0 - mean(self.flicker, self.pairs),
            motion_smoothness: 1.0 - mean(self.smooth, self.triples),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A frame of vertical stripes, one colour each.
    fn stripes(colours: &[[u8; 3]]) -> Look {
        let (w, h) = (colours.len() * 8, 8);
        let mut rgba = Vec::new();
        for _ in 0..h {
            for x in 0..w {
                let c = colours[x / 8];
                rgba.extend_from_slice(&[c[0], c[1], c[2], 255]);
            }
        }
        Look::of(&rgba, w as u32, h as u32, w * 4)
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 300, ..Default::default() })]

        /// Any frames, of any size and padding: no panic, every figure
        /// finite, every score in 0..1.
        #[test]
        fn any_frames_are_judged_without_fault(
            (w, h, pad) in (1u32..24, 1u32..24, 0usize..9),
            seeds in proptest::collection::vec(proptest::prelude::any::<u64>(), 1..6),
        ) {
            let stride = w as usize * 4 + pad;
            let mut shots = Shots::default();
            let mut scorer = Scorer::default();
            for seed in seeds {
                let mut state = seed | 1;
                let pixels: Vec<u8> = (0..stride * h as usize)
                    .map(|_| {
                        state ^= state << 13;
                        state ^= state >> 7;
                        state ^= state << 17;
                        (state >> 24) as u8
                    })
                    .collect();
                let look = Look::of(&pixels, w, h, stride);
                scorer.push(&look);
                if let Some((cut, before)) = shots.push(look) {
                    proptest::prop_assert!(cut.distance.is_finite());
                    let (_, measures) = judge(&before, shots.last().unwrap(), &Tolerance::default());
                    proptest::prop_assert!(measures.light_ratio.is_none_or(f32::is_finite));
                }
            }
            let scores = scorer.scores();
            for score in [scores.subject_consistency, scores.background_consistency, scores.temporal_flicker, scores.motion_smoothness] {
                proptest::prop_assert!((0.0..=1.0).contains(&score), "{scores:?}");
            }
        }
    }

    #[test]
    fn every_hue_at_once_still_makes_regions() {
        let rainbow: Vec<[u8; 3]> = (0..36)
            .map(|i| {
                let h = i as f32 * 10.0;
                let f = |n: f32| {
                    let k = (n + h / 60.0) % 6.0;
                    (255.0 * (1.0 - (k.min(4.0 - k).clamp(0.0, 1.0)))) as u8
                };
                [f(5.0), f(3.0), f(1.0)]
            })
            .collect();
        let look = stripes(&rainbow);
        assert!(!look.regions.is_empty());
        let share: f32 = look.regions.iter().map(|r| r.share).sum();
        assert!((share - 1.0).abs() < 1e-3, "every pixel is in a region: {share}");
    }

    #[test]
    fn a_region_that_turns_another_colour_is_recoloured() {
        let grey = [128, 128, 128];
        let before = stripes(&[grey, [200, 30, 30], grey, [30, 200, 30], grey, [30, 30, 200], grey]);
        let after = stripes(&[grey, [200, 30, 30], grey, [200, 200, 30], grey, [30, 30, 200], grey]);
        let breaks = compare(&before, &after, &Tolerance::default());
        assert_eq!(breaks.len(), 1, "{breaks:?}");
        assert_eq!(breaks[0].kind, BreakKind::Recoloured);
        assert_eq!(breaks[0].detail, "the green region turns yellow at the cut");
        assert!(compare(&before, &before, &Tolerance::default()).is_empty());
    }
}
