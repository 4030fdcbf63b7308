//! What goes into the feed — published items, signals, the operator's
//! objective, experiments — each parsed strictly and checked, naming the
//! field that is wrong.

use serde::{Deserialize, Serialize};

use crate::error::FeedError;
use crate::policy::{Kind, Params};

/// What provenance policy decided about an item (slate-provenance's
/// decisions).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Provenance {
    Trust,
    Label,
    Throttle,
    Reject,
}

impl Provenance {
    pub fn name(self) -> &'static str {
        match self {
            Provenance::Trust => "trust",
            Provenance::Label => "label",
            Provenance::Throttle => "throttle",
            Provenance::Reject => "reject",
        }
    }

    pub fn parse(text: &str) -> Option<Provenance> {
        [
            Provenance::Trust,
            Provenance::Label,
            Provenance::Throttle,
            Provenance::Reject,
        ]
        .into_iter()
        .find(|p| p.name() == text)
    }
}

/// Whether the people in an item may be shown: `flagged` when a check
/// (consentgate, ingest) found someone without a grant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Consent {
    Clear,
    Flagged,
}

/// A published item as it is put into the feed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewItem {
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::openapi::name))]
    pub id: String,
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::openapi::name))]
    pub creator: String,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_length = 2000))]
    pub title: String,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::openapi::tags))]
    pub tags: Vec<String>,
    #[cfg_attr(feature = "openapi", schema(exclusive_minimum = 0.0, exclusive_maximum = 1000000.0))]
    pub duration_s: f64,
    /// Content embedding (frame or text, e.g. from `onnxinfer model=minilm`).
    #[cfg_attr(feature = "openapi", schema(min_items = 1, max_items = 4096))]
    pub embedding: Vec<f32>,
    pub provenance: Provenance,
    /// For `throttle`: the most of all slates it may appear in (0..1];
    /// the objective's `throttle_rate` when absent.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(exclusive_minimum = 0.0, maximum = 1.0))]
    pub throttle_rate: Option<f64>,
    pub consent: Consent,
    /// Consent grants the item relies on: it leaves every feed the moment
    /// one of them stops being in force.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::openapi::grants))]
    pub grants: Vec<String>,
    /// Seconds since the epoch; now when absent.
    #[serde(default)]
    pub published_at: Option<i64>,
}

/// Longest id, tag or name accepted.
pub const MAX_NAME: usize = 200;

pub fn check_name(field: &str, value: &str) -> Result<(), FeedError> {
    if value.trim().is_empty() {
        return Err(FeedError::invalid(field, "empty"));
    }
    if value.chars().count() > MAX_NAME {
        return Err(FeedError::invalid(
            field,
            format!("{} characters; at most {MAX_NAME}", value.chars().count()),
        ));
    }
    if value.chars().any(char::is_control) {
        return Err(FeedError::invalid(field, "has control characters"));
    }
    Ok(())
}

impl NewItem {
    pub fn validate(&self) -> Result<(), FeedError> {
        check_name("id", &self.id)?;
        check_name("creator", &self.creator)?;
        if self.title.chars().count() > 2000 {
            return Err(FeedError::invalid("title", "longer than 2000 characters"));
        }
        if self.tags.len() > 64 {
            return Err(FeedError::invalid("tags", "more than 64 tags"));
        }
        for (i, tag) in self.tags.iter().enumerate() {
            check_name(&format!("tags[{i}]"), tag)?;
        }
        if !(self.duration_s.is_finite() && self.duration_s > 0.0 && self.duration_s < 1e6) {
            return Err(FeedError::invalid(
                "duration_s",
                format!("{} is not a positive duration in seconds", self.duration_s),
            ));
        }
        if self.embedding.is_empty() || self.embedding.len() > 4096 || self.embedding.iter().any(|x| !x.is_finite()) {
            return Err(FeedError::invalid("embedding", "give 1 to 4096 finite numbers"));
        }
        if self.embedding.iter().all(|x| *x == 0.0) {
            return Err(FeedError::invalid(
                "embedding",
                "all zeros: it says nothing about the item",
            ));
        }
        if let Some(rate) = self.throttle_rate
            && !(rate > 0.0 && rate <= 1.0)
        {
            return Err(FeedError::invalid("throttle_rate", format!("{rate} is not in (0, 1]")));
        }
        for (i, grant) in self.grants.iter().enumerate() {
            check_name(&format!("grants[{i}]"), grant)?;
        }
        Ok(())
    }
}

