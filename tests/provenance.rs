//! Provenance from the command line: `slate sign` and `slate verify`, and
//! the tamper test — 200 random single-byte flips of a signed file, each
//! caught by `slate verify` and by c2patool (crates.io, not ours).

use std::path::{Path, PathBuf};

use slate_e2e::*;

/// A signed clip made by a real pipeline ending in `c2pasink`.
fn signed_clip(dir: &Path, data: &Path) -> PathBuf {
    let clip = dir.join("clip.mp4");
    let output = slate_with_data(dir, data)
        .arg("launch")
        .arg(format!(
            "videotestsrc num-buffers=120 pattern=snow ! video/x-raw,width=640,height=360,framerate=30/1 ! x264enc bitrate=8000 ! h264parse ! mp4mux ! c2pasink location={} source=generated",
            clip.display()
        ))
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", texts(&output).1);
    clip
}

fn raw_clip(dir: &Path, name: &str) -> PathBuf {
    let path = dir.join(name);
    let output = slate(dir)
        .arg("launch")
        .arg(format!(
            "videotestsrc num-buffers=30 ! video/x-raw,width=320,height=240 ! x264enc ! h264parse ! mp4mux ! filesink location={}",
            path.display()
        ))
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", texts(&output).1);
    path
}

/// splitmix64: a fixed sequence of positions, the same on every run.
fn positions(seed: u64, count: usize, below: usize) -> Vec<usize> {
    let mut state = seed;
    (0..count)
        .map(|_| {
            state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            ((z ^ (z >> 31)) % below as u64) as usize
        })
        .collect()
}

/// Byte ranges of the top-level boxes C2PA's BMFF hash leaves out by
/// design (`ftyp`, `free`, `skip`, `mfra`): a flip there is not tampering
/// the manifest can see.
fn unhashed_boxes(bytes: &[u8]) -> Vec<std::ops::Range<usize>> {
    let mut ranges = Vec::new();
    let mut at = 0;
    while at + 8 <= bytes.len() {
        let size = u32::from_be_bytes(bytes[at..at + 4].try_into().unwrap()) as usize;
        let kind = &bytes[at + 4..at + 8];
        if size < 8 || at + size > bytes.len() {
            break;
        }
        if [&b"ftyp"[..], b"free", b"skip", b"mfra"].contains(&kind) {
            ranges.push(at + 8..at + size);
        }
        at += size;
    }
    ranges
}

#[test]
fn two_hundred_random_byte_flips_are_all_caught_by_slate_and_c2patool() {
    let scratch = tempfile::tempdir().unwrap();
    let data = scratch.path().join("data");
    let clip = signed_clip(scratch.path(), &data);
    let settings = c2patool_settings(scratch.path(), &data.join("signing/ca.pem"));
    let (report, text) = c2patool_report(Some(&settings), &clip, None);
    assert_eq!(
        report.unwrap_or_default()["validation_state"],
        "Trusted",
        "the untouched clip: {text}"
    );

    let bytes = std::fs::read(&clip).unwrap();
    let unhashed = unhashed_boxes(&bytes);
    let copy = scratch.path().join("flipped.mp4");
    let (mut missed_by_slate, mut missed_by_c2patool) = (Vec::new(), Vec::new());
    for (n, at) in positions(0x5eed_c2ba, 200, bytes.len()).into_iter().enumerate() {
        let mut flipped = bytes.clone();
        flipped[at] ^= 1 << (n % 8);
        std::fs::write(&copy, &flipped).unwrap();
        let output = slate_with_data(scratch.path(), &data)
            .arg("verify")
            .arg(&copy)
            .output()
            .unwrap();
        let (stdout, stderr) = texts(&output);
        assert_no_panic(&stderr, "slate verify");
        let state = serde_json::from_str::<serde_json::Value>(&stdout)
            .map(|r| r["state"].clone())
            .unwrap_or_default();
        if output.status.success() || state == "trusted" {
            missed_by_slate.push(at);
        }
        let (report, _) = c2patool_report(Some(&settings), &copy, None);
        let hashed = !unhashed.iter().any(|r| r.contains(&at));
        if hashed && report.is_some_and(|r| r["validation_state"] == "Trusted") {
            missed_by_c2patool.push(at);
        }
    }
    eprintln!(
        "{} bytes, 200 flips: slate verify missed {}, c2patool missed {}",
        bytes.len(),
        missed_by_slate.len(),
        missed_by_c2patool.len()
    );
    assert!(
        missed_by_slate.is_empty(),
        "slate verify missed flips at {missed_by_slate:?}"
    );
    assert!(
        missed_by_c2patool.is_empty(),
        "c2patool missed flips at {missed_by_c2patool:?}"
    );
}

#[test]
fn sign_says_what_happened_and_verify_judges_files() {
    let scratch = tempfile::tempdir().unwrap();
    let data = scratch.path().join("data");
    raw_clip(scratch.path(), "main.mp4");
    raw_clip(scratch.path(), "insert.mp4");
    let output = slate_with_data(scratch.path(), &data)
        .args([
            "sign",
            "main.mp4",
            "--source",
            "composite",
            "--ingredient",
            "insert.mp4",
        ])
        .args(["--edit", "c2pa.placed=generated insert", "--title", "Cut 1"])
        .output()
        .unwrap();
    let (stdout, stderr) = texts(&output);
    assert!(output.status.success(), "{stderr}");
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["state"], "trusted", "{stdout}");
    let signed = scratch.path().join("main.signed.mp4");
    assert_eq!(report["file"], "main.signed.mp4");
    assert_eq!(report["ingredients"][0]["title"], "insert.mp4");

    // c2patool shows the same actions and the ingredient.
    let settings = c2patool_settings(scratch.path(), &data.join("signing/ca.pem"));
    let (c2pa, text) = c2patool_report(Some(&settings), &signed, None);
    let c2pa = c2pa.unwrap_or_else(|| panic!("{text}"));
    assert_eq!(c2pa["validation_state"], "Trusted", "{text}");
    let manifest = &c2pa["manifests"][c2pa["active_manifest"].as_str().unwrap()];
    assert_eq!(manifest["ingredients"][0]["title"], "insert.mp4", "{manifest}");
    assert_eq!(manifest["title"], "Cut 1");

    // A folder: every media file judged; one unsigned makes it fail.
    let output = slate_with_data(scratch.path(), &data)
        .arg("verify")
        .arg(scratch.path())
        .output()
        .unwrap();
    let (stdout, stderr) = texts(&output);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    let reports: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let states: Vec<(&str, &str)> = reports
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                Path::new(r["file"].as_str().unwrap())
                    .file_name()
                    .unwrap()
                    .to_str()
                    .unwrap(),
                r["state"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        states,
        [
            ("insert.mp4", "unsigned"),
            ("main.mp4", "unsigned"),
            ("main.signed.mp4", "trusted")
        ]
    );
    assert!(
        stderr.contains("not intact: ") && stderr.contains("main.mp4 (Unsigned)"),
        "{stderr}"
    );

    // Bad input names what is wrong.
    let output = slate_with_data(scratch.path(), &data)
        .args(["verify", "missing.mp4"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(
        texts(&output).1.contains("missing.mp4: no such file"),
        "{}",
        texts(&output).1
    );
    let output = slate_with_data(scratch.path(), &data)
        .args(["sign", "main.mp4", "--edit", "trimmed"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(texts(&output).1.contains("ACTION=DESCRIPTION"), "{}", texts(&output).1);
}
