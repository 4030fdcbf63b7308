//! The feed on a real SQLite file shared with a real consent registry:
//! guardrails, learning that survives a restart, idempotent signals,
//! experiments, and ranker plugins that fail open.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use slate_consent::{IdentityKey, Registry, Terms};
use slate_feed::rescore::{LuaRanker, WasmRanker};
use slate_feed::rng::Rng;
use slate_feed::*;

const DAY: i64 = 86_400;

struct Fixture {
    dir: tempfile::TempDir,
    path: PathBuf,
    registry: Arc<Registry>,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("slate.sqlite");
    let registry = Arc::new(Registry::open(&path).unwrap());
    Fixture { dir, path, registry }
}

fn item(id: &str, rng: &mut Rng, provenance: Provenance, consent: Consent, grants: &[&str]) -> NewItem {
    NewItem {
        id: id.into(),
        creator: format!("creator-{}", rng.below(5)),
        title: format!("clip {id}"),
        tags: vec![format!("tag-{}", rng.below(4))],
        duration_s: 30.0,
        embedding: (0..16).map(|_| rng.normal() as f32).collect(),
        provenance,
        throttle_rate: None,
        consent,
        grants: grants.iter().map(|g| g.to_string()).collect(),
        published_at: Some(slate_feed::now() - 3600),
    }
}

fn signal(event: &str, impression: &str, kind: SignalKind, seconds: Option<f64>) -> Signal {
    Signal {
        event: event.into(),
        impression: impression.into(),
        kind,
        seconds,
        prompt: None,
    }
}

#[test]
fn rejected_flagged_and_revoked_never_appear_and_throttled_keep_to_their_rate() {
    let f = fixture();
    let now = slate_feed::now();
    let key = IdentityKey::generate().unwrap();
    let ada = f
        .registry
        .register("Ada", key.public(), &[("ada.jpg".into(), vec![1.0, 0.0])])
        .unwrap();
    let terms = Terms {
        grantee: "slate-feed".into(),
        channels: vec!["*".into()],
        uses: vec!["cameo".into()],
        forbidden: vec![],
        valid_from: now - DAY,
        valid_until: now + DAY,
    };
    f.registry.add_grant(&key.grant("ada-cameo", &ada, terms)).unwrap();

    let mut feed = Feed::open(&f.path, f.registry.clone()).unwrap();
    let mut rng = Rng::new(1);
    let mut kinds = BTreeMap::new();
    let mut add = |feed: &mut Feed, kind: &'static str, count: usize, provenance, consent, grants: &[&str]| {
        for i in 0..count {
            let id = format!("{kind}-{i}");
            feed.publish(item(&id, &mut rng, provenance, consent, grants)).unwrap();
            kinds.insert(id, kind);
        }
    };
    add(&mut feed, "trusted", 60, Provenance::Trust, Consent::Clear, &[]);
    add(&mut feed, "labelled", 10, Provenance::Label, Consent::Clear, &[]);
    add(&mut feed, "throttled", 10, Provenance::Throttle, Consent::Clear, &[]);
    add(&mut feed, "rejected", 10, Provenance::Reject, Consent::Clear, &[]);
    add(&mut feed, "flagged", 10, Provenance::Trust, Consent::Flagged, &[]);
    add(
        &mut feed,
        "cameo",
        10,
        Provenance::Trust,
        Consent::Clear,
        &["ada-cameo"],
    );
    add(
        &mut feed,
        "unknown-grant",
        5,
        Provenance::Trust,
        Consent::Clear,
        &["no-such-grant"],
    );
    // Make throttled items look great, so only the rate holds them back.
    let mut objective = feed.objective().clone();
    objective.throttle_rate = 0.1;
    feed.set_objective(objective).unwrap();

    let mut shown: BTreeMap<String, usize> = BTreeMap::new();
    let mut slates = 0;
    let serve = |feed: &mut Feed, round: usize, shown: &mut BTreeMap<String, usize>| {
        let out = feed.rank_at(&format!("user-{}", round % 40), 6, now).unwrap();
        for ranked in &out.items {
            *shown.entry(ranked.item.clone()).or_default() += 1;
            assert!(ranked.propensity > 0.0 && ranked.propensity <= 1.0);
            assert!(!ranked.why.is_empty() && !ranked.terms.is_empty());
        }
        out
    };
    for round in 0..200 {
        let out = serve(&mut feed, round, &mut shown);
        slates += 1;
        // Engage with throttled items whenever they appear.
        let signals: Vec<Signal> = out
            .items
            .iter()
            .filter(|r| r.item.starts_with("throttled"))
            .map(|r| signal(&format!("like-{}", r.impression), &r.impression, SignalKind::Like, None))
            .collect();
        if !signals.is_empty() {
            feed.record(&signals).unwrap();
        }
    }
    let count = |shown: &BTreeMap<String, usize>, kind: &str| -> usize {
        shown
            .iter()
            .filter(|(id, _)| kinds[id.as_str()] == kind)
            .map(|(_, n)| n)
            .sum()
    };
    println!(
        "{:?}",
        ["trusted", "labelled", "throttled", "cameo"].map(|k| (k, count(&shown, k)))
    );
    for kind in ["rejected", "flagged", "unknown-grant"] {
        assert_eq!(count(&shown, kind), 0, "{kind} items were shown");
    }
    assert!(
        count(&shown, "cameo") > 0,
        "cameo items are allowed while the grant is in force"
    );
    assert!(count(&shown, "throttled") > 0);
    for (id, n) in &shown {
        if kinds[id.as_str()] == "throttled" {
            assert!(*n as f64 <= 0.1 * slates as f64, "{id} in {n} of {slates} slates");
        }
    }
    assert_eq!(feed.held_back("rejected-0").unwrap(), Some(Held::Rejected));
    assert_eq!(feed.held_back("flagged-0").unwrap(), Some(Held::ConsentFlagged));

    // Ada revokes: her cameos leave every feed with the next slate.
    f.registry.revoke(&key.revoke("ada-cameo", &ada, now)).unwrap();
    assert_eq!(feed.held_back("cameo-0").unwrap(), Some(Held::GrantNotInForce));
    let mut after = BTreeMap::new();
    for round in 0..60 {
        serve(&mut feed, round, &mut after);
    }
    assert_eq!(count(&after, "cameo"), 0);
    assert!(count(&after, "trusted") > 0);
}

