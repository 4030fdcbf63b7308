//! The `slate` commands and the plugin outside the CLI, as users run them.

use std::process::Command;

use slate_e2e::*;

fn run(command: &mut Command) -> (i32, String, String) {
    let output = command.output().unwrap();
    let (stdout, stderr) = texts(&output);
    assert_no_panic(&stderr, &format!("{command:?}"));
    (output.status.code().unwrap_or(-1), stdout, stderr)
}

#[test]
fn run_applies_overrides_and_reports_frames() {
    let scratch = tempfile::tempdir().unwrap();
    let file = repo().join("tests/pipelines/ok/tiny.toml");
    let (code, _, stderr) =
        run(slate(scratch.path())
            .arg("run")
            .arg(&file)
            .args(["--set", "tag.shot=override", "--set", "tag.take=4"]));
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("finished:") && stderr.contains("30 frames"), "{stderr}");
    let lines = json_lines(&scratch.path().join("out/tiny.jsonl"));
    assert_eq!(lines.len(), 30);
    assert!(
        lines
            .iter()
            .all(|l| l["fields"]["shot"] == "override" && l["fields"]["take"] == 4)
    );

    let (code, _, stderr) = run(slate(scratch.path())
        .arg("run")
        .arg(&file)
        .args(["--set", "tag.shoot=x"]));
    assert_eq!(code, 2);
    assert!(
        stderr.contains("shottag has no property `shoot` (did you mean `shot`?)"),
        "{stderr}"
    );
    let (code, _, stderr) = run(slate(scratch.path())
        .arg("run")
        .arg(&file)
        .args(["--set", "nosuch.x=1"]));
    assert_eq!(code, 2);
    assert!(stderr.contains("--set: no element named `nosuch`"), "{stderr}");
}

#[test]
fn runtime_failures_exit_1_and_bad_input_exits_2() {
    let scratch = tempfile::tempdir().unwrap();
    // Not media at all: only decoding finds out, while running.
    let not_media = repo().join("tests/pipelines/ok/tiny.toml");
    let line = format!("filesrc location={} ! decodebin ! fakesink", not_media.display());
    let (code, _, stderr) = run(slate(scratch.path()).args(["launch", &line]));
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("decodebin0: This appears to be a text file"),
        "{stderr}"
    );
    // A link that cannot work is found before anything runs.
    let (code, _, stderr) =
        run(slate(scratch.path()).args(["launch", "videotestsrc ! video/x-raw,format=RGB ! x264enc ! fakesink"]));
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("x264enc0 can't handle caps"), "{stderr}");
    let (code, _, stderr) = run(slate(scratch.path()).args(["launch", "videotestsrc ! x264nec ! fakesink"]));
    assert_eq!(code, 2);
    assert!(
        stderr.contains("no element \"x264nec\" (did you mean `x264enc`"),
        "{stderr}"
    );
    let (code, _, _) = run(slate(scratch.path()).args(["launch", "videotestsrc num-buffers=5 ! fakesink"]));
    assert_eq!(code, 0);
    let (code, _, stderr) = run(slate(scratch.path()).args(["run", "missing.toml"]));
    assert_eq!(code, 2);
    assert!(
        stderr.contains("missing.toml: cannot read the pipeline file"),
        "{stderr}"
    );
    let (code, _, _) = run(slate(scratch.path()).args(["run", "--duration", "soon", "x.toml"]));
    assert_eq!(code, 2, "clap rejects a bad --duration");
}

#[test]
fn a_missing_capture_device_is_bad_input_naming_the_element() {
    if std::path::Path::new("/dev/video0").exists() {
        eprintln!("skipped: this machine has /dev/video0");
        return;
    }
    let scratch = tempfile::tempdir().unwrap();
    let file = repo().join("pipelines/capture.toml");
    let (code, _, stderr) = run(slate(scratch.path()).arg("run").arg(&file));
    // Whichever device the machine lacks first (camera or microphone server)
    // is named with the line that declares it.
    assert_eq!(code, 2, "{stderr}");
    let camera = stderr.contains("capture.toml:24:1: `camera` refused to start") && stderr.contains("/dev/video0");
    let mic = stderr.contains("capture.toml:28:1: `mic` refused to start");
    assert!(camera || mic, "{stderr}");
}

