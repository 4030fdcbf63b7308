//! `consentgate` on video assembled from real photos (public-domain
//! portraits of Grace Hopper and Eileen Collins, tests/fixtures/faces):
//! who passes, who is blurred or blocked, counted frame by frame in the
//! pixels and in the metadata; revocation during a live run; grant ids in
//! the C2PA manifest; and through `gst_check::Harness`: the metadata of
//! every frame, the check interval restarting after a flush, and a frame
//! blocked for an unregistered face.

mod common;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{pipeline, play_to_eos, start_error};
use gst::prelude::*;
use gstslate::SlateMeta;
use gstslate::consentgate::DEFAULT_THRESHOLD;
use gstslate::model::{Record, Value};
use slate_consent::{IdentityKey, Registry, Terms, cosine};
use slate_onnx::faces::FaceFinder;
use slate_onnx::preprocess::{Frame, PixelFormat};

const WIDTH: usize = 640;
const HEIGHT: usize = 360;

/// An RGB photo.
struct Photo {
    width: usize,
    height: usize,
    rgb: Vec<u8>,
}

fn photo(name: &str) -> Photo {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/faces")
        .join(name);
    let bytes = std::fs::read(&path).unwrap();
    // Binary PPM as ffmpeg writes it: "P6\n<w> <h>\n255\n" then RGB.
    let mut fields = Vec::new();
    let mut at = 0;
    while fields.len() < 4 {
        while bytes[at].is_ascii_whitespace() {
            at += 1;
        }
        let start = at;
        while !bytes[at].is_ascii_whitespace() {
            at += 1;
        }
        fields.push(String::from_utf8(bytes[start..at].to_vec()).unwrap());
    }
    assert_eq!(fields[0], "P6", "{}", path.display());
    let (width, height): (usize, usize) = (fields[1].parse().unwrap(), fields[2].parse().unwrap());
    let rgb = bytes[at + 1..].to_vec();
    assert_eq!(rgb.len(), width * height * 3);
    Photo { width, height, rgb }
}

/// How a photo is put into a frame.
#[derive(Clone, Copy)]
struct Placed {
    x: usize,
    y: usize,
    scale: f32,
    mirror: bool,
    gain: f32,
}

fn at(x: usize, y: usize) -> Placed {
    Placed {
        x,
        y,
        scale: 1.0,
        mirror: false,
        gain: 1.0,
    }
}

/// A grey RGBx frame with the photos in it (nearest-neighbour scaling).
fn frame_with(photos: &[(&Photo, Placed)]) -> Vec<u8> {
    let mut frame = vec![96u8; WIDTH * HEIGHT * 4];
    for (photo, p) in photos {
        let (w, h) = (
            (photo.width as f32 * p.scale) as usize,
            (photo.height as f32 * p.scale) as usize,
        );
        for y in 0..h.min(HEIGHT - p.y) {
            for x in 0..w.min(WIDTH - p.x) {
                let mut sx = ((x as f32 / p.scale) as usize).min(photo.width - 1);
                if p.mirror {
                    sx = photo.width - 1 - sx;
                }
                let sy = ((y as f32 / p.scale) as usize).min(photo.height - 1);
                let from = (sy * photo.width + sx) * 3;
                let to = ((p.y + y) * WIDTH + p.x + x) * 4;
                for c in 0..3 {
                    frame[to + c] = (photo.rgb[from + c] as f32 * p.gain).min(255.0) as u8;
                }
            }
        }
    }
    frame
}

fn view(frame: &[u8]) -> Frame<'_> {
    Frame {
        data: frame,
        format: PixelFormat::Rgbx,
        width: WIDTH as u32,
        height: HEIGHT as u32,
        stride: WIDTH * 4,
    }
}

fn finder() -> FaceFinder {
    FaceFinder::open("centerface", "face-embed", &slate_onnx::Options::new("centerface")).unwrap()
}

