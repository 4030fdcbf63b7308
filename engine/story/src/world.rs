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
    /// kg; 0 never falls.
    pub mass: f64,
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

impl PropState {
    /// Whether the point (x, z) is over this prop's top.
    fn holds(&self, x: f64, z: f64) -> bool {
        let (dx, dz) = (x - self.position[0], z - self.position[2]);
        let [w, _, d] = self.size;
        match self.shape {
            Shape::Box => dx.abs() <= w / 2.0 && dz.abs() <= d / 2.0,
            Shape::Cylinder | Shape::Sphere => (dx / (w / 2.0)).powi(2) + (dz / (d / 2.0)).powi(2) <= 1.0,
        }
    }
}

/// m/s².
const GRAVITY: f64 = 9.81;

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
                    mass: p.mass,
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
        if shot.physics {
            state.fall(shot, t);
        }
        let mut cues: Vec<&LightCue> = shot.lighting.iter().filter(|c| c.at <= t).collect();
        cues.sort_by(|a, b| a.at.total_cmp(&b.at));
        for cue in cues {
            if let Some(light) = state.lights.iter_mut().find(|l| l.id == cue.light) {
                // A fade goes from what the light was when it began.
                let p = match cue.until {
                    Some(until) if until > cue.at => ((t - cue.at) / (until - cue.at)).clamp(0.0, 1.0),
                    _ => 1.0,
                };
                let towards = |from: f64, to: Option<f64>| to.map_or(from, |to| from + (to - from) * p);
                light.intensity = towards(light.intensity, cue.intensity);
                light.temperature_k = towards(light.temperature_k, cue.temperature_k);
            }
        }
        state
    }

    /// Gravity at `t` seconds into `shot`: every prop with mass that no
    /// one holds falls from where and when it was let go until it rests
    /// on the floor or on the top of a prop whose footprint holds it.
    /// Lower props settle first, so a stack rests in order.
    fn fall(&mut self, shot: &Shot, t: f64) {
        let mut order: Vec<usize> = (0..self.props.len()).collect();
        order.sort_by(|&a, &b| self.props[a].position[1].total_cmp(&self.props[b].position[1]));
        for i in order {
            let prop = &self.props[i];
            if prop.mass <= 0.0 || prop.held_by.is_some() || !prop.visible {
                continue;
            }
            let released = shot
                .actions
                .iter()
                .filter(|a| a.object == prop.id && a.at <= t)
                .filter_map(|a| match a.verb {
                    Verb::Place => Some(a.at),
                    Verb::Move => Some(a.until.unwrap_or(a.at).min(t)),
                    _ => None,
                })
                .fold(0.0, f64::max);
            let [x, y, z] = prop.position;
            let rest = self
                .props
                .iter()
                .enumerate()
                .filter(|&(j, other)| j != i && other.visible && other.holds(x, z))
                .map(|(_, other)| other.position[1] + other.size[1])
                .filter(|top| *top <= y + 1e-9)
                .fold(0.0, f64::max);
            if y > rest {
                let dropped = 0.5 * GRAVITY * (t - released).powi(2);
                self.props[i].position[1] = (y - dropped).max(rest);
            }
        }
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

    const BOARD: &str = r##"
        [storyboard]
        title = "t"
        [world]
        set = { floor = [8.0, 8.0] }
        prop = [
          { id = "table", shape = "box", position = [0.0, 0.0, 0.0], size = [1.2, 0.75, 0.8], colour = "#8b5a2b" },
          { id = "cup", shape = "cylinder", position = [0.2, 0.75, 0.1], size = [0.1, 0.12, 0.1], colour = "#ffffff", mass = 0.3 },
          { id = "ball", shape = "sphere", position = [2.0, 1.0, 0.0], size = [0.2, 0.2, 0.2], colour = "#ff0000", mass = 0.1 },
        ]
        light = [{ id = "sun", role = "key", position = [2.0, 3.0, 2.0], intensity = 2.0, temperature_k = 5600 }]
        [[scene]]
        id = "a"
        [[scene.shot]]
        id = "drop"
        duration = 2.0
        physics = true
        camera = { position = [0.0, 1.6, 4.0], target = [0.0, 0.8, 0.0] }
        action = [{ at = 0.5, verb = "place", object = "cup", to = [0.0, 1.5, 0.0] }]
        lighting = [{ light = "sun", at = 0.5, until = 1.5, intensity = 0.5, temperature_k = 2600 }]
    "##;

    #[test]
    fn with_physics_a_prop_let_go_falls_and_rests_on_what_is_under_it() {
        let board = Storyboard::parse(BOARD, "t.toml").expect("valid");
        let start = WorldState::initial(&board);
        let shot = &board.scenes[0].shots[0];
        let y = |t: f64, id: &str| start.during(shot, t).prop(id).unwrap().position[1];
        // The ball is in the air from the start: 1.0 - g t^2 / 2, then the floor.
        assert!((y(0.2, "ball") - (1.0 - 0.5 * GRAVITY * 0.04)).abs() < 1e-12);
        assert_eq!(y(0.5, "ball"), 0.0);
        // The cup rests on the table until it is put down 0.75 m above it.
        assert_eq!(y(0.4, "cup"), 0.75);
        assert_eq!(y(0.5, "cup"), 1.5);
        assert!((y(0.7, "cup") - (1.5 - 0.5 * GRAVITY * 0.04)).abs() < 1e-12);
        assert_eq!(y(1.0, "cup"), 0.75, "on the table top, not through it");
        assert_eq!(y(2.0, "table"), 0.0, "no mass: it stays");
        // Without physics nothing falls.
        let mut still = shot.clone();
        still.physics = false;
        assert_eq!(start.during(&still, 1.0).prop("cup").unwrap().position[1], 1.5);
        assert_eq!(start.during(&still, 1.0).prop("ball").unwrap().position[1], 1.0);
        // The next shot starts from where they came to rest.
        let ends = start.during(shot, 2.0);
        assert_eq!(
            (
                ends.prop("cup").unwrap().position[1],
                ends.prop("ball").unwrap().position[1]
            ),
            (0.75, 0.0)
        );
    }

    #[test]
    fn a_light_cue_with_until_fades_from_what_the_light_was() {
        let board = Storyboard::parse(BOARD, "t.toml").expect("valid");
        let start = WorldState::initial(&board);
        let shot = &board.scenes[0].shots[0];
        let sun = |t: f64| {
            let light = &start.during(shot, t).lights[0];
            (light.intensity, light.temperature_k)
        };
        assert_eq!(sun(0.4), (2.0, 5600.0));
        assert_eq!(sun(0.5), (2.0, 5600.0));
        assert_eq!(sun(1.0), (1.25, 4100.0));
        assert_eq!(sun(1.5), (0.5, 2600.0));
        assert_eq!(sun(2.0), (0.5, 2600.0));
        let bad = BOARD.replace("until = 1.5", "until = 0.2");
        let error = Storyboard::parse(&bad, "t.toml").unwrap_err().to_string();
        assert!(error.contains("lighting[0].until"), "{error}");
    }

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
