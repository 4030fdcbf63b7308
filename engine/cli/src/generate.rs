//! `slate generate`: a storyboard's shots and variants rendered in
//! parallel (see the slate-generate crate), with a progress bar; Ctrl-C
//! stops after the takes in hand and keeps the finished ones. Flagged cuts
//! are retaken first: a Lua script given with `--on-retake` hears each
//! retake request, and the reference generator mends what its answer
//! leaves broken. The script's global
//! `retake(request)` gets `{scene, shot, field, attempt, breaks = {{kind,
//! subject, detail}}}` and returns nil (let the break stand) or edits
//! `{crosses_line = true, camera = {position = {x, y, z}, target = ..., fov = ...}}`.

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
    /// Retakes each shot may get when the cut into it is flagged.
    #[arg(long, default_value_t = 2)]
    retakes: u32,
    /// A Lua script whose `retake(request)` answers retake requests.
    #[arg(long, value_name = "SCRIPT")]
    on_retake: Option<PathBuf>,
}

pub fn generate(args: GenerateArgs) -> Result<(), Failure> {
    if args.variants == 0 {
        return Err(Failure::BadInput(anyhow!("--variants must be at least 1")));
    }
    let board = slate_story::Storyboard::load(&args.storyboard).map_err(|e| Failure::BadInput(e.into()))?;
    let name = args.storyboard.display().to_string();
    let script = args
        .on_retake
        .as_deref()
        .map(|path| slate_lua::Script::load(path, slate_lua::Limits::default()))
        .transpose()
        .map_err(|e| Failure::BadInput(e.into()))?;
    let mut answer = |request: &slate_generate::Request| -> Result<Option<slate_generate::ShotEdits>, String> {
        tracing::warn!(scene = request.scene, shot = request.shot, attempt = request.attempt, breaks = ?request.breaks, "retake request");
        let Some(script) = &script else {
            return Ok(None);
        };
        let request = serde_json::to_value(request).expect("a request is JSON");
        let Some(edits) = script.call_json("retake", &request).map_err(|e| e.to_string())? else {
            return Ok(None);
        };
        serde_json::from_value(edits).map_err(|e| format!("{}: retake() returned {e}", script_name(&args)))
    };
    let plan =
        slate_generate::plan(&board, &name, args.retakes, &mut answer).map_err(|e| Failure::BadInput(e.into()))?;
    for retake in &plan.retakes {
        let changes: Vec<&str> = retake
            .edited
            .iter()
            .map(String::as_str)
            .chain(retake.mended.iter().map(|m| m.how.as_str()))
            .collect();
        crate::out(&format!(
            "retake {}/{} (attempt {}): {}",
            retake.scene,
            retake.shot,
            retake.attempt,
            if changes.is_empty() {
                "nothing to change; the break stands".to_owned()
            } else {
                changes.join("; ")
            }
        ));
    }
    let batch = Batch {
        board: &plan.board,
        retakes: plan.retakes.clone(),
        name,
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
    for take in &index.takes {
        for sync in take.sync.iter().filter(|s| !s.within_r37) {
            tracing::warn!(file = %take.file.display(), event = sync.event, offset_ms = ?sync.offset_ms, "an effect is out of sync with its event (EBU R37)");
        }
    }
    Ok(())
}

fn script_name(args: &GenerateArgs) -> String {
    args.on_retake
        .as_deref()
        .map(|p| p.display().to_string())
        .unwrap_or_default()
}
