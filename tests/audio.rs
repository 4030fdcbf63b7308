//! `slate audio` end to end: stems at different rates and layouts mixed
//! into an MP4 with named tracks, stems written as files, bad stems named.

use std::path::Path;
use std::process::Command;

use slate_e2e::*;

/// Renders an ffmpeg lavfi source to `name` in `dir`.
fn make(dir: &Path, name: &str, source: &str, extra: &[&str]) {
    let status = Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-f", "lavfi", "-i", source])
        .args(extra)
        .arg(dir.join(name))
        .status()
        .expect("ffmpeg runs (the setup installs it)");
    assert!(status.success(), "{source}");
}

#[test]
fn stems_at_any_rate_and_layout_mix_into_one_mp4_with_a_named_track_each() {
    let scratch = tempfile::tempdir().unwrap();
    let dir = scratch.path();
    let spoken = Command::new("espeak-ng")
        .arg("-w")
        .arg(dir.join("speech.wav"))
        .arg("the coffee cup stays on the table")
        .status()
        .expect("espeak-ng runs (the setup installs it)");
    assert!(spoken.success());
    // 22.05 kHz mono speech, 44.1 kHz stereo music, 96 kHz 5.1 ambience,
    // 8 kHz mono effects as FLAC.
    make(
        dir,
        "music.wav",
        "aevalsrc=0.1*sin(2*PI*440*t):s=44100:c=stereo:d=3",
        &[],
    );
    make(
        dir,
        "ambience.wav",
        "anoisesrc=a=0.05:r=96000:d=3",
        &["-af", "pan=5.1|c0=c0|c1=c0|c2=c0|c3=c0|c4=c0|c5=c0"],
    );
    make(
        dir,
        "fx.flac",
        "aevalsrc='0.3*sin(2*PI*1000*t)*lt(mod(t,1),0.05)':s=8000:d=3",
        &[],
    );
    let output = slate(dir)
        .args([
            "audio",
            "mix",
            "--stem",
            "dialogue=speech.wav",
            "--stem",
            "music=music.wav",
        ])
        .args(["--stem", "ambience=ambience.wav", "--stem", "fx=fx.flac"])
        .args([
            "--settings",
            "dialogue: vad=true; music: gain=-6, duck=12, duck-key=dialogue; ambience: pan=-0.5",
        ])
        .args(["-o", "mix.mp4", "--stems-dir", "stems"])
        .output()
        .unwrap();
    let (stdout, stderr) = texts(&output);
    assert!(output.status.success(), "{stderr}");
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(
        report["tracks"],
        serde_json::json!(["mix", "dialogue", "music", "ambience", "fx"])
    );
    let probe = ffprobe(&dir.join("mix.mp4"));
    let tracks: Vec<(String, u64)> = probe["streams"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["tags"]["handler_name"].as_str().unwrap_or("").to_owned(),
                s["channels"].as_u64().unwrap_or(0),
            )
        })
        .collect();
    println!("ffprobe tracks: {tracks:?}");
    assert_eq!(
        tracks,
        [
            ("mix".to_owned(), 2),
            ("dialogue".to_owned(), 1),
            ("music".to_owned(), 2),
            ("ambience".to_owned(), 6),
            ("fx".to_owned(), 1)
        ]
    );
    for (stem, rate, channels) in [
        ("dialogue", 22050, 1),
        ("music", 44100, 2),
        ("ambience", 96000, 6),
        ("fx", 8000, 1),
    ] {
        let file = dir.join("stems").join(format!("{stem}.wav"));
        let probe = ffprobe(&file);
        let stream = &probe["streams"][0];
        assert_eq!(stream["sample_rate"], rate.to_string(), "{stem}");
        assert_eq!(stream["channels"], channels, "{stem}");
        assert!(duration_of(&probe) > 1.5, "{stem}");
    }
}

#[test]
fn a_stem_without_audio_or_with_bad_settings_is_named() {
    let scratch = tempfile::tempdir().unwrap();
    let dir = scratch.path();
    make(dir, "music.wav", "aevalsrc=0.1*sin(2*PI*440*t):s=44100:d=1", &[]);
    make(dir, "picture.mp4", "testsrc=d=1", &["-pix_fmt", "yuv420p"]);
    let cases: [(&[&str], &str); 4] = [
        (
            &["--stem", "music=music.wav", "--stem", "bed=picture.mp4"],
            "stem `bed`: ",
        ),
        (&["--stem", "music=gone.wav"], "stem `music`: "),
        (
            &[
                "--stem",
                "music=music.wav",
                "--settings",
                "music: duck=6, duck-key=voice",
            ],
            "stem `music`: duck-key `voice`",
        ),
        (
            &["--stem", "my music=music.wav"],
            "--stem `my music=music.wav`: a stem name",
        ),
    ];
    for (args, expected) in cases {
        let output = slate(dir)
            .args(["audio", "mix", "-o", "out.mp4"])
            .args(args)
            .output()
            .unwrap();
        let (_, stderr) = texts(&output);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
        assert!(!dir.join("out.mp4").exists());
    }
}

