//! Ctrl-C during capture finalises the MP4: nothing captured is lost.

use std::time::{Duration, Instant};

use slate_e2e::*;

#[test]
fn sigint_mid_capture_leaves_a_valid_mp4_of_the_captured_length() {
    let scratch = tempfile::tempdir().unwrap();
    let mut child = slate(scratch.path())
        .args(["run", "--duration", "60s"])
        .arg(repo().join("pipelines/demo.toml"))
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let sidecar = scratch.path().join("out/demo.jsonl");
    // Interrupt once about 3 s have been captured (the sidecar has a line per frame).
    let deadline = Instant::now() + Duration::from_secs(60);
    while std::fs::read_to_string(&sidecar)
        .map(|t| t.lines().count())
        .unwrap_or(0)
        < 90
    {
        assert!(Instant::now() < deadline, "capture never started");
        assert!(child.try_wait().unwrap().is_none(), "slate exited before the interrupt");
        std::thread::sleep(Duration::from_millis(50));
    }
    interrupt(&child);
    let output = child.wait_with_output().unwrap();
    let (_, stderr) = texts(&output);
    assert_no_panic(&stderr, "slate run after SIGINT");
    assert!(output.status.success(), "exit {:?}:\n{stderr}", output.status.code());
    assert!(stderr.contains("stopped on request"), "{stderr}");

    let captured = json_lines(&sidecar).len() as f64 / 30.0;
    assert!((3.0..30.0).contains(&captured), "captured {captured} s");
    let duration = duration_of(&ffprobe(&scratch.path().join("out/demo.mp4")));
    assert!(
        (duration - captured).abs() <= 0.5,
        "MP4 has {duration} s, {captured} s were captured"
    );
}
