//! What running pipelines tell their operators: typed events, each in a
//! category a client subscribes to, made from the pipeline's bus messages
//! (Slate's own element messages included) and from the control plane's
//! state changes.

use std::time::{SystemTime, UNIX_EPOCH};

use gst::glib;
use gst::prelude::*;
use serde::Serialize;
use serde_json::{Map, Value, json};

/// What an event is about; clients subscribe by category.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Category {
    /// State changes, end of stream, errors and warnings, shots.
    Pipelines,
    /// WASM and Lua stage faults, reloads and plugin events.
    Stages,
    /// Consent checks and blurs.
    Consent,
    /// Continuity breaks and audio/video sync.
    Continuity,
    /// Provenance decisions and signed files and segments.
    Provenance,
    /// Audio meters, 10 a second per stem (opt-in: they are many).
    Meters,
    /// What Slate raises itself: black or frozen picture, silence, lost
    /// input, dropped frames, stage faults.
    Alerts,
    /// Automation scripts attached and detached, their log lines and
    /// errors.
    Scripts,
}

impl Category {
    pub const ALL: [Category; 8] = [
        Category::Pipelines,
        Category::Stages,
        Category::Consent,
        Category::Continuity,
        Category::Provenance,
        Category::Meters,
        Category::Alerts,
        Category::Scripts,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Category::Pipelines => "pipelines",
            Category::Stages => "stages",
            Category::Consent => "consent",
            Category::Continuity => "continuity",
            Category::Provenance => "provenance",
            Category::Meters => "meters",
            Category::Alerts => "alerts",
            Category::Scripts => "scripts",
        }
    }

    pub fn parse(text: &str) -> Option<Category> {
        Category::ALL.into_iter().find(|c| c.as_str() == text)
    }
}

/// An application message anyone (a script, a test, `slate bench events`)
/// posts on a pipeline's bus to put a mark, with its fields, in the event
/// stream.
pub const MARK: &str = "slate-mark";

/// One event of one pipeline.
#[derive(Debug, Clone, Serialize)]
pub struct Event {
    pub category: Category,
    /// What happened, e.g. `state`, `error`, `meter`, `frozen-picture`.
    #[serde(rename = "type")]
    pub kind: String,
    pub pipeline: String,
    /// The account the pipeline belongs to (who may see the event).
    #[serde(skip)]
    pub owner: String,
    /// Milliseconds since the Unix epoch, when Slate saw it.
    pub at_ms: u64,
    pub data: Value,
}

impl Event {
    pub fn new(category: Category, kind: &str, pipeline: &str, owner: &str, data: Value) -> Event {
        Event {
            category,
            kind: kind.to_owned(),
            pipeline: pipeline.to_owned(),
            owner: owner.to_owned(),
            at_ms: now_ms(),
            data,
        }
    }
}

pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// The event a bus message makes, if any: category, type and data. State
/// changes are left to the control plane, which reports its own states.
pub fn from_message(message: &gst::Message) -> Option<(Category, String, Value)> {
    let element = message.src().map(|s| s.name().to_string()).unwrap_or_default();
    let (category, kind, mut data) = match message.view() {
        gst::MessageView::Eos(_) => (Category::Pipelines, "eos".to_owned(), json!({})),
        gst::MessageView::Error(e) => (
            Category::Pipelines,
            "error".to_owned(),
            json!({ "message": e.error().to_string(), "debug": e.debug().map(|d| d.to_string()) }),
        ),
        gst::MessageView::Warning(w) => (
            Category::Pipelines,
            "warning".to_owned(),
            json!({ "message": w.error().to_string(), "debug": w.debug().map(|d| d.to_string()) }),
        ),
        gst::MessageView::Element(_) | gst::MessageView::Application(_) => {
            let s = message.structure()?;
            let (category, kind) = classify(s.name().as_str(), s)?;
            (category, kind.to_owned(), structure_json(s))
        }
        _ => return None,
    };
    if let Value::Object(map) = &mut data {
        map.insert("element".into(), Value::String(element));
    }
    Some((category, kind, data))
}

