//! Timelines against OpenTimelineIO itself (Python's, from PyPI, not
//! ours): what Slate writes, OTIO reads with the same clip ranges,
//! transitions and placement; what OTIO writes, Slate reads, and writes
//! back to a document OTIO sees as the same edit.

use std::path::Path;
use std::process::Command;

use serde_json::{Value, json};
use slate_e2e::{assert_no_panic, slate, test_python, texts};
use slate_edit::{Clip, Effect, Item, Kind, Range, Rate, Stem, Time, Timeline, Track, Transition, Wipe};

/// What `tests/edit/otio_judge.py COMMAND FILE` prints.
fn judge(command: &str, file: &Path) -> Value {
    let output = Command::new(test_python())
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("edit/otio_judge.py"))
        .args([command, file.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "otio_judge.py {command}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

fn frames(start: i64, duration: i64, rate: u32) -> Range {
    Range::new(
        Time::new(start, Rate::whole(rate)),
        Time::new(duration, Rate::whole(rate)),
    )
}

fn rational(value: i64, rate: u32) -> Value {
    json!({ "value": value as f64, "rate": f64::from(rate) })
}

#[test]
fn opentimelineio_reads_what_slate_writes_with_the_same_ranges_and_transitions() {
    let dir = tempfile::tempdir().unwrap();
    let mut a = Clip::new("a", "media/a.mp4", frames(0, 60, 30));
    a.effects.push(Effect::Element {
        name: "grade".into(),
        description: "videobalance saturation=0".into(),
    });
    let mut b = Clip::new("b", "media/b.mp4", frames(15, 45, 30));
    b.available = Some(frames(0, 300, 30));
    let ntsc = Rate::new(30000, 1001).unwrap();
    let mut video = Track::new("V1", Kind::Video);
    video.items = vec![
        Item::Clip(a),
        Item::Transition(Transition {
            name: "dissolve".into(),
            wipe: None,
            in_offset: Time::new(10, Rate::whole(30)),
            out_offset: Time::new(10, Rate::whole(30)),
        }),
        Item::Clip(b),
        Item::Transition(Transition {
            name: "wipe".into(),
            wipe: Some(Wipe("bar-wipe-lr".into())),
            in_offset: Time::new(5, Rate::whole(30)),
            out_offset: Time::new(0, Rate::whole(30)),
        }),
        Item::Clip(Clip::new("c", "media/c.mp4", frames(30, 30, 30))),
        Item::Gap(Time::new(15, Rate::whole(30))),
        Item::Clip(Clip::new(
            "d",
            "media/d.mp4",
            Range::new(Time::new(0, ntsc), Time::new(30, ntsc)),
        )),
    ];
    let mut music = Track::new("music", Kind::Audio(Some(Stem::Music)));
    music
        .items
        .push(Item::Clip(Clip::new("bed", "media/bed.wav", frames(0, 96_000, 48_000))));
    let mut timeline = Timeline::new("cut");
    timeline.tracks = vec![video, music];
    let file = dir.path().join("cut.otio");
    std::fs::write(&file, slate_edit::to_otio(&timeline)).unwrap();

    let seen = judge("describe", &file);
    assert_eq!(seen["name"], "cut");
    let video = &seen["tracks"][0];
    assert_eq!(
        (video["name"].as_str(), video["kind"].as_str()),
        (Some("V1"), Some("Video"))
    );
    let children = video["children"].as_array().unwrap();
    let clip = |i: usize, name: &str, start: i64, duration: i64, placed: i64| {
        let c = &children[i];
        assert_eq!(c["name"], name, "{c}");
        assert_eq!(c["start"], rational(start, 30), "{c}");
        assert_eq!(c["duration"], rational(duration, 30), "{c}");
        assert_eq!(c["placed"], rational(placed, 30), "{c}");
    };
    clip(0, "a", 0, 60, 0);
    clip(2, "b", 15, 45, 60);
    clip(4, "c", 30, 30, 105);
    assert_eq!(children[0]["effects"], json!(["slate.element"]));
    assert_eq!(children[5]["schema"], "Gap");
    assert_eq!(children[5]["placed"], rational(135, 30));
    let transition = |i: usize, kind: &str, into: i64, out: i64| {
        let t = &children[i];
        assert_eq!(
            (&t["schema"], &t["type"], &t["in"], &t["out"]),
            (
                &json!("Transition"),
                &json!(kind),
                &rational(into, 30),
                &rational(out, 30)
            ),
            "{t}"
        );
    };
    transition(1, "SMPTE_Dissolve", 10, 10);
    transition(3, "Custom_Transition", 5, 0);
    // The NTSC clip keeps its rate (30000/1001 as OTIO's float).
    assert!((children[6]["duration"]["rate"].as_f64().unwrap() - 30000.0 / 1001.0).abs() < 1e-9);
    let audio = &seen["tracks"][1];
    assert_eq!(
        (audio["kind"].as_str(), &audio["children"][0]["duration"]),
        (Some("Audio"), &rational(96_000, 48_000))
    );
    // Both agree on how long it plays: 150 frames at 30 and 30 at 29.97.
    let otio_seconds = seen["duration"]["value"].as_f64().unwrap() / seen["duration"]["rate"].as_f64().unwrap();
    assert!(
        (otio_seconds - timeline.duration().as_f64()).abs() < 1e-9,
        "{otio_seconds} vs {}",
        timeline.duration()
    );
}

#[test]
fn slate_reads_what_opentimelineio_writes_and_writes_the_same_edit_back() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("judged.otio");
    let written = judge("write", &file);
    let timeline = slate_edit::from_otio(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(timeline.name, "judged");
    let [video] = timeline.tracks.as_slice() else {
        panic!("{timeline:?}")
    };
    assert_eq!(video.kind, Kind::Video);
    let shape: Vec<String> = video
        .items
        .iter()
        .map(|item| match item {
            Item::Clip(c) => format!(
                "{} {}+{} @{}",
                c.name, c.source.start.value, c.source.duration.value, c.source.start.rate
            ),
            Item::Gap(d) => format!("gap {}", d.value),
            Item::Transition(t) => format!("{} {:?} {}/{}", t.name, t.wipe, t.in_offset.value, t.out_offset.value),
        })
        .collect();
    assert_eq!(
        shape,
        [
            "one 0+50 @25",
            "dissolve None 12/13",
            "two 25+40 @25",
            "gap 20",
            "three 10+30 @25"
        ]
    );
    let Item::Clip(one) = &video.items[0] else {
        unreachable!()
    };
    assert_eq!(
        (one.markers[0].name.as_str(), one.markers[0].color.as_str()),
        ("clap", "GREEN")
    );
    assert_eq!(one.markers[0].range, frames(5, 0, 25));
    // The duration OTIO computed, exactly.
    assert_eq!(written["duration"], rational(140, 25));
    assert_eq!(timeline.duration(), Time::new(140, Rate::whole(25)).seconds());

    // Written back by Slate, OTIO describes the same edit.
    let again = dir.path().join("again.otio");
    std::fs::write(&again, slate_edit::to_otio(&timeline)).unwrap();
    assert_eq!(judge("describe", &again), judge("describe", &file));
}

/// `slate edit ARGS` in `dir`: exit code, stdout, stderr.
fn slate_edit(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let output = slate(dir).arg("edit").args(args).output().unwrap();
    let (stdout, stderr) = texts(&output);
    assert_no_panic(&stderr, &format!("slate edit {args:?}"));
    (output.status.code().unwrap_or(-1), stdout, stderr)
}

#[test]
fn slate_edit_import_refuses_by_otio_path_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("judged.otio");
    judge("write", &file);
    // The media is not there yet: refused, naming the clip's reference.
    let (code, _, stderr) = slate_edit(dir.path(), &["import", "judged.otio", "--out", "mine.otio"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("judged.otio: tracks[0].children[0].media_references.DEFAULT_MEDIA.target_url: no media file `media/one.mp4`"),
        "{stderr}"
    );
    assert!(!dir.path().join("mine.otio").exists());
    std::fs::create_dir(dir.path().join("media")).unwrap();
    for name in ["one", "two", "three"] {
        std::fs::write(dir.path().join(format!("media/{name}.mp4")), b"").unwrap();
    }
    let (code, stdout, stderr) = slate_edit(dir.path(), &["import", "judged.otio", "--out", "mine.otio"]);
    assert_eq!(code, 0, "{stderr}");
    let summary: Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(summary["duration_s"], 5.6, "{summary}");
    let track = &summary["tracks"][0];
    assert_eq!(
        (&track["clips"], &track["gaps"], &track["transitions"]),
        (&json!(3), &json!(1), &json!(1))
    );
    assert_eq!(
        judge("describe", &dir.path().join("mine.otio")),
        judge("describe", &file)
    );

    // Documents Slate cannot represent: exit 2 naming the OTIO path, and
    // no output.
    let document: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    fn item(d: &mut Value, i: usize) -> &mut Value {
        &mut d["tracks"]["children"][0]["children"][i]
    }
    /// A change that makes the document one Slate refuses.
    type Spoil = fn(&mut Value);
    let cases: [(&str, Spoil); 5] = [
        ("tracks[0].children[2]", |d| {
            item(d, 2)["OTIO_SCHEMA"] = json!("Stack.1")
        }),
        ("tracks[0].children[0].source_range.duration", |d| {
            item(d, 0)["source_range"]["duration"]["value"] = json!(-3.0)
        }),
        ("tracks[0].children[1].in_offset", |d| {
            item(d, 1)["in_offset"]["value"] = json!(30.0)
        }),
        (
            "tracks[0].children[0].effects[0]",
            |d| {
                item(d, 0)["effects"] =
                    json!([{"OTIO_SCHEMA": "Effect.1", "name": "speed", "effect_name": "FreezeFrame"}])
            },
        ),
        ("", |d| d["OTIO_SCHEMA"] = json!("SerializableCollection.1")),
    ];
    for (path, edit) in cases {
        let mut bad = document.clone();
        edit(&mut bad);
        std::fs::write(dir.path().join("bad.otio"), bad.to_string()).unwrap();
        let (code, _, stderr) = slate_edit(dir.path(), &["import", "bad.otio", "--out", "bad-out.otio"]);
        assert_eq!(code, 2, "{path}: {stderr}");
        assert!(stderr.contains(&format!("bad.otio: {path}")), "{path}: {stderr}");
        assert!(!dir.path().join("bad-out.otio").exists(), "{path}");
    }
}

#[test]
fn slate_edit_assemble_cuts_a_batch_that_opentimelineio_reads() {
    let dir = tempfile::tempdir().unwrap();
    let take = |variant: u32, shot: &str, frames: u32| {
        json!({ "variant": variant, "seed": 1, "scene": "s1", "shot": shot, "file": format!("v{variant}/s1-{shot}.mp4"),
                "frames": frames, "fps": 24, "tracks": [], "sync": [], "rendered": true })
    };
    let index = json!({
        "storyboard": "kitchen",
        "takes": [take(0, "a", 48), take(0, "b", 24), take(1, "a", 48), take(1, "b", 24)],
        "cuts": [
            { "variant": 0, "before": "a", "after": "b", "breaks": [{ "kind": "prop" }] },
            { "variant": 1, "before": "a", "after": "b", "breaks": [] }
        ],
        "retakes": [], "continuity": 0.5, "sheet": "sheet.png"
    });
    std::fs::write(dir.path().join("index.json"), index.to_string()).unwrap();
    let (code, stdout, stderr) = slate_edit(dir.path(), &["assemble", "index.json", "--out", "cut.otio"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("\"duration_s\":3.0"), "{stdout}");
    let seen = judge("describe", &dir.path().join("cut.otio"));
    let clips: Vec<(&str, &str)> = seen["tracks"][0]["children"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["name"].as_str().unwrap(), c["media"].as_str().unwrap()))
        .collect();
    assert_eq!(clips, [("s1-a v1", "v1/s1-a.mp4"), ("s1-b v1", "v1/s1-b.mp4")]);
    assert_eq!(seen["duration"], rational(72, 24));
    // An index slate edit cannot cut: exit 2 naming the field, no output.
    std::fs::write(
        dir.path().join("bad.json"),
        json!({ "takes": [take(0, "a", 0)], "cuts": [] }).to_string(),
    )
    .unwrap();
    let (code, _, stderr) = slate_edit(dir.path(), &["assemble", "bad.json", "--out", "bad.otio"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("bad.json: takes[0].frames"), "{stderr}");
    assert!(!dir.path().join("bad.otio").exists());
}
