//! Off-policy evaluation: what a target policy would have earned, from
//! logs of another. Inverse propensity scoring (IPS), its self-normalised
//! form (SNIPS) and the doubly robust estimator (DR; Dudik, Langford & Li
//! 2011), each with a 95% interval. Logs are rounds: the candidates' reward
//! model predictions, which one was shown, with what propensity, what it
//! earned — read from the Open Bandit Dataset's CSV layout or from the
//! simulator's logs.

use std::path::Path;

use serde::Serialize;

use crate::error::FeedError;
use crate::linear::Ridge;
use crate::sim::{Logged, softmax};

/// One logged decision.
#[derive(Debug, Clone, PartialEq)]
pub struct Round {
    /// The reward model's prediction for every candidate.
    pub q: Vec<f64>,
    pub chosen: usize,
    pub propensity: f64,
    pub reward: f64,
    /// The true expected reward of every candidate, when known (simulation).
    pub truth: Option<Vec<f64>>,
}

/// A policy to evaluate, defined over the rounds' reward model.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Target {
    /// Every candidate alike.
    Uniform,
    /// The reward model's best, always.
    Greedy,
    /// Softmax of the reward model at a temperature.
    Softmax(f64),
}

impl Target {
    pub fn parse(text: &str) -> Result<Target, FeedError> {
        let bad = || {
            FeedError::invalid(
                "target",
                format!("`{text}`: give uniform, greedy or softmax:TEMPERATURE (e.g. softmax:0.05)"),
            )
        };
        match text {
            "uniform" | "random" => Ok(Target::Uniform),
            "greedy" => Ok(Target::Greedy),
            _ => {
                let t: f64 = text
                    .strip_prefix("softmax:")
                    .ok_or_else(bad)?
                    .parse()
                    .map_err(|_| bad())?;
                if t.is_finite() && t > 0.0 {
                    Ok(Target::Softmax(t))
                } else {
                    Err(bad())
                }
            }
        }
    }

    pub fn name(&self) -> String {
        match self {
            Target::Uniform => "uniform".into(),
            Target::Greedy => "greedy".into(),
            Target::Softmax(t) => format!("softmax:{t}"),
        }
    }

    /// π(a | round) for every candidate.
    pub fn probabilities(&self, q: &[f64]) -> Vec<f64> {
        match self {
            Target::Uniform => vec![1.0 / q.len() as f64; q.len()],
            Target::Greedy => {
                let best = q
                    .iter()
                    .enumerate()
                    .max_by(|a, b| a.1.total_cmp(b.1))
                    .map_or(0, |(i, _)| i);
                (0..q.len()).map(|i| (i == best) as u8 as f64).collect()
            }
            Target::Softmax(t) => softmax(q, *t),
        }
    }
}

/// A value with its 95% interval (normal approximation).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Interval {
    pub value: f64,
    pub low: f64,
    pub high: f64,
}

