//! Real test media and an independent meter (ffmpeg's `ebur128` filter).

use std::path::{Path, PathBuf};
use std::process::Command;

use gst::prelude::*;

/// A 220 Hz sine pushed 4 dB past full scale and clipped, 16-bit.
pub const HOT: &str = "audiotestsrc wave=sine freq=220 volume=1.0 num-buffers=200 \
    ! audio/x-raw,format=F32LE,rate=48000,channels=2 ! audioamplify amplification=1.6 clipping-method=clip \
    ! audioconvert ! audio/x-raw,format=S16LE";

/// Renders `source` (a gst-launch fragment) to a WAV file.
pub fn wav(dir: &Path, name: &str, source: &str) -> PathBuf {
    gst::init().unwrap();
    let path = dir.join(name);
    let line = format!(
        "{source} ! audioconvert ! wavenc ! filesink location={}",
        path.display()
    );
    let pipeline = gst::parse::launch(&line).unwrap().downcast::<gst::Pipeline>().unwrap();
    pipeline.set_state(gst::State::Playing).unwrap();
    let bus = pipeline.bus().unwrap();
    for message in bus.iter_timed(gst::ClockTime::from_seconds(30)) {
        match message.view() {
            gst::MessageView::Eos(_) => break,
            gst::MessageView::Error(e) => panic!("{line}: {}", e.error()),
            _ => {}
        }
    }
    pipeline.set_state(gst::State::Null).unwrap();
    path
}

/// Speech from espeak-ng (22.05 kHz mono).
pub fn speech(dir: &Path) -> PathBuf {
    let path = dir.join("speech.wav");
    let spoken = Command::new("espeak-ng")
        .arg("-w")
        .arg(&path)
        .arg("Slate measures loudness the way broadcasters must deliver it, in LUFS and true peak.")
        .status()
        .expect("espeak-ng runs (the setup installs it)");
    assert!(spoken.success());
    path
}

/// Renders an ffmpeg `aevalsrc` expression (stereo, 48 kHz) to a WAV file.
#[allow(dead_code)]
pub fn synth(dir: &Path, name: &str, seconds: f64, expression: &str) -> PathBuf {
    let path = dir.join(name);
    let status = Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-f", "lavfi", "-i"])
        .arg(format!("aevalsrc='{expression}':s=48000:c=stereo:d={seconds}"))
        .arg(&path)
        .status()
        .expect("ffmpeg runs (the setup installs it)");
    assert!(status.success(), "{expression}");
    path
}

/// What ffmpeg's ebur128 filter says: integrated loudness and true peak
/// (None: ffmpeg printed -inf or nothing).
pub fn ffmpeg(path: &Path) -> Option<(f64, f64)> {
    let output = Command::new("ffmpeg")
        .args(["-nostats", "-hide_banner", "-i"])
        .arg(path)
        .args(["-filter_complex", "ebur128=peak=true", "-f", "null", "-"])
        .output()
        .expect("ffmpeg runs (the setup installs it)");
    let text = String::from_utf8_lossy(&output.stderr);
    let summary = &text[text.rfind("Summary:").expect("an ebur128 summary")..];
    let value = |label: &str| -> Option<f64> {
        let line = summary.lines().find(|l| l.trim_start().starts_with(label))?;
        line.split_whitespace()
            .nth(1)?
            .parse()
            .ok()
            .filter(|v: &f64| v.is_finite())
    };
    Some((value("I:")?, value("Peak:")?))
}
