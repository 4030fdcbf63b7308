use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock, Mutex};

use gst::glib;
use gst::prelude::*;
use gst::subclass::prelude::*;
use slate_meta::Record;
use slate_wasm::{Decision, Host, Limits, Stage};

use super::PROVENANCE_MESSAGE;
use crate::SlateMeta;

static CAT: LazyLock<gst::DebugCategory> = LazyLock::new(|| {
    gst::DebugCategory::new(
        "c2paverify",
        gst::DebugColorFlags::empty(),
        Some("Slate C2PA ingest check"),
    )
});

#[derive(Debug, Clone, Default)]
struct Settings {
    location: Option<PathBuf>,
    policy: Option<PathBuf>,
    policy_config: String,
    trust_anchors: Option<PathBuf>,
}

/// What was decided about the input, once.
#[derive(Debug)]
struct Outcome {
    state: String,
    decision: Decision,
    reason: String,
    report: String,
}

pub struct C2paVerify {
    settings: Mutex<Settings>,
    /// Shared with every buffer's probe call: the report is not copied.
    outcome: Mutex<Option<Arc<Outcome>>>,
    overlay: Option<gst::Element>,
}

fn decision_name(decision: Decision) -> &'static str {
    match decision {
        Decision::Trust => "trust",
        Decision::Label => "label",
        Decision::Throttle => "throttle",
        Decision::Reject => "reject",
    }
}

#[glib::object_subclass]
impl ObjectSubclass for C2paVerify {
    const NAME: &'static str = "GstC2paVerify";
    type Type = super::C2paVerify;
    type ParentType = gst::Bin;

    fn with_class(_klass: &Self::Class) -> Self {
        C2paVerify {
            settings: Mutex::new(Settings::default()),
            outcome: Mutex::new(None),
            // In gstreamer1.0-x (the setup installs it).
            overlay: gst::ElementFactory::make("textoverlay").name("label").build().ok(),
        }
    }
}

impl ObjectImpl for C2paVerify {
    fn properties() -> &'static [glib::ParamSpec] {
        static PROPERTIES: LazyLock<Vec<glib::ParamSpec>> = LazyLock::new(|| {
            let path = crate::text_property;
            vec![
                path(
                    "location",
                    "Location",
                    "The ingested file to check; unset asks the upstream source for its URI",
                ),
                path(
                    "policy",
                    "Policy",
                    "The provenance-policy WASM plugin (.wasm) that decides",
                ),
                path(
                    "policy-config",
                    "Policy config",
                    "The policy plugin's config string (JSON)",
                ),
                path(
                    "trust-anchors",
                    "Trust anchors",
                    "PEM file of CA certificates to trust; unset trusts the local signing CA in the Slate data directory",
                ),
                glib::ParamSpecString::builder("report")
                    .nick("Report")
                    .blurb("The validation report (JSON), once checked")
                    .read_only()
                    .build(),
                glib::ParamSpecString::builder("decision")
                    .nick("Decision")
                    .blurb("What the policy decided: trust, label, throttle or reject")
                    .read_only()
                    .build(),
            ]
        });
        PROPERTIES.as_ref()
    }

    fn set_property(&self, _id: usize, value: &glib::Value, pspec: &glib::ParamSpec) {
        let mut settings = self.settings.lock().unwrap();
        let text: Option<String> = value.get().expect("type checked upstream");
        match pspec.name() {
            "location" => settings.location = text.map(PathBuf::from),
            "policy" => settings.policy = text.map(PathBuf::from),
            "policy-config" => settings.policy_config = text.unwrap_or_default(),
            "trust-anchors" => settings.trust_anchors = text.map(PathBuf::from),
            other => unreachable!("no property {other}"),
        }
    }

    fn property(&self, _id: usize, pspec: &glib::ParamSpec) -> glib::Value {
        let path = |p: &Option<PathBuf>| p.as_ref().map(|p| p.display().to_string()).to_value();
        let outcome = self.outcome.lock().unwrap().clone();
        let settings = self.settings.lock().unwrap();
        match pspec.name() {
            "location" => path(&settings.location),
            "policy" => path(&settings.policy),
            "policy-config" => settings.policy_config.to_value(),
            "trust-anchors" => path(&settings.trust_anchors),
            "report" => outcome.map(|o| o.report.clone()).to_value(),
            "decision" => outcome.map(|o| decision_name(o.decision)).to_value(),
            other => unreachable!("no property {other}"),
        }
    }

    fn constructed(&self) {
        self.parent_constructed();
        let obj = self.obj();
        let (sink, src) = match &self.overlay {
            Some(overlay) => {
                obj.add(overlay).expect("a fresh bin takes textoverlay");
                overlay.set_property("silent", true);
                overlay.set_property_from_str("valignment", "top");
                overlay.set_property_from_str("halignment", "left");
                overlay.set_property("shaded-background", true);
                let target = |name| overlay.static_pad(name).expect("textoverlay pads");
                (
                    gst::GhostPad::builder_with_target(&target("video_sink"))
                        .expect("sink")
                        .name("sink")
                        .build(),
                    gst::GhostPad::builder_with_target(&target("src"))
                        .expect("src")
                        .name("src")
                        .build(),
                )
            }
            None => (
                gst::GhostPad::builder(gst::PadDirection::Sink).name("sink").build(),
                gst::GhostPad::builder(gst::PadDirection::Src).name("src").build(),
            ),
        };
        let weak = obj.downgrade();
        sink.add_probe(gst::PadProbeType::BUFFER, move |pad, info| {
            let Some(element) = weak.upgrade() else {
                return gst::PadProbeReturn::Ok;
            };
            element.imp().on_buffer(pad.upcast_ref(), info)
        });
        obj.add_pad(&sink).expect("a fresh bin takes its pad");
        obj.add_pad(&src).expect("a fresh bin takes its pad");
    }
}

