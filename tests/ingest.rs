//! `slate ingest`: clips from "another model" (ffmpeg's test sources)
//! land in a watched folder with their sidecars while `slate ingest`
//! watches it; the colour jump planted at the cut between them is flagged
//! in the report and drawn on the contact sheet, and each clip is signed
//! with the original as its ingredient (read back by c2patool, not ours).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use slate_e2e::*;

/// Two seconds of ffmpeg's `testsrc2` from `start`, with `filter` after it.
fn clip(path: &Path, start: f64, filter: &str) {
    ffmpeg_clip(
        path,
        &format!("testsrc2=size=320x180:rate=25,trim=start={start}:duration=2,setpts=PTS-STARTPTS{filter}"),
    );
}

fn sidecar(path: &Path, shot: &str) {
    let json = serde_json::json!({"shot": shot, "prompt": format!("test card, {shot}"), "model": "ffmpeg-testsrc2"});
    // Written beside, then moved in: the watcher sees it whole.
    let partial = path.with_extension("partial");
    std::fs::write(&partial, json.to_string()).unwrap();
    std::fs::rename(partial, path).unwrap();
}

/// `slate ingest INBOX --out OUT` with the continuity plugin, signing
/// with an identity in `data`.
fn ingest(cwd: &Path, data: &Path, inbox: &Path, out: &Path) -> Command {
    let mut command = slate_with_data(cwd, data);
    command
        .arg("ingest")
        .arg(inbox)
        .arg("--out")
        .arg(out)
        .arg("--plugin")
        .arg(example_plugin("continuity"));
    command
}

/// The inbox (made), the library and the signing data folder in `dir`.
fn folders(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let inbox = dir.join("inbox");
    std::fs::create_dir_all(&inbox).unwrap();
    (inbox, dir.join("library"), dir.join("data"))
}

fn report(out: &Path) -> Option<serde_json::Value> {
    serde_json::from_slice(&std::fs::read(out.join("report.json")).ok()?).ok()
}

