//! `models/models.toml`, compiled in: the pins, and how to feed each model.
//! See that file for the format.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use serde::Deserialize;

use crate::error::OnnxError;

const MANIFEST: &str = include_str!("../../../models/models.toml");

#[derive(Debug, Deserialize)]
struct File {
    runtime: RuntimeEntry,
    model: BTreeMap<String, Entry>,
    #[serde(default)]
    vocab: BTreeMap<String, VocabEntry>,
    #[serde(default)]
    dataset: BTreeMap<String, VocabEntry>,
}

#[derive(Debug, Deserialize)]
struct VocabEntry {
    sha256: String,
}

#[derive(Debug, Deserialize)]
struct RuntimeEntry {
    source: String,
    path: String,
}

#[derive(Debug, Clone, Deserialize)]
struct Entry {
    sha256: String,
    task: Task,
    label: Option<String>,
    postprocess: Option<PostKind>,
    input: Option<InputSpec>,
}

/// What a model's outputs mean.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Task {
    Detection,
    Embedding,
    Classification,
    Vad,
    /// Tensors only: nothing decoded.
    Tensor,
}

/// The built-in decoders.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PostKind {
    /// CenterFace heatmap, scale, offset and landmark maps.
    Centerface,
    /// Silero VAD speech probability with its recurrent state.
    SileroVad,
    /// One vector per frame or object, L2-normalised.
    Embedding,
    /// Class scores: the top k.
    Classification,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Layout {
    Nchw,
    Nhwc,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Colour {
    Rgb,
    Bgr,
    Gray,
}

impl Colour {
    pub fn channels(self) -> usize {
        match self {
            Colour::Gray => 1,
            _ => 3,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Resize {
    /// Scale to the input size, aspect ratio not kept.
    Stretch,
    /// Scale to fit, aspect kept, padded at the right and bottom.
    Letterbox,
}

/// How a face is cut out for a recogniser (with `roi`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Align {
    /// Warped by its 5 landmarks (eyes, nose, mouth corners) onto the
    /// ArcFace 112x112 template.
    Arcface,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DType {
    F32,
    U8,
}

/// The model's input size: fixed, or whatever the frame is (rounded up to
/// `multiple` by padding).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum Size {
    Fixed([u32; 2]),
    Any(AnySize),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AnySize {
    Any,
}

/// How frames become the model's image input.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InputSpec {
    pub name: Option<String>,
    pub layout: Layout,
    pub colour: Colour,
    pub size: Size,
    #[serde(default)]
    pub multiple: Option<u32>,
    pub resize: Resize,
    pub mean: [f32; 3],
    pub scale: [f32; 3],
    pub dtype: DType,
    #[serde(default)]
    pub align: Option<Align>,
}

impl Default for InputSpec {
    /// For a model file without an entry: RGB in 0..1, NCHW, stretched.
    fn default() -> Self {
        InputSpec {
            name: None,
            layout: Layout::Nchw,
            colour: Colour::Rgb,
            size: Size::Any(AnySize::Any),
            multiple: None,
            resize: Resize::Stretch,
            mean: [0.0; 3],
            scale: [1.0 / 255.0; 3],
            dtype: DType::F32,
            align: None,
        }
    }
}

/// A model ready to load: its file, pin and how to use it.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelSpec {
    /// The name in models.toml, or the file path.
    pub name: String,
    pub path: PathBuf,
    /// The pinned SHA-256 (models.toml models only).
    pub sha256: Option<String>,
    pub task: Task,
    /// What detections are called (`face`).
    pub label: Option<String>,
    pub postprocess: Option<PostKind>,
    pub input: Option<InputSpec>,
}

static PARSED: LazyLock<File> = LazyLock::new(|| {
    toml::from_str(MANIFEST).unwrap_or_else(|e| panic!("models/models.toml is checked by a test: {e}"))
});

/// The runtime library's pinned version and file name.
pub(crate) struct RuntimePin {
    pub version: String,
    pub file: String,
}

pub(crate) fn runtime_pin() -> RuntimePin {
    let runtime = &PARSED.runtime;
    RuntimePin {
        version: runtime.source.split("==").nth(1).unwrap_or_default().to_owned(),
        file: Path::new(&runtime.path)
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_default(),
    }
}

/// The models models.toml names.
pub fn names() -> Vec<&'static str> {
    PARSED.model.keys().map(String::as_str).collect()
}

/// A pinned word list (`[vocab.NAME]`): its file and SHA-256.
pub fn vocab(name: &str) -> Result<(PathBuf, String), OnnxError> {
    pinned_file(&PARSED.vocab, name, "txt")
}

/// A pinned dataset file (`[dataset.NAME]`, e.g. the Open Bandit Dataset
/// sample): its file and SHA-256.
pub fn dataset(name: &str) -> Result<(PathBuf, String), OnnxError> {
    pinned_file(&PARSED.dataset, name, "csv")
}

fn pinned_file(
    table: &BTreeMap<String, VocabEntry>,
    name: &str,
    extension: &str,
) -> Result<(PathBuf, String), OnnxError> {
    let entry = table.get(name).ok_or_else(|| OnnxError::UnknownModel {
        name: name.to_owned(),
        known: table.keys().cloned().collect::<Vec<_>>().join(", "),
    })?;
    let path = models_dir().join(format!(
        "{name}-{}.{extension}",
        &entry.sha256[..12.min(entry.sha256.len())]
    ));
    Ok((path, entry.sha256.clone()))
}

/// Where the setup puts models.
pub fn models_dir() -> PathBuf {
    slate_store::cache_dir().join("models")
}

/// A model by name (from models.toml) or by path (any .onnx file).
pub fn resolve(model: &str) -> Result<ModelSpec, OnnxError> {
    if let Some(entry) = PARSED.model.get(model) {
        return Ok(ModelSpec {
            name: model.to_owned(),
            path: models_dir().join(format!("{model}-{}.onnx", &entry.sha256[..12.min(entry.sha256.len())])),
            sha256: Some(entry.sha256.clone()),
            task: entry.task,
            label: entry.label.clone(),
            postprocess: entry.postprocess,
            input: entry.input.clone(),
        });
    }
    let path = Path::new(model);
    if path.extension().is_some_and(|e| e == "onnx") || path.exists() {
        return Ok(ModelSpec {
            name: model.to_owned(),
            path: path.to_owned(),
            sha256: None,
            task: Task::Tensor,
            label: None,
            postprocess: None,
            input: None,
        });
    }
    Err(OnnxError::UnknownModel {
        name: model.to_owned(),
        known: names().join(", "),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_manifest_parses_and_pins_every_model() {
        assert!(!runtime_pin().version.is_empty());
        assert!(runtime_pin().file.starts_with("libonnxruntime.so"));
        for name in names() {
            let spec = resolve(name).unwrap();
            assert_eq!(spec.sha256.as_ref().map(String::len), Some(64), "{name}");
        }
        let face = resolve("centerface").unwrap();
        assert_eq!(face.postprocess, Some(PostKind::Centerface));
        assert_eq!(face.input.unwrap().colour, Colour::Bgr);
    }

    #[test]
    fn unknown_names_list_the_known_ones() {
        let error = resolve("centreface").unwrap_err().to_string();
        assert!(
            error.contains("no model `centreface`") && error.contains("centerface"),
            "{error}"
        );
        assert_eq!(resolve("/some/where/model.onnx").unwrap().task, Task::Tensor);
    }
}
