//! Writing a [`Timeline`] as OTIO JSON, shaped as OpenTimelineIO itself
//! writes it.

use serde_json::{Map, Value, json};

use crate::model::{Clip, Effect, Item, Kind, Marker, Timeline, Track};
use crate::time::{Range, Time};

pub(crate) fn timeline(timeline: &Timeline) -> Value {
    let mut ours = Map::new();
    if !timeline.titles.is_empty() {
        let titles = timeline
            .titles
            .iter()
            .map(|t| json!({ "text": t.text, "range": range(t.range) }))
            .collect();
        ours.insert("titles".into(), Value::Array(titles));
    }
    json!({
        "OTIO_SCHEMA": "Timeline.1",
        "metadata": metadata(&timeline.foreign, ours),
        "name": timeline.name,
        "global_start_time": timeline.global_start.map(time),
        "tracks": {
            "OTIO_SCHEMA": "Stack.1",
            "metadata": {},
            "name": "tracks",
            "source_range": null,
            "effects": [],
            "markers": markers(&timeline.markers),
            "enabled": true,
            "color": null,
            "children": timeline.tracks.iter().map(track).collect::<Vec<_>>(),
        },
    })
}

fn metadata(foreign: &Map<String, Value>, ours: Map<String, Value>) -> Value {
    let mut all = foreign.clone();
    if !ours.is_empty() {
        all.insert("slate".into(), Value::Object(ours));
    }
    Value::Object(all)
}

fn track(track: &Track) -> Value {
    let mut ours = Map::new();
    let kind = match track.kind {
        Kind::Video => "Video",
        Kind::Audio(stem) => {
            if let Some(stem) = stem {
                ours.insert("stem".into(), stem.as_str().into());
            }
            "Audio"
        }
    };
    json!({
        "OTIO_SCHEMA": "Track.1",
        "metadata": metadata(&track.foreign, ours),
        "name": track.name,
        "source_range": null,
        "effects": [],
        "markers": markers(&track.markers),
        "enabled": true,
        "color": null,
        "children": track.items.iter().map(item).collect::<Vec<_>>(),
        "kind": kind,
    })
}

fn item(item: &Item) -> Value {
    match item {
        Item::Clip(c) => clip(c),
        Item::Gap(duration) => json!({
            "OTIO_SCHEMA": "Gap.1",
            "metadata": {},
            "name": "",
            "source_range": range(Range::new(Time::new(0, duration.rate), *duration)),
            "effects": [],
            "markers": [],
            "enabled": true,
            "color": null,
        }),
        Item::Transition(t) => {
            let (kind, ours) = match &t.wipe {
                None => ("SMPTE_Dissolve", json!({})),
                Some(wipe) => ("Custom_Transition", json!({ "slate": { "wipe": wipe.0 } })),
            };
            json!({
                "OTIO_SCHEMA": "Transition.1",
                "metadata": ours,
                "name": t.name,
                "in_offset": time(t.in_offset),
                "out_offset": time(t.out_offset),
                "transition_type": kind,
            })
        }
    }
}

fn clip(clip: &Clip) -> Value {
    let mut ours = Map::new();
    if clip.gain_db != 0.0 {
        ours.insert("gain_db".into(), clip.gain_db.into());
    }
    if clip.pan != 0.0 {
        ours.insert("pan".into(), clip.pan.into());
    }
    json!({
        "OTIO_SCHEMA": "Clip.2",
        "metadata": metadata(&clip.foreign, ours),
        "name": clip.name,
        "source_range": range(clip.source),
        "effects": clip.effects.iter().map(effect).collect::<Vec<_>>(),
        "markers": markers(&clip.markers),
        "enabled": true,
        "color": null,
        "media_references": {
            "DEFAULT_MEDIA": {
                "OTIO_SCHEMA": "ExternalReference.1",
                "metadata": {},
                "name": "",
                "available_range": clip.available.map(range),
                "available_image_bounds": null,
                "target_url": clip.media,
            }
        },
        "active_media_reference_key": "DEFAULT_MEDIA",
    })
}

fn effect(effect: &Effect) -> Value {
    let (name, kind, ours) = match effect {
        Effect::Element { name, description } => (name, "slate.element", json!({ "description": description })),
        Effect::Wasm { name, plugin, config } => (name, "slate.wasm", json!({ "plugin": plugin, "config": config })),
        Effect::Lua { name, script } => (name, "slate.lua", json!({ "script": script })),
    };
    json!({
        "OTIO_SCHEMA": "Effect.1",
        "metadata": { "slate": ours },
        "name": name,
        "effect_name": kind,
        "enabled": true,
    })
}

fn markers(markers: &[Marker]) -> Vec<Value> {
    markers
        .iter()
        .map(|m| {
            json!({
                "OTIO_SCHEMA": "Marker.2",
                "metadata": {},
                "name": m.name,
                "color": m.color,
                "marked_range": range(m.range),
                "comment": m.comment,
            })
        })
        .collect()
}

fn range(range: Range) -> Value {
    json!({ "OTIO_SCHEMA": "TimeRange.1", "duration": time(range.duration), "start_time": time(range.start) })
}

fn time(time: Time) -> Value {
    json!({ "OTIO_SCHEMA": "RationalTime.1", "rate": time.rate.as_f64(), "value": time.value as f64 })
}
