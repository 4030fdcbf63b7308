use std::fs::File;
use std::io::{LineWriter, Write};
use std::path::PathBuf;
use std::sync::{LazyLock, Mutex};

use gst::glib;
use gst::prelude::*;
use gst::subclass::prelude::*;
use gst_base::subclass::prelude::*;

use crate::SlateMeta;

static CAT: LazyLock<gst::DebugCategory> =
    LazyLock::new(|| gst::DebugCategory::new("metalog", gst::DebugColorFlags::empty(), Some("Slate metadata log")));

/// Name of the element message that carries one line when no file is set.
pub const META_MESSAGE: &str = "slate-meta";

#[derive(Debug, Clone, Default)]
struct Settings {
    location: Option<PathBuf>,
}

/// Exists between `start` and `stop`.
struct State {
    /// Line-buffered, so every line is on disk once written: a killed
    /// process loses nothing already logged.
    file: Option<LineWriter<File>>,
}

#[derive(Default)]
pub struct MetaLog {
    settings: Mutex<Settings>,
    state: Mutex<Option<State>>,
}

#[glib::object_subclass]
impl ObjectSubclass for MetaLog {
    const NAME: &'static str = "GstMetaLog";
    type Type = super::MetaLog;
    type ParentType = gst_base::BaseTransform;
}

impl ObjectImpl for MetaLog {
    fn properties() -> &'static [glib::ParamSpec] {
        static PROPERTIES: LazyLock<Vec<glib::ParamSpec>> = LazyLock::new(|| {
            vec![glib::ParamSpecString::builder("location")
                .nick("Location")
                .blurb("JSON Lines file to write (created or truncated); unset posts each line as a slate-meta bus message")
                .mutable_ready()
                .build()]
        });
        PROPERTIES.as_ref()
    }

    fn set_property(&self, _id: usize, value: &glib::Value, pspec: &glib::ParamSpec) {
        match pspec.name() {
            "location" => {
                let location: Option<String> = value.get().expect("type checked upstream");
                self.settings.lock().unwrap().location = location.map(PathBuf::from);
            }
            other => unreachable!("unknown property {other}"),
        }
    }

    fn property(&self, _id: usize, pspec: &glib::ParamSpec) -> glib::Value {
        match pspec.name() {
            "location" => {
                let settings = self.settings.lock().unwrap();
                settings.location.as_ref().map(|p| p.display().to_string()).to_value()
            }
            other => unreachable!("unknown property {other}"),
        }
    }
}

impl GstObjectImpl for MetaLog {}

impl ElementImpl for MetaLog {
    fn metadata() -> Option<&'static gst::subclass::ElementMetadata> {
        static METADATA: LazyLock<gst::subclass::ElementMetadata> = LazyLock::new(|| {
            gst::subclass::ElementMetadata::new(
                "Slate metadata log",
                "Filter/Metadata",
                "Passes buffers through and writes each one's SlateMeta as a JSON line to a file or the bus",
                "Slate developers",
            )
        });
        Some(&*METADATA)
    }

    fn pad_templates() -> &'static [gst::PadTemplate] {
        static TEMPLATES: LazyLock<Vec<gst::PadTemplate>> = LazyLock::new(crate::any_media_templates);
        TEMPLATES.as_ref()
    }
}

impl BaseTransformImpl for MetaLog {
    const MODE: gst_base::subclass::BaseTransformMode = gst_base::subclass::BaseTransformMode::AlwaysInPlace;
    const PASSTHROUGH_ON_SAME_CAPS: bool = true;
    const TRANSFORM_IP_ON_PASSTHROUGH: bool = true;

    fn start(&self) -> Result<(), gst::ErrorMessage> {
        let location = self.settings.lock().unwrap().location.clone();
        let file = match location {
            Some(path) => {
                let file = File::create(&path).map_err(|err| {
                    gst::error_msg!(
                        gst::ResourceError::OpenWrite,
                        (
                            "Could not create the metadata log {} (property `location`): {err}",
                            path.display()
                        )
                    )
                })?;
                gst::info!(CAT, imp = self, "logging metadata to {}", path.display());
                Some(LineWriter::new(file))
            }
            None => None,
        };
        *self.state.lock().unwrap() = Some(State { file });
        Ok(())
    }

    fn stop(&self) -> Result<(), gst::ErrorMessage> {
        if let Some(State { file: Some(mut file) }) = self.state.lock().unwrap().take() {
            file.flush().map_err(|err| {
                gst::error_msg!(gst::ResourceError::Write, ("Could not finish the metadata log: {err}"))
            })?;
        }
        Ok(())
    }

    fn transform_ip_passthrough(&self, buffer: &gst::Buffer) -> Result<gst::FlowSuccess, gst::FlowError> {
        let line = self.line_for(buffer);
        let mut state = self.state.lock().unwrap();
        let state = state.as_mut().ok_or(gst::FlowError::Flushing)?;
        match state.file.as_mut() {
            Some(file) => writeln!(file, "{line}").map_err(|err| {
                gst::element_imp_error!(
                    self,
                    gst::ResourceError::Write,
                    ("Could not write the metadata log: {err}")
                );
                gst::FlowError::Error
            })?,
            None => {
                let message = gst::Structure::builder(META_MESSAGE)
                    .field("json", line.to_string())
                    .build();
                crate::post_element_message(self.obj().upcast_ref(), message);
            }
        }
        Ok(gst::FlowSuccess::Ok)
    }
}

impl MetaLog {
    /// One log line: timing of the buffer, then its record's fields, objects
    /// and relations at the top level.
    fn line_for(&self, buffer: &gst::BufferRef) -> serde_json::Value {
        let mut line = serde_json::json!({
            "element": self.obj().name().as_str(),
            "pts": buffer.pts().map(|t| t.nseconds() as f64 / 1e9),
            "pts_ns": buffer.pts().map(|t| t.nseconds()),
            "duration_ns": buffer.duration().map(|t| t.nseconds()),
        });
        if let serde_json::Value::Object(record) = SlateMeta::record_of(buffer).to_json() {
            line.as_object_mut().expect("built as an object above").extend(record);
        }
        line
    }
}
