//! `slate ingest`: clips from other video models, from a watched folder
//! (see the slate-ingest crate).

use std::path::PathBuf;
use std::time::Duration;

use anyhow::anyhow;
use slate_ingest::{IngestError, Library, Watch};

use crate::Failure;

#[derive(clap::Args)]
pub struct IngestArgs {
    /// The folder clips land in: NAME.mp4 (or .mov, .mkv, .webm, .m4v),
    /// then its sidecar NAME.json {"shot", "prompt", "model"}.
    folder: PathBuf,
    /// The library: signed clips in clips/, report.json and sheet.png.
    #[arg(long, short)]
    out: PathBuf,
    /// The continuity plugin (default: continuity.wasm in $SLATE_PLUGIN_DIR).
    #[arg(long)]
    plugin: Option<PathBuf>,
    /// Take what is in the folder now and stop.
    #[arg(long, conflicts_with_all = ["clips", "time"])]
    once: bool,
    /// Stop after this many clips.
    #[arg(long)]
    clips: Option<usize>,
    /// Stop after this long (e.g. 600s).
    #[arg(long = "for", value_parser = crate::parse_duration)]
    time: Option<Duration>,
}

pub fn ingest(args: IngestArgs) -> Result<(), Failure> {
    if !args.folder.is_dir() {
        return Err(Failure::BadInput(anyhow!("{}: not a folder", args.folder.display())));
    }
    let plugin = match (args.plugin, std::env::var_os("SLATE_PLUGIN_DIR")) {
        (Some(plugin), _) => plugin,
        (None, Some(dir)) => PathBuf::from(dir).join("continuity.wasm"),
        (None, None) => {
            return Err(Failure::BadInput(anyhow!(
                "name the continuity plugin: --plugin continuity.wasm, or set SLATE_PLUGIN_DIR to the folder of built plugins"
            )));
        }
    };
    let identity =
        slate_provenance::Identity::local(&slate_store::data_dir()).map_err(|e| Failure::Runtime(e.into()))?;
    let mut library = Library::open(&args.out, &plugin, identity).map_err(failure)?;
    let until = if args.once {
        Watch {
            clips: None,
            time: Some(Duration::ZERO),
        }
    } else {
        Watch {
            clips: args.clips,
            time: args.time,
        }
    };
    let mut refused = 0;
    slate_ingest::watch(&args.folder, &mut library, until, |event| match event {
        Ok(report) => {
            let clip = report.clips.len();
            tracing::info!(
                "{clip} clip(s) in; {} cut(s), {} flagged; {}",
                report.cuts.len(),
                report.flagged,
                library_paths(&args.out)
            );
            for cut in &report.cuts {
                for b in &cut.breaks {
                    tracing::warn!(
                        "cut at frame {}: {}",
                        cut.frame,
                        b["detail"].as_str().unwrap_or_default()
                    );
                }
            }
        }
        Err(e) => {
            refused += 1;
            eprintln!("refused: {e}");
        }
    })
    .map_err(failure)?;
    if args.once && refused > 0 {
        return Err(Failure::BadInput(anyhow!("{refused} clip(s) refused")));
    }
    Ok(())
}

fn library_paths(out: &std::path::Path) -> String {
    format!(
        "{} and {}",
        out.join("report.json").display(),
        out.join("sheet.png").display()
    )
}

fn failure(e: IngestError) -> Failure {
    match e {
        IngestError::Checker { .. } | IngestError::Input { .. } | IngestError::Watch { .. } => {
            Failure::BadInput(e.into())
        }
        _ => Failure::Runtime(e.into()),
    }
}
