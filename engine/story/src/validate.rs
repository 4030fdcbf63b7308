//! Everything a generator relies on, checked before any frame: ranges,
//! colours, unique ids, and references between parts.

use std::collections::BTreeSet;

use crate::locate::Step::{self, Index, Key};
use crate::model::*;

type Problems = Vec<(Vec<Step>, String)>;

fn finite(values: &[f64]) -> bool {
    values.iter().all(|v| v.is_finite())
}

fn valid_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 64 && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

struct Check {
    problems: Problems,
}

impl Check {
    fn fail(&mut self, path: Vec<Step>, message: impl Into<String>) {
        self.problems.push((path, message.into()));
    }

    fn range(&mut self, path: Vec<Step>, value: f64, min: f64, max: f64, unit: &str) {
        if !(value.is_finite() && (min..=max).contains(&value)) {
            self.fail(path, format!("{value} is out of range: {min} to {max}{unit}"));
        }
    }

    fn colour(&mut self, path: Vec<Step>, colour: &str) {
        if crate::rgb(colour).is_none() {
            self.fail(path, format!("`{colour}` is not a colour: write #rrggbb, e.g. #ffffff"));
        }
    }

    fn point(&mut self, path: Vec<Step>, point: &[f64]) {
        if !finite(point) || point.iter().any(|v| v.abs() > 1000.0) {
            self.fail(path, "coordinates must be numbers within 1000 m of the origin");
        }
    }
}

fn at(base: &[Step], more: &[Step]) -> Vec<Step> {
    base.iter().chain(more).cloned().collect()
}

pub fn problems(board: &Storyboard) -> Problems {
    let mut c = Check { problems: Vec::new() };
    header(&mut c, &board.storyboard);
    let names = world(&mut c, &board.world);
    if board.scenes.iter().all(|s| s.shots.is_empty()) {
        c.fail(
            vec![Key("scene")],
            "no shots: add [[scene]] with an id and [[scene.shot]]s",
        );
    }
    let mut scene_ids = BTreeSet::new();
    let mut shot_ids = BTreeSet::new();
    for (si, scene) in board.scenes.iter().enumerate() {
        let scene_base = [Key("scene"), Index(si)];
        if !valid_id(&scene.id) || !scene_ids.insert(scene.id.clone()) {
            c.fail(
                at(&scene_base, &[Key("id")]),
                format!("scene id `{}` is not a new id (letters, digits, - and _)", scene.id),
            );
        }
        for (hi, shot) in scene.shots.iter().enumerate() {
            let base = at(&scene_base, &[Key("shot"), Index(hi)]);
            if !valid_id(&shot.id) || !shot_ids.insert(shot.id.clone()) {
                c.fail(
                    at(&base, &[Key("id")]),
                    format!("shot id `{}` is not a new id (letters, digits, - and _)", shot.id),
                );
            }
            self::shot(&mut c, &base, shot, &names);
        }
    }
    c.problems
}

fn header(c: &mut Check, header: &Header) {
    if header.title.trim().is_empty() {
        c.fail(vec![Key("storyboard"), Key("title")], "give the storyboard a title");
    }
    if !(1..=120).contains(&header.fps) {
        c.fail(
            vec![Key("storyboard"), Key("fps")],
            format!("{} is out of range: 1 to 120", header.fps),
        );
    }
    if header.size.iter().any(|s| !(16..=7680).contains(s) || s % 2 != 0) {
        c.fail(
            vec![Key("storyboard"), Key("size")],
            "width and height are even numbers from 16 to 7680",
        );
    }
}

/// The ids shots may refer to.
struct Names<'a> {
    props: Vec<&'a str>,
    characters: Vec<&'a str>,
    lights: Vec<&'a str>,
}

/// "no `kind`s" or the list of them, for a refusal to name what there is.
fn named(kind: &str, list: &[&str]) -> String {
    if list.is_empty() {
        format!("the world has no {kind}s")
    } else {
        format!("{kind}s: {}", list.join(", "))
    }
}

