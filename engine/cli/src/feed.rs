//! `slate feed`: the steerable feed from the command line, on the same
//! store `slate serve` serves (the consent registry's file).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context as _, anyhow};
use slate_feed::embed::ItemEmbedder;
use slate_feed::ope::{Report, Target, evaluate, sim_rounds};
use slate_feed::policy::{Kind, Params};
use slate_feed::sim::{Config, compare, ope_logs, steering, table};
use slate_feed::{Experiment, Feed, FeedError, NewItem, Objective, Signal, Steering};

use crate::Failure;

#[derive(clap::Args)]
pub struct FeedArgs {
    /// The store (default: Slate's database in its data directory, the
    /// file the consent registry and `slate serve` use).
    #[arg(long, global = true)]
    db: Option<PathBuf>,
    #[command(subcommand)]
    command: FeedCommand,
}

#[derive(clap::Subcommand)]
enum FeedCommand {
    /// Put published items into the feed: a JSON file with one item or a
    /// list (id, creator, title, tags, duration_s, provenance, consent,
    /// grants, embedding, media). An item without `embedding` gets MiniLM's
    /// of its title and tags joined to the mean `colour-layout` signature
    /// of its `media` clip's frames (a path beside the file), both through
    /// ONNX Runtime.
    Publish { file: PathBuf },
    /// A ranked slate for a user, with propensities and explanations.
    Rank {
        #[arg(long)]
        user: String,
        #[arg(short, default_value_t = 10)]
        n: usize,
    },
    /// Take in signals: a JSON file `{"signals": [...]}` (as POST /v1/feed/signals).
    Signals { file: PathBuf },
    /// Show or set a user's dials.
    Steer {
        #[arg(long)]
        user: String,
        #[arg(long = "more-like", value_name = "ITEM")]
        more_like: Vec<String>,
        #[arg(long = "less-tag", value_name = "TAG")]
        less_tags: Vec<String>,
        #[arg(long = "more-tag", value_name = "TAG")]
        more_tags: Vec<String>,
        #[arg(long, value_name = "CREATOR")]
        follow: Vec<String>,
        /// -1 (familiar) .. 1 (new).
        #[arg(long, allow_hyphen_values = true)]
        novelty: Option<f64>,
        /// Only show the dials.
        #[arg(long)]
        show: bool,
    },
    /// Show the operator's objective, or set it from a JSON file.
    Objective {
        #[arg(long, value_name = "FILE")]
        set: Option<PathBuf>,
    },
    /// Show the experiment, start one from a JSON file, or end it.
    Experiment {
        #[arg(long, value_name = "FILE", conflicts_with = "end")]
        set: Option<PathBuf>,
        #[arg(long)]
        end: bool,
    },
    /// Per arm: CTR, watch time, completion, skip rate with 95% intervals.
    Report {
        /// Also draw them as a PNG.
        #[arg(long)]
        plot: Option<PathBuf>,
    },
    /// Items, users, slates and plugin counters.
    Stats,
    /// Every impression with its policy, propensity and reward (JSON lines).
    Export {
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Run the synthetic population: cumulative regret and engagement of
    /// every policy over seeds, steering, and off-policy evaluation.
    Simulate {
        #[arg(long, default_value_t = 100_000)]
        rounds: usize,
        #[arg(long, default_value_t = 5)]
        seeds: u64,
        /// Also measure steering (users asking for less of a tag).
        #[arg(long)]
        steering: bool,
        /// Also evaluate uniform, greedy and softmax targets on logs of a
        /// softmax policy, against their true values.
        #[arg(long)]
        ope: bool,
        /// Write everything as JSON here.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Off-policy evaluation of a target policy from logged impressions:
    /// the Open Bandit Dataset CSV layout (item_id, position, click,
    /// propensity_score, ...) or `slate feed export` lines.
    Ope {
        #[arg(long)]
        logged: PathBuf,
        /// uniform, greedy or softmax:TEMPERATURE (greedy and softmax over
        /// the logs' own reward model: click rate per item and position).
        #[arg(long, default_value = "uniform")]
        target: String,
        /// The report as JSON (also printed).
        #[arg(long)]
        out: Option<PathBuf>,
        /// The report as a PNG plot.
        #[arg(long)]
        plot: Option<PathBuf>,
    },
}

fn db_path(db: Option<PathBuf>) -> PathBuf {
    db.unwrap_or_else(|| slate_store::database_path(&slate_store::data_dir()))
}

/// The feed in `db` (made if need be), with its registry.
pub fn open_feed(db: Option<PathBuf>) -> Result<(Arc<slate_consent::Registry>, Feed), Failure> {
    let path = db_path(db);
    let registry = Arc::new(crate::consent::open_registry(Some(path.clone()))?);
    let feed = Feed::open(&path, registry.clone()).map_err(|e| Failure::Runtime(e.into()))?;
    Ok((registry, feed))
}

fn bad(e: FeedError) -> Failure {
    match e {
        FeedError::Store(_) | FeedError::Consent(_) | FeedError::Database(_) | FeedError::Model(_) => {
            Failure::Runtime(e.into())
        }
        e => Failure::BadInput(e.into()),
    }
}

fn print(value: &impl serde::Serialize) -> Result<(), Failure> {
    crate::out(&serde_json::to_string_pretty(value).map_err(|e| Failure::Runtime(e.into()))?);
    Ok(())
}

fn read_json<T: serde::de::DeserializeOwned>(file: &Path) -> Result<T, Failure> {
    let text = std::fs::read_to_string(file)
        .with_context(|| file.display().to_string())
        .map_err(Failure::BadInput)?;
    let mut json = serde_json::Deserializer::from_str(&text);
    serde_path_to_error::deserialize(&mut json)
        .map_err(|e| Failure::BadInput(anyhow!("{}: `{}`: {}", file.display(), e.path(), e.inner())))
}

pub fn feed(args: FeedArgs) -> Result<(), Failure> {
    match args.command {
        FeedCommand::Simulate {
            rounds,
            seeds,
            steering,
            ope,
            out,
        } => simulate(rounds, seeds, steering, ope, out.as_deref()),
        FeedCommand::Ope {
            logged,
            target,
            out,
            plot,
        } => {
            let target = Target::parse(&target).map_err(|e| Failure::BadInput(anyhow!("--target {e}")))?;
            let report = slate_feed::ope::evaluate_logged(&logged, target).map_err(bad)?;
            if let Some(plot) = plot {
                slate_feed::ope::plot(&plot, std::slice::from_ref(&report)).map_err(bad)?;
            }
            if let Some(out) = out {
                std::fs::write(&out, serde_json::to_string_pretty(&report).unwrap_or_default())
                    .with_context(|| out.display().to_string())
                    .map_err(Failure::Runtime)?;
            }
            print(&report)
        }
        command => {
            let (_registry, mut feed) = open_feed(args.db)?;
            store_command(&mut feed, command)
        }
    }
}

fn store_command(feed: &mut Feed, command: FeedCommand) -> Result<(), Failure> {
    match command {
        FeedCommand::Publish { file } => {
            let value: serde_json::Value = read_json(&file)?;
            let list = match value {
                serde_json::Value::Array(list) => list,
                one => vec![one],
            };
            let here = file.parent().unwrap_or(Path::new("."));
            let mut embedder = ItemEmbedder::default();
            let mut published = Vec::new();
            for (i, mut entry) in list.into_iter().enumerate() {
                let at = |e: anyhow::Error| anyhow!("{}: item {i}: {e:#}", file.display());
                let media = entry.as_object_mut().and_then(|o| o.remove("media"));
                if entry.get("embedding").is_none() && entry.is_object() {
                    let media = match &media {
                        Some(serde_json::Value::String(media)) => Some(here.join(media)),
                        Some(_) => return Err(Failure::BadInput(at(anyhow!("`media` is a path to the clip")))),
                        None => None,
                    };
                    let tags: Vec<&str> = (entry["tags"].as_array().into_iter().flatten())
                        .filter_map(|t| t.as_str())
                        .collect();
                    let title = entry["title"].as_str().unwrap_or_default();
                    let embedding = embedder
                        .embed(title, &tags, media.as_deref())
                        .map_err(|e| match bad(e) {
                            Failure::BadInput(e) => Failure::BadInput(at(e)),
                            runtime => runtime,
                        })?;
                    entry["embedding"] = serde_json::json!(embedding);
                }
                let item: NewItem = serde_path_to_error::deserialize(entry)
                    .map_err(|e| Failure::BadInput(at(anyhow!("`{}`: {}", e.path(), e.inner()))))?;
                let id = item.id.clone();
                feed.publish(item).map_err(|e| Failure::BadInput(at(e.into())))?;
                published.push(id);
            }
            print(&serde_json::json!({ "published": published }))
        }
        FeedCommand::Rank { user, n } => print(&feed.rank(&user, n).map_err(bad)?),
        FeedCommand::Signals { file } => {
            #[derive(serde::Deserialize)]
            #[serde(deny_unknown_fields)]
            struct Batch {
                signals: Vec<Signal>,
            }
            let batch: Batch = read_json(&file)?;
            print(&feed.record(&batch.signals).map_err(bad)?)
        }
        FeedCommand::Steer {
            user,
            more_like,
            less_tags,
            more_tags,
            follow,
            novelty,
            show,
        } => {
            if !show {
                let current = feed.steering(&user);
                let dials = Steering {
                    more_like,
                    less_tags,
                    more_tags,
                    follow,
                    novelty: novelty.unwrap_or(current.novelty),
                };
                feed.set_steering(&user, dials).map_err(bad)?;
            }
            print(&feed.steering(&user))
        }
        FeedCommand::Objective { set } => {
            if let Some(file) = set {
                let objective: Objective = read_json(&file)?;
                feed.set_objective(objective).map_err(bad)?;
            }
            print(feed.objective())
        }
        FeedCommand::Experiment { set, end } => {
            if let Some(file) = set {
                let experiment: Experiment = read_json(&file)?;
                feed.set_experiment(Some(experiment)).map_err(bad)?;
            } else if end {
                feed.set_experiment(None).map_err(bad)?;
            }
            print(&feed.experiment())
        }
        FeedCommand::Report { plot } => {
            let reports = feed.report().map_err(bad)?;
            if let Some(plot) = plot {
                slate_feed::experiment::plot(&plot, &reports).map_err(bad)?;
            }
            print(&reports)
        }
        FeedCommand::Stats => print(&feed.stats().map_err(bad)?),
        FeedCommand::Export { out } => {
            let lines: Vec<String> = feed.export().map_err(bad)?.iter().map(|v| v.to_string()).collect();
            match out {
                Some(path) => std::fs::write(&path, lines.join("\n") + "\n")
                    .with_context(|| path.display().to_string())
                    .map_err(Failure::Runtime),
                None => {
                    lines.iter().for_each(|l| crate::out(l));
                    Ok(())
                }
            }
        }
        FeedCommand::Simulate { .. } | FeedCommand::Ope { .. } => unreachable!("handled without a store"),
    }
}

fn simulate(rounds: usize, seeds: u64, with_steering: bool, with_ope: bool, out: Option<&Path>) -> Result<(), Failure> {
    if rounds == 0 || seeds == 0 {
        return Err(Failure::BadInput(anyhow!("--rounds and --seeds must be at least 1")));
    }
    let config = Config {
        rounds,
        ..Config::default()
    };
    let seeds: Vec<u64> = (1..=seeds).collect();
    eprintln!(
        "simulating {} policies x {} seeds x {rounds} rounds ...",
        Kind::ALL.len(),
        seeds.len()
    );
    let lines = compare(&config, &Params::default(), &seeds, &Kind::ALL);
    crate::out(&table(&lines, &config, seeds.len()));
    let mut report = serde_json::json!({ "config": config, "policies": lines });
    if with_steering {
        let steered = steering(
            &config,
            Kind::Linucb,
            &Params::default(),
            seeds[0],
            rounds.min(20_000),
            20,
            20,
        );
        let met = steered.iter().filter(|s| s.share_after <= s.share_before / 2.0).count();
        let mean = |f: fn(&slate_feed::sim::Steered) -> f64| steered.iter().map(f).sum::<f64>() / steered.len() as f64;
        crate::out(&format!(
            "steering: {met}/{} users who asked for less of a tag got at most half of it over their next 20 slates (share {:.3} -> {:.3})",
            steered.len(),
            mean(|s| s.share_before),
            mean(|s| s.share_after)
        ));
        report["steering"] = serde_json::json!(steered);
    }
    if with_ope {
        let (logged, _) = ope_logs(&config, seeds[0], rounds.min(20_000), rounds, 0.05);
        let logged = sim_rounds(&logged);
        let reports: Vec<Report> = [Target::Uniform, Target::Greedy, Target::Softmax(0.02)]
            .into_iter()
            .map(|t| evaluate(&logged, t))
            .collect();
        for r in &reports {
            crate::out(&format!(
                "ope {:<13} true {:.4}  IPS {:.4}  SNIPS {:.4}  DR {:.4}",
                r.target,
                r.truth.unwrap_or(f64::NAN),
                r.ips.value,
                r.snips.value,
                r.dr.value
            ));
        }
        report["ope"] = serde_json::json!(reports);
    }
    if let Some(out) = out {
        std::fs::write(out, serde_json::to_string_pretty(&report).unwrap_or_default())
            .with_context(|| out.display().to_string())
            .map_err(Failure::Runtime)?;
    }
    Ok(())
}

/// `--ranker FILE` of `slate serve`: a .wasm ranker plugin or a .lua hook.
pub fn rescorer(path: &Path, config: &str) -> Result<Box<dyn slate_feed::rescore::Rescorer>, Failure> {
    let deadline = std::time::Duration::from_millis(50);
    let loaded: Result<Box<dyn slate_feed::rescore::Rescorer>, String> = match path.extension().and_then(|e| e.to_str())
    {
        Some("wasm") => slate_feed::rescore::WasmRanker::load(path, config, deadline).map(|r| Box::new(r) as _),
        Some("lua") => slate_feed::rescore::LuaRanker::load(path, deadline).map(|r| Box::new(r) as _),
        _ => Err(format!(
            "{}: a ranker is a .wasm plugin of the ranker world or a .lua script",
            path.display()
        )),
    };
    loaded.map_err(|e| Failure::BadInput(anyhow!("--ranker {e}")))
}
