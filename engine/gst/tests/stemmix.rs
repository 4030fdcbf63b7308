//! `stemmix`: named stems at different rates and layouts mixed into one,
//! music ducked under speech that Silero VAD finds, measured on the output;
//! and one stem through `gst_check::Harness` on its request pad.

mod common;

use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Mutex};

use common::{pipeline, play_to_eos, start_error};
use gst::prelude::*;

/// Speech from espeak-ng, delayed to start at `start` s and followed by
/// `after` s of silence (22.05 kHz mono). Returns the speech's length, s.
fn dialogue(path: &Path, start: f64, after: f64) -> f64 {
    let speech = path.with_extension("speech.wav");
    let status = Command::new("espeak-ng")
        .arg("-w")
        .arg(&speech)
        .arg("the coffee cup stays on the table while the camera moves around it")
        .status()
        .expect("espeak-ng runs (.ci/setup installs it)");
    assert!(status.success());
    let length = slate_audio::measure_file(&speech).unwrap().duration_s;
    let status = Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-i"])
        .arg(&speech)
        .args([
            "-af",
            &format!("adelay={}:all=1,apad=pad_dur={after}", (start * 1000.0) as u64),
        ])
        .arg(path)
        .status()
        .expect("ffmpeg runs (.ci/setup installs it)");
    assert!(status.success());
    length
}

/// A steady 440 Hz tone, 44.1 kHz stereo, `seconds` long.
fn music(path: &Path, seconds: f64) {
    let status = Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-f", "lavfi", "-i"])
        .arg(format!("aevalsrc=0.1*sin(2*PI*440*t):s=44100:c=stereo:d={seconds}"))
        .arg(path)
        .status()
        .expect("ffmpeg runs");
    assert!(status.success());
}

/// Runs `line` (its last element a fakesink named `out`) and returns the
/// first channel of what reached it (F32 interleaved, `channels` wide).
fn first_channel(line: &str, channels: usize) -> Vec<f32> {
    let p = pipeline(line);
    let samples = Arc::new(Mutex::new(Vec::new()));
    let into = samples.clone();
    let out = p.by_name("out").unwrap();
    out.set_property("signal-handoffs", true);
    out.connect("handoff", false, move |args| {
        let buffer = args[1].get::<gst::Buffer>().unwrap();
        let map = buffer.map_readable().unwrap();
        let mut into = into.lock().unwrap();
        for frame in map.chunks_exact(4 * channels) {
            into.push(f32::from_ne_bytes([frame[0], frame[1], frame[2], frame[3]]));
        }
        None
    });
    play_to_eos(&p, |_| {});
    std::mem::take(&mut *samples.lock().unwrap())
}

/// Level of `samples[from..to)` seconds at `rate`, dBFS RMS.
fn level(samples: &[f32], rate: f64, from: f64, to: f64) -> f64 {
    let window = &samples[(from * rate) as usize..(to * rate) as usize];
    let power = window.iter().map(|s| f64::from(*s).powi(2)).sum::<f64>() / window.len() as f64;
    10.0 * power.log10()
}