/// The set, props, characters and lights, each id new in the world.
fn world<'a>(c: &mut Check, world: &'a World) -> Names<'a> {
    if !finite(&world.set.floor) || world.set.floor.iter().any(|f| *f <= 0.0 || *f > 1000.0) {
        c.fail(
            vec![Key("world"), Key("set"), Key("floor")],
            "width and depth are from 0 to 1000 m",
        );
    }
    c.colour(
        vec![Key("world"), Key("set"), Key("floor_colour")],
        &world.set.floor_colour,
    );
    c.colour(vec![Key("world"), Key("set"), Key("background")], &world.set.background);

    let mut ids = BTreeSet::new();
    let mut claim = |c: &mut Check, path: Vec<Step>, id: &str| {
        if !valid_id(id) {
            c.fail(path, format!("id `{id}`: use letters, digits, - and _ (up to 64)"));
        } else if !ids.insert(id.to_owned()) {
            c.fail(path, format!("id `{id}` is used twice in the world"));
        }
    };
    for (i, prop) in world.props.iter().enumerate() {
        let base = [Key("world"), Key("prop"), Index(i)];
        claim(c, at(&base, &[Key("id")]), &prop.id);
        c.point(at(&base, &[Key("position")]), &prop.position);
        if !finite(&prop.size) || prop.size.iter().any(|s| *s <= 0.0 || *s > 100.0) {
            c.fail(at(&base, &[Key("size")]), "width, height and depth are from 0 to 100 m");
        }
        c.colour(at(&base, &[Key("colour")]), &prop.colour);
        c.range(at(&base, &[Key("mass")]), prop.mass, 0.0, 100_000.0, " kg");
    }
    for (i, character) in world.characters.iter().enumerate() {
        let base = [Key("world"), Key("character"), Index(i)];
        claim(c, at(&base, &[Key("id")]), &character.id);
        c.point(at(&base, &[Key("position")]), &character.position);
        c.range(at(&base, &[Key("height")]), character.height, 0.3, 3.0, " m");
        c.colour(at(&base, &[Key("colour")]), &character.colour);
        if character.identity.as_deref().is_some_and(|id| id.trim().is_empty()) {
            c.fail(
                at(&base, &[Key("identity")]),
                "an empty identity: leave it out, or name the registered person",
            );
        }
    }
    for (i, light) in world.lights.iter().enumerate() {
        let base = [Key("world"), Key("light"), Index(i)];
        claim(c, at(&base, &[Key("id")]), &light.id);
        c.point(at(&base, &[Key("position")]), &light.position);
        if light.position[1] < 0.0 {
            c.fail(
                at(&base, &[Key("position")]),
                "lights hang above the floor: y from 0 up",
            );
        }
        c.range(at(&base, &[Key("intensity")]), light.intensity, 0.0, 10.0, "");
        c.range(
            at(&base, &[Key("temperature_k")]),
            light.temperature_k,
            1000.0,
            20_000.0,
            " K",
        );
    }
    Names {
        props: world.props.iter().map(|p| p.id.as_str()).collect(),
        characters: world.characters.iter().map(|p| p.id.as_str()).collect(),
        lights: world.lights.iter().map(|p| p.id.as_str()).collect(),
    }
}

/// One shot: its timing, camera, lighting cues, blocking, actions and
/// audio cues, each within the shot and naming what the world has.
fn shot(c: &mut Check, base: &[Step], shot: &Shot, names: &Names) {
    c.range(at(base, &[Key("duration")]), shot.duration, 0.04, 600.0, " s");
    let duration = if shot.duration.is_finite() { shot.duration } else { 0.0 };
    if let TimeLink::Jump(seconds) = shot.time {
        c.range(at(base, &[Key("time"), Key("jump")]), seconds, 0.0, 86_400.0, " s");
    }
    camera(c, &at(base, &[Key("camera")]), &shot.camera);
    for (li, cue) in shot.lighting.iter().enumerate() {
        lighting(c, &at(base, &[Key("lighting"), Index(li)]), cue, duration, names);
    }
    let mut blocked = BTreeSet::new();
    for (bi, block) in shot.blocking.iter().enumerate() {
        let block_base = at(base, &[Key("blocking"), Index(bi)]);
        if names.characters.contains(&block.character.as_str()) && !blocked.insert(block.character.as_str()) {
            c.fail(
                at(&block_base, &[Key("character")]),
                format!("`{}` is blocked twice in this shot", block.character),
            );
        }
        blocking(c, &block_base, block, duration, names);
    }
    for (ai, action) in shot.actions.iter().enumerate() {
        self::action(c, &at(base, &[Key("action"), Index(ai)]), action, duration, names);
    }
    for (ui, cue) in shot.audio.iter().enumerate() {
        audio(c, &at(base, &[Key("audio"), Index(ui)]), cue, shot, names);
    }
}

/// `c.range` for a time within the shot.
fn within(c: &mut Check, path: Vec<Step>, t: f64, duration: f64) {
    c.range(path, t, 0.0, duration, " s (within the shot)");
}

fn lighting(c: &mut Check, base: &[Step], cue: &LightCue, duration: f64, names: &Names) {
    if !names.lights.contains(&cue.light.as_str()) {
        c.fail(
            at(base, &[Key("light")]),
            format!("no light `{}` ({})", cue.light, named("light", &names.lights)),
        );
    }
    within(c, at(base, &[Key("at")]), cue.at, duration);
    if let Some(until) = cue.until
        && !(until > cue.at && until <= duration)
    {
        c.fail(
            at(base, &[Key("until")]),
            "a fade ends (`until`) after it starts (`at`) and within the shot",
        );
    }
    if let Some(i) = cue.intensity {
        c.range(at(base, &[Key("intensity")]), i, 0.0, 10.0, "");
    }
    if let Some(k) = cue.temperature_k {
        c.range(at(base, &[Key("temperature_k")]), k, 1000.0, 20_000.0, " K");
    }
}

