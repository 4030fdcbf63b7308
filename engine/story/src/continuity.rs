//! Continuity across cuts, from world-state metadata: the last frame of a
//! shot against the first frame of the next. An object may only move,
//! appear, vanish or change colour through an action; lighting may only
//! change on a cue; characters keep their marks; the camera stays on its
//! side of the 180-degree line unless the shot crosses it on purpose.
//! What the next shot declares at its first instant (an action or cue at
//! 0 s, a reset, `crosses_line`) explains a change.

use serde::{Deserialize, Serialize};

use crate::camera::View;
use crate::model::{Shot, TimeLink, Verb};
use crate::world::WorldState;

/// What one frame's metadata says about the world.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    pub shot: String,
    /// Props: id, middle, colour, shown.
    pub props: Vec<(String, [f64; 3], [u8; 3], bool)>,
    pub characters: Vec<(String, [f64; 3])>,
    /// Lights: id, intensity, colour temperature.
    pub lights: Vec<(String, f64, f64)>,
    pub camera: [f64; 3],
}

impl Snapshot {
    pub fn of(shot: &str, state: &WorldState, view: &View) -> Snapshot {
        Snapshot {
            shot: shot.to_owned(),
            props: state
                .props
                .iter()
                .map(|p| (p.id.clone(), p.centre(), p.colour, p.visible))
                .collect(),
            characters: state.characters.iter().map(|c| (c.id.clone(), c.position)).collect(),
            lights: state
                .lights
                .iter()
                .map(|l| (l.id.clone(), l.intensity, l.temperature_k))
                .collect(),
            camera: view.position,
        }
    }
}

/// The metadata field a generator's frames carry the world in
/// ([`WorldMeta`] as JSON), for a checker downstream.
pub const WORLD_FIELD: &str = "story.world";

/// One frame's world for a checker downstream: the snapshot, what its
/// shot declares, and the 180-degree line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorldMeta {
    pub shot: String,
    pub snapshot: Snapshot,
    pub declared: Declared,
    pub line: Option<([f64; 3], [f64; 3])>,
}

/// What a shot declares at its first instant, which explains a change at
/// the cut into it: a reset, a meant line crossing, actions and light
/// cues at 0 s.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Declared {
    pub reset: bool,
    pub crosses_line: bool,
    /// The actions at 0 s: verb and object.
    pub actions: Vec<(Verb, String)>,
    /// The lights cued at 0 s.
    pub cues: Vec<String>,
}

