//! House rules for the feed, as a ranker plugin. Config (all optional):
//!
//! ```json
//! {"boost_creators": {"newsroom": 0.5}, "boost_tags": {"local": 0.2},
//!  "bury_tags": ["clickbait"], "max_per_creator": 2}
//! ```
//!
//! A boost adds to the host's score; a buried tag takes 1.0 off; past
//! `max_per_creator` candidates of one creator (best first), the rest take
//! 1.0 off so a slate is not one channel. Only changed scores are returned.

use std::collections::BTreeMap;

use slate_plugin_sdk::prelude::*;

#[derive(Default)]
struct HouseRules {
    boost_creators: BTreeMap<String, f64>,
    boost_tags: BTreeMap<String, f64>,
    bury_tags: Vec<String>,
    max_per_creator: Option<usize>,
}

const KEYS: &str = "boost_creators, boost_tags, bury_tags, max_per_creator";

fn weights(key: &str, value: &slate_plugin_sdk::json::Value) -> Result<BTreeMap<String, f64>, PluginError> {
    let bad = || {
        PluginError::BadConfig(format!(
            "`{key}` must map names to numbers, e.g. {{\"{key}\": {{\"name\": 0.5}}}}"
        ))
    };
    let object = value.as_object().ok_or_else(bad)?;
    object
        .iter()
        .map(|(name, weight)| {
            weight
                .as_f64()
                .filter(|w| w.is_finite())
                .map(|w| (name.clone(), w))
                .ok_or_else(bad)
        })
        .collect()
}

fn text<'a>(fields: &'a [Field], key: &str) -> Option<&'a str> {
    fields.iter().find(|f| f.key == key).and_then(|f| match &f.value {
        Value::Text(t) => Some(t.as_str()),
        _ => None,
    })
}

fn texts<'a>(fields: &'a [Field], key: &str) -> &'a [String] {
    fields
        .iter()
        .find(|f| f.key == key)
        .and_then(|f| match &f.value {
            Value::TextList(t) => Some(t.as_slice()),
            _ => None,
        })
        .unwrap_or(&[])
}

impl Ranker for HouseRules {
    fn describe() -> Description {
        describe_ranker("house-rules")
            .config_schema(r#"{"boost_creators": "{creator: weight}", "boost_tags": "{tag: weight}", "bury_tags": "[tags]", "max_per_creator": "most items of one creator per slate"}"#)
    }

    fn new(config: &str) -> Result<Self, PluginError> {
        let mut rules = HouseRules::default();
        let config = Config::parse(config, r#"{"bury_tags": ["spoilers"], "max_per_creator": 2}"#)?;
        for (key, value) in config.entries() {
            match key {
                "boost_creators" => rules.boost_creators = weights(key, value)?,
                "boost_tags" => rules.boost_tags = weights(key, value)?,
                "bury_tags" => {
                    rules.bury_tags = value
                        .as_array()
                        .and_then(|a| a.iter().map(|t| t.as_str().map(str::to_owned)).collect())
                        .ok_or_else(|| PluginError::BadConfig("`bury_tags` must be a list of tags".into()))?
                }
                "max_per_creator" => {
                    rules.max_per_creator =
                        Some(value.as_u64().filter(|n| *n > 0).ok_or_else(|| {
                            PluginError::BadConfig("`max_per_creator` must be a positive integer".into())
                        })? as usize)
                }
                other => {
                    return Err(PluginError::BadConfig(format!(
                        "unknown key `{other}`; the keys are {KEYS}"
                    )));
                }
            }
        }
        Ok(rules)
    }

    fn rank(&mut self, _user: &[Field], candidates: &[Candidate]) -> Result<Vec<Ranked>, PluginError> {
        let mut scored: Vec<(usize, f64)> = candidates
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let mut score = c.score;
                if let Some(boost) = text(&c.features, "creator").and_then(|name| self.boost_creators.get(name)) {
                    score += boost;
                }
                for tag in texts(&c.features, "tags") {
                    score += self.boost_tags.get(tag).copied().unwrap_or(0.0);
                    if self.bury_tags.contains(tag) {
                        score -= 1.0;
                    }
                }
                (i, score)
            })
            .collect();
        if let Some(cap) = self.max_per_creator {
            let mut order: Vec<usize> = (0..scored.len()).collect();
            order.sort_by(|&a, &b| scored[b].1.total_cmp(&scored[a].1));
            let mut seen = BTreeMap::<&str, usize>::new();
            for i in order {
                let creator = text(&candidates[i].features, "creator").unwrap_or("");
                let count = seen.entry(creator).or_default();
                *count += 1;
                if *count > cap {
                    scored[i].1 -= 1.0;
                }
            }
        }
        Ok(scored
            .into_iter()
            .filter(|&(i, score)| score != candidates[i].score)
            .map(|(i, score)| Ranked {
                id: candidates[i].id.clone(),
                score,
            })
            .collect())
    }
}

slate_plugin_sdk::export!(ranker: HouseRules);