fn blocking(c: &mut Check, base: &[Step], block: &Blocking, duration: f64, names: &Names) {
    if !names.characters.contains(&block.character.as_str()) {
        c.fail(
            at(base, &[Key("character")]),
            format!(
                "no character `{}` ({})",
                block.character,
                named("character", &names.characters)
            ),
        );
    }
    if block.path.is_empty() {
        c.fail(at(base, &[Key("path")]), "give at least one mark [t, x, z]");
    }
    let mut last = -1.0;
    for (pi, mark) in block.path.iter().enumerate() {
        if !finite(mark) || mark[0] < 0.0 || mark[0] > duration || mark[0] <= last {
            c.fail(
                at(base, &[Key("path"), Index(pi)]),
                "marks are [t, x, z] with t rising, within the shot",
            );
            break;
        }
        last = mark[0];
    }
}

fn audio(c: &mut Check, base: &[Step], cue: &AudioCue, shot: &Shot, names: &Names) {
    if !valid_id(&cue.stem) {
        c.fail(
            at(base, &[Key("stem")]),
            format!("stem `{}`: use letters, digits, - and _", cue.stem),
        );
    }
    let duration = if shot.duration.is_finite() { shot.duration } else { 0.0 };
    within(c, at(base, &[Key("at")]), cue.at, duration);
    c.range(at(base, &[Key("gain")]), cue.gain, -60.0, 24.0, " dB");
    match cue.kind {
        CueKind::Line => {
            if cue.text.as_deref().is_none_or(|t| t.trim().is_empty()) {
                c.fail(at(base, &[Key("text")]), "a line needs its words (text)");
            }
            if let Some(by) = &cue.by
                && !names.characters.contains(&by.as_str())
            {
                c.fail(
                    at(base, &[Key("by")]),
                    format!("no character `{by}` ({})", named("character", &names.characters)),
                );
            }
        }
        CueKind::Effect => {
            if let Some(index) = cue.action
                && index >= shot.actions.len()
            {
                c.fail(
                    at(base, &[Key("action")]),
                    format!(
                        "this shot has {} actions; effects name one by its index from 0",
                        shot.actions.len()
                    ),
                );
            }
        }
        CueKind::Music | CueKind::Ambience => {}
    }
}

fn camera(c: &mut Check, base: &[Step], camera: &Camera) {
    c.point(at(base, &[Key("position")]), &camera.position);
    c.point(at(base, &[Key("target")]), &camera.target);
    if camera.position == camera.target {
        c.fail(at(base, &[Key("target")]), "the camera cannot look at its own position");
    }
    c.range(at(base, &[Key("fov")]), camera.fov, 5.0, 150.0, " degrees");
    match (camera.motion, camera.to, camera.degrees) {
        (Move::Static, None, None) => {}
        (Move::Static, _, _) => c.fail(
            at(base, &[Key("move")]),
            "a static camera takes no `to` or `degrees`; name a move",
        ),
        (Move::Orbit, _, None) => c.fail(
            at(base, &[Key("degrees")]),
            "an orbit needs `degrees` around the target",
        ),
        (Move::Orbit, _, Some(d)) => c.range(at(base, &[Key("degrees")]), d, -720.0, 720.0, ""),
        (_, None, _) => c.fail(
            at(base, &[Key("to")]),
            "this move needs `to`: where the camera (dolly, crane) or its target (pan, tilt) ends",
        ),
        (_, Some(to), _) => c.point(at(base, &[Key("to")]), &to),
    }
}

fn action(c: &mut Check, base: &[Step], action: &Action, duration: f64, names: &Names) {
    within(c, at(base, &[Key("at")]), action.at, duration);
    if !names.props.contains(&action.object.as_str()) {
        c.fail(
            at(base, &[Key("object")]),
            format!("no prop `{}` ({})", action.object, named("prop", &names.props)),
        );
    }
    if let Some(by) = &action.by
        && !names.characters.contains(&by.as_str())
    {
        c.fail(
            at(base, &[Key("by")]),
            format!("no character `{by}` ({})", named("character", &names.characters)),
        );
    }
    match action.verb {
        Verb::PickUp if action.by.is_none() => {
            c.fail(at(base, &[Key("by")]), "pick-up needs the character who does it (by)")
        }
        Verb::Place | Verb::Move if action.to.is_none() => c.fail(
            at(base, &[Key("to")]),
            "place and move need `to`: where the object ends",
        ),
        Verb::Recolour => match &action.colour {
            Some(colour) => c.colour(at(base, &[Key("colour")]), colour),
            None => c.fail(at(base, &[Key("colour")]), "recolour needs the new colour"),
        },
        _ => {}
    }
    if let Some(to) = action.to {
        c.point(at(base, &[Key("to")]), &to);
    }
    if action.verb == Verb::Move {
        match action.until {
            Some(until) if until > action.at && until <= duration => {}
            _ => c.fail(
                at(base, &[Key("until")]),
                "a move needs `until`, after `at` and within the shot",
            ),
        }
    }
}
