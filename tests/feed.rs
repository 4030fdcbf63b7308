//! `slate feed` end to end: items published (one embedded by MiniLM
//! through ONNX Runtime), slates, signals, steering, the objective, the
//! experiment report and export; off-policy evaluation on the Open Bandit
//! Dataset with its JSON and PNG; the simulator; and `slate serve`
//! serving the feed with a Lua ranker over HTTP.

use std::path::Path;

use serde_json::{Value, json};
use slate_e2e::*;

/// `slate feed --db feed.sqlite ARGS` in `dir`: exit code, stdout as
/// JSON (null when it is not), stdout and stderr.
fn feed(dir: &Path, args: &[&str]) -> (Option<i32>, Value, String, String) {
    let output = slate_with_data(dir, &dir.join("data"))
        .args(["feed", "--db", "feed.sqlite"])
        .args(args)
        .output()
        .unwrap();
    let (stdout, stderr) = texts(&output);
    assert_no_panic(&stderr, "slate feed");
    (
        output.status.code(),
        serde_json::from_str(&stdout).unwrap_or_default(),
        stdout,
        stderr,
    )
}

fn items() -> Value {
    let mut items: Vec<Value> = (0..12)
        .map(|i| {
            json!({
                "id": format!("clip-{i}"),
                "creator": format!("creator-{}", i % 3),
                "title": format!("clip {i}"),
                "tags": [format!("tag-{}", i % 4)],
                "duration_s": 30,
                "embedding": (0..576).map(|d| (((i * 13 + d * 7) % 17) as f64 - 8.0) / 8.0).collect::<Vec<_>>(),
                "provenance": if i == 11 { "reject" } else { "trust" },
                "consent": "clear",
            })
        })
        .collect();
    // No embedding: the CLI embeds its title and tags with MiniLM (and
    // zeros for the frames of the media it does not have).
    items.push(json!({
        "id": "clip-text",
        "creator": "creator-0",
        "title": "a coffee cup on a wooden table",
        "tags": ["kitchen"],
        "duration_s": 12,
        "provenance": "trust",
        "consent": "clear",
    }));
    Value::Array(items)
}

fn dataset(name: &str) -> String {
    let (path, _) = slate_onnx::manifest::dataset(name).unwrap();
    assert!(path.exists(), "{} is missing: run `source .ci/setup`", path.display());
    path.display().to_string()
}

