//! `slate generate`: a storyboard's shots and variants rendered in
//! parallel (see the slate-generate crate), with a progress bar; Ctrl-C
//! stops after the takes in hand and keeps the finished ones.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use anyhow::anyhow;
use indicatif::{ProgressBar, ProgressStyle};
use slate_generate::Batch;

use crate::Failure;

#[derive(clap::Args)]
pub struct GenerateArgs {
    /// The storyboard (TOML; `pipelines/storyboards/coffee.toml`).
    storyboard: PathBuf,
    /// Takes of every shot, with seeds from the storyboard's up.
    #[arg(long, default_value_t = 1)]
    variants: u32,
    /// Shots rendered at once (default: the machine's cores).
    #[arg(long)]
    jobs: Option<usize>,
    /// Where the takes and index.json go.
    #[arg(long, short)]
    out: PathBuf,
}

pub fn generate(args: GenerateArgs) -> Result<(), Failure> {
    if args.variants == 0 {
        return Err(Failure::BadInput(anyhow!("--variants must be at least 1")));
    }
    let board = slate_story::Storyboard::load(&args.storyboard).map_err(|e| Failure::BadInput(e.into()))?;
    let batch = Batch {
        board: &board,
        name: args.storyboard.display().to_string(),
        variants: args.variants,
        jobs: args
            .jobs
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get())),
        out: args.out.clone(),
    };
    let bar = ProgressBar::new(batch.frames());
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} frames {per_sec} eta {eta}").expect("a valid template"),
    );
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(signal, stop.clone())
            .map_err(|e| Failure::Runtime(anyhow!("cannot handle signal {signal}: {e}")))?;
    }
    let index = slate_generate::run(&batch, |n| bar.inc(n), &stop).map_err(|e| Failure::Runtime(e.into()));
    bar.finish_and_clear();
    let index = index?;
    let made = index.takes.iter().filter(|t| t.rendered).count();
    crate::out(&format!(
        "{} takes ({made} rendered, {} kept), {} cuts, continuity {:.2}: {}",
        index.takes.len(),
        index.takes.len() - made,
        index.cuts.len(),
        index.continuity,
        args.out.join("index.json").display()
    ));
    Ok(())
}
