//! The feed: ranks a slate for a user, learns from their signals, and
//! keeps provenance and consent's word. The state it ranks with lives in
//! memory and is rebuilt from the store on open (arm snapshots plus the
//! impressions and signals logged after them), so nothing is lost.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::path::Path;
use std::sync::Arc;

use serde::Serialize;
use slate_consent::{GrantWindow, Registry};

use crate::error::FeedError;
use crate::experiment::{ArmReport, arm_report};
use crate::linear::outer;
use crate::model::{
    Consent, DEFAULT_ARM, Experiment, Learning, NewItem, Objective, Provenance, Signal, SignalKind, check_name,
};
use crate::policy::Policy;
use crate::rescore::Rescorer;
use crate::rng::Rng;
use crate::steering::Steering;
use crate::store::{Served, Store};

mod rank;

/// Features per item and per user: a bias and a projection of the item's
/// embedding (JL random projection to 7 dimensions, unit length).
pub const FEATURES: usize = 8;
/// Most items in one slate.
pub const MAX_SLATE: usize = 50;
/// Applied events between snapshots of the learned state.
const SNAPSHOT_EVERY: u64 = 5000;
/// How fast a user's profile follows what they engage with.
const PROFILE_RATE: f64 = 0.3;

struct Entry {
    item: NewItem,
    published_at: i64,
    features: Vec<f64>,
    /// Slates it was in.
    slates: u64,
}

#[derive(Default)]
struct User {
    profile: Vec<f64>,
    steering: Steering,
    /// Items of their last impressions, newest last.
    recent: VecDeque<usize>,
    hidden: HashSet<usize>,
    /// (day, picks that departed from the best guess that day)
    explored: (i64, u32),
}

/// The consent registry as the feed last read it.
#[derive(Default)]
struct ConsentView {
    version: Option<(i64, i64)>,
    windows: HashMap<String, GrantWindow>,
}

/// One item of a slate as `/feed` returns it.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Ranked {
    pub item: String,
    pub impression: String,
    pub position: usize,
    pub propensity: f64,
    pub score: f64,
    /// The objective terms that put it here, largest first.
    pub terms: Vec<Term>,
    /// The same, in a few words.
    pub why: String,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Term {
    pub term: &'static str,
    pub value: f64,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SlateOut {
    pub slate: String,
    pub user: String,
    pub arm: String,
    pub policy: &'static str,
    pub items: Vec<Ranked>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SignalsOut {
    pub accepted: usize,
    pub duplicates: usize,
}

/// Why an item is held back from every feed, if it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Held {
    Rejected,
    ConsentFlagged,
    GrantNotInForce,
}

pub struct Feed {
    store: Store,
    registry: Arc<Registry>,
    items: Vec<Entry>,
    by_id: HashMap<String, usize>,
    projection: Option<(usize, Vec<f64>)>,
    users: HashMap<String, User>,
    arms: BTreeMap<String, Policy>,
    objective: Objective,
    learning: Learning,
    experiment: Option<Experiment>,
    slates_served: u64,
    consent: ConsentView,
    rescorers: Vec<Box<dyn Rescorer>>,
    rng: Rng,
    /// The newest impression and signal the arms have learned from.
    applied: (i64, i64),
    since_snapshot: u64,
}

impl std::fmt::Debug for Feed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Feed")
            .field("items", &self.items.len())
            .finish_non_exhaustive()
    }
}

fn json_setting<T: serde::de::DeserializeOwned>(store: &Store, key: &str) -> Result<Option<T>, FeedError> {
    store
        .setting(key)?
        .map(|text| serde_json::from_str(&text).map_err(|e| FeedError::Store(format!("setting `{key}`: {e}"))))
        .transpose()
}

/// A seed no other feed opened at the same moment shares (slate ids
/// come from it).
fn seed() -> u64 {
    let mut bytes = [0u8; 8];
    getrandom::getrandom(&mut bytes)
        .unwrap_or_else(|_| bytes = (crate::now() as u64 ^ std::process::id() as u64).to_le_bytes());
    u64::from_le_bytes(bytes)
}

