//! The world at any moment of any shot. One state runs through the whole
//! storyboard: a shot starts from where the previous one left the world
//! (continuous or after a jump), or from the storyboard's first state
//! (reset); only actions change props, so continuity holds by
//! construction.

use crate::model::*;

/// A prop as it is at one moment.
#[derive(Debug, Clone, PartialEq)]
pub struct PropState {
    pub id: String,
    pub shape: Shape,
    /// Centre of the base, metres.
    pub position: [f64; 3],
    pub size: [f64; 3],
    pub colour: [u8; 3],
    pub material: Material,
    pub visible: bool,
    /// Carried by this character.
    pub held_by: Option<String>,
}

impl PropState {
    /// The middle of the prop (its base centre raised by half its height).
    pub fn centre(&self) -> [f64; 3] {
        [
            self.position[0],
            self.position[1] + self.size[1] / 2.0,
            self.position[2],
        ]
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct CharacterState {
    pub id: String,
    pub position: [f64; 3],
    pub height: f64,
    pub colour: [u8; 3],
}

impl CharacterState {
    /// Where a carried prop's base sits: in front of the body at hand height.
    pub fn hand(&self) -> [f64; 3] {
        [
            self.position[0] + 0.3,
            self.position[1] + self.height * 0.5,
            self.position[2],
        ]
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct LightState {
    pub id: String,
    pub role: LightRole,
    pub position: [f64; 3],
    pub intensity: f64,
    pub temperature_k: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct WorldState {
    pub props: Vec<PropState>,
    pub characters: Vec<CharacterState>,
    pub lights: Vec<LightState>,
}

/// Linear between two points.
fn lerp(a: [f64; 3], b: [f64; 3], p: f64) -> [f64; 3] {
    [
        a[0] + (b[0] - a[0]) * p,
        a[1] + (b[1] - a[1]) * p,
        a[2] + (b[2] - a[2]) * p,
    ]
}

impl WorldState {
    /// The world as the storyboard first sets it. Colours are checked by
    /// validation; a bad one reads as grey.
    pub fn initial(board: &Storyboard) -> WorldState {
        let colour = |c: &str| crate::rgb(c).unwrap_or([128, 128, 128]);
        WorldState {
            props: board
                .world
                .props
                .iter()
                .map(|p| PropState {
                    id: p.id.clone(),
                    shape: p.shape,
                    position: p.position,
                    size: p.size,
                    colour: colour(&p.colour),
                    material: p.material,
                    visible: true,
                    held_by: None,
                })
                .collect(),
            characters: board
                .world
                .characters
                .iter()
                .map(|c| CharacterState {
                    id: c.id.clone(),
                    position: c.position,
                    height: c.height,
                    colour: colour(&c.colour),
                })
                .collect(),
            lights: board
                .world
                .lights
                .iter()
                .map(|l| LightState {
                    id: l.id.clone(),
                    role: l.role,
                    position: l.position,
                    intensity: l.intensity,
                    temperature_k: l.temperature_k,
                })
                .collect(),
        }
    }

    pub fn prop(&self, id: &str) -> Option<&PropState> {
        self.props.iter().find(|p| p.id == id)
    }

    /// This shot's changes applied up to `t` seconds into it, to the
    /// state the shot started from.
    pub fn during(&self, shot: &Shot, t: f64) -> WorldState {
        let mut state = self.clone();
        for block in &shot.blocking {
            if let Some(character) = state.characters.iter_mut().find(|c| c.id == block.character) {
                let [x, z] = mark_at(&block.path, t);
                character.position = [x, character.position[1], z];
            }
        }
        let mut actions: Vec<&Action> = shot.actions.iter().filter(|a| a.at <= t).collect();
        actions.sort_by(|a, b| a.at.total_cmp(&b.at));
        for action in actions {
            let Some(prop) = state.props.iter_mut().find(|p| p.id == action.object) else {
                continue;
            };
            match action.verb {
                Verb::PickUp => prop.held_by = action.by.clone(),
                Verb::Place => {
                    prop.held_by = None;
                    prop.position = action.to.unwrap_or(prop.position);
                }
                Verb::Move => {
                    let to = action.to.unwrap_or(prop.position);
                    let until = action.until.unwrap_or(action.at);
                    let p = if until > action.at {
                        ((t - action.at) / (until - action.at)).clamp(0.0, 1.0)
                    } else {
                        1.0
                    };
                    prop.position = lerp(prop.position, to, p);
                }
                Verb::Appear => prop.visible = true,
                Verb::Vanish => prop.visible = false,
                Verb::Recolour => prop.colour = action.colour.as_deref().and_then(crate::rgb).unwrap_or(prop.colour),
            }
        }
        // Carried props go where the hand goes.
        let hands: Vec<(String, [f64; 3])> = state.characters.iter().map(|c| (c.id.clone(), c.hand())).collect();
        for prop in &mut state.props {
            if let Some((_, hand)) = prop
                .held_by
                .as_ref()
                .and_then(|who| hands.iter().find(|(id, _)| id == who))
            {
                prop.position = *hand;
            }
        }
        for cue in shot.lighting.iter().filter(|c| c.at <= t) {
            if let Some(light) = state.lights.iter_mut().find(|l| l.id == cue.light) {
                light.intensity = cue.intensity.unwrap_or(light.intensity);
                light.temperature_k = cue.temperature_k.unwrap_or(light.temperature_k);
            }
        }
        state
    }
}

/// Where a path of marks `[t, x, z]` is at `t`.
fn mark_at(path: &[[f64; 3]], t: f64) -> [f64; 2] {
    let after = path.partition_point(|m| m[0] <= t);
    match (after.checked_sub(1).map(|i| path[i]), path.get(after).copied()) {
        (None, None) => [0.0, 0.0],
        (None, Some(m)) | (Some(m), None) => [m[1], m[2]],
        (Some(a), Some(b)) => {
            let p = (t - a[0]) / (b[0] - a[0]);
            [a[1] + (b[1] - a[1]) * p, a[2] + (b[2] - a[2]) * p]
        }
    }
}

/// The first frame of a shot whose world shows what happens at `at`
/// seconds: frame k shows the world at k / fps, and [`WorldState::during`]
/// applies an action from its time on.
pub fn first_frame_at(at: f64, fps: u32) -> u32 {
    let fps_f = f64::from(fps);
    let mut k = ((at * fps_f).floor() - 1.0).max(0.0) as u32;
    while f64::from(k) / fps_f < at {
        k += 1;
    }
    k
}

/// The world-state event markers of frame `k`: the actions of `shot`
/// that first show in it.
pub fn events_at(shot: &Shot, k: u32, fps: u32) -> impl Iterator<Item = &Action> {
    shot.actions.iter().filter(move |a| first_frame_at(a.at, fps) == k)
}

/// The world at the start of every shot, in storyboard order.
pub fn shot_starts(board: &Storyboard) -> Vec<WorldState> {
    let first = WorldState::initial(board);
    let mut starts = Vec::new();
    let mut current = first.clone();
    for (_, shot) in board.shots() {
        if shot.time == TimeLink::Reset {
            current = first.clone();
        }
        starts.push(current.clone());
        current = current.during(shot, shot.duration);
    }
    starts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_frame_showing_a_moment_is_the_one_during_applies_it_at() {
        assert_eq!(first_frame_at(0.0, 25), 0);
        assert_eq!(first_frame_at(0.28, 25), 7, "0.28 * 25 is 7.000000000000001 in floats");
        assert_eq!(first_frame_at(0.3, 25), 8);
        assert_eq!(first_frame_at(2.0, 25), 50);
        for k in 0..500u32 {
            let at = f64::from(k) * 0.013;
            let frame = first_frame_at(at, 30);
            assert!(f64::from(frame) / 30.0 >= at && (frame == 0 || f64::from(frame - 1) / 30.0 < at));
        }
    }
}