#[test]
fn publish_rank_signal_steer_report_and_export_from_the_command_line() {
    let scratch = tempfile::tempdir().unwrap();
    let dir = scratch.path();
    std::fs::write(dir.join("items.json"), items().to_string()).unwrap();

    let (code, published, _, stderr) = feed(dir, &["publish", "items.json"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(published["published"].as_array().unwrap().len(), 13);
    // Again: refused, naming the file, the item and the field.
    let (code, _, _, stderr) = feed(dir, &["publish", "items.json"]);
    assert_eq!(code, Some(2));
    assert!(
        stderr.contains("items.json: item 0") && stderr.contains("`id`"),
        "{stderr}"
    );

    let (code, slate, _, stderr) = feed(dir, &["rank", "--user", "ada", "-n", "12"]);
    assert_eq!(code, Some(0), "{stderr}");
    let ranked = slate["items"].as_array().unwrap();
    assert_eq!(ranked.len(), 12, "every item but the rejected one: {slate}");
    assert!(
        ranked.iter().all(|r| r["item"] != "clip-11"),
        "a rejected item was served"
    );
    assert!(ranked.iter().any(|r| r["item"] == "clip-text"));
    let first = ranked[0]["impression"].as_str().unwrap();

    let signals = json!({ "signals": [
        { "event": "w1", "impression": first, "kind": "watch", "seconds": 30.0 },
        { "event": "l1", "impression": first, "kind": "like" },
    ]});
    std::fs::write(dir.join("signals.json"), signals.to_string()).unwrap();
    let (code, taken, _, stderr) = feed(dir, &["signals", "signals.json"]);
    assert_eq!(
        (code, taken),
        (Some(0), json!({ "accepted": 2, "duplicates": 0 })),
        "{stderr}"
    );
    let (_, taken, _, _) = feed(dir, &["signals", "signals.json"]);
    assert_eq!(taken, json!({ "accepted": 0, "duplicates": 2 }));

    let (code, dials, _, stderr) = feed(
        dir,
        &["steer", "--user", "ada", "--less-tag", "tag-0", "--novelty", "-0.5"],
    );
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(
        (dials["less_tags"].clone(), dials["novelty"].clone()),
        (json!(["tag-0"]), json!(-0.5))
    );
    assert_eq!(feed(dir, &["steer", "--user", "ada", "--show"]).1, dials);

    std::fs::write(dir.join("objective.json"), r#"{"likes": 12}"#).unwrap();
    let (code, _, _, stderr) = feed(dir, &["objective", "--set", "objective.json"]);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("likes"), "{stderr}");

    let (code, report, _, stderr) = feed(dir, &["report", "--plot", "report.png"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(report[0]["arm"], "default", "{report}");
    assert!(report[0]["ctr"]["value"].as_f64().unwrap() > 0.0, "{report}");
    let decoder = png::Decoder::new(std::io::BufReader::new(
        std::fs::File::open(dir.join("report.png")).unwrap(),
    ));
    let mut reader = decoder.read_info().unwrap();
    let mut pixels = vec![0; reader.output_buffer_size().unwrap()];
    reader.next_frame(&mut pixels).unwrap();
    // The default arm's bars in its colour.
    assert!(pixels.chunks_exact(3).any(|p| p == [60, 110, 200]), "no bar drawn");
    let (_, stats, _, _) = feed(dir, &["stats"]);
    assert_eq!((stats["items"].as_u64(), stats["slates"].as_u64()), (Some(13), Some(1)));

    let (code, _, _, stderr) = feed(dir, &["export", "--out", "log.jsonl"]);
    assert_eq!(code, Some(0), "{stderr}");
    let lines = json_lines(&dir.join("log.jsonl"));
    assert_eq!(lines.len(), 12);
    let watched = lines.iter().find(|l| l["impression"] == first).unwrap();
    // Watched to the end (1.0) and liked (0.5).
    assert!((watched["reward"].as_f64().unwrap() - 1.5).abs() < 1e-9, "{watched}");
    // The export evaluates too.
    let (code, ope, _, stderr) = feed(dir, &["ope", "--logged", "log.jsonl", "--target", "uniform"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(ope["ips"]["value"].as_f64().is_some(), "{ope}");
}

/// A 2 s test card, `filter` applied.
fn clip(path: &Path, filter: &str) {
    ffmpeg_clip(path, &format!("testsrc2=size=160x90:rate=25:duration=2{filter}"));
}

#[test]
fn items_with_media_are_embedded_from_their_frames_through_onnxinfer() {
    let scratch = tempfile::tempdir().unwrap();
    let dir = scratch.path();
    clip(&dir.join("card.mp4"), "");
    std::fs::copy(dir.join("card.mp4"), dir.join("same.mp4")).unwrap();
    clip(&dir.join("turned.mp4"), ",hue=h=150,vflip");
    // The same words for all three: only their frames tell them apart.
    let item = |id: &str, media: &str| {
        json!({ "id": id, "creator": "c", "title": "test card", "tags": ["card"], "duration_s": 2,
                "provenance": "trust", "consent": "clear", "media": media })
    };
    let items = json!([
        item("card", "card.mp4"),
        item("same", "same.mp4"),
        item("turned", "turned.mp4")
    ]);
    std::fs::write(dir.join("items.json"), items.to_string()).unwrap();
    let (code, _, _, stderr) = feed(dir, &["publish", "items.json"]);
    assert_eq!(code, Some(0), "{stderr}");

    // More like `card`: the clip with the same frames is as like it as it
    // is itself; the turned one less.
    assert_eq!(feed(dir, &["steer", "--user", "ada", "--more-like", "card"]).0, Some(0));
    let (_, slate, _, stderr) = feed(dir, &["rank", "--user", "ada", "-n", "3"]);
    let like = |id: &str| {
        slate["items"]
            .as_array()
            .unwrap_or_else(|| panic!("{stderr}"))
            .iter()
            .find(|r| r["item"] == id)
            .and_then(|r| {
                r["terms"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|t| t["term"] == "more-like-this")
            })
            .map_or(0.0, |t| t["value"].as_f64().unwrap())
    };
    assert!((like("same") - like("card")).abs() < 1e-6, "{slate}");
    assert!(like("turned") < like("same") - 0.01, "{slate}");

    // Media that is not there, or not video, is named with its item.
    std::fs::write(dir.join("notes.txt"), "not a clip").unwrap();
    for (media, said) in [("gone.mp4", "no such file"), ("notes.txt", "cannot read it as video")] {
        std::fs::write(dir.join("bad.json"), json!([item("bad", media)]).to_string()).unwrap();
        let (code, _, _, stderr) = feed(dir, &["publish", "bad.json"]);
        assert_eq!(code, Some(2), "{stderr}");
        assert!(
            stderr.contains("bad.json: item 0") && stderr.contains(media) && stderr.contains(said),
            "{stderr}"
        );
    }
}

#[test]
fn off_policy_evaluation_on_the_open_bandit_dataset_writes_json_and_a_plot() {
    let scratch = tempfile::tempdir().unwrap();
    let dir = scratch.path();
    let bts = dataset("obd-bts-all");
    let (code, report, _, stderr) = feed(
        dir,
        &[
            "ope", "--logged", &bts, "--target", "uniform", "--out", "ope.json", "--plot", "ope.png",
        ],
    );
    assert_eq!(code, Some(0), "{stderr}");
    let written: Value = serde_json::from_str(&std::fs::read_to_string(dir.join("ope.json")).unwrap()).unwrap();
    assert_eq!(written, report);
    for estimator in ["ips", "snips", "dr"] {
        let e = &report[estimator];
        let (low, value, high) = (
            e["low"].as_f64().unwrap(),
            e["value"].as_f64().unwrap(),
            e["high"].as_f64().unwrap(),
        );
        assert!(
            low <= value && value <= high && value > 0.0 && value < 0.05,
            "{estimator}: {e}"
        );
    }
    let decoder = png::Decoder::new(std::io::BufReader::new(
        std::fs::File::open(dir.join("ope.png")).unwrap(),
    ));
    let info = decoder.read_info().unwrap().info().clone();
    assert!(
        info.width >= 400 && info.height >= 200,
        "{}x{}",
        info.width,
        info.height
    );

    let (code, _, _, stderr) = feed(dir, &["ope", "--logged", &bts, "--target", "softmax:-1"]);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("--target"), "{stderr}");
    std::fs::write(dir.join("bad.csv"), "item_id,position,click\n1,1,0\n").unwrap();
    let (code, _, _, stderr) = feed(dir, &["ope", "--logged", "bad.csv"]);
    assert_eq!(code, Some(2));
    assert!(
        stderr.contains("bad.csv") && stderr.contains("propensity_score"),
        "{stderr}"
    );
}

#[test]
fn the_simulator_prints_its_table_steering_and_ope() {
    let scratch = tempfile::tempdir().unwrap();
    let dir = scratch.path();
    let (code, _, stdout, stderr) = feed(
        dir,
        &[
            "simulate",
            "--rounds",
            "3000",
            "--seeds",
            "2",
            "--steering",
            "--ope",
            "--out",
            "sim.json",
        ],
    );
    assert_eq!(code, Some(0), "{stderr}");
    for policy in ["linucb", "thompson", "epsilon-greedy", "popularity", "random"] {
        assert!(stdout.contains(policy), "{policy} missing from:\n{stdout}");
    }
    assert!(stdout.contains("steering:") && stdout.contains("ope "), "{stdout}");
    let report: Value = serde_json::from_str(&std::fs::read_to_string(dir.join("sim.json")).unwrap()).unwrap();
    assert_eq!(report["policies"].as_array().unwrap().len(), 5);
    assert_eq!(report["ope"].as_array().unwrap().len(), 3);
    let (code, _, _, stderr) = feed(dir, &["simulate", "--rounds", "0"]);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("--rounds"), "{stderr}");
}

#[test]
fn slate_serve_serves_the_feed_with_a_lua_ranker() {
    let scratch = tempfile::tempdir().unwrap();
    let dir = scratch.path();
    std::fs::write(dir.join("items.json"), items().to_string()).unwrap();
    assert_eq!(feed(dir, &["publish", "items.json"]).0, Some(0));
    std::fs::write(
        dir.join("editorial.lua"),
        "function rescore(request)\n  return { ['clip-5'] = 100 }\nend\n",
    )
    .unwrap();
    let server = serve(slate_with_data(dir, &dir.join("data")).args([
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--db",
        "feed.sqlite",
        "--ranker",
        "editorial.lua",
    ]));
    let (address, token) = (&server.address, Some(server.token.as_str()));
    let (status, slate) = http(address, "GET", "/v1/feed?user=ada&n=3", token, b"");
    assert_eq!(status, 200, "{slate}");
    // The editorial boost: first, unless the exploration floor's uniform
    // pick took that place; in the slate, with its term, either way.
    let boosted = slate["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["item"] == "clip-5")
        .unwrap_or_else(|| panic!("the boosted clip is missing: {slate}"));
    assert!(
        boosted["terms"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["term"] == "plugin" && t["value"].as_f64().unwrap() > 90.0),
        "{boosted}"
    );
    let impression = boosted["impression"].as_str().unwrap();
    let batch = json!({ "signals": [{ "event": "s1", "impression": impression, "kind": "share" }] }).to_string();
    let (status, taken) = http(address, "POST", "/v1/feed/signals", token, batch.as_bytes());
    assert_eq!((status, taken), (200, json!({ "accepted": 1, "duplicates": 0 })));
    let (status, reply) = http(
        address,
        "POST",
        "/v1/feed/signals",
        token,
        b"{\"signals\": [{\"event\": 1}]}",
    );
    assert_eq!(
        (status, reply["field"].as_str()),
        (400, Some("signals[0].event")),
        "{reply}"
    );
    drop(server);

    let output = slate_with_data(dir, &dir.join("data"))
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--db",
            "feed.sqlite",
            "--ranker",
            "rules.txt",
        ])
        .output()
        .unwrap();
    let (_, stderr) = texts(&output);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr.contains("--ranker") && stderr.contains("rules.txt"), "{stderr}");
}