/// What a user did with a shown item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum SignalKind {
    /// The item was on screen (viewable).
    Impression,
    /// Watched `seconds` so far (the total, not an increment).
    Watch,
    /// Watched to the end.
    Complete,
    /// Skipped after `seconds`.
    Skip,
    Like,
    Share,
    /// Never show it again.
    Hide,
    /// Remixed with an edited `prompt`.
    Tweak,
}

/// One signal as it is posted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Signal {
    /// Unique per event: a signal posted twice counts once.
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::openapi::name))]
    pub event: String,
    /// The impression id `/feed` gave the item.
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::openapi::name))]
    pub impression: String,
    pub kind: SignalKind,
    #[serde(default)]
    pub seconds: Option<f64>,
    #[serde(default)]
    pub prompt: Option<String>,
}

/// Most signals in one batch.
pub const MAX_BATCH: usize = 1000;

impl Signal {
    /// Checks the signal alone (`at` is its place in the batch, for names).
    pub fn validate(&self, at: usize) -> Result<(), FeedError> {
        let field = |name: &str| format!("signals[{at}].{name}");
        check_name(&field("event"), &self.event)?;
        check_name(&field("impression"), &self.impression)?;
        let needs_seconds = matches!(self.kind, SignalKind::Watch | SignalKind::Skip);
        match (needs_seconds, self.seconds) {
            (true, None) => {
                return Err(FeedError::invalid(
                    field("seconds"),
                    "a watch or skip says after how many seconds",
                ));
            }
            (false, Some(_)) => return Err(FeedError::invalid(field("seconds"), "only watch and skip take seconds")),
            (_, Some(s)) if !(s.is_finite() && (0.0..=86_400.0).contains(&s)) => {
                return Err(FeedError::invalid(field("seconds"), format!("{s} is not in 0..86400")));
            }
            _ => {}
        }
        match (self.kind == SignalKind::Tweak, &self.prompt) {
            (true, None) => Err(FeedError::invalid(field("prompt"), "a tweak carries the edited prompt")),
            (true, Some(p)) if p.trim().is_empty() || p.len() > 4000 => {
                Err(FeedError::invalid(field("prompt"), "empty or longer than 4000 bytes"))
            }
            (false, Some(_)) => Err(FeedError::invalid(field("prompt"), "only a tweak carries a prompt")),
            _ => Ok(()),
        }
    }
}

/// The operator's objective: what a signal is worth and what else counts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Objective {
    /// Per share of the item watched.
    #[cfg_attr(feature = "openapi", schema(minimum = 0.0, maximum = 10.0))]
    pub watch_time: f64,
    #[cfg_attr(feature = "openapi", schema(minimum = 0.0, maximum = 10.0))]
    pub likes: f64,
    #[cfg_attr(feature = "openapi", schema(minimum = 0.0, maximum = 10.0))]
    pub shares: f64,
    #[cfg_attr(feature = "openapi", schema(minimum = 0.0, maximum = 10.0))]
    pub tweaks: f64,
    /// Taken off for a skip, scaled by how much of the item was left.
    #[cfg_attr(feature = "openapi", schema(minimum = 0.0, maximum = 10.0))]
    pub skips: f64,
    #[cfg_attr(feature = "openapi", schema(minimum = 0.0, maximum = 10.0))]
    pub hides: f64,
    /// MMR weight: how much a slate avoids near-duplicates.
    #[cfg_attr(feature = "openapi", schema(minimum = 0.0, maximum = 10.0))]
    pub diversity: f64,
    /// Bonus for a new item, halving every `freshness_half_life_h` hours.
    #[cfg_attr(feature = "openapi", schema(minimum = 0.0, maximum = 10.0))]
    pub freshness: f64,
    #[cfg_attr(feature = "openapi", schema(exclusive_minimum = 0.0))]
    pub freshness_half_life_h: f64,
    /// Throttled items' share of slates when the item names none.
    #[cfg_attr(feature = "openapi", schema(exclusive_minimum = 0.0, maximum = 1.0))]
    pub throttle_rate: f64,
}

impl Default for Objective {
    fn default() -> Self {
        Objective {
            watch_time: 1.0,
            likes: 0.5,
            shares: 0.5,
            tweaks: 0.5,
            skips: 0.3,
            hides: 1.0,
            diversity: 0.1,
            freshness: 0.05,
            freshness_half_life_h: 48.0,
            throttle_rate: 0.1,
        }
    }
}

