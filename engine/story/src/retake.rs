//! Auto-retake for the reference generator: the later shot of a cut the
//! metadata checker flags, re-planned from the world it has to start
//! from. A character off their mark walks the shot's path from where they
//! stand (the whole path moves with its first mark); a camera across the
//! 180-degree line is mirrored back over it (position, target, the move's
//! end; an orbit turns the other way). Props and lights never need it:
//! the reference world carries them through every cut. What cannot be
//! mended here is left for a retake request.

use serde::Serialize;

use crate::camera::{Vec3, add, dot, normalise, scale, sub};
use crate::continuity::{Break, BreakKind, Snapshot};
use crate::model::{Move, Shot};

/// One change made to a shot so a break goes away.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Mend {
    pub kind: BreakKind,
    /// The character, or empty for the camera.
    pub subject: String,
    pub how: String,
}

/// `shot` re-planned so its cut from `before` keeps what `breaks` says it
/// broke, and the mends made; breaks of other kinds are left alone.
pub fn mend(shot: &Shot, before: &Snapshot, breaks: &[Break], line: Option<(Vec3, Vec3)>) -> (Shot, Vec<Mend>) {
    let mut shot = shot.clone();
    let mut mends = Vec::new();
    for b in breaks {
        match b.kind {
            BreakKind::OffMark => {
                let Some((_, mark)) = before.characters.iter().find(|(id, _)| id == &b.subject) else {
                    continue;
                };
                let Some(block) = shot.blocking.iter_mut().find(|bl| bl.character == b.subject) else {
                    continue;
                };
                let Some(first) = block.path.first().copied() else {
                    continue;
                };
                let (dx, dz) = (mark[0] - first[1], mark[2] - first[2]);
                for point in &mut block.path {
                    point[1] += dx;
                    point[2] += dz;
                }
                mends.push(Mend {
                    kind: b.kind,
                    subject: b.subject.clone(),
                    how: format!(
                        "{}'s path starts at their mark ({:.2}, {:.2}): moved {:.2} m",
                        b.subject,
                        mark[0],
                        mark[2],
                        dx.hypot(dz)
                    ),
                });
            }
            BreakKind::CrossedLine => {
                let Some((a, b_point)) = line else {
                    continue;
                };
                let mirror = |p: Vec3| mirrored(p, a, b_point);
                let camera = &mut shot.camera;
                camera.position = mirror(camera.position);
                camera.target = mirror(camera.target);
                match camera.motion {
                    Move::Orbit => camera.degrees = camera.degrees.map(|d| -d),
                    Move::Static => {}
                    _ => camera.to = camera.to.map(mirror),
                }
                mends.push(Mend {
                    kind: b.kind,
                    subject: String::new(),
                    how: "the camera is mirrored back across the 180-degree line".into(),
                });
            }
            _ => {}
        }
    }
    (shot, mends)
}

/// `p` mirrored over the vertical plane through `a` and `b`.
fn mirrored(p: Vec3, a: Vec3, b: Vec3) -> Vec3 {
    let along = normalise([b[0] - a[0], 0.0, b[2] - a[2]]);
    let from_a = sub([p[0], a[1], p[2]], a);
    let on_line = add(a, scale(along, dot(from_a, along)));
    let across = sub(on_line, [p[0], a[1], p[2]]);
    [p[0] + 2.0 * across[0], p[1], p[2] + 2.0 * across[2]]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Storyboard;
    use crate::camera::View;
    use crate::continuity::{check_cut, line_of};
    use crate::world::shot_starts;

    const BOARD: &str = include_str!("../../../pipelines/storyboards/retake.toml");

    fn cut(board: &Storyboard, next: &Shot) -> (Snapshot, Vec<Break>) {
        let starts = shot_starts(board);
        let shots: Vec<&Shot> = board.shots().map(|(_, s)| s).collect();
        let view = |shot: &Shot, t| View::of_shot(&shot.camera, shot.duration, t, 160, 90);
        let before = Snapshot::of("one", &starts[0].during(shots[0], 0.5), &view(shots[0], 0.5));
        let after = Snapshot::of("two", &starts[1].during(next, 0.0), &view(next, 0.0));
        let breaks = check_cut(&before, &after, next, line_of(board));
        (before, breaks)
    }

    #[test]
    fn a_shot_off_its_mark_and_across_the_line_is_mended_into_a_clean_cut() {
        let board = Storyboard::parse(BOARD, "retake.toml").expect("valid");
        let two = &board.scenes[0].shots[1];
        let (before, breaks) = cut(&board, two);
        let kinds: Vec<BreakKind> = breaks.iter().map(|b| b.kind).collect();
        assert_eq!(kinds, [BreakKind::OffMark, BreakKind::CrossedLine]);
        let (mended, mends) = mend(two, &before, &breaks, line_of(&board));
        assert_eq!(mends.len(), 2, "{mends:?}");
        let left = cut(&board, &mended).1;
        assert!(left.is_empty(), "the retaken cut is clean: {left:?}");
        // The walk keeps its shape from the mark; the camera its height and move.
        assert_eq!(mended.blocking[0].path, [[0.0, -0.5, 0.5], [0.5, 0.0, 1.0]]);
        assert_eq!(mended.camera.position, [1.0, 1.6, 3.0]);
        assert_eq!(mended.camera.to, Some([0.5, 1.6, 2.0]));
        assert!((mended.camera.target[2] + 0.2).abs() < 1e-12);
    }

    #[test]
    fn breaks_it_cannot_mend_are_left_alone() {
        let board = Storyboard::parse(BOARD, "retake.toml").expect("valid");
        let two = &board.scenes[0].shots[1];
        let (before, _) = cut(&board, two);
        let moved = Break {
            kind: BreakKind::Moved,
            subject: "cup".into(),
            detail: String::new(),
        };
        let (same, mends) = mend(two, &before, &[moved], line_of(&board));
        assert_eq!((&same, mends.len()), (two, 0));
    }

    #[test]
    fn mirroring_keeps_height_and_distance_to_the_line() {
        let (a, b) = ([0.0, 0.0, 0.0], [2.0, 0.0, 0.0]);
        assert_eq!(mirrored([1.0, 1.5, 3.0], a, b), [1.0, 1.5, -3.0]);
        let (a, b) = ([0.0, 0.0, 0.0], [1.0, 0.0, 1.0]);
        let m = mirrored([1.0, 0.7, 0.0], a, b);
        assert!(
            (m[0] - 0.0).abs() < 1e-12 && (m[2] - 1.0).abs() < 1e-12 && m[1] == 0.7,
            "{m:?}"
        );
    }
}
