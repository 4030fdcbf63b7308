//! `slate.timeline`: timelines (OpenTimelineIO JSON, `slate-edit`) loaded,
//! cut and saved from scripts. Tracks and positions count from 1, as Lua
//! does; refusals name the OTIO path (which counts from 0).

use mlua::{Lua, Table, UserData, UserDataMethods};
use slate_edit::{Clip, Item, Kind, Range, Rate, Stem, Time, Track, Transition, Wipe};

use super::objects::runtime;

/// `Timeline` in scripts.
pub(crate) struct Timeline(slate_edit::Timeline);

pub(super) fn install(lua: &Lua, slate: &Table) -> mlua::Result<()> {
    let timeline = lua.create_table()?;
    timeline.set(
        "load",
        lua.create_function(|_, path: String| {
            let text =
                std::fs::read_to_string(&path).map_err(|e| runtime(format!("slate.timeline.load: {path}: {e}")))?;
            slate_edit::from_otio(&text)
                .map(Timeline)
                .map_err(|e| runtime(format!("{path}: {e}")))
        })?,
    )?;
    timeline.set(
        "new",
        lua.create_function(|_, name: Option<String>| {
            Ok(Timeline(slate_edit::Timeline::new(&name.unwrap_or_default())))
        })?,
    )?;
    slate.set("timeline", timeline)
}

/// A Lua position (from 1) as a Rust index.
fn index(position: usize, what: &str) -> mlua::Result<usize> {
    position
        .checked_sub(1)
        .ok_or_else(|| runtime(format!("{what} counts from 1")))
}

fn rate(value: f64) -> mlua::Result<Rate> {
    Rate::from_f64(value).map_err(runtime)
}

/// The rate of the clip at `at` of `track` (from 0): what a script's
/// frame counts for it are in.
fn clip_rate(timeline: &slate_edit::Timeline, track: usize, at: usize) -> Option<Rate> {
    match timeline.tracks.get(track)?.items.get(at)? {
        Item::Clip(clip) => Some(clip.source.start.rate),
        _ => None,
    }
}

/// `{media, start, duration, rate, name?}` (a clip) or `{gap, rate}`.
fn item(spec: &Table) -> mlua::Result<Item> {
    let per_second = rate(
        spec.get::<Option<f64>>("rate")?
            .ok_or_else(|| runtime("an item has a `rate`"))?,
    )?;
    if let Some(frames) = spec.get::<Option<i64>>("gap")? {
        return Ok(Item::Gap(Time::new(frames, per_second)));
    }
    let media: String = spec
        .get::<Option<String>>("media")?
        .ok_or_else(|| runtime("a clip has `media` (or give `gap` for a gap)"))?;
    let start = spec.get::<Option<i64>>("start")?.unwrap_or(0);
    let duration: i64 = spec
        .get::<Option<i64>>("duration")?
        .ok_or_else(|| runtime("a clip has a `duration`"))?;
    let name = spec.get::<Option<String>>("name")?.unwrap_or_default();
    Ok(Item::Clip(Clip::new(
        &name,
        &media,
        Range::new(Time::new(start, per_second), Time::new(duration, per_second)),
    )))
}

fn describe(lua: &Lua, item: &Item) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    let time = |t: &Table, key: &str, time: Time| -> mlua::Result<()> {
        t.set(key, time.value)?;
        t.set("rate", time.rate.as_f64())
    };
    match item {
        Item::Clip(clip) => {
            t.set("kind", "clip")?;
            t.set("name", clip.name.as_str())?;
            t.set("media", clip.media.as_str())?;
            time(&t, "start", clip.source.start)?;
            time(&t, "duration", clip.source.duration)?;
        }
        Item::Gap(duration) => {
            t.set("kind", "gap")?;
            time(&t, "duration", *duration)?;
        }
        Item::Transition(transition) => {
            t.set("kind", "transition")?;
            time(&t, "in", transition.in_offset)?;
            time(&t, "out", transition.out_offset)?;
            if let Some(wipe) = &transition.wipe {
                t.set("wipe", wipe.0.as_str())?;
            }
        }
    }
    Ok(t)
}

