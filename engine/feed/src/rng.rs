//! A small seeded generator (xoshiro256**, seeded by SplitMix64): the
//! same numbers on every machine, so simulations are reproducible.

#[derive(Debug, Clone)]
pub struct Rng([u64; 4]);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        let mut state = seed;
        let mut next = || {
            state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        };
        Rng([next(), next(), next(), next()])
    }

    pub fn next_u64(&mut self) -> u64 {
        let s = &mut self.0;
        let result = s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        result
    }

    /// Uniform in [0, 1).
    pub fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform in 0..n (n > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (((self.next_u64() >> 32) * n as u64) >> 32) as usize
    }

    /// Standard normal (Box-Muller).
    pub fn normal(&mut self) -> f64 {
        let u = 1.0 - self.uniform();
        let v = self.uniform();
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    }

    pub fn chance(&mut self, p: f64) -> bool {
        self.uniform() < p
    }

    /// `k` distinct indices of 0..n in random order (partial Fisher-Yates).
    pub fn sample(&mut self, n: usize, k: usize, scratch: &mut Vec<usize>) -> Vec<usize> {
        scratch.clear();
        scratch.extend(0..n);
        let k = k.min(n);
        for i in 0..k {
            let j = i + self.below(n - i);
            scratch.swap(i, j);
        }
        scratch[..k].to_vec()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_numbers_and_moments_are_right() {
        let mut a = Rng::new(7);
        let mut b = Rng::new(7);
        assert_eq!(a.next_u64(), b.next_u64());
        let n = 200_000;
        let (mut sum, mut squares) = (0.0, 0.0);
        for _ in 0..n {
            let z = a.normal();
            sum += z;
            squares += z * z;
        }
        assert!((sum / n as f64).abs() < 0.01);
        assert!((squares / n as f64 - 1.0).abs() < 0.02);
        let mut counts = [0usize; 5];
        (0..n).for_each(|_| counts[a.below(5)] += 1);
        assert!(
            counts.iter().all(|&c| (c as f64 / n as f64 - 0.2).abs() < 0.005),
            "{counts:?}"
        );
    }
}