fn day(at: i64) -> i64 {
    at.div_euclid(86_400)
}

impl Feed {
    /// Opens the feed in the registry's file (`path`), rebuilding what it
    /// learned.
    pub fn open(path: &Path, registry: Arc<Registry>) -> Result<Feed, FeedError> {
        let store = Store::open(path)?;
        let mut feed = Feed {
            objective: json_setting(&store, "objective")?.unwrap_or_default(),
            learning: json_setting(&store, "learning")?.unwrap_or_default(),
            experiment: json_setting(&store, "experiment")?,
            store,
            registry,
            items: Vec::new(),
            by_id: HashMap::new(),
            projection: None,
            users: HashMap::new(),
            arms: BTreeMap::new(),
            slates_served: 0,
            consent: ConsentView::default(),
            rescorers: Vec::new(),
            rng: Rng::new(seed()),
            applied: (0, 0),
            since_snapshot: 0,
        };
        for row in feed.store.items()? {
            feed.insert(row.item, row.published_at)?;
        }
        for (id, profile, steering) in feed.store.users()? {
            let steering = serde_json::from_str(&steering)
                .map_err(|e| FeedError::Store(format!("feed_users.steering of `{id}`: {e}")))?;
            feed.users.insert(
                id,
                User {
                    profile,
                    steering,
                    ..User::default()
                },
            );
        }
        let (slates, per_item) = feed.store.slate_counts()?;
        feed.slates_served = slates;
        for (item, count) in per_item {
            if let Some(&i) = feed.by_id.get(&item) {
                feed.items[i].slates = count;
            }
        }
        // The arms as saved, then what was logged after.
        let mut marks: HashMap<String, (i64, i64)> = HashMap::new();
        for (arm, state, impressions, signals) in feed.store.snapshots()? {
            let policy: Policy =
                serde_json::from_str(&state).map_err(|e| FeedError::Store(format!("snapshot of `{arm}`: {e}")))?;
            feed.arms.insert(arm.clone(), policy);
            marks.insert(arm, (impressions, signals));
        }
        let today = day(crate::now());
        for served in feed.store.impressions_after(0)? {
            let mark = marks.get(&served.arm).copied().unwrap_or_default();
            let Some(&item) = feed.by_id.get(&served.item) else {
                continue;
            };
            let user = feed.users.entry(served.user.clone()).or_default();
            user.recent.push_back(item);
            if user.recent.len() > feed.learning.dedupe {
                user.recent.pop_front();
            }
            if served.explored && day(served.served_at) == today {
                user.explored = (today, user.explored.1 + 1);
            }
            if served.seq > mark.0 {
                let x = feed.pair(&served.profile, item);
                feed.arm(&served.arm).observe(item as u64, &x, served.examined, None);
            }
            feed.applied.0 = feed.applied.0.max(served.seq);
        }
        for taken in feed.store.signals_after(0)? {
            let mark = marks.get(&taken.served.arm).copied().unwrap_or_default();
            let Some(&item) = feed.by_id.get(&taken.served.item) else {
                continue;
            };
            if taken.kind == SignalKind::Hide {
                feed.users
                    .entry(taken.served.user.clone())
                    .or_default()
                    .hidden
                    .insert(item);
            }
            if taken.seq > mark.1 {
                let x = feed.pair(&taken.served.profile, item);
                feed.arm(&taken.served.arm)
                    .reward(item as u64, &x, taken.served.examined, taken.reward);
            }
            feed.applied.1 = feed.applied.1.max(taken.seq);
        }
        Ok(feed)
    }

