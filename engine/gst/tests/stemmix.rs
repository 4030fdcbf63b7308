//! `stemmix`: named stems at different rates and layouts mixed into one,
//! music ducked under speech that Silero VAD finds, measured on the output.

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
