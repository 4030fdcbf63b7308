use std::path::{Path, PathBuf};
use std::sync::{LazyLock, Mutex};
use std::time::Instant;

use gst::glib;
use gst::prelude::*;
use gst::subclass::prelude::*;

use super::SIGNED_MESSAGE;
use crate::signing::Signing;

static CAT: LazyLock<gst::DebugCategory> = LazyLock::new(|| {
    gst::DebugCategory::new(
        "c2pasink",
        gst::DebugColorFlags::empty(),
        Some("Slate C2PA signing file sink"),
    )
});

#[derive(Debug, Default)]
struct Settings {
    location: Option<PathBuf>,
    signing: Signing,
}

pub struct C2paSink {
    settings: Mutex<Settings>,
    file: gst::Element,
}

/// Where the unsigned bytes go: hidden, beside the signed file, with the
/// same extension (C2PA reads the format from it).
fn unsigned_path(location: &Path) -> PathBuf {
    let name = location
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    location.with_file_name(format!(".{name}.unsigned.{}", extension(location)))
}

fn extension(path: &Path) -> String {
    path.extension()
        .map(|e| e.to_string_lossy().into_owned())
        .unwrap_or_default()
}

#[glib::object_subclass]
impl ObjectSubclass for C2paSink {
    const NAME: &'static str = "GstC2paSink";
    type Type = super::C2paSink;
    type ParentType = gst::Bin;

    fn with_class(_klass: &Self::Class) -> Self {
        C2paSink {
            settings: Mutex::new(Settings::default()),
            file: gst::ElementFactory::make("filesink")
                .name("file")
                .build()
                .expect("filesink is in GStreamer core"),
        }
    }
}

impl ObjectImpl for C2paSink {
    fn properties() -> &'static [glib::ParamSpec] {
        static PROPERTIES: LazyLock<Vec<glib::ParamSpec>> = LazyLock::new(|| {
            let mut properties = vec![
                glib::ParamSpecString::builder("location")
                    .nick("Location")
                    .blurb("The signed file to write (MP4 or another format C2PA signs), replaced if it exists")
                    .mutable_ready()
                    .build(),
            ];
            properties.extend(Signing::properties());
            properties
        });
        PROPERTIES.as_ref()
    }

    fn set_property(&self, _id: usize, value: &glib::Value, pspec: &glib::ParamSpec) {
        let mut settings = self.settings.lock().unwrap();
        if pspec.name() == "location" {
            let location: Option<String> = value.get().expect("type checked upstream");
            settings.location = location.map(PathBuf::from);
        } else {
            settings.signing.set(pspec.name(), value);
        }
    }

    fn property(&self, _id: usize, pspec: &glib::ParamSpec) -> glib::Value {
        let settings = self.settings.lock().unwrap();
        match pspec.name() {
            "location" => settings.location.as_ref().map(|p| p.display().to_string()).to_value(),
            name => settings.signing.get(name),
        }
    }

    fn constructed(&self) {
        self.parent_constructed();
        let obj = self.obj();
        obj.add(&self.file).expect("a fresh bin takes the filesink");
        let target = self.file.static_pad("sink").expect("filesink has a sink pad");
        let pad = gst::GhostPad::builder_with_target(&target)
            .expect("a sink target")
            .name("sink")
            .build();
        obj.add_pad(&pad).expect("a fresh bin takes its pad");
        obj.set_element_flags(gst::ElementFlags::SINK);
    }
}

impl GstObjectImpl for C2paSink {}

impl ElementImpl for C2paSink {
    fn metadata() -> Option<&'static gst::subclass::ElementMetadata> {
        static METADATA: LazyLock<gst::subclass::ElementMetadata> = LazyLock::new(|| {
            gst::subclass::ElementMetadata::new(
                "Slate C2PA signing file sink",
                "Sink/File",
                "Writes a file and signs it with a C2PA manifest (what made it, what was done, what went in) at the end of the stream",
                "Slate developers",
            )
        });
        Some(&*METADATA)
    }

    fn pad_templates() -> &'static [gst::PadTemplate] {
        static TEMPLATES: LazyLock<Vec<gst::PadTemplate>> = LazyLock::new(|| {
            vec![
                gst::PadTemplate::new(
                    "sink",
                    gst::PadDirection::Sink,
                    gst::PadPresence::Always,
                    &gst::Caps::new_any(),
                )
                .expect("a valid template"),
            ]
        });
        TEMPLATES.as_ref()
    }

    fn change_state(&self, transition: gst::StateChange) -> Result<gst::StateChangeSuccess, gst::StateChangeError> {
        if transition == gst::StateChange::NullToReady {
            self.prepare()?;
        }
        self.parent_change_state(transition)
    }
}

impl BinImpl for C2paSink {
    fn handle_message(&self, message: gst::Message) {
        let from_file = message
            .src()
            .is_some_and(|src| src == self.file.upcast_ref::<gst::Object>());
        if from_file && matches!(message.view(), gst::MessageView::Eos(_)) {
            // Sign before the pipeline hears the end: once it does, the
            // file is there and signed.
            if let Err(why) = self.sign() {
                gst::element_imp_error!(self, gst::ResourceError::Write, ["{}", why]);
                return;
            }
        }
        self.parent_handle_message(message)
    }
}

impl C2paSink {
    fn prepare(&self) -> Result<(), gst::StateChangeError> {
        let settings = self.settings.lock().unwrap();
        let Some(location) = settings.location.clone() else {
            gst::element_imp_error!(
                self,
                gst::ResourceError::NotFound,
                ["set `location` to the signed file to write"]
            );
            return Err(gst::StateChangeError);
        };
        if slate_provenance::media_type(&location).is_none() {
            gst::element_imp_error!(
                self,
                gst::ResourceError::Settings,
                [
                    "{}: C2PA cannot sign .{} files; write an .mp4 (or another format C2PA knows)",
                    location.display(),
                    extension(&location)
                ]
            );
            return Err(gst::StateChangeError);
        }
        if let Err(why) = settings.signing.check() {
            gst::element_imp_error!(self, gst::ResourceError::Settings, ["{}", why]);
            return Err(gst::StateChangeError);
        }
        self.file
            .set_property("location", unsigned_path(&location).display().to_string());
        Ok(())
    }

    fn sign(&self) -> Result<(), String> {
        let (location, signing) = {
            let settings = self.settings.lock().unwrap();
            (
                settings.location.clone().expect("checked in prepare"),
                settings.signing.clone(),
            )
        };
        let started = Instant::now();
        let unsigned = unsigned_path(&location);
        let story = signing.story(self.obj().upcast_ref())?;
        let identity = signing.identity().map_err(|e| e.to_string())?;
        // The signer refuses to overwrite: a re-run replaces the old file.
        if location.exists() {
            std::fs::remove_file(&location).map_err(|e| format!("{}: cannot replace it: {e}", location.display()))?;
        }
        slate_provenance::sign_file(&identity, &story, &unsigned, &location).map_err(|e| e.to_string())?;
        std::fs::remove_file(&unsigned).map_err(|e| format!("{}: {e}", unsigned.display()))?;
        let took = started.elapsed();
        gst::info!(
            CAT,
            imp = self,
            "signed {} in {:.1} ms",
            location.display(),
            took.as_secs_f64() * 1e3
        );
        crate::post_element_message(
            self.obj().upcast_ref(),
            gst::Structure::builder(SIGNED_MESSAGE)
                .field("location", location.display().to_string())
                .field("sign-ms", took.as_secs_f64() * 1e3)
                .build(),
        );
        Ok(())
    }
}