#[test]
fn synctest_and_sync_measure_and_correct_a_planted_offset() {
    let scratch = tempfile::tempdir().unwrap();
    let dir = scratch.path();
    let made = slate(dir)
        .args([
            "audio",
            "synctest",
            "-o",
            "sync.mp4",
            "--offset-ms",
            "-80",
            "--seconds",
            "4",
            "--fps",
            "30",
        ])
        .output()
        .unwrap();
    assert!(made.status.success(), "{}", texts(&made).1);
    let output = slate(dir)
        .args(["audio", "sync", "sync.mp4", "--correct", "fixed.mp4"])
        .output()
        .unwrap();
    let (stdout, stderr) = texts(&output);
    assert!(output.status.success(), "{stderr}");
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let offset = report["offset_ms"].as_f64().unwrap();
    assert!((offset + 80.0).abs() <= 1000.0 / 30.0, "{report}");
    assert_eq!(report["within_r37"], false, "80 ms early is outside R37");
    assert_eq!(report["events"].as_array().unwrap().len(), 3);
    assert!(report["residual_ms"].as_f64().unwrap().abs() <= 10.0, "{report}");
    let probe = ffprobe(&dir.join("fixed.mp4"));
    assert_eq!(probe["streams"].as_array().unwrap().len(), 2);

    let silent = slate(dir).args(["audio", "sync", "fixed-nope.mp4"]).output().unwrap();
    assert_eq!(silent.status.code(), Some(2));
    assert!(texts(&silent).1.contains("fixed-nope.mp4: no such file"));
}

#[test]
fn bench_audio_prints_real_time_factors_and_latencies() {
    let scratch = tempfile::tempdir().unwrap();
    let output = slate(scratch.path())
        .args(["bench", "audio", "--seconds", "5"])
        .output()
        .unwrap();
    let (stdout, stderr) = texts(&output);
    assert!(output.status.success(), "{stderr}");
    for case in ["mix ", "mix + ducking (VAD)", "mix + ducking + live loudness"] {
        let line = stdout
            .lines()
            .find(|l| l.starts_with(case))
            .unwrap_or_else(|| panic!("{case}: {stdout}"));
        let factor: f64 = line.split_whitespace().last().unwrap().parse().unwrap();
        assert!(factor > 0.0, "{line}");
    }
    let look_ahead = stdout.lines().find(|l| l.contains("loudnorm")).unwrap();
    let ms: f64 = look_ahead.split_whitespace().last().unwrap().parse().unwrap();
    assert!(ms >= 3000.0, "{look_ahead}");
}

#[test]
fn the_stems_pipeline_file_mixes_live_to_ebu_r128_and_names_a_bad_stem() {
    let scratch = tempfile::tempdir().unwrap();
    let file = repo().join("pipelines/stems.toml");
    let output = slate(scratch.path()).arg("run").arg(&file).output().unwrap();
    let (_, stderr) = texts(&output);
    assert!(output.status.success(), "{stderr}");
    let probe = ffprobe(&scratch.path().join("out/stems.wav"));
    let seconds = duration_of(&probe);
    assert!(
        (seconds - 6.0).abs() < 0.1,
        "nothing held in the look-ahead is lost: {seconds} s"
    );
    let measured = slate(scratch.path())
        .args(["audio", "measure", "out/stems.wav"])
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_str(&texts(&measured).0).unwrap();
    let lufs = report["integrated_lufs"].as_f64().unwrap();
    assert!((lufs + 23.0).abs() <= 1.0, "{report}");

    let output = slate(scratch.path())
        .arg("run")
        .arg(&file)
        .args(["--set", "mix.stems=music: duck=12, duck-key=voice"])
        .output()
        .unwrap();
    assert_ne!(output.status.code(), Some(0));
    let stderr = texts(&output).1;
    assert!(stderr.contains("stem `music`: duck-key `voice`"), "{stderr}");
}
