//! What Slate says about media it publishes: how it came to be (the IPTC
//! digital source type), what was done to it, what went into it, and a
//! Slate assertion with the shots, the plugins that touched it and the
//! consent grants of the people in it.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// The label of Slate's own assertion.
pub const SLATE_ASSERTION: &str = "org.slate.pipeline";

/// How the media came to be (IPTC `digitalSourceType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Source {
    /// Captured by a camera or microphone.
    Capture,
    /// Made by a trained model.
    Generated,
    /// Captured and generated material mixed.
    Composite,
}

impl Source {
    pub fn iptc(self) -> &'static str {
        match self {
            Source::Capture => "http://cv.iptc.org/newscodes/digitalsourcetype/digitalCapture",
            Source::Generated => "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia",
            Source::Composite => "http://cv.iptc.org/newscodes/digitalsourcetype/compositeWithTrainedAlgorithmicMedia",
        }
    }

    /// From what went into the media.
    pub fn of(captured: bool, generated: bool) -> Source {
        match (captured, generated) {
            (_, false) => Source::Capture,
            (false, true) => Source::Generated,
            (true, true) => Source::Composite,
        }
    }
}

/// Something done to the media after it was made.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Edit {
    /// A C2PA action: `c2pa.edited`, `c2pa.placed`, `c2pa.color_adjustments`...
    pub action: String,
    pub description: String,
    /// The ingredients it used, by file name. `c2pa.placed`, `c2pa.opened`
    /// and `c2pa.removed` must name theirs; left empty, they name every
    /// ingredient.
    #[serde(default)]
    pub ingredients: Vec<String>,
}

impl Edit {
    pub fn new(action: &str, description: &str) -> Edit {
        Edit {
            action: action.to_owned(),
            description: description.to_owned(),
            ingredients: Vec::new(),
        }
    }

    pub(crate) fn needs_ingredients(&self) -> bool {
        matches!(self.action.as_str(), "c2pa.placed" | "c2pa.opened" | "c2pa.removed")
    }
}

/// A plugin that touched the media.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PluginUse {
    pub name: String,
    /// SHA-256 of the .wasm file.
    pub hash: String,
}

/// Everything a manifest says about one published file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Story {
    pub title: Option<String>,
    pub source: Option<Source>,
    #[serde(default)]
    pub edits: Vec<Edit>,
    /// Input files; each becomes an ingredient, with its own manifest when
    /// it has one.
    #[serde(default)]
    pub ingredients: Vec<PathBuf>,
    /// Shots as the metadata named them (scene, shot, take, times).
    #[serde(default)]
    pub shots: Vec<serde_json::Value>,
    #[serde(default)]
    pub plugins: Vec<PluginUse>,
    /// Consent grant ids of the people shown.
    #[serde(default)]
    pub grants: Vec<String>,
    /// For one segment of a live stream: where it sits in the stream
    /// (`stream`, `sequence`, `duration`), so a viewer can tell a segment
    /// missing or out of order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub segment: Option<serde_json::Value>,
}

impl Story {
    /// Slate's assertion: what the pipeline knew.
    pub(crate) fn slate_assertion(&self) -> serde_json::Value {
        let mut assertion = serde_json::json!({
            "shots": self.shots,
            "plugins": self.plugins,
            "grants": self.grants,
        });
        if let Some(segment) = &self.segment {
            assertion["segment"] = segment.clone();
        }
        assertion
    }
}

/// Slate as a C2PA software agent.
pub(crate) fn software_agent() -> serde_json::Value {
    serde_json::json!({ "name": "Slate", "version": env!("CARGO_PKG_VERSION") })
}