fn catalogue(feed: &mut Feed, n: usize, seed: u64) {
    let mut rng = Rng::new(seed);
    for i in 0..n {
        feed.publish(item(
            &format!("item-{i}"),
            &mut rng,
            Provenance::Trust,
            Consent::Clear,
            &[],
        ))
        .unwrap();
    }
}

#[test]
fn what_the_feed_learned_survives_a_restart_and_signals_count_once() {
    let f = fixture();
    let served;
    let report_before;
    {
        let mut feed = Feed::open(&f.path, f.registry.clone()).unwrap();
        catalogue(&mut feed, 80, 2);
        let out = feed.rank("ada", 5).unwrap();
        served = out.items.clone();
        let first = &out.items[0].impression;
        let batch = [
            signal("e1", first, SignalKind::Impression, None),
            signal("e2", first, SignalKind::Watch, Some(15.0)),
            signal("e3", first, SignalKind::Like, None),
            signal("e2", first, SignalKind::Watch, Some(15.0)),
        ];
        assert_eq!(
            feed.record(&batch).unwrap(),
            SignalsOut {
                accepted: 3,
                duplicates: 1
            }
        );
        // The whole batch again: nothing new.
        assert_eq!(
            feed.record(&batch).unwrap(),
            SignalsOut {
                accepted: 0,
                duplicates: 4
            }
        );
        // A batch with one bad signal is refused whole, naming it.
        let bad = [
            signal("e9", first, SignalKind::Like, None),
            signal("e10", "nope", SignalKind::Like, None),
        ];
        let error = feed.record(&bad).unwrap_err();
        assert_eq!(error.field(), Some("signals[1].impression"), "{error}");
        assert_eq!(
            feed.record(&[signal("e9", first, SignalKind::Like, None)])
                .unwrap()
                .accepted,
            1
        );
        report_before = serde_json::to_value(feed.report().unwrap()).unwrap();
        feed.set_steering(
            "ada",
            Steering {
                less_tags: vec!["tag-1".into()],
                ..Steering::default()
            },
        )
        .unwrap();
    }
    // Reopened: the steering, the counts and the reward model are back.
    let feed = Feed::open(&f.path, f.registry.clone()).unwrap();
    assert_eq!(feed.steering("ada").less_tags, ["tag-1"]);
    assert_eq!(serde_json::to_value(feed.report().unwrap()).unwrap(), report_before);
    let exported = feed.export().unwrap();
    assert_eq!(exported.len(), served.len());
    let first = exported
        .iter()
        .find(|e| e["impression"] == served[0].impression.as_str())
        .unwrap();
    // watch 15 of 30 s (0.5 x 1.0) + two likes (2 x 0.5).
    assert!((first["reward"].as_f64().unwrap() - 1.5).abs() < 1e-9, "{first}");
    assert_eq!(feed.stats().unwrap()["slates"], 1);
}

