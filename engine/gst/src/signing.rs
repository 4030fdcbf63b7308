//! What the signing sinks (`c2pasink`, `c2pahlssink`) share: who signs, and
//! the story of the pipeline they sit in — which plugins and scripts
//! touched the media, which shots it holds, which files went into it.

use std::path::{Path, PathBuf};

use gst::glib;
use gst::prelude::*;
use slate_provenance::{Identity, PluginUse, ProvenanceError, Story};

/// What the media is unless `source` says otherwise.
const DEFAULT_SOURCE: &str = "capture";

/// The signing properties, set by the user.
#[derive(Debug, Clone, Default)]
pub(crate) struct Signing {
    source: Option<String>,
    story: Option<String>,
    certificate: Option<PathBuf>,
    key: Option<PathBuf>,
}

impl Signing {
    pub(crate) fn properties() -> Vec<glib::ParamSpec> {
        vec![
            glib::ParamSpecString::builder("source")
                .nick("Source")
                .blurb("How the media came to be: capture, generated or composite (IPTC digitalSourceType)")
                .default_value(Some(DEFAULT_SOURCE))
                .mutable_ready()
                .build(),
            glib::ParamSpecString::builder("story")
                .nick("Story")
                .blurb("More to say in the manifest, as JSON: {\"title\", \"edits\": [{\"action\", \"description\"}], \"ingredients\": [paths], \"shots\", \"grants\"}")
                .mutable_ready()
                .build(),
            glib::ParamSpecString::builder("certificate")
                .nick("Certificate chain")
                .blurb("PEM chain to sign with, end entity first; unset uses the local signing CA made in the Slate data directory")
                .mutable_ready()
                .build(),
            glib::ParamSpecString::builder("key")
                .nick("Signing key")
                .blurb("PKCS#8 PEM key of the certificate chain")
                .mutable_ready()
                .build(),
        ]
    }

    /// Sets one of the signing properties.
    pub(crate) fn set(&mut self, name: &str, value: &glib::Value) {
        let text = || value.get::<Option<String>>().expect("type checked upstream");
        match name {
            "source" => self.source = text(),
            "story" => self.story = text(),
            "certificate" => self.certificate = text().map(PathBuf::from),
            "key" => self.key = text().map(PathBuf::from),
            other => unreachable!("no signing property {other}"),
        }
    }

    pub(crate) fn get(&self, name: &str) -> glib::Value {
        let path = |p: &Option<PathBuf>| p.as_ref().map(|p| p.display().to_string()).to_value();
        match name {
            "source" => self.source.as_deref().unwrap_or(DEFAULT_SOURCE).to_value(),
            "story" => self.story.to_value(),
            "certificate" => path(&self.certificate),
            "key" => path(&self.key),
            other => unreachable!("no signing property {other}"),
        }
    }

    pub(crate) fn identity(&self) -> Result<Identity, ProvenanceError> {
        match (&self.certificate, &self.key) {
            (Some(chain), Some(key)) => Identity::from_files(chain, key),
            (None, None) => Identity::local(&slate_store::data_dir()),
            (Some(path), None) | (None, Some(path)) => Err(ProvenanceError::BadIdentity {
                path: path.clone(),
                why: "`certificate` and `key` go together: set both, or neither for the local CA".into(),
            }),
        }
    }

    /// Checks what can be checked before the stream starts: the signer,
    /// `source` and `story`, so a typo fails at once rather than at the end.
    pub(crate) fn check(&self) -> Result<Identity, String> {
        self.given_story()?;
        self.identity().map_err(|e| e.to_string())
    }

    /// The story the user gave, completed from the pipeline `element` is in.
    pub(crate) fn story(&self, element: &gst::Element) -> Result<Story, String> {
        let mut story = self.given_story()?;
        from_pipeline(element, &mut story);
        Ok(story)
    }

    fn given_story(&self) -> Result<Story, String> {
        let mut story: Story = match &self.story {
            Some(json) => serde_json::from_str(json).map_err(|e| format!("`story` is not a valid story: {e}"))?,
            None => Story::default(),
        };
        let source = self.source.as_deref().unwrap_or(DEFAULT_SOURCE);
        story.source = Some(
            serde_json::from_value(serde_json::Value::String(source.to_owned()))
                .map_err(|_| format!("`source` is `{source}`; use capture, generated or composite"))?,
        );
        Ok(story)
    }
}

/// Adds what the pipeline around `element` shows: stages, shots, inputs.
fn from_pipeline(element: &gst::Element, story: &mut Story) {
    let mut top = element.clone();
    while let Some(parent) = top.parent().and_then(|p| p.downcast::<gst::Element>().ok()) {
        top = parent;
    }
    let Some(bin) = top.downcast_ref::<gst::Bin>() else {
        return;
    };
    let mut elements: Vec<gst::Element> = bin.iterate_recurse().into_iter().flatten().collect();
    elements.sort_by_key(|e| e.name());
    for e in elements {
        let factory = e.factory().map(|f| f.name().to_string()).unwrap_or_default();
        let text = |name: &str| {
            e.find_property(name)
                .and_then(|_| e.property::<Option<String>>(name))
                .filter(|t| !t.is_empty())
        };
        match factory.as_str() {
            "wasmstage" | "wasmsrc" => {
                if let (Some(plugin), Some(hash)) = (text("plugin"), text("plugin-hash")) {
                    story.plugins.push(PluginUse {
                        name: file_name(&plugin),
                        hash,
                    });
                }
            }
            "luastage" => {
                if let Some(script) = text("script")
                    && let Ok(bytes) = std::fs::read(&script)
                {
                    story.plugins.push(PluginUse {
                        name: file_name(&script),
                        hash: slate_wasm::hash_of(&bytes),
                    });
                }
            }
            "shottag" => story.shots.push(serde_json::json!({
                "element": e.name().as_str(),
                "scene": text("scene"),
                "shot": text("shot"),
                "cues": text("cues"),
            })),
            "consentgate" => {
                for grant in e.property::<Vec<String>>("grants") {
                    if !story.grants.contains(&grant) {
                        story.grants.push(grant);
                    }
                }
            }
            "filesrc" => {
                if let Some(location) = text("location") {
                    let path = PathBuf::from(location);
                    if c2pa_knows(&path) && !story.ingredients.contains(&path) {
                        story.ingredients.push(path);
                    }
                }
            }
            _ => {}
        }
    }
}

fn c2pa_knows(path: &Path) -> bool {
    slate_provenance::media_type(path).is_some()
}

fn file_name(path: &str) -> String {
    Path::new(path)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.to_owned())
}
