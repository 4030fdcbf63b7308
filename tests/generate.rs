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

    // The batch cuts into a timeline whose media is all there: each shot
    // once, in storyboard order, as long as its take.
    for args in [
        ["edit", "assemble", "takes/index.json", "--out", "cut.otio"],
        ["edit", "import", "cut.otio", "--out", "again.otio"],
    ] {
        let output = slate(dir).args(args).output().unwrap();
        let (stdout, stderr) = texts(&output);
        assert!(output.status.success(), "{args:?}: {stderr}");
        let summary: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
        assert_eq!(summary["duration_s"], 0.8, "{summary}");
        assert_eq!(summary["tracks"][0]["clips"], 2, "{summary}");
    }

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

/// One shot with a line, a music bed and two effects on the cup.
const SOUNDS: &str = r##"
[storyboard]
title = "sounds"
fps = 25
size = [160, 90]
seed = 3

[world.set]
floor = [6.0, 6.0]

[[world.prop]]
id = "cup"
shape = "cylinder"
position = [0.2, 0.75, 0.1]
size = [0.1, 0.12, 0.1]
colour = "#20c040"
material = "ceramic"

[[world.character]]
id = "ada"
position = [0.6, 0.0, 0.4]
colour = "#c03020"

[[scene]]
id = "s"

[[scene.shot]]
id = "close"
duration = 2.0
camera = { position = [0.9, 1.3, 2.0], target = [0.2, 0.8, 0.1], fov = 30 }
action = [
  { at = 0.5, verb = "pick-up", object = "cup", by = "ada" },
  { at = 1.3, verb = "place", object = "cup", by = "ada", to = [0.0, 0.75, 0.0] },
]
audio = [
  { stem = "music", kind = "music", gain = -12 },
  { stem = "dialogue", kind = "line", at = 0.2, by = "ada", text = "There." },
  { stem = "effects", kind = "effect", action = 0 },
  { stem = "effects", kind = "effect", action = 1 },
]
"##;

/// An audio track of a file as mono float samples at 48 kHz, by ffmpeg.
fn track(file: &Path, audio_index: usize) -> Vec<f32> {
    let output = std::process::Command::new("ffmpeg")
        .args(["-v", "error", "-i"])
        .arg(file)
        .args([
            "-map",
            &format!("0:a:{audio_index}"),
            "-f",
            "f32le",
            "-ac",
            "1",
            "-ar",
            "48000",
            "-",
        ])
        .output()
        .expect("ffmpeg runs (the setup installs it)");
    assert!(output.status.success(), "{}", texts(&output).1);
    output
        .stdout
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect()
}

/// Onsets: the first sample above `threshold` after 200 ms below it.
fn onsets(samples: &[f32], threshold: f32) -> Vec<f64> {
    let mut quiet = usize::MAX;
    let mut found = Vec::new();
    for (i, s) in samples.iter().enumerate() {
        if s.abs() >= threshold {
            if quiet >= 9_600 {
                found.push(i as f64 / 48_000.0);
            }
            quiet = 0;
        } else {
            quiet = quiet.saturating_add(1);
        }
    }
    found
}

#[test]
fn audio_stems_are_named_tracks_and_effects_land_on_their_actions_frames() {
    let scratch = tempfile::tempdir().unwrap();
    let dir = scratch.path();
    std::fs::write(dir.join("board.toml"), SOUNDS).unwrap();
    let (index, _) = generate_with(dir, &[]);
    let take = &index["takes"][0];
    assert_eq!(
        take["tracks"],
        serde_json::json!(["mix", "music", "dialogue", "effects"])
    );
    let file = dir.join("takes/v0/s-close.mp4");
    let probe = ffprobe(&file);
    let streams: Vec<(&str, &str)> = probe["streams"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["codec_type"].as_str().unwrap(),
                s["tags"]["handler_name"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        streams,
        [
            ("video", "video"),
            ("audio", "mix"),
            ("audio", "music"),
            ("audio", "dialogue"),
            ("audio", "effects")
        ]
    );
    // The generator's own report: each effect on its action's first frame
    // (0.5 s is frame 13 at 25 fps, 0.52 s; 1.3 s is frame 33, 1.32 s).
    let sync = take["sync"].as_array().unwrap();
    let markers: Vec<(&str, u64, f64)> = sync
        .iter()
        .map(|s| {
            (
                s["event"].as_str().unwrap(),
                s["marker_frame"].as_u64().unwrap(),
                s["offset_ms"].as_f64().unwrap(),
            )
        })
        .collect();
    assert_eq!(markers, [("pick-up cup", 13, 0.0), ("place cup", 33, 0.0)]);
    // Independently, from the file: ffmpeg decodes the effects track and
    // its onsets sit on the markers' frames.
    let effects = track(&file, 3);
    let found = onsets(&effects, 0.05);
    assert_eq!(found.len(), 2, "{found:?}");
    for (onset, (_, frame, _)) in found.iter().zip(&markers) {
        let marker = *frame as f64 / 25.0;
        let offset_ms = (onset - marker) * 1000.0;
        println!("effect at frame {frame}: onset {onset:.5} s in the MP4, {offset_ms:+.2} ms from its frame");
        assert!(offset_ms.abs() <= 1.0, "{offset_ms} ms");
    }
    // espeak-ng speaks the line from 0.2 s; the bed plays from the start.
    let dialogue = track(&file, 2);
    let first_word = onsets(&dialogue, 0.02);
    assert!(
        first_word.first().is_some_and(|t| (0.19..0.35).contains(t)),
        "{first_word:?}"
    );
    let rms = |s: &[f32]| (s.iter().map(|x| x * x).sum::<f32>() / s.len() as f32).sqrt();
    assert!(rms(&dialogue[9_600..48_000]) > 0.01, "speech is heard");
    let music = track(&file, 1);
    assert!(rms(&music[24_000..72_000]) > 0.02, "the bed plays");
    let mix = track(&file, 0);
    assert!(rms(&mix[24_000..72_000]) >= rms(&music[24_000..72_000]) * 0.9);
}

#[test]
fn a_line_without_espeak_ng_names_its_cue_and_what_to_install() {
    let scratch = tempfile::tempdir().unwrap();
    let dir = scratch.path();
    std::fs::write(dir.join("board.toml"), SOUNDS).unwrap();
    let output = slate(dir)
        .env("PATH", dir.join("no-programs"))
        .args(["generate", "board.toml", "--out", "takes"])
        .output()
        .unwrap();
    let (_, stderr) = texts(&output);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert_no_panic(&stderr, "slate generate");
    assert!(
        stderr.contains("board.toml: scene[0].shot[0].audio[1]: a line needs espeak-ng")
            && stderr.contains("apt install espeak-ng"),
        "{stderr}"
    );
    assert!(!dir.join("takes/v0/s-close.mp4").exists());
}

/// Whether the contact sheet's first row holds frames (not only the
/// background an empty sheet is).
fn sheet_shows_a_cut(path: &Path) -> bool {
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(path).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut rgba = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut rgba).unwrap();
    assert_eq!((info.width, info.height), (2 * 320 + 24, 180 + 16), "one row");
    let at = ((8 + 90) * info.width as usize + 8 + 160) * 4;
    rgba[at..at + 4] != [24, 24, 28, 255]
}

