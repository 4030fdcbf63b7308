//! `slate consent`: the identity-rights registry from the command line.
//! Keys stay with their people: commands that sign read a key file;
//! the registry only ever holds public keys.

use std::path::PathBuf;

use anyhow::{Context as _, anyhow};
use slate_consent::{IdentityKey, Registry, Request, Terms};
use slate_onnx::faces::{FaceFinder, Photo};

use crate::Failure;

#[derive(clap::Args)]
pub struct ConsentArgs {
    /// The registry file (default: Slate's database in its data directory).
    #[arg(long, global = true)]
    db: Option<PathBuf>,
    #[command(subcommand)]
    command: ConsentCommand,
}

#[derive(clap::Subcommand)]
enum ConsentCommand {
    /// Make a person's signing key (kept by them, 0600); prints its public key.
    Key { file: PathBuf },
    /// Register a person: their name, key, and photos (one face each).
    Register {
        #[arg(long)]
        name: String,
        #[arg(long)]
        key: PathBuf,
        #[arg(long = "photo", value_name = "IMAGE")]
        photos: Vec<PathBuf>,
    },
    /// Grant rights to one's likeness, signed with one's key.
    Grant {
        #[arg(long)]
        key: PathBuf,
        #[arg(long)]
        identity: String,
        /// The grant's id.
        #[arg(long)]
        id: String,
        #[arg(long)]
        grantee: String,
        #[arg(long = "channel", required = true)]
        channels: Vec<String>,
        #[arg(long = "use", required = true)]
        uses: Vec<String>,
        #[arg(long = "forbid")]
        forbidden: Vec<String>,
        /// Seconds since the epoch, or `now`.
        #[arg(long, value_parser = parse_time, default_value = "now")]
        from: i64,
        #[arg(long, value_parser = parse_time)]
        until: i64,
    },
    /// Revoke a grant from a moment on (default now), signed with one's key.
    Revoke {
        #[arg(long)]
        key: PathBuf,
        #[arg(long)]
        identity: String,
        #[arg(long)]
        grant: String,
        #[arg(long, value_parser = parse_time, default_value = "now")]
        at: i64,
    },
    /// List identities, or one identity's grants (JSON).
    List { identity: Option<String> },
    /// May IDENTITY be shown? Prints the verdict (JSON); exit 1 if not.
    Check {
        #[arg(long)]
        identity: String,
        #[arg(long)]
        grantee: String,
        #[arg(long)]
        channel: String,
        #[arg(long = "use")]
        use_: String,
        #[arg(long = "context")]
        context: Vec<String>,
        #[arg(long, value_parser = parse_time, default_value = "now")]
        at: i64,
    },
    /// The last entries of the audit log (JSON).
    Audit {
        #[arg(long, default_value_t = 50)]
        last: i64,
    },
}

fn parse_time(text: &str) -> Result<i64, String> {
    if text == "now" {
        return Ok(slate_consent::now());
    }
    text.parse()
        .map_err(|_| format!("`{text}` is not a time: give seconds since the epoch or `now`"))
}

/// The registry at `db`, or Slate's database in its data directory.
pub fn open_registry(db: Option<PathBuf>) -> Result<Registry, Failure> {
    let db = db.unwrap_or_else(|| slate_store::database_path(&slate_store::data_dir()));
    if let Some(parent) = db.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .with_context(|| parent.display().to_string())
            .map_err(Failure::Runtime)?;
    }
    Registry::open(&db).map_err(|e| Failure::Runtime(e.into()))
}

fn print(value: &impl serde::Serialize) -> Result<(), Failure> {
    let text = serde_json::to_string_pretty(value).map_err(|e| Failure::Runtime(e.into()))?;
    crate::out(&text);
    Ok(())
}

pub fn consent(args: ConsentArgs) -> Result<(), Failure> {
    let bad = |e: slate_consent::ConsentError| Failure::BadInput(e.into());
    if let ConsentCommand::Key { file } = &args.command {
        let key = IdentityKey::generate().map_err(bad)?;
        key.save(file).map_err(bad)?;
        return print(&serde_json::json!({ "file": file, "public_key": key.public_hex() }));
    }
    let registry = open_registry(args.db)?;
    match args.command {
        ConsentCommand::Key { .. } => unreachable!("handled above"),
        ConsentCommand::Register { name, key, photos } => {
            let key = IdentityKey::load(&key).map_err(bad)?;
            let embeddings = photo_embeddings(&photos)?;
            let id = registry.register(&name, key.public(), &embeddings).map_err(bad)?;
            print(&serde_json::json!({ "identity": id, "photos": photos.len() }))
        }
        ConsentCommand::Grant {
            key,
            identity,
            id,
            grantee,
            channels,
            uses,
            forbidden,
            from,
            until,
        } => {
            let key = IdentityKey::load(&key).map_err(bad)?;
            let terms = Terms {
                grantee,
                channels,
                uses,
                forbidden,
                valid_from: from,
                valid_until: until,
            };
            let grant = registry.add_grant(&key.grant(&id, &identity, terms)).map_err(bad)?;
            print(&grant)
        }
        ConsentCommand::Revoke {
            key,
            identity,
            grant,
            at,
        } => {
            let key = IdentityKey::load(&key).map_err(bad)?;
            let revocation = registry.revoke(&key.revoke(&grant, &identity, at)).map_err(bad)?;
            print(&revocation)
        }
        ConsentCommand::List { identity: None } => {
            let identities = registry.identities().map_err(bad)?;
            print(&identities.iter().map(|i| i.summary()).collect::<Vec<_>>())
        }
        ConsentCommand::List { identity: Some(id) } => print(&registry.grants(&id).map_err(bad)?),
        ConsentCommand::Check {
            identity,
            grantee,
            channel,
            use_,
            context,
            at,
        } => {
            let request = Request {
                identity,
                grantee,
                channel,
                use_,
                context,
                at,
            };
            let here = slate_consent::Context {
                checker: "slate consent check",
                media: "",
                frames: "",
            };
            let verdict = registry.check(&request, &here).map_err(bad)?;
            print(&verdict)?;
            if verdict.allowed {
                Ok(())
            } else {
                Err(Failure::Runtime(anyhow!("not allowed: {}", verdict.reason)))
            }
        }
        ConsentCommand::Audit { last } => print(&registry.audit(last).map_err(bad)?),
    }
}

/// The face embedding of the one face in each photo, as `consentgate`
/// computes it (slate_onnx's face finder).
fn photo_embeddings(photos: &[PathBuf]) -> Result<Vec<(String, Vec<f32>)>, Failure> {
    let finder = FaceFinder::standard().map_err(|e| Failure::Runtime(e.into()))?;
    photos
        .iter()
        .map(|path| {
            let source = path.display().to_string();
            let photo = Photo::open(path).map_err(|e| Failure::BadInput(e.into()))?;
            let embedding = finder
                .photo_embedding(&photo)
                .map_err(|e| Failure::BadInput(e.into()))?;
            Ok((source, embedding))
        })
        .collect()
}
