//! The reference renderer: a deterministic ray caster for the world's
//! primitives (boxes, cylinders, spheres; characters as a body and a
//! head), Lambert shading with a highlight for shiny materials, shadows
//! from every light, colour temperature. Same inputs, same bytes: plain
//! f64 arithmetic in a fixed order, no threads, no clock. The seed only
//! changes what the storyboard leaves free: the grain of the floor.

use crate::camera::{Vec3, View, add, dot, normalise, scale, sub};
use crate::model::{Material, Shape, Storyboard};
use crate::world::WorldState;

/// One object as the frame shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct ObjectView {
    pub id: String,
    /// `prop` or `character`.
    pub kind: &'static str,
    /// The middle of the object, world coordinates.
    pub world: Vec3,
    /// Where that lands on the frame (None: behind the camera).
    pub screen: Option<[f64; 2]>,
    /// How many pixels show it, and the box around them (x, y, w, h).
    pub pixels: u32,
    pub bbox: Option<[u32; 4]>,
}

/// A rendered frame: RGBA pixels and what is where.
#[derive(Debug, Clone, PartialEq)]
pub struct Frame {
    pub width: u32,
    pub height: u32,
    pub rgba: Vec<u8>,
    pub objects: Vec<ObjectView>,
}

/// A solid for the ray caster, and which object it belongs to.
#[derive(Debug, Clone)]
enum Solid {
    Box { min: Vec3, max: Vec3 },
    Cylinder { base: Vec3, radius: f64, height: f64 },
    Sphere { centre: Vec3, radius: f64 },
}

struct Thing {
    solid: Solid,
    colour: [f64; 3],
    shine: f64,
    /// Index into the frame's objects.
    object: usize,
}

/// A sphere around a solid: a ray that misses it misses the solid.
fn bounds(solid: &Solid) -> (Vec3, f64) {
    match solid {
        Solid::Box { min, max } => {
            let centre = scale(add(*min, *max), 0.5);
            let half = scale(sub(*max, *min), 0.5);
            (centre, dot(half, half).sqrt())
        }
        Solid::Cylinder { base, radius, height } => {
            let centre = add(*base, [0.0, height / 2.0, 0.0]);
            (centre, (radius * radius + height * height / 4.0).sqrt())
        }
        Solid::Sphere { centre, radius } => (*centre, *radius),
    }
}

/// Whether a ray (unit direction) passes within `radius` of `centre`
/// ahead of its origin, or starts inside.
fn may_hit(origin: Vec3, direction: Vec3, (centre, radius): (Vec3, f64)) -> bool {
    let oc = sub(centre, origin);
    let along = dot(oc, direction);
    let away = dot(oc, oc) - along * along;
    away <= radius * radius && (along >= 0.0 || dot(oc, oc) <= radius * radius)
}

fn linear(colour: [u8; 3]) -> [f64; 3] {
    colour.map(|c| (f64::from(c) / 255.0).powf(2.2))
}

/// The colour of light at a temperature (an approximation of the black
/// body locus, normalised so 6500 K is white).
fn light_colour(kelvin: f64) -> [f64; 3] {
    let t = kelvin.clamp(1000.0, 20_000.0) / 100.0;
    let red = if t <= 66.0 {
        1.0
    } else {
        (1.292_936 * (t - 60.0).powf(-0.133_204_76)).clamp(0.0, 1.0)
    };
    let green = if t <= 66.0 {
        (0.390_081_58 * t.ln() - 0.631_841_4).clamp(0.0, 1.0)
    } else {
        (1.129_890_9 * (t - 60.0).powf(-0.075_514_85)).clamp(0.0, 1.0)
    };
    let blue = if t >= 66.0 {
        1.0
    } else if t <= 19.0 {
        0.0
    } else {
        (0.543_206_8 * (t - 10.0).ln() - 1.196_254_1).clamp(0.0, 1.0)
    };
    [red, green, blue].map(|c| c.powf(2.2))
}

