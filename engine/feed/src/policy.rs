//! The policies that choose a slate: LinUCB, linear Thompson sampling and
//! epsilon-greedy over one shared [`Ridge`] reward model, and the
//! context-free popularity and random baselines. Every pick carries its
//! propensity — the probability the policy had of putting that item at
//! that position, given the ones above it — so logs can be evaluated
//! off-policy later. An epsilon floor keeps every propensity above zero.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::linear::{Ridge, dot};
use crate::rng::Rng;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Kind {
    Linucb,
    Thompson,
    EpsilonGreedy,
    Popularity,
    Random,
}

impl Kind {
    pub const ALL: [Kind; 5] = [
        Kind::Linucb,
        Kind::Thompson,
        Kind::EpsilonGreedy,
        Kind::Popularity,
        Kind::Random,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Kind::Linucb => "linucb",
            Kind::Thompson => "thompson",
            Kind::EpsilonGreedy => "epsilon-greedy",
            Kind::Popularity => "popularity",
            Kind::Random => "random",
        }
    }

    pub fn parse(name: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.name() == name)
    }

    pub fn names() -> String {
        Kind::ALL.map(Kind::name).join(", ")
    }
}

/// How a policy explores.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Params {
    /// LinUCB: the weight of the confidence width.
    #[cfg_attr(feature = "openapi", schema(minimum = 0.0, maximum = 100.0))]
    pub alpha: f64,
    /// Thompson sampling: the posterior's scale v.
    #[cfg_attr(feature = "openapi", schema(minimum = 0.0, maximum = 100.0))]
    pub v: f64,
    /// Epsilon-greedy's epsilon.
    #[cfg_attr(feature = "openapi", schema(minimum = 0.0, maximum = 1.0))]
    pub epsilon: f64,
    /// The floor every other policy explores with, uniformly.
    #[cfg_attr(feature = "openapi", schema(minimum = 0.0, maximum = 1.0))]
    pub floor: f64,
    /// Ridge prior λ.
    #[cfg_attr(feature = "openapi", schema(minimum = 1e-9, maximum = 1000000.0))]
    pub lambda: f64,
    /// Thompson sampling: posterior draws that estimate its propensities.
    #[cfg_attr(feature = "openapi", schema(maximum = 10000))]
    pub propensity_draws: usize,
}

impl Default for Params {
    fn default() -> Self {
        Params {
            alpha: 0.5,
            v: 0.1,
            epsilon: 0.1,
            floor: 0.01,
            lambda: 1.0,
            propensity_draws: 64,
        }
    }
}

/// A candidate as a policy sees it.
#[derive(Debug, Clone)]
pub struct Candidate<'a> {
    /// Names the item in the popularity counts.
    pub key: u64,
    /// The (user, item) pair's features.
    pub x: &'a [f64],
    /// Score the policy does not learn: steering, freshness, plugins.
    pub extra: f64,
}

/// One position of a chosen slate.
#[derive(Debug, Clone, PartialEq)]
pub struct Pick {
    /// Index into the candidates.
    pub index: usize,
    pub propensity: f64,
    /// The model's predicted reward.
    pub mean: f64,
    /// What exploration added (UCB width, posterior draw minus mean).
    pub bonus: f64,
    /// Taken by the uniform floor rather than by score.
    pub uniform: bool,
    /// What diversity took off (MMR).
    pub diversity: f64,
    /// The best guess without exploration would have picked it too.
    pub greedy: bool,
}

/// How similar two candidates are, for MMR diversity (0 when none).
pub type Similarity<'s> = &'s dyn Fn(usize, usize) -> f64;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Policy {
    pub kind: Kind,
    pub params: Params,
    pub model: Ridge,
    /// Popularity: per item, reward and examination-weighted impressions.
    popularity: HashMap<u64, (f64, f64)>,
}

impl Policy {
    pub fn new(kind: Kind, params: Params, dim: usize) -> Policy {
        Policy {
            kind,
            model: Ridge::new(dim, params.lambda),
            params,
            popularity: HashMap::new(),
        }
    }

    /// The exploration probability each position is filled uniformly with.
    pub fn epsilon(&self) -> f64 {
        match self.kind {
            Kind::EpsilonGreedy => self.params.epsilon,
            Kind::Random => 1.0,
            _ => self.params.floor,
        }
    }

