use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::{LazyLock, Mutex};
use std::time::{Duration, Instant};

use gst::glib;
use gst::prelude::*;
use gst::subclass::prelude::*;
use slate_provenance::{Identity, Story};

use super::SEGMENT_MESSAGE;
use super::playlist::{Master, Playlist, write_atomically};
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
/// The renditions, by pad name.
const KINDS: [&str; 2] = ["video", "audio"];

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

/// One rendition (one `hlscmafsink`): its media playlist and staging folder.
struct Rendition {
    /// `STEM-KIND`: the first part of its file names.
    name: String,
    staging: PathBuf,
    playlist: Playlist,
    /// RFC 6381 codec of the stream, from its caps.
    codecs: Option<String>,
    /// Highest bit rate of a segment so far.
    peak_bps: u64,
    signed: u64,
    ended: bool,
}

/// One run, from READY to the end of the stream.
struct Live {
    stem: String,
    folder: PathBuf,
    target_duration: u32,
    renditions: BTreeMap<String, Rendition>,
    identity: Identity,
    signing: Signing,
    /// Made at the first segment, when the stages upstream have started.
    story: Option<Story>,
    stream: String,
}

pub struct C2paHlsSink {
    settings: Mutex<Settings>,
    live: Mutex<Option<Live>>,
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
        }
    }
}

impl ObjectImpl for C2paHlsSink {
    fn properties() -> &'static [glib::ParamSpec] {
        static PROPERTIES: LazyLock<Vec<glib::ParamSpec>> = LazyLock::new(|| {
            let mut properties = vec![
                glib::ParamSpecString::builder("playlist-location")
                    .nick("Playlist location")
                    .blurb("The master playlist to publish; media playlists, segments and init segments go beside it")
                    .default_value(Some(DEFAULT_PLAYLIST))
                    .mutable_ready()
                    .build(),
                glib::ParamSpecUInt::builder("target-duration")
                    .nick("Target duration")
                    .blurb("Segment length to aim for, in seconds (video segments cut on key frames)")
                    .minimum(1)
                    .default_value(DEFAULT_TARGET_DURATION)
                    .mutable_ready()
                    .build(),
                glib::ParamSpecUInt64::builder("segments")
                    .nick("Segments")
                    .blurb("How many segments have been signed and published, all renditions")
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
            name => settings.signing.set(name, value),
        }
    }

    fn property(&self, _id: usize, pspec: &glib::ParamSpec) -> glib::Value {
        match pspec.name() {
            "segments" => {
                let live = self.live.lock().unwrap();
                live.as_ref()
                    .map_or(0, |l| l.renditions.values().map(|r| r.signed).sum::<u64>())
                    .to_value()
            }
            name => {
                let settings = self.settings.lock().unwrap();
                match name {
                    "playlist-location" => settings.playlist.display().to_string().to_value(),
                    "target-duration" => settings.target_duration.to_value(),
                    name => settings.signing.get(name),
                }
            }
        }
    }

    fn constructed(&self) {
        self.parent_constructed();
        self.obj().set_element_flags(gst::ElementFlags::SINK);
    }
}

impl GstObjectImpl for C2paHlsSink {}

impl ElementImpl for C2paHlsSink {
    fn metadata() -> Option<&'static gst::subclass::ElementMetadata> {
        static METADATA: LazyLock<gst::subclass::ElementMetadata> = LazyLock::new(|| {
            gst::subclass::ElementMetadata::new(
                "Slate signed live HLS sink",
                "Sink/Muxer",
                "Live HLS in CMAF segments (hlscmafsink), a video and an audio rendition, each segment signed with C2PA as soon as it is written",
                "Slate developers",
            )
        });
        Some(&*METADATA)
    }

