//! The reference renderer on the coffee storyboard: the cup keeps its
//! world position across every cut, and lands on the frame where the
//! camera projects it — by the frame's own metadata and, independently,
//! by finding its colour in the pixels.

use slate_story::Storyboard;
use slate_story::camera::View;
use slate_story::render::{Frame, render};
use slate_story::world::shot_starts;

const COFFEE: &str = include_str!("../../../pipelines/storyboards/coffee.toml");

/// The bounding-box centre of the green cup's pixels (green well above
/// red and blue, whatever the light's colour).
fn green_blob(frame: &Frame) -> Option<[f64; 2]> {
    let (mut min, mut max) = ([f64::MAX; 2], [f64::MIN; 2]);
    for (i, p) in frame.rgba.chunks_exact(4).enumerate() {
        let (r, g, b) = (f64::from(p[0]), f64::from(p[1]), f64::from(p[2]));
        if g > 40.0 && g > 1.5 * r && g > 1.3 * b {
            let (x, y) = ((i as u32 % frame.width) as f64, (i as u32 / frame.width) as f64);
            min = [min[0].min(x), min[1].min(y)];
            max = [max[0].max(x + 1.0), max[1].max(y + 1.0)];
        }
    }
    (min[0] <= max[0]).then(|| [(min[0] + max[0]) / 2.0, (min[1] + max[1]) / 2.0])
}

#[test]
fn the_cup_stays_put_across_cuts_and_lands_where_the_camera_projects_it() {
    let board = Storyboard::parse(COFFEE, "coffee.toml").unwrap();
    let [width, height] = board.storyboard.size;
    let starts = shot_starts(&board);
    let mut previous_end: Option<[f64; 3]> = None;
    println!(
        "{:<8} {:>6} {:>22} {:>18} {:>18}",
        "shot", "t", "cup world", "projected", "blob"
    );
    for ((_, shot), start) in board.shots().zip(&starts) {
        let cup_at_start = start.prop("cup").unwrap().position;
        if let Some(end) = previous_end {
            assert_eq!(cup_at_start, end, "{}: the cup is where the last shot left it", shot.id);
        }
        for t in [0.0, shot.duration] {
            let state = start.during(shot, t);
            let cup = state.prop("cup").unwrap();
            if cup.held_by.is_some() {
                continue;
            }
            let view = View::of_shot(&shot.camera, shot.duration, t, width, height);
            let frame = render(&board, &state, &view);
            let (px, py, _) = view.project(cup.centre()).expect("the cup is in front of the camera");
            let meta = frame.objects.iter().find(|o| o.id == "cup").unwrap();
            let screen = meta.screen.unwrap();
            let blob = green_blob(&frame).expect("the cup is in the picture");
            println!(
                "{:<8} {t:>6.1} {:>22} {:>18} {:>18}",
                shot.id,
                format!("{:.2?}", cup.position),
                format!("{px:.1}, {py:.1}"),
                format!("{:.1}, {:.1}", blob[0], blob[1])
            );
            assert_eq!(meta.world, cup.centre());
            assert!(
                (screen[0] - px).abs() <= 2.0 && (screen[1] - py).abs() <= 2.0,
                "{}: metadata {screen:?}",
                shot.id
            );
            assert!(
                (blob[0] - px).abs() <= 2.0 && (blob[1] - py).abs() <= 2.0,
                "{} at {t}: blob {blob:?}, projection ({px:.1}, {py:.1})",
                shot.id
            );
            assert!(meta.pixels > 50, "{}: the cup shows", shot.id);
        }
        previous_end = Some(start.during(shot, shot.duration).prop("cup").unwrap().position);
    }
}

#[test]
fn the_same_seed_renders_the_same_bytes_and_another_changes_only_the_floor() {
    let board = Storyboard::parse(COFFEE, "coffee.toml").unwrap();
    let shot = &board.scenes[0].shots[0];
    let state = shot_starts(&board)[0].during(shot, 1.0);
    let view = View::of_shot(&shot.camera, shot.duration, 1.0, 320, 180);
    let once = render(&board, &state, &view);
    assert_eq!(once, render(&board, &state, &view));
    let mut reseeded = board.clone();
    reseeded.storyboard.seed += 1;
    let other = render(&reseeded, &state, &view);
    assert_ne!(once.rgba, other.rgba, "the floor's grain follows the seed");
    assert_eq!(
        once.objects, other.objects,
        "objects are where the storyboard puts them"
    );
    // Pixels that differ are floor pixels: not the cup's green, not the sky.
    let sky = slate_story::rgb(&board.world.set.background).unwrap();
    for (a, b) in once.rgba.chunks_exact(4).zip(other.rgba.chunks_exact(4)) {
        if a != b {
            assert_ne!(&a[..3], &sky[..]);
            assert!(
                !(a[1] > 40 && f64::from(a[1]) > 1.5 * f64::from(a[0])),
                "a cup pixel changed"
            );
        }
    }
}