impl UserData for Timeline {
    fn add_methods<M: UserDataMethods<Self>>(methods: &mut M) {
        let refused = |e: slate_edit::EditError| runtime(format!("timeline: {e}"));
        methods.add_method_mut("add_track", |_, t, (name, kind): (String, String)| {
            let kind = match kind.as_str() {
                "video" => Kind::Video,
                "audio" => Kind::Audio(None),
                stem => Kind::Audio(Some(Stem::parse(stem).ok_or_else(|| {
                    runtime(format!(
                        "track kind `{stem}`: video, audio, or a stem (dialogue, music, effects, ambience)"
                    ))
                })?)),
            };
            t.0.tracks.push(Track::new(&name, kind));
            Ok(t.0.tracks.len())
        });
        methods.add_method_mut("insert", move |_, t, (track, at, spec): (usize, usize, Table)| {
            let (track, at) = (index(track, "a track")?, index(at, "a position")?);
            t.0.insert(track, at, item(&spec)?).map_err(refused)
        });
        methods.add_method_mut(
            "trim",
            move |_, t, (track, at, start, duration): (usize, usize, i64, i64)| {
                let (track, at) = (index(track, "a track")?, index(at, "a position")?);
                let Some(rate) = clip_rate(&t.0, track, at) else {
                    return Err(runtime(format!(
                        "timeline: track {} has no clip at {}",
                        track + 1,
                        at + 1
                    )));
                };
                t.0.trim(track, at, Range::new(Time::new(start, rate), Time::new(duration, rate)))
                    .map_err(refused)
            },
        );
        methods.add_method_mut("move", move |_, t, (track, from, to): (usize, usize, usize)| {
            let track = index(track, "a track")?;
            t.0.move_item(track, index(from, "a position")?, index(to, "a position")?)
                .map_err(refused)
        });
        methods.add_method_mut("ripple_delete", move |_, t, (track, at): (usize, usize)| {
            t.0.ripple_delete(index(track, "a track")?, index(at, "a position")?)
                .map(|removed| removed.len())
                .map_err(refused)
        });
        methods.add_method_mut("lift", move |_, t, (track, at): (usize, usize)| {
            t.0.lift(index(track, "a track")?, index(at, "a position")?)
                .map(|_| ())
                .map_err(refused)
        });
        methods.add_method_mut(
            "add_transition",
            move |_, t, (track, after, spec): (usize, usize, Table)| {
                let (track, after) = (index(track, "a track")?, index(after, "a position")?);
                let Some(rate) = clip_rate(&t.0, track, after) else {
                    return Err(runtime(format!(
                        "timeline: a transition goes after a clip; track {} has none at {}",
                        track + 1,
                        after + 1
                    )));
                };
                let frames = |key: &str| -> mlua::Result<i64> { Ok(spec.get::<Option<i64>>(key)?.unwrap_or(0)) };
                let transition = Transition {
                    name: spec.get::<Option<String>>("name")?.unwrap_or_default(),
                    wipe: spec.get::<Option<String>>("wipe")?.map(Wipe),
                    in_offset: Time::new(frames("in")?, rate),
                    out_offset: Time::new(frames("out")?, rate),
                };
                t.0.add_transition(track, after, transition).map_err(refused)
            },
        );
        methods.add_method("items", |lua, t, track: usize| {
            let track =
                t.0.tracks
                    .get(index(track, "a track")?)
                    .ok_or_else(|| runtime(format!("timeline: no track {track}")))?;
            let list = lua.create_table()?;
            for item in &track.items {
                list.push(describe(lua, item)?)?;
            }
            Ok(list)
        });
        methods.add_method("duration", |_, t, ()| Ok(t.0.duration().as_f64()));
        methods.add_method("save", |_, t, path: String| {
            let partial = format!("{path}.partial");
            std::fs::write(&partial, slate_edit::to_otio(&t.0))
                .and_then(|()| std::fs::rename(&partial, &path))
                .map_err(|e| runtime(format!("timeline: cannot write {path}: {e}")))
        });
        methods.add_meta_method("__tostring", |_, t, ()| {
            Ok(format!("Timeline({}, {} tracks)", t.0.name, t.0.tracks.len()))
        });
    }
}