/// The one face of `frame`: its box and embedding.
fn one_face(finder: &FaceFinder, frame: &[u8]) -> ([f32; 4], Vec<f32>) {
    let mut faces = finder.find(&view(frame)).unwrap();
    assert_eq!(faces.len(), 1, "one face expected");
    let face = faces.remove(0);
    let d = &face.detection;
    ([d.x, d.y, d.w, d.h], face.embedding)
}

/// The video: Grace drifting right 2 px a frame on the left, Eileen
/// Collins still on the right.
struct Scene {
    frames: Vec<Vec<u8>>,
    /// Per frame, each person's face box.
    grace: Vec<[f32; 4]>,
    collins: Vec<[f32; 4]>,
    grace_embedding: Vec<f32>,
}

fn scene(count: usize) -> Scene {
    let (hopper, eileen) = (photo("grace_hopper.ppm"), photo("astronaut.ppm"));
    let finder = finder();
    // Where each face sits in its photo, and who it is, from the photo
    // alone (as `slate consent register` would see it).
    let (grace_box, grace_embedding) = one_face(&finder, &frame_with(&[(&hopper, at(0, 0))]));
    let (collins_box, _) = one_face(&finder, &frame_with(&[(&eileen, at(0, 0))]));
    let mut scene = Scene {
        frames: Vec::new(),
        grace: Vec::new(),
        collins: Vec::new(),
        grace_embedding,
    };
    for i in 0..count {
        let grace_at = at(20 + 2 * i, 30);
        let collins_at = at(360, 60);
        scene
            .frames
            .push(frame_with(&[(&hopper, grace_at), (&eileen, collins_at)]));
        let shift = |b: [f32; 4], p: Placed| [b[0] + p.x as f32, b[1] + p.y as f32, b[2], b[3]];
        scene.grace.push(shift(grace_box, grace_at));
        scene.collins.push(shift(collins_box, collins_at));
    }
    scene
}

/// The scene as a raw RGBx file, for `rawvideoparse`.
fn write_raw(scene: &Scene, dir: &Path) -> PathBuf {
    let path = dir.join("scene.rgbx");
    std::fs::write(&path, scene.frames.concat()).unwrap();
    path
}

fn source(raw: &Path, fps: u32) -> String {
    format!(
        "filesrc location={} blocksize={} ! rawvideoparse width={WIDTH} height={HEIGHT} format=rgbx framerate={fps}/1",
        raw.display(),
        WIDTH * HEIGHT * 4
    )
}

/// Mean absolute difference of two frames inside a box.
fn changed(a: &[u8], b: &[u8], [x, y, w, h]: [f32; 4]) -> f32 {
    let (x0, y0) = (x.max(0.0) as usize, y.max(0.0) as usize);
    let (x1, y1) = (((x + w) as usize).min(WIDTH), ((y + h) as usize).min(HEIGHT));
    let mut sum = 0u64;
    for row in y0..y1 {
        for col in x0..x1 {
            let i = (row * WIDTH + col) * 4;
            sum += (0..3).map(|c| a[i + c].abs_diff(b[i + c]) as u64).sum::<u64>();
        }
    }
    sum as f32 / (3 * (x1 - x0) * (y1 - y0)).max(1) as f32
}

/// A registry with Grace in it (Collins stays unregistered), Grace's key.
struct People {
    path: PathBuf,
    registry: Registry,
    grace: String,
    key: IdentityKey,
}

fn people(dir: &Path, scene: &Scene) -> People {
    let path = dir.join("consent.sqlite");
    let registry = Registry::open(&path).unwrap();
    let key = IdentityKey::generate().unwrap();
    let grace = registry
        .register(
            "Grace Hopper",
            key.public(),
            &[("grace_hopper.ppm".into(), scene.grace_embedding.clone())],
        )
        .unwrap();
    People {
        path,
        registry,
        grace,
        key,
    }
}

