//! Reading OTIO JSON into a [`Timeline`], every refusal naming its path.

use serde_json::{Map, Value};

use crate::error::{EditError, join};
use crate::model::{Clip, Effect, Item, Kind, Marker, Stem, Timeline, Title, Track, Transition, Wipe, check_track};
use crate::time::{Range, Rate, Time};

/// One OTIO object being read: the keys taken so far, so that what is
/// left over can be refused by name.
struct Node<'a> {
    path: String,
    map: &'a Map<String, Value>,
    taken: Vec<&'static str>,
}

/// An object's fields.
type Fields = Map<String, Value>;

/// The schemas (and versions) Slate reads.
const SUBSET: &str = "Timeline.1, Stack.1, Track.1, Clip.1-2, Gap.1, Transition.1, ExternalReference.1, Marker.1-2, \
                      Effect.1, RationalTime.1, TimeRange.1";

impl<'a> Node<'a> {
    /// `value` as an object of one of `schemas`; answers the schema.
    fn open(value: &'a Value, path: String, schemas: &[&str]) -> Result<(Node<'a>, &'a str), EditError> {
        let Some(map) = value.as_object() else {
            return Err(EditError::at(
                &path,
                format!("expected an OTIO object ({}), not {value}", schemas.join(" or ")),
            ));
        };
        let schema = match map.get("OTIO_SCHEMA") {
            Some(Value::String(s)) => s.as_str(),
            _ => return Err(EditError::at(&path, "an OTIO object has an OTIO_SCHEMA string")),
        };
        if !schemas.contains(&schema) {
            let what = match SUBSET.split(", ").any(|s| schema_in(schema, s)) {
                true => format!("expected {} here", schemas.join(" or ")),
                false => format!("Slate reads only {SUBSET}"),
            };
            return Err(EditError::at(
                &path,
                format!("schema `{schema}` is not read here: {what}"),
            ));
        }
        let node = Node {
            path,
            map,
            taken: vec!["OTIO_SCHEMA"],
        };
        Ok((node, schema))
    }

    fn at(&self, key: &str) -> String {
        join(&self.path, key)
    }