impl Objective {
    pub fn validate(&self) -> Result<(), FeedError> {
        for (field, value) in [
            ("watch_time", self.watch_time),
            ("likes", self.likes),
            ("shares", self.shares),
            ("tweaks", self.tweaks),
            ("skips", self.skips),
            ("hides", self.hides),
            ("diversity", self.diversity),
            ("freshness", self.freshness),
        ] {
            if !(value.is_finite() && (0.0..=10.0).contains(&value)) {
                return Err(FeedError::invalid(field, format!("{value} is not a weight in 0..10")));
            }
        }
        if !(self.freshness_half_life_h.is_finite() && self.freshness_half_life_h > 0.0) {
            return Err(FeedError::invalid(
                "freshness_half_life_h",
                "must be a positive number of hours",
            ));
        }
        if !(self.throttle_rate > 0.0 && self.throttle_rate <= 1.0) {
            return Err(FeedError::invalid(
                "throttle_rate",
                format!("{} is not in (0, 1]", self.throttle_rate),
            ));
        }
        Ok(())
    }
}

/// How the feed learns and explores.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Learning {
    pub policy: Kind,
    pub params: Params,
    /// Picks per user per day that may depart from the best guess.
    #[cfg_attr(feature = "openapi", schema(maximum = 100000))]
    pub explore_per_day: u32,
    /// Items a user was shown in their last this-many impressions are not
    /// shown again.
    #[cfg_attr(feature = "openapi", schema(maximum = 10000))]
    pub dedupe: usize,
    /// Candidates ranked in full (the rest are cut by the mean score).
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 10000))]
    pub shortlist: usize,
}

impl Default for Learning {
    fn default() -> Self {
        Learning {
            policy: Kind::Linucb,
            params: Params::default(),
            explore_per_day: 40,
            dedupe: 50,
            shortlist: 200,
        }
    }
}

/// Most posterior draws Thompson sampling may take per slate for its
/// propensities (each is a pass over the candidates).
pub const MAX_PROPENSITY_DRAWS: usize = 10_000;

impl Learning {
    pub fn validate(&self) -> Result<(), FeedError> {
        if self.shortlist == 0 || self.shortlist > 10_000 {
            return Err(FeedError::invalid("shortlist", "must be 1..10000"));
        }
        if self.dedupe > 10_000 {
            return Err(FeedError::invalid("dedupe", "must be 0..10000"));
        }
        if self.explore_per_day > 100_000 {
            return Err(FeedError::invalid("explore_per_day", "must be 0..100000"));
        }
        let p = &self.params;
        for (field, value, range) in [
            ("params.epsilon", p.epsilon, 0.0..=1.0),
            ("params.floor", p.floor, 0.0..=1.0),
            ("params.alpha", p.alpha, 0.0..=100.0),
            ("params.v", p.v, 0.0..=100.0),
            ("params.lambda", p.lambda, 1e-9..=1e6),
        ] {
            if !range.contains(&value) {
                return Err(FeedError::invalid(
                    field,
                    format!("{value} is not in {}..{}", range.start(), range.end()),
                ));
            }
        }
        if p.propensity_draws > MAX_PROPENSITY_DRAWS {
            return Err(FeedError::invalid(
                "params.propensity_draws",
                format!("{}; at most {MAX_PROPENSITY_DRAWS}", p.propensity_draws),
            ));
        }
        Ok(())
    }
}

/// An A/B/n experiment: users are split by a hash of the experiment's
/// name and their id, so a user stays in their arm.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Experiment {
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::openapi::name))]
    pub name: String,
    #[cfg_attr(feature = "openapi", schema(min_items = 1, max_items = 16))]
    pub arms: Vec<Arm>,
    /// Share of users kept out (served the default policy, reported as
    /// `holdout`).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(minimum = 0.0, exclusive_maximum = 1.0))]
    pub holdout: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Arm {
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::openapi::name))]
    pub name: String,
    pub policy: Kind,
    #[cfg_attr(feature = "openapi", schema(exclusive_minimum = 0.0))]
    #[serde(default = "one")]
    pub weight: f64,
}

fn one() -> f64 {
    1.0
}

