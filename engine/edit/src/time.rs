//! Exact times: whole units (frames, samples) of a rate, as OTIO's
//! RationalTime, for the rates editors use: whole numbers, and NTSC's
//! N×1000/1001. Cuts are frame-accurate because nothing is rounded until a
//! time becomes nanoseconds for GStreamer.

use std::cmp::Ordering;
use std::fmt;

/// Units per second: `num / den`, `den` 1 or 1001.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Rate {
    num: u32,
    den: u32,
}

impl Rate {
    /// A rate of `num / den` units per second; `den` is 1 or 1001.
    pub fn new(num: u32, den: u32) -> Option<Rate> {
        (num > 0 && (den == 1 || den == 1001)).then_some(Rate { num, den })
    }

    /// Whole numbers per second.
    pub fn whole(per_second: u32) -> Rate {
        Rate::new(per_second.max(1), 1).expect("a positive whole rate")
    }

    /// Reads OTIO's floating-point rate: a whole number up to a million
    /// (frames, samples), or an NTSC rate (29.97 as written, or as
    /// 30000/1001 computed).
    pub fn from_f64(rate: f64) -> Result<Rate, String> {
        let refuse = || {
            format!("rate {rate} is neither a whole number up to 1000000 nor an NTSC rate (N×1000/1001, e.g. 29.97)")
        };
        if !rate.is_finite() || rate <= 0.0 || rate > 1e6 {
            return Err(refuse());
        }
        if rate.fract() == 0.0 {
            return Ok(Rate::whole(rate as u32));
        }
        let ntsc = (rate * 1.001).round();
        if ntsc <= 1000.0 && (ntsc / 1.001 - rate).abs() < 0.01 {
            return Rate::new(ntsc as u32 * 1000, 1001).ok_or_else(refuse);
        }
        Err(refuse())
    }

    pub fn as_f64(self) -> f64 {
        f64::from(self.num) / f64::from(self.den)
    }
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.den {
            1 => write!(f, "{}", self.num),
            _ => write!(f, "{}/{}", self.num, self.den),
        }
    }
}

/// A time in whole units of a rate: `value / rate` seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Time {
    pub value: i64,
    pub rate: Rate,
}

impl Time {
    pub fn new(value: i64, rate: Rate) -> Time {
        Time { value, rate }
    }

    pub fn seconds(self) -> Seconds {
        Seconds::new(
            i128::from(self.value) * i128::from(self.rate.den),
            i128::from(self.rate.num),
        )
    }

    /// Nanoseconds, rounded to the nearest (GStreamer's clock).
    pub fn nanos(self) -> i128 {
        self.seconds().nanos()
    }
}

/// A stretch of time: where it starts and how long it lasts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Range {
    pub start: Time,
    pub duration: Time,
}

impl Range {
    pub fn new(start: Time, duration: Time) -> Range {
        Range { start, duration }
    }

    pub fn end(self) -> Seconds {
        self.start.seconds() + self.duration.seconds()
    }
}

/// Exact seconds, a reduced fraction: sums of times of different rates
/// (frames and samples) stay exact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Seconds {
    num: i128,
    den: i128,
}

impl Seconds {
    pub const ZERO: Seconds = Seconds { num: 0, den: 1 };

    pub fn new(num: i128, den: i128) -> Seconds {
        assert!(den != 0, "a time has a rate");
        let sign = if den < 0 { -1 } else { 1 };
        let divisor = gcd(num.abs(), den.abs()).max(1);
        Seconds {
            num: sign * num / divisor,
            den: sign * den / divisor,
        }
    }

    /// Nanoseconds, rounded half away from zero.
    pub fn nanos(self) -> i128 {
        let (whole, rest) = (self.num.div_euclid(self.den), self.num.rem_euclid(self.den));
        let part = match rest.checked_mul(2_000_000_000) {
            Some(twice) => (twice + self.den) / (2 * self.den),
            None => (rest as f64 / self.den as f64 * 1e9).round() as i128,
        };
        whole.saturating_mul(1_000_000_000).saturating_add(part)
    }

    pub fn as_f64(self) -> f64 {
        self.num as f64 / self.den as f64
    }

    pub fn is_negative(self) -> bool {
        self.num < 0
    }
}

fn gcd(mut a: i128, mut b: i128) -> i128 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// `a·d + sign·b·c` over `c·d`, exactly while that fits; else to the
/// nanosecond (only timelines of many unrelated rates get there).
fn combine(a: Seconds, b: Seconds, sign: i128) -> Seconds {
    let exact = (|| {
        let num = a
            .num
            .checked_mul(b.den)?
            .checked_add(sign.checked_mul(b.num)?.checked_mul(a.den)?)?;
        Some(Seconds::new(num, a.den.checked_mul(b.den)?))
    })();
    exact.unwrap_or_else(|| Seconds::new(a.nanos().saturating_add(sign * b.nanos()), 1_000_000_000))
}

impl std::ops::Add for Seconds {
    type Output = Seconds;
    fn add(self, other: Seconds) -> Seconds {
        combine(self, other, 1)
    }
}

impl std::ops::Sub for Seconds {
    type Output = Seconds;
    fn sub(self, other: Seconds) -> Seconds {
        combine(self, other, -1)
    }
}

impl Ord for Seconds {
    fn cmp(&self, other: &Seconds) -> Ordering {
        match (self.num.checked_mul(other.den), other.num.checked_mul(self.den)) {
            (Some(a), Some(b)) => a.cmp(&b),
            _ => self.nanos().cmp(&other.nanos()),
        }
    }
}

impl PartialOrd for Seconds {
    fn partial_cmp(&self, other: &Seconds) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for Seconds {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:.3} s", self.as_f64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_read_as_editors_write_them() {
        assert_eq!(Rate::from_f64(24.0), Ok(Rate::whole(24)));
        assert_eq!(Rate::from_f64(48000.0), Ok(Rate::whole(48000)));
        let ntsc = Rate::new(30000, 1001).unwrap();
        assert_eq!(Rate::from_f64(29.97), Ok(ntsc));
        assert_eq!(Rate::from_f64(30000.0 / 1001.0), Ok(ntsc));
        assert_eq!(
            Rate::from_f64(24000.0 / 1001.0),
            Rate::new(24000, 1001).ok_or(String::new())
        );
        for bad in [0.0, -24.0, 12.3456, 2e6, f64::NAN, f64::INFINITY] {
            assert!(Rate::from_f64(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn times_of_different_rates_add_exactly() {
        let frame = Time::new(1, Rate::new(30000, 1001).unwrap());
        assert_eq!(frame.nanos(), 33_366_667);
        let thirty = (0..30).fold(Seconds::ZERO, |sum, _| sum + frame.seconds());
        assert_eq!(thirty, Time::new(30, frame.rate).seconds());
        let samples = Time::new(48_000, Rate::whole(48_000)).seconds();
        let frames = Time::new(25, Rate::whole(25)).seconds();
        assert_eq!(samples, frames);
        assert!(Time::new(-1, Rate::whole(25)).seconds().is_negative());
        assert_eq!(Time::new(-1, Rate::whole(3)).nanos(), -333_333_333);
    }
}