    fn take(&mut self, key: &'static str) -> Option<&'a Value> {
        self.taken.push(key);
        self.map.get(key).filter(|v| !v.is_null())
    }

    fn text(&mut self, key: &'static str) -> Result<String, EditError> {
        match self.take(key) {
            None => Ok(String::new()),
            Some(Value::String(s)) => Ok(s.clone()),
            Some(other) => Err(EditError::at(&self.at(key), format!("expected a string, not {other}"))),
        }
    }

    fn list(&mut self, key: &'static str) -> Result<&'a [Value], EditError> {
        match self.take(key) {
            None => Ok(&[]),
            Some(Value::Array(items)) => Ok(items),
            Some(other) => Err(EditError::at(&self.at(key), format!("expected a list, not {other}"))),
        }
    }

    /// `enabled`: only `true` (or absent) is in the subset.
    fn enabled(&mut self) -> Result<(), EditError> {
        match self.take("enabled") {
            None | Some(Value::Bool(true)) => Ok(()),
            Some(_) => Err(EditError::at(
                &self.at("enabled"),
                "disabled items are not rendered by Slate: remove them or enable them",
            )),
        }
    }

    /// The object's `metadata`: Slate's own part (`slate`), and the rest,
    /// kept as it came.
    fn metadata(&mut self) -> Result<(Fields, Fields), EditError> {
        let mut foreign = match self.take("metadata") {
            None => Map::new(),
            Some(Value::Object(map)) => map.clone(),
            Some(other) => {
                return Err(EditError::at(
                    &self.at("metadata"),
                    format!("expected an object, not {other}"),
                ));
            }
        };
        let ours = match foreign.remove("slate") {
            None | Some(Value::Null) => Map::new(),
            Some(Value::Object(map)) => map,
            Some(other) => {
                return Err(EditError::at(
                    &self.at("metadata.slate"),
                    format!("expected an object, not {other}"),
                ));
            }
        };
        Ok((ours, foreign))
    }

    /// Refuses any key not taken that holds something (nulls and empty
    /// lists say nothing).
    fn done(self) -> Result<(), EditError> {
        for (key, value) in self.map {
            let empty = value.is_null() || value.as_array().is_some_and(Vec::is_empty);
            if !self.taken.contains(&key.as_str()) && !empty {
                return Err(EditError::at(
                    &self.at(key),
                    "Slate cannot represent this field here; remove it (or empty it) to read the timeline",
                ));
            }
        }
        Ok(())
    }
}

/// `Clip.2` is in `Clip.1-2`.
fn schema_in(schema: &str, listed: &str) -> bool {
    let Some((name, versions)) = listed.split_once('.') else {
        return false;
    };
    let Some((have_name, have)) = schema.split_once('.') else {
        return false;
    };
    let (low, high) = versions.split_once('-').unwrap_or((versions, versions));
    have_name == name && (low..=high).contains(&have)
}

/// Slate's metadata: each key read once, the unknown refused.
struct Ours {
    path: String,
    map: Map<String, Value>,
}

impl Ours {
    fn new(owner: &str, map: Map<String, Value>) -> Ours {
        Ours {
            path: join(owner, "metadata.slate"),
            map,
        }
    }

    fn at(&self, key: &str) -> String {
        join(&self.path, key)
    }

    fn text(&mut self, key: &str) -> Result<Option<String>, EditError> {
        match self.map.remove(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(other) => Err(EditError::at(&self.at(key), format!("expected a string, not {other}"))),
        }
    }

    fn number(&mut self, key: &str) -> Result<Option<f64>, EditError> {
        match self.map.remove(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Number(n)) => Ok(n.as_f64()),
            Some(other) => Err(EditError::at(&self.at(key), format!("expected a number, not {other}"))),
        }
    }

    fn done(self) -> Result<(), EditError> {
        match self.map.keys().next() {
            Some(key) => Err(EditError::at(&self.at(key), "Slate has no such setting here")),
            None => Ok(()),
        }
    }
}

pub(crate) fn timeline(document: &Value) -> Result<Timeline, EditError> {
    let (mut node, _) = Node::open(document, String::new(), &["Timeline.1"])?;
    let name = node.text("name")?;
    let global_start = node
        .take("global_start_time")
        .map(|v| time(v, "global_start_time"))
        .transpose()?;
    let (ours, foreign) = node.metadata()?;
    let mut ours = Ours::new("", ours);
    let titles = match ours.map.remove("titles") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, t)| title(t, &ours.at(&format!("titles[{i}]"))))
            .collect::<Result<_, _>>()?,
        Some(other) => {
            return Err(EditError::at(
                &ours.at("titles"),
                format!("expected a list, not {other}"),
            ));
        }
    };
    ours.done()?;
    let stack = node
        .take("tracks")
        .ok_or_else(|| EditError::at("tracks", "a timeline has tracks (a Stack)"))?;
    node.done()?;
    let (mut stack, _) = Node::open(stack, "tracks".into(), &["Stack.1"])?;
    stack.text("name")?;
    stack.enabled()?;
    let (stack_ours, stack_foreign) = stack.metadata()?;
    Ours::new("tracks", stack_ours).done()?;
    if !stack_foreign.is_empty() {
        return Err(EditError::at(
            "tracks.metadata",
            "Slate keeps other tools' metadata on the timeline, not its stack",
        ));
    }
    let markers = markers(&mut stack)?;
    if !stack.list("effects")?.is_empty() {
        return Err(EditError::at(
            "tracks.effects[0]",
            "effects go on clips in Slate, not on the whole stack",
        ));
    }
    if stack.take("source_range").is_some() {
        return Err(EditError::at(
            "tracks.source_range",
            "Slate plays the whole stack: remove its source_range",
        ));
    }
    let children = stack.list("children")?;
    stack.done()?;
    let tracks = children
        .iter()
        .enumerate()
        .map(|(i, t)| track(t, &format!("tracks[{i}]")))
        .collect::<Result<_, _>>()?;
    Ok(Timeline {
        name,
        global_start,
        tracks,
        markers,
        titles,
        foreign,
    })
}