impl Interval {
    pub fn of(values: &[f64]) -> Interval {
        let n = values.len().max(1) as f64;
        let mean = values.iter().sum::<f64>() / n;
        let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0).max(1.0);
        let half = 1.96 * (var / n).sqrt();
        Interval {
            value: mean,
            low: mean - half,
            high: mean + half,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub target: String,
    pub rounds: usize,
    /// The logging policy's own mean reward.
    pub logged: Interval,
    pub ips: Interval,
    pub snips: Interval,
    pub dr: Interval,
    /// The target's true value, when the logs know it.
    pub truth: Option<f64>,
    /// Mean importance weight (1 when propensities are right).
    pub mean_weight: f64,
}

/// Evaluates `target` on `rounds`.
pub fn evaluate(rounds: &[Round], target: Target) -> Report {
    let n = rounds.len();
    let mut ips = Vec::with_capacity(n);
    let mut dr = Vec::with_capacity(n);
    let mut weights = Vec::with_capacity(n);
    let mut truth = Some(0.0);
    for round in rounds {
        let pi = target.probabilities(&round.q);
        let w = pi[round.chosen] / round.propensity;
        let direct: f64 = pi.iter().zip(&round.q).map(|(p, q)| p * q).sum();
        ips.push(w * round.reward);
        dr.push(direct + w * (round.reward - round.q[round.chosen]));
        weights.push(w);
        truth = match (truth, &round.truth) {
            (Some(t), Some(values)) => Some(t + pi.iter().zip(values).map(|(p, v)| p * v).sum::<f64>()),
            _ => None,
        };
    }
    let total_weight: f64 = weights.iter().sum();
    let snips_value = ips.iter().sum::<f64>() / total_weight;
    // The delta method's interval for a ratio of means.
    let snips_terms: Vec<f64> = ips
        .iter()
        .zip(&weights)
        .map(|(wr, w)| snips_value + (wr - snips_value * w) * n as f64 / total_weight)
        .collect();
    let rewards: Vec<f64> = rounds.iter().map(|r| r.reward).collect();
    Report {
        target: target.name(),
        rounds: n,
        logged: Interval::of(&rewards),
        ips: Interval::of(&ips),
        snips: Interval {
            value: snips_value,
            ..Interval::of(&snips_terms)
        },
        dr: Interval::of(&dr),
        truth: truth.map(|t| t / n.max(1) as f64),
        mean_weight: total_weight / n.max(1) as f64,
    }
}

/// The simulator's logs as rounds, with a ridge reward model fitted on them.
pub fn sim_rounds(logged: &Logged) -> Vec<Round> {
    let dim = logged.rounds.first().map_or(1, |r| r.xs[0].len());
    let mut model = Ridge::new(dim, 1.0);
    for round in &logged.rounds {
        model.update(&round.xs[round.chosen], round.reward);
    }
    logged
        .rounds
        .iter()
        .map(|round| Round {
            q: round.xs.iter().map(|x| model.mean(x)).collect(),
            chosen: round.chosen,
            propensity: round.propensity,
            reward: round.reward,
            truth: Some(round.truth.clone()),
        })
        .collect()
}

/// A row of the Open Bandit Dataset (`obd/{random,bts}/all/all.csv`).
#[derive(Debug, Clone, PartialEq)]
pub struct ObdRow {
    pub item: usize,
    pub position: usize,
    pub click: f64,
    pub propensity: f64,
}

/// Reads the Open Bandit Dataset's CSV layout: a header naming at least
/// `item_id`, `position`, `click` and `propensity_score` (user features and
/// affinities may follow; they are not needed here).
pub fn read_obd(path: &Path) -> Result<Vec<ObdRow>, FeedError> {
    let text = std::fs::read_to_string(path).map_err(|e| FeedError::file(path, e.to_string()))?;
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap_or_default().split(',').collect();
    let column = |name: &str| {
        header.iter().position(|h| h.trim() == name).ok_or_else(|| {
            FeedError::file(
                path,
                format!(
                    "no `{name}` column; the Open Bandit Dataset layout has item_id, position, click, propensity_score"
                ),
            )
        })
    };
    let (item, position, click, propensity) = (
        column("item_id")?,
        column("position")?,
        column("click")?,
        column("propensity_score")?,
    );
    let mut rows = Vec::new();
    for (number, line) in lines.enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let cells: Vec<&str> = line.split(',').collect();
        let at = |i: usize, what: &str| -> Result<f64, FeedError> {
            let cell = cells.get(i).copied().unwrap_or_default();
            cell.trim()
                .parse::<f64>()
                .map_err(|_| FeedError::file(path, format!("line {}: `{what}` is {cell:?}, not a number", number + 2)))
        };
        let row = ObdRow {
            item: at(item, "item_id")? as usize,
            position: at(position, "position")? as usize,
            click: at(click, "click")?,
            propensity: at(propensity, "propensity_score")?,
        };
        if !(row.propensity > 0.0 && row.propensity <= 1.0) {
            return Err(FeedError::file(
                path,
                format!(
                    "line {}: propensity_score {} is not in (0, 1]",
                    number + 2,
                    row.propensity
                ),
            ));
        }
        rows.push(row);
    }
    if rows.is_empty() {
        return Err(FeedError::file(path, "no rows"));
    }
    Ok(rows)
}