fn terms(channels: &[&str], uses: &[&str], from: i64, until: i64) -> Terms {
    Terms {
        grantee: "studio".into(),
        channels: channels.iter().map(|c| c.to_string()).collect(),
        uses: uses.iter().map(|u| u.to_string()).collect(),
        forbidden: vec!["politics".into()],
        valid_from: from,
        valid_until: until,
    }
}

/// What left the gate: per frame, its pixels, its record, and when.
type Out = Arc<Mutex<Vec<(Vec<u8>, Record, Instant)>>>;

fn collect(pipeline: &gst::Pipeline) -> Out {
    let out: Out = Arc::default();
    let into = out.clone();
    let sink = pipeline.by_name("out").unwrap();
    sink.set_property("signal-handoffs", true);
    sink.connect("handoff", false, move |args| {
        let buffer = args[1].get::<gst::Buffer>().unwrap();
        let map = buffer.map_readable().unwrap();
        into.lock()
            .unwrap()
            .push((map.to_vec(), SlateMeta::record_of(&buffer), Instant::now()));
        None
    });
    out
}

fn gate(people: &People, extra: &str) -> String {
    format!(
        "consentgate name=gate registry={} grantee=studio channel=web {extra}",
        people.path.display()
    )
}

/// Per person, how many frames showed their face changed, and how many
/// frames were left entirely untouched.
struct Counts {
    /// Per check, who was refused and why.
    refused: Vec<Vec<String>>,
    grace: usize,
    collins: usize,
    untouched: usize,
    grants: Vec<Vec<String>>,
    actions: Vec<String>,
}

fn run(scene: &Scene, raw: &Path, people: &People, extra: &str) -> Counts {
    let p = pipeline(&format!(
        "{} ! {} ! fakesink name=out",
        source(raw, 10),
        gate(people, extra)
    ));
    let out = collect(&p);
    let mut checks = Vec::new();
    play_to_eos(&p, |s| {
        if s.name() == gstslate::consentgate::CONSENT_MESSAGE {
            checks.push((
                s.get::<String>("frames").unwrap(),
                s.get::<Vec<String>>("refused").unwrap(),
            ));
        }
    });
    let out = out.lock().unwrap();
    assert_eq!(out.len(), scene.frames.len(), "every frame comes out");
    let interval: usize = extra
        .split_whitespace()
        .find_map(|p| p.strip_prefix("interval="))
        .map_or(5, |n| n.parse().unwrap());
    assert_eq!(
        checks.len(),
        scene.frames.len().div_ceil(interval),
        "one message per check"
    );
    assert_eq!(checks[1].0, format!("{interval}-{}", 2 * interval - 1));
    let mut counts = Counts {
        refused: checks.into_iter().map(|(_, refused)| refused).collect(),
        grace: 0,
        collins: 0,
        untouched: 0,
        grants: Vec::new(),
        actions: Vec::new(),
    };
    for (i, (pixels, record, _)) in out.iter().enumerate() {
        let input = &scene.frames[i];
        counts.grace += (changed(pixels, input, scene.grace[i]) > 3.0) as usize;
        counts.collins += (changed(pixels, input, scene.collins[i]) > 3.0) as usize;
        counts.untouched += (pixels == input) as usize;
        counts.grants.push(match record.get("consent.grants") {
            Some(Value::TextList(grants)) => grants.clone(),
            other => panic!("frame {i}: consent.grants is {other:?}"),
        });
        counts.actions.push(
            record
                .get("consent.action")
                .and_then(Value::as_text)
                .unwrap()
                .to_owned(),
        );
        assert_eq!(
            record.objects().iter().filter(|o| o.label == "face").count(),
            2,
            "frame {i}: two faces"
        );
    }
    counts
}

