//! `slate`: run, launch, inspect and validate Slate pipelines, and the rest of
//! the platform from the command line (`slate bench` hands over to `slate-bench`).
//!
//! A thin binary: it parses arguments, shows progress and maps outcomes to
//! exit codes (0 done, 1 runtime error, 2 bad input). The work is in the
//! `slate-pipeline` and `gstslate` libraries.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod admin;
mod audio;
mod audio_mix;
mod consent;
mod edit;
mod feed;
mod generate;
mod ingest;
mod inspect;
mod live;
mod provenance;
mod serve;

#[global_allocator]
static ALLOCATOR: slate_provenance::alloc::HugeBlocks = slate_provenance::alloc::HugeBlocks;

/// Slate: a GStreamer media engine with WASM and Lua stages.
#[derive(Parser)]
#[command(name = "slate", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a pipeline file (TOML) until it ends; Ctrl-C stops it cleanly.
    Run {
        file: PathBuf,
        /// Override a property: ELEMENT.PROPERTY=VALUE (repeatable).
        #[arg(long = "set", value_name = "ELEMENT.PROPERTY=VALUE")]
        overrides: Vec<String>,
        /// Stop after this long (e.g. 30s, 1500ms, 00:01:00), overriding the file.
        #[arg(long, value_parser = parse_duration)]
        duration: Option<std::time::Duration>,
        /// Drive the pipeline with a Lua automation script; it sees the
        /// pipeline as `slate.main`.
        #[arg(long, value_name = "FILE.lua")]
        script: Option<PathBuf>,
        /// A setting the script declares: NAME=VALUE (repeatable).
        #[arg(long = "setting", value_name = "NAME=VALUE", requires = "script", value_parser = parse_setting)]
        settings: Vec<(String, String)>,
    },
    /// Run a gst-launch-1.0 style pipeline line.
    Launch {
        description: String,
        /// Stop after this long.
        #[arg(long, value_parser = parse_duration)]
        duration: Option<std::time::Duration>,
    },
    /// Run a Lua automation script (the `slate` Lua API).
    Script {
        file: PathBuf,
        /// Stop after this long even if the script has not quit.
        #[arg(long, value_parser = parse_duration)]
        duration: Option<std::time::Duration>,
        /// A setting the script declares: NAME=VALUE (repeatable).
        #[arg(long = "setting", value_name = "NAME=VALUE", value_parser = parse_setting)]
        settings: Vec<(String, String)>,
        /// Print the settings the script declares (JSON) instead of running it.
        #[arg(long = "settings")]
        list_settings: bool,
    },
    /// Describe an element, or list Slate's elements.
    Inspect {
        element: Option<String>,
        /// List every installed element, not only Slate's.
        #[arg(long)]
        all: bool,
    },
    /// Check pipeline files without running them.
    Validate {
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Sign a file (or fragmented MP4) with a C2PA manifest; prints the
    /// signed file's report (JSON).
    Sign(provenance::SignArgs),
    /// Check the C2PA provenance of a file, an HLS playlist or a folder;
    /// prints the report (JSON) and fails unless every file is intact.
    Verify(provenance::VerifyArgs),
    /// The identity-rights registry: keys, people, grants, revocations,
    /// checks and the audit log.
    Consent(consent::ConsentArgs),
    /// The steerable feed: publish items, rank, take signals, steer, set
    /// the objective and experiments, simulate, evaluate off-policy.
    Feed(feed::FeedArgs),
    /// Serve the HTTP API (accounts, the consent registry, the feed,
    /// uploads): invite-only, with scoped tokens, rate limits and quotas.
    Serve(serve::ServeArgs),
    /// Accounts and invites, on the machine with the database: `init` makes
    /// the first admin.
    Admin(admin::AdminArgs),
    /// Check a token against a server and keep both for `slate me`.
    Login(admin::LoginArgs),
    /// Show the account, scopes, quota usage and limits a server sees.
    Me(admin::LoginArgs),
    /// Take clips from other video models out of a watched folder: check
    /// their continuity across cuts, sign each with the original as its
    /// ingredient, write a report and a contact sheet.
    Ingest(ingest::IngestArgs),
    /// Render a storyboard's shots in seeded variants in parallel into MP4
    /// takes, resumable, with an index of takes and their continuity.
    Generate(generate::GenerateArgs),
    /// The edit step: timelines (OpenTimelineIO JSON) assembled from a
    /// batch or imported from another editor.
    Edit(edit::EditArgs),
    /// Audio tools: loudness measurement and normalisation.
    Audio {
        #[command(subcommand)]
        what: audio::AudioCommand,
    },
    /// Measure performance: runs `slate-bench` (built beside `slate`:
    /// cargo build -p slate-bench), e.g. `slate bench wasm`.
    #[command(disable_help_flag = true)]
    Bench {
        /// What to measure and its options (`slate bench --help` lists them).
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<std::ffi::OsString>,
    },
}

fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    gstslate::model::parse_time(text)
}

fn parse_setting(text: &str) -> Result<(String, String), String> {
    text.split_once('=')
        .map(|(name, value)| (name.trim().to_owned(), value.to_owned()))
        .filter(|(name, _)| !name.is_empty())
        .ok_or_else(|| format!("`{text}` is not NAME=VALUE"))
}

/// Prints a command's result to stdout; a reader that went away (`| head`)
/// is not an error.
pub fn out(text: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stdout().lock(), "{text}");
}

/// Why the command failed, which decides the exit code.
pub enum Failure {
    /// The user's input is wrong (exit 2).
    BadInput(anyhow::Error),
    /// Something failed while running (exit 1).
    Runtime(anyhow::Error),
}

impl From<slate_pipeline::PipelineError> for Failure {
    fn from(e: slate_pipeline::PipelineError) -> Self {
        Failure::BadInput(e.into())
    }
}

impl From<slate_pipeline::RunError> for Failure {
    fn from(e: slate_pipeline::RunError) -> Self {
        Failure::Runtime(e.into())
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Command::Bench { args } = &cli.command {
        return bench(args);
    }
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none())
        .with_target(false)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("SLATE_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn,slate=info,slate_pipeline=info")),
        )
        .init();
    if let Err(e) = init_gstreamer() {
        eprintln!("error: {e:#}");
        return ExitCode::from(1);
    }
    let result = match cli.command {
        Command::Run {
            file,
            overrides,
            duration,
            script: None,
            ..
        } => live::run_file(&file, &overrides, duration),
        Command::Run {
            file,
            overrides,
            duration,
            script: Some(script),
            settings,
        } => live::run_file_with_script(&file, &overrides, duration, &script, settings),
        Command::Launch { description, duration } => live::run_launch(&description, duration),
        Command::Script {
            file,
            duration,
            settings,
            list_settings,
        } => live::run_script(&file, duration, settings, list_settings),
        Command::Inspect { element, all } => inspect::inspect(element.as_deref(), all),
        Command::Validate { files } => live::validate(&files),
        Command::Sign(args) => provenance::sign(args),
        Command::Verify(args) => provenance::verify(args),
        Command::Consent(args) => consent::consent(args),
        Command::Feed(args) => feed::feed(args),
        Command::Serve(args) => serve::serve(args),
        Command::Admin(args) => admin::admin(args),
        Command::Login(args) => admin::login(args),
        Command::Me(args) => admin::me(args),
        Command::Ingest(args) => ingest::ingest(args),
        Command::Generate(args) => generate::generate(args),
        Command::Edit(args) => edit::edit(args),
        Command::Audio { what } => audio::audio(what),
        Command::Bench { .. } => unreachable!("run before GStreamer starts"),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Runtime(e)) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
        Err(Failure::BadInput(e)) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// Hands `slate bench ARGS` to `slate-bench ARGS`: the one beside this
/// binary, else the one on PATH.
fn bench(args: &[std::ffi::OsString]) -> ExitCode {
    use std::os::unix::process::CommandExt;
    let beside = std::env::current_exe()
        .ok()
        .and_then(|exe| Some(exe.parent()?.join("slate-bench")))
        .filter(|path| path.is_file());
    let program = beside.unwrap_or_else(|| PathBuf::from("slate-bench"));
    let error = std::process::Command::new(&program).args(args).exec();
    eprintln!(
        "error: slate bench runs {}, which could not start ({error}); build it with `cargo build -p slate-bench`",
        program.display()
    );
    ExitCode::from(1)
}

/// Starts GStreamer with Slate's elements and the gst-plugins-rs elements
/// Slate ships statically.
fn init_gstreamer() -> anyhow::Result<()> {
    gst::init()?;
    gstslate::plugin_register_static()?;
    gsthlssink3::plugin_register_static()?;
    gstfmp4::plugin_register_static()?;
    Ok(())
}