#[test]
fn the_model_is_the_same_after_a_restart_with_or_without_a_snapshot() {
    let f = fixture();
    let state = |feed: &Feed| {
        let mut policy = feed.policy("default").unwrap().clone();
        let probe: Vec<f64> = (0..64).map(|i| ((i * 7) % 5) as f64 - 2.0).collect();
        (
            policy.model.theta().to_vec(),
            policy.model.width(&probe),
            policy.model.count,
        )
    };
    let before;
    {
        let mut feed = Feed::open(&f.path, f.registry.clone()).unwrap();
        catalogue(&mut feed, 60, 3);
        for round in 0..30 {
            let out = feed.rank(&format!("u{}", round % 3), 4).unwrap();
            let signals: Vec<Signal> = out
                .items
                .iter()
                .filter(|r| r.item.ends_with('7') || r.item.ends_with('3') || r.position == 0)
                .map(|r| {
                    signal(
                        &format!("c-{}", r.impression),
                        &r.impression,
                        SignalKind::Complete,
                        None,
                    )
                })
                .collect();
            if !signals.is_empty() {
                feed.record(&signals).unwrap();
            }
        }
        before = state(&feed);
        assert_eq!(before.2, 120);
        assert!(before.0.iter().any(|t| *t != 0.0));
        // Dropping saves a snapshot.
    }
    let same = |a: &(Vec<f64>, f64, u64), b: &(Vec<f64>, f64, u64)| {
        assert_eq!(a.2, b.2);
        assert!((a.1 - b.1).abs() < 1e-9, "{} vs {}", a.1, b.1);
        for (x, y) in a.0.iter().zip(&b.0) {
            assert!((x - y).abs() < 1e-9, "{x} vs {y}");
        }
    };
    same(&state(&Feed::open(&f.path, f.registry.clone()).unwrap()), &before);
    // Without the snapshot, the logs alone rebuild it.
    let sql = "import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); n = c.execute('DELETE FROM feed_snapshots').rowcount; c.commit(); print(n)";
    let output = std::process::Command::new("python3")
        .args(["-c", sql])
        .arg(&f.path)
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&output.stdout).trim(),
        "1",
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    same(&state(&Feed::open(&f.path, f.registry.clone()).unwrap()), &before);
}

#[test]
fn experiments_split_users_stably_and_report_per_arm() {
    let f = fixture();
    let mut feed = Feed::open(&f.path, f.registry.clone()).unwrap();
    catalogue(&mut feed, 100, 4);
    feed.set_experiment(Some(Experiment {
        name: "bandit-vs-popular".into(),
        arms: vec![
            Arm {
                name: "linucb".into(),
                policy: policy::Kind::Linucb,
                weight: 1.0,
            },
            Arm {
                name: "popular".into(),
                policy: policy::Kind::Popularity,
                weight: 1.0,
            },
        ],
        holdout: 0.2,
    }))
    .unwrap();
    let mut rng = Rng::new(9);
    for round in 0..300 {
        let user = format!("viewer-{}", round % 60);
        let out = feed.rank(&user, 4).unwrap();
        assert_eq!(out.arm, feed.arm_of(&user));
        let signals: Vec<Signal> = out
            .items
            .iter()
            .map(|r| {
                if rng.chance(0.3) {
                    signal(
                        &format!("w-{}", r.impression),
                        &r.impression,
                        SignalKind::Watch,
                        Some(20.0),
                    )
                } else {
                    signal(
                        &format!("s-{}", r.impression),
                        &r.impression,
                        SignalKind::Skip,
                        Some(2.0),
                    )
                }
            })
            .collect();
        feed.record(&signals).unwrap();
    }
    let report = feed.report().unwrap();
    let arms: Vec<&str> = report.iter().map(|r| r.arm.as_str()).collect();
    assert_eq!(arms, ["holdout", "linucb", "popular"]);
    for arm in &report {
        println!("{}", serde_json::to_string(arm).unwrap());
        assert!(arm.ctr.low <= arm.ctr.value && arm.ctr.value <= arm.ctr.high);
        assert!((arm.ctr.value + arm.skip_rate.value - 1.0).abs() < 1e-9);
        assert!(arm.ctr.value > 0.15 && arm.ctr.value < 0.45, "{arm:?}");
        // 20 s watched when engaged, 2 s before a skip.
        assert!(
            (arm.watch_s.value - (2.0 + 18.0 * arm.ctr.value)).abs() < 1e-6,
            "{arm:?}"
        );
    }
    assert_eq!(report.iter().map(|r| r.users).sum::<usize>(), 60);
}

