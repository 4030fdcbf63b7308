//! `slate edit`: timelines (OpenTimelineIO JSON) made from a generated
//! batch, or read from another editor's `.otio`.

use std::path::{Path, PathBuf};

use anyhow::{Context, anyhow};
use clap::{Args, Subcommand};
use slate_edit::{Item, Timeline};

use crate::{Failure, out};

#[derive(Args)]
pub struct EditArgs {
    #[command(subcommand)]
    command: EditCommand,
}

#[derive(Subcommand)]
enum EditCommand {
    /// A first cut from `slate generate`'s index.json: the shots in
    /// storyboard order, each from its variant with the fewest continuity
    /// breaks.
    Assemble {
        /// The batch's index.json.
        index: PathBuf,
        /// Where the timeline goes (.otio).
        #[arg(long)]
        out: PathBuf,
    },
    /// Read an editor's .otio (Resolve, Premiere, Kdenlive, or Python's
    /// opentimelineio): what Slate cannot represent, or media that is not
    /// there, is refused naming its OTIO path. Prints a summary; `--out`
    /// writes it again as Slate writes timelines.
    Import {
        file: PathBuf,
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

pub fn edit(args: EditArgs) -> Result<(), Failure> {
    match args.command {
        EditCommand::Assemble { index, out } => {
            let text = read(&index)?;
            let timeline =
                slate_edit::from_batch(&text).map_err(|e| Failure::BadInput(anyhow!("{}: {e}", index.display())))?;
            write(&timeline, &out)?;
            summary(&timeline, &out);
            Ok(())
        }
        EditCommand::Import { file, out } => {
            let text = read(&file)?;
            let bad = |e: slate_edit::EditError| Failure::BadInput(anyhow!("{}: {e}", file.display()));
            let timeline = slate_edit::from_otio(&text).map_err(bad)?;
            timeline
                .check_media(file.parent().unwrap_or(Path::new(".")))
                .map_err(bad)?;
            if let Some(out) = &out {
                write(&timeline, out)?;
            }
            summary(&timeline, out.as_deref().unwrap_or(&file));
            Ok(())
        }
    }
}

fn read(path: &Path) -> Result<String, Failure> {
    std::fs::read_to_string(path).map_err(|e| Failure::BadInput(anyhow!("{}: cannot read it: {e}", path.display())))
}

/// Writes the timeline whole or not at all.
fn write(timeline: &Timeline, path: &Path) -> Result<(), Failure> {
    let partial = path.with_extension("otio.partial");
    std::fs::write(&partial, slate_edit::to_otio(timeline))
        .and_then(|()| std::fs::rename(&partial, path))
        .with_context(|| format!("{}: cannot write it", path.display()))
        .map_err(Failure::Runtime)
}

/// One JSON line: the timeline's name, length and tracks.
fn summary(timeline: &Timeline, file: &Path) {
    let tracks: Vec<serde_json::Value> = timeline
        .tracks
        .iter()
        .map(|t| {
            let count = |f: fn(&Item) -> bool| t.items.iter().filter(|i| f(i)).count();
            serde_json::json!({
                "name": t.name,
                "kind": t.kind.name(),
                "clips": count(|i| matches!(i, Item::Clip(_))),
                "gaps": count(|i| matches!(i, Item::Gap(_))),
                "transitions": count(|i| matches!(i, Item::Transition(_))),
                "duration_s": t.duration().as_f64(),
            })
        })
        .collect();
    out(&serde_json::json!({
        "timeline": file,
        "name": timeline.name,
        "duration_s": timeline.duration().as_f64(),
        "tracks": tracks,
    })
    .to_string());
}
