//! Loudness of real files against ffmpeg's `ebur128` filter (not ours):
//! speech from espeak-ng, a tone, noise, silence and a clipping file.

mod common;

use common::{ffmpeg, speech, wav};

#[test]
fn loudness_agrees_with_ffmpeg_on_speech_a_tone_noise_and_clipping() {
    let dir = tempfile::tempdir().unwrap();
    let inputs = [
        speech(dir.path()),
        wav(
            dir.path(),
            "tone.wav",
            "audiotestsrc wave=sine freq=997 volume=0.1 num-buffers=250 ! audio/x-raw,rate=48000,channels=2",
        ),
        wav(
            dir.path(),
            "noise.wav",
            "audiotestsrc wave=pink-noise volume=0.3 num-buffers=200 ! audio/x-raw,rate=44100,channels=1",
        ),
        wav(dir.path(), "hot.wav", common::HOT),
    ];
    for input in &inputs {
        let ours = slate_audio::measure_file(input).unwrap();
        let (integrated, true_peak) = ffmpeg(input).unwrap();
        let name = input.file_name().unwrap().to_string_lossy();
        let i = ours.integrated_lufs.unwrap_or_else(|| panic!("{name}: {ours:?}"));
        let tp = ours.true_peak_dbtp.unwrap();
        println!("{name}: slate I {i:.2} LUFS, TP {tp:.2} dBTP; ffmpeg I {integrated:.1}, TP {true_peak:.1}");
        assert!(
            (i - integrated).abs() <= 0.2,
            "{name}: integrated {i} vs ffmpeg {integrated}"
        );
        assert!(
            (tp - true_peak).abs() <= 0.5,
            "{name}: true peak {tp} vs ffmpeg {true_peak}"
        );
        assert!(!ours.silent && ours.duration_s > 1.0, "{name}: {ours:?}");
    }
    let hot = slate_audio::measure_file(&inputs[3]).unwrap();
    assert!(hot.sample_peak_dbfs.unwrap() > -0.01, "the hot file clips: {hot:?}");
    // BS.1770's reference: a 997 Hz sine at -20 dBFS in both channels of
    // a stereo pair reads -20 LUFS; its peak is -20 dBFS.
    let tone = slate_audio::measure_file(&inputs[1]).unwrap();
    assert!((tone.integrated_lufs.unwrap() + 20.0).abs() < 0.1, "{tone:?}");
    assert!((tone.sample_peak_dbfs.unwrap() + 20.0).abs() < 0.1, "{tone:?}");
}

#[test]
fn silence_gives_a_clear_report_not_infinities() {
    let dir = tempfile::tempdir().unwrap();
    let silence = wav(
        dir.path(),
        "silence.wav",
        "audiotestsrc wave=silence num-buffers=100 ! audio/x-raw,rate=48000,channels=2",
    );
    let report = slate_audio::measure_file(&silence).unwrap();
    assert!(report.silent, "{report:?}");
    assert_eq!((report.integrated_lufs, report.true_peak_dbtp), (None, None));
    let json = serde_json::to_string(&report).unwrap();
    assert!(!json.contains("inf") && !json.contains("NaN"), "{json}");
    assert!(report.duration_s > 1.0);
}

#[test]
fn bad_files_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.wav");
    let error = slate_audio::measure_file(&missing).unwrap_err().to_string();
    assert!(error.contains("nope.wav") && error.contains("no such file"), "{error}");
    let junk = dir.path().join("junk.wav");
    std::fs::write(&junk, b"not audio at all").unwrap();
    let error = slate_audio::measure_file(&junk).unwrap_err().to_string();
    assert!(error.contains("junk.wav"), "{error}");
}
