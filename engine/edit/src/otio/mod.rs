//! OpenTimelineIO JSON (`.otio`): the subset a [`Timeline`] represents.

mod read;
mod write;

use crate::error::EditError;
use crate::model::Timeline;

/// Reads an OTIO document. Refusals name the OTIO path of what Slate
/// cannot represent (`tracks[1].children[4].effects[0]`).
pub fn from_otio(text: &str) -> Result<Timeline, EditError> {
    let document: serde_json::Value = serde_json::from_str(text).map_err(|e| {
        EditError::at(
            "",
            format!("not OTIO JSON (line {}, column {}): {e}", e.line(), e.column()),
        )
    })?;
    read::timeline(&document)
}

/// Writes a timeline as an OTIO document, as OpenTimelineIO writes one.
pub fn to_otio(timeline: &Timeline) -> String {
    serde_json::to_string_pretty(&write::timeline(timeline)).expect("JSON values serialise")
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use serde_json::{Value, json};

    use super::*;
    use crate::model::{Clip, Effect, Item, Kind, Marker, Stem, Title, Track, Transition, Wipe};
    use crate::time::{Range, Rate, Time};

    fn frames(start: i64, duration: i64) -> Range {
        let rate = Rate::whole(30);
        Range::new(Time::new(start, rate), Time::new(duration, rate))
    }

    /// Every kind of thing the subset has.
    fn cut() -> Timeline {
        let mut a = Clip::new("a", "file:///media/a.mp4", frames(0, 60));
        a.effects.push(Effect::Element {
            name: "grade".into(),
            description: "videobalance saturation=0".into(),
        });
        a.effects.push(Effect::Wasm {
            name: "lut".into(),
            plugin: "plugins/lut.wasm".into(),
            config: "{\"lut\": \"warm\"}".into(),
        });
        a.markers.push(Marker {
            name: "slate".into(),
            range: frames(10, 0),
            color: "RED".into(),
            comment: "clap".into(),
        });
        let mut b = Clip::new("b", "media/b.mp4", frames(15, 45));
        b.available = Some(frames(0, 300));
        b.effects.push(Effect::Lua {
            name: "tag".into(),
            script: "scripts/stages/tag_cuts.lua".into(),
        });
        let rate = Rate::whole(30);
        let mut video = Track::new("V1", Kind::Video);
        video.items = vec![
            Item::Clip(a),
            Item::Transition(Transition {
                name: "dissolve".into(),
                wipe: None,
                in_offset: Time::new(10, rate),
                out_offset: Time::new(10, rate),
            }),
            Item::Clip(b),
            Item::Transition(Transition {
                name: "wipe".into(),
                wipe: Some(Wipe("bar-wipe-lr".into())),
                in_offset: Time::new(5, rate),
                out_offset: Time::new(0, rate),
            }),
            Item::Clip(Clip::new("c", "media/c.mp4", frames(30, 30))),
            Item::Gap(Time::new(15, rate)),
        ];
        let mut music = Track::new("music", Kind::Audio(Some(Stem::Music)));
        let mut bed = Clip::new(
            "bed",
            "media/bed.wav",
            Range::new(
                Time::new(0, Rate::whole(48_000)),
                Time::new(96_000, Rate::whole(48_000)),
            ),
        );
        bed.gain_db = -6.0;
        bed.pan = -0.5;
        music.items.push(Item::Clip(bed));
        let mut timeline = Timeline::new("cut");
        timeline.tracks = vec![video, music];
        timeline.titles.push(Title {
            text: "Slate".into(),
            range: frames(0, 45),
        });
        timeline
            .foreign
            .insert("Resolve_OTIO".into(), json!({ "Resolve OTIO Meta Version": "1.0" }));
        timeline
    }

    #[test]
    fn what_slate_writes_it_reads_back_the_same() {
        let timeline = cut();
        let text = to_otio(&timeline);
        assert_eq!(from_otio(&text), Ok(timeline.clone()));
        // 60 + 45 + 30 + 15 frames: transitions take no time.
        assert_eq!(timeline.duration(), Time::new(150, Rate::whole(30)).seconds());
        // Where each item plays: a transition around its cut.
        let at = |frames: i64| Time::new(frames, Rate::whole(30)).seconds();
        let placed = timeline.tracks[0].placed();
        let expected = [(0, 60), (50, 20), (60, 45), (100, 5), (105, 30), (135, 15)];
        assert_eq!(placed, expected.map(|(start, length)| (at(start), at(length))));
    }

    /// `cut()` as OTIO JSON, with `edit` applied.
    fn refused(edit: impl FnOnce(&mut Value)) -> EditError {
        let mut document: Value = serde_json::from_str(&to_otio(&cut())).unwrap();
        edit(&mut document);
        from_otio(&document.to_string()).unwrap_err()
    }

    fn child(document: &mut Value, track: usize, item: usize) -> &mut Value {
        &mut document["tracks"]["children"][track]["children"][item]
    }

    #[test]
    fn what_slate_cannot_represent_is_refused_by_its_otio_path() {
        let e = refused(|d| child(d, 0, 0)["effects"][1]["effect_name"] = json!("LinearTimeWarp"));
        assert_eq!(e.path(), "tracks[0].children[0].effects[1]");
        let e = refused(|d| child(d, 0, 2)["OTIO_SCHEMA"] = json!("Stack.1"));
        assert_eq!(e.path(), "tracks[0].children[2]");
        let e = refused(|d| child(d, 0, 2)["OTIO_SCHEMA"] = json!("Clip.3"));
        assert!(e.to_string().contains("Slate reads only"), "{e}");
        let e = refused(|d| child(d, 0, 0)["source_range"]["duration"]["value"] = json!(-5.0));
        assert_eq!(e.path(), "tracks[0].children[0].source_range.duration");
        let e = refused(|d| child(d, 0, 0)["source_range"]["start_time"]["value"] = json!(2.5));
        assert_eq!(e.path(), "tracks[0].children[0].source_range.start_time.value");
        let e = refused(|d| child(d, 0, 2)["source_range"]["duration"]["value"] = json!(400.0));
        assert_eq!(e.path(), "tracks[0].children[2].source_range");
        // Transitions that eat more than the clip between them: clips
        // would overlap on the track.
        let e = refused(|d| child(d, 0, 3)["in_offset"]["value"] = json!(35.0));
        assert_eq!(e.path(), "tracks[0].children[3].in_offset", "{e}");
        let e = refused(|d| child(d, 0, 1)["out_offset"]["value"] = json!(41.0));
        assert_eq!(e.path(), "tracks[0].children[2]", "{e}");
        let e = refused(|d| child(d, 0, 0)["color"] = json!("RED"));
        assert_eq!(e.path(), "tracks[0].children[0].color");
        let e = refused(|d| child(d, 0, 0)["enabled"] = json!(false));
        assert_eq!(e.path(), "tracks[0].children[0].enabled");
        let e = refused(|d| d["tracks"]["children"][1]["metadata"]["slate"]["stem"] = json!("drums"));
        assert_eq!(e.path(), "tracks[1].metadata.slate.stem");
        assert!(e.to_string().contains("dialogue"), "{e}");
        let e = refused(|d| child(d, 1, 0)["metadata"]["slate"]["pan"] = json!(3));
        assert_eq!(e.path(), "tracks[1].children[0].metadata.slate.pan");
        let e = refused(|d| {
            child(d, 0, 0)["media_references"]["DEFAULT_MEDIA"]["OTIO_SCHEMA"] = json!("MissingReference.1")
        });
        assert_eq!(e.path(), "tracks[0].children[0].media_references.DEFAULT_MEDIA");
        let e = refused(|d| d["tracks"]["children"][0]["kind"] = json!("Subtitles"));
        assert_eq!(e.path(), "tracks[0].kind");
        let e = refused(|d| d["metadata"]["slate"]["titles"][0]["range"]["duration"]["rate"] = json!(12.345));
        assert_eq!(e.path(), "metadata.slate.titles[0].range.duration.rate");
        let e = refused(|d| child(d, 0, 1)["transition_type"] = json!("Fancy"));
        assert_eq!(e.path(), "tracks[0].children[1].transition_type");
        let e = refused(|d| {
            d["tracks"]["children"][0]["children"].as_array_mut().unwrap().insert(
                0,
                json!({
                    "OTIO_SCHEMA": "Transition.1", "transition_type": "SMPTE_Dissolve",
                    "in_offset": {"OTIO_SCHEMA": "RationalTime.1", "rate": 30.0, "value": 0.0},
                    "out_offset": {"OTIO_SCHEMA": "RationalTime.1", "rate": 30.0, "value": 5.0}
                }),
            )
        });
        assert_eq!(e.path(), "tracks[0].children[0]");
        assert_eq!(from_otio("{\"OTIO_SCHEMA\": ").unwrap_err().path(), "");
    }

    /// Changes the JSON tree at a node picked by `pick`: removes a key,
    /// or puts a value of another type, or a number that is out of range.
    fn mutate(node: &mut Value, pick: &mut impl FnMut(usize) -> usize) {
        match node {
            Value::Object(map) if !map.is_empty() && pick(3) > 0 => {
                let key = map.keys().nth(pick(map.len())).unwrap().clone();
                if pick(4) == 0 {
                    map.remove(&key);
                } else {
                    mutate(map.get_mut(&key).unwrap(), pick);
                }
            }
            Value::Array(items) if !items.is_empty() && pick(3) > 0 => {
                let at = pick(items.len());
                match pick(5) {
                    0 => {
                        items.remove(at);
                    }
                    1 => {
                        let copy = items[at].clone();
                        items.insert(at, copy);
                    }
                    _ => mutate(&mut items[at], pick),
                }
            }
            _ => {
                let replacements = [
                    json!(null),
                    json!(-1.5),
                    json!(1e300),
                    json!(0),
                    json!("Clip.2"),
                    json!([]),
                    json!({}),
                    json!(true),
                    json!({"OTIO_SCHEMA": "RationalTime.1", "rate": 30.0, "value": -3.0}),
                ];
                *node = replacements[pick(replacements.len())].clone();
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1000))]
        /// Bounded fuzzing: mutated documents never panic, and a refusal
        /// always says where.
        #[test]
        fn mutated_documents_are_read_or_refused_by_path(seed in any::<u64>(), edits in 1usize..4) {
            let mut document: Value = serde_json::from_str(&to_otio(&cut())).unwrap();
            let mut state = seed | 1;
            let mut pick = |n: usize| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                (state % n as u64) as usize
            };
            for _ in 0..edits {
                mutate(&mut document, &mut pick);
            }
            if let Err(e) = from_otio(&document.to_string()) {
                prop_assert!(!e.to_string().is_empty());
                let whole_document = document.get("OTIO_SCHEMA") != Some(&json!("Timeline.1")) || !document.is_object();
                prop_assert!(!e.path().is_empty() || whole_document, "{e} for {document}");
            }
        }
    }
}
