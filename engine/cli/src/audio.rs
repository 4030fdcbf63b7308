//! `slate audio`: audio tools from the command line.

use std::path::PathBuf;

use crate::Failure;

#[derive(clap::Subcommand)]
pub enum AudioCommand {
    /// EBU R128 loudness of a file (integrated, range, momentary and
    /// short-term maxima, true and sample peak) as JSON.
    Measure { file: PathBuf },
}

pub fn audio(command: AudioCommand) -> Result<(), Failure> {
    match command {
        AudioCommand::Measure { file } => {
            let report = slate_audio::measure_file(&file).map_err(|e| Failure::BadInput(e.into()))?;
            let text = serde_json::to_string_pretty(&report).map_err(|e| Failure::Runtime(e.into()))?;
            crate::out(&text);
            Ok(())
        }
    }
}