#[test]
fn the_default_threshold_separates_the_test_set() {
    // Same person: each photo against itself as a camera would change it
    // (smaller, larger, mirrored, darker, elsewhere in the frame); different
    // people: every cross pair.
    let (hopper, eileen) = (photo("grace_hopper.ppm"), photo("astronaut.ppm"));
    let finder = finder();
    let changes = [
        at(0, 0),
        at(300, 40),
        Placed {
            scale: 0.7,
            ..at(100, 100)
        },
        Placed {
            scale: 1.15,
            ..at(10, 0)
        },
        Placed {
            mirror: true,
            ..at(200, 20)
        },
        Placed {
            gain: 0.6,
            ..at(50, 50)
        },
    ];
    let embed = |p: &Photo| -> Vec<Vec<f32>> {
        changes
            .iter()
            .map(|c| one_face(&finder, &frame_with(&[(p, *c)])).1)
            .collect()
    };
    let (grace, collins) = (embed(&hopper), embed(&eileen));
    let mut same = Vec::new();
    let mut different = Vec::new();
    for person in [&grace, &collins] {
        for v in &person[1..] {
            same.push(cosine(&person[0], v));
        }
    }
    for g in &grace {
        for c in &collins {
            different.push(cosine(g, c));
        }
    }
    let max_different = different.iter().cloned().fold(f32::MIN, f32::max);
    let min_same = same.iter().cloned().fold(f32::MAX, f32::min);
    println!(
        "ROC over {} same-person and {} different-person pairs:",
        same.len(),
        different.len()
    );
    for threshold in [0.1, 0.2, 0.3, 0.4, 0.5, 0.55, 0.6, 0.7, 0.8] {
        let tpr = same.iter().filter(|&&s| s >= threshold).count() as f32 / same.len() as f32;
        let fpr = different.iter().filter(|&&s| s >= threshold).count() as f32 / different.len() as f32;
        println!("  threshold {threshold:.2}: true positives {tpr:.2}, false positives {fpr:.2}");
    }
    println!("same person {min_same:.3}.. , different people ..{max_different:.3}");
    let t = DEFAULT_THRESHOLD as f32;
    let middle = (max_different + min_same) / 2.0;
    assert!(
        max_different < t && t < min_same && (t - middle).abs() < 0.05,
        "the default {t} must lie in the middle of the gap between different people (up to {max_different}) and the same person (from {min_same})"
    );
}

#[test]
fn people_pass_only_with_a_grant_for_this_grantee_channel_use_and_moment() {
    let scene = scene(20);
    let now = slate_consent::now();
    let far = now + 3600;
    type Setup = fn(&People, i64, i64);
    let cases: [(&str, Setup, bool); 7] = [
        (
            "valid grant",
            |p, now, far| grant(p, "g", terms(&["web"], &["cameo"], now - 60, far)),
            true,
        ),
        ("no grant", |_, _, _| {}, false),
        (
            "expired grant",
            |p, now, _| grant(p, "g", terms(&["web"], &["cameo"], now - 600, now - 60)),
            false,
        ),
        (
            "grant for another channel",
            |p, now, far| grant(p, "g", terms(&["tv"], &["cameo"], now - 60, far)),
            false,
        ),
        (
            "grant for another use",
            |p, now, far| grant(p, "g", terms(&["*"], &["remix"], now - 60, far)),
            false,
        ),
        (
            "revoked grant",
            |p, now, far| {
                grant(p, "g", terms(&["web"], &["cameo"], now - 600, far));
                p.registry.revoke(&p.key.revoke("g", &p.grace, now - 30)).unwrap();
            },
            false,
        ),
        (
            "grant not yet valid",
            |p, now, far| grant(p, "g", terms(&["web"], &["cameo"], now + 600, far)),
            false,
        ),
    ];
    for (name, setup, allowed) in cases {
        let dir = tempfile::tempdir().unwrap();
        let raw = write_raw(&scene, dir.path());
        let people = people(dir.path(), &scene);
        setup(&people, now, far);
        // Collins is not registered: `unknown-policy=pass` shows her.
        let counts = run(&scene, &raw, &people, "interval=5 unknown-policy=pass");
        let frames = scene.frames.len();
        if allowed {
            assert_eq!(
                (counts.grace, counts.untouched),
                (0, frames),
                "{name}: Grace shown in every frame"
            );
            assert!(counts.grants.iter().all(|g| g == &["g"]), "{name}: {:?}", counts.grants);
        } else {
            assert_eq!(counts.grace, frames, "{name}: Grace blurred in every frame");
            assert!(counts.grants.iter().all(Vec::is_empty), "{name}: {:?}", counts.grants);
            assert!(
                counts.actions.iter().all(|a| a == "blur"),
                "{name}: {:?}",
                counts.actions
            );
            assert!(
                counts
                    .refused
                    .iter()
                    .all(|r| r.len() == 1 && r[0].starts_with(&people.grace)),
                "{name}: {:?}",
                counts.refused
            );
        }
        assert_eq!(
            counts.collins, 0,
            "{name}: the unknown face follows unknown-policy=pass"
        );
        // Every check is in the audit log: 4 checks of 2 faces.
        let audit = people.registry.audit(100).unwrap();
        assert_eq!(audit.len(), 8, "{name}");
        let grace_checks: Vec<_> = audit
            .iter()
            .filter(|e| e.identity.as_deref() == Some(&people.grace))
            .collect();
        assert_eq!(grace_checks.len(), 4, "{name}");
        assert!(
            grace_checks.iter().all(|e| e.allowed == allowed),
            "{name}: {grace_checks:?}"
        );
        assert_eq!(grace_checks[1].frames, "5-9");
        assert!(
            grace_checks[0].checker.starts_with("consentgate:gate"),
            "{:?}",
            grace_checks[0]
        );
    }
}