impl Declared {
    pub fn of(shot: &Shot) -> Declared {
        Declared {
            reset: shot.time == TimeLink::Reset,
            crosses_line: shot.crosses_line,
            actions: shot
                .actions
                .iter()
                .filter(|a| a.at <= 0.0)
                .map(|a| (a.verb, a.object.clone()))
                .collect(),
            cues: shot
                .lighting
                .iter()
                .filter(|c| c.at <= 0.0)
                .map(|c| c.light.clone())
                .collect(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BreakKind {
    Moved,
    Appeared,
    Vanished,
    Recoloured,
    LightJump,
    OffMark,
    CrossedLine,
}

/// A continuity break at a cut.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Break {
    pub kind: BreakKind,
    /// The prop, character or light; empty for the line.
    pub subject: String,
    pub detail: String,
}

/// How far things may differ and still be the same: metres, intensity
/// ratio, kelvin.
const SAME_PLACE: f64 = 0.01;
const SAME_LIGHT: f64 = 0.05;
const SAME_KELVIN: f64 = 50.0;

fn distance(a: [f64; 3], b: [f64; 3]) -> f64 {
    ((a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2) + (a[2] - b[2]).powi(2)).sqrt()
}

/// The 180-degree line of a storyboard: between its first two
/// characters where they first stand.
pub fn line_of(board: &crate::Storyboard) -> Option<([f64; 3], [f64; 3])> {
    match board.world.characters.as_slice() {
        [a, b, ..] => Some((a.position, b.position)),
        _ => None,
    }
}

/// Checks the cut from `before` (last frame of a shot) to `after` (first
/// frame of `next`). `line` is the 180-degree line: two points on the
/// floor (e.g. two characters, or a character and the main prop).
pub fn check_cut(before: &Snapshot, after: &Snapshot, next: &Shot, line: Option<([f64; 3], [f64; 3])>) -> Vec<Break> {
    check_declared(before, after, &Declared::of(next), line)
}

/// [`check_cut`] with what the next shot declares as metadata carries it.
pub fn check_declared(
    before: &Snapshot,
    after: &Snapshot,
    next: &Declared,
    line: Option<([f64; 3], [f64; 3])>,
) -> Vec<Break> {
    let mut breaks = Vec::new();
    if next.reset {
        return breaks;
    }
    let acted_on = |id: &str, verbs: &[Verb]| {
        next.actions
            .iter()
            .any(|(verb, object)| object == id && verbs.contains(verb))
    };
    for (id, position, colour, shown) in &before.props {
        let Some((_, now, now_colour, now_shown)) = after.props.iter().find(|p| &p.0 == id) else {
            continue;
        };
        if shown != now_shown && !acted_on(id, &[Verb::Appear, Verb::Vanish]) {
            let kind = if *shown {
                BreakKind::Vanished
            } else {
                BreakKind::Appeared
            };
            breaks.push(Break {
                kind,
                subject: id.clone(),
                detail: format!(
                    "{id} {} at the cut with no action",
                    if *shown { "vanishes" } else { "appears" }
                ),
            });
            continue;
        }
        let moved = distance(*position, *now);
        if moved > SAME_PLACE && !acted_on(id, &[Verb::Move, Verb::Place, Verb::PickUp]) {
            breaks.push(Break {
                kind: BreakKind::Moved,
                subject: id.clone(),
                detail: format!("{id} moves {moved:.2} m at the cut with no action"),
            });
        }
        if colour != now_colour && !acted_on(id, &[Verb::Recolour]) {
            breaks.push(Break {
                kind: BreakKind::Recoloured,
                subject: id.clone(),
                detail: format!("{id} changes colour at the cut with no action"),
            });
        }
    }
    for (id, position) in &before.characters {
        let Some((_, now)) = after.characters.iter().find(|c| &c.0 == id) else {
            continue;
        };
        if distance(*position, *now) > 0.05 {
            breaks.push(Break {
                kind: BreakKind::OffMark,
                subject: id.clone(),
                detail: format!("{id} is {:.2} m off their mark at the cut", distance(*position, *now)),
            });
        }
    }
    for (id, intensity, kelvin) in &before.lights {
        let Some((_, now, now_kelvin)) = after.lights.iter().find(|l| &l.0 == id) else {
            continue;
        };
        let cued = next.cues.iter().any(|light| light == id);
        let jumped =
            (now - intensity).abs() > SAME_LIGHT * intensity.max(0.1) || (now_kelvin - kelvin).abs() > SAME_KELVIN;
        if jumped && !cued {
            breaks.push(Break {
                kind: BreakKind::LightJump,
                subject: id.clone(),
                detail: format!(
                    "light {id} goes {intensity:.2} -> {now:.2}, {kelvin:.0} K -> {now_kelvin:.0} K with no cue"
                ),
            });
        }
    }
    if let Some((a, b)) = line
        && !next.crosses_line
    {
        let side = |camera: [f64; 3]| {
            let (line, to) = ([b[0] - a[0], b[2] - a[2]], [camera[0] - a[0], camera[2] - a[2]]);
            (line[0] * to[1] - line[1] * to[0]).signum()
        };
        if side(before.camera) * side(after.camera) < 0.0 {
            breaks.push(Break {
                kind: BreakKind::CrossedLine,
                subject: String::new(),
                detail: "the camera crosses the 180-degree line; mark the shot crosses_line = true if it is meant"
                    .into(),
            });
        }
    }
    breaks
}
