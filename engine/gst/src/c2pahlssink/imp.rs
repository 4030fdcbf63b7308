use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::{LazyLock, Mutex};
use std::time::{Duration, Instant};

use gst::glib;
use gst::prelude::*;
use gst::subclass::prelude::*;
use slate_provenance::{Identity, Story};

use super::SEGMENT_MESSAGE;
use super::playlist::Playlist;
use crate::signing::Signing;

static CAT: LazyLock<gst::DebugCategory> = LazyLock::new(|| {
    gst::DebugCategory::new(
        "c2pahlssink",
        gst::DebugColorFlags::empty(),
        Some("Slate signed live HLS sink"),
    )
});

const DEFAULT_PLAYLIST: &str = "playlist.m3u8";
const DEFAULT_TARGET_DURATION: u32 = 2;

#[derive(Debug)]
struct Settings {
    playlist: PathBuf,
    target_duration: u32,
    signing: Signing,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            playlist: PathBuf::from(DEFAULT_PLAYLIST),
            target_duration: DEFAULT_TARGET_DURATION,
            signing: Signing::default(),
        }
    }
}

/// One run, from READY to the end of the stream.
struct Live {
    /// The playlist's file stem: the first part of every file name.
    name: String,
    folder: PathBuf,
    staging: PathBuf,
    playlist_path: PathBuf,
    target_duration: u32,
    playlist: Playlist,
    identity: Identity,
    signing: Signing,
    /// Made at the first segment, when the stages upstream have started.
    story: Option<Story>,
    stream: String,
    signed: u64,
}

pub struct C2paHlsSink {
    settings: Mutex<Settings>,
    live: Mutex<Option<Live>>,
    hls: Option<gst::Element>,
}

#[glib::object_subclass]
impl ObjectSubclass for C2paHlsSink {
    const NAME: &'static str = "GstC2paHlsSink";
    type Type = super::C2paHlsSink;
    type ParentType = gst::Bin;

    fn with_class(_klass: &Self::Class) -> Self {
        C2paHlsSink {
            settings: Mutex::new(Settings::default()),
            live: Mutex::new(None),
            // Registered by the slate CLI with cmafmux (gst-plugin-fmp4).
            hls: gst::ElementFactory::make("hlscmafsink").name("hls").build().ok(),
        }
    }
}

impl ObjectImpl for C2paHlsSink {
    fn properties() -> &'static [glib::ParamSpec] {
        static PROPERTIES: LazyLock<Vec<glib::ParamSpec>> = LazyLock::new(|| {
            let mut properties = vec![
                glib::ParamSpecString::builder("playlist-location")
                    .nick("Playlist location")
                    .blurb("The media playlist to publish; segments and their init segments go beside it")
                    .default_value(Some(DEFAULT_PLAYLIST))
                    .mutable_ready()
                    .build(),
                glib::ParamSpecUInt::builder("target-duration")
                    .nick("Target duration")
                    .blurb("Segment length to aim for, in seconds (segments cut on key frames)")
                    .minimum(1)
                    .default_value(DEFAULT_TARGET_DURATION)
                    .mutable_ready()
                    .build(),
                glib::ParamSpecUInt64::builder("segments")
                    .nick("Segments")
                    .blurb("How many segments have been signed and published")
                    .read_only()
                    .build(),
            ];
            properties.extend(Signing::properties());
            properties
        });
        PROPERTIES.as_ref()
    }

    fn set_property(&self, _id: usize, value: &glib::Value, pspec: &glib::ParamSpec) {
        let mut settings = self.settings.lock().unwrap();
        match pspec.name() {
            "playlist-location" => {
                let path: Option<String> = value.get().expect("type checked upstream");
                settings.playlist = PathBuf::from(path.unwrap_or_else(|| DEFAULT_PLAYLIST.into()));
            }
            "target-duration" => settings.target_duration = value.get().expect("type checked upstream"),
            name => {
                settings.signing.set(name, value);
            }
        }
    }

    fn property(&self, _id: usize, pspec: &glib::ParamSpec) -> glib::Value {
        match pspec.name() {
            "segments" => self.live.lock().unwrap().as_ref().map_or(0, |l| l.signed).to_value(),
            name => {
                let settings = self.settings.lock().unwrap();
                match name {
                    "playlist-location" => settings.playlist.display().to_string().to_value(),
                    "target-duration" => settings.target_duration.to_value(),
                    name => settings.signing.get(name).expect("every property is handled"),
                }
            }
        }
    }

    fn constructed(&self) {
        self.parent_constructed();
        let obj = self.obj();
        let pad = match &self.hls {
            Some(hls) => {
                obj.add(hls).expect("a fresh bin takes hlscmafsink");
                let target = hls.static_pad("sink").expect("hlscmafsink has a sink pad");
                gst::GhostPad::builder_with_target(&target)
                    .expect("a sink target")
                    .name("sink")
                    .build()
            }
            None => gst::GhostPad::builder(gst::PadDirection::Sink).name("sink").build(),
        };
        obj.add_pad(&pad).expect("a fresh bin takes its pad");
        obj.set_element_flags(gst::ElementFlags::SINK);
    }
}