fn track(value: &Value, path: &str) -> Result<Track, EditError> {
    let (mut node, _) = Node::open(value, path.to_owned(), &["Track.1"])?;
    let name = node.text("name")?;
    node.enabled()?;
    let (ours, foreign) = node.metadata()?;
    let mut ours = Ours::new(path, ours);
    let stem = ours.text("stem")?;
    ours.done()?;
    let kind = match node.text("kind")?.as_str() {
        "Video" if stem.is_none() => Kind::Video,
        "Video" => {
            return Err(EditError::at(
                &join(path, "metadata.slate.stem"),
                "stems name audio tracks",
            ));
        }
        "Audio" => Kind::Audio(
            stem.map(|s| {
                Stem::parse(&s).ok_or_else(|| {
                    let names: Vec<&str> = Stem::ALL.iter().map(|s| s.as_str()).collect();
                    EditError::at(
                        &join(path, "metadata.slate.stem"),
                        format!("no stem `{s}`; stems are {}", names.join(", ")),
                    )
                })
            })
            .transpose()?,
        ),
        other => {
            return Err(EditError::at(
                &node.at("kind"),
                format!("track kind `{other}`: Slate's tracks are Video or Audio"),
            ));
        }
    };
    let markers = markers(&mut node)?;
    if !node.list("effects")?.is_empty() {
        return Err(EditError::at(
            &join(path, "effects[0]"),
            "effects go on clips in Slate, not on tracks",
        ));
    }
    if node.take("source_range").is_some() {
        return Err(EditError::at(
            &node.at("source_range"),
            "Slate plays whole tracks: remove the track's source_range",
        ));
    }
    let items = node
        .list("children")?
        .iter()
        .enumerate()
        .map(|(i, item)| self::item(item, &format!("{path}.children[{i}]")))
        .collect::<Result<_, _>>()?;
    node.done()?;
    let track = Track {
        name,
        kind,
        items,
        markers,
        foreign,
    };
    check_track(&track, path)?;
    Ok(track)
}

fn item(value: &Value, path: &str) -> Result<Item, EditError> {
    let (mut node, schema) = Node::open(value, path.to_owned(), &["Clip.1", "Clip.2", "Gap.1", "Transition.1"])?;
    match schema {
        "Gap.1" => {
            node.text("name")?;
            node.enabled()?;
            let (ours, foreign) = node.metadata()?;
            Ours::new(path, ours).done()?;
            if !foreign.is_empty() || !node.list("effects")?.is_empty() || !node.list("markers")?.is_empty() {
                return Err(EditError::at(
                    path,
                    "Slate's gaps carry no metadata, effects or markers",
                ));
            }
            let source = node
                .take("source_range")
                .ok_or_else(|| EditError::at(&node.at("source_range"), "a gap has a source_range"))?;
            let duration = range(source, &node.at("source_range"))?.duration;
            node.done()?;
            Ok(Item::Gap(duration))
        }
        "Transition.1" => {
            let name = node.text("name")?;
            let (ours, foreign) = node.metadata()?;
            let mut ours = Ours::new(path, ours);
            let wipe = ours.text("wipe")?;
            ours.done()?;
            if !foreign.is_empty() {
                return Err(EditError::at(
                    &node.at("metadata"),
                    "Slate's transitions carry only metadata.slate",
                ));
            }
            let wipe = match (node.text("transition_type")?.as_str(), wipe) {
                ("SMPTE_Dissolve", None) => None,
                ("Custom_Transition", Some(pattern)) => Some(Wipe(pattern)),
                ("Custom_Transition", None) => {
                    return Err(EditError::at(
                        &node.at("metadata.slate.wipe"),
                        "a custom transition in Slate is a wipe: name its SMPTE pattern (e.g. bar-wipe-lr)",
                    ));
                }
                (other, _) => {
                    return Err(EditError::at(
                        &node.at("transition_type"),
                        format!("transition `{other}`: Slate has SMPTE_Dissolve, and wipes as Custom_Transition"),
                    ));
                }
            };
            let offset = |node: &mut Node, key: &'static str| {
                let at = node.at(key);
                let value = node
                    .take(key)
                    .ok_or_else(|| EditError::at(&at, "a transition has both offsets"))?;
                time(value, &at)
            };
            let in_offset = offset(&mut node, "in_offset")?;
            let out_offset = offset(&mut node, "out_offset")?;
            node.done()?;
            Ok(Item::Transition(Transition {
                name,
                wipe,
                in_offset,
                out_offset,
            }))
        }
        _ => clip(node, schema, path).map(Item::Clip),
    }
}

