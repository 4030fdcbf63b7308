//! The camera of a shot at any moment, and where world points land on the
//! frame (a pinhole: vertical field of view, square pixels, y down).

use crate::model::{Camera, Ease, Move};

pub type Vec3 = [f64; 3];

pub fn sub(a: Vec3, b: Vec3) -> Vec3 {
    [a[0] - b[0], a[1] - b[1], a[2] - b[2]]
}

pub fn add(a: Vec3, b: Vec3) -> Vec3 {
    [a[0] + b[0], a[1] + b[1], a[2] + b[2]]
}

pub fn scale(a: Vec3, s: f64) -> Vec3 {
    [a[0] * s, a[1] * s, a[2] * s]
}

pub fn dot(a: Vec3, b: Vec3) -> f64 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

pub fn cross(a: Vec3, b: Vec3) -> Vec3 {
    [
        a[1] * b[2] - a[2] * b[1],
        a[2] * b[0] - a[0] * b[2],
        a[0] * b[1] - a[1] * b[0],
    ]
}

pub fn normalise(a: Vec3) -> Vec3 {
    let length = dot(a, a).sqrt();
    if length > 0.0 { scale(a, 1.0 / length) } else { a }
}

/// A camera at one moment: where it is, where it looks, its frame.
#[derive(Debug, Clone, PartialEq)]
pub struct View {
    pub position: Vec3,
    pub target: Vec3,
    pub fov: f64,
    pub width: u32,
    pub height: u32,
    right: Vec3,
    up: Vec3,
    forward: Vec3,
    /// Pixels per unit of tan(angle).
    focal: f64,
}

fn ease(ease: Ease, p: f64) -> f64 {
    let p = p.clamp(0.0, 1.0);
    match ease {
        Ease::Linear => p,
        Ease::In => p * p,
        Ease::Out => 1.0 - (1.0 - p) * (1.0 - p),
        Ease::InOut => p * p * (3.0 - 2.0 * p),
    }
}

impl View {
    pub fn new(position: Vec3, target: Vec3, fov: f64, width: u32, height: u32) -> View {
        let forward = normalise(sub(target, position));
        // Straight down or up has no horizon: lean on z for "right".
        let world_up = if forward[1].abs() > 0.999 {
            [0.0, 0.0, -1.0]
        } else {
            [0.0, 1.0, 0.0]
        };
        let right = normalise(cross(forward, world_up));
        let up = cross(right, forward);
        let focal = f64::from(height) / 2.0 / (fov.to_radians() / 2.0).tan();
        View {
            position,
            target,
            fov,
            width,
            height,
            right,
            up,
            forward,
            focal,
        }
    }

    /// The shot's camera `t` seconds in, its move eased over the shot.
    pub fn of_shot(camera: &Camera, duration: f64, t: f64, width: u32, height: u32) -> View {
        let p = ease(camera.ease, if duration > 0.0 { t / duration } else { 1.0 });
        let lerp = |a: Vec3, b: Vec3| add(a, scale(sub(b, a), p));
        let (mut position, mut target) = (camera.position, camera.target);
        match (camera.motion, camera.to) {
            (Move::Dolly | Move::Crane, Some(to)) => position = lerp(camera.position, to),
            (Move::Pan | Move::Tilt, Some(to)) => target = lerp(camera.target, to),
            (Move::Orbit, _) => {
                let angle = camera.degrees.unwrap_or(0.0).to_radians() * p;
                let offset = sub(camera.position, camera.target);
                let (sin, cos) = angle.sin_cos();
                position = add(
                    camera.target,
                    [
                        offset[0] * cos + offset[2] * sin,
                        offset[1],
                        -offset[0] * sin + offset[2] * cos,
                    ],
                );
            }
            _ => {}
        }
        if target == position {
            target = add(position, [0.0, 0.0, -1.0]);
        }
        View::new(position, target, camera.fov, width, height)
    }

    /// Pixel coordinates (x right, y down, from the top-left corner) of a
    /// world point, and its depth; None behind the camera.
    pub fn project(&self, point: Vec3) -> Option<(f64, f64, f64)> {
        let d = sub(point, self.position);
        let depth = dot(d, self.forward);
        if depth <= 1e-6 {
            return None;
        }
        let x = f64::from(self.width) / 2.0 + dot(d, self.right) / depth * self.focal;
        let y = f64::from(self.height) / 2.0 - dot(d, self.up) / depth * self.focal;
        Some((x, y, depth))
    }

    /// The ray through the centre of pixel (x, y): origin and direction.
    pub fn ray(&self, x: f64, y: f64) -> (Vec3, Vec3) {
        let dx = (x - f64::from(self.width) / 2.0) / self.focal;
        let dy = (f64::from(self.height) / 2.0 - y) / self.focal;
        let direction = normalise(add(self.forward, add(scale(self.right, dx), scale(self.up, dy))));
        (self.position, direction)
    }

    /// Which side of the line between two points the camera stands on
    /// (+1 or -1), looking down from above: for the 180-degree rule.
    pub fn side_of(&self, a: Vec3, b: Vec3) -> f64 {
        let line = sub(b, a);
        let to_camera = sub(self.position, a);
        (line[0] * to_camera[2] - line[2] * to_camera[0]).signum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_target_lands_in_the_middle_and_rays_go_back_through_points() {
        let view = View::new([0.0, 1.6, 4.0], [0.0, 0.8, 0.0], 45.0, 1280, 720);
        let (x, y, _) = view.project([0.0, 0.8, 0.0]).unwrap();
        assert!((x - 640.0).abs() < 1e-9 && (y - 360.0).abs() < 1e-9);
        let point = [0.4, 1.1, -0.3];
        let (x, y, depth) = view.project(point).unwrap();
        let (origin, direction) = view.ray(x, y);
        let along = dot(sub(point, origin), direction);
        let closest = add(origin, scale(direction, along));
        assert!(dot(sub(closest, point), sub(closest, point)).sqrt() < 1e-9);
        assert!(depth > 0.0);
        assert!(view.project([0.0, 1.6, 5.0]).is_none(), "behind the camera");
    }
}
