//! Built-in decoders of model outputs.

mod centerface;
pub mod vad;

pub use centerface::decode as decode_centerface;
pub use vad::{SileroVad, SpeechEvent, SpeechSegments};

/// A detected object, in frame pixels.
#[derive(Debug, Clone, PartialEq)]
pub struct Detection {
    pub x: f32,
    pub y: f32,
    pub w: f32,
    pub h: f32,
    pub score: f32,
    /// Landmark points (x, y, x, y, ...), in frame pixels.
    pub landmarks: Vec<f32>,
}

impl Detection {
    pub fn iou(&self, other: &Detection) -> f32 {
        let x0 = self.x.max(other.x);
        let y0 = self.y.max(other.y);
        let x1 = (self.x + self.w).min(other.x + other.w);
        let y1 = (self.y + self.h).min(other.y + other.h);
        let inter = (x1 - x0).max(0.0) * (y1 - y0).max(0.0);
        let union = self.w * self.h + other.w * other.h - inter;
        if union <= 0.0 { 0.0 } else { inter / union }
    }
}

/// Greedy non-maximum suppression: best first, dropping any that overlaps
/// a kept one by more than `iou`.
pub fn nms(mut detections: Vec<Detection>, iou: f32) -> Vec<Detection> {
    detections.sort_by(|a, b| b.score.total_cmp(&a.score));
    let mut kept: Vec<Detection> = Vec::new();
    for d in detections {
        if kept.iter().all(|k| k.iou(&d) <= iou) {
            kept.push(d);
        }
    }
    kept
}

/// The vector scaled to length 1 (unchanged when all zeros).
pub fn l2_normalise(vector: &mut [f32]) {
    let norm = vector.iter().map(|v| v * v).sum::<f32>().sqrt();
    if norm > 0.0 {
        vector.iter_mut().for_each(|v| *v /= norm);
    }
}

/// The `k` best classes as (index, probability), probabilities by softmax.
pub fn top_k(scores: &[f32], k: usize) -> Vec<(usize, f32)> {
    let max = scores.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let exp: Vec<f32> = scores.iter().map(|s| (s - max).exp()).collect();
    let sum: f32 = exp.iter().sum();
    let mut ranked: Vec<(usize, f32)> = exp.iter().map(|e| e / sum).enumerate().collect();
    ranked.sort_by(|a, b| b.1.total_cmp(&a.1));
    ranked.truncate(k);
    ranked
}

#[cfg(test)]
mod tests {
    use super::*;

    fn det(x: f32, score: f32) -> Detection {
        Detection {
            x,
            y: 0.0,
            w: 10.0,
            h: 10.0,
            score,
            landmarks: vec![],
        }
    }

    #[test]
    fn nms_keeps_the_best_of_overlapping_boxes() {
        let kept = nms(vec![det(0.0, 0.6), det(1.0, 0.9), det(50.0, 0.5)], 0.3);
        assert_eq!(kept.iter().map(|d| d.score).collect::<Vec<_>>(), [0.9, 0.5]);
    }

    #[test]
    fn normalise_and_top_k() {
        let mut v = [3.0, 4.0];
        l2_normalise(&mut v);
        assert_eq!(v, [0.6, 0.8]);
        let top = top_k(&[1.0, 3.0, 2.0], 2);
        assert_eq!(top.iter().map(|t| t.0).collect::<Vec<_>>(), [1, 2]);
        assert!((top_k(&[0.0, 0.0], 2)[0].1 - 0.5).abs() < 1e-6);
    }
}