fn clip(mut node: Node, schema: &str, path: &str) -> Result<Clip, EditError> {
    let name = node.text("name")?;
    node.enabled()?;
    let (ours, foreign) = node.metadata()?;
    let mut ours = Ours::new(path, ours);
    let gain_db = ours.number("gain_db")?.unwrap_or(0.0);
    let pan = ours.number("pan")?.unwrap_or(0.0);
    ours.done()?;
    let source = node.take("source_range").ok_or_else(|| {
        EditError::at(
            &node.at("source_range"),
            "a clip has a source_range (Slate does not guess it)",
        )
    })?;
    let source = range(source, &node.at("source_range"))?;
    let reference = match schema {
        "Clip.1" => node.take("media_reference").map(|r| (r, node.at("media_reference"))),
        _ => {
            let key = match node.take("active_media_reference_key") {
                None => "DEFAULT_MEDIA".to_owned(),
                Some(Value::String(key)) => key.clone(),
                Some(other) => {
                    return Err(EditError::at(
                        &node.at("active_media_reference_key"),
                        format!("expected a string, not {other}"),
                    ));
                }
            };
            let references = node.take("media_references").and_then(Value::as_object);
            let others = references.map_or(0, |r| r.keys().filter(|k| **k != key).count());
            if others > 0 {
                return Err(EditError::at(
                    &node.at("media_references"),
                    "Slate keeps one media reference per clip: remove the others",
                ));
            }
            references
                .and_then(|r| r.get(&key))
                .map(|r| (r, node.at(&format!("media_references.{key}"))))
        }
    };
    let Some((reference, at)) = reference else {
        return Err(EditError::at(
            path,
            "a clip has a media reference (an ExternalReference)",
        ));
    };
    let (media, available) = external_reference(reference, &at)?;
    let effects = node
        .list("effects")?
        .iter()
        .enumerate()
        .map(|(i, e)| effect(e, &format!("{path}.effects[{i}]")))
        .collect::<Result<_, _>>()?;
    let markers = markers(&mut node)?;
    node.done()?;
    Ok(Clip {
        name,
        media,
        source,
        available,
        effects,
        markers,
        gain_db,
        pan,
        foreign,
    })
}

fn external_reference(value: &Value, path: &str) -> Result<(String, Option<Range>), EditError> {
    let (mut node, _) = Node::open(value, path.to_owned(), &["ExternalReference.1"])?;
    node.text("name")?;
    let (ours, foreign) = node.metadata()?;
    Ours::new(path, ours).done()?;
    if !foreign.is_empty() {
        return Err(EditError::at(
            &node.at("metadata"),
            "Slate keeps a clip's metadata on the clip, not its media reference",
        ));
    }
    let url = node.text("target_url")?;
    if url.is_empty() {
        return Err(EditError::at(&node.at("target_url"), "the media's location is missing"));
    }
    let available = node
        .take("available_range")
        .map(|r| range(r, &node.at("available_range")))
        .transpose()?;
    node.done()?;
    Ok((url, available))
}

fn effect(value: &Value, path: &str) -> Result<Effect, EditError> {
    let (mut node, _) = Node::open(value, path.to_owned(), &["Effect.1"])?;
    let name = node.text("name")?;
    node.enabled()?;
    let (ours, foreign) = node.metadata()?;
    if !foreign.is_empty() {
        return Err(EditError::at(
            &node.at("metadata"),
            "Slate's effects carry only metadata.slate",
        ));
    }
    let mut ours = Ours::new(path, ours);
    let required = |ours: &mut Ours, key: &str| {
        ours.text(key)?
            .filter(|t| !t.is_empty())
            .ok_or_else(|| EditError::at(&ours.at(key), "this effect needs it"))
    };
    let effect = match node.text("effect_name")?.as_str() {
        "slate.element" => Effect::Element {
            name,
            description: required(&mut ours, "description")?,
        },
        "slate.wasm" => Effect::Wasm {
            name,
            plugin: required(&mut ours, "plugin")?,
            config: ours.text("config")?.unwrap_or_default(),
        },
        "slate.lua" => Effect::Lua {
            name,
            script: required(&mut ours, "script")?,
        },
        other => {
            return Err(EditError::at(
                path,
                format!(
                    "effect `{other}` is not one Slate renders: use slate.element (a GStreamer description), \
                     slate.wasm (a plugin) or slate.lua (a stage script), with metadata.slate"
                ),
            ));
        }
    };
    ours.done()?;
    node.done()?;
    Ok(effect)
}

