//! A synthetic population to test the feed against: users with hidden
//! tastes that drift, items with hidden content, position bias (lower
//! slots are looked at less) and skips. Every policy sees the same world
//! (same seed) and is scored by its cumulative regret against an oracle
//! that knows every user's current taste.

use serde::Serialize;

use crate::linear::outer;
use crate::policy::{Candidate, Kind, Params, Pick, Policy, position_bias};
use crate::rng::Rng;
use crate::steering::{Seen, Steering};

/// Latent dimensions of tastes and content.
pub const LATENT: usize = 4;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Config {
    pub items: usize,
    pub users: usize,
    /// Candidates offered per round (a random draw from the catalogue).
    pub candidates: usize,
    pub slate: usize,
    pub rounds: usize,
    /// How far a user's taste moves per visit (AR(1): taste ← ρ·taste + √(1-ρ²)·noise).
    pub drift: f64,
    /// Noise in what the feed observes of a user's taste (their history is
    /// a noisy view of it).
    pub observation_noise: f64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            items: 200,
            users: 1000,
            candidates: 25,
            slate: 5,
            rounds: 100_000,
            drift: 0.98,
            observation_noise: 0.3,
        }
    }
}

struct Item {
    /// Unit vector: what the item is about (the feed sees it: content
    /// embeddings).
    content: [f64; LATENT],
    /// A little item-specific appeal the features do not explain.
    quality: f64,
    tags: Vec<String>,
    features: Vec<f64>,
}

/// The simulated world: its items, its users' hidden tastes.
pub struct World {
    pub config: Config,
    items: Vec<Item>,
    tastes: Vec<[f64; LATENT]>,
    rng: Rng,
}

/// The tag of a content vector: its strongest dimension and sign.
fn tag_of(content: &[f64; LATENT]) -> String {
    let (dim, value) = content
        .iter()
        .enumerate()
        .max_by(|a, b| a.1.abs().total_cmp(&b.1.abs()))
        .map(|(d, v)| (d, *v))
        .unwrap_or((0, 0.0));
    format!("topic-{dim}{}", if value >= 0.0 { '+' } else { '-' })
}

impl World {
    pub fn new(config: Config, seed: u64) -> World {
        let mut rng = Rng::new(seed);
        let items = (0..config.items)
            .map(|_| {
                let mut content = [0.0; LATENT];
                content.iter_mut().for_each(|c| *c = rng.normal());
                let norm = content.iter().map(|c| c * c).sum::<f64>().sqrt().max(1e-9);
                content.iter_mut().for_each(|c| *c /= norm);
                let mut features = vec![1.0];
                features.extend(content);
                Item {
                    content,
                    quality: 0.02 * rng.normal(),
                    tags: vec![tag_of(&content)],
                    features,
                }
            })
            .collect();
        let tastes = (0..config.users)
            .map(|_| {
                let mut taste = [0.0; LATENT];
                taste.iter_mut().for_each(|t| *t = 0.8 * rng.normal());
                taste
            })
            .collect();
        World {
            config,
            items,
            tastes,
            rng,
        }
    }

    /// Dimension of the pair features the policies learn over.
    pub fn dim() -> usize {
        (LATENT + 1) * (LATENT + 1)
    }

    /// The chance `user` engages with `item` once they look at it.
    fn appeal(&self, user: usize, item: usize) -> f64 {
        let item = &self.items[item];
        let affinity: f64 = self.tastes[user].iter().zip(&item.content).map(|(t, c)| t * c).sum();
        (0.2 + 0.15 * affinity + item.quality).clamp(0.01, 0.95)
    }

    /// What the feed sees of a user: their taste through noise, plus a bias.
    fn observe_user(&mut self, user: usize) -> Vec<f64> {
        let mut features = vec![1.0];
        let noise = self.config.observation_noise;
        for t in self.tastes[user] {
            features.push(t + noise * self.rng.normal());
        }
        features
    }

