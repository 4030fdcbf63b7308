//! One slate for one user: which items may be shown, their scores and the
//! shortlist, what ranker plugins make of it, the arm's policy's picks,
//! why each pick is where it is, and what serving it teaches the policy.

use std::collections::HashSet;

use super::{Entry, FEATURES, Feed, Ranked, SlateOut, Term, User, day};
use crate::error::FeedError;
use crate::linear::dot;
use crate::model::{NewItem, Objective, Provenance};
use crate::policy::{Candidate, Kind, Pick, position_bias};
use crate::rescore::{Offer, Viewer};
use crate::rng::Rng;
use crate::steering::{Seen, Terms};
use crate::store::{Impression, Slate};

/// What the user's dials and the objective's freshness add to an item.
struct Dials<'a> {
    items: &'a [Entry],
    user: &'a User,
    /// Items the user asked for more like.
    liked: Vec<usize>,
    taste: &'a [f64],
    taste_norm: f64,
    objective: &'a Objective,
    now: i64,
}

impl Dials<'_> {
    fn terms(&self, entry: &Entry, terms: &mut Terms) {
        terms.clear();
        let z = &entry.features[1..];
        let seen = Seen {
            tags: &entry.item.tags,
            creator: &entry.item.creator,
            like: self
                .liked
                .iter()
                .map(|&j| dot(z, &self.items[j].features[1..]))
                .fold(0.0, f64::max),
            familiarity: if self.taste_norm > 0.0 {
                (dot(z, self.taste) / self.taste_norm).max(0.0)
            } else {
                0.0
            },
        };
        self.user.steering.add_terms(&seen, terms);
        let age_h = (self.now - entry.published_at).max(0) as f64 / 3600.0;
        let fresh = self.objective.freshness * 0.5f64.powf(age_h / self.objective.freshness_half_life_h);
        if fresh > 1e-6 {
            terms.push(("fresh", fresh));
        }
    }
}

/// A shortlisted item: its index, score before plugins, and dial terms.
type Listed = (usize, f64, Terms);

impl Feed {
    /// The slate and how many of its picks departed from the best guess.
    pub(super) fn rank_for(
        &mut self,
        user_id: &str,
        user: &User,
        arm: &str,
        n: usize,
        now: i64,
    ) -> Result<(SlateOut, u32), FeedError> {
        let profile = if user.profile.is_empty() {
            Feed::new_profile()
        } else {
            user.profile.clone()
        };
        let eligible = self.eligible(user, now);
        let policy_kind = self.arm(arm).kind;
        let query = self.query(arm, &profile);
        let objective = self.objective.clone();
        let dials = Dials {
            items: &self.items,
            user,
            liked: (user.steering.more_like.iter())
                .filter_map(|id| self.by_id.get(id).copied())
                .collect(),
            taste: &profile[1..],
            taste_norm: profile[1..].iter().map(|v| v * v).sum::<f64>().sqrt(),
            objective: &objective,
            now,
        };
        let keep = self.learning.shortlist.max(n);
        let listed = shortlist(&dials, &eligible, &query, policy_kind, keep, n, &mut self.rng);
        let plugin_terms = self.rescore(user_id, user, arm, &listed, now)?;
        let xs: Vec<Vec<f64>> = listed.iter().map(|(i, _, _)| self.pair(&profile, *i)).collect();
        let candidates: Vec<Candidate> = (listed.iter().zip(&xs).zip(&plugin_terms))
            .map(|(((i, _, terms), x), plugin)| Candidate {
                key: *i as u64,
                x,
                extra: terms.iter().map(|t| t.1).sum::<f64>() + plugin,
            })
            .collect();
        let explore = user.explored.0 != day(now) || user.explored.1 < self.learning.explore_per_day;
        let similarity = |a: usize, b: usize| {
            dot(
                &self.items[listed[a].0].features[1..],
                &self.items[listed[b].0].features[1..],
            )
            .max(0.0)
        };
        let mut rng = self.rng.clone();
        let policy = self.arms.get_mut(arm).expect("made above");
        let picks = policy.choose(&candidates, n, explore, (objective.diversity, &similarity), &mut rng);
        self.rng = rng;
        let slate_id = format!("s-{now:x}-{:016x}", self.rng.next_u64());
        let mut items = Vec::with_capacity(picks.len());
        let mut impressions = Vec::with_capacity(picks.len());
        let mut explored = 0;
        for (position, pick) in picks.iter().enumerate() {
            let (index, _, dial_terms) = &listed[pick.index];
            let item = &self.items[*index].item;
            let (terms, score, why) = explain(pick, dial_terms, plugin_terms[pick.index]);
            let departed = pick.uniform || pick.bonus != 0.0 && !pick.greedy;
            explored += departed as u32;
            let impression = format!("{slate_id}-{position}");
            impressions.push(Impression {
                id: impression.clone(),
                item: item.id.clone(),
                position,
                candidates: candidates.len(),
                propensity: pick.propensity.clamp(1e-9, 1.0),
                explored: departed,
                examined: position_bias(position),
            });
            items.push(Ranked {
                item: item.id.clone(),
                impression,
                position,
                propensity: pick.propensity,
                score,
                terms,
                why,
            });
        }
        let slate = Slate {
            id: slate_id.clone(),
            user: user_id.to_owned(),
            arm: arm.to_owned(),
            policy: policy_kind.name().to_owned(),
            served_at: now,
            profile,
            impressions,
        };
        let picked: Vec<(usize, &[f64])> = picks.iter().map(|p| (listed[p.index].0, &xs[p.index][..])).collect();
        self.serve(&slate, arm, &picked, now)?;
        let out = SlateOut {
            slate: slate_id,
            user: user_id.to_owned(),
            arm: arm.to_owned(),
            policy: policy_kind.name(),
            items,
        };
        Ok((out, explored))
    }

