//! The shipped demo, run exactly as the README runs it, judged by ffprobe.

use slate_e2e::*;

#[test]
fn demo_publishes_signed_mp4_and_hls_and_a_sidecar_with_three_shots() {
    let scratch = tempfile::tempdir().unwrap();
    let data = scratch.path().join("data");
    let output = slate_with_data(scratch.path(), &data)
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

    // (b) HLS: a master playlist over a video and an audio rendition of
    // >= 3 finished CMAF segments each, each playable with the init
    // segment listed before it.
    let groups = slate_provenance::playlist_groups(&out.join("hls/demo.m3u8")).unwrap();
    let mut codecs = Vec::new();
    for kind in ["video", "audio"] {
        let media = std::fs::read_to_string(out.join(format!("hls/demo-{kind}.m3u8"))).unwrap();
        assert!(media.contains("#EXT-X-ENDLIST"), "{media}");
        assert!(media.matches("#EXTINF").count() >= 3, "{media}");
    }
    for (init, segments) in &groups {
        let mut joined = std::fs::read(init).unwrap();
        for segment in segments {
            joined.extend(std::fs::read(segment).unwrap());
        }
        let playable = scratch.path().join("joined.mp4");
        std::fs::write(&playable, joined).unwrap();
        let probe = ffprobe(&playable);
        codecs.push(probe["streams"][0]["codec_name"].as_str().unwrap().to_owned());
    }
    codecs.sort();
    codecs.dedup();
    assert_eq!(codecs, ["aac", "h264"]);
    let master = ffprobe(&out.join("hls/demo.m3u8"));
    let whole = duration_of(&master);
    assert!((whole - 12.0).abs() <= 0.5, "HLS duration {whole}");
    let kinds: Vec<&str> = master["streams"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| s["codec_type"].as_str())
        .collect();
    assert!(kinds.contains(&"video") && kinds.contains(&"audio"), "{kinds:?}");

    // (b') Both are signed: `slate verify` trusts them (our local CA).
    for published in ["demo.mp4", "hls"] {
        let output = slate_with_data(scratch.path(), &data)
            .args(["verify"])
            .arg(out.join(published))
            .output()
            .unwrap();
        let (stdout, stderr) = texts(&output);
        assert!(output.status.success(), "{published}: {stdout}{stderr}");
        let reports: serde_json::Value = serde_json::from_str(&stdout).unwrap();
        let reports = reports.as_array().cloned().unwrap_or_else(|| vec![reports]);
        assert!(reports.iter().all(|r| r["state"] == "trusted"), "{published}: {stdout}");
    }
    assert_c2patool_agrees(&out, &data.join("signing/ca.pem"), &groups);

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
    // s1 starts with the first frame, which a live capture on a loaded
    // machine may stamp a frame or two after 0; the cues must hit 4 and 8 s.
    assert!(changes[0].1 < 0.25, "first frame at {}", changes[0].1);
    for ((_, at), expected) in changes.iter().zip([0.0, 4.0, 8.0]).skip(1) {
        assert!(
            (at - expected).abs() < 1.0 / 30.0 + 0.01,
            "shot change at {at}, expected {expected}"
        );
    }
}