    fn pad_templates() -> &'static [gst::PadTemplate] {
        static TEMPLATES: LazyLock<Vec<gst::PadTemplate>> = LazyLock::new(|| {
            let video = gst::Caps::builder_full()
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
                .build();
            let audio = gst::Caps::builder("audio/mpeg")
                .field("mpegversion", 4i32)
                .field("stream-format", "raw")
                .build();
            [("video", video), ("audio", audio)]
                .into_iter()
                .map(|(name, caps)| {
                    gst::PadTemplate::new(name, gst::PadDirection::Sink, gst::PadPresence::Request, &caps)
                        .expect("a valid template")
                })
                .collect()
        });
        TEMPLATES.as_ref()
    }

    fn request_new_pad(
        &self,
        template: &gst::PadTemplate,
        _name: Option<&str>,
        _caps: Option<&gst::Caps>,
    ) -> Option<gst::Pad> {
        let kind = template.name_template().to_string();
        let obj = self.obj();
        if obj.static_pad(&kind).is_some() {
            gst::error!(CAT, imp = self, "there is one {kind} rendition; its pad is taken");
            return None;
        }
        // Registered by the slate CLI with cmafmux (gst-plugin-fmp4).
        let Ok(hls) = gst::ElementFactory::make("hlscmafsink")
            .name(format!("hls-{kind}"))
            .build()
        else {
            gst::element_imp_error!(
                self,
                gst::CoreError::MissingPlugin,
                [
                    "c2pahlssink needs hlscmafsink (gst-plugin-hlssink3) and cmafmux (gst-plugin-fmp4); the slate CLI registers both"
                ]
            );
            return None;
        };
        obj.add(&hls).ok()?;
        let target = hls.static_pad("sink")?;
        let pad = gst::GhostPad::builder_from_template_with_target(template, &target)
            .ok()?
            .name(kind.as_str())
            .build();
        pad.set_active(true).ok()?;
        obj.add_pad(&pad).ok()?;
        if obj.current_state() > gst::State::Null {
            self.configure(&kind, &hls).ok()?;
            hls.sync_state_with_parent().ok()?;
        }
        Some(pad.upcast())
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
        let kind = message
            .src()
            .and_then(|src| src.name().strip_prefix("hls-").map(str::to_owned))
            .filter(|kind| KINDS.contains(&kind.as_str()));
        match (message.view(), kind) {
            (gst::MessageView::Element(element), Some(kind)) => {
                if let Some(added) = element.structure().filter(|s| s.name() == "hls-segment-added") {
                    let location = added.get::<String>("location").unwrap_or_default();
                    let duration = added.get::<gst::ClockTime>("duration").unwrap_or_default();
                    if let Err(why) = self.publish(&kind, Path::new(&location), duration.into()) {
                        gst::element_imp_error!(self, gst::ResourceError::Write, ["{}", why]);
                    }
                    return;
                }
            }
            (gst::MessageView::Eos(_), Some(kind)) => {
                if let Err(why) = self.end(&kind) {
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
        let settings = self.settings.lock().unwrap();
        let identity = settings.signing.check().map_err(|why| {
            gst::element_imp_error!(self, gst::ResourceError::Settings, ["{}", why]);
            gst::StateChangeError
        })?;
        let folder = settings
            .playlist
            .parent()
            .map(Path::to_owned)
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or_else(|| ".".into());
        let stem = settings
            .playlist
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        *self.live.lock().unwrap() = Some(Live {
            stem,
            folder,
            target_duration: settings.target_duration,
            renditions: BTreeMap::new(),
            identity,
            signing: settings.signing.clone(),
            story: None,
            stream: format!("{:x}-{:x}", now.as_nanos(), std::process::id()),
        });
        drop(settings);
        for kind in KINDS {
            if let Some(hls) = self.obj().by_name(&format!("hls-{kind}")) {
                self.configure(kind, &hls)?;
            }
        }
        Ok(())
    }

    /// Points one rendition's `hlscmafsink` at its staging folder.
    fn configure(&self, kind: &str, hls: &gst::Element) -> Result<(), gst::StateChangeError> {
        let mut guard = self.live.lock().unwrap();
        let live = guard.as_mut().ok_or(gst::StateChangeError)?;
        let name = format!("{}-{kind}", live.stem);
        let staging = live.folder.join(format!(".unsigned-{name}"));
        for dir in [&live.folder, &staging] {
            std::fs::create_dir_all(dir).map_err(|e| {
                gst::element_imp_error!(
                    self,
                    gst::ResourceError::OpenWrite,
                    ["{}: cannot make the folder: {}", dir.display(), e]
                );
                gst::StateChangeError
            })?;
        }
        hls.set_property("playlist-location", staging.join("index.m3u8").display().to_string());
        hls.set_property("init-location", staging.join("init%05d.mp4").display().to_string());
        hls.set_property(
            "location",
            staging.join(format!("{name}-%05d.m4s")).display().to_string(),
        );
        hls.set_property("target-duration", live.target_duration);
        // hlscmafsink keeps the latency of its own default target duration
        // (7.5 s); a segment should reach viewers within half its length.
        hls.set_property(
            "latency",
            u64::from(live.target_duration) * 500 * gst::ClockTime::MSECOND.nseconds(),
        );
        live.renditions.insert(
            kind.to_owned(),
            Rendition {
                name,
                staging,
                playlist: Playlist::default(),
                codecs: None,
                peak_bps: 0,
                signed: 0,
                ended: false,
            },
        );
        Ok(())
    }

    /// Signs one finished segment with its init segment and publishes both.
    fn publish(&self, kind: &str, segment: &Path, duration: Duration) -> Result<(), String> {
        let started = Instant::now();
        let codecs = self
            .obj()
            .static_pad(kind)
            .and_then(|pad| pad.current_caps())
            .and_then(|caps| codec_of(&caps));
        let mut guard = self.live.lock().unwrap();
        let live = guard.as_mut().ok_or("a segment came before the sink was ready")?;
        if live.story.is_none() {
            live.story = Some(live.signing.story(self.obj().upcast_ref())?);
        }
        let rendition = live
            .renditions
            .get_mut(kind)
            .ok_or("a segment of a rendition never set up")?;
        let name = segment
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .ok_or("a segment without a name")?;
        let sequence = rendition.signed;
        let init = latest_init(&rendition.staging)?;
        let mut story = live.story.clone().expect("made above");
        // Inputs are named once, in the stream's story, not in every segment.
        story.ingredients.clear();
        story.segment = Some(serde_json::json!({
            "stream": live.stream,
            "rendition": kind,
            "sequence": sequence,
            "duration": duration.as_secs_f64(),
        }));
        let out = rendition.staging.join("signed");
        let _ = std::fs::remove_dir_all(&out);
        slate_provenance::sign_fragmented(&live.identity, &story, &init, &name, &out).map_err(|e| e.to_string())?;
        // The signer writes into a folder named like the one the init is in.
        let written = out.join(rendition.staging.file_name().expect("staging has a name"));
        let init_name = format!("{}-init-{sequence:05}.mp4", rendition.name);
        let moves = [
            (
                written.join(init.file_name().expect("init has a name")),
                live.folder.join(&init_name),
            ),
            (written.join(&name), live.folder.join(&name)),
        ];
        for (from, to) in &moves {
            std::fs::rename(from, to).map_err(|e| format!("{} -> {}: {e}", from.display(), to.display()))?;
            // Published files are for everyone to read (the signer makes
            // them private).
            std::fs::set_permissions(to, std::fs::Permissions::from_mode(0o644))
                .map_err(|e| format!("{}: {e}", to.display()))?;
        }
        std::fs::remove_file(segment).map_err(|e| format!("{}: {e}", segment.display()))?;
        let bytes: u64 = moves
            .iter()
            .filter_map(|(_, to)| std::fs::metadata(to).ok())
            .map(|m| m.len())
            .sum();
        rendition.peak_bps = rendition
            .peak_bps
            .max((bytes as f64 * 8.0 / duration.as_secs_f64().max(0.001)) as u64);
        rendition.codecs = rendition.codecs.take().or(codecs);
        rendition.playlist.add(init_name.clone(), name.clone(), duration);
        rendition.signed += 1;
        let media = live.folder.join(format!("{}.m3u8", rendition.name));
        write_atomically(&media, &rendition.playlist.render(live.target_duration))?;
        write_master(live)?;
        let took = started.elapsed();
        gst::debug!(CAT, imp = self, "signed {name} in {:.1} ms", took.as_secs_f64() * 1e3);
        let message = gst::Structure::builder(SEGMENT_MESSAGE)
            .field("rendition", kind)
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

    /// Marks one rendition's playlist ended; once all have ended, clears
    /// the staging folders.
    fn end(&self, kind: &str) -> Result<(), String> {
        let mut guard = self.live.lock().unwrap();
        let Some(live) = guard.as_mut() else { return Ok(()) };
        let target_duration = live.target_duration;
        let Some(rendition) = live.renditions.get_mut(kind) else {
            return Ok(());
        };
        rendition.ended = true;
        rendition.playlist.end();
        let media = live.folder.join(format!("{}.m3u8", rendition.name));
        write_atomically(&media, &rendition.playlist.render(target_duration))?;
        if live.renditions.values().all(|r| r.ended) {
            for rendition in live.renditions.values() {
                std::fs::remove_dir_all(&rendition.staging)
                    .map_err(|e| format!("{}: {e}", rendition.staging.display()))?;
            }
        }
        Ok(())
    }
}

/// Writes the master playlist once every rendition has a segment.
fn write_master(live: &Live) -> Result<(), String> {
    if live.renditions.values().any(|r| r.signed == 0) {
        return Ok(());
    }
    let rendition = |kind: &str| {
        live.renditions.get(kind).map(|r| Master {
            uri: format!("{}.m3u8", r.name),
            codecs: r.codecs.clone(),
            peak_bps: r.peak_bps,
        })
    };
    let text = super::playlist::master(rendition("video").as_ref(), rendition("audio").as_ref());
    write_atomically(&live.folder.join(format!("{}.m3u8", live.stem)), &text)
}

/// The RFC 6381 codec string of H.264 or AAC caps, from their codec data.
fn codec_of(caps: &gst::CapsRef) -> Option<String> {
    let structure = caps.structure(0)?;
    let data = structure.get::<gst::Buffer>("codec_data").ok()?;
    let data = data.map_readable().ok()?;
    match structure.name().as_str() {
        // avcC: version, profile, compatibility, level.
        "video/x-h264" if data.len() >= 4 => Some(format!("avc1.{:02x}{:02x}{:02x}", data[1], data[2], data[3])),
        // AudioSpecificConfig: the object type is the first five bits.
        "audio/mpeg" if !data.is_empty() => Some(format!("mp4a.40.{}", data[0] >> 3)),
        _ => None,
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
