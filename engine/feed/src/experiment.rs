//! Experiment metrics per arm: CTR, watch time, completion and skip rate,
//! each with a 95% interval. Impressions of one user are not independent,
//! so intervals come from per-user means (the user is the unit the arms
//! are assigned by).

use std::collections::BTreeMap;

use serde::Serialize;

use crate::ope::Interval;
use crate::store::ArmLog;

#[derive(Debug, Clone, Serialize)]
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