/// The nearest hit along a ray: distance and outward normal.
fn hit(solid: &Solid, origin: Vec3, direction: Vec3) -> Option<(f64, Vec3)> {
    const EPSILON: f64 = 1e-9;
    match solid {
        Solid::Box { min, max } => {
            let (mut near, mut far) = (f64::NEG_INFINITY, f64::INFINITY);
            let mut normal = [0.0; 3];
            for axis in 0..3 {
                if direction[axis].abs() < EPSILON {
                    if origin[axis] < min[axis] || origin[axis] > max[axis] {
                        return None;
                    }
                    continue;
                }
                let a = (min[axis] - origin[axis]) / direction[axis];
                let b = (max[axis] - origin[axis]) / direction[axis];
                let (t0, t1) = if a < b { (a, b) } else { (b, a) };
                if t0 > near {
                    near = t0;
                    normal = [0.0; 3];
                    normal[axis] = -direction[axis].signum();
                }
                far = far.min(t1);
            }
            (near <= far && near > EPSILON).then_some((near, normal))
        }
        Solid::Sphere { centre, radius } => {
            let oc = sub(origin, *centre);
            let b = dot(oc, direction);
            let c = dot(oc, oc) - radius * radius;
            let disc = b * b - c;
            if disc < 0.0 {
                return None;
            }
            let t = -b - disc.sqrt();
            (t > EPSILON).then(|| (t, normalise(sub(add(origin, scale(direction, t)), *centre))))
        }
        Solid::Cylinder { base, radius, height } => {
            let mut best: Option<(f64, Vec3)> = None;
            let mut keep = |t: f64, n: Vec3| {
                if t > EPSILON && best.is_none_or(|(b, _)| t < b) {
                    best = Some((t, n));
                }
            };
            // The side.
            let (ox, oz) = (origin[0] - base[0], origin[2] - base[2]);
            let a = direction[0] * direction[0] + direction[2] * direction[2];
            if a > EPSILON {
                let b = ox * direction[0] + oz * direction[2];
                let c = ox * ox + oz * oz - radius * radius;
                let disc = b * b - a * c;
                if disc >= 0.0 {
                    for t in [(-b - disc.sqrt()) / a, (-b + disc.sqrt()) / a] {
                        let y = origin[1] + direction[1] * t;
                        if y >= base[1] && y <= base[1] + height {
                            keep(t, normalise([ox + direction[0] * t, 0.0, oz + direction[2] * t]));
                        }
                    }
                }
            }
            // The caps.
            if direction[1].abs() > EPSILON {
                for (y, n) in [(base[1] + height, [0.0, 1.0, 0.0]), (base[1], [0.0, -1.0, 0.0])] {
                    let t = (y - origin[1]) / direction[1];
                    let (x, z) = (ox + direction[0] * t, oz + direction[2] * t);
                    if x * x + z * z <= radius * radius {
                        keep(t, n);
                    }
                }
            }
            best
        }
    }
}

/// Solids of the world, with one object entry each prop and character.
fn solids(state: &WorldState) -> (Vec<Thing>, Vec<ObjectView>) {
    let mut things = Vec::new();
    let mut objects = Vec::new();
    for prop in state.props.iter().filter(|p| p.visible) {
        let object = objects.len();
        objects.push(ObjectView {
            id: prop.id.clone(),
            kind: "prop",
            world: prop.centre(),
            screen: None,
            pixels: 0,
            bbox: None,
        });
        let [x, y, z] = prop.position;
        let [w, h, d] = prop.size;
        let solid = match prop.shape {
            Shape::Box => Solid::Box {
                min: [x - w / 2.0, y, z - d / 2.0],
                max: [x + w / 2.0, y + h, z + d / 2.0],
            },
            Shape::Cylinder => Solid::Cylinder {
                base: prop.position,
                radius: w.max(d) / 2.0,
                height: h,
            },
            Shape::Sphere => Solid::Sphere {
                centre: prop.centre(),
                radius: h / 2.0,
            },
        };
        let shine = match prop.material {
            Material::Metal => 40.0,
            Material::Glass | Material::Ceramic | Material::Plastic => 20.0,
            Material::Matte | Material::Wood => 0.0,
        };
        things.push(Thing {
            solid,
            colour: linear(prop.colour),
            shine,
            object,
        });
    }
    for character in &state.characters {
        let object = objects.len();
        let body = character.height * 0.82;
        let head = character.height * 0.09;
        objects.push(ObjectView {
            id: character.id.clone(),
            kind: "character",
            world: add(character.position, [0.0, character.height / 2.0, 0.0]),
            screen: None,
            pixels: 0,
            bbox: None,
        });
        let colour = linear(character.colour);
        things.push(Thing {
            solid: Solid::Cylinder {
                base: character.position,
                radius: 0.18,
                height: body,
            },
            colour,
            shine: 0.0,
            object,
        });
        things.push(Thing {
            solid: Solid::Sphere {
                centre: add(character.position, [0.0, body + head, 0.0]),
                radius: head,
            },
            colour: linear([224, 190, 160]),
            shine: 8.0,
            object,
        });
    }
    (things, objects)
}

/// Distance, normal, colour, shine, and the object (None: the floor).
type Hit = (f64, Vec3, [f64; 3], f64, Option<usize>);

