//! `slate sign` and `slate verify`: C2PA on files from the command line.

use std::path::{Path, PathBuf};

use anyhow::{Context, anyhow};
use slate_provenance::{Edit, Identity, Source, Story, Trust};

use crate::Failure;

#[derive(clap::Args)]
pub struct SignArgs {
    /// The file to sign (MP4, or an init segment with --fragments).
    file: PathBuf,
    /// Where to write the signed file (default: NAME.signed.EXT beside it);
    /// with --fragments, a folder.
    #[arg(long, short)]
    out: Option<PathBuf>,
    /// How the media came to be.
    #[arg(long, value_enum, default_value = "capture")]
    source: SourceArg,
    /// An input file that went into it (repeatable); its own manifest, if
    /// any, is kept as the ingredient's.
    #[arg(long = "ingredient", value_name = "FILE")]
    ingredients: Vec<PathBuf>,
    /// Something done to it: ACTION=DESCRIPTION, e.g.
    /// c2pa.color_adjustments="graded warm" (repeatable).
    #[arg(long = "edit", value_name = "ACTION=DESCRIPTION", value_parser = parse_edit)]
    edits: Vec<Edit>,
    #[arg(long)]
    title: Option<String>,
    /// Sign fragmented MP4: the init segment FILE and the fragments matching
    /// this pattern beside it (e.g. 'segment*.m4s'), into the --out folder.
    #[arg(long, value_name = "PATTERN", requires = "out")]
    fragments: Option<String>,
    /// Sign with this PEM chain (end entity first) instead of the local CA.
    #[arg(long, requires = "key")]
    certificate: Option<PathBuf>,
    /// The PKCS#8 PEM key of --certificate.
    #[arg(long, requires = "certificate")]
    key: Option<PathBuf>,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum SourceArg {
    Capture,
    Generated,
    Composite,
}

#[derive(clap::Args)]
pub struct VerifyArgs {
    /// A file, an HLS playlist (.m3u8), or a folder of either.
    path: PathBuf,
    /// Trust these CA certificates (PEM; repeatable). The local signing CA
    /// is trusted unless --no-local-ca.
    #[arg(long = "trust", value_name = "PEM")]
    trust: Vec<PathBuf>,
    #[arg(long)]
    no_local_ca: bool,
}

fn parse_edit(text: &str) -> Result<Edit, String> {
    let (action, description) = text
        .split_once('=')
        .ok_or_else(|| format!("`{text}` is not ACTION=DESCRIPTION, e.g. c2pa.edited=\"trimmed\""))?;
    Ok(Edit::new(action.trim(), description.trim()))
}

fn signed_name(file: &Path) -> PathBuf {
    let stem = file
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let extension = file
        .extension()
        .map(|e| e.to_string_lossy().into_owned())
        .unwrap_or_default();
    file.with_file_name(format!("{stem}.signed.{extension}"))
}

pub fn sign(args: SignArgs) -> Result<(), Failure> {
    let bad = |e: anyhow::Error| Failure::BadInput(e);
    if !args.file.is_file() {
        return Err(bad(anyhow!("{}: no such file", args.file.display())));
    }
    let identity = match (&args.certificate, &args.key) {
        (Some(chain), Some(key)) => Identity::from_files(chain, key),
        _ => Identity::local(&slate_store::data_dir()),
    }
    .map_err(|e| bad(e.into()))?;
    let story = Story {
        title: args.title,
        source: Some(match args.source {
            SourceArg::Capture => Source::Capture,
            SourceArg::Generated => Source::Generated,
            SourceArg::Composite => Source::Composite,
        }),
        edits: args.edits,
        ingredients: args.ingredients,
        ..Story::default()
    };
    let trust = identity.trust();
    let reports = match &args.fragments {
        Some(pattern) => {
            let out = args.out.expect("clap requires --out with --fragments");
            slate_provenance::sign_fragmented(&identity, &story, &args.file, pattern, &out)
                .map_err(|e| Failure::Runtime(e.into()))?;
            let folder = out.join(args.file.parent().and_then(Path::file_name).unwrap_or_default());
            let init = folder.join(args.file.file_name().unwrap_or_default());
            let fragments = glob_in(&folder, pattern).map_err(Failure::Runtime)?;
            vec![slate_provenance::verify(&init, Some(&fragments), &trust)]
        }
        None => {
            let out = args.out.unwrap_or_else(|| signed_name(&args.file));
            if out.exists() {
                return Err(bad(anyhow!(
                    "{}: already exists; remove it or give --out",
                    out.display()
                )));
            }
            slate_provenance::sign_file(&identity, &story, &args.file, &out).map_err(|e| Failure::Runtime(e.into()))?;
            vec![slate_provenance::verify(&out, None, &trust)]
        }
    };
    print_reports(&reports, false)
}

fn glob_in(folder: &Path, pattern: &str) -> anyhow::Result<Vec<PathBuf>> {
    let pattern = glob::Pattern::new(pattern).with_context(|| format!("--fragments `{pattern}`"))?;
    let mut found = Vec::new();
    for entry in std::fs::read_dir(folder).with_context(|| folder.display().to_string())? {
        let path = entry?.path();
        if path.file_name().is_some_and(|n| pattern.matches(&n.to_string_lossy())) {
            found.push(path);
        }
    }
    found.sort();
    Ok(found)
}

pub fn verify(args: VerifyArgs) -> Result<(), Failure> {
    let mut trust = Trust::default();
    for path in &args.trust {
        trust = trust
            .with_file(path)
            .with_context(|| format!("--trust {}", path.display()))
            .map_err(Failure::BadInput)?;
    }
    if !args.no_local_ca {
        trust = trust.with_local_ca(&slate_store::data_dir());
    }
    let reports = slate_provenance::verify_path(&args.path, &trust).map_err(|e| Failure::BadInput(e.into()))?;
    print_reports(&reports, args.path.is_dir() || reports.len() != 1)
}

/// Prints the reports as JSON (one object, or an array for several) and
/// fails when any file is not intact.
fn print_reports(reports: &[slate_provenance::Report], as_list: bool) -> Result<(), Failure> {
    let json = if as_list {
        serde_json::to_string_pretty(reports)
    } else {
        serde_json::to_string_pretty(&reports[0])
    }
    .map_err(|e| Failure::Runtime(e.into()))?;
    crate::out(&json);
    let bad: Vec<String> = reports
        .iter()
        .filter(|r| !r.state.intact())
        .map(|r| format!("{} ({:?})", r.file, r.state))
        .collect();
    if bad.is_empty() {
        Ok(())
    } else {
        Err(Failure::Runtime(anyhow!("not intact: {}", bad.join(", "))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edits_need_an_action() {
        assert_eq!(parse_edit("c2pa.edited=trimmed").unwrap().description, "trimmed");
        assert!(parse_edit("trimmed").unwrap_err().contains("ACTION=DESCRIPTION"));
    }
}