#[test]
fn music_ducks_under_detected_speech_and_comes_back_after_the_release() {
    common::init();
    let dir = tempfile::tempdir().unwrap();
    let (voice, bed) = (dir.path().join("dialogue.wav"), dir.path().join("music.wav"));
    let (start, after) = (2.0, 4.0);
    let length = dialogue(&voice, start, after);
    music(&bed, start + length + after);
    // The dialogue is muted in the mix so the output is the music alone;
    // its voice detection still runs.
    let samples = first_channel(
        &format!(
            "filesrc location={} ! wavparse ! mix.dialogue \
             filesrc location={} ! wavparse ! mix.music \
             stemmix name=mix rate=48000 channels=2 \
               stems=\"dialogue: vad=true, mute=true; music: duck=12, duck-key=dialogue, attack=50, hold=200, release=500\" \
             ! fakesink name=out sync=false",
            voice.display(),
            bed.display()
        ),
        2,
    );
    let rate = 48_000.0;
    let end = start + length;
    let open = level(&samples, rate, 0.5, 1.5);
    assert!(
        (open - (-23.0)).abs() < 0.5,
        "0.1 amplitude sine is -23 dBFS RMS: {open}"
    );
    let windows: Vec<f64> = (0..)
        .map(|i| start + 0.4 + 0.1 * f64::from(i))
        .take_while(|t| *t + 0.1 < end - 0.2)
        .map(|t| level(&samples, rate, t, t + 0.1) - open)
        .collect();
    let ducked = windows.iter().filter(|d| (**d + 12.0).abs() <= 1.0).count();
    println!(
        "open {open:.2} dBFS; {ducked}/{} windows under speech within 12 +- 1 dB down; first {:?}",
        windows.len(),
        &windows[..5]
    );
    assert!(ducked as f64 >= 0.9 * windows.len() as f64, "{windows:?}");
    // After the speech (espeak's file ends in a little silence; VAD calls
    // the end ~0.1 s late, then 0.2 s hold): the release starts, and takes
    // the configured 0.5 s to come back up.
    let step = 0.02;
    let level_at = |t: f64| level(&samples, rate, t, t + step) - open;
    let release = (0..)
        .map(|i| end - 1.0 + step * f64::from(i))
        .take_while(|t| *t < end + 2.0)
        .find(|t| level_at(*t) > -11.5)
        .expect("the music comes back up");
    let halfway = level_at(release + 0.25 - step);
    let back = level(&samples, rate, release + 0.55, release + 1.5) - open;
    println!("release from {release:.2} s (speech ends {end:.2} s): {halfway:.1} dB halfway, {back:.2} dB after");
    assert!(release > end - 0.5, "not before the speech ends");
    assert!(
        (halfway + 6.0).abs() <= 1.5,
        "halfway up after half the release: {halfway}"
    );
    assert!(back.abs() <= 1.0, "restored after the release: {back} dB");
}

#[test]
fn bad_stem_settings_are_refused_naming_the_stem() {
    common::init();
    for (stems, expected) in [
        (
            "music: duck=12, duck-key=voice",
            "stem `music`: duck-key `voice` must be a stem of this mix with vad=true",
        ),
        ("music: gian=2", "stem `music`: no setting `gian`"),
    ] {
        let p = pipeline(&format!(
            "audiotestsrc num-buffers=10 ! mix.music stemmix name=mix stems=\"{stems}\" ! fakesink"
        ));
        let error = start_error(&p);
        assert!(error.contains(expected), "{stems}: {error}");
    }
    let p = pipeline("audiotestsrc num-buffers=10 ! mix.music stemmix name=mix stems=\"music: gain=90\" ! fakesink");
    let error = start_error(&p);
    assert!(error.contains("stem `music`: gain=90 is out of range"), "{error}");
}

/// The stereo frames of mixed buffers, as (left, right).
fn frames_of(buffers: &[gst::Buffer]) -> Vec<(f32, f32)> {
    buffers
        .iter()
        .flat_map(|b| common::f32_samples(b))
        .collect::<Vec<f32>>()
        .chunks_exact(2)
        .map(|f| (f[0], f[1]))
        .collect()
}