fn plugins() -> PathBuf {
    slate_test_plugins::build(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../../plugins")).unwrap()
}

#[test]
fn ranker_plugins_rescore_within_their_deadline_and_fail_open() {
    let f = fixture();
    let mut feed = Feed::open(&f.path, f.registry.clone()).unwrap();
    catalogue(&mut feed, 40, 5);
    let script = |name: &str, body: &str| {
        let path = f.dir.path().join(name);
        std::fs::write(&path, body).unwrap();
        path
    };
    // An editorial boost in Lua puts item-7 first for everyone.
    let boost = script(
        "boost.lua",
        "function rescore(request)\n  for _, c in ipairs(request.candidates) do\n    if c.id == 'item-7' then return { ['item-7'] = c.score + 10 } end\n  end\nend\n",
    );
    feed.add_rescorer(Box::new(LuaRanker::load(&boost, Duration::from_millis(200)).unwrap()));
    let out = feed.rank("ada", 5).unwrap();
    assert_eq!(out.items[0].item, "item-7");
    assert!(out.items[0].terms.iter().any(|t| t.term == "plugin" && t.value > 9.0));

    // A script that loops, one that errors and one that names an unknown
    // candidate: each fails, the base scores stand, each failure counted.
    let mut feed = Feed::open(&f.path, f.registry.clone()).unwrap();
    for (name, body) in [
        ("spin.lua", "function rescore(request) while true do end end"),
        ("boom.lua", "function rescore(request) error('house rules broke') end"),
        (
            "liar.lua",
            "function rescore(request) return { ['not-a-candidate'] = 1 } end",
        ),
    ] {
        feed.add_rescorer(Box::new(
            LuaRanker::load(&script(name, body), Duration::from_millis(200)).unwrap(),
        ));
    }
    let plain = feed.rank("bo", 5).unwrap();
    assert!(plain.items.iter().all(|r| r.terms.iter().all(|t| t.term != "plugin")));
    let counters = feed.stats().unwrap()["counters"].clone();
    for name in ["spin.lua", "boom.lua", "liar.lua"] {
        assert_eq!(counters[format!("plugin.{name}.failures")], 1, "{counters}");
    }

    // The WASM house rules: bury a tag, boost a creator.
    let wasm = plugins().join("house_rules.wasm");
    let config = r#"{"bury_tags": ["tag-2"], "boost_creators": {"creator-3": 0.5}}"#;
    let mut feed = Feed::open(&f.path, f.registry.clone()).unwrap();
    feed.add_rescorer(Box::new(
        WasmRanker::load(&wasm, config, Duration::from_millis(200)).unwrap(),
    ));
    let out = feed.rank("cy", 5).unwrap();
    let creators: BTreeMap<String, (String, String)> = feed
        .items()
        .map(|i| (i.id.clone(), (i.creator.clone(), i.tags[0].clone())))
        .collect();
    for ranked in &out.items {
        let (creator, tag) = &creators[&ranked.item];
        assert_ne!(tag, "tag-2", "a buried tag was served: {ranked:?}");
        if creator == "creator-3" {
            assert!(
                ranked
                    .terms
                    .iter()
                    .any(|t| t.term == "plugin" && (t.value - 0.5).abs() < 1e-9),
                "{ranked:?}"
            );
        }
    }
    assert!(out.items.iter().any(|r| creators[&r.item].0 == "creator-3"));
    // A plugin of another world is refused when loaded.
    let wrong = WasmRanker::load(&plugins().join("gain.wasm"), "", Duration::from_millis(200))
        .err()
        .unwrap();
    assert!(wrong.contains("ranker"), "{wrong}");
}
