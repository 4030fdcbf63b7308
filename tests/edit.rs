//! Timelines against OpenTimelineIO itself (Python's, from PyPI, not
//! ours): what Slate writes, OTIO reads with the same clip ranges,
//! transitions and placement; what OTIO writes, Slate reads, and writes
//! back to a document OTIO sees as the same edit.

use std::path::Path;
use std::process::Command;

use serde_json::{Value, json};
use slate_e2e::test_python;
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
