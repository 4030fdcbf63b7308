//! What a mixer does to one stem: gain with an automation curve, pan,
//! mute, and ducking under speech with attack, hold and release.

use crate::AudioError;

/// Gain over time: points `(seconds, dB)`, linear in dB between them,
/// held before the first and after the last. Written `"0s=-20 2s=-6
/// 10.5s=-6 12s=-40"` (spaces or commas between points).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Curve {
    points: Vec<(f64, f64)>,
}

impl Curve {
    pub fn parse(text: &str) -> Result<Curve, AudioError> {
        let bad = |why: String| AudioError::Settings(format!("automation `{text}`: {why}"));
        let mut points: Vec<(f64, f64)> = Vec::new();
        for point in text
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|p| !p.is_empty())
        {
            let (time, gain) = point
                .split_once('=')
                .ok_or_else(|| bad(format!("`{point}` is not TIME=dB, e.g. 2.5s=-6")))?;
            let time = time.trim();
            let seconds: f64 = time
                .strip_suffix("ms")
                .map(|ms| ms.trim().parse::<f64>().map(|v| v / 1000.0))
                .or_else(|| time.strip_suffix('s').map(|s| s.trim().parse::<f64>()))
                .ok_or_else(|| bad(format!("time `{time}` needs a unit, s or ms")))?
                .map_err(|_| bad(format!("time `{time}` is not a number")))?;
            let gain: f64 = gain
                .trim()
                .trim_end_matches("dB")
                .trim()
                .parse()
                .map_err(|_| bad(format!("gain `{}` is not a number of dB", gain.trim())))?;
            if !seconds.is_finite() || seconds < 0.0 || !gain.is_finite() || gain > 24.0 {
                return Err(bad(format!("`{point}`: times from 0, gains up to +24 dB")));
            }
            if points.last().is_some_and(|&(t, _)| seconds <= t) {
                return Err(bad(format!("`{point}`: times must increase")));
            }
            points.push((seconds, gain));
        }
        Ok(Curve { points })
    }

    /// The gain at `seconds`, dB (0 without points).
    pub fn at(&self, seconds: f64) -> f64 {
        let after = self.points.partition_point(|&(t, _)| t <= seconds);
        match (after.checked_sub(1).map(|i| self.points[i]), self.points.get(after)) {
            (None, None) => 0.0,
            (None, Some(&(_, g))) | (Some((_, g)), None) => g,
            (Some((t0, g0)), Some(&(t1, g1))) => g0 + (g1 - g0) * (seconds - t0) / (t1 - t0),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.points.is_empty()
    }
}

/// Ducking: while the key speaks, the gain falls to `-depth` dB over
/// `attack`; when speech ends it holds for `hold`, then returns to 0 dB
/// over `release`. Linear in dB, per sample.
#[derive(Debug, Clone)]
pub struct Ducker {
    depth_db: f64,
    down_per_sample: f64,
    up_per_sample: f64,
    hold_samples: u64,
    quiet_for: u64,
    gain_db: f64,
}

impl Ducker {
    pub fn new(rate: u32, depth_db: f64, attack_s: f64, hold_s: f64, release_s: f64) -> Ducker {
        let rate = f64::from(rate);
        let per_sample = |seconds: f64| depth_db / (seconds * rate).max(1.0);
        Ducker {
            depth_db,
            down_per_sample: per_sample(attack_s),
            up_per_sample: per_sample(release_s),
            hold_samples: (hold_s * rate) as u64,
            quiet_for: u64::MAX,
            gain_db: 0.0,
        }
    }

    /// The gain for the next sample, dB (0 or below).
    pub fn next(&mut self, speaking: bool) -> f64 {
        if speaking {
            self.quiet_for = 0;
        } else {
            self.quiet_for = self.quiet_for.saturating_add(1);
        }
        if self.quiet_for <= self.hold_samples {
            self.gain_db = (self.gain_db - self.down_per_sample).max(-self.depth_db);
        } else {
            self.gain_db = (self.gain_db + self.up_per_sample).min(0.0);
        }
        self.gain_db
    }

    pub fn gain_db(&self) -> f64 {
        self.gain_db
    }

    /// Continues from `gain_db` (new settings while ducked do not jump).
    pub fn start_at(&mut self, gain_db: f64) {
        self.gain_db = gain_db.clamp(-self.depth_db, 0.0);
    }
}

/// Constant-power pan of a stereo pair: -1 left, 0 centre, 1 right; the
/// centre leaves both channels as they are.
pub fn pan_gains(pan: f64) -> (f32, f32) {
    let pan = pan.clamp(-1.0, 1.0);
    let angle = (pan + 1.0) * std::f64::consts::FRAC_PI_4;
    let scale = std::f64::consts::SQRT_2;
    (
        (angle.cos() * scale).min(1.0) as f32,
        (angle.sin() * scale).min(1.0) as f32,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn curves_interpolate_in_db_and_hold_at_the_ends() {
        let curve = Curve::parse("1s=-20, 3s=0dB 3500ms=-6").unwrap();
        assert_eq!(curve.at(0.0), -20.0);
        assert_eq!(curve.at(2.0), -10.0);
        assert_eq!(curve.at(3.25), -3.0);
        assert_eq!(curve.at(9.0), -6.0);
        assert_eq!(Curve::parse("").unwrap().at(5.0), 0.0);
        for (text, expected) in [
            ("1=-6", "needs a unit"),
            ("1s", "is not TIME=dB"),
            ("1s=loud", "not a number of dB"),
            ("2s=0, 1s=-6", "times must increase"),
            ("1s=+40", "up to +24 dB"),
        ] {
            let error = Curve::parse(text).unwrap_err().to_string();
            assert!(error.contains(expected), "{text}: {error}");
        }
    }

    #[test]
    fn ducking_attacks_holds_and_releases() {
        let rate = 1000;
        let mut ducker = Ducker::new(rate, 12.0, 0.1, 0.2, 0.5);
        let gains: Vec<f64> = (0..2000).map(|i| ducker.next((100..600).contains(&i))).collect();
        assert_eq!(gains[99], 0.0);
        assert!((gains[150] + 6.12).abs() < 0.2, "halfway down after half the attack");
        assert_eq!(gains[250], -12.0);
        assert_eq!(gains[799], -12.0, "held 200 ms after speech");
        assert!((gains[1050] + 6.0).abs() < 0.2, "halfway up after half the release");
        assert_eq!(gains[1400], 0.0);
    }

    #[test]
    fn the_centre_leaves_a_stereo_pair_alone() {
        assert_eq!(pan_gains(0.0), (1.0, 1.0));
        let (l, r) = pan_gains(1.0);
        assert!(l.abs() < 1e-6 && r == 1.0);
        let (l, r) = pan_gains(-0.5);
        assert!(l == 1.0 && r < 0.6);
    }
}
