//! The timeline an editor cuts, and the rules that keep it renderable.

use serde_json::{Map, Value};

use crate::time::{Range, Seconds, Time};

/// A whole edit: tracks played together (the first video track at the
/// bottom, as in OTIO), markers and titles in timeline time.
#[derive(Debug, Clone, PartialEq)]
pub struct Timeline {
    pub name: String,
    /// The timecode of the timeline's first frame, if an editor set one.
    pub global_start: Option<Time>,
    pub tracks: Vec<Track>,
    pub markers: Vec<Marker>,
    /// Text over the picture, each with its in and out on the timeline.
    pub titles: Vec<Title>,
    /// Other tools' metadata, kept as it came.
    pub foreign: Map<String, Value>,
}

/// What a track carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Video,
    /// Sound, named by its stem when it is one (the mix takes the rest as
    /// they are).
    Audio(Option<Stem>),
}

impl Kind {
    /// `video`, `audio`, or the stem's name.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Video => "video",
            Kind::Audio(None) => "audio",
            Kind::Audio(Some(stem)) => stem.as_str(),
        }
    }
}

/// The stems of a mix, as `stemmix` names its pads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stem {
    Dialogue,
    Music,
    Effects,
    Ambience,
}

impl Stem {
    pub const ALL: [Stem; 4] = [Stem::Dialogue, Stem::Music, Stem::Effects, Stem::Ambience];

