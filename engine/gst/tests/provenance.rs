//! C2PA in real pipelines: `c2pasink` signs what `mp4mux` wrote, with the
//! pipeline's story; `c2pahlssink` signs live segments one by one, each
//! verifiable while the stream runs; `c2paverify` applies the default
//! policy plugin's decision to ingested files.

mod common;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;
use gst::prelude::*;
use gstslate::SlateMeta;
use slate_provenance::{Identity, State, Trust};

/// A signer made in `dir` (as on first use), and the trust in its CA.
fn identity(dir: &Path) -> (Identity, String, Trust) {
    let identity = Identity::local(dir).unwrap();
    let signing = dir.join("signing");
    let properties = format!(
        "certificate={} key={}",
        signing.join("chain.pem").display(),
        signing.join("signer.key").display()
    );
    let trust = Trust::default().with(identity.ca_pem.as_deref().unwrap());
    (identity, properties, trust)
}

fn make_mp4(path: &Path, frames: u32) {
    play_to_eos(
        &pipeline(&format!(
            "videotestsrc num-buffers={frames} ! video/x-raw,width=320,height=240,framerate=30/1 ! x264enc ! h264parse ! mp4mux ! filesink location={}",
            path.display()
        )),
        |_| {},
    );
}

#[test]
fn c2pasink_signs_with_the_story_of_the_pipeline() {
    let dir = tempfile::tempdir().unwrap();
    let (_, signer, trust) = identity(dir.path());
    let input = dir.path().join("input.mp4");
    make_mp4(&input, 30);
    let output = dir.path().join("out.mp4");
    let signed = Arc::new(Mutex::new(None));
    let seen = signed.clone();
    play_to_eos(
        &pipeline(&format!(
            "filesrc location={} ! decodebin ! videoconvert ! video/x-raw,format=RGBA ! shottag scene=lobby cues=\"0s: shot=a; 0.5s: shot=b\" \
             ! wasmstage plugin={} config={{\"delta\":10}} ! videoconvert ! x264enc ! h264parse ! mp4mux \
             ! c2pasink location={} source=composite {signer}",
            input.display(),
            plugin("brightness"),
            output.display()
        )),
        |s| {
            if s.name() == gstslate::c2pasink::SIGNED_MESSAGE {
                *seen.lock().unwrap() = s.get::<String>("location").ok();
            }
        },
    );
    assert_eq!(
        signed.lock().unwrap().as_deref(),
        Some(output.to_str().unwrap()),
        "the signed message names the file"
    );
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name())
        .collect();
    assert!(
        !leftovers.iter().any(|n| n.to_string_lossy().contains("unsigned")),
        "{leftovers:?}"
    );
    let report = slate_provenance::verify(&output, None, &trust);
    assert_eq!(report.state, State::Trusted, "{report:#?}");
    assert_eq!(
        report.actions[0]["digitalSourceType"],
        "http://cv.iptc.org/newscodes/digitalsourcetype/compositeWithTrainedAlgorithmicMedia"
    );
    let slate = report.slate.as_ref().unwrap();
    let brightness = std::fs::read(plugin("brightness")).unwrap();
    assert_eq!(slate["plugins"][0]["name"], "brightness.wasm");
    assert_eq!(slate["plugins"][0]["hash"], slate_wasm::hash_of(&brightness));
    assert_eq!(slate["shots"][0]["scene"], "lobby");
    assert_eq!(
        report.ingredients.len(),
        1,
        "the input file is an ingredient: {report:#?}"
    );
    assert_eq!(report.ingredients[0]["title"], "input.mp4");
}

#[test]
fn a_bad_source_or_story_fails_before_the_stream_starts() {
    let dir = tempfile::tempdir().unwrap();
    let (_, signer, _) = identity(dir.path());
    let location = dir.path().join("out.mp4");
    let error = start_error(&pipeline(&format!(
        "videotestsrc num-buffers=1 ! c2pasink location={} source=generatd {signer}",
        location.display()
    )));
    assert!(
        error.contains("`source` is `generatd`; use capture, generated or composite"),
        "{error}"
    );
    let error = start_error(&pipeline(&format!(
        "videotestsrc num-buffers=1 ! x264enc ! c2pahlssink playlist-location={} story=\"{{nope\" {signer}",
        dir.path().join("hls/p.m3u8").display()
    )));
    assert!(error.contains("`story` is not a valid story"), "{error}");
}

#[test]
fn c2pasink_refuses_a_format_c2pa_cannot_sign() {
    let dir = tempfile::tempdir().unwrap();
    let error = start_error(&pipeline(&format!(
        "videotestsrc num-buffers=1 ! c2pasink location={}",
        dir.path().join("notes.txt").display()
    )));
    assert!(
        error.contains("notes.txt") && error.contains("cannot sign .txt"),
        "{error}"
    );
}