/// Shot two starts with Ada away from where shot one left her and the
/// camera across the line between Ada and Bo.
const BROKEN: &str = include_str!("../pipelines/storyboards/retake.toml");

#[test]
fn flagged_cuts_are_retaken_from_the_corrected_world_within_the_attempts() {
    let scratch = tempfile::tempdir().unwrap();
    let dir = scratch.path();
    std::fs::write(dir.join("board.toml"), BROKEN).unwrap();

    // No retakes allowed: both breaks stand.
    let (index, stdout) = generate_with(dir, &["--retakes", "0"]);
    assert!(
        stdout.contains("2 takes (2 rendered, 0 kept), 1 cuts, continuity 0.00"),
        "{stdout}"
    );
    let kinds: Vec<&str> = index["cuts"][0]["breaks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["off-mark", "crossed-line"]);
    assert_eq!(index["retakes"], serde_json::json!([]));
    assert!(
        sheet_shows_a_cut(&dir.join("takes/sheet.png")),
        "the flagged cut is on the sheet"
    );

    // The reference generator mends both in one retake of shot two, and
    // that take is rendered again from the corrected world; shot one is kept.
    let (index, stdout) = generate_with(dir, &[]);
    assert!(
        stdout.contains("retake s/two (attempt 1): ada's path starts at their mark (-0.50, 0.50)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("2 takes (1 rendered, 1 kept), 1 cuts, continuity 1.00"),
        "{stdout}"
    );
    let retakes = index["retakes"].as_array().unwrap();
    assert_eq!(retakes.len(), 1, "{retakes:?}");
    let mended: Vec<&str> = retakes[0]["mended"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["kind"].as_str().unwrap())
        .collect();
    assert_eq!(mended, ["off-mark", "crossed-line"]);
    assert!(
        !sheet_shows_a_cut(&dir.join("takes/sheet.png")),
        "nothing flagged is left"
    );

    // A script says the crossing is meant: only the mark is mended, and
    // only the retaken shot renders again (its plan changed).
    std::fs::write(
        dir.join("meant.lua"),
        r#"function retake(request)
             for _, b in ipairs(request.breaks) do
               if b.kind == "crossed-line" and request.shot == "two" then return { crosses_line = true } end
             end
           end"#,
    )
    .unwrap();
    let (index, stdout) = generate_with(dir, &["--on-retake", "meant.lua"]);
    assert!(
        stdout.contains("2 takes (1 rendered, 1 kept), 1 cuts, continuity 1.00"),
        "{stdout}"
    );
    let retake = &index["retakes"][0];
    assert_eq!(retake["edited"], serde_json::json!(["crosses_line = true"]));
    assert_eq!(retake["mended"].as_array().unwrap().len(), 1);
    assert_eq!(retake["mended"][0]["kind"], "off-mark");

    // An answer that is not an edit is refused by name.
    std::fs::write(
        dir.join("zoom.lua"),
        "function retake(r) return { camera = { zoom = 2 } } end",
    )
    .unwrap();
    let output = slate(dir)
        .args(["generate", "board.toml", "--out", "takes", "--on-retake", "zoom.lua"])
        .output()
        .unwrap();
    let (_, stderr) = texts(&output);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("scene[0].shot[1]: retake: zoom.lua: retake() returned unknown field `zoom`"),
        "{stderr}"
    );
}
