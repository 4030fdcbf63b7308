//! Online ridge regression: the reward model every learning policy shares.
//! Keeps A⁻¹ (A = λI + Σ w x xᵀ) by Sherman-Morrison updates and b = Σ w r x,
//! so the mean θ = A⁻¹b, the confidence width √(xᵀA⁻¹x) (LinUCB) and a
//! posterior draw θ̃ ~ N(θ, v²A⁻¹) (Thompson sampling) are all at hand.

use serde::{Deserialize, Serialize};

use crate::rng::Rng;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ridge {
    pub dim: usize,
    /// A⁻¹, row-major, dim x dim.
    a_inv: Vec<f64>,
    b: Vec<f64>,
    /// A⁻¹b, kept between changes (not saved: it is recomputed).
    #[serde(skip)]
    theta: Vec<f64>,
    /// Observations folded in.
    pub count: u64,
    #[serde(skip)]
    stale: bool,
}

impl Ridge {
    pub fn new(dim: usize, lambda: f64) -> Ridge {
        let mut a_inv = vec![0.0; dim * dim];
        (0..dim).for_each(|i| a_inv[i * dim + i] = 1.0 / lambda);
        Ridge {
            dim,
            a_inv,
            b: vec![0.0; dim],
            theta: vec![0.0; dim],
            count: 0,
            stale: false,
        }
    }

    /// A ← A + x xᵀ: the design part of one observation (its reward may
    /// come later, through [`Ridge::reward`]).
    pub fn observe(&mut self, x: &[f64]) {
        let d = self.dim;
        let mut ax = vec![0.0; d];
        for (i, row) in self.a_inv.chunks_exact(d).enumerate() {
            ax[i] = dot(row, x);
        }
        let denominator = 1.0 + dot(x, &ax);
        for (i, row) in self.a_inv.chunks_exact_mut(d).enumerate() {
            let scale = ax[i] / denominator;
            row.iter_mut().zip(&ax).for_each(|(a, axj)| *a -= scale * axj);
        }
        self.count += 1;
        self.stale = true;
    }

    /// b ← b + r x: a reward (or part of one) for an observed x.
    pub fn reward(&mut self, x: &[f64], r: f64) {
        self.b.iter_mut().zip(x).for_each(|(b, xi)| *b += r * xi);
        self.stale = true;
    }

    /// Both halves of one observation with its reward.
    pub fn update(&mut self, x: &[f64], r: f64) {
        self.observe(x);
        self.reward(x, r);
    }

    /// θ = A⁻¹b, recomputed only after a change.
    pub fn theta(&mut self) -> &[f64] {
        if self.stale || self.theta.len() != self.dim {
            let d = self.dim;
            self.theta.resize(d, 0.0);
            for (i, row) in self.a_inv.chunks_exact(d).enumerate() {
                self.theta[i] = dot(row, &self.b);
            }
            self.stale = false;
        }
        &self.theta
    }

    pub fn mean(&mut self, x: &[f64]) -> f64 {
        dot(self.theta(), x)
    }

    /// √(xᵀA⁻¹x): how unsure the model is about x.
    pub fn width(&self, x: &[f64]) -> f64 {
        let d = self.dim;
        let quadratic: f64 = self
            .a_inv
            .chunks_exact(d)
            .zip(x)
            .map(|(row, xi)| xi * dot(row, x))
            .sum();
        quadratic.max(0.0).sqrt()
    }

    /// θ̃ ~ N(θ, v²A⁻¹).
    pub fn draw(&mut self, v: f64, rng: &mut Rng) -> Vec<f64> {
        let d = self.dim;
        let lower = cholesky(&self.a_inv, d);
        let z: Vec<f64> = (0..d).map(|_| rng.normal()).collect();
        let theta = self.theta().to_vec();
        (0..d)
            .map(|i| theta[i] + v * (0..=i).map(|j| lower[i * d + j] * z[j]).sum::<f64>())
            .collect()
    }
}

pub fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// The lower Cholesky factor of a symmetric positive (semi)definite
/// matrix; pivots that rounding made non-positive are taken as zero.
fn cholesky(m: &[f64], d: usize) -> Vec<f64> {
    let mut l = vec![0.0; d * d];
    for i in 0..d {
        for j in 0..=i {
            let sum: f64 = (0..j).map(|k| l[i * d + k] * l[j * d + k]).sum();
            if i == j {
                l[i * d + i] = (m[i * d + i] - sum).max(0.0).sqrt();
            } else if l[j * d + j] > 0.0 {
                l[i * d + j] = (m[i * d + j] - sum) / l[j * d + j];
            }
        }
    }
    l
}

/// u ⊗ v, the features of a (user, item) pair.
pub fn outer(u: &[f64], v: &[f64], out: &mut Vec<f64>) {
    out.clear();
    for a in u {
        out.extend(v.iter().map(|b| a * b));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_online_solution_is_the_batch_ridge_solution() {
        let mut rng = Rng::new(1);
        let truth = [0.5, -1.0, 2.0];
        let mut ridge = Ridge::new(3, 1.0);
        let mut rows = Vec::new();
        for _ in 0..500 {
            let x = [rng.normal(), rng.normal(), 1.0];
            let r = dot(&truth, &x) + 0.1 * rng.normal();
            ridge.update(&x, r);
            rows.push((x, r));
        }
        // Solve (λI + XᵀX) θ = Xᵀr by Gaussian elimination, independently.
        let mut a = [[0.0f64; 4]; 3];
        for (i, row) in a.iter_mut().enumerate() {
            row[i] = 1.0;
        }
        for (x, r) in &rows {
            for i in 0..3 {
                for j in 0..3 {
                    a[i][j] += x[i] * x[j];
                }
                a[i][3] += x[i] * r;
            }
        }
        for c in 0..3 {
            for r in 0..3 {
                if r != c {
                    let f = a[r][c] / a[c][c];
                    let pivot = a[c];
                    for (cell, p) in a[r].iter_mut().zip(pivot) {
                        *cell -= f * p;
                    }
                }
            }
        }
        let batch: Vec<f64> = (0..3).map(|i| a[i][3] / a[i][i]).collect();
        for (online, batch) in ridge.theta().iter().zip(&batch) {
            assert!((online - batch).abs() < 1e-9, "{online} vs {batch}");
        }
        assert!((ridge.theta()[2] - 2.0).abs() < 0.05);
        // The width shrinks where data is dense.
        assert!(ridge.width(&[0.0, 0.0, 1.0]) < 0.1);
        assert!(ridge.width(&[30.0, 0.0, 1.0]) > ridge.width(&[0.0, 0.0, 1.0]));
    }

    #[test]
    fn draws_centre_on_the_mean_with_the_posterior_spread() {
        let mut rng = Rng::new(2);
        let mut ridge = Ridge::new(2, 1.0);
        for _ in 0..100 {
            ridge.update(&[1.0, 0.0], 1.0);
        }
        let n = 4000;
        let draws: Vec<Vec<f64>> = (0..n).map(|_| ridge.draw(1.0, &mut rng)).collect();
        let mean0 = draws.iter().map(|d| d[0]).sum::<f64>() / n as f64;
        let var1 = draws.iter().map(|d| d[1] * d[1]).sum::<f64>() / n as f64;
        assert!((mean0 - 100.0 / 101.0).abs() < 0.01, "{mean0}");
        // The unseen direction keeps the prior's variance 1/λ.
        assert!((var1 - 1.0).abs() < 0.1, "{var1}");
    }
}
