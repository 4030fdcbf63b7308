//! C2PA in real pipelines: `c2pasink` signs what `mp4mux` wrote, with the
//! pipeline's story; `c2pahlssink` signs live segments one by one, each
//! verifiable while the stream runs; `c2paverify` applies the default
//! policy plugin's decision to ingested files. Each element is also driven
//! through `gst_check::Harness`.

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

/// A harness cannot wait for a sink to preroll (it needs the state change
/// to complete at once), and its test clock does not run: the sinks inside
/// `element` neither preroll nor wait for the clock.
fn without_preroll(element: &gst::Element) {
    use gst_base::prelude::*;
    let bin = element.downcast_ref::<gst::Bin>().expect("the signing sinks are bins");
    for child in bin.iterate_recurse().into_iter().flatten() {
        if let Some(sink) = child.downcast_ref::<gst_base::BaseSink>() {
            sink.set_async(false);
            sink.set_sync(false);
        }
    }
}

/// Sets the `certificate=... key=...` of `identity` on a signing sink.
fn set_signer(element: &gst::Element, signer: &str) {
    for setting in signer.split_whitespace() {
        let (name, value) = setting.split_once('=').unwrap();
        element.set_property_from_str(name, value);
    }
}

#[test]
fn harness_c2pasink_signs_at_eos_what_it_was_given_after_a_flush() {
    init();
    let dir = tempfile::tempdir().unwrap();
    let (_, signer, trust) = identity(dir.path());
    let input = dir.path().join("input.mp4");
    make_mp4(&input, 5);
    let bytes = std::fs::read(&input).unwrap();
    let output = dir.path().join("out.mp4");
    let sink = gst::ElementFactory::make("c2pasink")
        .property("location", output.display().to_string())
        .property("source", "generated")
        .build()
        .unwrap();
    set_signer(&sink, &signer);
    without_preroll(&sink);
    let mut h = gst_check::Harness::with_element(&sink, Some("sink"), None);
    let bus = bus_for(&sink);
    h.set_src_caps_str("video/quicktime,variant=iso");
    let unsigned = dir.path().join(".out.mp4.unsigned.mp4");
    // Junk, then a flush: the file starts over.
    h.push(gst::Buffer::from_slice(vec![0xab; 4096])).unwrap();
    flush(&mut h);
    for chunk in bytes.chunks(4096) {
        h.push(gst::Buffer::from_slice(chunk.to_vec())).unwrap();
    }
    assert!(unsigned.is_file(), "the bytes go to a hidden file first");
    assert!(!output.exists(), "nothing is published before the end");
    assert!(h.push_event(gst::event::Eos::new()));
    assert!(output.is_file(), "signed when the stream ends");
    assert!(!unsigned.exists(), "the unsigned file is removed");
    let signed = element_messages(&drain(&bus), gstslate::c2pasink::SIGNED_MESSAGE);
    assert_eq!(signed.len(), 1);
    assert_eq!(
        signed[0].get::<String>("location").unwrap(),
        output.display().to_string()
    );
    let report = slate_provenance::verify(&output, None, &trust);
    assert_eq!(report.state, State::Trusted, "{report:#?}");
    assert_eq!(
        report.actions[0]["digitalSourceType"],
        "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"
    );
    assert!(std::fs::metadata(&output).unwrap().len() > bytes.len() as u64);
}

/// `frames` of 64x48 H.264 (AVC, one key frame a second at 10 fps), and
/// their caps, from x264enc in a harness of its own.
fn h264(frames: u64) -> (gst::Caps, Vec<gst::Buffer>) {
    let mut encoder = gst_check::Harness::new_parse(
        "x264enc speed-preset=ultrafast tune=zerolatency key-int-max=10 ! h264parse \
         ! capsfilter caps=video/x-h264,stream-format=avc,alignment=au",
    );
    encoder.set_src_caps_str("video/x-raw,format=I420,width=64,height=48,framerate=10/1");
    for n in 0..frames {
        let mut frame = gst::Buffer::from_mut_slice(vec![(n * 12) as u8; 64 * 48 * 3 / 2]);
        let b = frame.get_mut().unwrap();
        b.set_pts(gst::ClockTime::from_mseconds(100 * n));
        b.set_duration(gst::ClockTime::from_mseconds(100));
        encoder.push(frame).unwrap();
    }
    assert!(encoder.push_event(gst::event::Eos::new()));
    let buffers = pull_to_eos(&mut encoder);
    let caps = encoder.sinkpad().unwrap().current_caps().unwrap();
    (caps, buffers)
}

