//! A first cut from a generated batch: `slate generate`'s `index.json`
//! lists every take (each shot in each variant) and, per variant, the
//! continuity breaks found at each cut. The cut takes the shots in
//! storyboard order, each from its best variant: the one with the fewest
//! breaks at the cuts on either side of the shot (the lowest variant when
//! they tie). Picture on `V1`; the takes' mixdown on `A1` when they have
//! sound.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::error::{EditError, join};
use crate::model::{Clip, Item, Kind, Timeline, Track};
use crate::time::{Range, Rate, Time};

/// One take, as the index lists it.
struct Take {
    variant: u64,
    /// `scene-shot`, as the take's file is named.
    shot: String,
    /// The shot's id, as cuts name it.
    id: String,
    file: String,
    frames: i64,
    fps: u32,
    sound: bool,
}

fn refuse(path: &str, message: impl Into<String>) -> EditError {
    EditError::Index {
        path: path.to_owned(),
        message: message.into(),
    }
}

fn field<'a>(value: &'a Value, path: &str, key: &str) -> Result<&'a Value, EditError> {
    value.get(key).ok_or_else(|| refuse(&join(path, key), "missing"))
}

fn text(value: &Value, path: &str, key: &str) -> Result<String, EditError> {
    field(value, path, key)?
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| refuse(&join(path, key), "expected a string"))
}

fn whole(value: &Value, path: &str, key: &str) -> Result<u64, EditError> {
    field(value, path, key)?
        .as_u64()
        .ok_or_else(|| refuse(&join(path, key), "expected a whole number"))
}

fn list<'a>(value: &'a Value, path: &str, key: &str) -> Result<&'a [Value], EditError> {
    field(value, path, key)?
        .as_array()
        .map(Vec::as_slice)
        .ok_or_else(|| refuse(&join(path, key), "expected a list"))
}

fn take(value: &Value, path: &str) -> Result<Take, EditError> {
    let fps = whole(value, path, "fps").map_err(|e| {
        refuse(
            e.path(),
            format!("{e}: an index from before takes had their rate; run slate generate again"),
        )
    })?;
    let fps = u32::try_from(fps)
        .ok()
        .filter(|f| (1..=1000).contains(f))
        .ok_or_else(|| refuse(&format!("{path}.fps"), "1 to 1000 frames per second"))?;
    let frames = whole(value, path, "frames")?;
    let frames = i64::try_from(frames)
        .ok()
        .filter(|f| *f > 0)
        .ok_or_else(|| refuse(&format!("{path}.frames"), "a take has frames"))?;
    let id = text(value, path, "shot")?;
    Ok(Take {
        variant: whole(value, path, "variant")?,
        shot: format!("{}-{id}", text(value, path, "scene")?),
        id,
        file: text(value, path, "file")?,
        frames,
        fps,
        sound: !list(value, path, "tracks")?.is_empty(),
    })
}