impl GstObjectImpl for C2paHlsSink {}

impl ElementImpl for C2paHlsSink {
    fn metadata() -> Option<&'static gst::subclass::ElementMetadata> {
        static METADATA: LazyLock<gst::subclass::ElementMetadata> = LazyLock::new(|| {
            gst::subclass::ElementMetadata::new(
                "Slate signed live HLS sink",
                "Sink/Muxer",
                "Live HLS in CMAF segments (hlscmafsink), each segment signed with C2PA as soon as it is written",
                "Slate developers",
            )
        });
        Some(&*METADATA)
    }

    fn pad_templates() -> &'static [gst::PadTemplate] {
        static TEMPLATES: LazyLock<Vec<gst::PadTemplate>> = LazyLock::new(|| {
            let caps = gst::Caps::builder_full()
                .structure(
                    gst::Structure::builder("video/x-h264")
                        .field("stream-format", gst::List::new(["avc", "avc3"]))
                        .field("alignment", "au")
                        .build(),
                )
                .structure(
                    gst::Structure::builder("video/x-h265")
                        .field("stream-format", gst::List::new(["hvc1", "hev1"]))
                        .field("alignment", "au")
                        .build(),
                )
                .structure(
                    gst::Structure::builder("audio/mpeg")
                        .field("mpegversion", 4i32)
                        .field("stream-format", "raw")
                        .build(),
                )
                .build();
            vec![
                gst::PadTemplate::new("sink", gst::PadDirection::Sink, gst::PadPresence::Always, &caps)
                    .expect("a valid template"),
            ]
        });
        TEMPLATES.as_ref()
    }

    fn change_state(&self, transition: gst::StateChange) -> Result<gst::StateChangeSuccess, gst::StateChangeError> {
        if transition == gst::StateChange::NullToReady {
            self.prepare()?;
        }
        let result = self.parent_change_state(transition);
        if transition == gst::StateChange::ReadyToNull {
            self.live.lock().unwrap().take();
        }
        result
    }
}

impl BinImpl for C2paHlsSink {
    fn handle_message(&self, message: gst::Message) {
        match message.view() {
            gst::MessageView::Element(element) => {
                if let Some(added) = element.structure().filter(|s| s.name() == "hls-segment-added") {
                    let location = added.get::<String>("location").unwrap_or_default();
                    let duration = added.get::<gst::ClockTime>("duration").unwrap_or_default();
                    if let Err(why) = self.publish(Path::new(&location), duration.into()) {
                        gst::element_imp_error!(self, gst::ResourceError::Write, ["{}", why]);
                    }
                    return;
                }
            }
            gst::MessageView::Eos(_) => {
                if let Err(why) = self.end() {
                    gst::element_imp_error!(self, gst::ResourceError::Write, ["{}", why]);
                }
            }
            _ => {}
        }
        self.parent_handle_message(message)
    }
}

impl C2paHlsSink {
    fn prepare(&self) -> Result<(), gst::StateChangeError> {
        let Some(hls) = &self.hls else {
            gst::element_imp_error!(
                self,
                gst::CoreError::MissingPlugin,
                [
                    "c2pahlssink needs hlscmafsink (gst-plugin-hlssink3) and cmafmux (gst-plugin-fmp4); the slate CLI registers both"
                ]
            );
            return Err(gst::StateChangeError);
        };
        let settings = self.settings.lock().unwrap();
        let fail = |why: String| {
            gst::element_imp_error!(self, gst::ResourceError::Settings, ["{}", why]);
            gst::StateChangeError
        };
        let identity = settings.signing.identity().map_err(|e| fail(e.to_string()))?;
        let playlist_path = settings.playlist.clone();
        let folder = playlist_path
            .parent()
            .map(Path::to_owned)
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or_else(|| ".".into());
        let stem = playlist_path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let staging = folder.join(format!(".unsigned-{stem}"));
        for dir in [&folder, &staging] {
            std::fs::create_dir_all(dir)
                .map_err(|e| fail(format!("{}: cannot make the folder: {e}", dir.display())))?;
        }
        hls.set_property("playlist-location", staging.join("index.m3u8").display().to_string());
        hls.set_property("init-location", staging.join("init%05d.mp4").display().to_string());
        // Named after the playlist, so renditions can share a folder.
        hls.set_property(
            "location",
            staging.join(format!("{stem}-%05d.m4s")).display().to_string(),
        );
        hls.set_property("target-duration", settings.target_duration);
        // hlscmafsink keeps the latency of its own default target duration
        // (7.5 s); a segment should reach viewers within half its length.
        hls.set_property(
            "latency",
            u64::from(settings.target_duration) * 500 * gst::ClockTime::MSECOND.nseconds(),
        );
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        *self.live.lock().unwrap() = Some(Live {
            name: stem.clone(),
            folder,
            staging,
            playlist_path,
            target_duration: settings.target_duration,
            playlist: Playlist::default(),
            identity,
            signing: settings.signing.clone(),
            story: None,
            stream: format!("{:x}-{:x}", now.as_nanos(), std::process::id()),
            signed: 0,
        });
        Ok(())
    }

