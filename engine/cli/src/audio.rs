//! `slate audio`: audio tools from the command line.

use std::path::PathBuf;

use slate_audio::Profile;

use crate::Failure;

#[derive(clap::Subcommand)]
pub enum AudioCommand {
    /// EBU R128 loudness of a file (integrated, range, momentary and
    /// short-term maxima, true and sample peak) as JSON.
    Measure {
        file: PathBuf,
        /// Also draw loudness over time into this PNG.
        #[arg(long, value_name = "PNG")]
        plot: Option<PathBuf>,
    },
    /// Normalises a file to a loudness profile and prints what it did
    /// (before and after) as JSON.
    Loudness {
        input: PathBuf,
        /// Where to write the result: .wav (24-bit) or .flac.
        #[arg(short, long)]
        output: PathBuf,
        /// ebu-r128 (-23 LUFS, -1 dBTP), streaming (-14 LUFS, -1 dBTP),
        /// atsc-a85 (-24 LKFS, -2 dBTP) or custom (give --target).
        #[arg(long, default_value = "ebu-r128")]
        profile: String,
        /// Custom profile: integrated loudness, LUFS.
        #[arg(long, allow_hyphen_values = true)]
        target: Option<f64>,
        /// Custom profile: highest true peak, dBTP.
        #[arg(long, allow_hyphen_values = true, default_value_t = -1.0)]
        true_peak: f64,
        /// Normalise as a live pipeline would (3 s look-ahead, gain
        /// following the loudness so far) instead of the exact two-pass
        /// file mode.
        #[arg(long)]
        live: bool,
        /// Also draw the result's loudness over time, with the target
        /// band, into this PNG.
        #[arg(long, value_name = "PNG")]
        plot: Option<PathBuf>,
    },
    /// Mixes stems (with gain, automation, pan, mute, ducking under
    /// speech) into an MP4 holding the mix and one named track per stem.
    Mix(crate::audio_mix::MixArgs),
    /// Writes the flash-and-beep sync pattern (MP4): a white frame and a
    /// 1 kHz beep every second, the beep shifted by --offset-ms.
    Synctest {
        #[arg(short, long)]
        output: PathBuf,
        /// Planted offset, ms (> 0: audio late).
        #[arg(long, allow_hyphen_values = true, default_value_t = 0.0)]
        offset_ms: f64,
        #[arg(long, default_value_t = 10)]
        seconds: u32,
        #[arg(long, default_value_t = 25)]
        fps: u32,
    },
    /// Measures the audio/video offset of a flash-and-beep file against
    /// EBU R37 (-40/+60 ms); with --correct, writes the file re-timed.
    Sync {
        file: PathBuf,
        /// Write a copy with the audio moved by the measured offset here.
        #[arg(long, value_name = "OUT.mp4")]
        correct: Option<PathBuf>,
    },
}

#[derive(serde::Serialize)]
struct SyncReport {
    file: PathBuf,
    /// Median offset, ms (> 0: audio late).
    offset_ms: f64,
    within_r37: bool,
    events: Vec<slate_audio::SyncEvent>,
    corrected: Option<PathBuf>,
    residual_ms: Option<f64>,
}

fn sync(file: PathBuf, correct: Option<PathBuf>) -> Result<(), Failure> {
    let bad = |e: String| Failure::BadInput(anyhow::anyhow!(e));
    let median = |events: &[slate_audio::SyncEvent]| {
        let mut offsets: Vec<f64> = events.iter().map(|e| e.offset_ms).collect();
        offsets.sort_by(f64::total_cmp);
        offsets.get(offsets.len() / 2).copied()
    };
    let events = gstslate::avsync::measure_file(&file).map_err(bad)?;
    let offset_ms = median(&events).ok_or_else(|| {
        bad(format!(
            "{}: no flash with a beep found; make one with `slate audio synctest`",
            file.display()
        ))
    })?;
    let mut residual_ms = None;
    if let Some(out) = &correct {
        gstslate::avsync::correct_file(&file, out, offset_ms).map_err(bad)?;
        residual_ms = median(&gstslate::avsync::measure_file(out).map_err(|e| Failure::Runtime(anyhow::anyhow!(e)))?);
    }
    print(&SyncReport {
        within_r37: slate_audio::SyncEvent::new(0.0, offset_ms / 1000.0).within_r37,
        file,
        offset_ms,
        events,
        corrected: correct,
        residual_ms,
    })
}

pub fn audio(command: AudioCommand) -> Result<(), Failure> {
    let bad = |e: slate_audio::AudioError| Failure::BadInput(e.into());
    match command {
        AudioCommand::Measure { file, plot } => {
            let report = slate_audio::measure_file(&file).map_err(bad)?;
            if let Some(png) = plot {
                slate_audio::plot_png(&png, &report, None).map_err(bad)?;
            }
            print(&report)
        }
        AudioCommand::Loudness {
            input,
            output,
            profile,
            target,
            true_peak,
            live,
            plot,
        } => {
            let profile = match (profile.as_str(), target) {
                ("custom", Some(target)) => Profile::custom(target, true_peak),
                ("custom", None) => Err(slate_audio::AudioError::Profile(
                    "--profile custom needs --target LUFS (and optionally --true-peak dBTP)".into(),
                )),
                (_, Some(_)) => Err(slate_audio::AudioError::Profile(
                    "--target is for --profile custom".into(),
                )),
                (name, None) => Profile::named(name),
            }
            .map_err(bad)?;
            let normalise = if live {
                slate_audio::normalise_live
            } else {
                slate_audio::normalise_file
            };
            let report = normalise(&input, &output, &profile).map_err(bad)?;
            if let Some(png) = plot {
                slate_audio::plot_png(&png, &report.output, Some(profile.integrated_lufs)).map_err(bad)?;
            }
            print(&report)
        }
        AudioCommand::Mix(args) => crate::audio_mix::mix(args),
        AudioCommand::Synctest {
            output,
            offset_ms,
            seconds,
            fps,
        } => {
            let test = slate_audio::SyncTest {
                seconds,
                fps,
                offset_ms,
            };
            slate_audio::write_synctest(&output, test).map_err(bad)?;
            print(&serde_json::json!({ "output": output, "offset_ms": offset_ms, "seconds": seconds, "fps": fps }))
        }
        AudioCommand::Sync { file, correct } => sync(file, correct),
    }
}

fn print(report: &impl serde::Serialize) -> Result<(), Failure> {
    let text = serde_json::to_string_pretty(report).map_err(|e| Failure::Runtime(e.into()))?;
    crate::out(&text);
    Ok(())
}