#[test]
fn validate_accepts_the_shipped_pipelines() {
    let scratch = tempfile::tempdir().unwrap();
    let (code, stdout, stderr) = run(slate(scratch.path())
        .arg("validate")
        .arg(repo().join("pipelines/demo.toml"))
        .arg(repo().join("pipelines/capture.toml")));
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.contains("demo.toml: ok") && stdout.contains("capture.toml: ok"),
        "{stdout}"
    );
    assert!(!scratch.path().join("out").exists(), "validate must not create outputs");
}

#[test]
fn inspect_lists_and_describes_elements() {
    let scratch = tempfile::tempdir().unwrap();
    let (code, stdout, _) = run(slate(scratch.path()).arg("inspect"));
    assert_eq!(code, 0);
    assert!(stdout.contains("shottag") && stdout.contains("metalog"), "{stdout}");
    let (code, stdout, _) = run(slate(scratch.path()).args(["inspect", "shottag"]));
    assert_eq!(code, 0);
    for needle in ["Slate shot tagger", "cues", "take", "guint", "sink (input, Always)"] {
        assert!(stdout.contains(needle), "missing {needle}:\n{stdout}");
    }
    let (code, _, stderr) = run(slate(scratch.path()).args(["inspect", "shotag"]));
    assert_eq!(code, 2);
    assert!(
        stderr.contains("unknown element `shotag` (did you mean `shottag`"),
        "{stderr}"
    );
}

/// The plugin works without the CLI, from GStreamer's own tools.
#[test]
fn gst_tools_load_the_plugin_from_gst_plugin_path() {
    let scratch = tempfile::tempdir().unwrap();
    let gst = |tool: &str| {
        let mut command = Command::new(tool);
        command
            .current_dir(scratch.path())
            .env("GST_PLUGIN_PATH", plugin_dir())
            .env("GST_REGISTRY", scratch.path().join("registry.bin"));
        command
    };
    let (code, stdout, stderr) = run(gst("gst-inspect-1.0").arg("shottag"));
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.contains("Slate shot tagger") && stdout.contains("cues"),
        "{stdout}"
    );

    let (code, _, stderr) = run(gst("gst-launch-1.0").args([
        "-q",
        "videotestsrc",
        "num-buffers=20",
        "!",
        "video/x-raw,framerate=10/1",
        "!",
        "shottag",
        "scene=launch",
        "cues=0s: shot=a; 1s: shot=b",
        "!",
        "videoconvert",
        "!",
        "metalog",
        "location=meta.jsonl",
        "!",
        "fakesink",
    ]));
    assert_eq!(code, 0, "{stderr}");
    let lines = json_lines(&scratch.path().join("meta.jsonl"));
    let shots: Vec<_> = lines.iter().map(|l| l["fields"]["shot"].as_str().unwrap()).collect();
    assert_eq!(shots, [vec!["a"; 10], vec!["b"; 10]].concat());
}

#[test]
fn wasm_stages_run_from_gst_launch_and_from_pipeline_files() {
    let scratch = tempfile::tempdir().unwrap();
    let brightness = example_plugin("brightness");
    let (code, _, stderr) = run(Command::new("gst-launch-1.0")
        .current_dir(scratch.path())
        .env("GST_PLUGIN_PATH", plugin_dir())
        .env("GST_REGISTRY", scratch.path().join("registry.bin"))
        .args([
            "-q",
            "videotestsrc",
            "num-buffers=60",
            "!",
            "video/x-raw,format=RGBA,width=320,height=240",
            "!",
            "wasmstage",
        ])
        .arg(format!("plugin={}", brightness.display()))
        .args(["!", "metalog", "location=wasm.jsonl", "!", "fakesink"]));
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(json_lines(&scratch.path().join("wasm.jsonl")).len(), 60);

    let file = scratch.path().join("wasm.toml");
    std::fs::write(
        &file,
        r#"
[pipeline]
links = ["cam ! video/x-raw,format=RGBA ! stage ! out"]
[source.cam]
element = "videotestsrc"
properties = { num-buffers = 30 }
[stage.stage]
element = "wasmstage"
properties = { config = '{"delta": 10}', on-error = "passthrough" }
[sink.out]
element = "fakesink"
"#,
    )
    .unwrap();
    let (code, _, stderr) = run(slate(scratch.path())
        .arg("run")
        .arg(&file)
        .arg("--set")
        .arg(format!("stage.plugin={}", brightness.display())));
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("30 frames"), "{stderr}");
    let (code, _, stderr) = run(slate(scratch.path())
        .arg("run")
        .arg(&file)
        .args(["--set", "stage.plugin=missing.wasm"]));
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("wasm.toml:7:1: `stage` refused to start: Cannot load plugin (property `plugin`): cannot read plugin missing.wasm"), "{stderr}");
}