#[test]
fn harness_c2pahlssink_signs_each_segment_of_its_video_pad() {
    init();
    let dir = tempfile::tempdir().unwrap();
    let (_, signer, trust) = identity(dir.path());
    let (caps, frames) = h264(20);
    assert_eq!(frames.len(), 20);
    let playlist = dir.path().join("hls/live.m3u8");
    let sink = gst::ElementFactory::make("c2pahlssink")
        .property("playlist-location", playlist.display().to_string())
        .property("target-duration", 1u32)
        .build()
        .unwrap();
    set_signer(&sink, &signer);
    // The pad made first, so that its sink is there to be told.
    sink.request_pad_simple("video").unwrap();
    without_preroll(&sink);
    let mut h = gst_check::Harness::with_element(&sink, Some("video"), None);
    let bus = bus_for(&sink);
    h.set_src_caps(caps);
    for frame in frames {
        h.push(frame).unwrap();
    }
    assert!(h.push_event(gst::event::Eos::new()));
    let mut segments = Vec::new();
    loop {
        let message = bus
            .timed_pop(gst::ClockTime::from_seconds(30))
            .expect("the sink ends within 30 s");
        match message.view() {
            gst::MessageView::Element(e) => segments.extend(
                e.structure()
                    .filter(|s| s.name() == gstslate::c2pahlssink::SEGMENT_MESSAGE)
                    .map(|s| s.to_owned()),
            ),
            gst::MessageView::Eos(_) => break,
            gst::MessageView::Error(err) => panic!("{}: {:?}", err.error(), err.debug()),
            _ => {}
        }
    }
    assert_eq!(segments.len(), 2, "two 1 s segments: {segments:?}");
    for (n, s) in segments.iter().enumerate() {
        assert_eq!(s.get::<String>("rendition").unwrap(), "video");
        assert_eq!(s.get::<u64>("sequence").unwrap(), n as u64);
        let duration = s.get::<f64>("duration").unwrap();
        assert!((duration - 1.0).abs() < 0.01, "segment {n}: {duration} s");
        let init = PathBuf::from(s.get::<String>("init").unwrap());
        let segment = PathBuf::from(s.get::<String>("segment").unwrap());
        let report = slate_provenance::verify(&init, Some(std::slice::from_ref(&segment)), &trust);
        assert_eq!(report.state, State::Trusted, "segment {n}: {report:#?}");
        assert_eq!(report.slate.as_ref().unwrap()["segment"]["sequence"], n as u64);
    }
    assert_eq!(sink.property::<u64>("segments"), 2);
    let media = std::fs::read_to_string(dir.path().join("hls/live-video.m3u8")).unwrap();
    assert_eq!(media.matches("#EXTINF:").count(), 2, "{media}");
    assert!(media.ends_with("#EXT-X-ENDLIST\n"), "{media}");
    let master = std::fs::read_to_string(&playlist).unwrap();
    assert!(master.contains("CODECS=\"avc1."), "{master}");
    assert!(
        !dir.path().join("hls/.unsigned-live-video").exists(),
        "staging is cleared at the end"
    );
}

/// `c2paverify` for `file` in a harness, with the default policy plugin
/// and our CA as the only trust anchor.
fn verify_harness(file: &Path, anchors: &Path) -> (gst_check::Harness, gst::Bus) {
    init();
    let element = gst::ElementFactory::make("c2paverify")
        .property("location", file.display().to_string())
        .property("policy", plugin("provenance_policy"))
        .property("trust-anchors", anchors.display().to_string())
        .build()
        .unwrap();
    let mut h = gst_check::Harness::with_element(&element, Some("sink"), Some("src"));
    let bus = bus_for(&element);
    h.set_src_caps_str("video/x-raw,format=RGBA,width=64,height=48,framerate=25/1");
    (h, bus)
}

/// A 64x48 RGBA frame with a gradient, at `n` x 40 ms.
fn gradient(n: u64) -> gst::Buffer {
    let pixels: Vec<u8> = (0..64 * 48)
        .flat_map(|i| [(i % 64) as u8 * 4, (i / 64) as u8 * 5, n as u8, 255])
        .collect();
    let mut buffer = gst::Buffer::from_mut_slice(pixels);
    let b = buffer.get_mut().unwrap();
    b.set_pts(gst::ClockTime::from_mseconds(40 * n));
    b.set_duration(gst::ClockTime::from_mseconds(40));
    buffer
}