    /// The policy of `arm`, made on first use.
    fn arm(&mut self, arm: &str) -> &mut Policy {
        let kind = self
            .experiment
            .as_ref()
            .and_then(|e| e.arms.iter().find(|a| a.name == arm))
            .map_or(self.learning.policy, |a| a.policy);
        let params = self.learning.params.clone();
        self.arms
            .entry(arm.to_owned())
            .or_insert_with(|| Policy::new(kind, params, FEATURES * FEATURES))
    }

    /// An embedding's projection, the same for every embedding of its length.
    fn features_of(&mut self, embedding: &[f32]) -> Result<Vec<f64>, FeedError> {
        let (length, matrix) = self.projection.get_or_insert_with(|| {
            let mut rng = Rng::new(0x51A7_E000 + embedding.len() as u64);
            let matrix = (0..(FEATURES - 1) * embedding.len()).map(|_| rng.normal()).collect();
            (embedding.len(), matrix)
        });
        if *length != embedding.len() {
            return Err(FeedError::invalid(
                "embedding",
                format!(
                    "{} numbers where this feed's items have {length}; embed with the same model",
                    embedding.len()
                ),
            ));
        }
        let mut features = vec![1.0];
        features.extend(
            matrix
                .chunks_exact(*length)
                .map(|row| row.iter().zip(embedding).map(|(m, e)| m * *e as f64).sum::<f64>()),
        );
        let norm = features[1..].iter().map(|v| v * v).sum::<f64>().sqrt().max(1e-12);
        features[1..].iter_mut().for_each(|v| *v /= norm);
        Ok(features)
    }

    fn insert(&mut self, item: NewItem, published_at: i64) -> Result<(), FeedError> {
        let features = self.features_of(&item.embedding)?;
        self.by_id.insert(item.id.clone(), self.items.len());
        self.items.push(Entry {
            item,
            published_at,
            features,
            slates: 0,
        });
        Ok(())
    }

    /// Puts a published item into the feed.
    pub fn publish(&mut self, mut item: NewItem) -> Result<(), FeedError> {
        item.validate()?;
        if self.by_id.contains_key(&item.id) {
            return Err(FeedError::Conflict {
                field: "id".into(),
                why: format!("`{}` is already in the feed", item.id),
            });
        }
        self.features_of(&item.embedding)?;
        let published_at = item.published_at.take().unwrap_or_else(crate::now);
        self.store.add_item(&item, published_at)?;
        self.insert(item, published_at)
    }

    /// Records what provenance or consent now say of an item.
    pub fn set_status(&mut self, id: &str, provenance: Provenance, consent: Consent) -> Result<(), FeedError> {
        let &i = self.by_id.get(id).ok_or_else(|| FeedError::Unknown {
            what: "item",
            id: id.to_owned(),
        })?;
        self.store.set_item_status(id, provenance, consent)?;
        self.items[i].item.provenance = provenance;
        self.items[i].item.consent = consent;
        Ok(())
    }

    fn pair(&self, profile: &[f64], item: usize) -> Vec<f64> {
        let mut x = Vec::with_capacity(FEATURES * FEATURES);
        outer(profile, &self.items[item].features, &mut x);
        x
    }

    fn new_profile() -> Vec<f64> {
        let mut profile = vec![0.0; FEATURES];
        profile[0] = 1.0;
        profile
    }

    /// The database the feed lives in (the registry's).
    pub fn database(&self) -> &slate_store::Database {
        self.store.database()
    }

    pub fn add_rescorer(&mut self, rescorer: Box<dyn Rescorer>) {
        self.rescorers.push(rescorer);
    }

    /// The policy an arm ranks with, once it has served.
    pub fn policy(&self, arm: &str) -> Option<&Policy> {
        self.arms.get(arm)
    }

    pub fn objective(&self) -> &Objective {
        &self.objective
    }

    pub fn set_objective(&mut self, objective: Objective) -> Result<(), FeedError> {
        objective.validate()?;
        self.store
            .put_setting("objective", &serde_json::to_string(&objective).unwrap_or_default())?;
        self.objective = objective;
        Ok(())
    }

    pub fn learning(&self) -> &Learning {
        &self.learning
    }

