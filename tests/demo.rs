//! The shipped demo, run exactly as the README runs it, judged by ffprobe.

use slate_e2e::*;

#[test]
fn demo_publishes_mp4_hls_and_a_sidecar_with_three_shots() {
    let scratch = tempfile::tempdir().unwrap();
    let output = slate(scratch.path())
        .arg("run")
        .arg(repo().join("pipelines/demo.toml"))
        .output()
        .unwrap();
    let (_, stderr) = texts(&output);
    assert_no_panic(&stderr, "the demo");
    assert!(output.status.success(), "the demo failed:\n{stderr}");
    let out = scratch.path().join("out");

    // (a) MP4: one H.264 1280x720 stream and one audio stream, 12 s.
    let probe = ffprobe(&out.join("demo.mp4"));
    let streams = probe["streams"].as_array().unwrap();
    let video: Vec<_> = streams.iter().filter(|s| s["codec_type"] == "video").collect();
    let audio: Vec<_> = streams.iter().filter(|s| s["codec_type"] == "audio").collect();
    assert_eq!(video.len(), 1, "{probe}");
    assert_eq!(audio.len(), 1, "{probe}");
    assert_eq!(
        (
            video[0]["codec_name"].as_str(),
            video[0]["width"].as_u64(),
            video[0]["height"].as_u64()
        ),
        (Some("h264"), Some(1280), Some(720))
    );
    assert_eq!(video[0]["r_frame_rate"], "30/1");
    let duration = duration_of(&probe);
    assert!((duration - 12.0).abs() <= 0.5, "duration {duration}");

    // (b) HLS: a finished playlist of >= 3 segments, each readable alone.
    let playlist = std::fs::read_to_string(out.join("hls/demo.m3u8")).unwrap();
    let segments: Vec<&str> = playlist
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .collect();
    assert!(segments.len() >= 3, "{playlist}");
    assert!(playlist.contains("#EXT-X-ENDLIST"), "{playlist}");
    for segment in &segments {
        let probe = ffprobe(&out.join("hls").join(segment));
        let kinds: Vec<_> = probe["streams"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["codec_type"].as_str().unwrap().to_owned())
            .collect();
        assert!(
            kinds.contains(&"video".to_owned()) && kinds.contains(&"audio".to_owned()),
            "{segment}: {kinds:?}"
        );
    }
    let whole = duration_of(&ffprobe(&out.join("hls/demo.m3u8")));
    assert!((whole - 12.0).abs() <= 0.5, "HLS duration {whole}");

    // (c) Sidecar: every frame, shots s1/s2/s3 switching at 0, 4 and 8 s.
    let lines = json_lines(&out.join("demo.jsonl"));
    assert!((355..=365).contains(&lines.len()), "{} lines", lines.len());
    let mut changes: Vec<(String, f64)> = Vec::new();
    for line in &lines {
        let shot = line["fields"]["shot"]
            .as_str()
            .expect("every frame is tagged")
            .to_owned();
        assert_eq!(line["fields"]["scene"], "demo");
        if changes.last().is_none_or(|(last, _)| *last != shot) {
            changes.push((shot, line["pts"].as_f64().unwrap()));
        }
    }
    let shots: Vec<&str> = changes.iter().map(|(s, _)| s.as_str()).collect();
    assert_eq!(shots, ["s1", "s2", "s3"]);
    for ((_, at), expected) in changes.iter().zip([0.0, 4.0, 8.0]) {
        assert!(
            (at - expected).abs() < 1.0 / 30.0 + 0.01,
            "shot change at {at}, expected {expected}"
        );
    }
}
