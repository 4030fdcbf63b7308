//! Normalisation to delivery profiles, checked by ffmpeg's `ebur128`
//! filter (not our meter): five different inputs, two profiles.

mod common;

use common::{HOT, ffmpeg, speech, synth, wav};
use slate_audio::{Profile, normalise_file};

#[test]
fn five_inputs_land_on_ebu_r128_and_streaming_as_ffmpeg_measures_them() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let inputs = [
        speech(d),
        // A music bed: a C major chord with a slow swell over a pulsing bass.
        synth(
            d,
            "music.wav",
            12.0,
            "0.08*(sin(2*PI*261.6*t)+sin(2*PI*329.6*t)+sin(2*PI*392*t))*(0.6+0.4*sin(2*PI*0.25*t))\
             +0.2*sin(2*PI*65.4*t)*(0.5+0.5*sin(2*PI*2*t))",
        ),
        // White noise bursts: 300 ms on, 700 ms off.
        synth(d, "bursts.wav", 8.0, "0.6*(random(0)*2-1)*lt(mod(t,1),0.3)"),
        // Mostly silent: one quiet second of tone in ten.
        synth(d, "mostly-silent.wav", 10.0, "0.02*sin(2*PI*440*t)*between(t,4,5)"),
        wav(d, "hot.wav", HOT),
    ];
    println!(
        "{:<18} {:>10} {:>8} {:>8} {:>8} {:>8}",
        "input", "profile", "before", "after", "ffmpeg", "TP"
    );
    for profile in ["ebu-r128", "streaming"] {
        let profile = Profile::named(profile).unwrap();
        for input in &inputs {
            let name = input.file_name().unwrap().to_string_lossy();
            let output = d.join(format!("{}-{}.wav", profile.name, name.trim_end_matches(".wav")));
            let report = normalise_file(input, &output, &profile).unwrap();
            let (integrated, true_peak) = ffmpeg(&output).unwrap_or_else(|| panic!("{name}: no loudness"));
            println!(
                "{name:<18} {:>10} {:>8.2} {:>8.2} {integrated:>8.1} {true_peak:>8.1}",
                profile.name,
                report.input.integrated_lufs.unwrap(),
                report.output.integrated_lufs.unwrap(),
            );
            assert!(
                (integrated - profile.integrated_lufs).abs() <= 0.5,
                "{name} to {}: ffmpeg measures {integrated} LUFS ({report:?})",
                profile.name
            );
            assert!(
                true_peak <= -1.0,
                "{name} to {}: true peak {true_peak} dBTP",
                profile.name
            );
            assert_eq!(report.note, None, "{name}");
        }
    }
}

#[test]
fn a_silent_input_is_reported_and_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let silence = wav(
        dir.path(),
        "silence.wav",
        "audiotestsrc wave=silence num-buffers=100 ! audio/x-raw,rate=48000,channels=2",
    );
    let output = dir.path().join("out.flac");
    let report = normalise_file(&silence, &output, &Profile::named("ebu-r128").unwrap()).unwrap();
    assert_eq!(report.gain_db, 0.0);
    assert!(report.output.silent && report.note.as_deref().unwrap().contains("silent"));
    let json = serde_json::to_string(&report).unwrap();
    assert!(!json.contains("inf") && !json.contains("NaN"), "{json}");
    assert!(output.is_file());
}

#[test]
fn profiles_and_outputs_are_checked_before_any_work() {
    let dir = tempfile::tempdir().unwrap();
    let error = Profile::named("loud").unwrap_err().to_string();
    assert!(
        error.contains("no profile `loud`") && error.contains("ebu-r128"),
        "{error}"
    );
    assert!(
        Profile::custom(5.0, -1.0)
            .unwrap_err()
            .to_string()
            .contains("between -70 and 0 LUFS")
    );
    assert!(Profile::custom(-16.0, 3.0).unwrap_err().to_string().contains("dBTP"));
    let input = speech(dir.path());
    let error = normalise_file(
        &input,
        &dir.path().join("out.mp3"),
        &Profile::custom(-16.0, -1.5).unwrap(),
    )
    .unwrap_err()
    .to_string();
    assert!(error.contains("out.mp3") && error.contains(".wav or .flac"), "{error}");
    let error = normalise_file(
        &dir.path().join("gone.wav"),
        &dir.path().join("out.wav"),
        &Profile::custom(-16.0, -1.5).unwrap(),
    )
    .unwrap_err()
    .to_string();
    assert!(error.contains("gone.wav"), "{error}");
    assert!(!dir.path().join("out.wav").exists() && !dir.path().join(".out.wav.partial").exists());
}

#[test]
fn live_mode_has_a_bounded_look_ahead_and_states_its_latency() {
    let dir = tempfile::tempdir().unwrap();
    let input = synth(
        dir.path(),
        "music.wav",
        12.0,
        "0.05*sin(2*PI*330*t)*(0.7+0.3*sin(2*PI*0.5*t))",
    );
    let output = dir.path().join("live.wav");
    let report = slate_audio::normalise_live(&input, &output, &Profile::named("ebu-r128").unwrap()).unwrap();
    assert_eq!(report.mode, "live");
    assert!(report.latency_ms >= 3000.0, "{report:?}");
    let (integrated, true_peak) = ffmpeg(&output).unwrap();
    println!(
        "live: {integrated} LUFS, {true_peak} dBTP, latency {} ms",
        report.latency_ms
    );
    assert!((integrated + 23.0).abs() <= 1.0, "{integrated}");
    assert!(true_peak <= -0.5, "{true_peak}");
}

#[test]
fn the_plot_shows_the_target_band_and_the_loudness_in_it() {
    let dir = tempfile::tempdir().unwrap();
    let input = synth(dir.path(), "bed.wav", 8.0, "0.05*sin(2*PI*330*t)");
    let output = dir.path().join("out.wav");
    let report = normalise_file(&input, &output, &Profile::named("ebu-r128").unwrap()).unwrap();
    let png = dir.path().join("plot.png");
    slate_audio::plot_png(&png, &report.output, Some(-23.0)).unwrap();
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(&png).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut pixels = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut pixels).unwrap();
    assert_eq!((info.width, info.height), (1000, 400));
    let at = |x: usize, y: i64| &pixels[(y as usize * 1000 + x) * 3..(y as usize * 1000 + x) * 3 + 3];
    // The band is green a little above the target; the short-term line
    // (steady at -23 after its first 3 s) runs through the target's row.
    assert_eq!(at(500, slate_audio::plot::y_of(-22.5)), slate_audio::plot::BAND);
    let row = slate_audio::plot::y_of(-23.0);
    let blue = (600..950)
        .filter(|&x| (row - 1..=row + 1).any(|y| at(x, y) == slate_audio::plot::SHORT_TERM))
        .count();
    assert!(blue > 300, "the short-term line lies on the target: {blue} columns");
    let error = slate_audio::plot_png(&dir.path().join("plot.jpg"), &report.output, None).unwrap_err();
    assert!(error.to_string().contains(".png"));
}