impl GstObjectImpl for C2paVerify {}

impl ElementImpl for C2paVerify {
    fn metadata() -> Option<&'static gst::subclass::ElementMetadata> {
        static METADATA: LazyLock<gst::subclass::ElementMetadata> = LazyLock::new(|| {
            gst::subclass::ElementMetadata::new(
                "Slate C2PA ingest check",
                "Filter/Video",
                "Verifies the C2PA manifest of the ingested file and applies a provenance-policy plugin's decision: trust, label (drawn on the video), throttle (marked for ranking) or reject",
                "Slate developers",
            )
        });
        Some(&*METADATA)
    }

    fn pad_templates() -> &'static [gst::PadTemplate] {
        static TEMPLATES: LazyLock<Vec<gst::PadTemplate>> =
            LazyLock::new(|| crate::filter_templates(&gst::Caps::builder("video/x-raw").build()));
        TEMPLATES.as_ref()
    }

    fn change_state(&self, transition: gst::StateChange) -> Result<gst::StateChangeSuccess, gst::StateChangeError> {
        if transition == gst::StateChange::NullToReady {
            if self.overlay.is_none() {
                gst::element_imp_error!(
                    self,
                    gst::CoreError::MissingPlugin,
                    ["c2paverify needs textoverlay (Debian package gstreamer1.0-x)"]
                );
                return Err(gst::StateChangeError);
            }
            if self.settings.lock().unwrap().policy.is_none() {
                gst::element_imp_error!(
                    self,
                    gst::ResourceError::Settings,
                    [
                        "set `policy` to a provenance-policy plugin, e.g. the default one built from plugins/provenance-policy"
                    ]
                );
                return Err(gst::StateChangeError);
            }
        }
        if transition == gst::StateChange::ReadyToNull {
            self.outcome.lock().unwrap().take();
        }
        self.parent_change_state(transition)
    }
}

impl BinImpl for C2paVerify {}

