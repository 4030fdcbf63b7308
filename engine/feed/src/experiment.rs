//! Experiment metrics per arm: CTR, watch time, completion and skip rate,
//! each with a 95% interval. Impressions of one user are not independent,
//! so intervals come from per-user means (the user is the unit the arms
//! are assigned by).

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;

use crate::error::FeedError;
use crate::ope::Interval;
use crate::store::ArmLog;

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ArmReport {
    pub arm: String,
    pub users: usize,
    pub impressions: usize,
    pub ctr: Interval,
    pub watch_s: Interval,
    pub completion: Interval,
    pub skip_rate: Interval,
}

pub fn arm_report(arm: &str, log: &ArmLog) -> ArmReport {
    let mut per_user: BTreeMap<&str, Vec<&crate::store::ImpressionOutcome>> = BTreeMap::new();
    for outcome in &log.impressions {
        per_user.entry(&outcome.user).or_default().push(outcome);
    }
    let metric = |f: &dyn Fn(&crate::store::ImpressionOutcome) -> f64| {
        let means: Vec<f64> = per_user
            .values()
            .map(|outcomes| outcomes.iter().map(|o| f(o)).sum::<f64>() / outcomes.len() as f64)
            .collect();
        Interval::of(&means)
    };
    ArmReport {
        arm: arm.to_owned(),
        users: per_user.len(),
        impressions: log.impressions.len(),
        ctr: metric(&|o| o.engaged as u8 as f64),
        watch_s: metric(&|o| o.watch_s),
        completion: metric(&|o| o.completion),
        skip_rate: metric(&|o| o.skipped as u8 as f64),
    }
}

/// The arms' metrics as a PNG: a panel per metric, a bar per arm with its
/// 95% interval, the arms in the same colours in every panel.
pub fn plot(path: &Path, reports: &[ArmReport]) -> Result<(), FeedError> {
    draw(reports).save_png(path).map_err(|why| FeedError::file(path, why))
}

/// One colour per arm, in the order they are reported.
const COLOURS: [[u8; 3]; 6] = [
    [60, 110, 200],
    [40, 160, 90],
    [200, 120, 30],
    [150, 70, 170],
    [200, 60, 60],
    [90, 90, 90],
];

fn draw(reports: &[ArmReport]) -> slate_plot::Canvas {
    use slate_plot::{AXIS, Canvas, GRID};
    type Metric = fn(&ArmReport) -> Interval;
    let metrics: [(&str, Metric); 4] = [
        ("CTR", |r| r.ctr),
        ("WATCH S", |r| r.watch_s),
        ("COMPLETION", |r| r.completion),
        ("SKIP RATE", |r| r.skip_rate),
    ];
    let panel = 40 + 50 * reports.len().max(1) as i64;
    let (top, bottom, height) = (40i64, 40i64, 320i64);
    let mut canvas = Canvas::new((panel * 4 + 20) as usize, height as usize);
    for (m, (name, metric)) in metrics.iter().enumerate() {
        let x0 = 10 + m as i64 * panel;
        let most = reports.iter().map(|r| metric(r).high).fold(0.0f64, f64::max).max(1e-6) * 1.15;
        let y_of = |v: f64| top + ((1.0 - (v / most).clamp(0.0, 1.0)) * (height - top - bottom) as f64).round() as i64;
        canvas.line((x0, y_of(0.0)), (x0 + panel - 20, y_of(0.0)), GRID);
        canvas.text(x0, 8, name, AXIS);
        canvas.text(x0, 24, &format!("0..{most:.3}"), AXIS);
        for (a, report) in reports.iter().enumerate() {
            let interval = metric(report);
            let x = x0 + 10 + a as i64 * 50;
            let colour = COLOURS[a % COLOURS.len()];
            canvas.bar(
                x,
                30,
                (y_of(0.0), y_of(interval.value)),
                (y_of(interval.low), y_of(interval.high)),
                colour,
            );
            canvas.text(
                x,
                y_of(0.0) + 8,
                &report.arm.chars().take(5).collect::<String>(),
                colour,
            );
        }
    }
    canvas
}

#[cfg(test)]
mod tests {
    use super::*;

    fn arm(name: &str, ctr: f64) -> ArmReport {
        let interval = |value: f64| Interval {
            value,
            low: value * 0.8,
            high: value * 1.2,
        };
        ArmReport {
            arm: name.into(),
            users: 10,
            impressions: 100,
            ctr: interval(ctr),
            watch_s: interval(10.0),
            completion: interval(0.5),
            skip_rate: interval(0.1),
        }
    }

    #[test]
    fn each_arm_is_a_bar_as_tall_as_its_value_in_every_panel() {
        let canvas = draw(&[arm("a", 0.2), arm("b", 0.4)]);
        let panel = 40 + 50 * 2;
        // Pixels of each arm's colour in a panel: its bar and its label.
        let count = |m: usize, colour| {
            (m * panel..(m + 1) * panel)
                .flat_map(|x| (0..canvas.height).map(move |y| (x, y)))
                .filter(|&(x, y)| x < canvas.width && canvas.get(x, y) == colour)
                .count()
        };
        let (a, b) = (count(0, COLOURS[0]), count(0, COLOURS[1]));
        assert!(a > 0 && b > 0, "{a} {b}");
        // Twice the CTR, about twice the bar (the labels are alike).
        assert!(b as f64 > 1.6 * a as f64 && (b as f64) < 2.4 * a as f64, "{a} {b}");
        // Equal watch times: equal bars.
        let (a, b) = (count(1, COLOURS[0]), count(1, COLOURS[1]));
        assert!(a.abs_diff(b) * 20 < a, "{a} {b}");
    }
}
