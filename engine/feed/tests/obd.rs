//! Off-policy evaluation on the Open Bandit Dataset sample (obp 0.5.7 on
//! PyPI, fetched and pinned by the setup): the uniform-random policy's
//! value estimated from the Bernoulli-TS logs, recomputed independently
//! (Python's csv module, the formulas written out), and set against the
//! random logs' own click rate.

use std::process::Command;

use slate_feed::ope::{Target, evaluate, obd_rounds, read_obd};

fn dataset(name: &str) -> std::path::PathBuf {
    let (path, _) = slate_onnx::manifest::dataset(name).unwrap();
    assert!(path.exists(), "{} is missing: run `source .ci/setup`", path.display());
    path
}

#[test]
fn uniform_ips_and_snips_from_the_bts_logs_are_the_formulas_and_agree_with_the_random_logs() {
    let bts = dataset("obd-bts-all");
    let random = dataset("obd-random-all");
    let rows = read_obd(&bts).unwrap();
    assert_eq!(rows.len(), 10_000);
    let report = evaluate(&obd_rounds(&rows), Target::Uniform);

    let script = r#"
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
items = len({r["item_id"] for r in rows})
w = [(1.0 / items) / float(r["propensity_score"]) for r in rows]
c = [float(r["click"]) for r in rows]
ips = sum(wi * ci for wi, ci in zip(w, c)) / len(rows)
snips = sum(wi * ci for wi, ci in zip(w, c)) / sum(w)
random = [float(r["click"]) for r in csv.DictReader(open(sys.argv[2]))]
print(repr(ips), repr(snips), repr(sum(random) / len(random)), items)
"#;
    let output = Command::new("python3")
        .args(["-c", script])
        .arg(&bts)
        .arg(&random)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let text = String::from_utf8(output.stdout).unwrap();
    let numbers: Vec<f64> = text.split_whitespace().map(|v| v.parse().unwrap()).collect();
    let (ips, snips, on_policy, items) = (numbers[0], numbers[1], numbers[2], numbers[3]);
    assert_eq!(items, 80.0);
    println!(
        "uniform from BTS logs: IPS {:.6} [{:.6}, {:.6}], SNIPS {:.6}; random logs' CTR {on_policy:.6}",
        report.ips.value, report.ips.low, report.ips.high, report.snips.value
    );
    assert!(
        (report.ips.value - ips).abs() <= 1e-12 * ips.abs().max(1e-9),
        "{} vs {ips}",
        report.ips.value
    );
    assert!(
        (report.snips.value - snips).abs() <= 1e-12 * snips.abs().max(1e-9),
        "{} vs {snips}",
        report.snips.value
    );
    // The random logs' CTR is what the estimates estimate: it lies in
    // their 95% intervals.
    let on_random = read_obd(&random).unwrap();
    let ctr = on_random.iter().map(|r| r.click).sum::<f64>() / on_random.len() as f64;
    assert!((ctr - on_policy).abs() < 1e-15);
    assert!(
        report.ips.low <= ctr && ctr <= report.ips.high,
        "{ctr} outside IPS {:?}",
        report.ips
    );
    assert!(
        report.snips.low <= ctr && ctr <= report.snips.high,
        "{ctr} outside SNIPS {:?}",
        report.snips
    );
    // On the random logs themselves, uniform is on-policy: weights are 1.
    let own = evaluate(&obd_rounds(&on_random), Target::Uniform);
    assert!((own.ips.value - ctr).abs() < 1e-12 && (own.mean_weight - 1.0).abs() < 1e-12);
}

#[test]
fn a_file_that_is_not_in_the_layout_is_refused_naming_the_column_or_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("logs.csv");
    std::fs::write(&path, "item_id,position,click\n1,1,0\n").unwrap();
    let error = read_obd(&path).unwrap_err().to_string();
    assert!(error.contains("propensity_score"), "{error}");
    std::fs::write(&path, "item_id,position,click,propensity_score\n1,1,0,0.5\n2,1,x,0.5\n").unwrap();
    let error = read_obd(&path).unwrap_err().to_string();
    assert!(error.contains("line 3") && error.contains("click"), "{error}");
    std::fs::write(&path, "item_id,position,click,propensity_score\n1,1,0,0\n").unwrap();
    assert!(read_obd(&path).unwrap_err().to_string().contains("propensity_score"));
}