#[test]
fn clips_from_a_watched_folder_are_checked_and_the_colour_jump_is_flagged() {
    let scratch = tempfile::tempdir().unwrap();
    let (inbox, out, data) = folders(scratch.path());
    let mut watcher = ingest(scratch.path(), &data, &inbox, &out)
        .args(["--clips", "2", "--for", "300s"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("slate ingest starts");
    // The second clip carries on where the first stopped, with its
    // colours turned: the jump is the only thing at the cut.
    clip(&inbox.join("a.mp4"), 0.0, "");
    sidecar(&inbox.join("a.json"), "s1");
    let started = Instant::now();
    while report(&out).is_none_or(|r| r["clips"].as_array().map_or(0, Vec::len) < 1) {
        if watcher.try_wait().unwrap().is_some() {
            let (_, stderr) = texts(&watcher.wait_with_output().unwrap());
            panic!("slate ingest stopped before the first clip: {stderr}");
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "the first clip was not ingested"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let first = report(&out).unwrap();
    assert_eq!(first["flagged"], 0, "one clip alone has no cut: {first:#}");
    clip(&inbox.join("b.mp4"), 2.0, ",hue=h=150");
    sidecar(&inbox.join("b.json"), "s2");
    let output = watcher.wait_with_output().expect("slate ingest ends after two clips");
    let (_, stderr) = texts(&output);
    assert!(output.status.success(), "{stderr}");
    assert_no_panic(&stderr, "slate ingest");

    let report = report(&out).expect("a report");
    let clips: Vec<&str> = report["clips"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["sidecar"]["shot"].as_str().unwrap())
        .collect();
    assert_eq!(clips, ["s1", "s2"]);
    let cuts = report["cuts"].as_array().unwrap();
    println!("cuts: {cuts:#?}");
    assert_eq!(cuts.len(), 1, "one cut, where the clips meet: {report:#}");
    let cut = &cuts[0];
    assert_eq!(
        (cut["clip_before"].as_u64(), cut["clip_after"].as_u64()),
        (Some(0), Some(1))
    );
    assert_eq!(cut["frame"], 50, "the first frame of the second clip");
    let kinds: Vec<&str> = cut["breaks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["kind"].as_str().unwrap())
        .collect();
    assert!(kinds.contains(&"recoloured"), "the colour jump is named: {kinds:?}");
    assert_eq!(report["flagged"], 1);
    let shots = report["shots"].as_array().unwrap();
    assert_eq!(shots.len(), 2);
    for shot in shots {
        assert_eq!(shot["frames"], 50);
        for score in [
            "subject_consistency",
            "background_consistency",
            "temporal_flicker",
            "motion_smoothness",
        ] {
            let value = shot["scores"][score]
                .as_f64()
                .unwrap_or_else(|| panic!("{score} in {shot}"));
            assert!((0.5..=1.0).contains(&value), "{score} = {value} for a steady test card");
        }
    }
    // The sheet: one row for the one flagged cut, the two sides as they
    // were decoded.
    let sheet = png::Decoder::new(std::io::BufReader::new(
        std::fs::File::open(out.join("sheet.png")).unwrap(),
    ));
    let info = sheet.read_info().unwrap().info().clone();
    assert_eq!((info.width, info.height), (2 * 320 + 24, 180 + 16));
    // Each clip is signed with the model's original as its ingredient.
    for (name, shot) in [("a.mp4", "s1"), ("b.mp4", "s2")] {
        let signed = out.join("clips").join(name);
        let (json, text) = c2patool_report(None, &signed, None);
        let json = json.unwrap_or_else(|| panic!("c2patool read {}: {text}", signed.display()));
        let manifest = &json["manifests"][json["active_manifest"].as_str().unwrap()];
        assert_eq!(manifest["ingredients"][0]["title"], name, "{manifest:#}");
        let text = manifest.to_string();
        assert!(
            text.contains("ffmpeg-testsrc2") && text.contains(shot),
            "the sidecar is in the manifest: {text}"
        );
    }
}

#[test]
fn a_bad_sidecar_is_refused_by_name_and_the_rest_goes_on() {
    let scratch = tempfile::tempdir().unwrap();
    let (inbox, out, data) = folders(scratch.path());
    clip(&inbox.join("a.mp4"), 0.0, "");
    sidecar(&inbox.join("a.json"), "s1");
    std::fs::write(inbox.join("b.mp4"), b"not a video").unwrap();
    sidecar(&inbox.join("b.json"), "s2");
    std::fs::write(inbox.join("c.mp4"), b"").unwrap();
    std::fs::write(inbox.join("c.json"), r#"{"shot": "s3", "prompt": "p"}"#).unwrap();
    let output = ingest(scratch.path(), &data, &inbox, &out)
        .arg("--once")
        .output()
        .unwrap();
    let (_, stderr) = texts(&output);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert_no_panic(&stderr, "slate ingest");
    assert!(stderr.contains("b.mp4: cannot read it as video"), "{stderr}");
    assert!(stderr.contains("c.json: missing field `model`"), "{stderr}");
    let first = report(&out).expect("the good clip is in");
    assert_eq!(first["clips"].as_array().unwrap().len(), 1);
    // Mended, c comes in on the next run, and the library keeps a.
    clip(&inbox.join("c.mp4"), 2.0, "");
    sidecar(&inbox.join("c.json"), "s3");
    std::fs::remove_file(inbox.join("b.json")).unwrap();
    let output = ingest(scratch.path(), &data, &inbox, &out)
        .arg("--once")
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", texts(&output).1);
    let second = report(&out).unwrap();
    let shots: Vec<&str> = second["clips"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["sidecar"]["shot"].as_str().unwrap())
        .collect();
    assert_eq!(shots, ["s1", "s3"]);
    assert_eq!(second["flagged"], 0, "c carries on from a: {second:#}");
}

/// The same two clips as above, uploaded to `slate serve --ingest-dir`
/// while `slate ingest` watches that folder: the jump is flagged.
#[test]
fn clips_uploaded_over_http_are_ingested_and_the_jump_is_flagged() {
    let scratch = tempfile::tempdir().unwrap();
    let dir = scratch.path();
    let (inbox, out, data) = folders(dir);
    let server = serve(
        slate_with_data(dir, &data)
            .args(["serve", "--listen", "127.0.0.1:0", "--db", "r.sqlite", "--ingest-dir"])
            .arg(&inbox),
    );
    let (address, token) = (&server.address, &server.token);
    let watcher = ingest(dir, &data, &inbox, &out)
        .args(["--clips", "2", "--for", "300s"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("slate ingest starts");
    let made = dir.join("made");
    std::fs::create_dir_all(&made).unwrap();
    clip(&made.join("a.mp4"), 0.0, "");
    clip(&made.join("b.mp4"), 2.0, ",hue=h=150");
    for (name, shot) in [("a.mp4", "s1"), ("b.mp4", "s2")] {
        let bytes = std::fs::read(made.join(name)).unwrap();
        let path = format!("/v1/ingest/clips/{name}?shot={shot}&prompt=test%20card&model=ffmpeg-testsrc2");
        let (status, reply) = http(address, "PUT", &path, Some(token), &bytes);
        assert_eq!(status, 201, "{reply}");
        assert_eq!(reply["sidecar"]["model"], "ffmpeg-testsrc2");
    }
    let (status, reply) = http(
        address,
        "PUT",
        "/v1/ingest/clips/a.mp4?shot=s1&model=m",
        Some(token),
        b"again",
    );
    assert_eq!((status, reply["field"].as_str()), (409, Some("name")), "{reply}");
    let output = watcher.wait_with_output().expect("slate ingest ends after two clips");
    drop(server);
    let (_, stderr) = texts(&output);
    assert!(output.status.success(), "{stderr}");
    let report = report(&out).expect("a report");
    let shots: Vec<&str> = report["clips"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["sidecar"]["shot"].as_str().unwrap())
        .collect();
    assert_eq!(shots, ["s1", "s2"]);
    assert_eq!(report["flagged"], 1, "{report:#}");
    assert_eq!(report["cuts"][0]["frame"], 50);
}