/// Slate's element messages, by name.
fn classify(name: &str, s: &gst::StructureRef) -> Option<(Category, &'static str)> {
    Some(match name {
        "slate-shot" => (Category::Pipelines, "shot"),
        MARK => (Category::Pipelines, "mark"),
        "slate-plugin-fault" | "slate-script-fault" => (Category::Stages, "fault"),
        "slate-plugin-reloaded" | "slate-reload" => (Category::Stages, "reloaded"),
        "slate-plugin-event" => {
            let about = s.get::<String>("plugin").unwrap_or_default() + &s.get::<String>("name").unwrap_or_default();
            if about.contains("continuity") {
                (Category::Continuity, "break")
            } else {
                (Category::Stages, "event")
            }
        }
        "slate-consent" => (Category::Consent, "check"),
        "slate-av-sync" => (Category::Continuity, "sync"),
        "slate-provenance" => (Category::Provenance, "decision"),
        "slate-c2pa-signed" => (Category::Provenance, "signed"),
        "slate-c2pa-segment" => (Category::Provenance, "segment-signed"),
        crate::watch::METER => (Category::Meters, "meter"),
        crate::watch::ALERT => (Category::Alerts, "alert"),
        _ => return None,
    })
}

/// A structure's fields as JSON (what JSON cannot hold is its GStreamer
/// text form).
pub fn structure_json(s: &gst::StructureRef) -> Value {
    let mut map = Map::new();
    for (name, value) in s.iter() {
        map.insert(name.to_string(), value_json(value));
    }
    Value::Object(map)
}

/// A GLib value as JSON: numbers, strings, booleans, lists, enums by nick.
pub fn value_json(value: &glib::Value) -> Value {
    macro_rules! try_as {
        ($($t:ty),*) => {$(
            if let Ok(v) = value.get::<$t>() {
                return json!(v);
            }
        )*};
    }
    try_as!(bool, i32, u32, i64, u64);
    if let Ok(v) = value.get::<f64>() {
        return finite(v);
    }
    if let Ok(v) = value.get::<f32>() {
        return finite(v as f64);
    }
    if let Ok(v) = value.get::<Option<String>>() {
        return v.map(Value::String).unwrap_or(Value::Null);
    }
    if let Ok(list) = value.get::<gst::List>() {
        return Value::Array(list.iter().map(|v| value_json(v)).collect());
    }
    if let Ok(array) = value.get::<gst::Array>() {
        return Value::Array(array.iter().map(|v| value_json(v)).collect());
    }
    if let Ok(s) = value.get::<gst::Structure>() {
        return structure_json(&s);
    }
    if let Some((_, enum_value)) = glib::EnumValue::from_value(value) {
        return Value::String(enum_value.nick().to_owned());
    }
    if let Ok(Some(element)) = value.get::<Option<gst::Element>>() {
        return Value::String(element.name().to_string());
    }
    value
        .serialize()
        .map(|s| Value::String(s.to_string()))
        .unwrap_or(Value::Null)
}

/// JSON has no infinities: silence is `null`.
fn finite(v: f64) -> Value {
    if v.is_finite() { json!(v) } else { Value::Null }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn categories_read_back_by_name() {
        for c in Category::ALL {
            assert_eq!(Category::parse(c.as_str()), Some(c));
        }
        assert_eq!(Category::parse("meter"), None);
    }

    #[test]
    fn structures_become_json() {
        gst::init().unwrap();
        let s = gst::Structure::builder("slate-plugin-fault")
            .field("plugin", "trap.wasm")
            .field("frame", 7u64)
            .field("peak", f64::NEG_INFINITY)
            .field("rms", gst::Array::new([0.5f64, 0.25f64]))
            .build();
        assert_eq!(
            structure_json(&s),
            json!({ "plugin": "trap.wasm", "frame": 7, "peak": null, "rms": [0.5, 0.25] })
        );
        let message = gst::message::Element::new(s);
        let (category, kind, data) = from_message(&message).unwrap();
        assert_eq!((category, kind.as_str()), (Category::Stages, "fault"));
        assert_eq!(data["element"], "");
        assert!(from_message(&gst::message::Element::new(gst::Structure::new_empty("other"))).is_none());
    }
}