impl C2paVerify {
    fn on_buffer(&self, pad: &gst::Pad, info: &mut gst::PadProbeInfo) -> gst::PadProbeReturn {
        let outcome = self.outcome.lock().unwrap().clone();
        let outcome = match outcome {
            Some(outcome) => outcome,
            None => match self.check(pad) {
                Ok(outcome) => {
                    self.apply(&outcome);
                    let outcome = Arc::new(outcome);
                    *self.outcome.lock().unwrap() = Some(outcome.clone());
                    outcome
                }
                Err(why) => {
                    gst::element_imp_error!(self, gst::StreamError::Failed, ["{}", why]);
                    return refuse(info);
                }
            },
        };
        if outcome.decision == Decision::Reject {
            return refuse(info);
        }
        if let Some(gst::PadProbeData::Buffer(buffer)) = info.data.as_mut() {
            let mut record = Record::default();
            record.set("provenance.state", outcome.state.as_str());
            record.set("provenance.decision", decision_name(outcome.decision));
            if outcome.decision == Decision::Throttle {
                record.set("provenance.throttle", true);
            }
            SlateMeta::add(buffer.make_mut(), record);
        }
        gst::PadProbeReturn::Ok
    }

    /// Verifies the input and asks the policy.
    fn check(&self, pad: &gst::Pad) -> Result<Outcome, String> {
        let settings = self.settings.lock().unwrap().clone();
        let location = match settings.location {
            Some(location) => location,
            None => upstream_file(pad)
                .ok_or("cannot tell which file is ingested: upstream does not say (URI query); set `location`")?,
        };
        let trust = trust(settings.trust_anchors.as_deref())?;
        let report = slate_provenance::verify(&location, None, &trust);
        let state = serde_json::to_value(report.state)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        let report_json = serde_json::to_string(&report).map_err(|e| e.to_string())?;
        let policy_path = settings.policy.expect("checked at READY");
        let plugin = Host::global()
            .and_then(|host| host.load(&policy_path))
            .map_err(|e| format!("policy {}: {e}", policy_path.display()))?;
        let verdict = Stage::new(plugin, &settings.policy_config, Limits::default())
            .and_then(|mut stage| stage.decide(&report_json))
            .map_err(|e| format!("policy {}: {e}", policy_path.display()))?;
        gst::info!(
            CAT,
            imp = self,
            "{}: {state} -> {} ({})",
            location.display(),
            decision_name(verdict.decision),
            verdict.reason
        );
        crate::post_element_message(
            self.obj().upcast_ref(),
            gst::Structure::builder(PROVENANCE_MESSAGE)
                .field("location", location.display().to_string())
                .field("state", state.as_str())
                .field("decision", decision_name(verdict.decision))
                .field("reason", verdict.reason.as_str())
                .field("report", report_json.as_str())
                .build(),
        );
        if verdict.decision == Decision::Reject {
            gst::element_imp_error!(
                self,
                gst::StreamError::Decrypt,
                (
                    "{} rejected by the provenance policy: {}",
                    location.display(),
                    verdict.reason
                ),
                ["validation state {state}; report: {report_json}"]
            );
        }
        Ok(Outcome {
            state,
            decision: verdict.decision,
            reason: verdict.reason,
            report: report_json,
        })
    }

    fn apply(&self, outcome: &Outcome) {
        if outcome.decision == Decision::Label
            && let Some(overlay) = &self.overlay
        {
            overlay.set_property("text", format!("Unverified: {}", outcome.reason));
            overlay.set_property("silent", false);
        }
    }
}

/// Consumes the buffer and fails the flow: the input goes no further.
/// (`Handled` rather than `Drop`: GStreamer 1.22 unrefs a dropped buffer
/// the bindings have already released.)
fn refuse(info: &mut gst::PadProbeInfo) -> gst::PadProbeReturn {
    info.flow_res = Err(gst::FlowError::Error);
    gst::PadProbeReturn::Handled
}

/// The file upstream reads, if it says (filesrc answers URI queries).
fn upstream_file(pad: &gst::Pad) -> Option<PathBuf> {
    let mut query = gst::query::Uri::new();
    if !pad.peer_query(&mut query) {
        return None;
    }
    let uri = query.uri()?;
    glib::filename_from_uri(&uri).ok().map(|(path, _)| path)
}

/// The trust list: the given PEM file, or the local signing CA if there is one.
fn trust(anchors: Option<&Path>) -> Result<slate_provenance::Trust, String> {
    let trust = slate_provenance::Trust::default();
    match anchors {
        Some(path) => trust.with_file(path).map_err(|e| format!("trust-anchors {e}")),
        None => Ok(trust.with_local_ca(&slate_store::data_dir())),
    }
}
