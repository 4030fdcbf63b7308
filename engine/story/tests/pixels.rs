//! The continuity checker from pixels alone: 100 generated storyboards
//! rendered by the reference renderer (50 clean, 50 with one break planted
//! in the world a shot starts from, or in its camera), cut into shots by
//! the checker itself and judged at each cut it finds. Prints the
//! confusion table and the cuts found against the real ones.

use slate_story::camera::View;
use slate_story::continuity::BreakKind;
use slate_story::pixels::{Look, Scorer, Shots, Tolerance, compare};
use slate_story::world::{WorldState, shot_starts};
use slate_story::*;

mod corpus;
use corpus::{PROP_HUES, Rng, colour_of_hue, storyboard};

const FPS: u32 = 8;
const SIZE: [u32; 2] = [320, 180];

/// Every frame of the film, each shot played from `starts`.
fn film(board: &Storyboard, starts: &[WorldState]) -> Vec<Look> {
    let mut looks = Vec::new();
    for ((_, shot), start) in board.shots().zip(starts) {
        let frames = (shot.duration * f64::from(FPS)).round() as u32;
        for k in 0..frames {
            let t = f64::from(k) / f64::from(FPS);
            let view = View::of_shot(&shot.camera, shot.duration, t, SIZE[0], SIZE[1]);
            let frame = render::render(board, &start.during(shot, t), &view);
            looks.push(Look::of(
                &frame.rgba,
                frame.width,
                frame.height,
                frame.width as usize * 4,
            ));
        }
    }
    looks
}

/// Plants one break in the shot after a cut: in the world it starts from,
/// or its camera across the line. The shot after it starts right again,
/// as a generator that got one shot wrong would.
fn plant(rng: &mut Rng, board: &mut Storyboard, starts: &mut [WorldState]) -> BreakKind {
    let shot = 1 + rng.pick(starts.len() - 1);
    let start = &mut starts[shot];
    let things: Vec<usize> = (0..start.props.len())
        .filter(|&i| start.props[i].id != "table")
        .collect();
    let prop = things[rng.pick(things.len())];
    match rng.pick(5) {
        0 => {
            let p = &mut start.props[prop].position;
            p[0] += -p[0].signum() * rng.range(0.35, 0.6);
            BreakKind::Moved
        }
        1 => {
            start.props[prop].visible = false;
            BreakKind::Vanished
        }
        2 => {
            let used: Vec<[u8; 3]> = start.props.iter().map(|p| p.colour).collect();
            let free: Vec<f64> = PROP_HUES
                .iter()
                .copied()
                .filter(|h| !used.iter().any(|c| (hue(*c) - h).abs() < 20.0))
                .collect();
            let pick = free[rng.pick(free.len())];
            let colour = colour_of_hue(rng, pick);
            start.props[prop].colour = rgb(&colour).expect("a colour");
            BreakKind::Recoloured
        }
        3 => {
            let light = &mut start.lights[rng.pick(2)];
            match rng.pick(3) {
                0 => light.intensity *= rng.range(1.6, 2.2),
                1 => light.intensity *= rng.range(0.4, 0.6),
                _ => light.temperature_k = rng.range(2800.0, 3500.0),
            }
            BreakKind::LightJump
        }
        _ => {
            let camera = &mut board.scenes[0].shots[shot].camera;
            camera.position[2] = -camera.position[2];
            BreakKind::CrossedLine
        }
    }
}

fn hue(c: [u8; 3]) -> f64 {
    let (r, g, b) = (f64::from(c[0]), f64::from(c[1]), f64::from(c[2]));
    let (max, min) = (r.max(g).max(b), r.min(g).min(b));
    let d = (max - min).max(1e-9);
    let h = if max == r {
        ((g - b) / d).rem_euclid(6.0)
    } else if max == g {
        (b - r) / d + 2.0
    } else {
        (r - g) / d + 4.0
    };
    h * 60.0
}

struct Verdict {
    n: u32,
    planted: Option<BreakKind>,
    found: Vec<BreakKind>,
    cuts: Vec<u64>,
}

fn judge(n: u32) -> Verdict {
    let mut rng = Rng(7_000 + u64::from(n));
    let mut board = storyboard(&mut rng, false);
    board.storyboard.fps = FPS;
    board.storyboard.size = SIZE;
    let mut starts = shot_starts(&board);
    let planted = n.is_multiple_of(2).then(|| plant(&mut rng, &mut board, &mut starts));
    let mut shots = Shots::default();
    let (mut found, mut cuts) = (Vec::new(), Vec::new());
    for look in film(&board, &starts) {
        if let Some((cut, before)) = shots.push(look) {
            cuts.push(cut.frame);
            let after = shots.last().expect("just pushed");
            found.extend(
                compare(&before, after, &Tolerance::default())
                    .into_iter()
                    .map(|b| b.kind),
            );
        }
    }
    Verdict {
        n,
        planted,
        found,
        cuts,
    }
}