    fn drift(&mut self, user: usize) {
        let rho = self.config.drift;
        let step = (1.0 - rho * rho).sqrt() * 0.8;
        for t in self.tastes[user].iter_mut() {
            *t = rho * *t + step * self.rng.normal();
        }
    }

    /// Expected engagements of a slate (position bias times appeal).
    fn value(&self, user: usize, slate: &[usize]) -> f64 {
        slate
            .iter()
            .enumerate()
            .map(|(k, &i)| position_bias(k) * self.appeal(user, i))
            .sum()
    }

    /// The oracle's slate: the most appealing first.
    fn best(&self, user: usize, candidates: &[usize]) -> Vec<usize> {
        let mut ranked = candidates.to_vec();
        ranked.sort_by(|&a, &b| self.appeal(user, b).total_cmp(&self.appeal(user, a)));
        ranked.truncate(self.config.slate);
        ranked
    }
}

/// One visit: who came, what they were offered, what the policy showed.
struct Visit {
    user: usize,
    candidates: Vec<usize>,
    xs: Vec<Vec<f64>>,
}

/// A round-by-round driver for one policy in one world.
pub struct Run {
    pub world: World,
    pub policy: Policy,
    /// Decisions (candidates, exploration, floors) draw from here, so two
    /// policies in worlds of the same seed see the same users and items.
    rng: Rng,
    scratch: Vec<usize>,
    pub regret: f64,
    pub engagements: f64,
    pub rounds: usize,
}

impl Run {
    pub fn new(config: Config, kind: Kind, params: Params, seed: u64) -> Run {
        // Regret needs no propensities: skip Thompson sampling's extra draws.
        let params = Params {
            propensity_draws: 0,
            ..params
        };
        Run {
            world: World::new(config, seed),
            policy: Policy::new(kind, params, World::dim()),
            rng: Rng::new(seed ^ 0x5EED),
            scratch: Vec::new(),
            regret: 0.0,
            engagements: 0.0,
            rounds: 0,
        }
    }

    fn visit(&mut self, user: usize) -> Visit {
        self.world.drift(user);
        let config = &self.world.config;
        let candidates = self.rng.sample(config.items, config.candidates, &mut self.scratch);
        let u = self.world.observe_user(user);
        let xs = candidates
            .iter()
            .map(|&i| {
                let mut x = Vec::new();
                outer(&u, &self.world.items[i].features, &mut x);
                x
            })
            .collect();
        Visit { user, candidates, xs }
    }

    /// Shows the slate the policy picks (with `steering`'s terms added) and
    /// learns from the engagements; returns the items shown.
    fn serve(&mut self, visit: &Visit, steering: Option<&Steering>) -> Vec<usize> {
        let candidates: Vec<Candidate> = visit
            .xs
            .iter()
            .zip(&visit.candidates)
            .map(|(x, &i)| Candidate {
                key: i as u64,
                x,
                extra: steering.map_or(0.0, |s| {
                    let seen = Seen {
                        tags: &self.world.items[i].tags,
                        creator: "",
                        like: 0.0,
                        familiarity: 0.0,
                    };
                    s.terms(&seen).iter().map(|t| t.1).sum()
                }),
            })
            .collect();
        let none = |_: usize, _: usize| 0.0;
        let picks: Vec<Pick> =
            self.policy
                .choose(&candidates, self.world.config.slate, true, (0.0, &none), &mut self.rng);
        let shown: Vec<usize> = picks.iter().map(|p| visit.candidates[p.index]).collect();
        let oracle = self.world.best(visit.user, &visit.candidates);
        self.regret += self.world.value(visit.user, &oracle) - self.world.value(visit.user, &shown);
        for (k, pick) in picks.iter().enumerate() {
            let item = visit.candidates[pick.index];
            let looked = self.rng.chance(position_bias(k));
            // A look that does not engage is a skip.
            let engaged = looked && self.rng.chance(self.world.appeal(visit.user, item));
            self.engagements += engaged as u8 as f64;
            self.policy.observe(
                item as u64,
                &visit.xs[pick.index],
                position_bias(k),
                Some(engaged as u8 as f64),
            );
        }
        self.rounds += 1;
        shown
    }

