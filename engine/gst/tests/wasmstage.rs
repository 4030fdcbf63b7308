//! `wasmstage` with real plugins, through `gst_check::Harness` and pipelines.

mod common;

use common::{init, pipeline, play_to_eos, plugin};
use gst::prelude::*;
use gstslate::SlateMeta;
use gstslate::model::{Record, Value};

fn harness(plugin_name: &str, props: &[(&str, &str)], caps: &str) -> gst_check::Harness {
    init();
    let element = gst::ElementFactory::make("wasmstage")
        .property("plugin", plugin(plugin_name))
        .build()
        .unwrap();
    common::filter_harness(&element, props, caps)
}

const RGBA_2X2: &str = "video/x-raw,format=RGBA,width=2,height=2,framerate=30/1";

/// A 2x2 RGBA frame whose every byte is `fill`, tagged with its number.
fn numbered_frame(n: u8, fill: u8) -> gst::Buffer {
    let mut buffer = gst::Buffer::from_slice(vec![fill; 16]);
    let b = buffer.get_mut().unwrap();
    b.set_pts(gst::ClockTime::from_mseconds(n as u64 * 33));
    let mut record = Record::default();
    record.set("n", n as i64);
    SlateMeta::add(b, record);
    buffer
}

#[test]
fn brightness_changes_pixels_and_keeps_metadata() {
    let mut h = harness("brightness", &[("config", r#"{"delta": 40}"#)], RGBA_2X2);
    h.push(numbered_frame(1, 100)).unwrap();
    let out = h.pull().unwrap();
    let expected: Vec<u8> = (0..16).map(|i| if i % 4 == 3 { 100 } else { 140 }).collect();
    assert_eq!(out.map_readable().unwrap().as_slice(), expected.as_slice());
    assert_eq!(out.pts(), Some(gst::ClockTime::from_mseconds(33)));
    assert_eq!(
        SlateMeta::record_of(&out).get("n"),
        Some(&Value::Int(1)),
        "upstream metadata comes back out"
    );
    let hash: String = h.element().unwrap().property("plugin-hash");
    assert_eq!(hash.len(), 64);
}

#[test]
fn gain_scales_audio_blocks() {
    let mut h = harness(
        "gain",
        &[("config", r#"{"gain": 2.0}"#)],
        "audio/x-raw,format=F32LE,layout=interleaved,rate=48000,channels=1",
    );
    let samples: Vec<u8> = [0.25f32, -0.125, 0.0].iter().flat_map(|s| s.to_le_bytes()).collect();
    h.push(gst::Buffer::from_slice(samples)).unwrap();
    let out = h.pull().unwrap();
    let out: Vec<f32> = out
        .map_readable()
        .unwrap()
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
        .collect();
    assert_eq!(out, [0.5, -0.25, 0.0]);
}

/// Pushes `seconds` of `signal(t)` (48 kHz mono F32) through a plugin in
/// 10 ms blocks; returns what came out and the last block's metadata.
fn through_audio_plugin(name: &str, config: &str, seconds: f64, signal: impl Fn(f64) -> f32) -> (Vec<f32>, Record) {
    let mut h = harness(
        name,
        &[("config", config)],
        "audio/x-raw,format=F32LE,layout=interleaved,rate=48000,channels=1",
    );
    let mut out = Vec::new();
    let mut record = Record::default();
    let blocks = (seconds * 100.0) as usize;
    for block in 0..blocks {
        let samples: Vec<u8> = (0..480)
            .flat_map(|i| signal((block * 480 + i) as f64 / 48_000.0).to_le_bytes())
            .collect();
        let mut buffer = gst::Buffer::from_slice(samples);
        buffer
            .get_mut()
            .unwrap()
            .set_pts(gst::ClockTime::from_mseconds(block as u64 * 10));
        h.push(buffer).unwrap();
        let pulled = h.pull().unwrap();
        record = SlateMeta::record_of(&pulled);
        out.extend(
            pulled
                .map_readable()
                .unwrap()
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes(c.try_into().unwrap())),
        );
    }
    (out, record)
}

/// Amplitude of the `hz` component of the last 0.2 s of `samples` (Goertzel).
fn amplitude(samples: &[f32], hz: f64) -> f64 {
    let tail = &samples[samples.len() - 9600..];
    let w = 2.0 * std::f64::consts::PI * hz / 48_000.0;
    let (mut re, mut im) = (0.0, 0.0);
    for (n, s) in tail.iter().enumerate() {
        re += f64::from(*s) * (w * n as f64).cos();
        im += f64::from(*s) * (w * n as f64).sin();
    }
    2.0 * (re * re + im * im).sqrt() / tail.len() as f64
}

fn db(ratio: f64) -> f64 {
    20.0 * ratio.log10()
}

#[test]
fn the_compressor_turns_down_what_is_over_the_threshold_by_its_ratio() {
    let config = r#"{"threshold_db": -20, "ratio": 4, "attack_ms": 5, "release_ms": 100}"#;
    let tone = |amplitude: f32| move |t: f64| amplitude * (2.0 * std::f64::consts::PI * 1000.0 * t).sin() as f32;
    // -6 dB peak is 14 dB over: 14 * (1 - 1/4) = 10.5 dB down.
    let (loud, record) = through_audio_plugin("compressor", config, 1.0, tone(0.5));
    let change = db(amplitude(&loud, 1000.0) / 0.5);
    println!(
        "loud tone: {change:.2} dB, reduction {:?}",
        record.get("compressor.reduction-db")
    );
    assert!((change + 10.5).abs() <= 0.5, "{change}");
    // -26 dB is under the threshold: untouched.
    let (quiet, _) = through_audio_plugin("compressor", config, 1.0, tone(0.05));
    assert!(db(amplitude(&quiet, 1000.0) / 0.05).abs() <= 0.05);
    let h = gst::ElementFactory::make("wasmstage")
        .property("plugin", plugin("compressor"))
        .property("config", r#"{"ratio": 0.5}"#)
        .build()
        .unwrap();
    assert!(h.set_state(gst::State::Ready).is_err(), "a ratio under 1 is refused");
}

#[test]
fn the_de_esser_turns_down_sibilance_and_leaves_the_voice() {
    let config = r#"{"frequency_hz": 4500, "threshold_db": -30, "max_reduction_db": 12}"#;
    let tau = 2.0 * std::f64::consts::PI;
    let voiced = |t: f64| (0.25 * (tau * 300.0 * t).sin()) as f32;
    let hissing = |t: f64| (0.25 * (tau * 300.0 * t).sin() + 0.25 * (tau * 8000.0 * t).sin()) as f32;
    let (out, record) = through_audio_plugin("de_esser", config, 0.6, hissing);
    let (low, high) = (db(amplitude(&out, 300.0) / 0.25), db(amplitude(&out, 8000.0) / 0.25));
    println!(
        "with sibilance: 300 Hz {low:+.2} dB, 8 kHz {high:+.2} dB ({:?})",
        record.get("de-esser.reduction-db")
    );
    assert!(low.abs() <= 0.5, "the voice stays: {low}");
    assert!(
        (high + 12.0).abs() <= 1.5,
        "the hiss goes down by the most allowed: {high}"
    );
    let (out, _) = through_audio_plugin("de_esser", config, 0.6, voiced);
    assert!(
        db(amplitude(&out, 300.0) / 0.25).abs() <= 0.1,
        "no sibilance, no change"
    );
}

#[test]
fn an_analyzer_adds_metadata_and_leaves_pixels_alone() {
    let mut h = harness(
        "motion_meter",
        &[],
        "video/x-raw,format=GRAY8,width=4,height=1,framerate=30/1",
    );
    let mut diffs = Vec::new();
    for frame in [[0u8, 0, 0, 0], [80, 80, 80, 80]] {
        h.push(gst::Buffer::from_slice(frame)).unwrap();
        let out = h.pull().unwrap();
        assert_eq!(out.map_readable().unwrap().as_slice(), &frame);
        diffs.push(SlateMeta::record_of(&out).get("motion.mean-diff").cloned());
    }
    assert_eq!(diffs, [Some(Value::Float(0.0)), Some(Value::Float(80.0))]);
}

#[test]
fn plugin_events_reach_the_bus() {
    let p = pipeline(&format!(
        "videotestsrc num-buffers=6 pattern=blink ! video/x-raw,format=GRAY8,width=16,height=16 ! wasmstage plugin={} ! fakesink",
        plugin("motion_meter")
    ));
    let mut events = Vec::new();
    play_to_eos(&p, |s| {
        if s.name() == "slate-plugin-event" {
            events.push((s.get::<String>("name").unwrap(), s.get::<bool>("moving").unwrap()));
        }
    });
    assert_eq!(
        events[0],
        ("motion".to_owned(), true),
        "blinking frames move: {events:?}"
    );
}

/// Pushes ten numbered frames through a bad plugin under `policy`; returns
/// the frames that came out (their numbers) and the fault count.
fn through_bad_plugin(name: &str, policy: &str) -> (Vec<i64>, u64) {
    let mut h = harness(
        name,
        &[("on-error", policy), ("deadline-ms", "20"), ("memory-limit-mb", "32")],
        RGBA_2X2,
    );
    for n in 1..=10 {
        let _ = h.push(numbered_frame(n, n));
    }
    let mut out = Vec::new();
    while let Some(buffer) = h.try_pull() {
        let n = SlateMeta::record_of(&buffer).get("n").and_then(Value::as_int).unwrap();
        assert_eq!(
            buffer.map_readable().unwrap().as_slice(),
            &[n as u8; 16],
            "{name}: frame {n} is untouched"
        );
        out.push(n);
    }
    (out, h.element().unwrap().property::<u64>("faults"))
}

#[test]
fn under_passthrough_every_frame_of_a_bad_plugin_comes_out_unchanged_and_in_order() {
    for (name, faults) in [("trap", 5), ("spin", 10), ("hog", 10), ("liar", 10)] {
        let (out, counted) = through_bad_plugin(name, "passthrough");
        assert_eq!(out, (1..=10).collect::<Vec<_>>(), "{name}");
        assert_eq!(counted, faults, "{name}: faults counted");
    }
}

#[test]
fn under_drop_failed_frames_are_dropped() {
    let (out, faults) = through_bad_plugin("trap", "drop");
    assert_eq!(
        out,
        [1, 3, 5, 7, 9],
        "every second frame traps, and a fresh instance passes the next"
    );
    assert_eq!(faults, 5);
}

#[test]
fn under_fail_the_stream_stops_with_an_error() {
    let mut h = harness("liar", &[("on-error", "fail")], RGBA_2X2);
    assert_eq!(h.push(numbered_frame(1, 1)), Err(gst::FlowError::Error));
}

#[test]
fn each_bad_plugin_posts_its_cause_on_the_bus() {
    // The hog gets time enough to reach the memory cap even on a busy
    // machine; the spinner is stopped by its deadline.
    for (name, cause, deadline_ms) in [
        ("trap", "trap", 20),
        ("spin", "timeout", 20),
        ("hog", "memory", 5000),
        ("liar", "bad-output", 20),
    ] {
        let p = pipeline(&format!(
            "videotestsrc num-buffers=4 ! video/x-raw,format=RGBA,width=8,height=8 ! \
             wasmstage plugin={} on-error=passthrough deadline-ms={deadline_ms} memory-limit-mb=32 ! fakesink",
            plugin(name)
        ));
        let mut causes = Vec::new();
        play_to_eos(&p, |s| {
            if s.name() == "slate-plugin-fault" {
                assert_eq!(s.get::<String>("world").unwrap(), "video-filter");
                assert!(s.get::<String>("plugin").unwrap().ends_with(&format!("{name}.wasm")));
                causes.push(s.get::<String>("cause").unwrap());
            }
        });
        assert!(
            !causes.is_empty() && causes.iter().all(|c| c == cause),
            "{name}: {causes:?}"
        );
    }
}

#[test]
fn missing_or_broken_plugins_refuse_to_start_naming_the_file() {
    init();
    let dir = tempfile::tempdir().unwrap();
    let junk = dir.path().join("junk.wasm");
    std::fs::write(&junk, b"not wasm").unwrap();
    for (path, expect) in [
        (dir.path().join("missing.wasm"), "cannot read plugin"),
        (junk.clone(), "is not a WebAssembly component"),
    ] {
        let p = pipeline(&format!(
            "videotestsrc ! wasmstage plugin={} ! fakesink",
            path.display()
        ));
        let error = common::start_error(&p);
        assert!(
            error.contains(&path.display().to_string()) && error.contains(expect),
            "{error}"
        );
    }
    let p = pipeline(&format!(
        "videotestsrc ! wasmstage plugin={} config=\"{{\\\"delta\\\": 900}}\" ! fakesink",
        plugin("brightness")
    ));
    let error = common::start_error(&p);
    assert!(
        error.contains("refused to start (property `config`)") && error.contains("-255..=255"),
        "{error}"
    );
}

/// Replaces `path` the way build tools and editors do: write, then rename.
fn replace_file(path: &std::path::Path, bytes: &[u8]) {
    let partial = path.with_extension("partial");
    std::fs::write(&partial, bytes).unwrap();
    std::fs::rename(&partial, path).unwrap();
}

#[test]
fn a_replaced_plugin_takes_over_between_two_buffers_and_a_broken_one_never_runs() {
    init();
    let dir = tempfile::tempdir().unwrap();
    let live = dir.path().join("stage.wasm");
    std::fs::copy(plugin("brightness"), &live).unwrap();
    let element = gst::ElementFactory::make("wasmstage")
        .property("plugin", live.display().to_string())
        .build()
        .unwrap();
    let bus = gst::Bus::new();
    element.set_bus(Some(&bus));
    let mut h = gst_check::Harness::with_element(&element, Some("sink"), Some("src"));
    h.set_src_caps_str(RGBA_2X2);

    // The versions share the stage's config, so it is empty: each plugin
    // refuses keys it does not know. Version 1 (brightness, +32 by default)
    // turns 100 into 132; version 2 (lut, gamma 0.5) into 160. Every
    // frame's first byte says which version ran.
    let mut versions = Vec::new();
    let mut push = |h: &mut gst_check::Harness, n: u16| {
        h.push(numbered_frame((n % 256) as u8, 100)).unwrap();
        let out = h.pull().unwrap();
        versions.push(match out.map_readable().unwrap()[0] {
            132 => 1,
            160 => 2,
            other => panic!("frame {n}: unexpected byte {other}"),
        });
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let mut n = 0u16;
    while n < 100 {
        push(&mut h, n);
        n += 1;
    }
    replace_file(&live, &std::fs::read(plugin("lut")).unwrap());
    while h.element().unwrap().property::<u64>("reloads") == 0 {
        assert!(
            std::time::Instant::now() < deadline && n < 200,
            "version 2 never took over"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
        push(&mut h, n);
        n += 1;
    }
    replace_file(&live, b"\0asm but broken");
    while h.element().unwrap().property::<u64>("reload-failures") == 0 {
        assert!(
            std::time::Instant::now() < deadline && n < 300,
            "the broken version was never noticed"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
        push(&mut h, n);
        n += 1;
    }
    while n < 300 {
        push(&mut h, n);
        n += 1;
    }

    assert_eq!(versions.len(), 300, "every buffer came out");
    let switch = versions.iter().position(|v| *v == 2).unwrap();
    assert!(
        versions[..switch].iter().all(|v| *v == 1) && versions[switch..].iter().all(|v| *v == 2),
        "one switch, at buffer {switch}"
    );
    assert!(switch >= 100, "version 2 ran before its file existed");
    assert_eq!(
        h.element().unwrap().property::<u64>("reloads"),
        1,
        "the broken version never took over"
    );
    let warning = bus
        .iter()
        .find_map(|m| match m.view() {
            gst::MessageView::Warning(w) => Some(w.error().to_string()),
            _ => None,
        })
        .expect("a warning on the bus");
    assert!(
        warning.contains("changed but the new version cannot run, keeping the running one"),
        "{warning}"
    );
}
