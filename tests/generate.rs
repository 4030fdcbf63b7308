//! `slate generate`: every shot of a storyboard in two seeded variants,
//! rendered two at a time into MP4 takes (ffprobe, not ours, counts their
//! frames), an index with each variant's cuts judged from the world
//! state, and a second run that keeps what is there and renders only
//! what is missing.

use std::path::Path;

use slate_e2e::*;

const STORYBOARD: &str = r##"
[storyboard]
title = "batch"
fps = 10
size = [160, 90]
seed = 7

[world.set]
floor = [6.0, 6.0]

[[world.prop]]
id = "table"
shape = "box"
position = [0.0, 0.0, 0.0]
size = [1.2, 0.75, 0.8]
colour = "#8b5a2b"

[[world.prop]]
id = "cup"
shape = "cylinder"
position = [0.2, 0.75, 0.1]
size = [0.1, 0.12, 0.1]
colour = "#20c040"

[[world.light]]
id = "key"
role = "key"
position = [2.0, 3.0, 2.0]
intensity = 1.0

[[scene]]
id = "s"

[[scene.shot]]
id = "wide"
duration = 0.5
camera = { position = [0.0, 1.6, 4.0], target = [0.0, 0.8, 0.0], fov = 45 }

[[scene.shot]]
id = "close"
duration = 0.3
camera = { position = [0.9, 1.3, 2.0], target = [0.2, 0.8, 0.1], fov = 20 }
"##;

fn frames(file: &Path) -> u64 {
    let probe = ffprobe(file);
    probe["streams"][0]["nb_frames"]
        .as_str()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{probe:#}"))
}

fn generate(dir: &Path) -> (serde_json::Value, String) {
    generate_with(dir, &["--variants", "2", "--jobs", "2"])
}

fn generate_with(dir: &Path, args: &[&str]) -> (serde_json::Value, String) {
    let output = slate(dir)
        .args(["generate", "board.toml", "--out", "takes"])
        .args(args)
        .output()
        .unwrap();
    let (stdout, stderr) = texts(&output);
    assert!(output.status.success(), "{stderr}");
    assert_no_panic(&stderr, "slate generate");
    let index = serde_json::from_slice(&std::fs::read(dir.join("takes/index.json")).unwrap()).unwrap();
    (index, stdout)
}

#[test]
fn shots_and_variants_render_in_parallel_and_a_second_run_keeps_them() {
    let scratch = tempfile::tempdir().unwrap();
    let dir = scratch.path();
    std::fs::write(dir.join("board.toml"), STORYBOARD).unwrap();
    let (index, stdout) = generate(dir);
    assert!(
        stdout.contains("4 takes (4 rendered, 0 kept), 2 cuts, continuity 1.00"),
        "{stdout}"
    );
    let takes = index["takes"].as_array().unwrap();
    let names: Vec<(u64, u64, &str)> = takes
        .iter()
        .map(|t| {
            (
                t["variant"].as_u64().unwrap(),
                t["seed"].as_u64().unwrap(),
                t["shot"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        names,
        [(0, 7, "wide"), (0, 7, "close"), (1, 8, "wide"), (1, 8, "close")]
    );
    for (variant, shot, count) in [(0, "wide", 5), (0, "close", 3), (1, "wide", 5), (1, "close", 3)] {
        let file = dir.join(format!("takes/v{variant}/s-{shot}.mp4"));
        assert_eq!(frames(&file), count, "{}", file.display());
    }
    assert!(
        index["cuts"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["breaks"].as_array().unwrap().is_empty())
    );
    assert!(!dir.join("takes/v0/s-wide.mp4.partial").exists());

    // Again: nothing to do. Without one take: only that one.
    let kept = std::fs::metadata(dir.join("takes/v0/s-wide.mp4"))
        .unwrap()
        .modified()
        .unwrap();
    let (_, stdout) = generate(dir);
    assert!(stdout.contains("4 takes (0 rendered, 4 kept)"), "{stdout}");
    std::fs::remove_file(dir.join("takes/v1/s-close.mp4")).unwrap();
    let (index, stdout) = generate(dir);
    assert!(stdout.contains("4 takes (1 rendered, 3 kept)"), "{stdout}");
    assert_eq!(index["takes"][3]["rendered"], true);
    assert_eq!(
        std::fs::metadata(dir.join("takes/v0/s-wide.mp4"))
            .unwrap()
            .modified()
            .unwrap(),
        kept
    );
}

#[test]
fn a_bad_storyboard_is_refused_with_its_line() {
    let scratch = tempfile::tempdir().unwrap();
    std::fs::write(
        scratch.path().join("board.toml"),
        STORYBOARD.replace("fov = 20", "fov = 400"),
    )
    .unwrap();
    let output = slate(scratch.path())
        .args(["generate", "board.toml", "--out", "takes"])
        .output()
        .unwrap();
    let (_, stderr) = texts(&output);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("board.toml:") && stderr.contains("camera.fov"),
        "{stderr}"
    );
    assert!(!scratch.path().join("takes").exists());
}

/// Ctrl-C mid-batch: the takes that were finished stay, the one being
/// rendered leaves nothing, and the next run renders only the rest.
#[test]
fn a_stopped_batch_keeps_its_finished_takes() {
    let scratch = tempfile::tempdir().unwrap();
    let dir = scratch.path();
    // Four long-ish takes, one at a time.
    let board = STORYBOARD
        .replace("duration = 0.5", "duration = 3.0")
        .replace("duration = 0.3", "duration = 3.0");
    std::fs::write(dir.join("board.toml"), board).unwrap();
    let child = slate(dir)
        .args([
            "generate",
            "board.toml",
            "--variants",
            "2",
            "--jobs",
            "1",
            "--out",
            "takes",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let first = dir.join("takes/v0/s-wide.mp4");
    let started = std::time::Instant::now();
    while !first.exists() {
        assert!(started.elapsed().as_secs() < 120, "the first take never came");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    interrupt(&child);
    let output = child.wait_with_output().unwrap();
    let (_, stderr) = texts(&output);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("of 4 takes are done and kept; run again to finish"),
        "{stderr}"
    );
    let left: Vec<_> = walk(&dir.join("takes"));
    assert!(
        left.iter().all(|p| !p.to_string_lossy().ends_with(".partial")),
        "{left:?}"
    );
    let done = left
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "mp4"))
        .count();
    assert!((1..4).contains(&done), "{left:?}");
    assert_eq!(frames(&first), 30);
    let (_, stdout) = generate_with(dir, &["--variants", "2", "--jobs", "2"]);
    assert!(
        stdout.contains(&format!("4 takes ({} rendered, {done} kept)", 4 - done)),
        "{stdout}"
    );
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(walk(&path));
        } else {
            found.push(path);
        }
    }
    found
}