fn grant(people: &People, id: &str, terms: Terms) {
    people
        .registry
        .add_grant(&people.key.grant(id, &people.grace, terms))
        .unwrap();
}

#[test]
fn forbidden_contexts_unknown_faces_block_and_flag() {
    let scene = scene(10);
    let now = slate_consent::now();
    let dir = tempfile::tempdir().unwrap();
    let raw = write_raw(&scene, dir.path());
    let people = people(dir.path(), &scene);
    grant(&people, "g", terms(&["web"], &["cameo"], now - 60, now + 3600));

    let frames = scene.frames.len();
    let counts = run(
        &scene,
        &raw,
        &people,
        "interval=2 context=news,politics unknown-policy=pass",
    );
    assert_eq!(
        (counts.grace, counts.collins),
        (frames, 0),
        "a forbidden context refuses"
    );

    let counts = run(&scene, &raw, &people, "interval=3 unknown-policy=blur");
    assert_eq!(
        (counts.grace, counts.collins),
        (0, frames),
        "unknown faces blurred, Grace shown"
    );
    assert!(counts.grants.iter().all(|g| g == &["g"]));

    let counts = run(&scene, &raw, &people, "interval=3 unknown-policy=block");
    assert!(counts.actions.iter().all(|a| a == "block"), "{:?}", counts.actions);
    assert!(counts.grants.iter().all(Vec::is_empty), "a blocked frame shows nobody");

    // Flag: frames pass untouched, with one warning per check naming why.
    let p = pipeline(&format!(
        "{} ! {} ! fakesink name=out",
        source(&raw, 10),
        gate(&people, "interval=5 unknown-policy=flag")
    ));
    let out = collect(&p);
    let bus = p.bus().unwrap();
    p.set_state(gst::State::Playing).unwrap();
    let mut warnings = Vec::new();
    for message in bus.iter_timed(gst::ClockTime::from_seconds(30)) {
        match message.view() {
            gst::MessageView::Warning(w) => warnings.push(w.details().map(|d| d.to_owned())),
            gst::MessageView::Eos(_) => break,
            gst::MessageView::Error(e) => panic!("{}", e.error()),
            _ => {}
        }
    }
    p.set_state(gst::State::Null).unwrap();
    let out = out.lock().unwrap();
    assert!(
        out.iter()
            .zip(&scene.frames)
            .all(|((pixels, ..), input)| pixels == input)
    );
    assert_eq!(warnings.len(), 2, "two checks of 10 frames, one unknown face each");
    let details = warnings[0].as_ref().unwrap();
    assert_eq!(details.get::<String>("reason").unwrap(), "not in the registry");
    assert_eq!(details.get::<Option<String>>("identity").unwrap(), None);
}