    /// Chooses `n` of `candidates` (fewer if there are fewer) in order.
    /// `explore` false ranks by the mean alone (a user whose exploration
    /// budget is spent) but keeps the floor. `diversity` is MMR's weight.
    pub fn choose(
        &mut self,
        candidates: &[Candidate],
        n: usize,
        explore: bool,
        diversity: (f64, Similarity),
        rng: &mut Rng,
    ) -> Vec<Pick> {
        let means: Vec<f64> = match self.kind {
            Kind::Popularity => candidates.iter().map(|c| self.popularity_of(c.key)).collect(),
            Kind::Random => vec![0.0; candidates.len()],
            _ => {
                let theta = self.model.theta().to_vec();
                candidates.iter().map(|c| dot(&theta, c.x)).collect()
            }
        };
        let bonus: Vec<f64> = match (self.kind, explore) {
            (Kind::Linucb, true) => candidates
                .iter()
                .map(|c| self.params.alpha * self.model.width(c.x))
                .collect(),
            (Kind::Thompson, true) => {
                let draw = self.model.draw(self.params.v, rng);
                candidates
                    .iter()
                    .zip(&means)
                    .map(|(c, m)| dot(&draw, c.x) - m)
                    .collect()
            }
            _ => vec![0.0; candidates.len()],
        };
        let score: Vec<f64> = (0..candidates.len())
            .map(|i| means[i] + bonus[i] + candidates[i].extra)
            .collect();
        let exploit: Vec<f64> = (0..candidates.len()).map(|i| means[i] + candidates[i].extra).collect();
        // Thompson sampling's own propensities: how often other draws
        // would have put each candidate first at each position.
        let draws: Vec<Vec<f64>> = if self.kind == Kind::Thompson && explore {
            (0..self.params.propensity_draws)
                .map(|_| {
                    let draw = self.model.draw(self.params.v, rng);
                    candidates.iter().map(|c| dot(&draw, c.x) + c.extra).collect()
                })
                .collect()
        } else {
            Vec::new()
        };
        let epsilon = self.epsilon();
        let (lambda, similar) = diversity;
        let mut left: Vec<usize> = (0..candidates.len()).collect();
        let mut picks: Vec<Pick> = Vec::with_capacity(n);
        while picks.len() < n && !left.is_empty() {
            let penalty = |i: usize| {
                if lambda == 0.0 {
                    0.0
                } else {
                    picks.iter().map(|p| similar(i, p.index)).fold(0.0, f64::max) * lambda
                }
            };
            let best_of = |values: &[f64]| {
                let mut best = (0, f64::NEG_INFINITY);
                for (slot, &i) in left.iter().enumerate() {
                    let v = values[i] - penalty(i);
                    if v > best.1 {
                        best = (slot, v);
                    }
                }
                best.0
            };
            let top = if self.kind == Kind::Random { 0 } else { best_of(&score) };
            let greedy_top = if self.kind == Kind::Random {
                top
            } else {
                best_of(&exploit)
            };
            let uniform = rng.chance(epsilon);
            let slot = if uniform { rng.below(left.len()) } else { top };
            let share = if draws.is_empty() {
                (slot == top) as u8 as f64
            } else {
                // Smoothed so a candidate no draw put first keeps a little.
                let wins = draws.iter().filter(|d| best_of(d) == slot).count() as f64;
                (wins + 0.5 * (slot == top) as u8 as f64) / (draws.len() as f64 + 0.5)
            };
            let index = left[slot];
            picks.push(Pick {
                index,
                propensity: (1.0 - epsilon) * share + epsilon / left.len() as f64,
                mean: means[index],
                bonus: bonus[index],
                uniform,
                diversity: penalty(index),
                greedy: slot == greedy_top,
            });
            left.swap_remove(slot);
        }
        picks
    }

    /// Learns from one shown item: `x` its pair features, `examined` how
    /// likely its position was looked at (position bias), `reward` what
    /// it earned (None: not yet known; add it later with [`Policy::reward`]).
    pub fn observe(&mut self, key: u64, x: &[f64], examined: f64, reward: Option<f64>) {
        let seen = self.popularity.entry(key).or_default();
        seen.1 += examined;
        let scaled: Vec<f64> = x.iter().map(|v| v * examined).collect();
        self.model.observe(&scaled);
        if let Some(r) = reward {
            self.reward(key, x, examined, r);
        }
    }

    /// A reward (or a part of one) for an item [`Policy::observe`]d before.
    pub fn reward(&mut self, key: u64, x: &[f64], examined: f64, reward: f64) {
        self.popularity.entry(key).or_default().0 += reward;
        let scaled: Vec<f64> = x.iter().map(|v| v * examined).collect();
        self.model.reward(&scaled, reward);
    }