    /// One round with a random user.
    pub fn step(&mut self) {
        let user = self.rng.below(self.world.config.users);
        let visit = self.visit(user);
        self.serve(&visit, None);
    }

    pub fn run(&mut self, rounds: usize) {
        (0..rounds).for_each(|_| self.step());
    }
}

/// Mean and the half-width of its 95% interval (Student t).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Estimate {
    pub mean: f64,
    pub half_width: f64,
}

impl Estimate {
    pub fn of(values: &[f64]) -> Estimate {
        let n = values.len() as f64;
        let mean = values.iter().sum::<f64>() / n;
        if values.len() < 2 {
            return Estimate {
                mean,
                half_width: f64::INFINITY,
            };
        }
        let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0);
        Estimate {
            mean,
            half_width: t95(values.len() - 1) * (var / n).sqrt(),
        }
    }

    pub fn low(&self) -> f64 {
        self.mean - self.half_width
    }

    pub fn high(&self) -> f64 {
        self.mean + self.half_width
    }
}

/// The two-sided 95% Student t quantile for `df` degrees of freedom.
pub fn t95(df: usize) -> f64 {
    const TABLE: [f64; 10] = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228];
    match df {
        0 => f64::INFINITY,
        1..=10 => TABLE[df - 1],
        11..=30 => 2.042 + (2.228 - 2.042) * (30 - df) as f64 / 20.0,
        _ => 1.96,
    }
}

/// One policy's line of the table.
#[derive(Debug, Clone, Serialize)]
pub struct Line {
    pub policy: Kind,
    pub regret: Estimate,
    /// Engagements per slate.
    pub ctr: Estimate,
    pub per_seed_regret: Vec<f64>,
}

