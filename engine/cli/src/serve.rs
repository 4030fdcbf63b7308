//! `slate serve`: the local HTTP API (see the slate-server crate).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context as _, anyhow};

use crate::Failure;

#[derive(clap::Args)]
pub struct ServeArgs {
    /// Where to listen (port 0: any free port; the address is printed).
    #[arg(long, default_value = "127.0.0.1:7878")]
    listen: SocketAddr,
    /// Listen on an address other machines can reach.
    #[arg(long)]
    public: bool,
    /// The consent registry file (default: Slate's database in its data directory).
    #[arg(long)]
    db: Option<PathBuf>,
    /// An admin token kept in a file (default: api-token in the Slate data
    /// directory). On an install with no admin yet it is made on first run
    /// (readable by its owner only) and its admin with it; a file from
    /// before accounts keeps working as the first admin's token.
    #[arg(long)]
    token_file: Option<PathBuf>,
    /// A rate limit per token: CLASS=PER_MINUTE[:BURST] with CLASS one of
    /// read, write, signal, upload, generate, sign_up (per address);
    /// repeatable. An account's tokens together get twice a token's.
    #[arg(long = "rate-limit", value_name = "CLASS=PER_MINUTE[:BURST]")]
    rate_limits: Vec<String>,
    /// Take clip uploads (PUT /v1/ingest/clips/NAME) into this folder:
    /// the one `slate ingest` watches.
    #[arg(long, value_name = "FOLDER")]
    ingest_dir: Option<PathBuf>,
    /// The largest clip an upload may be, MiB.
    #[arg(long, default_value_t = 1024)]
    max_clip_mib: u64,
    /// A ranker plugin for the feed: a .wasm component of the `ranker`
    /// world or a .lua script with `rescore(request)`; repeatable, run in
    /// order, each fail-open within 50 ms.
    #[arg(long, value_name = "FILE")]
    ranker: Vec<PathBuf>,
    /// The config string WASM rankers get (JSON).
    #[arg(long, default_value = "")]
    ranker_config: String,
    /// The shipped pipelines `POST /v1/pipelines` takes by name: the
    /// `*.toml` files in this folder (default: `pipelines` here, if there
    /// is one). Paths in them are relative to where the server runs.
    #[arg(long, value_name = "FOLDER")]
    pipelines: Option<PathBuf>,
    /// The shipped automation scripts `POST /v1/pipelines/{id}/scripts`
    /// takes by name: the `*.lua` files in this folder (default: `scripts`
    /// here, if there is one).
    #[arg(long, value_name = "FOLDER")]
    scripts: Option<PathBuf>,
}

pub fn serve(args: ServeArgs) -> Result<(), Failure> {
    if !args.listen.ip().is_loopback() && !args.public {
        return Err(Failure::BadInput(anyhow!(
            "--listen {}: not a loopback address; add --public to serve other machines",
            args.listen
        )));
    }
    let mut limits = slate_server::RateLimits::default();
    for text in &args.rate_limits {
        limits
            .set(text)
            .map_err(|e| Failure::BadInput(anyhow!("--rate-limit {e}")))?;
    }
    let token_file = args
        .token_file
        .unwrap_or_else(|| slate_store::data_dir().join("api-token"));
    let (registry, mut feed) = crate::feed::open_feed(args.db)?;
    let access = Arc::new(slate_access::Access::with(registry.database().clone()));
    let token_file = admin_token(&access, &token_file).map_err(Failure::BadInput)?;
    for path in &args.ranker {
        feed.add_rescorer(crate::feed::rescorer(path, &args.ranker_config)?);
    }
    let inbox = match args.ingest_dir {
        Some(folder) => {
            std::fs::create_dir_all(&folder)
                .with_context(|| format!("--ingest-dir {}", folder.display()))
                .map_err(Failure::BadInput)?;
            Some(slate_server::Inbox {
                folder,
                max_bytes: args.max_clip_mib.saturating_mul(1 << 20),
            })
        }
        None => None,
    };
    let library = folder_option("--pipelines", args.pipelines, "pipelines")?;
    let mut control = slate_control::Control::new(library);
    if let Some(scripts) = folder_option("--scripts", args.scripts, "scripts")? {
        control = control.with_scripts(scripts);
    }
    let control = Arc::new(control);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::Runtime(e.into()))?;
    runtime
        .block_on(async {
            let listener = tokio::net::TcpListener::bind(args.listen)
                .await
                .with_context(|| format!("--listen {}", args.listen))?;
            let address = listener.local_addr()?;
            crate::out(&serde_json::json!({ "listening": address, "token_file": token_file }).to_string());
            tracing::info!("serving http://{address}/v1/ (Ctrl-C stops)");
            let stop = async {
                let _ = tokio::signal::ctrl_c().await;
            };
            let server = slate_server::Server {
                registry,
                access,
                inbox,
                feed: Some(feed),
                limits,
                control: control.clone(),
            };
            slate_server::serve(listener, slate_server::router(server), stop).await?;
            // Running pipelines drain: their files are finalised and signed.
            tokio::task::spawn_blocking(move || control.stop_all()).await?;
            anyhow::Ok(())
        })
        .map_err(Failure::Runtime)
}

/// Keeps the admin token file working: adopts the token in `path` as the
/// first admin's, making the file (and the admin) first on an install that
/// has no admin yet. The file, if there is one.
fn admin_token(access: &slate_access::Access, path: &Path) -> anyhow::Result<Option<PathBuf>> {
    if !path.exists() {
        let admins = access.accounts()?.iter().any(|a| a.role == slate_access::Role::Admin);
        if admins {
            // `slate admin init` made the admin: its token was shown then.
            return Ok(None);
        }
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).with_context(|| parent.display().to_string())?;
        }
        crate::admin::write_secret(path, &slate_access::secret::new(slate_access::secret::TOKEN_PREFIX))
            .with_context(|| format!("{}: cannot make an API token", path.display()))?;
        tracing::info!("made an admin token in {}", path.display());
    }
    let secret = std::fs::read_to_string(path).with_context(|| format!("--token-file {}", path.display()))?;
    access
        .adopt_admin_token(&secret)
        .with_context(|| format!("--token-file {}", path.display()))?;
    Ok(Some(path.to_owned()))
}

/// A folder option: the folder given (which must be one), else `default`
/// here if there is one.
fn folder_option(option: &str, given: Option<PathBuf>, default: &str) -> Result<Option<PathBuf>, Failure> {
    match given {
        Some(folder) if !folder.is_dir() => Err(Failure::BadInput(anyhow!(
            "{option} {}: not a folder",
            folder.display()
        ))),
        Some(folder) => Ok(Some(folder)),
        None => Ok(Some(PathBuf::from(default)).filter(|p| p.is_dir())),
    }
}