    /// New learning settings; arms made from now on use them.
    pub fn set_learning(&mut self, learning: Learning) -> Result<(), FeedError> {
        learning.validate()?;
        self.store
            .put_setting("learning", &serde_json::to_string(&learning).unwrap_or_default())?;
        self.learning = learning;
        Ok(())
    }

    pub fn experiment(&self) -> Option<&Experiment> {
        self.experiment.as_ref()
    }

    /// Starts an experiment (None ends it). Arms keep what they learned.
    pub fn set_experiment(&mut self, experiment: Option<Experiment>) -> Result<(), FeedError> {
        match &experiment {
            Some(e) => {
                e.validate()?;
                self.store
                    .put_setting("experiment", &serde_json::to_string(e).unwrap_or_default())?;
            }
            None => self.store.delete_setting("experiment")?,
        }
        self.experiment = experiment;
        Ok(())
    }

    pub fn steering(&self, user: &str) -> Steering {
        self.users.get(user).map(|u| u.steering.clone()).unwrap_or_default()
    }

    pub fn set_steering(&mut self, user: &str, steering: Steering) -> Result<(), FeedError> {
        check_name("user", user)?;
        steering
            .validate()
            .map_err(|(field, why)| FeedError::invalid(field, why))?;
        if let Some(unknown) = steering.more_like.iter().find(|id| !self.by_id.contains_key(*id)) {
            return Err(FeedError::invalid(
                "more_like",
                format!("no item `{unknown}` in the feed"),
            ));
        }
        let entry = self.users.entry(user.to_owned()).or_default();
        if entry.profile.is_empty() {
            entry.profile = Feed::new_profile();
        }
        self.store.put_user(
            user,
            &entry.profile,
            &serde_json::to_string(&steering).unwrap_or_default(),
            crate::now(),
        )?;
        self.users.get_mut(user).expect("made above").steering = steering;
        Ok(())
    }

    /// Reads the registry again if a grant or revocation was added.
    fn refresh_consent(&mut self) -> Result<(), FeedError> {
        let version = self.registry.grants_version()?;
        if self.consent.version != Some(version) {
            self.consent.windows = self
                .registry
                .grant_windows()?
                .into_iter()
                .map(|w| (w.id.clone(), w))
                .collect();
            self.consent.version = Some(version);
        }
        Ok(())
    }

    fn held(&self, item: &NewItem, now: i64) -> Option<Held> {
        if item.provenance == Provenance::Reject {
            return Some(Held::Rejected);
        }
        if item.consent == Consent::Flagged {
            return Some(Held::ConsentFlagged);
        }
        let in_force = |g: &String| self.consent.windows.get(g).is_some_and(|w| w.in_force(now));
        if !item.grants.iter().all(in_force) {
            return Some(Held::GrantNotInForce);
        }
        None
    }

    /// Why `id` is held back from feeds now, if it is.
    pub fn held_back(&mut self, id: &str) -> Result<Option<Held>, FeedError> {
        self.refresh_consent()?;
        let &i = self.by_id.get(id).ok_or_else(|| FeedError::Unknown {
            what: "item",
            id: id.to_owned(),
        })?;
        Ok(self.held(&self.items[i].item, crate::now()))
    }

    pub fn rank(&mut self, user: &str, n: usize) -> Result<SlateOut, FeedError> {
        self.rank_at(user, n, crate::now())
    }

