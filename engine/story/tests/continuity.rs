//! The continuity checker on world-state metadata: 50 generated
//! storyboards played clean (with legitimate changes at cuts: actions and
//! cues at a shot's first instant, resets, a deliberate line cross) and 50
//! with one planted break each. Prints the confusion table.

use slate_story::camera::View;
use slate_story::continuity::{BreakKind, Snapshot, check_cut};
use slate_story::world::shot_starts;
use slate_story::*;

mod corpus;
use corpus::{Rng, storyboard};

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
        let mut board = storyboard(&mut rng, true);
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