fn markers(node: &mut Node) -> Result<Vec<Marker>, EditError> {
    let base = node.at("markers");
    node.list("markers")?
        .iter()
        .enumerate()
        .map(|(i, m)| marker(m, &format!("{base}[{i}]")))
        .collect()
}

fn marker(value: &Value, path: &str) -> Result<Marker, EditError> {
    let (mut node, _) = Node::open(value, path.to_owned(), &["Marker.1", "Marker.2"])?;
    let name = node.text("name")?;
    let color = node.text("color")?;
    let comment = node.text("comment")?;
    let (ours, foreign) = node.metadata()?;
    Ours::new(path, ours).done()?;
    if !foreign.is_empty() {
        return Err(EditError::at(
            &node.at("metadata"),
            "Slate's markers carry a name, colour and comment only",
        ));
    }
    let marked = node
        .take("marked_range")
        .ok_or_else(|| EditError::at(&node.at("marked_range"), "a marker has a marked_range"))?;
    let range = range(marked, &node.at("marked_range"))?;
    node.done()?;
    Ok(Marker {
        name,
        range,
        color,
        comment,
    })
}

fn title(value: &Value, path: &str) -> Result<Title, EditError> {
    let Some(map) = value.as_object() else {
        return Err(EditError::at(path, "a title is {text, range}"));
    };
    let text = match map.get("text") {
        Some(Value::String(t)) if !t.is_empty() => t.clone(),
        _ => return Err(EditError::at(&join(path, "text"), "a title has text")),
    };
    let range = range(
        map.get("range")
            .ok_or_else(|| EditError::at(&join(path, "range"), "a title has a range (a TimeRange)"))?,
        &join(path, "range"),
    )?;
    if let Some(key) = map.keys().find(|k| !["text", "range"].contains(&k.as_str())) {
        return Err(EditError::at(&join(path, key), "a title is {text, range}"));
    }
    if range.duration.value <= 0 || range.start.value < 0 {
        return Err(EditError::at(
            &join(path, "range"),
            "a title shows for more than nothing, from 0 on",
        ));
    }
    Ok(Title { text, range })
}

pub(crate) fn range(value: &Value, path: &str) -> Result<Range, EditError> {
    let (mut node, _) = Node::open(value, path.to_owned(), &["TimeRange.1"])?;
    let mut part = |key: &'static str| {
        let at = node.at(key);
        let value = node
            .take(key)
            .ok_or_else(|| EditError::at(&at, "a time range has start_time and duration"))?;
        time(value, &at)
    };
    let start = part("start_time")?;
    let duration = part("duration")?;
    node.done()?;
    if duration.value < 0 {
        return Err(EditError::at(&join(path, "duration"), "a duration is not negative"));
    }
    Ok(Range { start, duration })
}

fn time(value: &Value, path: &str) -> Result<Time, EditError> {
    let (mut node, _) = Node::open(value, path.to_owned(), &["RationalTime.1"])?;
    let mut number = |key: &'static str| {
        let at = node.at(key);
        node.take(key)
            .and_then(Value::as_f64)
            .ok_or_else(|| EditError::at(&at, "a RationalTime has a numeric rate and value"))
    };
    let rate = number("rate")?;
    let value = number("value")?;
    node.done()?;
    let rate = Rate::from_f64(rate).map_err(|why| EditError::at(&join(path, "rate"), why))?;
    if value.fract() != 0.0 || value.abs() > 1.0e12 {
        return Err(EditError::at(
            &join(path, "value"),
            format!(
                "{value} is not a whole number of units at rate {rate} (up to 10^12): Slate cuts on whole frames and samples"
            ),
        ));
    }
    Ok(Time::new(value as i64, rate))
}