    /// A slate of `n` for `user` at time `now`.
    pub fn rank_at(&mut self, user_id: &str, n: usize, now: i64) -> Result<SlateOut, FeedError> {
        check_name("user", user_id)?;
        if !(1..=MAX_SLATE).contains(&n) {
            return Err(FeedError::invalid("n", format!("{n}: ask for 1 to {MAX_SLATE} items")));
        }
        self.refresh_consent()?;
        let arm = match &self.experiment {
            Some(e) => e.assign(user_id).to_owned(),
            None => DEFAULT_ARM.to_owned(),
        };
        let user = self.users.remove(user_id).unwrap_or_default();
        let result = self.rank_for(user_id, &user, &arm, n, now);
        let mut user = user;
        if user.profile.is_empty() {
            user.profile = Feed::new_profile();
            self.store.put_user(
                user_id,
                &user.profile,
                &serde_json::to_string(&user.steering).unwrap_or_default(),
                now,
            )?;
        }
        if let Ok((out, explored)) = &result {
            for ranked in &out.items {
                user.recent.push_back(self.by_id[&ranked.item]);
            }
            while user.recent.len() > self.learning.dedupe {
                user.recent.pop_front();
            }
            let today = day(now);
            user.explored = if user.explored.0 == today {
                (today, user.explored.1 + explored)
            } else {
                (today, *explored)
            };
        }
        self.users.insert(user_id.to_owned(), user);
        result.map(|(out, _)| out)
    }

    /// Takes in a batch of signals: all checked first, written in one
    /// transaction, learned from; an event id already taken counts once.
    pub fn record(&mut self, signals: &[Signal]) -> Result<SignalsOut, FeedError> {
        self.record_at(signals, None, crate::now())
    }

    /// Records signals on `user`'s own impressions only: one served to
    /// anyone else refuses the whole batch, naming it.
    pub fn record_for(&mut self, user: &str, signals: &[Signal]) -> Result<SignalsOut, FeedError> {
        self.record_at(signals, Some(user), crate::now())
    }

    pub fn record_at(&mut self, signals: &[Signal], user: Option<&str>, now: i64) -> Result<SignalsOut, FeedError> {
        if signals.is_empty() || signals.len() > crate::model::MAX_BATCH {
            return Err(FeedError::invalid(
                "signals",
                format!(
                    "{} signals; send 1 to {} per batch",
                    signals.len(),
                    crate::model::MAX_BATCH
                ),
            ));
        }
        for (at, signal) in signals.iter().enumerate() {
            signal.validate(at)?;
        }
        let objective = self.objective.clone();
        let durations: HashMap<&str, f64> = self
            .items
            .iter()
            .map(|e| (e.item.id.as_str(), e.item.duration_s))
            .collect();
        let mut completions: HashMap<String, f64> = HashMap::new();
        let batch = self
            .store
            .add_signals(signals, user, now, |served: &Served, signal: &Signal| {
                let duration = durations.get(served.item.as_str()).copied().unwrap_or(1.0);
                let before = completions.get(&served.id).copied().unwrap_or(served.completion);
                let (reward, after) = reward_of(&objective, signal, duration, before);
                completions.insert(served.id.clone(), after);
                (reward, after)
            })?;
        let mut touched = HashSet::new();
        for taken in &batch.taken {
            let Some(&item) = self.by_id.get(&taken.served.item) else {
                continue;
            };
            let x = self.pair(&taken.served.profile, item);
            self.arm(&taken.served.arm)
                .reward(item as u64, &x, taken.served.examined, taken.reward);
            let features = self.items[item].features.clone();
            let user = self.users.entry(taken.served.user.clone()).or_default();
            if user.profile.is_empty() {
                user.profile = Feed::new_profile();
            }
            if taken.kind == SignalKind::Hide {
                user.hidden.insert(item);
            }
            if taken.reward > 0.0 {
                let rate = PROFILE_RATE * taken.reward.min(1.0);
                for (u, f) in user.profile.iter_mut().zip(&features).skip(1) {
                    *u += rate * (f - *u);
                }
                touched.insert(taken.served.user.clone());
            }
            self.applied.1 = self.applied.1.max(taken.seq);
        }
        for id in touched {
            let user = &self.users[&id];
            self.store.put_user(
                &id,
                &user.profile,
                &serde_json::to_string(&user.steering).unwrap_or_default(),
                now,
            )?;
        }
        self.maybe_snapshot(batch.taken.len() as u64, now)?;
        Ok(SignalsOut {
            accepted: batch.taken.len(),
            duplicates: batch.duplicates,
        })
    }