/// 30 s of live HLS: every segment is signed as it is written and verified
/// here while the stream runs, within one segment duration.
#[test]
fn live_hls_segments_verify_while_the_stream_runs() {
    let dir = tempfile::tempdir().unwrap();
    let (_, signer, trust) = identity(dir.path());
    let playlist = dir.path().join("hls/live.m3u8");
    let pipeline = pipeline(&format!(
        "videotestsrc is-live=true ! video/x-raw,width=320,height=240,framerate=30/1 \
         ! x264enc tune=zerolatency speed-preset=ultrafast key-int-max=30 ! h264parse \
         ! c2pahlssink name=hls target-duration=2 playlist-location={} source=capture {signer}",
        playlist.display()
    ));
    let bus = pipeline.bus().unwrap();
    pipeline.set_state(gst::State::Playing).unwrap();
    let started = Instant::now();
    let mut verified = Vec::new();
    let mut eos_sent = false;
    loop {
        if !eos_sent && started.elapsed() >= Duration::from_secs(30) {
            pipeline.send_event(gst::event::Eos::new());
            eos_sent = true;
        }
        let Some(message) = bus.timed_pop(gst::ClockTime::from_mseconds(100)) else {
            continue;
        };
        match message.view() {
            gst::MessageView::Element(e)
                if e.structure()
                    .is_some_and(|s| s.name() == gstslate::c2pahlssink::SEGMENT_MESSAGE) =>
            {
                let s = e.structure().unwrap();
                let heard = Instant::now();
                let init = PathBuf::from(s.get::<String>("init").unwrap());
                let segment = PathBuf::from(s.get::<String>("segment").unwrap());
                let report = slate_provenance::verify(&init, Some(std::slice::from_ref(&segment)), &trust);
                assert_eq!(report.state, State::Trusted, "{}: {report:#?}", segment.display());
                assert_eq!(
                    report.slate.as_ref().unwrap()["segment"]["sequence"],
                    verified.len() as u64
                );
                // Signed (sign-ms) and checked (here) within the segment's own duration.
                let took = s.get::<f64>("sign-ms").unwrap() / 1e3 + heard.elapsed().as_secs_f64();
                let duration = s.get::<f64>("duration").unwrap();
                assert!(
                    took < duration,
                    "segment {} took {took:.3} s of {duration:.3} s",
                    verified.len()
                );
                verified.push((eos_sent, took));
            }
            gst::MessageView::Eos(_) => break,
            gst::MessageView::Error(err) => panic!("{}: {:?}", err.error(), err.debug()),
            _ => {}
        }
        assert!(started.elapsed() < Duration::from_secs(60), "the stream did not end");
    }
    pipeline.set_state(gst::State::Null).unwrap();
    let during = verified.iter().filter(|(after_eos, _)| !after_eos).count();
    assert!(during >= 13, "{during} segments verified while live: {verified:?}");
    let worst = verified.iter().map(|(_, t)| *t).fold(0.0, f64::max);
    eprintln!("{} segments, worst sign + verify {:.1} ms", verified.len(), worst * 1e3);
    let media = std::fs::read_to_string(dir.path().join("hls/live-video.m3u8")).unwrap();
    assert!(media.ends_with("#EXT-X-ENDLIST\n"), "{media}");
    let master = std::fs::read_to_string(&playlist).unwrap();
    assert!(
        master.contains("CODECS=\"avc1.") && master.ends_with("live-video.m3u8\n"),
        "{master}"
    );
    let reports = slate_provenance::verify_playlist(&playlist, &trust).unwrap();
    assert_eq!(reports.len(), verified.len());
    assert!(reports.iter().all(|r| r.state == State::Trusted));
    assert!(
        !dir.path().join("hls/.unsigned-live").exists(),
        "staging is cleared at the end"
    );
}

/// What reached a pipeline's sink — frames (RGBA) with their Slate
/// metadata — the element messages, and the error, if one ended it.
type Run = (
    Vec<(Vec<u8>, gstslate::model::Record)>,
    Vec<gst::Structure>,
    Option<String>,
);

