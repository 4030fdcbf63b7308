//! Auto-retake. Before a frame is rendered, the metadata checker judges
//! every cut from the world state the takes will carry (it needs no
//! pixels), so no flagged take is ever encoded. For a flagged cut a retake
//! request goes to whoever automates the batch (`slate generate
//! --on-retake SCRIPT.lua`), who may edit the shot (e.g. say the line
//! crossing is meant) or leave it; the cut is judged again and the
//! reference generator mends what is still broken
//! ([`slate_story::retake`]) from the world the shot has to start from.
//! Each shot gets at most `attempts` retakes; a break still there after
//! them stays in the index's cuts.

use serde::{Deserialize, Serialize};
use slate_story::camera::View;
use slate_story::continuity::{Break, Snapshot, check_cut, line_of};
use slate_story::retake::{Mend, mend};
use slate_story::world::{WorldState, shot_starts};
use slate_story::{Shot, Storyboard, shot_field};

use crate::GenerateError;

/// A retake request: the shot after a flagged cut, and its breaks.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Request<'a> {
    pub scene: &'a str,
    pub shot: &'a str,
    /// Where the shot is in the storyboard: `scene[0].shot[1]`.
    pub field: &'a str,
    /// 1 on the shot's first retake.
    pub attempt: u32,
    pub breaks: &'a [Break],
}

/// What an answer to a retake request may change in the shot.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShotEdits {
    /// Keep the crossing of the 180-degree line: it is meant.
    pub crosses_line: Option<bool>,
    pub camera: Option<CameraEdits>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CameraEdits {
    pub position: Option<[f64; 3]>,
    pub target: Option<[f64; 3]>,
    pub fov: Option<f64>,
}

impl ShotEdits {
    /// Applies the edits; says what changed.
    fn apply(&self, shot: &mut Shot) -> Vec<String> {
        let mut done = Vec::new();
        if let Some(crosses) = self.crosses_line {
            shot.crosses_line = crosses;
            done.push(format!("crosses_line = {crosses}"));
        }
        if let Some(camera) = &self.camera {
            if let Some(p) = camera.position {
                shot.camera.position = p;
                done.push(format!("camera.position = {p:?}"));
            }
            if let Some(t) = camera.target {
                shot.camera.target = t;
                done.push(format!("camera.target = {t:?}"));
            }
            if let Some(fov) = camera.fov {
                shot.camera.fov = fov;
                done.push(format!("camera.fov = {fov}"));
            }
        }
        done
    }
}

/// One retake of one shot.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Retake {
    pub scene: String,
    pub shot: String,
    pub attempt: u32,
    /// What the checker flagged at the cut into the shot.
    pub breaks: Vec<Break>,
    /// What the answer to the retake request changed.
    pub edited: Vec<String>,
    /// What the reference generator changed after that.
    pub mended: Vec<Mend>,
}

/// The storyboard the takes are rendered from, and how it came to be.
#[derive(Debug, Clone)]
pub struct Plan {
    pub board: Storyboard,
    pub retakes: Vec<Retake>,
}

/// Answers retake requests: edits for the shot, or None to let it be.
pub type OnRequest<'a> = dyn FnMut(&Request) -> Result<Option<ShotEdits>, String> + 'a;

/// Judges every cut of `board` (named `name` in errors) and retakes
/// flagged shots, at most `attempts` times each.
pub fn plan(board: &Storyboard, name: &str, attempts: u32, on_request: &mut OnRequest) -> Result<Plan, GenerateError> {
    let mut planned = board.clone();
    let places: Vec<(usize, usize)> = board.places().collect();
    let mut tries = vec![0u32; places.len()];
    let mut retakes = Vec::new();
    loop {
        let starts = shot_starts(&planned);
        let Some((i, breaks)) = (1..places.len()).find_map(|i| {
            let breaks = breaks_at(&planned, &starts, i);
            (!breaks.is_empty() && tries[i] < attempts).then_some((i, breaks))
        }) else {
            break;
        };
        tries[i] += 1;
        let attempt = tries[i];
        let (si, k) = places[i];
        let field = shot_field(si, k);
        let before = snapshot(&planned, &starts, i - 1, true);
        let mut shot = planned.scenes[si].shots[k].clone();
        let request = Request {
            scene: &planned.scenes[si].id,
            shot: &shot.id,
            field: &field,
            attempt,
            breaks: &breaks,
        };
        let answer = on_request(&request).map_err(|why| GenerateError::Retake {
            storyboard: name.to_owned(),
            field: field.clone(),
            why,
        })?;
        let edited = answer.map(|edits| edits.apply(&mut shot)).unwrap_or_default();
        let left = if edited.is_empty() {
            breaks.clone()
        } else {
            check_cut(
                &before,
                &start_of(&planned, &shot, &starts[i]),
                &shot,
                line_of(&planned),
            )
        };
        let (shot, mended) = mend(&shot, &before, &left, line_of(&planned));
        if mended.is_empty() && edited.is_empty() {
            // Nothing more anyone will try: the break stands.
            tries[i] = attempts;
        }
        retakes.push(Retake {
            scene: planned.scenes[si].id.clone(),
            shot: shot.id.clone(),
            attempt,
            breaks,
            edited,
            mended,
        });
        planned.scenes[si].shots[k] = shot;
        let problems = planned.problems();
        if !problems.is_empty() {
            return Err(GenerateError::Retake {
                storyboard: name.to_owned(),
                field,
                why: format!("the retaken shot does not hold together: {}", problems.join("; ")),
            });
        }
    }
    Ok(Plan {
        board: planned,
        retakes,
    })
}

/// The i-th shot's world at its end (`end`) or start, as its frame's
/// metadata says it.
fn snapshot(board: &Storyboard, starts: &[WorldState], i: usize, end: bool) -> Snapshot {
    let shot = board.shots().nth(i).expect("a shot of the board").1;
    if end {
        let [width, height] = board.storyboard.size;
        let view = View::of_shot(&shot.camera, shot.duration, shot.duration, width, height);
        Snapshot::of(&shot.id, &starts[i].during(shot, shot.duration), &view)
    } else {
        start_of(board, shot, &starts[i])
    }
}

/// The first frame's snapshot of `shot` starting from `start`.
fn start_of(board: &Storyboard, shot: &Shot, start: &WorldState) -> Snapshot {
    let [width, height] = board.storyboard.size;
    let view = View::of_shot(&shot.camera, shot.duration, 0.0, width, height);
    Snapshot::of(&shot.id, &start.during(shot, 0.0), &view)
}

/// What the metadata checker finds at the cut into the i-th shot.
pub(crate) fn breaks_at(board: &Storyboard, starts: &[WorldState], i: usize) -> Vec<Break> {
    let next = board.shots().nth(i).expect("a shot of the board").1;
    check_cut(
        &snapshot(board, starts, i - 1, true),
        &snapshot(board, starts, i, false),
        next,
        line_of(board),
    )
}