    fn maybe_snapshot(&mut self, events: u64, now: i64) -> Result<(), FeedError> {
        self.since_snapshot += events;
        if self.since_snapshot >= SNAPSHOT_EVERY {
            self.snapshot(now)?;
        }
        Ok(())
    }

    /// Saves every arm's learned state (also done on drop).
    pub fn snapshot(&mut self, now: i64) -> Result<(), FeedError> {
        let states: Vec<(String, String)> = self
            .arms
            .iter()
            .map(|(arm, policy)| (arm.clone(), serde_json::to_string(policy).unwrap_or_default()))
            .collect();
        self.store
            .save_snapshots(&states, self.applied.0, self.applied.1, now)?;
        self.since_snapshot = 0;
        Ok(())
    }

    /// Per arm: CTR, watch time, completion and skip rate with intervals.
    pub fn report(&self) -> Result<Vec<ArmReport>, FeedError> {
        self.store
            .arms()?
            .iter()
            .map(|arm| Ok(arm_report(arm, &self.store.arm_log(arm)?)))
            .collect()
    }

    /// Counts: items, users, slates, plugin calls and failures.
    pub fn stats(&self) -> Result<serde_json::Value, FeedError> {
        let counters: serde_json::Map<String, serde_json::Value> =
            self.store.counters()?.into_iter().map(|(k, v)| (k, v.into())).collect();
        Ok(serde_json::json!({
            "items": self.items.len(),
            "users": self.users.len(),
            "slates": self.slates_served,
            "arms": self.arms.keys().collect::<Vec<_>>(),
            "counters": counters,
        }))
    }

    /// Every impression with its propensity and reward, one JSON per line.
    pub fn export(&self) -> Result<Vec<serde_json::Value>, FeedError> {
        self.store.export()
    }

    pub fn items(&self) -> impl Iterator<Item = &NewItem> {
        self.items.iter().map(|e| &e.item)
    }

    /// The arm `user` is served by.
    pub fn arm_of(&self, user: &str) -> String {
        self.experiment
            .as_ref()
            .map_or(DEFAULT_ARM, |e| e.assign(user))
            .to_owned()
    }
}

impl Drop for Feed {
    fn drop(&mut self) {
        if self.since_snapshot == 0 {
            return;
        }
        // The store blocks on its own runtime: off any async thread.
        let saved = if tokio::runtime::Handle::try_current().is_ok() {
            std::thread::scope(|scope| scope.spawn(|| self.snapshot(crate::now())).join())
                .unwrap_or_else(|_| Err(FeedError::Store("the snapshot thread panicked".into())))
        } else {
            self.snapshot(crate::now())
        };
        if let Err(e) = saved {
            tracing::warn!("feed: could not save the learned state (it is rebuilt from the logs on open): {e}");
        }
    }
}

/// What a signal earns under `objective`, and the impression's completion
/// after it (`before` is the completion before).
pub fn reward_of(objective: &Objective, signal: &Signal, duration_s: f64, before: f64) -> (f64, f64) {
    let share = |seconds: Option<f64>| (seconds.unwrap_or(0.0) / duration_s).clamp(0.0, 1.0);
    match signal.kind {
        SignalKind::Impression => (0.0, before),
        SignalKind::Watch => {
            let after = before.max(share(signal.seconds));
            (objective.watch_time * (after - before), after)
        }
        SignalKind::Complete => (objective.watch_time * (1.0 - before), 1.0),
        SignalKind::Skip => {
            let after = before.max(share(signal.seconds));
            (-objective.skips * (1.0 - after), after)
        }
        SignalKind::Like => (objective.likes, before),
        SignalKind::Share => (objective.shares, before),
        SignalKind::Tweak => (objective.tweaks, before),
        SignalKind::Hide => (-objective.hides, before),
    }
}