/// Runs a pipeline whose sink is named `sink`.
fn frames_through(description: &str) -> Run {
    let pipeline = pipeline(description);
    let frames = Arc::new(Mutex::new(Vec::new()));
    let collected = frames.clone();
    let sink = pipeline.by_name("sink").unwrap().static_pad("sink").unwrap();
    sink.add_probe(gst::PadProbeType::BUFFER, move |_, info| {
        if let Some(gst::PadProbeData::Buffer(buffer)) = &info.data {
            let map = buffer.map_readable().unwrap();
            collected
                .lock()
                .unwrap()
                .push((map.to_vec(), SlateMeta::record_of(buffer)));
        }
        gst::PadProbeReturn::Ok
    });
    let bus = pipeline.bus().unwrap();
    pipeline.set_state(gst::State::Playing).unwrap();
    let mut messages = Vec::new();
    let mut error = None;
    for message in bus.iter_timed(gst::ClockTime::from_seconds(30)) {
        match message.view() {
            gst::MessageView::Element(e) => messages.extend(e.structure().map(|s| s.to_owned())),
            gst::MessageView::Eos(_) => break,
            gst::MessageView::Error(err) => {
                error = Some(err.error().to_string());
                break;
            }
            _ => {}
        }
    }
    pipeline.set_state(gst::State::Null).unwrap();
    let frames = std::mem::take(&mut *frames.lock().unwrap());
    (frames, messages, error)
}

fn ingest(file: &Path, trust: &Path, config: &str, location: bool) -> Run {
    let location = if location {
        format!("location={}", file.display())
    } else {
        String::new()
    };
    frames_through(&format!(
        "filesrc location={} ! decodebin ! videoconvert ! video/x-raw,format=RGBA \
         ! c2paverify policy={} policy-config={config:?} trust-anchors={} {location} ! fakesink name=sink",
        file.display(),
        plugin("provenance_policy"),
        trust.display()
    ))
}

#[test]
fn the_default_policy_trusts_ours_labels_unsigned_and_rejects_tampered() {
    let dir = tempfile::tempdir().unwrap();
    let (identity, _, _) = identity(dir.path());
    let anchors = dir.path().join("signing/ca.pem");
    let raw = dir.path().join("raw.mp4");
    make_mp4(&raw, 15);
    let signed = dir.path().join("signed.mp4");
    slate_provenance::sign_file(&identity, &slate_provenance::Story::default(), &raw, &signed).unwrap();
    let reference = frames_through(&format!(
        "filesrc location={} ! decodebin ! videoconvert ! video/x-raw,format=RGBA ! fakesink name=sink",
        raw.display()
    ))
    .0;
    let decision = |messages: &[gst::Structure]| {
        messages
            .iter()
            .find(|s| s.name() == gstslate::c2paverify::PROVENANCE_MESSAGE)
            .map(|s| (s.get::<String>("state").unwrap(), s.get::<String>("decision").unwrap()))
    };

    // Ours, found through the upstream URI query: trusted, untouched.
    let (frames, messages, error) = ingest(&signed, &anchors, "", false);
    assert_eq!(error, None);
    assert_eq!(decision(&messages), Some(("trusted".into(), "trust".into())));
    assert_eq!(frames.len(), reference.len());
    assert!(
        frames.iter().zip(&reference).all(|((a, _), (b, _))| a == b),
        "trusted video passes untouched"
    );
    assert_eq!(
        frames[0].1.get("provenance.state").and_then(|v| v.as_text()),
        Some("trusted")
    );

    // Unsigned: labelled, visibly: the top rows change, the bottom does not.
    let (frames, messages, error) = ingest(&raw, &anchors, "", true);
    assert_eq!(error, None);
    assert_eq!(decision(&messages), Some(("unsigned".into(), "label".into())));
    let (labelled, plain) = (&frames[0].0, &reference[0].0);
    let row = 320 * 4;
    assert_ne!(labelled[..row * 30], plain[..row * 30], "a label is drawn at the top");
    assert_eq!(labelled[row * 200..], plain[row * 200..], "the rest is untouched");

    // Unsigned again, with a policy that throttles it: marked for ranking.
    let (frames, _, _) = ingest(&raw, &anchors, r#"{"unsigned": "throttle"}"#, true);
    assert!(frames.iter().all(|(_, meta)| meta.get("provenance.throttle").is_some()));

    // Tampered: rejected, nothing passes, the error says which file and why.
    let mut bytes = std::fs::read(&signed).unwrap();
    let at = bytes.len() - 1000;
    bytes[at] ^= 0x01;
    let tampered = dir.path().join("tampered.mp4");
    std::fs::write(&tampered, bytes).unwrap();
    let (frames, messages, error) = ingest(&tampered, &anchors, "", true);
    assert_eq!(decision(&messages).map(|d| d.1), Some("reject".into()));
    let error = error.expect("a rejection is an error");
    assert!(
        error.contains("tampered.mp4") && error.contains("rejected by the provenance policy"),
        "{error}"
    );
    assert!(frames.is_empty(), "{} frames passed a rejected input", frames.len());
}

#[test]
fn c2paverify_without_a_policy_says_what_to_set() {
    let error = start_error(&pipeline("videotestsrc num-buffers=1 ! c2paverify ! fakesink"));
    assert!(error.contains("policy"), "{error}");
}
