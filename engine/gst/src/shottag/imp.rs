use std::sync::{LazyLock, Mutex};

use gst::glib;
use gst::prelude::*;
use gst::subclass::prelude::*;
use gst_base::prelude::*;
use gst_base::subclass::prelude::*;
use slate_meta::{Record, Value, keys};

use super::cues::CueList;
use crate::SlateMeta;

static CAT: LazyLock<gst::DebugCategory> =
    LazyLock::new(|| gst::DebugCategory::new("shottag", gst::DebugColorFlags::empty(), Some("Slate shot tagger")));

/// Name of the element message posted when the shot changes.
pub const SHOT_MESSAGE: &str = "slate-shot";

#[derive(Debug, Clone)]
struct Settings {
    scene: Option<String>,
    shot: Option<String>,
    take: u32,
    fields: Option<gst::Structure>,
    cues_text: Option<String>,
    /// The parsed `cues`, or why they do not parse (refused at start).
    cues: Result<CueList, String>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            scene: None,
            shot: None,
            take: 0,
            fields: None,
            cues_text: None,
            cues: Ok(CueList::default()),
        }
    }
}

impl Settings {
    /// The fields for a buffer at stream time `time`: properties, then the
    /// cue in force on top.
    fn record_at(&self, time: Option<gst::ClockTime>) -> Record {
        let mut record = Record::default();
        if let Some(fields) = &self.fields {
            for (key, value) in fields.iter() {
                record.set(key.as_str(), value_of(value));
            }
        }
        if let Some(scene) = &self.scene {
            record.set(keys::SCENE, scene.as_str());
        }
        if let Some(shot) = &self.shot {
            record.set(keys::SHOT, shot.as_str());
        }
        if self.take > 0 {
            record.set(keys::TAKE, i64::from(self.take));
        }
        if let Some(cue) = time.and_then(|t| self.cues.as_ref().ok()?.active(t)) {
            for (key, value) in &cue.fields {
                record.set(key.as_str(), value.clone());
            }
        }
        record
    }
}

/// A structure field as a record value; types without a counterpart keep
/// their GStreamer serialisation as text.
fn value_of(value: &glib::SendValue) -> Value {
    if let Ok(v) = value.get::<bool>() {
        Value::Bool(v)
    } else if let Ok(v) = value.get::<i32>() {
        Value::Int(v.into())
    } else if let Ok(v) = value.get::<u32>() {
        Value::Int(v.into())
    } else if let Ok(v) = value.get::<i64>() {
        Value::Int(v)
    } else if let Ok(v) = value.get::<f64>() {
        Value::Float(v)
    } else if let Ok(v) = value.get::<f32>() {
        Value::Float(v.into())
    } else if let Ok(v) = value.get::<String>() {
        Value::Text(v)
    } else {
        Value::Text(value.serialize().map(|s| s.to_string()).unwrap_or_default())
    }
}

/// (scene, shot, take) of a buffer: what `slate-shot` announces changes of.
type ShotKey = (Option<Value>, Option<Value>, Option<Value>);

#[derive(Default)]
pub struct ShotTag {
    settings: Mutex<Settings>,
    announced: Mutex<Option<ShotKey>>,
}

#[glib::object_subclass]
impl ObjectSubclass for ShotTag {
    const NAME: &'static str = "GstShotTag";
    type Type = super::ShotTag;
    type ParentType = gst_base::BaseTransform;
}

impl ObjectImpl for ShotTag {
    fn properties() -> &'static [glib::ParamSpec] {
        static PROPERTIES: LazyLock<Vec<glib::ParamSpec>> = LazyLock::new(|| {
            vec![
                glib::ParamSpecString::builder("scene")
                    .nick("Scene")
                    .blurb("Scene id stamped on every buffer (a cue may override it)")
                    .mutable_playing()
                    .build(),
                glib::ParamSpecString::builder("shot")
                    .nick("Shot")
                    .blurb("Shot id stamped on every buffer (a cue may override it)")
                    .mutable_playing()
                    .build(),
                glib::ParamSpecUInt::builder("take")
                    .nick("Take")
                    .blurb("Take number stamped on every buffer; 0 stamps none")
                    .mutable_playing()
                    .build(),
                glib::ParamSpecBoxed::builder::<gst::Structure>("fields")
                    .nick("Fields")
                    .blurb("Further typed fields, as a structure: \"fields, camera=A, lens=(int)35\"")
                    .mutable_playing()
                    .build(),
                glib::ParamSpecString::builder("cues")
                    .nick("Cues")
                    .blurb("Timed cue list in stream time: \"0s: shot=s1; 4s: shot=s2, take=2; 8.5s: shot=s3\"")
                    .mutable_playing()
                    .build(),
            ]
        });
        PROPERTIES.as_ref()
    }

    fn set_property(&self, _id: usize, value: &glib::Value, pspec: &glib::ParamSpec) {
        let mut settings = self.settings.lock().unwrap();
        match pspec.name() {
            "scene" => settings.scene = value.get().expect("type checked upstream"),
            "shot" => settings.shot = value.get().expect("type checked upstream"),
            "take" => settings.take = value.get().expect("type checked upstream"),
            "fields" => settings.fields = value.get().expect("type checked upstream"),
            "cues" => {
                // set_property cannot fail: a bad list is kept as its error
                // and refused when the element is brought up.
                let text: Option<String> = value.get().expect("type checked upstream");
                settings.cues = CueList::parse(text.as_deref().unwrap_or(""));
                settings.cues_text = text;
            }
            other => unreachable!("unknown property {other}"),
        }
    }

    fn property(&self, _id: usize, pspec: &glib::ParamSpec) -> glib::Value {
        let settings = self.settings.lock().unwrap();
        match pspec.name() {
            "scene" => settings.scene.to_value(),
            "shot" => settings.shot.to_value(),
            "take" => settings.take.to_value(),
            "fields" => settings.fields.to_value(),
            "cues" => settings.cues_text.to_value(),
            other => unreachable!("unknown property {other}"),
        }
    }
}