/// Runs every policy over the same worlds (one per seed), seeds in parallel.
pub fn compare(config: &Config, params: &Params, seeds: &[u64], kinds: &[Kind]) -> Vec<Line> {
    let results: Vec<Vec<(f64, f64)>> = std::thread::scope(|scope| {
        let handles: Vec<_> = seeds
            .iter()
            .map(|&seed| {
                scope.spawn(move || {
                    kinds
                        .iter()
                        .map(|&kind| {
                            let mut run = Run::new(config.clone(), kind, params.clone(), seed);
                            run.run(config.rounds);
                            (run.regret, run.engagements / config.rounds as f64)
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("a simulation thread panicked"))
            .collect()
    });
    kinds
        .iter()
        .enumerate()
        .map(|(k, &policy)| {
            let regrets: Vec<f64> = results.iter().map(|r| r[k].0).collect();
            let ctrs: Vec<f64> = results.iter().map(|r| r[k].1).collect();
            Line {
                policy,
                regret: Estimate::of(&regrets),
                ctr: Estimate::of(&ctrs),
                per_seed_regret: regrets,
            }
        })
        .collect()
}

/// The table as text.
pub fn table(lines: &[Line], config: &Config, seeds: usize) -> String {
    let mut out = format!(
        "{} rounds x {seeds} seeds ({} items, {} users, {} candidates, slates of {}); 95% intervals\n",
        config.rounds, config.items, config.users, config.candidates, config.slate
    );
    out += &format!(
        "{:<16} {:>24} {:>26}\n",
        "policy", "cumulative regret", "engagements per slate"
    );
    for line in lines {
        out += &format!(
            "{:<16} {:>12.1} ± {:<9.1} {:>14.4} ± {:<9.4}\n",
            line.policy.name(),
            line.regret.mean,
            line.regret.half_width,
            line.ctr.mean,
            line.ctr.half_width
        );
    }
    out
}

/// What one steering user saw before and after turning a dial.
#[derive(Debug, Clone, Serialize)]
pub struct Steered {
    pub user: usize,
    pub tag: String,
    pub share_before: f64,
    pub share_after: f64,
}

/// Trains `kind` for `warmup` rounds, then lets `users` users each see
/// `slates` slates, ask for less of the tag they were shown most, and see
/// `slates` more (everyone else's traffic goes on between their visits).
pub fn steering(
    config: &Config,
    kind: Kind,
    params: &Params,
    seed: u64,
    warmup: usize,
    users: usize,
    slates: usize,
) -> Vec<Steered> {
    let mut run = Run::new(config.clone(), kind, params.clone(), seed);
    run.run(warmup);
    let share = |shown: &[Vec<usize>], world: &World, tag: &str| {
        let total: usize = shown.iter().map(Vec::len).sum();
        let hits = shown
            .iter()
            .flatten()
            .filter(|&&i| world.items[i].tags.iter().any(|t| t == tag))
            .count();
        hits as f64 / total.max(1) as f64
    };
    (0..users)
        .map(|user| {
            let mut before = Vec::new();
            for _ in 0..slates {
                let visit = run.visit(user);
                before.push(run.serve(&visit, None));
                run.step();
            }
            let mut counts = std::collections::BTreeMap::<&str, usize>::new();
            for &i in before.iter().flatten() {
                for tag in &run.world.items[i].tags {
                    *counts.entry(tag).or_default() += 1;
                }
            }
            let tag = counts
                .iter()
                .max_by_key(|(_, c)| **c)
                .map(|(t, _)| t.to_string())
                .unwrap_or_default();
            let dials = Steering {
                less_tags: vec![tag.clone()],
                ..Steering::default()
            };
            let mut after = Vec::new();
            for _ in 0..slates {
                let visit = run.visit(user);
                after.push(run.serve(&visit, Some(&dials)));
                run.step();
            }
            Steered {
                user,
                share_before: share(&before, &run.world, &tag),
                share_after: share(&after, &run.world, &tag),
                tag,
            }
        })
        .collect()
}

/// Simulated logs for off-policy evaluation, one slot per round: the
/// logging policy, its propensity, and for each round the true appeal of
/// every candidate, so a target policy's true value is known exactly.
pub struct Logged {
    pub rounds: Vec<LoggedRound>,
}

pub struct LoggedRound {
    pub xs: Vec<Vec<f64>>,
    pub chosen: usize,
    pub propensity: f64,
    pub reward: f64,
    /// True chance of a reward for each candidate.
    pub truth: Vec<f64>,
}

/// Logs `rounds` single-slot rounds from a softmax policy (temperature
/// `temperature`) over the reward model `policy` learned in `warmup`
/// rounds of LinUCB.
pub fn ope_logs(config: &Config, seed: u64, warmup: usize, rounds: usize, temperature: f64) -> (Logged, Policy) {
    let mut run = Run::new(config.clone(), Kind::Linucb, Params::default(), seed);
    run.run(warmup);
    let mut logged = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        let user = run.rng.below(run.world.config.users);
        let visit = run.visit(user);
        let scores: Vec<f64> = visit.xs.iter().map(|x| run.policy.model.mean(x)).collect();
        let probabilities = softmax(&scores, temperature);
        let mut u = run.rng.uniform();
        let mut chosen = probabilities.len() - 1;
        for (i, p) in probabilities.iter().enumerate() {
            if u < *p {
                chosen = i;
                break;
            }
            u -= p;
        }
        let truth: Vec<f64> = visit.candidates.iter().map(|&i| run.world.appeal(user, i)).collect();
        let reward = run.rng.chance(truth[chosen]) as u8 as f64;
        logged.push(LoggedRound {
            xs: visit.xs,
            chosen,
            propensity: probabilities[chosen],
            reward,
            truth,
        });
    }
    (Logged { rounds: logged }, run.policy)
}

pub fn softmax(scores: &[f64], temperature: f64) -> Vec<f64> {
    let top = scores.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let weights: Vec<f64> = scores.iter().map(|s| ((s - top) / temperature).exp()).collect();
    let total: f64 = weights.iter().sum();
    weights.iter().map(|w| w / total).collect()
}
