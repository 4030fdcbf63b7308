//! `slate admin`: accounts and invites, run on the machine that holds the
//! database (whoever can read it is its admin). `slate login` and `slate me`
//! talk to a server over HTTP instead.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, anyhow};
use slate_access::{Access, AccessError, Role};

use crate::Failure;

#[derive(clap::Args)]
pub struct AdminArgs {
    /// Slate's database (default: the one in its data directory).
    #[arg(long, global = true)]
    db: Option<PathBuf>,
    #[command(subcommand)]
    what: AdminCommand,
}

#[derive(clap::Subcommand)]
enum AdminCommand {
    /// Make the first admin and its token on a fresh install; the token is
    /// printed this once.
    Init {
        #[arg(long, default_value = "admin")]
        name: String,
    },
    /// Make an invite: its code is printed this once.
    Invite {
        /// How many accounts it admits.
        #[arg(long, default_value_t = 1)]
        uses: i64,
        /// How long it stays valid (e.g. 7d, 12h, 30m); forever if absent.
        #[arg(long, value_parser = parse_days)]
        expires: Option<i64>,
        #[arg(long, default_value = "member", value_parser = ["member", "operator", "admin"])]
        role: String,
    },
    /// List the accounts, each with who invited it.
    Accounts,
    /// Disable an account: its tokens stop at once.
    Disable {
        account: String,
        #[arg(long)]
        reason: String,
    },
    /// Enable a disabled account again.
    Enable { account: String },
    /// The access log: accounts, invites, tokens and limits as they changed.
    Audit {
        #[arg(long, default_value_t = 100)]
        last: i64,
    },
    /// Back up the database (a consistent snapshot, safe while `slate
    /// serve` writes) and every other file of the data folder — the signing
    /// CA and key, token files — with its mode, into a new folder.
    Backup { out: PathBuf },
    /// Restore a backup into the data folder, after checking every file
    /// against its manifest and the database's integrity.
    Restore {
        backup: PathBuf,
        /// Restore over a data folder that has a database (kept beside it
        /// as `DATA.before-restore`).
        #[arg(long)]
        replace: bool,
    },
    /// Check the database: SQLite's integrity and foreign keys, and the
    /// signature of every grant and revocation; exit 1 on any problem.
    Check,
}

/// `7d`, `12h`, `30m` or `45s` as seconds.
fn parse_days(text: &str) -> Result<i64, String> {
    let (number, unit) = text.split_at(text.len().saturating_sub(1));
    let scale = match unit {
        "d" => 86_400,
        "h" => 3_600,
        "m" => 60,
        "s" => 1,
        _ => return Err(format!("`{text}` is not a span like 7d, 12h, 30m or 45s")),
    };
    number
        .parse::<i64>()
        .ok()
        .filter(|n| *n > 0)
        .map(|n| n * scale)
        .ok_or_else(|| format!("`{text}` is not a span like 7d, 12h, 30m or 45s"))
}

fn failure(e: AccessError) -> Failure {
    match e {
        AccessError::Database(_) | AccessError::Store(_) => Failure::Runtime(e.into()),
        e => Failure::BadInput(e.into()),
    }
}

pub fn admin(args: AdminArgs) -> Result<(), Failure> {
    if let AdminCommand::Restore { backup, replace } = &args.what {
        // Nothing is opened (or made) in the data folder before the restore.
        let data = slate_store::data_dir();
        let manifest =
            slate_store::backup::restore(backup, &data, *replace).map_err(|e| Failure::BadInput(e.into()))?;
        eprintln!("restored {} files into {}", manifest.files.len(), data.display());
        crate::out(&serde_json::to_string_pretty(&manifest).expect("JSON"));
        return Ok(());
    }
    let registry = crate::consent::open_registry(args.db)?;
    let access = Access::with(registry.database().clone());
    let print = |value: serde_json::Value| {
        crate::out(&serde_json::to_string_pretty(&value).expect("JSON"));
        Ok(())
    };
    match args.what {
        AdminCommand::Init { name } => {
            let (account, token) = access.init_admin(&name).map_err(|e| match e {
                AccessError::Conflict { what: "admin", id } => Failure::BadInput(anyhow!(
                    "this install has an admin already (`{id}`); sign in with its token, or make invites with `slate admin invite`"
                )),
                e => failure(e),
            })?;
            eprintln!(
                "The token is shown this once: keep it (e.g. `slate login --token {}`).",
                token.secret
            );
            print(serde_json::json!({ "account": account, "token": token }))
        }
        AdminCommand::Invite { uses, expires, role } => {
            let admin = access.local_admin().map_err(failure)?;
            let role = Role::parse(&role, "--role").map_err(failure)?;
            let expires_at = expires.map(|span| slate_access::now() + span);
            let invite = access.invite(&admin, uses, expires_at, role).map_err(failure)?;
            eprintln!("The code is shown this once: send it to the people you invite.");
            print(serde_json::json!(invite))
        }
        AdminCommand::Accounts => print(serde_json::json!(access.accounts().map_err(failure)?)),
        AdminCommand::Disable { account, reason } => {
            let admin = access.local_admin().map_err(failure)?;
            print(serde_json::json!(
                access.set_disabled(&admin, &account, Some(&reason)).map_err(failure)?
            ))
        }
        AdminCommand::Enable { account } => {
            let admin = access.local_admin().map_err(failure)?;
            print(serde_json::json!(
                access.set_disabled(&admin, &account, None).map_err(failure)?
            ))
        }
        AdminCommand::Audit { last } => print(serde_json::json!(access.audit(last).map_err(failure)?)),
        AdminCommand::Backup { out } => {
            let manifest = slate_store::backup::write(&slate_store::data_dir(), registry.database(), &out)
                .map_err(|e| Failure::Runtime(e.into()))?;
            eprintln!("backed up {} files into {}", manifest.files.len(), out.display());
            print(serde_json::json!(manifest))
        }
        AdminCommand::Check => {
            let problems = registry.database().problems().map_err(|e| Failure::Runtime(e.into()))?;
            let signatures = registry.verify_signatures();
            let report = serde_json::json!({
                "database": registry.database().path(),
                "integrity": if problems.is_empty() { serde_json::json!("ok") } else { serde_json::json!(problems) },
                "signatures": match &signatures {
                    Ok(checked) => serde_json::json!({ "checked": checked, "ok": true }),
                    Err(e) => serde_json::json!({ "ok": false, "error": e.to_string() }),
                },
            });
            print(report)?;
            if !problems.is_empty() || signatures.is_err() {
                return Err(Failure::Runtime(anyhow!("the database has problems (above)")));
            }
            Ok(())
        }
        AdminCommand::Restore { .. } => unreachable!("restored above"),
    }
}

