//! `slate run`, `slate launch`, `slate script` and `slate validate`:
//! pipelines and scripts with a terminal in front of them.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::anyhow;
use gst::prelude::*;
use indicatif::{ProgressBar, ProgressStyle};
use slate_pipeline::{Heard, Outcome, PipelineFile, Progress, RunOptions, Stop};

use crate::Failure;

pub fn run_file(path: &Path, overrides: &[String], duration: Option<Duration>) -> Result<(), Failure> {
    let built = build_file(path, overrides)?;
    watch(&built.pipeline, duration.or(built.duration))
}

fn build_file(path: &Path, overrides: &[String]) -> Result<slate_pipeline::Built, Failure> {
    let mut file = PipelineFile::load(path)?;
    for assignment in overrides {
        file.apply_override(assignment)?;
    }
    let built = slate_pipeline::build(&file)?;
    built.prepare()?;
    Ok(built)
}

/// `slate run FILE --script S.lua`: the script drives the file's pipeline.
pub fn run_file_with_script(
    path: &Path,
    overrides: &[String],
    duration: Option<Duration>,
    script: &Path,
    settings: Vec<(String, String)>,
) -> Result<(), Failure> {
    let built = build_file(path, overrides)?;
    let options = slate_lua::Options {
        settings: settings.into_iter().collect(),
        main: Some(built.pipeline),
        ..slate_lua::Options::default()
    };
    automate(script, options, duration.or(built.duration))
}

pub fn run_launch(description: &str, duration: Option<Duration>) -> Result<(), Failure> {
    let pipeline = slate_pipeline::launch(description)?;
    watch(&pipeline, duration)
}

pub fn run_script(
    path: &Path,
    duration: Option<Duration>,
    settings: Vec<(String, String)>,
    list_settings: bool,
) -> Result<(), Failure> {
    let options = slate_lua::Options {
        settings: settings.into_iter().collect(),
        ..slate_lua::Options::default()
    };
    if list_settings {
        let automation = slate_lua::Automation::load(path, options).map_err(|e| Failure::BadInput(e.into()))?;
        let json = serde_json::to_string_pretty(&automation.settings()).expect("settings serialise");
        println!("{json}");
        return Ok(());
    }
    automate(path, options, duration)
}

/// Runs an automation script with Ctrl-C wired to a clean stop (a second
/// Ctrl-C skips draining).
fn automate(script: &Path, options: slate_lua::Options, duration: Option<Duration>) -> Result<(), Failure> {
    let mut automation = slate_lua::Automation::load(script, options).map_err(|e| Failure::BadInput(e.into()))?;
    on_interrupt(&automation.stopper())?;
    automation.run(duration).map_err(|e| Failure::Runtime(e.into()))?;
    eprintln!("finished: {}", script.display());
    Ok(())
}

/// SIGINT and SIGTERM count as stop requests.
fn on_interrupt(stop: &Stop) -> Result<(), Failure> {
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        let counter = stop.counter();
        // SAFETY: the handler only bumps an atomic, which is async-signal-safe.
        unsafe {
            signal_hook::low_level::register(signal, move || {
                counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            })
        }
        .map_err(|e| Failure::Runtime(anyhow!("cannot handle signal {signal}: {e}")))?;
    }
    Ok(())
}

pub fn validate(files: &[PathBuf]) -> Result<(), Failure> {
    for path in files {
        // A storyboard says so in its first table.
        let text = std::fs::read_to_string(path).unwrap_or_default();
        if text.lines().any(|l| l.trim() == "[storyboard]") {
            let board = slate_story::Storyboard::load(path).map_err(|e| Failure::BadInput(e.into()))?;
            println!(
                "{}: ok (storyboard, {} props, {} characters, {} shots)",
                path.display(),
                board.world.props.len(),
                board.world.characters.len(),
                board.shots().count()
            );
            continue;
        }
        let file = PipelineFile::load(path)?;
        let built = slate_pipeline::build(&file)?;
        println!(
            "{}: ok ({} elements, {} links)",
            path.display(),
            built.pipeline.children().len(),
            file.links.len()
        );
    }
    Ok(())
}

/// Runs with Ctrl-C wired to a clean stop and a progress line on terminals.
fn watch(pipeline: &gst::Pipeline, duration: Option<Duration>) -> Result<(), Failure> {
    let stop = Stop::default();
    on_interrupt(&stop)?;
    let bar = ProgressBar::new_spinner();
    bar.set_style(ProgressStyle::with_template("{spinner} {msg}").expect("a valid template"));
    let mut last = None;
    let mut on_progress = |p: &Progress| {
        bar.set_message(describe(p));
        bar.tick();
        last = Some(p.clone());
    };
    let mut on_message = |m: &gst::Message| {
        announce(&bar, m);
        Heard::Noted
    };
    let outcome = slate_pipeline::run(
        pipeline,
        RunOptions {
            duration,
            stop,
            on_progress: Some(&mut on_progress),
            on_message: Some(&mut on_message),
            ..RunOptions::default()
        },
    );
    bar.finish_and_clear();
    let summary = last.as_ref().map(describe).unwrap_or_default();
    match outcome? {
        Outcome::Finished => eprintln!("finished: {summary}"),
        Outcome::Stopped => eprintln!("stopped on request, outputs finalised: {summary}"),
        Outcome::Aborted => {
            return Err(Failure::Runtime(anyhow!(
                "aborted before the end; outputs may be incomplete"
            )));
        }
    }
    Ok(())
}

fn describe(p: &Progress) -> String {
    let time = |t: Option<gst::ClockTime>| {
        t.map(|t| format!("{:.1}s", t.seconds_f64()))
            .unwrap_or_else(|| "?".into())
    };
    let mut text = time(p.position);
    if p.duration.is_some() {
        text.push_str(&format!(" / {}", time(p.duration)));
    }
    if p.frames > 0 {
        text.push_str(&format!(", {} frames, {:.1} fps", p.frames, p.fps()));
    }
    text
}

/// Shot changes are worth a line of their own.
fn announce(bar: &ProgressBar, message: &gst::Message) {
    let Some(s) = message.structure().filter(|s| s.name() == "slate-shot") else {
        return;
    };
    let field = |name| s.get::<String>(name).ok();
    let at = s
        .get::<u64>("stream-time")
        .map(|ns| format!("{:.3}s", ns as f64 / 1e9))
        .unwrap_or_default();
    let line = format!(
        "shot {} (scene {}) at {at}",
        field("shot").unwrap_or_else(|| "-".into()),
        field("scene").unwrap_or_else(|| "-".into())
    );
    if bar.is_hidden() {
        tracing::info!("{line}");
    } else {
        bar.println(line);
    }
}
