//! `slate serve`: the local HTTP API (see the slate-server crate).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

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
    /// The file with the API token (default: api-token in the Slate data
    /// directory, made on first run, readable by its owner only).
    #[arg(long)]
    token_file: Option<PathBuf>,
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
}

pub fn serve(args: ServeArgs) -> Result<(), Failure> {
    if !args.listen.ip().is_loopback() && !args.public {
        return Err(Failure::BadInput(anyhow!(
            "--listen {}: not a loopback address; add --public to serve other machines",
            args.listen
        )));
    }
    let token_file = args
        .token_file
        .unwrap_or_else(|| slate_store::data_dir().join("api-token"));
    let token = token(&token_file).map_err(Failure::BadInput)?;
    let (registry, mut feed) = crate::feed::open_feed(args.db)?;
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
            slate_server::serve(listener, slate_server::router(registry, token, inbox, Some(feed)), stop).await?;
            anyhow::Ok(())
        })
        .map_err(Failure::Runtime)
}

/// The token in `path`, made there first if there is none.
fn token(path: &Path) -> anyhow::Result<slate_server::Token> {
    if !path.exists() {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).with_context(|| parent.display().to_string())?;
        }
        slate_server::Token::write_new(path)
            .with_context(|| format!("{}: cannot make an API token", path.display()))?;
        tracing::info!("made an API token in {}", path.display());
    }
    let secret = std::fs::read_to_string(path).with_context(|| format!("--token-file {}", path.display()))?;
    anyhow::ensure!(
        secret.trim().len() >= 16,
        "--token-file {}: a token needs at least 16 characters",
        path.display()
    );
    Ok(slate_server::Token::new(&secret))
}