#[test]
fn block_replaces_the_frames_of_a_person_without_a_grant() {
    let scene = scene(6);
    let dir = tempfile::tempdir().unwrap();
    let raw = write_raw(&scene, dir.path());
    let people = people(dir.path(), &scene);
    let p = pipeline(&format!(
        "{} ! {} ! fakesink name=out",
        source(&raw, 10),
        gate(&people, "interval=2 policy=block unknown-policy=pass")
    ));
    let out = collect(&p);
    play_to_eos(&p, |_| {});
    let out = out.lock().unwrap();
    assert_eq!(out.len(), 6);
    for (pixels, record, _) in out.iter() {
        assert!(pixels.iter().all(|&b| b == 0), "a blocked frame is black");
        assert_eq!(record.get("consent.action").and_then(Value::as_text), Some("block"));
    }
}

#[test]
fn a_revocation_counts_from_the_next_check_of_a_live_run() {
    // 40 frames at 10 fps, paced by the clock; once 16 have been shown
    // (however long the models took to load; frames leave the gate in
    // bursts after each check), Grace revokes her grant as of that
    // moment.
    let scene = scene(40);
    let dir = tempfile::tempdir().unwrap();
    let raw = write_raw(&scene, dir.path());
    let mut people = people(dir.path(), &scene);
    let now = slate_consent::now();
    grant(&people, "g", terms(&["web"], &["cameo"], now - 60, now + 3600));
    let interval = 3;
    let p = pipeline(&format!(
        "{} ! identity sync=true ! {} ! fakesink name=out",
        source(&raw, 10),
        gate(&people, &format!("interval={interval} unknown-policy=pass"))
    ));
    let out = collect(&p);
    let revoker = {
        let (path, grace) = (people.path.clone(), people.grace.clone());
        let key = std::mem::replace(&mut people.key, IdentityKey::generate().unwrap());
        let shown = out.clone();
        std::thread::spawn(move || {
            let registry = Registry::open(&path).unwrap();
            let started = Instant::now();
            while shown.lock().unwrap().len() < 16 {
                assert!(
                    started.elapsed() < Duration::from_secs(60),
                    "the live run never got going"
                );
                std::thread::sleep(Duration::from_millis(5));
            }
            registry.revoke(&key.revoke("g", &grace, slate_consent::now())).unwrap();
            Instant::now()
        })
    };
    play_to_eos(&p, |_| {});
    let revoked = revoker.join().unwrap();
    let out = out.lock().unwrap();
    assert_eq!(out.len(), 40);
    // A frame leaves the gate a moment after its check: allow 50 ms.
    let slack = Duration::from_millis(50);
    let one_check = Duration::from_millis(100 * interval as u64);
    let (mut before, mut after) = (0, 0);
    for (i, (pixels, _, when)) in out.iter().enumerate() {
        let blurred = changed(pixels, &scene.frames[i], scene.grace[i]) > 3.0;
        if *when + slack < revoked {
            assert!(!blurred, "frame {i}, before the revocation, is shown");
            before += 1;
        }
        if *when > revoked + one_check + slack {
            assert!(
                blurred,
                "frame {i}, {:?} after the revocation, is blurred",
                *when - revoked
            );
            after += 1;
        }
    }
    assert!(before >= 10 && after >= 15, "{before} frames before, {after} after");
    assert!(
        people
            .registry
            .audit(1000)
            .unwrap()
            .iter()
            .any(|e| e.reason.starts_with("revoked at")),
        "the audit log shows the refusal"
    );
}