/// c2patool (crates.io, not ours) validates the demo's MP4 and each HLS
/// segment: only the trust notice for our local CA without its anchor,
/// Trusted with it, and it shows our action and digital source type.
fn assert_c2patool_agrees(
    out: &std::path::Path,
    ca: &std::path::Path,
    groups: &[(std::path::PathBuf, Vec<std::path::PathBuf>)],
) {
    let settings = c2patool_settings(out, ca);
    let (report, text) = c2patool_report(None, &out.join("demo.mp4"), None);
    let report = report.unwrap_or_else(|| panic!("c2patool: {text}"));
    let failures = &report["validation_results"]["activeManifest"]["failure"];
    let codes: Vec<&str> = failures
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["code"].as_str())
        .collect();
    assert_eq!(codes, ["signingCredential.untrusted"], "{report}");
    let (report, text) = c2patool_report(Some(&settings), &out.join("demo.mp4"), None);
    let report = report.unwrap_or_else(|| panic!("c2patool: {text}"));
    assert_eq!(report["validation_state"], "Trusted", "{report}");
    let manifest = &report["manifests"][report["active_manifest"].as_str().unwrap()];
    let actions = manifest["assertions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["label"].as_str().unwrap().starts_with("c2pa.actions"))
        .expect("an actions assertion");
    assert_eq!(actions["data"]["actions"][0]["action"], "c2pa.created");
    assert_eq!(
        actions["data"]["actions"][0]["digitalSourceType"],
        "http://cv.iptc.org/newscodes/digitalsourcetype/digitalCapture"
    );
    let shots = manifest["assertions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["label"] == "org.slate.pipeline")
        .expect("Slate's assertion");
    assert_eq!(shots["data"]["shots"][0]["scene"], "demo", "{shots}");

    for (init, segments) in groups {
        let name = segments[0].file_name().unwrap().to_str().unwrap();
        let (_, untrusted) = c2patool_report(None, init, Some(name));
        assert!(untrusted.contains("signingCredential.untrusted"), "{untrusted}");
        assert!(
            !untrusted.contains("Mismatch") && !untrusted.contains("mismatch"),
            "{untrusted}"
        );
        let (report, text) = c2patool_report(Some(&settings), init, Some(name));
        let report = report.unwrap_or_else(|| panic!("c2patool on {}: {text}", init.display()));
        assert_eq!(report["validation_state"], "Trusted", "{}: {text}", init.display());
    }
}

/// The consent demo as .ci/demo runs it: Grace Hopper registered from her
/// photo with a signed cameo grant, Eileen Collins not registered; the
/// signed MP4 shows Grace, blurs Eileen, and its manifest (read by
/// c2patool) lists Grace's grant.
#[test]
fn cameo_demo_shows_only_granted_people_and_lists_their_grants() {
    let scratch = tempfile::tempdir().unwrap();
    let (dir, data) = (scratch.path(), scratch.path().join("data"));
    let slate_ok = |args: &[&str]| {
        let output = slate_with_data(dir, &data).args(args).output().unwrap();
        let (stdout, stderr) = texts(&output);
        assert!(output.status.success(), "slate {args:?}:\n{stderr}");
        serde_json::from_str::<serde_json::Value>(&stdout).unwrap_or_default()
    };
    let db = ["consent", "--db", "out/consent/registry.sqlite"];
    slate_ok(&[&db[..], &["key", "grace.key"]].concat());
    let photo = repo().join("tests/fixtures/faces/grace_hopper.ppm");
    let registered = slate_ok(
        &[
            &db[..],
            &[
                "register",
                "--name",
                "Grace Hopper",
                "--key",
                "grace.key",
                "--photo",
                photo.to_str().unwrap(),
            ],
        ]
        .concat(),
    );
    let grace = registered["identity"].as_str().unwrap();
    let until = (std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 3600)
        .to_string();
    slate_ok(
        &[
            &db[..],
            &[
                "grant",
                "--key",
                "grace.key",
                "--identity",
                grace,
                "--id",
                "grace-cameo-web",
                "--grantee",
                "slate-demo",
                "--channel",
                "web",
                "--use",
                "cameo",
                "--until",
                &until,
            ],
        ]
        .concat(),
    );
    let image = format!("photo.location={}", repo().join("pipelines/media/cameo.png").display());
    slate_ok(&[
        "run",
        repo().join("pipelines/cameo.toml").to_str().unwrap(),
        "--set",
        &image,
    ]);

    let out = dir.join("out");
    let frames = json_lines(&out.join("cameo.jsonl"));
    assert_eq!(frames.len(), 90);
    for frame in &frames {
        assert_eq!(
            frame["fields"]["consent.grants"],
            serde_json::json!(["grace-cameo-web"]),
            "{frame}"
        );
        let mut actions: Vec<&str> = frame["objects"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["fields"]["action"].as_str().unwrap())
            .collect();
        actions.sort();
        assert_eq!(actions, ["blur", "pass"], "Grace shown, Eileen blurred: {frame}");
    }
    let settings = c2patool_settings(dir, &data.join("signing/ca.pem"));
    let (report, text) = c2patool_report(Some(&settings), &out.join("cameo.mp4"), None);
    let report = report.unwrap_or_else(|| panic!("c2patool: {text}"));
    assert_eq!(report["validation_state"], "Trusted", "{report}");
    let manifest = &report["manifests"][report["active_manifest"].as_str().unwrap()];
    let slate = manifest["assertions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["label"] == "org.slate.pipeline")
        .unwrap_or_else(|| panic!("no org.slate.pipeline assertion: {manifest}"));
    assert_eq!(
        slate["data"]["grants"],
        serde_json::json!(["grace-cameo-web"]),
        "{slate}"
    );
}
