//! `slate audio`: audio tools from the command line.

use std::path::PathBuf;

use slate_audio::Profile;

use crate::Failure;

#[derive(clap::Subcommand)]
pub enum AudioCommand {
    /// EBU R128 loudness of a file (integrated, range, momentary and
    /// short-term maxima, true and sample peak) as JSON.
    Measure { file: PathBuf },
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
    },
    /// Mixes stems (with gain, automation, pan, mute, ducking under
    /// speech) into an MP4 holding the mix and one named track per stem.
    Mix(crate::audio_mix::MixArgs),
}

pub fn audio(command: AudioCommand) -> Result<(), Failure> {
    let bad = |e: slate_audio::AudioError| Failure::BadInput(e.into());
    match command {
        AudioCommand::Measure { file } => print(&slate_audio::measure_file(&file).map_err(bad)?),
        AudioCommand::Loudness {
            input,
            output,
            profile,
            target,
            true_peak,
            live,
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
            print(&normalise(&input, &output, &profile).map_err(bad)?)
        }
        AudioCommand::Mix(args) => crate::audio_mix::mix(args),
    }
}

fn print(report: &impl serde::Serialize) -> Result<(), Failure> {
    let text = serde_json::to_string_pretty(report).map_err(|e| Failure::Runtime(e.into()))?;
    crate::out(&text);
    Ok(())
}