/// Open Bandit rows as rounds over all the campaign's items at the row's
/// position; the reward model is the smoothed click rate of each item at
/// each position (a ridge fit on one-hot features).
pub fn obd_rounds(rows: &[ObdRow]) -> Vec<Round> {
    let items = rows.iter().map(|r| r.item).max().unwrap_or(0) + 1;
    let positions = rows.iter().map(|r| r.position).max().unwrap_or(0) + 1;
    let mut clicks = vec![0.0; items * positions];
    let mut shown = vec![0.0; items * positions];
    for row in rows {
        clicks[row.position * items + row.item] += row.click;
        shown[row.position * items + row.item] += 1.0;
    }
    let q: Vec<f64> = clicks.iter().zip(&shown).map(|(c, n)| c / (n + 1.0)).collect();
    rows.iter()
        .map(|row| Round {
            q: q[row.position * items..(row.position + 1) * items].to_vec(),
            chosen: row.item,
            propensity: row.propensity,
            reward: row.click,
            truth: None,
        })
        .collect()
}

/// Draws the report: each estimate with its interval, the logging policy's
/// value and the truth (when known) as lines.
pub fn plot(path: &Path, reports: &[Report]) -> Result<(), FeedError> {
    use slate_plot::{AXIS, Canvas, GRID};
    let (width, height, left, top, bottom) = (220 + 260 * reports.len(), 360usize, 70i64, 30i64, 60i64);
    let mut canvas = Canvas::new(width, height);
    let values = reports.iter().flat_map(|r| {
        [
            r.ips.high,
            r.snips.high,
            r.dr.high,
            r.logged.value,
            r.truth.unwrap_or(0.0),
        ]
    });
    let top_value = values.fold(0.0f64, f64::max).max(1e-6) * 1.15;
    let plot_height = (height as i64 - top - bottom) as f64;
    let y_of = |v: f64| top + ((1.0 - (v / top_value).clamp(0.0, 1.0)) * plot_height).round() as i64;
    for step in 0..=4 {
        let v = top_value * step as f64 / 4.0;
        canvas.line((left, y_of(v)), (width as i64 - 10, y_of(v)), GRID);
        canvas.text(4, y_of(v) - 4, &format!("{v:.4}"), AXIS);
    }
    const COLOURS: [[u8; 3]; 3] = [[60, 110, 200], [40, 160, 90], [200, 120, 30]];
    for (r, report) in reports.iter().enumerate() {
        let x0 = left + 30 + r as i64 * 260;
        for (e, (name, interval)) in [("IPS", report.ips), ("SNIPS", report.snips), ("DR", report.dr)]
            .into_iter()
            .enumerate()
        {
            let x = x0 + e as i64 * 60;
            canvas.bar(
                x,
                36,
                (y_of(0.0), y_of(interval.value)),
                (y_of(interval.low), y_of(interval.high)),
                COLOURS[e],
            );
            canvas.text(x, y_of(0.0) + 8, name, AXIS);
        }
        let span = (x0 - 10, x0 + 190);
        for x in (span.0..span.1).step_by(8) {
            canvas.line(
                (x, y_of(report.logged.value)),
                (x + 4, y_of(report.logged.value)),
                [120, 120, 120],
            );
        }
        if let Some(truth) = report.truth {
            canvas.line((span.0, y_of(truth)), (span.1, y_of(truth)), [210, 40, 40]);
        }
        canvas.text(x0, y_of(0.0) + 30, &report.target, AXIS);
    }
    canvas.text(left, 8, "OFF-POLICY ESTIMATES (DASHED: LOGGED, RED: TRUE)", AXIS);
    canvas.save_png(path).map_err(|why| FeedError::file(path, why))
}

