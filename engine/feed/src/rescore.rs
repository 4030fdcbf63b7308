//! Ranker plugins: a WASM component of the `ranker` world, or a Lua
//! script's `rescore(request)`, re-scores the shortlist (house
//! rules, editorial boosts) within a deadline. Whatever goes wrong — a
//! trap, a timeout, an error, an answer that is not one score per known
//! candidate — the base scores stand (fail-open) and the failure is
//! counted.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;

/// A candidate as a plugin sees it.
#[derive(Debug, Clone, Serialize)]
pub struct Offer {
    pub id: String,
    pub score: f64,
    pub creator: String,
    pub tags: Vec<String>,
    pub duration_s: f64,
    pub provenance: String,
    pub age_h: f64,
}

/// The user a slate is for.
#[derive(Debug, Clone, Serialize)]
pub struct Viewer {
    pub id: String,
    pub arm: String,
    pub follows: Vec<String>,
    pub less_tags: Vec<String>,
}

pub trait Rescorer: Send {
    fn name(&self) -> &str;
    /// New scores by candidate id; ids left out keep their score.
    fn rescore(&mut self, viewer: &Viewer, offers: &[Offer]) -> Result<HashMap<String, f64>, String>;
}

/// Checks a plugin's answer: known ids, finite scores.
fn checked(offers: &[Offer], scores: Vec<(String, f64)>) -> Result<HashMap<String, f64>, String> {
    let mut out = HashMap::with_capacity(scores.len());
    for (id, score) in scores {
        if !score.is_finite() {
            return Err(format!("score {score} for `{id}` is not finite"));
        }
        if !offers.iter().any(|o| o.id == id) {
            return Err(format!("`{id}` is not one of the candidates"));
        }
        out.insert(id, score);
    }
    Ok(out)
}

/// A WASM plugin of the `ranker` world.
pub struct WasmRanker {
    name: String,
    stage: slate_wasm::Stage,
}

impl WasmRanker {
    pub fn load(path: &Path, config: &str, deadline: Duration) -> Result<WasmRanker, String> {
        let plugin: Arc<slate_wasm::Plugin> = slate_wasm::Host::global()
            .map_err(|e| e.to_string())?
            .load(path)
            .map_err(|e| e.to_string())?;
        if plugin.description.world != slate_wasm::World::Ranker {
            return Err(format!(
                "{}: implements the {} world; a feed ranker implements `ranker`",
                path.display(),
                plugin.description.world.name()
            ));
        }
        let limits = slate_wasm::Limits {
            deadline,
            ..slate_wasm::Limits::default()
        };
        let stage = slate_wasm::Stage::new(plugin, config, limits).map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(WasmRanker {
            name: path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            stage,
        })
    }
}

impl Rescorer for WasmRanker {
    fn name(&self) -> &str {
        &self.name
    }

    fn rescore(&mut self, viewer: &Viewer, offers: &[Offer]) -> Result<HashMap<String, f64>, String> {
        use slate_wasm::{RankField, RankValue as V};
        let field = |key: &str, value: V| RankField {
            key: key.to_owned(),
            value,
        };
        let user = vec![
            field("id", V::Text(viewer.id.clone())),
            field("arm", V::Text(viewer.arm.clone())),
            field("follows", V::TextList(viewer.follows.clone())),
            field("less-tags", V::TextList(viewer.less_tags.clone())),
        ];
        let candidates = offers
            .iter()
            .map(|o| slate_wasm::RankCandidate {
                id: o.id.clone(),
                score: o.score,
                features: vec![
                    field("creator", V::Text(o.creator.clone())),
                    field("tags", V::TextList(o.tags.clone())),
                    field("duration-s", V::Float(o.duration_s)),
                    field("provenance", V::Text(o.provenance.clone())),
                    field("age-h", V::Float(o.age_h)),
                ],
            })
            .collect();
        let ranked = self.stage.rank(user, candidates).map_err(|e| e.to_string())?;
        checked(offers, ranked.into_iter().map(|r| (r.id, r.score)).collect())
    }
}

/// A Lua script with `function rescore(request)` — `request.user` and
/// `request.candidates` — returning a table of id = score (or nil to
/// change nothing).
pub struct LuaRanker {
    name: String,
    script: slate_lua::Script,
    deadline: Duration,
}

impl LuaRanker {
    pub fn load(path: &Path, deadline: Duration) -> Result<LuaRanker, String> {
        let limits = slate_lua::Limits {
            instructions: 2_000_000,
            ..slate_lua::Limits::default()
        };
        let script = slate_lua::Script::load(path, limits).map_err(|e| e.to_string())?;
        if !script.has("rescore") {
            return Err(format!("{}: defines no `rescore(request)` function", path.display()));
        }
        Ok(LuaRanker {
            name: path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            script,
            deadline,
        })
    }
}

impl Rescorer for LuaRanker {
    fn name(&self) -> &str {
        &self.name
    }

    fn rescore(&mut self, viewer: &Viewer, offers: &[Offer]) -> Result<HashMap<String, f64>, String> {
        let argument = serde_json::json!({ "user": viewer, "candidates": offers });
        let started = Instant::now();
        let answer = self.script.call_json("rescore", &argument).map_err(|e| e.to_string())?;
        if started.elapsed() > self.deadline {
            return Err(format!(
                "took {:?}, over its deadline of {:?}",
                started.elapsed(),
                self.deadline
            ));
        }
        let Some(answer) = answer else {
            return Ok(HashMap::new());
        };
        let object = answer
            .as_object()
            .ok_or_else(|| format!("returned {answer}; return a table of candidate id = score"))?;
        let scores = object
            .iter()
            .map(|(id, score)| {
                score
                    .as_f64()
                    .map(|s| (id.clone(), s))
                    .ok_or_else(|| format!("the score of `{id}` is {score}, not a number"))
            })
            .collect::<Result<Vec<_>, String>>()?;
        checked(offers, scores)
    }
}