impl GstObjectImpl for ShotTag {}

impl ElementImpl for ShotTag {
    fn metadata() -> Option<&'static gst::subclass::ElementMetadata> {
        static METADATA: LazyLock<gst::subclass::ElementMetadata> = LazyLock::new(|| {
            gst::subclass::ElementMetadata::new(
                "Slate shot tagger",
                "Filter/Metadata",
                "Stamps scene, shot, take and other fields on buffers as SlateMeta, from properties or a timed cue list",
                "Slate developers",
            )
        });
        Some(&*METADATA)
    }

    fn pad_templates() -> &'static [gst::PadTemplate] {
        static TEMPLATES: LazyLock<Vec<gst::PadTemplate>> = LazyLock::new(crate::any_media_templates);
        TEMPLATES.as_ref()
    }

    fn change_state(&self, transition: gst::StateChange) -> Result<gst::StateChangeSuccess, gst::StateChangeError> {
        if transition == gst::StateChange::NullToReady {
            if let Err(why) = &self.settings.lock().unwrap().cues {
                gst::element_imp_error!(self, gst::LibraryError::Settings, ("Invalid `cues` property: {why}"));
                return Err(gst::StateChangeError);
            }
            *self.announced.lock().unwrap() = None;
        }
        self.parent_change_state(transition)
    }
}

impl BaseTransformImpl for ShotTag {
    const MODE: gst_base::subclass::BaseTransformMode = gst_base::subclass::BaseTransformMode::AlwaysInPlace;
    const PASSTHROUGH_ON_SAME_CAPS: bool = false;
    const TRANSFORM_IP_ON_PASSTHROUGH: bool = false;

    fn transform_ip(&self, buffer: &mut gst::BufferRef) -> Result<gst::FlowSuccess, gst::FlowError> {
        let time = buffer.pts().map(|pts| {
            self.obj()
                .segment()
                .downcast_ref::<gst::ClockTime>()
                .and_then(|segment| segment.to_stream_time(pts))
                .unwrap_or(pts)
        });
        let record = self.settings.lock().unwrap().record_at(time);
        self.announce_shot(&record, time);
        if !record.is_empty() {
            SlateMeta::add(buffer, record);
        }
        Ok(gst::FlowSuccess::Ok)
    }
}

impl ShotTag {
    /// Posts `slate-shot` when scene, shot or take differ from the last buffer.
    fn announce_shot(&self, record: &Record, time: Option<gst::ClockTime>) {
        let key = (
            record.get(keys::SCENE).cloned(),
            record.get(keys::SHOT).cloned(),
            record.get(keys::TAKE).cloned(),
        );
        let mut announced = self.announced.lock().unwrap();
        let nothing_to_say = announced.is_none() && key == (None, None, None);
        if nothing_to_say || announced.as_ref() == Some(&key) {
            return;
        }
        gst::debug!(CAT, imp = self, "shot change at {:?}: {:?}", time, key);
        let mut message = gst::Structure::builder(SHOT_MESSAGE).field_if_some("stream-time", time);
        for (name, value) in [("scene", &key.0), ("shot", &key.1)] {
            if let Some(text) = value.as_ref().and_then(Value::as_text) {
                message = message.field(name, text);
            }
        }
        if let Some(take) = key.2.as_ref().and_then(Value::as_int) {
            message = message.field("take", take);
        }
        *announced = Some(key);
        drop(announced);
        crate::post_element_message(self.obj().upcast_ref(), message.build());
    }
}