/// Writes a new secret to `path`, readable by its owner only; never
/// overwrites.
pub fn write_secret(path: &Path, secret: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    writeln!(file, "{secret}")
}

/// Where `slate login` keeps the server and token.
fn credentials_path() -> PathBuf {
    slate_store::data_dir().join("credentials.json")
}

#[derive(clap::Args)]
pub struct LoginArgs {
    /// The server (default: the one saved by the last login, else
    /// http://127.0.0.1:7878).
    #[arg(long)]
    server: Option<String>,
    /// The API token (`slt_…`); default: SLATE_TOKEN, else the saved one.
    #[arg(long)]
    token: Option<String>,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Credentials {
    server: String,
    token: String,
}

impl LoginArgs {
    /// The server and token to use: given, else from the environment,
    /// else saved.
    fn resolve(self) -> Result<Credentials, Failure> {
        let saved: Option<Credentials> = std::fs::read_to_string(credentials_path())
            .ok()
            .and_then(|text| serde_json::from_str(&text).ok());
        let server = self
            .server
            .or_else(|| saved.as_ref().map(|c| c.server.clone()))
            .unwrap_or_else(|| "http://127.0.0.1:7878".into());
        let token = self
            .token
            .or_else(|| std::env::var("SLATE_TOKEN").ok())
            .or_else(|| saved.map(|c| c.token))
            .ok_or_else(|| {
                Failure::BadInput(anyhow!(
                    "no token: give --token slt_… (or set SLATE_TOKEN), or `slate login` first"
                ))
            })?;
        Ok(Credentials {
            server: server.trim_end_matches('/').to_owned(),
            token: token.trim().to_owned(),
        })
    }
}

/// `GET /v1/me` with `credentials`.
fn me_of(credentials: &Credentials) -> Result<serde_json::Value, Failure> {
    if !credentials.server.starts_with("http://") {
        return Err(Failure::BadInput(anyhow!(
            "--server {}: slate speaks plain http:// to a server (reach a remote one through an SSH tunnel or a TLS proxy on this machine)",
            credentials.server
        )));
    }
    let url = format!("{}/v1/me", credentials.server);
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(std::time::Duration::from_secs(30)))
        .build()
        .into();
    let mut response = agent
        .get(&url)
        .header("authorization", format!("Bearer {}", credentials.token))
        .call()
        .with_context(|| format!("--server {}: cannot reach it", credentials.server))
        .map_err(Failure::Runtime)?;
    let status = response.status();
    let body: serde_json::Value = response
        .body_mut()
        .read_json()
        .with_context(|| format!("{url}: the answer is not JSON"))
        .map_err(Failure::Runtime)?;
    if !status.is_success() {
        let why = body["error"].as_str().unwrap_or("no reason given");
        return Err(Failure::BadInput(anyhow!("{url}: {status}: {why}")));
    }
    Ok(body)
}

/// `slate login`: checks the token against the server and saves both.
pub fn login(args: LoginArgs) -> Result<(), Failure> {
    let credentials = args.resolve()?;
    let me = me_of(&credentials)?;
    let path = credentials_path();
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| parent.display().to_string())
            .map_err(Failure::Runtime)?;
    }
    let _ = std::fs::remove_file(&path);
    write_secret(&path, &serde_json::to_string(&credentials).expect("JSON"))
        .with_context(|| path.display().to_string())
        .map_err(Failure::Runtime)?;
    eprintln!(
        "signed in to {} as {}; saved in {}",
        credentials.server,
        me["account"]["id"],
        path.display()
    );
    crate::out(&serde_json::to_string_pretty(&me).expect("JSON"));
    Ok(())
}

/// `slate me`: the account, token, usage and limits the server sees.
pub fn me(args: LoginArgs) -> Result<(), Failure> {
    let me = me_of(&args.resolve()?)?;
    crate::out(&serde_json::to_string_pretty(&me).expect("JSON"));
    Ok(())
}
