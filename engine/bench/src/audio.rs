//! `slate bench audio`: real-time factor of a mix of 8 stems (48 kHz
//! stereo) through `stemmix` — plain, with ducking under Silero VAD on
//! the dialogue, and with live loudness (`loudnorm`) after it — and the
//! latency each stage adds, from the latency queries of a live pipeline.

use std::process::Command;

use anyhow::{Context, anyhow};
use gst::prelude::*;

/// Stems besides the dialogue: name and an audiotestsrc description.
const BEDS: [(&str, &str); 7] = [
    ("music", "wave=sine freq=220 volume=0.2"),
    ("pad", "wave=sine freq=330 volume=0.1"),
    ("bass", "wave=sine freq=55 volume=0.3"),
    ("ambience", "wave=pink-noise volume=0.05"),
    ("crowd", "wave=red-noise volume=0.05"),
    ("fx", "wave=ticks volume=0.3"),
    ("room", "wave=white-noise volume=0.01"),
];

pub fn run(seconds: u32) -> anyhow::Result<()> {
    anyhow::ensure!(seconds >= 5, "--seconds must be at least 5");
    let scratch = tempfile::tempdir()?;
    let speech = scratch.path().join("dialogue.wav");
    let text = "The cup stays on the table while the camera moves. ".repeat((seconds as usize / 3).max(1));
    let spoken = Command::new("espeak-ng")
        .arg("-w")
        .arg(&speech)
        .arg(&text)
        .status()
        .context("espeak-ng makes the dialogue stem; run .ci/setup")?;
    anyhow::ensure!(spoken.success(), "espeak-ng failed");
    let dialogue_s = slate_audio::measure_file(&speech)?.duration_s.min(f64::from(seconds));
    let buffers = seconds * 100;
    println!(
        "8 stems (dialogue from espeak-ng, 7 test sources), 48 kHz stereo, {seconds} s of audio per case, sources not live"
    );
    println!("{:<34} {:>10} {:>12}", "case", "wall s", "x real time");
    let cases = [
        ("mix", "", ""),
        (
            "mix + ducking (VAD)",
            "dialogue: vad=true; music: duck=12, duck-key=dialogue; pad: duck=9, duck-key=dialogue",
            "",
        ),
        (
            "mix + ducking + live loudness",
            "dialogue: vad=true; music: duck=12, duck-key=dialogue; pad: duck=9, duck-key=dialogue",
            " ! loudnorm profile=ebu-r128",
        ),
    ];
    for (name, stems, tail) in cases {
        let line = description(&speech, buffers, stems, tail, false);
        let pipeline = launch(&line)?;
        let wall = crate::timed(&pipeline)?.as_secs_f64();
        println!("{name:<34} {wall:>10.2} {:>12.1}", f64::from(seconds) / wall);
    }
    println!("(the dialogue stem is {dialogue_s:.1} s of speech; the mix runs as long as the longest stem)");

    // Latency, from a live pipeline's queries at each stage's output.
    let line = description(
        &speech,
        buffers,
        cases[2].1,
        " ! loudnorm name=norm profile=ebu-r128",
        true,
    );
    let pipeline = launch(&line)?;
    pipeline.set_state(gst::State::Playing)?;
    let _ = pipeline.state(gst::ClockTime::from_seconds(10));
    let latency_at = |element: &str| -> anyhow::Result<f64> {
        let pad = pipeline
            .by_name(element)
            .and_then(|e| e.static_pad("src"))
            .ok_or_else(|| anyhow!("no {element}"))?;
        let mut query = gst::query::Latency::new();
        anyhow::ensure!(pad.query(&mut query), "{element} did not answer the latency query");
        Ok(query.result().1.nseconds() as f64 / 1e6)
    };
    let (sources, mixed, normalised) = (latency_at("src-music")?, latency_at("mix")?, latency_at("norm")?);
    pipeline.set_state(gst::State::Null)?;
    println!("latency each stage adds (live): {:<20} {:>8}", "stage", "ms");
    println!("{:<52} {sources:>8.1}", "  live source (10 ms buffers)");
    println!(
        "{:<52} {:>8.1}",
        "  stemmix (stems, VAD ducking, audiomixer)",
        mixed - sources
    );
    println!(
        "{:<52} {:>8.1}",
        "  loudnorm (look-ahead + true-peak limiter)",
        normalised - mixed
    );
    println!("{:<52} {normalised:>8.1}", "  total");
    Ok(())
}

fn launch(line: &str) -> anyhow::Result<gst::Pipeline> {
    gst::parse::launch(line)
        .with_context(|| format!("building {line}"))?
        .downcast::<gst::Pipeline>()
        .map_err(|_| anyhow!("not a pipeline"))
}

/// The 8-stem pipeline: `stems` are stemmix settings, `tail` follows the mix.
fn description(speech: &std::path::Path, buffers: u32, stems: &str, tail: &str, live: bool) -> String {
    let mut line = format!(
        "stemmix name=mix stems=\"{stems}\"{tail} ! fakesink sync={live} \
         filesrc location=\"{}\" ! wavparse ! mix.dialogue ",
        speech.display()
    );
    for (name, source) in BEDS {
        line += &format!(
            "audiotestsrc name=src-{name} is-live={live} {source} num-buffers={buffers} samplesperbuffer=480 \
             ! audio/x-raw,rate=48000,channels=2 ! mix.{name} "
        );
    }
    line
}