#[test]
fn grant_ids_of_the_people_shown_go_into_the_manifest() {
    let scene = scene(15);
    let dir = tempfile::tempdir().unwrap();
    let raw = write_raw(&scene, dir.path());
    let people = people(dir.path(), &scene);
    let now = slate_consent::now();
    grant(
        &people,
        "grace-cameo-2026",
        terms(&["web"], &["cameo"], now - 60, now + 3600),
    );
    let identity = slate_provenance::Identity::local(dir.path()).unwrap();
    let signing = dir.path().join("signing");
    let output = dir.path().join("out.mp4");
    play_to_eos(
        &pipeline(&format!(
            "{} ! {} ! videoconvert ! x264enc ! h264parse ! mp4mux ! c2pasink location={} certificate={} key={}",
            source(&raw, 10),
            gate(&people, "interval=5 unknown-policy=blur"),
            output.display(),
            signing.join("chain.pem").display(),
            signing.join("signer.key").display()
        )),
        |_| {},
    );
    let trust = slate_provenance::Trust::default().with(identity.ca_pem.as_deref().unwrap());
    let report = slate_provenance::verify(&output, None, &trust);
    assert_eq!(report.state, slate_provenance::State::Trusted, "{report:#?}");
    assert_eq!(
        report.slate.as_ref().unwrap()["grants"],
        serde_json::json!(["grace-cameo-2026"])
    );
}

#[test]
fn missing_settings_are_named_before_the_stream_starts() {
    let dir = tempfile::tempdir().unwrap();
    let error = start_error(&pipeline(
        "videotestsrc num-buffers=1 ! video/x-raw,format=RGBx ! consentgate grantee=a channel=b ! fakesink",
    ));
    assert!(error.contains("property `registry`"), "{error}");
    let missing = dir.path().join("nope.sqlite");
    let error = start_error(&pipeline(&format!(
        "videotestsrc num-buffers=1 ! video/x-raw,format=RGBx ! consentgate registry={} grantee=a channel=b ! fakesink",
        missing.display()
    )));
    assert!(error.contains("no such registry"), "{error}");
    assert!(!missing.exists(), "a typo does not make an empty registry");
    Registry::open(&dir.path().join("r.sqlite")).unwrap();
    let error = start_error(&pipeline(&format!(
        "videotestsrc num-buffers=1 ! video/x-raw,format=RGBx ! consentgate registry={} grantee=a ! fakesink",
        dir.path().join("r.sqlite").display()
    )));
    assert!(error.contains("`channel`"), "{error}");
}

/// `consentgate` on an empty registry in a harness, its frames `caps`.
fn gate_harness(dir: &Path, props: &[(&str, &str)], caps: &str) -> gst_check::Harness {
    common::init();
    let registry = dir.join("empty.sqlite");
    Registry::open(&registry).unwrap();
    let element = gst::ElementFactory::make("consentgate")
        .property("registry", registry.display().to_string())
        .property("grantee", "studio")
        .property("channel", "web")
        .property("media", "harness")
        .build()
        .unwrap();
    common::filter_harness(&element, props, caps)
}

fn frame_at(pixels: Vec<u8>, ms: u64) -> gst::Buffer {
    let mut buffer = gst::Buffer::from_mut_slice(pixels);
    let b = buffer.get_mut().unwrap();
    b.set_pts(gst::ClockTime::from_mseconds(ms));
    b.set_duration(gst::ClockTime::from_mseconds(40));
    buffer
}