    /// Items that may be shown to `user` now: not held back, hidden or just
    /// shown to them, and throttled ones within their share of slates.
    fn eligible(&self, user: &User, now: i64) -> Vec<usize> {
        let recent: HashSet<usize> = user.recent.iter().copied().collect();
        let served = self.slates_served;
        let within_rate = |item: &NewItem, slates: u64| {
            let rate = item.throttle_rate.unwrap_or(self.objective.throttle_rate);
            (slates + 1) as f64 <= rate * (served + 1) as f64
        };
        (0..self.items.len())
            .filter(|&i| {
                let entry = &self.items[i];
                self.held(&entry.item, now).is_none()
                    && !user.hidden.contains(&i)
                    && !recent.contains(&i)
                    && (entry.item.provenance != Provenance::Throttle || within_rate(&entry.item, entry.slates))
            })
            .collect()
    }

    /// The arm's model folded with the user's profile: an item's mean score
    /// is this dotted with its features.
    fn query(&mut self, arm: &str, profile: &[f64]) -> Vec<f64> {
        let theta = self.arm(arm).model.theta();
        let mut query = vec![0.0; FEATURES];
        for (a, u) in profile.iter().enumerate() {
            for (b, q) in query.iter_mut().enumerate() {
                *q += u * theta[a * FEATURES + b];
            }
        }
        query
    }

    /// What the ranker plugins add to each listed item, within their
    /// deadline; a plugin that fails leaves the base scores.
    fn rescore(
        &mut self,
        user_id: &str,
        user: &User,
        arm: &str,
        listed: &[Listed],
        now: i64,
    ) -> Result<Vec<f64>, FeedError> {
        let mut added = vec![0.0; listed.len()];
        if self.rescorers.is_empty() || listed.is_empty() {
            return Ok(added);
        }
        let viewer = Viewer {
            id: user_id.to_owned(),
            arm: arm.to_owned(),
            follows: user.steering.follow.clone(),
            less_tags: user.steering.less_tags.clone(),
        };
        let offers: Vec<Offer> = listed
            .iter()
            .map(|(i, score, _)| {
                let entry = &self.items[*i];
                Offer {
                    id: entry.item.id.clone(),
                    score: *score,
                    creator: entry.item.creator.clone(),
                    tags: entry.item.tags.clone(),
                    duration_s: entry.item.duration_s,
                    provenance: entry.item.provenance.name().to_owned(),
                    age_h: (now - entry.published_at).max(0) as f64 / 3600.0,
                }
            })
            .collect();
        for rescorer in self.rescorers.iter_mut() {
            match rescorer.rescore(&viewer, &offers) {
                Ok(scores) => {
                    for (k, offer) in offers.iter().enumerate() {
                        if let Some(score) = scores.get(&offer.id) {
                            added[k] += score - offer.score;
                        }
                    }
                    self.store.count(&format!("plugin.{}.calls", rescorer.name()), 1)?;
                }
                Err(why) => {
                    tracing::warn!("ranker plugin {} failed, base scores stand: {why}", rescorer.name());
                    self.store.count(&format!("plugin.{}.failures", rescorer.name()), 1)?;
                }
            }
        }
        Ok(added)
    }