    pub fn popularity_of(&self, key: u64) -> f64 {
        let (reward, examined) = self.popularity.get(&key).copied().unwrap_or_default();
        (reward + 1.0) / (examined + 2.0)
    }
}

/// The default examination curve: how likely each slate position is
/// looked at, relative to the first.
pub fn position_bias(position: usize) -> f64 {
    1.0 / (1.0 + position as f64).powf(0.5)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_similarity(_: usize, _: usize) -> f64 {
        0.0
    }

    #[test]
    fn propensities_are_the_probabilities_the_picks_were_made_with() {
        // Two candidates, a model that prefers the first: with the floor,
        // the first is picked with 1 - e/2, and says so.
        let mut policy = Policy::new(Kind::EpsilonGreedy, Params::default(), 1);
        for _ in 0..50 {
            policy.observe(0, &[1.0], 1.0, Some(1.0));
        }
        let (a, b) = ([1.0], [-1.0]);
        let candidates = [
            Candidate {
                key: 0,
                x: &a,
                extra: 0.0,
            },
            Candidate {
                key: 1,
                x: &b,
                extra: 0.0,
            },
        ];
        let mut rng = Rng::new(3);
        let n = 20_000;
        let mut first = 0;
        for _ in 0..n {
            let picks = policy.choose(&candidates, 1, true, (0.0, &no_similarity), &mut rng);
            let expected = if picks[0].index == 0 { 0.95 } else { 0.05 };
            assert!((picks[0].propensity - expected).abs() < 1e-12);
            first += (picks[0].index == 0) as usize;
        }
        assert!((first as f64 / n as f64 - 0.95).abs() < 0.01);
    }

    #[test]
    fn thompson_propensities_sum_to_one_over_the_candidates() {
        // Propensities estimated from enough draws: 1/p is convex, so few
        // draws bias E[1/p] upwards.
        let params = Params {
            v: 1.0,
            propensity_draws: 400,
            ..Params::default()
        };
        let mut policy = Policy::new(Kind::Thompson, params, 2);
        let xs = [[1.0, 0.0], [0.0, 1.0], [0.7, 0.7]];
        let candidates: Vec<Candidate> = xs
            .iter()
            .enumerate()
            .map(|(i, x)| Candidate {
                key: i as u64,
                x,
                extra: 0.0,
            })
            .collect();
        let mut rng = Rng::new(4);
        // Estimate each candidate's chance of the top slot by frequency,
        // and compare with the mean propensity logged for it.
        let mut count = [0.0; 3];
        let mut logged = [0.0; 3];
        let n = 4000;
        for _ in 0..n {
            let pick = &policy.choose(&candidates, 1, true, (0.0, &no_similarity), &mut rng)[0];
            count[pick.index] += 1.0;
            logged[pick.index] += 1.0 / pick.propensity;
        }
        // E[1/p] over picks = number of candidates when p is right.
        let ips_total: f64 = logged.iter().sum::<f64>() / n as f64;
        assert!((ips_total - 3.0).abs() < 0.15, "{ips_total} {count:?}");
    }

    #[test]
    fn diversity_keeps_near_duplicates_apart() {
        let mut policy = Policy::new(
            Kind::Popularity,
            Params {
                floor: 0.0,
                ..Params::default()
            },
            1,
        );
        for (key, reward) in [(0, 10.0), (1, 9.0), (2, 5.0)] {
            policy.observe(key, &[1.0], 10.0, Some(reward));
        }
        let x = [1.0];
        let candidates: Vec<Candidate> = (0..3)
            .map(|k| Candidate {
                key: k,
                x: &x,
                extra: 0.0,
            })
            .collect();
        // 0 and 1 are the same video twice.
        let similar = |i: usize, j: usize| if i + j == 1 { 1.0 } else { 0.0 };
        let mut rng = Rng::new(5);
        let plain: Vec<usize> = policy
            .choose(&candidates, 2, true, (0.0, &similar), &mut rng)
            .iter()
            .map(|p| p.index)
            .collect();
        let diverse: Vec<usize> = policy
            .choose(&candidates, 2, true, (0.5, &similar), &mut rng)
            .iter()
            .map(|p| p.index)
            .collect();
        assert_eq!(plain, [0, 1]);
        assert_eq!(diverse, [0, 2]);
    }
}