#[test]
fn harness_marks_every_frame_and_a_flush_restarts_the_check_interval() {
    let dir = tempfile::tempdir().unwrap();
    let mut h = gate_harness(
        dir.path(),
        &[("interval", "2")],
        "video/x-raw,format=RGBx,width=64,height=48,framerate=25/1",
    );
    // No faces in flat grey: every frame passes as it is.
    let grey = |n: u8| vec![90 + n; 64 * 48 * 4];
    let mut checked = Vec::new();
    for n in 0..3u8 {
        h.push(frame_at(grey(n), 40 * n as u64)).unwrap();
        let out = h.pull().unwrap();
        assert_eq!(out.pts(), Some(gst::ClockTime::from_mseconds(40 * n as u64)));
        assert_eq!(out.duration(), Some(gst::ClockTime::from_mseconds(40)));
        assert_eq!(out.map_readable().unwrap().as_slice(), grey(n).as_slice());
        let record = SlateMeta::record_of(&out);
        assert_eq!(record.get("consent.action").and_then(Value::as_text), Some("pass"));
        assert_eq!(record.get("consent.grants"), Some(&Value::TextList(Vec::new())));
        assert!(record.objects().is_empty(), "{record:?}");
        checked.push(record.get("consent.checked") == Some(&Value::Bool(true)));
    }
    assert_eq!(checked, [true, false, true], "every 2nd frame is checked");
    // Frame 3 would not be checked; after a flush the count starts over.
    common::flush(&mut h);
    h.push(frame_at(grey(3), 0)).unwrap();
    let out = h.pull().unwrap();
    assert_eq!(out.pts(), Some(gst::ClockTime::ZERO));
    assert_eq!(
        SlateMeta::record_of(&out).get("consent.checked"),
        Some(&Value::Bool(true)),
        "the first frame after a flush is checked"
    );
    assert!(h.push_event(gst::event::Eos::new()));
    assert!(common::pull_to_eos(&mut h).is_empty());
}

#[test]
fn harness_blocks_a_frame_showing_an_unregistered_face() {
    let dir = tempfile::tempdir().unwrap();
    let mut h = gate_harness(
        dir.path(),
        &[("interval", "1"), ("unknown-policy", "block")],
        "video/x-raw,format=RGBx,width=256,height=256,framerate=25/1",
    );
    let bus = common::bus_for(&h.element().unwrap());
    let photo = photo("astronaut.ppm");
    assert_eq!((photo.width, photo.height), (256, 256));
    let face: Vec<u8> = photo.rgb.chunks_exact(3).flat_map(|p| [p[0], p[1], p[2], 0]).collect();
    h.push(frame_at(face, 0)).unwrap();
    let out = h.pull().unwrap();
    assert_eq!(out.pts(), Some(gst::ClockTime::ZERO));
    assert!(
        out.map_readable().unwrap().iter().all(|&b| b == 0),
        "a blocked frame is black"
    );
    let record = SlateMeta::record_of(&out);
    assert_eq!(record.get("consent.action").and_then(Value::as_text), Some("block"));
    assert_eq!(record.get("consent.grants"), Some(&Value::TextList(Vec::new())));
    let faces = record.objects();
    assert_eq!(faces.len(), 1, "{record:?}");
    assert_eq!(faces[0].label, "face");
    assert_eq!(
        faces[0].fields.get("consent"),
        Some(&Value::from("not in the registry"))
    );
    assert_eq!(faces[0].fields.get("action"), Some(&Value::from("block")));
    let bbox = faces[0].bbox.unwrap();
    assert!(
        (70.0..115.0).contains(&bbox.x) && (15.0..60.0).contains(&bbox.y),
        "the face is where the photo has it: {bbox:?}"
    );
    let checks = common::element_messages(&common::drain(&bus), gstslate::consentgate::CONSENT_MESSAGE);
    assert_eq!(checks.len(), 1);
    assert_eq!(checks[0].get::<u32>("faces").unwrap(), 1);
    assert_eq!(checks[0].get::<String>("action").unwrap(), "block");
    assert_eq!(
        checks[0].get::<Vec<String>>("refused").unwrap(),
        ["unknown: not in the registry"]
    );

    // The next check finds nobody: the frame passes untouched.
    let grey = vec![96u8; 256 * 256 * 4];
    h.push(frame_at(grey.clone(), 40)).unwrap();
    let out = h.pull().unwrap();
    assert_eq!(out.map_readable().unwrap().as_slice(), grey.as_slice());
    assert_eq!(
        SlateMeta::record_of(&out)
            .get("consent.action")
            .and_then(Value::as_text),
        Some("pass")
    );
}