#[test]
fn harness_mixes_a_stem_on_its_request_pad_with_its_settings() {
    common::init();
    let mix = gst::ElementFactory::make("stemmix")
        .property("stems", "music: gain=-6, pan=-1")
        .property("rate", 48_000u32)
        .property("channels", 2u32)
        .build()
        .unwrap();
    let mut h = gst_check::Harness::with_element(&mix, Some("music"), Some("src"));
    assert!(
        mix.static_pad("music").is_some(),
        "the request pad is named after the stem"
    );
    // 16-bit samples: the stem is converted to the mix's F32.
    h.set_src_caps_str("audio/x-raw,format=S16LE,rate=48000,channels=2,layout=interleaved");
    let block = |ms: u64| {
        let mut buffer = gst::Buffer::from_mut_slice(16384i16.to_le_bytes().repeat(2 * 480));
        let b = buffer.get_mut().unwrap();
        b.set_pts(gst::ClockTime::from_mseconds(ms));
        b.set_duration(gst::ClockTime::from_mseconds(10));
        buffer
    };
    let left = 0.5 * 10f32.powf(-6.0 / 20.0);
    let mut out = Vec::new();
    for n in 0..3 {
        h.push(block(10 * n)).unwrap();
        out.push(h.pull().unwrap());
    }
    // A live change of the stems reaches the stem between two buffers.
    mix.set_property("stems", "music: gain=-20, pan=-1");
    h.push(block(30)).unwrap();
    out.push(h.pull().unwrap());
    assert!(h.push_event(gst::event::Eos::new()));
    out.extend(common::pull_to_eos(&mut h));

    let caps = h.sinkpad().unwrap().current_caps().unwrap();
    let info = gst_audio::AudioInfo::from_caps(&caps).unwrap();
    assert_eq!(
        (info.format(), info.rate(), info.channels()),
        (gst_audio::AUDIO_FORMAT_F32, 48_000, 2),
        "{caps}"
    );
    let mut at = gst::ClockTime::ZERO;
    for buffer in &out {
        assert_eq!(buffer.pts(), Some(at), "contiguous");
        at += buffer.duration().unwrap();
    }
    assert_eq!(
        at,
        gst::ClockTime::from_mseconds(40),
        "everything is mixed, nothing more"
    );
    let frames = frames_of(&out);
    assert_eq!(frames.len(), 1920);
    // 0.5 at -6 dB hard left, then at -20 dB after the change.
    let quieter = 0.5 * 10f32.powf(-20.0 / 20.0);
    for (i, (l, r)) in frames.iter().enumerate() {
        let expected = if i < 1440 { left } else { quieter };
        assert!((l - expected).abs() < 1e-5, "frame {i}: left {l}, not {expected}");
        assert!(r.abs() < 1e-6, "frame {i}: right {r}");
    }
}

#[test]
fn harness_stem_keeps_mixing_after_a_flush() {
    common::init();
    let mix = gst::ElementFactory::make("stemmix")
        .property("stems", "dialogue: gain=-12")
        .build()
        .unwrap();
    let mut h = gst_check::Harness::with_element(&mix, Some("dialogue"), Some("src"));
    h.set_src_caps_str("audio/x-raw,format=F32LE,rate=48000,channels=2,layout=interleaved");
    let block = |ms: u64| common::f32_block(gst::ClockTime::from_mseconds(ms), &[0.25; 960], 2, 48_000);
    let expected = 0.25 * 10f32.powf(-12.0 / 20.0);
    h.push(block(0)).unwrap();
    let first = h.pull().unwrap();
    assert_eq!(first.pts(), Some(gst::ClockTime::ZERO));
    // The flush goes through the mixer, which starts over from the new
    // segment: silence until the stem's next buffer, at 10 ms.
    common::flush(&mut h);
    h.push(block(10)).unwrap();
    assert!(h.push_event(gst::event::Eos::new()));
    let rest = common::pull_to_eos(&mut h);
    assert_eq!(rest.len(), 2, "{rest:?}");
    assert_eq!(rest[0].pts(), Some(gst::ClockTime::ZERO));
    assert!(common::f32_samples(&rest[0]).iter().all(|s| *s == 0.0));
    let after = &rest[1];
    assert_eq!(after.pts(), Some(gst::ClockTime::from_mseconds(10)));
    assert_eq!(after.duration(), Some(gst::ClockTime::from_mseconds(10)));
    for buffer in [&first, after] {
        let samples = common::f32_samples(buffer);
        assert_eq!(samples.len(), 960);
        assert!(samples.iter().all(|s| (s - expected).abs() < 1e-6), "{samples:?}");
    }
}