    /// Signs one finished segment with its init segment and publishes both.
    fn publish(&self, segment: &Path, duration: Duration) -> Result<(), String> {
        let started = Instant::now();
        let mut guard = self.live.lock().unwrap();
        let live = guard.as_mut().ok_or("a segment came before the sink was ready")?;
        if live.story.is_none() {
            live.story = Some(live.signing.story(self.obj().upcast_ref())?);
        }
        let name = segment
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .ok_or("a segment without a name")?;
        let sequence = live.signed;
        let init = latest_init(&live.staging)?;
        let mut story = live.story.clone().expect("made above");
        // Inputs are named once, in the stream's story, not in every segment.
        story.ingredients.clear();
        story.segment = Some(serde_json::json!({
            "stream": live.stream,
            "sequence": sequence,
            "duration": duration.as_secs_f64(),
        }));
        let out = live.staging.join("signed");
        let _ = std::fs::remove_dir_all(&out);
        slate_provenance::sign_fragmented(&live.identity, &story, &init, &name, &out).map_err(|e| e.to_string())?;
        // The signer writes into a folder named like the one the init is in.
        let written = out.join(live.staging.file_name().expect("staging has a name"));
        let init_name = format!("{}-init-{sequence:05}.mp4", live.name);
        let moves = [
            (
                written.join(init.file_name().expect("init has a name")),
                live.folder.join(&init_name),
            ),
            (written.join(&name), live.folder.join(&name)),
        ];
        for (from, to) in moves {
            std::fs::rename(&from, &to).map_err(|e| format!("{} -> {}: {e}", from.display(), to.display()))?;
            // Published files are for everyone to read (the signer makes
            // them private).
            std::fs::set_permissions(&to, std::fs::Permissions::from_mode(0o644))
                .map_err(|e| format!("{}: {e}", to.display()))?;
        }
        std::fs::remove_file(segment).map_err(|e| format!("{}: {e}", segment.display()))?;
        live.playlist.add(init_name.clone(), name.clone(), duration);
        live.playlist
            .write(&live.playlist_path, live.target_duration)
            .map_err(|e| format!("{}: {e}", live.playlist_path.display()))?;
        live.signed += 1;
        let took = started.elapsed();
        gst::debug!(CAT, imp = self, "signed {name} in {:.1} ms", took.as_secs_f64() * 1e3);
        let message = gst::Structure::builder(SEGMENT_MESSAGE)
            .field("init", live.folder.join(&init_name).display().to_string())
            .field("segment", live.folder.join(&name).display().to_string())
            .field("sequence", sequence)
            .field("duration", duration.as_secs_f64())
            .field("sign-ms", took.as_secs_f64() * 1e3)
            .build();
        drop(guard);
        crate::post_element_message(self.obj().upcast_ref(), message);
        Ok(())
    }

    /// Marks the playlist ended and clears the staging folder.
    fn end(&self) -> Result<(), String> {
        let mut guard = self.live.lock().unwrap();
        let Some(live) = guard.as_mut() else { return Ok(()) };
        live.playlist.end();
        live.playlist
            .write(&live.playlist_path, live.target_duration)
            .map_err(|e| format!("{}: {e}", live.playlist_path.display()))?;
        std::fs::remove_dir_all(&live.staging).map_err(|e| format!("{}: {e}", live.staging.display()))
    }
}

/// The init segment in force: the newest one hlscmafsink wrote.
fn latest_init(staging: &Path) -> Result<PathBuf, String> {
    let mut inits: Vec<PathBuf> = std::fs::read_dir(staging)
        .map_err(|e| format!("{}: {e}", staging.display()))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name().is_some_and(|n| n.to_string_lossy().starts_with("init"))
                && p.extension().is_some_and(|e| e == "mp4")
        })
        .collect();
    inits.sort();
    inits
        .pop()
        .ok_or_else(|| format!("{}: no init segment was written", staging.display()))
}