#[test]
fn planted_breaks_are_found_from_pixels_alone() {
    let verdicts: Vec<Verdict> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..2u32)
            .map(|w| scope.spawn(move || (0..50).map(|i| judge(i * 2 + w)).collect::<Vec<_>>()))
            .collect();
        workers.into_iter().flat_map(|w| w.join().expect("a worker")).collect()
    });
    let (mut tp, mut fp, mut fn_, mut tn) = (0, 0, 0, 0);
    let (mut cuts_right, mut kinds_right) = (0, 0);
    let real_cuts = vec![2 * u64::from(FPS), 4 * u64::from(FPS)];
    for v in &verdicts {
        let n = v.n;
        cuts_right += usize::from(v.cuts == real_cuts);
        match (v.planted, v.found.is_empty()) {
            (Some(kind), false) => {
                tp += 1;
                kinds_right += usize::from(v.found.contains(&kind));
                if !v.found.contains(&kind) {
                    println!("storyboard {n}: planted {kind:?}, found {:?}", v.found);
                }
            }
            (Some(kind), true) => {
                fn_ += 1;
                println!("storyboard {n}: missed {kind:?} (cuts at {:?})", v.cuts);
            }
            (None, false) => {
                fp += 1;
                println!("storyboard {n}: false alarm {:?} (cuts at {:?})", v.found, v.cuts);
            }
            (None, true) => tn += 1,
        }
    }
    let precision = f64::from(tp) / f64::from((tp + fp).max(1));
    let recall = f64::from(tp) / f64::from((tp + fn_).max(1));
    println!(
        "pixel mode, 100 storyboards (50 with a planted break), {FPS} fps at {}x{}:",
        SIZE[0], SIZE[1]
    );
    println!("               flagged  passed");
    println!("  planted      {tp:>7}  {fn_:>6}");
    println!("  clean        {fp:>7}  {tn:>6}");
    println!("  precision {precision:.2}, recall {recall:.2}; planted kind named in {kinds_right}/{tp}");
    println!("  both cuts found, and no others, in {cuts_right}/100 films");
    assert!(
        precision >= 0.8 && recall >= 0.8,
        "precision {precision:.2}, recall {recall:.2}"
    );
    assert!(cuts_right >= 95, "cuts found right in only {cuts_right}/100 films");
}

/// A still shot scores (near) 1 everywhere; a flickering one loses on
/// flicker, and a jerky one on smoothness.
#[test]
fn shot_scores_follow_their_definitions() {
    let frame = |level: u8, x: usize| {
        let mut rgba = vec![0u8; 64 * 36 * 4];
        for (i, px) in rgba.chunks_exact_mut(4).enumerate() {
            let on = (i % 64).abs_diff(x) < 6;
            px.copy_from_slice(&if on {
                [220, 40, 40, 255]
            } else {
                [level, level, level, 255]
            });
        }
        Look::of(&rgba, 64, 36, 64 * 4)
    };
    let score = |looks: Vec<Look>| {
        let mut scorer = Scorer::default();
        looks.iter().for_each(|l| scorer.push(l));
        scorer.scores()
    };
    let still = score((0..10).map(|_| frame(100, 20)).collect());
    assert_eq!(still.frames, 10);
    assert!(
        still.temporal_flicker > 0.999 && still.motion_smoothness > 0.999,
        "{still:?}"
    );
    assert!(
        still.subject_consistency > 0.999 && still.background_consistency > 0.999,
        "{still:?}"
    );
    let flicker = score((0..10).map(|i| frame(if i % 2 == 0 { 60 } else { 160 }, 20)).collect());
    assert!(flicker.temporal_flicker < still.temporal_flicker - 0.2, "{flicker:?}");
    let smooth = score((0..10).map(|i| frame(100, 10 + 4 * i)).collect());
    let jerky = score((0..10).map(|i| frame(100, if i % 2 == 0 { 10 } else { 40 })).collect());
    assert!(
        smooth.motion_smoothness > jerky.motion_smoothness + 0.01,
        "{smooth:?} {jerky:?}"
    );
}

/// coffee.toml's cuts, and only those: not the key light's cue in the
/// reverse shot (the whole frame dims and warms) nor the cup jumping into
/// Ada's hand in the close-up.
#[test]
fn cuts_are_cuts_not_light_cues_or_props_jumping() {
    let board = Storyboard::parse(include_str!("../../../pipelines/storyboards/coffee.toml"), "coffee").unwrap();
    let mut shots = Shots::default();
    let mut cuts = Vec::new();
    for ((_, shot), start) in board.shots().zip(&shot_starts(&board)) {
        for k in 0..(shot.duration * 25.0) as u32 {
            let t = f64::from(k) / 25.0;
            let view = View::of_shot(&shot.camera, shot.duration, t, 320, 180);
            let frame = render::render(&board, &start.during(shot, t), &view);
            if let Some((cut, _)) = shots.push(Look::of(&frame.rgba, 320, 180, 1280)) {
                cuts.push(cut.frame);
            }
        }
    }
    assert_eq!(cuts, [100, 175]);
}