/// The arm of users outside an experiment or in its holdout.
pub const DEFAULT_ARM: &str = "default";
pub const HOLDOUT_ARM: &str = "holdout";

impl Experiment {
    pub fn validate(&self) -> Result<(), FeedError> {
        check_name("name", &self.name)?;
        if self.arms.is_empty() || self.arms.len() > 16 {
            return Err(FeedError::invalid("arms", "give 1 to 16 arms"));
        }
        for (i, arm) in self.arms.iter().enumerate() {
            check_name(&format!("arms[{i}].name"), &arm.name)?;
            if [DEFAULT_ARM, HOLDOUT_ARM].contains(&arm.name.as_str()) {
                return Err(FeedError::invalid(
                    format!("arms[{i}].name"),
                    format!("`{}` is reserved", arm.name),
                ));
            }
            if self.arms[..i].iter().any(|a| a.name == arm.name) {
                return Err(FeedError::invalid(
                    format!("arms[{i}].name"),
                    format!("`{}` twice", arm.name),
                ));
            }
            if !(arm.weight.is_finite() && arm.weight > 0.0) {
                return Err(FeedError::invalid(format!("arms[{i}].weight"), "must be positive"));
            }
        }
        if !(0.0..1.0).contains(&self.holdout) {
            return Err(FeedError::invalid(
                "holdout",
                format!("{} is not in [0, 1)", self.holdout),
            ));
        }
        Ok(())
    }

    /// The arm `user` is in: a hash of the experiment and the user, the
    /// same on every call and every machine.
    pub fn assign(&self, user: &str) -> &str {
        use sha2::{Digest, Sha256};
        let digest = Sha256::digest(format!("{}\u{0}{user}", self.name).as_bytes());
        let bucket = u64::from_be_bytes(digest[..8].try_into().expect("8 bytes")) as f64 / u64::MAX as f64;
        if bucket < self.holdout {
            return HOLDOUT_ARM;
        }
        let total: f64 = self.arms.iter().map(|a| a.weight).sum();
        let mut at = (bucket - self.holdout) / (1.0 - self.holdout) * total;
        for arm in &self.arms {
            if at < arm.weight {
                return &arm.name;
            }
            at -= arm.weight;
        }
        &self.arms[self.arms.len() - 1].name
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assignment_is_stable_and_follows_the_weights() {
        let experiment = Experiment {
            name: "ranker-v2".into(),
            arms: vec![
                Arm {
                    name: "a".into(),
                    policy: Kind::Linucb,
                    weight: 1.0,
                },
                Arm {
                    name: "b".into(),
                    policy: Kind::Thompson,
                    weight: 3.0,
                },
            ],
            holdout: 0.1,
        };
        let mut counts = std::collections::BTreeMap::<String, usize>::new();
        for i in 0..20_000 {
            let user = format!("user-{i}");
            let arm = experiment.assign(&user);
            assert_eq!(arm, experiment.assign(&user));
            *counts.entry(arm.to_owned()).or_default() += 1;
        }
        let share = |arm: &str| counts[arm] as f64 / 20_000.0;
        assert!((share(HOLDOUT_ARM) - 0.1).abs() < 0.01, "{counts:?}");
        assert!((share("a") - 0.225).abs() < 0.015, "{counts:?}");
        assert!((share("b") - 0.675).abs() < 0.015, "{counts:?}");
    }

    #[test]
    fn signals_name_what_is_wrong() {
        let signal = |kind, seconds, prompt: Option<&str>| Signal {
            event: "e".into(),
            impression: "i".into(),
            kind,
            seconds,
            prompt: prompt.map(str::to_owned),
        };
        assert!(signal(SignalKind::Watch, Some(3.0), None).validate(0).is_ok());
        let field = |s: Signal| s.validate(2).unwrap_err().field().map(str::to_owned);
        assert_eq!(
            field(signal(SignalKind::Watch, None, None)).as_deref(),
            Some("signals[2].seconds")
        );
        assert_eq!(
            field(signal(SignalKind::Like, Some(1.0), None)).as_deref(),
            Some("signals[2].seconds")
        );
        assert_eq!(
            field(signal(SignalKind::Tweak, None, None)).as_deref(),
            Some("signals[2].prompt")
        );
        assert_eq!(
            field(signal(SignalKind::Skip, Some(f64::NAN), None)).as_deref(),
            Some("signals[2].seconds")
        );
    }
}