    /// Writes the slate and lets the arm's policy see each pick (item and
    /// features) at its position.
    fn serve(&mut self, slate: &Slate, arm: &str, picked: &[(usize, &[f64])], now: i64) -> Result<(), FeedError> {
        let seqs = self.store.add_slate(slate)?;
        self.slates_served += 1;
        for (position, (&(index, x), seq)) in picked.iter().zip(seqs).enumerate() {
            self.items[index].slates += 1;
            let policy = self.arms.get_mut(arm).expect("made above");
            policy.observe(index as u64, x, position_bias(position), None);
            self.applied.0 = self.applied.0.max(seq);
        }
        self.maybe_snapshot(picked.len() as u64, now)
    }
}

/// The shortlist: the `keep` best by score, plus up to `2 n` of the rest at
/// random so exploration can reach the whole catalogue; each with its dial
/// terms, kept for the explanation. Every eligible item is scored through
/// one buffer of terms.
fn shortlist(
    dials: &Dials,
    eligible: &[usize],
    query: &[f64],
    policy: Kind,
    keep: usize,
    n: usize,
    rng: &mut Rng,
) -> Vec<Listed> {
    let mut scratch = Terms::new();
    let mut scored: Vec<(usize, f64)> = eligible
        .iter()
        .map(|&i| {
            dials.terms(&dials.items[i], &mut scratch);
            let extra: f64 = scratch.iter().map(|t| t.1).sum();
            let base = match policy {
                Kind::Random => 0.0,
                _ => dot(query, &dials.items[i].features),
            };
            (i, base + extra)
        })
        .collect();
    if scored.len() > keep {
        scored.select_nth_unstable_by(keep - 1, |a, b| b.1.total_cmp(&a.1));
        let rest = scored.len() - keep;
        let mut extra: Vec<usize> = (0..(2 * n).min(rest)).map(|_| keep + rng.below(rest)).collect();
        extra.sort_unstable();
        extra.dedup();
        let mut short = scored[..keep].to_vec();
        short.extend(extra.into_iter().map(|k| scored[k]));
        scored = short;
    }
    scored
        .into_iter()
        .map(|(i, score)| {
            let mut terms = Terms::new();
            dials.terms(&dials.items[i], &mut terms);
            (i, score, terms)
        })
        .collect()
}

/// A pick's terms (largest first), its score and why, in a few words.
fn explain(pick: &Pick, dial_terms: &Terms, plugin: f64) -> (Vec<Term>, f64, String) {
    let unless_zero = |term: &'static str, value: f64| (value != 0.0).then_some(Term { term, value });
    let mut terms: Vec<Term> = std::iter::once(Term {
        term: "model",
        value: pick.mean,
    })
    .chain(unless_zero("explore", pick.bonus))
    .chain(dial_terms.iter().map(|&(term, value)| Term { term, value }))
    .chain(unless_zero("plugin", plugin))
    .chain(unless_zero("diversity", -pick.diversity))
    .collect();
    terms.sort_by(|a, b| b.value.abs().total_cmp(&a.value.abs()));
    let score = terms.iter().map(|t| t.value).sum();
    let why = if pick.uniform {
        "exploring: picked at random (the epsilon floor)".to_owned()
    } else {
        terms
            .iter()
            .take(3)
            .map(|t| format!("{} {:+.3}", t.term, t.value))
            .collect::<Vec<_>>()
            .join(", ")
    };
    (terms, score, why)
}
