//! Generated storyboards for the continuity tests: a table with props on
//! it, two characters facing across it (the 180-degree line), two lights,
//! three shots from one side, with changes inside shots and (optionally)
//! one legitimate change at a cut.

#![allow(dead_code)] // each test uses part of it

use slate_story::*;

/// splitmix64: a small, fixed random stream.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
    }

    pub fn range(&mut self, a: f64, b: f64) -> f64 {
        a + (b - a) * self.next()
    }

    pub fn pick(&mut self, n: usize) -> usize {
        ((self.next() * n as f64) as usize).min(n - 1)
    }
}

pub fn camera(rng: &mut Rng, side: f64) -> Camera {
    Camera {
        position: [rng.range(-1.5, 1.5), rng.range(1.2, 1.8), side * rng.range(2.5, 4.0)],
        target: [0.0, 0.8, 0.0],
        fov: rng.range(25.0, 50.0),
        motion: Move::Static,
        to: None,
        degrees: None,
        ease: Ease::InOut,
    }
}

pub fn shot(id: &str, camera: Camera) -> Shot {
    Shot {
        id: id.into(),
        duration: 2.0,
        time: TimeLink::Continuous,
        camera,
        physics: false,
        crosses_line: false,
        lighting: Vec::new(),
        blocking: Vec::new(),
        actions: Vec::new(),
        audio: Vec::new(),
    }
}

/// Hues the props take, apart from the table's (about 30 degrees) and
/// the characters' (213 and 334) and from each other, so a camera that
/// sees only pixels can tell them apart.
pub const PROP_HUES: [f64; 6] = [60.0, 100.0, 140.0, 175.0, 265.0, 295.0];

/// A saturated colour of `hue` degrees.
pub fn colour_of_hue(rng: &mut Rng, hue: f64) -> String {
    let (s, v) = (rng.range(0.7, 0.95), rng.range(0.7, 0.95));
    let c = v * s;
    let x = c * (1.0 - ((hue / 60.0) % 2.0 - 1.0).abs());
    let (r, g, b) = match (hue / 60.0) as u32 {
        0 => (c, x, 0.0),
        1 => (x, c, 0.0),
        2 => (0.0, c, x),
        3 => (0.0, x, c),
        4 => (x, 0.0, c),
        _ => (c, 0.0, x),
    };
    let byte = |u: f64| ((u + v - c) * 255.0).round() as u8;
    format!("#{:02x}{:02x}{:02x}", byte(r), byte(g), byte(b))
}

/// A table with props on it, two characters facing across it (the line),
/// two lights, three shots from one side, with changes inside shots and,
/// when `change_at_a_cut`, one legitimate change at a cut.
pub fn storyboard(rng: &mut Rng, change_at_a_cut: bool) -> Storyboard {
    let first_hue = rng.pick(PROP_HUES.len());
    let props: Vec<Prop> = std::iter::once(Prop {
        id: "table".into(),
        shape: Shape::Box,
        position: [0.0, 0.0, 0.0],
        size: [1.2, 0.75, 0.8],
        colour: "#8b5a2b".into(),
        material: Material::Wood,
        mass: 0.0,
    })
    .chain((0..2 + rng.pick(3)).map(|i| Prop {
        id: format!("thing{i}"),
        shape: [Shape::Box, Shape::Cylinder, Shape::Sphere][rng.pick(3)],
        position: [rng.range(-0.5, 0.5), 0.75, rng.range(-0.3, 0.3)],
        size: [0.18, 0.18, 0.18],
        colour: colour_of_hue(rng, PROP_HUES[(first_hue + i) % PROP_HUES.len()]),
        material: Material::Plastic,
        mass: 0.2,
    }))
    .collect();
    let mut shots = vec![
        shot("a", camera(rng, 1.0)),
        shot("b", camera(rng, 1.0)),
        shot("c", camera(rng, 1.0)),
    ];
    // A move inside the first shot: the world changes between cuts too.
    shots[0].actions.push(Action {
        at: 0.5,
        verb: Verb::Move,
        object: "thing0".into(),
        by: None,
        to: Some([rng.range(-0.5, 0.5), 0.75, rng.range(-0.3, 0.3)]),
        until: Some(1.5),
        colour: None,
    });
    // One legitimate change at a cut.
    match if change_at_a_cut { rng.pick(5) } else { 5 } {
        0 => shots[1].actions.push(Action {
            at: 0.0,
            verb: Verb::Place,
            object: "thing1".into(),
            by: None,
            to: Some([0.4, 0.75, 0.2]),
            until: None,
            colour: None,
        }),
        1 => shots[2].lighting.push(LightCue {
            light: "key".into(),
            at: 0.0,
            until: None,
            intensity: Some(0.5),
            temperature_k: Some(3200.0),
        }),
        2 => {
            shots[2].crosses_line = true;
            shots[2].camera = camera(rng, -1.0);
        }
        3 => shots[1].actions.push(Action {
            at: 0.0,
            verb: Verb::Recolour,
            object: "thing0".into(),
            by: None,
            to: None,
            until: None,
            colour: Some("#10e0e0".into()),
        }),
        4 => shots[2].time = TimeLink::Reset,
        _ => {}
    }
    let light = |id: &str, role, position| Light {
        id: String::from(id),
        role,
        position,
        intensity: 1.0,
        temperature_k: 5600.0,
    };
    Storyboard {
        storyboard: Header {
            title: "generated".into(),
            fps: 25,
            size: [320, 180],
            seed: 1,
        },
        world: World {
            set: Set {
                floor: [8.0, 8.0],
                floor_colour: "#808080".into(),
                background: "#202830".into(),
            },
            props,
            characters: vec![
                Character {
                    id: "ada".into(),
                    position: [-1.0, 0.0, 0.0],
                    height: 1.7,
                    colour: "#3a5f8f".into(),
                    identity: None,
                },
                Character {
                    id: "ben".into(),
                    position: [1.0, 0.0, 0.0],
                    height: 1.8,
                    colour: "#8f3a5f".into(),
                    identity: None,
                },
            ],
            lights: vec![
                light("key", LightRole::Key, [2.0, 3.0, 2.0]),
                light("fill", LightRole::Fill, [-2.5, 2.0, 2.0]),
            ],
        },
        scenes: vec![Scene { id: "s".into(), shots }],
    }
}