/// Evaluates `target` on the impressions logged in `logged`: the Open
/// Bandit Dataset's CSV layout, or `slate feed export` lines (there only
/// `uniform`, over the candidates left at each position: the lines carry
/// no candidate features). Errors name the file and line.
pub fn evaluate_logged(logged: &Path, target: Target) -> Result<Report, FeedError> {
    if logged.extension().is_some_and(|e| e == "csv") {
        return Ok(evaluate(&obd_rounds(&read_obd(logged)?), target));
    }
    if target != Target::Uniform {
        return Err(FeedError::invalid(
            "target",
            format!(
                "{}: slate feed export logs carry no candidate features; evaluate `uniform` on them, or use the Open Bandit CSV layout",
                target.name()
            ),
        ));
    }
    let text = std::fs::read_to_string(logged).map_err(|e| FeedError::file(logged, e.to_string()))?;
    let rounds = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(n, line)| export_round(line).map_err(|why| FeedError::file(logged, format!("line {}: {why}", n + 1))))
        .collect::<Result<Vec<Round>, FeedError>>()?;
    if rounds.is_empty() {
        return Err(FeedError::file(logged, "no logged impressions"));
    }
    Ok(evaluate(&rounds, target))
}

/// One `slate feed export` line as a round of uniform choice over the
/// candidates left at its position.
fn export_round(line: &str) -> Result<Round, String> {
    let row: serde_json::Value = serde_json::from_str(line).map_err(|e| e.to_string())?;
    let field = |name: &str| {
        row[name]
            .as_f64()
            .ok_or_else(|| format!("`{name}` is missing or not a number"))
    };
    let left = (field("candidates")? - field("position")?).max(1.0) as usize;
    let propensity = field("propensity")?;
    if !(propensity > 0.0 && propensity <= 1.0) {
        return Err(format!("`propensity` {propensity} is not in (0, 1]"));
    }
    Ok(Round {
        q: vec![0.0; left],
        chosen: 0,
        propensity,
        reward: field("reward")?,
        truth: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn logged(lines: &str) -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("export.jsonl");
        std::fs::write(&path, lines).unwrap();
        (dir, path)
    }

    #[test]
    fn export_lines_are_evaluated_as_uniform_over_the_candidates_left() {
        // Position 0 of 4 candidates at propensity 0.5 earning 1: the
        // uniform target picks it with 1/4, so IPS weighs it 0.5; position 3
        // of 4 (one left) at propensity 1 earning 0 weighs 1.
        let (_dir, path) = logged(
            r#"{"candidates": 4, "position": 0, "propensity": 0.5, "reward": 1.0}

{"candidates": 4, "position": 3, "propensity": 1.0, "reward": 0.0}
"#,
        );
        let report = evaluate_logged(&path, Target::Uniform).unwrap();
        assert_eq!(report.rounds, 2);
        assert!((report.ips.value - 0.25).abs() < 1e-12, "{report:?}");
        assert!((report.mean_weight - 0.75).abs() < 1e-12, "{report:?}");
    }

    #[test]
    fn a_bad_line_is_named() {
        let (_dir, path) =
            logged("{\"candidates\": 4, \"position\": 0, \"propensity\": 0.5, \"reward\": 1}\n{\"candidates\": 4}\n");
        let error = evaluate_logged(&path, Target::Uniform).unwrap_err().to_string();
        assert!(
            error.ends_with("line 2: `position` is missing or not a number"),
            "{error}"
        );
        let (_dir, path) = logged("{\"candidates\": 2, \"position\": 0, \"propensity\": 0, \"reward\": 1}\n");
        let error = evaluate_logged(&path, Target::Uniform).unwrap_err().to_string();
        assert!(error.contains("line 1: `propensity` 0 is not in (0, 1]"), "{error}");
        let error = evaluate_logged(&path, Target::Greedy).unwrap_err();
        assert_eq!(error.field(), Some("target"));
        let (_dir, path) = logged("\n");
        assert!(
            evaluate_logged(&path, Target::Uniform)
                .unwrap_err()
                .to_string()
                .ends_with("no logged impressions")
        );
    }
}