fn provenance_messages(messages: &[gst::Message]) -> Vec<(String, String)> {
    element_messages(messages, gstslate::c2paverify::PROVENANCE_MESSAGE)
        .iter()
        .map(|s| (s.get::<String>("state").unwrap(), s.get::<String>("decision").unwrap()))
        .collect()
}

/// A signed, an unsigned and a tampered MP4 in `dir`, and the CA file.
fn ingest_files(dir: &Path) -> (PathBuf, PathBuf, PathBuf, PathBuf) {
    let (identity, _, _) = identity(dir);
    let raw = dir.join("raw.mp4");
    make_mp4(&raw, 5);
    let signed = dir.join("signed.mp4");
    slate_provenance::sign_file(&identity, &slate_provenance::Story::default(), &raw, &signed).unwrap();
    let mut bytes = std::fs::read(&signed).unwrap();
    let at = bytes.len() - 1000;
    bytes[at] ^= 0x01;
    let tampered = dir.join("tampered.mp4");
    std::fs::write(&tampered, bytes).unwrap();
    (signed, raw, tampered, dir.join("signing/ca.pem"))
}

#[test]
fn harness_c2paverify_passes_trusted_video_untouched_labels_unsigned_and_rejects_tampered() {
    let dir = tempfile::tempdir().unwrap();
    let (signed, raw, tampered, anchors) = ingest_files(dir.path());

    // Trusted: untouched, marked, checked once (a flush does not re-check).
    let (mut h, bus) = verify_harness(&signed, &anchors);
    for n in 0..3 {
        if n == 2 {
            flush(&mut h);
        }
        h.push(gradient(n)).unwrap();
        let out = h.pull().unwrap();
        assert_eq!(out.pts(), Some(gst::ClockTime::from_mseconds(40 * n)));
        assert_eq!(out.duration(), Some(gst::ClockTime::from_mseconds(40)));
        assert_eq!(
            out.map_readable().unwrap().as_slice(),
            gradient(n).map_readable().unwrap().as_slice(),
            "frame {n} passes untouched"
        );
        let record = SlateMeta::record_of(&out);
        assert_eq!(
            record.get("provenance.state").and_then(|v| v.as_text()),
            Some("trusted")
        );
        assert_eq!(
            record.get("provenance.decision").and_then(|v| v.as_text()),
            Some("trust")
        );
        assert!(record.get("provenance.throttle").is_none());
    }
    assert_eq!(
        provenance_messages(&drain(&bus)),
        [("trusted".to_owned(), "trust".to_owned())]
    );
    assert_eq!(
        h.element().unwrap().property::<Option<String>>("decision").as_deref(),
        Some("trust")
    );
    assert!(h.push_event(gst::event::Eos::new()));
    assert!(pull_to_eos(&mut h).is_empty());

    // Unsigned: labelled, drawn over the picture.
    let (mut h, bus) = verify_harness(&raw, &anchors);
    h.push(gradient(0)).unwrap();
    let out = h.pull().unwrap();
    assert_eq!(out.pts(), Some(gst::ClockTime::ZERO));
    assert_ne!(
        out.map_readable().unwrap().as_slice(),
        gradient(0).map_readable().unwrap().as_slice(),
        "a label is drawn"
    );
    assert_eq!(
        SlateMeta::record_of(&out)
            .get("provenance.decision")
            .and_then(|v| v.as_text()),
        Some("label")
    );
    assert_eq!(
        provenance_messages(&drain(&bus)),
        [("unsigned".to_owned(), "label".to_owned())]
    );

    // Tampered: nothing passes, and the error names the file.
    let (mut h, bus) = verify_harness(&tampered, &anchors);
    assert_eq!(h.push(gradient(0)), Err(gst::FlowError::Error));
    assert!(h.try_pull().is_none());
    let messages = drain(&bus);
    assert_eq!(
        provenance_messages(&messages).first().map(|d| d.1.as_str()),
        Some("reject")
    );
    let errors = problems(&messages, gst::MessageType::Error);
    let error = errors.first().expect("an error message");
    assert!(
        error.contains("tampered.mp4") && error.contains("rejected by the provenance policy"),
        "{error}"
    );
}