#[test]
fn slate_script_runs_automation_and_refuses_bad_scripts() {
    let scratch = tempfile::tempdir().unwrap();
    let quick = scratch.path().join("quick.lua");
    std::fs::write(
        &quick,
        "slate.after(20, function() slate.log.info('done') slate.quit() end)\n",
    )
    .unwrap();
    let (code, _, stderr) = run(slate(scratch.path()).arg("script").arg(&quick));
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("done") && stderr.contains("finished"), "{stderr}");
    let broken = scratch.path().join("broken.lua");
    std::fs::write(&broken, "slate.every(\n").unwrap();
    let (code, _, stderr) = run(slate(scratch.path()).arg("script").arg(&broken));
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("broken.lua:2:"), "{stderr}");
}

#[test]
fn slate_run_with_a_script_drives_the_file_pipeline() {
    let scratch = tempfile::tempdir().unwrap();
    let flaky = example_plugin("flaky_source");
    let file = scratch.path().join("flaky.toml");
    std::fs::write(
        &file,
        format!(
            r#"
[pipeline]
links = ["camera ! video/x-raw,format=RGBA,width=32,height=32,framerate=30/1 ! log ! out"]
[source.camera]
element = "wasmsrc"
properties = {{ plugin = "{}", config = '{{"fail-at": 10}}', is-live = true }}
[stage.log]
element = "metalog"
properties = {{ location = "out/camera.jsonl" }}
[sink.out]
element = "fakesink"
properties = {{ sync = true }}
"#,
            flaky.display()
        ),
    )
    .unwrap();
    let watchdog = repo().join("scripts/watchdog.lua");
    let (code, _, stderr) = run(slate(scratch.path())
        .arg("run")
        .arg(&file)
        .arg("--script")
        .arg(&watchdog)
        .args(["--setting", "backoff_ms=100", "--duration", "2s"]));
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("restarted camera"), "{stderr}");
    let last = json_lines(&scratch.path().join("out/camera.jsonl")).last().unwrap()["pts"]
        .as_f64()
        .unwrap();
    assert!(last > 1.2, "the camera stopped at {last} s");

    // The settings a UI would render, and a typo in one.
    let (code, _, stderr) = run(slate(scratch.path()).arg("script").arg(&watchdog).arg("--settings"));
    assert_eq!(code, 2, "watchdog.lua needs slate.main: {stderr}");
    let scheduler = repo().join("scripts/scheduler.lua");
    let (code, stdout, stderr) = run(slate(scratch.path()).arg("script").arg(&scheduler).arg("--settings"));
    assert_eq!(code, 0, "{stderr}");
    let settings: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let names: Vec<&str> = settings
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["output", "start", "stop"], "{stdout}");
    assert_eq!(settings[1]["kind"], "string");
    let (code, _, stderr) = run(slate(scratch.path())
        .arg("script")
        .arg(&scheduler)
        .args(["--setting", "strat=10:00"]));
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("no setting `strat` (did you mean `start`?)"),
        "{stderr}"
    );
}