/// The first cut of the batch whose `index.json` is `index`.
pub fn from_batch(index: &str) -> Result<Timeline, EditError> {
    let index: Value = serde_json::from_str(index).map_err(|e| refuse("", format!("not a batch index (JSON): {e}")))?;
    let takes = list(&index, "", "takes")?
        .iter()
        .enumerate()
        .map(|(i, t)| take(t, &format!("takes[{i}]")))
        .collect::<Result<Vec<Take>, _>>()?;
    // Breaks per (variant, shot id), at the cuts on either side.
    let mut breaks: BTreeMap<(u64, String), usize> = BTreeMap::new();
    for (i, cut) in list(&index, "", "cuts")?.iter().enumerate() {
        let path = format!("cuts[{i}]");
        let variant = whole(cut, &path, "variant")?;
        let found = list(cut, &path, "breaks")?.len();
        for side in ["before", "after"] {
            *breaks.entry((variant, text(cut, &path, side)?)).or_default() += found;
        }
    }
    // Shots in storyboard order: as the first variant lists them.
    let mut shots: Vec<&str> = Vec::new();
    for take in &takes {
        if !shots.contains(&take.shot.as_str()) {
            shots.push(&take.shot);
        }
    }
    if shots.is_empty() {
        return Err(refuse("takes", "the batch has no takes to cut"));
    }
    let score = |take: &Take| breaks.get(&(take.variant, take.id.clone())).copied().unwrap_or(0);
    let mut video = Track::new("V1", Kind::Video);
    let mut sound = Track::new("A1", Kind::Audio(None));
    for shot in shots {
        let best = takes
            .iter()
            .filter(|t| t.shot == shot)
            .min_by_key(|t| (score(t), t.variant))
            .expect("every shot listed has a take");
        let rate = Rate::whole(best.fps);
        let range = Range::new(Time::new(0, rate), Time::new(best.frames, rate));
        let name = format!("{shot} v{}", best.variant);
        video.items.push(Item::Clip(Clip::new(&name, &best.file, range)));
        if best.sound {
            sound.items.push(Item::Clip(Clip::new(&name, &best.file, range)));
        } else {
            sound.items.push(Item::Gap(range.duration));
        }
    }
    let storyboard = index.get("storyboard").and_then(Value::as_str).unwrap_or("batch");
    let mut timeline = Timeline::new(&format!("{storyboard}: first cut"));
    timeline.tracks.push(video);
    if sound.items.iter().any(|i| matches!(i, Item::Clip(_))) {
        timeline.tracks.push(sound);
    }
    Ok(timeline)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn take(variant: u64, shot: &str, frames: u64) -> Value {
        json!({
            "variant": variant, "seed": 7, "scene": "s1", "shot": shot,
            "file": format!("out/v{variant}/s1-{shot}.mp4"), "frames": frames, "fps": 25,
            "tracks": ["mix", "dialogue"], "sync": [], "rendered": true
        })
    }

    #[test]
    fn each_shot_comes_from_its_variant_with_the_fewest_breaks_in_storyboard_order() {
        let index = json!({
            "storyboard": "kitchen",
            "takes": [take(0, "a", 50), take(0, "b", 40), take(0, "c", 30), take(1, "a", 50), take(1, "b", 40), take(1, "c", 30)],
            "cuts": [
                { "variant": 0, "before": "a", "after": "b", "breaks": [{"kind": "prop"}] },
                { "variant": 0, "before": "b", "after": "c", "breaks": [] },
                { "variant": 1, "before": "a", "after": "b", "breaks": [] },
                { "variant": 1, "before": "b", "after": "c", "breaks": [{"kind": "light"}, {"kind": "prop"}] }
            ],
            "retakes": [], "continuity": 0.5, "sheet": "out/sheet.png"
        });
        let cut = from_batch(&index.to_string()).unwrap();
        assert_eq!(cut.name, "kitchen: first cut");
        let names: Vec<String> = cut.tracks[0]
            .items
            .iter()
            .map(|i| match i {
                Item::Clip(c) => format!("{} {}", c.name, c.media),
                other => panic!("{other:?}"),
            })
            .collect();
        // a: v0 has 1 break, v1 none; b: v0 1, v1 2; c: v0 none, v1 2.
        assert_eq!(
            names,
            [
                "s1-a v1 out/v1/s1-a.mp4",
                "s1-b v0 out/v0/s1-b.mp4",
                "s1-c v0 out/v0/s1-c.mp4"
            ]
        );
        assert_eq!(cut.tracks[1].kind, Kind::Audio(None));
        assert_eq!(cut.duration(), Time::new(120, Rate::whole(25)).seconds());
        // What it assembled is a timeline OTIO can hold.
        assert_eq!(crate::from_otio(&crate::to_otio(&cut)), Ok(cut));
    }

    #[test]
    fn an_index_that_cannot_be_cut_is_refused_by_field() {
        let mut old = take(0, "a", 50);
        old.as_object_mut().unwrap().remove("fps");
        let refused = |index: Value| from_batch(&index.to_string()).unwrap_err();
        let e = refused(json!({ "takes": [old], "cuts": [] }));
        assert_eq!(e.path(), "takes[0].fps");
        assert!(e.to_string().contains("slate generate again"), "{e}");
        assert_eq!(
            refused(json!({ "takes": [take(0, "a", 0)], "cuts": [] })).path(),
            "takes[0].frames"
        );
        assert_eq!(refused(json!({ "takes": [], "cuts": [] })).path(), "takes");
        assert_eq!(refused(json!({ "takes": [take(0, "a", 5)] })).path(), "cuts");
        assert_eq!(
            refused(json!({ "takes": [take(0, "a", 5)], "cuts": [{ "variant": 0, "before": 1 }] })).path(),
            "cuts[0].breaks"
        );
        assert_eq!(refused(json!([])).path(), "takes");
    }
}