/// A stable pseudo-random number in 0..1 for (seed, a, b).
fn grain(seed: u64, a: i64, b: i64) -> f64 {
    let mut h = seed ^ 0x9e37_79b9_7f4a_7c15;
    for v in [a as u64, b as u64] {
        h ^= v.wrapping_mul(0xbf58_476d_1ce4_e5b9);
        h = (h ^ (h >> 31)).wrapping_mul(0x94d0_49bb_1331_11eb);
    }
    (h >> 11) as f64 / (1u64 << 53) as f64
}

/// Renders the world as `view` sees it.
pub fn render(board: &Storyboard, state: &WorldState, view: &View) -> Frame {
    let (things, mut objects) = solids(state);
    let spheres: Vec<(Vec3, f64)> = things.iter().map(|t| bounds(&t.solid)).collect();
    let floor = board.world.set.floor;
    let floor_colour = linear(crate::rgb(&board.world.set.floor_colour).unwrap_or([128, 128, 128]));
    let background = crate::rgb(&board.world.set.background).unwrap_or([0, 0, 0]);
    let seed = board.storyboard.seed;
    let lights: Vec<(Vec3, [f64; 3])> = state
        .lights
        .iter()
        .map(|l| (l.position, scale(light_colour(l.temperature_k), l.intensity)))
        .collect();
    let (width, height) = (view.width, view.height);
    let mut rgba = Vec::with_capacity(width as usize * height as usize * 4);
    // What a ray meets first.
    let nearest = |origin: Vec3, direction: Vec3| {
        let mut best: Option<Hit> = None;
        for (thing, sphere) in things.iter().zip(&spheres) {
            if !may_hit(origin, direction, *sphere) {
                continue;
            }
            if let Some((t, n)) = hit(&thing.solid, origin, direction)
                && best.as_ref().is_none_or(|b| t < b.0)
            {
                best = Some((t, n, thing.colour, thing.shine, Some(thing.object)));
            }
        }
        if direction[1] < -1e-9 {
            let t = -origin[1] / direction[1];
            let p = add(origin, scale(direction, t));
            if p[0].abs() <= floor[0] / 2.0 && p[2].abs() <= floor[1] / 2.0 && best.as_ref().is_none_or(|b| t < b.0) {
                let tile = 0.94 + 0.12 * grain(seed, (p[0] * 4.0).floor() as i64, (p[2] * 4.0).floor() as i64);
                best = Some((t, [0.0, 1.0, 0.0], scale(floor_colour, tile), 0.0, None));
            }
        }
        best
    };
    for y in 0..height {
        for x in 0..width {
            let (origin, direction) = view.ray(f64::from(x) + 0.5, f64::from(y) + 0.5);
            let Some((t, normal, colour, shine, object)) = nearest(origin, direction) else {
                rgba.extend_from_slice(&[background[0], background[1], background[2], 255]);
                continue;
            };
            if let Some(object) = object {
                let seen = &mut objects[object];
                seen.pixels += 1;
                seen.bbox = Some(match seen.bbox {
                    None => [x, y, 1, 1],
                    Some([bx, by, bw, bh]) => {
                        let (left, top) = (bx.min(x), by.min(y));
                        let (right, bottom) = ((bx + bw).max(x + 1), (by + bh).max(y + 1));
                        [left, top, right - left, bottom - top]
                    }
                });
            }
            let point = add(origin, scale(direction, t));
            let lifted = add(point, scale(normal, 1e-6));
            let mut light = [0.12; 3];
            for (position, tint) in &lights {
                let to_light = sub(*position, lifted);
                let distance = dot(to_light, to_light).sqrt();
                let l = scale(to_light, 1.0 / distance);
                let lambert = dot(normal, l).max(0.0);
                // Anything between the point and the light shades it (the
                // floor cannot: lights hang above it).
                let blocked = || {
                    things.iter().zip(&spheres).any(|(thing, sphere)| {
                        may_hit(lifted, l, *sphere) && hit(&thing.solid, lifted, l).is_some_and(|(d, _)| d < distance)
                    })
                };
                if lambert == 0.0 || blocked() {
                    continue;
                }
                let highlight = if shine > 0.0 {
                    dot(normal, normalise(sub(l, direction))).max(0.0).powf(shine) * 0.5
                } else {
                    0.0
                };
                for c in 0..3 {
                    light[c] += tint[c] * (lambert * 0.8 + highlight);
                }
            }
            let pixel = [0, 1, 2].map(|c| {
                ((colour[c] * light[c]).max(0.0).powf(1.0 / 2.2) * 255.0)
                    .round()
                    .min(255.0) as u8
            });
            rgba.extend_from_slice(&[pixel[0], pixel[1], pixel[2], 255]);
        }
    }
    for object in &mut objects {
        object.screen = view.project(object.world).map(|(x, y, _)| [x, y]);
    }
    Frame {
        width,
        height,
        rgba,
        objects,
    }
}