#[test]
fn slate_audio_measures_and_normalises_loudness_or_names_the_bad_input() {
    let scratch = tempfile::tempdir().unwrap();
    let speech = scratch.path().join("speech.wav");
    let spoken = std::process::Command::new("espeak-ng")
        .arg("-w")
        .arg(&speech)
        .arg("Loudness from the command line.")
        .status()
        .unwrap();
    assert!(spoken.success());
    let output = slate(scratch.path())
        .args(["audio", "measure", "speech.wav"])
        .output()
        .unwrap();
    let (stdout, stderr) = texts(&output);
    assert!(output.status.success(), "{stderr}");
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let integrated = report["integrated_lufs"].as_f64().unwrap();
    assert!((-40.0..-10.0).contains(&integrated), "{report}");
    assert_eq!(
        (report["channels"].as_u64(), report["silent"].as_bool()),
        (Some(1), Some(false))
    );

    let output = slate(scratch.path())
        .args([
            "audio",
            "loudness",
            "speech.wav",
            "-o",
            "out.flac",
            "--profile",
            "custom",
        ])
        .args(["--target", "-16", "--true-peak", "-2"])
        .output()
        .unwrap();
    let (stdout, stderr) = texts(&output);
    assert!(output.status.success(), "{stderr}");
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let reached = report["output"]["integrated_lufs"].as_f64().unwrap();
    assert!((reached + 16.0).abs() <= 0.05, "{report}");
    assert!(report["output"]["true_peak_dbtp"].as_f64().unwrap() <= -2.0, "{report}");
    assert!(scratch.path().join("out.flac").is_file());
    let output = slate(scratch.path())
        .args(["audio", "loudness", "speech.wav", "-o", "out.wav", "--profile", "loud"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(texts(&output).1.contains("no profile `loud`"));

    let output = slate(scratch.path())
        .args(["audio", "measure", "nope.wav"])
        .output()
        .unwrap();
    let (_, stderr) = texts(&output);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr.contains("nope.wav: cannot read it as audio: no such file"),
        "{stderr}"
    );
}

#[test]
fn validate_checks_storyboards_and_names_their_mistakes() {
    let scratch = tempfile::tempdir().unwrap();
    let coffee = repo().join("pipelines/storyboards/coffee.toml");
    let (code, stdout, stderr) = run(slate(scratch.path()).arg("validate").arg(&coffee));
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.contains("ok (storyboard, 2 props, 1 characters, 3 shots)"),
        "{stdout}"
    );
    let broken = scratch.path().join("broken.toml");
    let text = std::fs::read_to_string(&coffee)
        .unwrap()
        .replacen("fov = 12", "fov = 300", 1);
    std::fs::write(&broken, text).unwrap();
    let (code, _, stderr) = run(slate(scratch.path()).arg("validate").arg(&broken));
    assert_eq!(code, 2);
    assert!(
        stderr.contains("broken.toml:") && stderr.contains("scene[0].shot[1].camera.fov: 300 is out of range"),
        "{stderr}"
    );
}

#[test]
fn bench_generate_prints_its_figures() {
    let scratch = tempfile::tempdir().unwrap();
    let (code, stdout, stderr) = run(slate(scratch.path()).args(["bench", "generate", "--seconds", "0.5"]));
    assert_eq!(code, 0, "{stderr}");
    for case in [
        "native (slate-story)",
        "WASM plugin (storygen in wasmsrc)",
        "continuity checker",
    ] {
        let line = stdout
            .lines()
            .find(|l| l.starts_with(case))
            .unwrap_or_else(|| panic!("{case}: {stdout}"));
        let figure: f64 = line[case.len()..].split_whitespace().next().unwrap().parse().unwrap();
        assert!(figure > 0.0, "{line}");
    }
}

/// `slate bench` runs `slate-bench`; the shipped `slate` itself depends on
/// no benchmark crate, no pixel kernels and nothing that runs cargo, and
/// holds none of their text.
#[test]
fn the_shipped_binary_carries_no_benchmarks() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let tree = Command::new(cargo)
        .args([
            "tree",
            "-p",
            "slate-cli",
            "-e",
            "normal",
            "--prefix",
            "none",
            "--format",
            "{p}",
        ])
        .current_dir(repo())
        .output()
        .unwrap();
    assert!(tree.status.success(), "{}", texts(&tree).1);
    let tree = texts(&tree).0;
    assert!(tree.contains("slate-pipeline"), "{tree}");
    for crate_ in ["slate-bench", "slate-kernels", "slate-test-plugins"] {
        assert!(!tree.contains(crate_), "slate depends on {crate_}:\n{tree}");
    }
    let binary = std::fs::read(slate_bin()).unwrap();
    for text in ["real-time factor (x30)", "building the plugins in"] {
        let found = binary.windows(text.len()).any(|w| w == text.as_bytes());
        assert!(!found, "the slate binary holds `{text}`");
    }
    let bench = std::fs::read(slate_bin().with_file_name("slate-bench")).unwrap();
    assert!(
        bench.windows(22).any(|w| w == b"real-time factor (x30)"),
        "slate-bench has them"
    );
}
