//! The acceptance runs of the simulator: regret over 100k rounds and 5
//! seeds, steering, and off-policy evaluation where the truth is known.

use slate_feed::ope::{Target, evaluate, sim_rounds};
use slate_feed::policy::{Kind, Params};
use slate_feed::sim::{Config, compare, ope_logs, steering, table};

const SEEDS: [u64; 5] = [11, 12, 13, 14, 15];

#[test]
fn bandits_beat_epsilon_greedy_popularity_and_random_over_100k_rounds() {
    let config = Config::default();
    assert_eq!(config.rounds, 100_000);
    let lines = compare(&config, &Params::default(), &SEEDS, &Kind::ALL);
    println!("{}", table(&lines, &config, SEEDS.len()));
    let line = |kind: Kind| lines.iter().find(|l| l.policy == kind).unwrap();
    for learner in [Kind::Linucb, Kind::Thompson] {
        for baseline in [Kind::EpsilonGreedy, Kind::Popularity, Kind::Random] {
            let (a, b) = (line(learner).regret, line(baseline).regret);
            assert!(
                a.high() < b.low(),
                "{} regret {:.1}..{:.1} overlaps {} {:.1}..{:.1}",
                learner.name(),
                a.low(),
                a.high(),
                baseline.name(),
                b.low(),
                b.high()
            );
        }
    }
    // Engagement follows: the learners engage more than both baselines.
    assert!(line(Kind::Linucb).ctr.mean > line(Kind::Popularity).ctr.mean * 1.3);
    assert!(line(Kind::Popularity).ctr.mean > line(Kind::Random).ctr.mean);
}

#[test]
fn less_of_a_tag_at_least_halves_its_share_of_the_next_20_slates() {
    let config = Config::default();
    for kind in [Kind::Linucb, Kind::Thompson] {
        let steered = steering(&config, kind, &Params::default(), 21, 20_000, 20, 20);
        for user in &steered {
            println!(
                "{} user {}: less of {}: share {:.3} -> {:.3}",
                kind.name(),
                user.user,
                user.tag,
                user.share_before,
                user.share_after
            );
            assert!(user.share_before > 0.0);
            assert!(
                user.share_after <= user.share_before / 2.0,
                "{} user {} asked for less of {}: {:.3} -> {:.3}",
                kind.name(),
                user.user,
                user.tag,
                user.share_before,
                user.share_after
            );
        }
    }
}

#[test]
fn ips_snips_and_dr_land_within_5_percent_of_the_true_values() {
    let config = Config::default();
    let (logged, _) = ope_logs(&config, 31, 20_000, 100_000, 0.05);
    let rounds = sim_rounds(&logged);
    for target in [Target::Uniform, Target::Greedy, Target::Softmax(0.02)] {
        let report = evaluate(&rounds, target);
        let truth = report.truth.unwrap();
        println!(
            "{:<14} truth {:.4}  IPS {:.4}  SNIPS {:.4}  DR {:.4}  (logged {:.4}, mean weight {:.3})",
            report.target,
            truth,
            report.ips.value,
            report.snips.value,
            report.dr.value,
            report.logged.value,
            report.mean_weight
        );
        for (name, value) in [
            ("IPS", report.ips.value),
            ("SNIPS", report.snips.value),
            ("DR", report.dr.value),
        ] {
            let error = (value - truth).abs() / truth;
            assert!(
                error <= 0.05,
                "{name} of {}: {value:.4} vs true {truth:.4} ({:.1}%)",
                report.target,
                error * 100.0
            );
        }
    }
}
