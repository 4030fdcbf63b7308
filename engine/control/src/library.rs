//! Shipped files the control plane takes by name: pipeline files
//! (`*.toml`) and automation scripts (`*.lua`), each kind in a folder.

use std::path::{Path, PathBuf};

use crate::error::{ControlError, invalid};

/// One kind of shipped file, in its folder (none: nothing shipped).
pub(crate) struct Library {
    folder: Option<PathBuf>,
    extension: &'static str,
    /// What one is, in refusals: `pipeline`, `script`.
    kind: &'static str,
    /// How the server is told the folder: `--pipelines`.
    option: &'static str,
    /// How a request sends one whole instead: "the file as `toml`".
    inline: &'static str,
}

impl Library {
    pub(crate) const fn pipelines(folder: Option<PathBuf>) -> Library {
        Library {
            folder,
            extension: "toml",
            kind: "pipeline",
            option: "--pipelines",
            inline: "the file as `toml`",
        }
    }

    pub(crate) const fn scripts(folder: Option<PathBuf>) -> Library {
        Library {
            folder,
            extension: "lua",
            kind: "script",
            option: "--scripts",
            inline: "the script as `lua`",
        }
    }

    pub(crate) fn folder(&self) -> Option<&Path> {
        self.folder.as_deref()
    }

    /// The files' names (their stems), sorted. `*.d.*` files are type
    /// stubs (`slate.d.lua`), not shipped.
    pub(crate) fn names(&self) -> Vec<String> {
        let Some(folder) = &self.folder else { return Vec::new() };
        let mut names: Vec<String> = std::fs::read_dir(folder)
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|entry| {
                let path = entry.path();
                let stem = path.file_stem()?.to_str()?;
                let shipped = path.extension()? == self.extension && !stem.ends_with(".d") && path.is_file();
                shipped.then(|| stem.to_owned())
            })
            .collect();
        names.sort();
        names
    }

    /// The file shipped as `name`: its path and text. A name not shipped
    /// is refused as `name`, listing the ones that are.
    pub(crate) fn read(&self, name: &str) -> Result<(PathBuf, String), ControlError> {
        let (kind, option, inline) = (self.kind, self.option, self.inline);
        let known = self.names();
        if !known.iter().any(|n| n == name) {
            let hint = match known.is_empty() {
                true => format!("this server ships none (start it with {option} FOLDER); send {inline}"),
                false => format!("use one of {}", known.join(", ")),
            };
            return Err(invalid("name", format!("no shipped {kind} `{name}`; {hint}")));
        }
        let folder = self.folder.as_ref().expect("names come from the folder");
        let path = folder.join(format!("{name}.{}", self.extension));
        let text = std::fs::read_to_string(&path).map_err(|e| invalid("name", format!("{}: {e}", path.display())))?;
        Ok((path, text))
    }
}