    pub fn as_str(self) -> &'static str {
        match self {
            Stem::Dialogue => "dialogue",
            Stem::Music => "music",
            Stem::Effects => "effects",
            Stem::Ambience => "ambience",
        }
    }

    pub fn parse(text: &str) -> Option<Stem> {
        Stem::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Track {
    pub name: String,
    pub kind: Kind,
    /// In order: each clip or gap follows the one before; a transition
    /// overlaps the clips on either side of it.
    pub items: Vec<Item>,
    pub markers: Vec<Marker>,
    pub foreign: Map<String, Value>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Item {
    Clip(Clip),
    /// Nothing (black, silence) for this long.
    Gap(Time),
    Transition(Transition),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Clip {
    pub name: String,
    /// Where the media is: a `file://` URL or a path (relative ones from
    /// the timeline file's folder).
    pub media: String,
    /// The part of the media it plays.
    pub source: Range,
    /// The media's whole range, when the timeline says it.
    pub available: Option<Range>,
    pub effects: Vec<Effect>,
    pub markers: Vec<Marker>,
    /// Audio: gain in dB and pan (-1 left .. 1 right).
    pub gain_db: f64,
    pub pan: f64,
    pub foreign: Map<String, Value>,
}

impl Clip {
    pub fn new(name: &str, media: &str, source: Range) -> Clip {
        Clip {
            name: name.to_owned(),
            media: media.to_owned(),
            source,
            available: None,
            effects: Vec::new(),
            markers: Vec::new(),
            gain_db: 0.0,
            pan: 0.0,
            foreign: Map::new(),
        }
    }
}

/// A transition between the clip before it and the clip after it:
/// `in_offset` of the first's end and `out_offset` of the second's start
/// overlap.
#[derive(Debug, Clone, PartialEq)]
pub struct Transition {
    pub name: String,
    /// A dissolve (a crossfade on audio tracks), or a wipe.
    pub wipe: Option<Wipe>,
    pub in_offset: Time,
    pub out_offset: Time,
}

/// A wipe, by its SMPTE pattern as GES names it (`bar-wipe-lr`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wipe(pub String);

#[derive(Debug, Clone, PartialEq)]
pub struct Marker {
    pub name: String,
    pub range: Range,
    /// OTIO's colours: `RED`, `GREEN`, ...
    pub color: String,
    pub comment: String,
}

/// What a clip's picture or sound goes through.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// A GStreamer element description (`videobalance saturation=0`).
    Element { name: String, description: String },
    /// A WASM stage plugin and its config string.
    Wasm {
        name: String,
        plugin: String,
        config: String,
    },
    /// A Lua stage script.
    Lua { name: String, script: String },
}

/// Text over the picture from `range.start` for `range.duration`.
#[derive(Debug, Clone, PartialEq)]
pub struct Title {
    pub text: String,
    pub range: Range,
}

impl Timeline {
    pub fn new(name: &str) -> Timeline {
        Timeline {
            name: name.to_owned(),
            global_start: None,
            tracks: Vec::new(),
            markers: Vec::new(),
            titles: Vec::new(),
            foreign: Map::new(),
        }
    }

    /// How long it plays: its longest track.
    pub fn duration(&self) -> Seconds {
        self.tracks.iter().map(Track::duration).max().unwrap_or(Seconds::ZERO)
    }

    /// Refuses a clip whose media is not there, naming it by its OTIO
    /// path; relative paths are from `folder` (the timeline file's).
    pub fn check_media(&self, folder: &std::path::Path) -> Result<(), crate::EditError> {
        for (t, track) in self.tracks.iter().enumerate() {
            for (i, item) in track.items.iter().enumerate() {
                let Item::Clip(clip) = item else { continue };
                let path = clip.media.strip_prefix("file://").unwrap_or(&clip.media);
                if clip.media.contains("://") && !clip.media.starts_with("file://") {
                    return Err(crate::EditError::at(
                        &format!("tracks[{t}].children[{i}].media_references.DEFAULT_MEDIA.target_url"),
                        format!("`{}`: Slate edits local files (file:// or a path)", clip.media),
                    ));
                }
                if !folder.join(path).is_file() {
                    return Err(crate::EditError::at(
                        &format!("tracks[{t}].children[{i}].media_references.DEFAULT_MEDIA.target_url"),
                        format!("no media file `{path}` (relative paths are from {})", folder.display()),
                    ));
                }
            }
        }
        Ok(())
    }
}

impl Track {
    pub fn new(name: &str, kind: Kind) -> Track {
        Track {
            name: name.to_owned(),
            kind,
            items: Vec::new(),
            markers: Vec::new(),
            foreign: Map::new(),
        }
    }

    /// Its length: clips and gaps end to end. A transition takes no time
    /// of its own (OTIO's rule): around its cut, the clip before plays on
    /// for `out_offset` past its end and the clip after starts `in_offset`
    /// before its start, from their media's handles.
    pub fn duration(&self) -> Seconds {
        self.items.iter().fold(Seconds::ZERO, |sum, item| sum + item.length())
    }

    /// Where each item starts on the track and how long it plays there (a
    /// transition: the stretch around its cut where both clips play).
    pub fn placed(&self) -> Vec<(Seconds, Seconds)> {
        let mut at = Seconds::ZERO;
        self.items
            .iter()
            .map(|item| match item {
                Item::Transition(t) => (
                    at - t.in_offset.seconds(),
                    t.in_offset.seconds() + t.out_offset.seconds(),
                ),
                _ => {
                    let placed = (at, item.length());
                    at = at + placed.1;
                    placed
                }
            })
            .collect()
    }
}

impl Item {
    /// How much of the track it takes.
    pub fn length(&self) -> Seconds {
        match self {
            Item::Clip(clip) => clip.source.duration.seconds(),
            Item::Gap(duration) => duration.seconds(),
            Item::Transition(_) => Seconds::ZERO,
        }
    }
}

/// Checks what OTIO allows but Slate cannot render: transitions that are
/// not between two clips or overlap each other (clips would overlap on
/// the track), ranges outside their media, empty items. `path` names each track as OTIO does.
pub(crate) fn check_track(track: &Track, path: &str) -> Result<(), crate::EditError> {
    use crate::EditError;
    let at = |i: usize| format!("{path}.children[{i}]");
    for (i, item) in track.items.iter().enumerate() {
        match item {
            Item::Clip(clip) => {
                let here = at(i);
                if clip.source.start.value < 0 {
                    return Err(EditError::at(
                        &format!("{here}.source_range.start_time"),
                        "a clip cannot start before its media does",
                    ));
                }
                if clip.source.duration.value <= 0 {
                    return Err(EditError::at(
                        &format!("{here}.source_range.duration"),
                        "a clip lasts more than nothing",
                    ));
                }
                if let Some(available) = clip.available
                    && (clip.source.start.seconds() < available.start.seconds() || clip.source.end() > available.end())
                {
                    return Err(EditError::at(
                        &format!("{here}.source_range"),
                        format!(
                            "{} .. {} is outside the media's available range {} .. {}",
                            clip.source.start.seconds(),
                            clip.source.end(),
                            available.start.seconds(),
                            available.end()
                        ),
                    ));
                }
                if !(-1.0..=1.0).contains(&clip.pan) {
                    return Err(EditError::at(
                        &format!("{here}.metadata.slate.pan"),
                        "pan is -1 (left) .. 1 (right)",
                    ));
                }
                if !(-60.0..=24.0).contains(&clip.gain_db) {
                    return Err(EditError::at(
                        &format!("{here}.metadata.slate.gain_db"),
                        "gain is -60 .. 24 dB",
                    ));
                }
                // What the transitions on either side take of it.
                let taken_before = match i.checked_sub(1).and_then(|j| track.items.get(j)) {
                    Some(Item::Transition(t)) => t.out_offset.seconds(),
                    _ => Seconds::ZERO,
                };
                let taken_after = match track.items.get(i + 1) {
                    Some(Item::Transition(t)) => t.in_offset.seconds(),
                    _ => Seconds::ZERO,
                };
                if taken_before + taken_after > clip.source.duration.seconds() {
                    return Err(EditError::at(
                        &here,
                        format!(
                            "the transitions around it overlap it by {}, more than its {}: clips would overlap on the track",
                            taken_before + taken_after,
                            clip.source.duration.seconds()
                        ),
                    ));
                }
            }
            Item::Gap(duration) if duration.value <= 0 => {
                return Err(EditError::at(
                    &format!("{}.source_range.duration", at(i)),
                    "a gap lasts more than nothing",
                ));
            }
            Item::Gap(_) => {}
            Item::Transition(t) => {
                let here = at(i);
                if t.in_offset.value < 0
                    || t.out_offset.value < 0
                    || (t.in_offset.value == 0 && t.out_offset.value == 0)
                {
                    return Err(EditError::at(
                        &here,
                        "a transition's in_offset and out_offset are not negative, and not both zero",
                    ));
                }
                let (Some(Item::Clip(before)), Some(Item::Clip(after))) = (
                    i.checked_sub(1).and_then(|j| track.items.get(j)),
                    track.items.get(i + 1),
                ) else {
                    return Err(EditError::at(&here, "a transition goes between two clips"));
                };
                if t.in_offset.seconds() > before.source.duration.seconds()
                    || t.out_offset.seconds() > after.source.duration.seconds()
                {
                    return Err(EditError::at(&here, "a transition is longer than the clips it joins"));
                }
                // The clip after starts early, from its media before its
                // source range: that media must be there.
                if t.in_offset.seconds() > after.source.start.seconds() {
                    return Err(EditError::at(
                        &format!("{here}.in_offset"),
                        format!(
                            "the clip after the cut has {} of media before its start, less than the transition's {}",
                            after.source.start.seconds(),
                            t.in_offset.seconds()
                        ),
                    ));
                }
                if let Some(available) = before.available
                    && before.source.end() + t.out_offset.seconds() > available.end()
                {
                    return Err(EditError::at(
                        &format!("{here}.out_offset"),
                        "the clip before the cut has less media after its end than the transition needs",
                    ));
                }
            }
        }
    }
    Ok(())
}
