//! The continuity checker on world-state metadata: 50 generated
//! storyboards played clean (with legitimate changes at cuts: actions and
//! cues at a shot's first instant, resets, a deliberate line cross) and 50
//! with one planted break each. Prints the confusion table.

use slate_story::camera::View;
use slate_story::continuity::{BreakKind, Snapshot, check_cut};
use slate_story::world::shot_starts;
use slate_story::*;

/// splitmix64: a small, fixed random stream.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
    }

    fn range(&mut self, a: f64, b: f64) -> f64 {
        a + (b - a) * self.next()
    }

    fn pick(&mut self, n: usize) -> usize {
        ((self.next() * n as f64) as usize).min(n - 1)
    }
}

fn camera(rng: &mut Rng, side: f64) -> Camera {
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

fn shot(id: &str, camera: Camera) -> Shot {
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

fn colour(rng: &mut Rng) -> String {
    format!("#{:02x}{:02x}{:02x}", rng.pick(256), rng.pick(256), rng.pick(256))
}

/// A table with props on it, two characters facing across it (the line),
/// two lights, three shots from one side, with changes inside shots and
/// legitimate ones at cuts.
fn storyboard(rng: &mut Rng) -> Storyboard {
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
        size: [0.1, 0.1, 0.1],
        colour: colour(rng),
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
    match rng.pick(5) {
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
        _ => shots[2].time = TimeLink::Reset,
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

/// The two frames around each cut, as metadata.
fn cuts(board: &Storyboard) -> Vec<(Snapshot, Snapshot, Shot)> {
    let shots: Vec<&Shot> = board.shots().map(|(_, s)| s).collect();
    let starts = shot_starts(board);
    let frame = |i: usize, t: f64| {
        let view = View::of_shot(&shots[i].camera, shots[i].duration, t, 320, 180);
        Snapshot::of(&shots[i].id, &starts[i].during(shots[i], t), &view)
    };
    (1..shots.len())
        .map(|i| (frame(i - 1, shots[i - 1].duration), frame(i, 0.0), shots[i].clone()))
        .collect()
}

/// Plants one break in the frame after a cut; returns its kind.
fn plant(rng: &mut Rng, cuts: &mut [(Snapshot, Snapshot, Shot)]) -> BreakKind {
    let cut = rng.pick(cuts.len());
    let (before, after, next) = &mut cuts[cut];
    // Only change what the next shot does not explain.
    let free: Vec<usize> = (0..after.props.len())
        .filter(|&i| after.props[i].3 && !next.actions.iter().any(|a| a.at <= 0.0 && a.object == after.props[i].0))
        .collect();
    let prop = free[rng.pick(free.len())];
    match rng.pick(5) {
        0 => {
            after.props[prop].1[0] += rng.range(0.2, 0.6);
            BreakKind::Moved
        }
        1 => {
            after.props[prop].3 = false;
            BreakKind::Vanished
        }
        2 => {
            let c = &mut after.props[prop].2;
            c[0] = c[0].wrapping_add(96);
            BreakKind::Recoloured
        }
        3 => {
            let uncued = if next.lighting.iter().any(|c| c.light == "key") {
                1
            } else {
                0
            };
            after.lights[uncued].1 *= rng.range(1.5, 2.0);
            BreakKind::LightJump
        }
        _ => {
            next.crosses_line = false;
            after.camera[2] = -before.camera[2].signum() * after.camera[2].abs();
            BreakKind::CrossedLine
        }
    }
}

#[test]
fn planted_breaks_are_found_and_clean_cuts_pass() {
    let mut rng = Rng(2026);
    let (mut tp, mut fp, mut fn_, mut tn) = (0, 0, 0, 0);
    let mut wrong_kind = Vec::new();
    for n in 0..100 {
        let mut board = storyboard(&mut rng);
        board.storyboard.title = format!("generated {n}");
        let mut cuts = cuts(&board);
        // Even storyboards get a break (never across a reset cut, which
        // starts the world over).
        let resets = cuts.iter().any(|(_, _, s)| s.time == TimeLink::Reset);
        let planted = (n % 2 == 0).then(|| {
            if resets {
                cuts.truncate(1);
            }
            plant(&mut rng, &mut cuts)
        });
        let line = Some(([-1.0, 0.0, 0.0], [1.0, 0.0, 0.0]));
        let found: Vec<BreakKind> = cuts
            .iter()
            .flat_map(|(before, after, next)| check_cut(before, after, next, line))
            .map(|b| b.kind)
            .collect();
        match (planted, found.is_empty()) {
            (Some(kind), false) => {
                tp += 1;
                if !found.contains(&kind) {
                    wrong_kind.push((n, kind, found.clone()));
                }
            }
            (Some(_), true) => fn_ += 1,
            (None, false) => {
                fp += 1;
                println!("false alarm on storyboard {n}: {found:?}");
            }
            (None, true) => tn += 1,
        }
    }
    let precision = f64::from(tp) / f64::from((tp + fp).max(1));
    let recall = f64::from(tp) / f64::from((tp + fn_).max(1));
    println!("metadata mode, 100 storyboards (50 with a planted break):");
    println!("               flagged  passed");
    println!("  planted      {tp:>7}  {fn_:>6}");
    println!("  clean        {fp:>7}  {tn:>6}");
    println!("  precision {precision:.2}, recall {recall:.2}");
    assert!(precision >= 0.95 && recall >= 0.95);
    assert!(wrong_kind.is_empty(), "found, but named wrong: {wrong_kind:?}");
}
