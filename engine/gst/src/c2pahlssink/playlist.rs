//! The published playlists: a media playlist per rendition, each segment
//! with the init segment that carries its manifest, and the master
//! playlist over the renditions. Rewritten whole (write, then rename) so a
//! reader never sees half of one.

use std::fmt::Write;
use std::path::Path;
use std::time::Duration;

#[derive(Debug, Default)]
pub(super) struct Playlist {
    /// (init file name, segment file name, duration)
    entries: Vec<(String, String, Duration)>,
    ended: bool,
}

impl Playlist {
    pub(super) fn add(&mut self, init: String, segment: String, duration: Duration) {
        self.entries.push((init, segment, duration));
    }

    pub(super) fn end(&mut self) {
        self.ended = true;
    }

    pub(super) fn render(&self, target_duration: u32) -> String {
        let longest = self
            .entries
            .iter()
            .map(|(_, _, d)| d.as_secs_f64().ceil() as u32)
            .max()
            .unwrap_or(0);
        let mut text = String::new();
        let _ = writeln!(text, "#EXTM3U");
        let _ = writeln!(text, "#EXT-X-VERSION:7");
        let _ = writeln!(text, "#EXT-X-TARGETDURATION:{}", longest.max(target_duration));
        let _ = writeln!(text, "#EXT-X-MEDIA-SEQUENCE:0");
        let _ = writeln!(text, "#EXT-X-PLAYLIST-TYPE:EVENT");
        let _ = writeln!(text, "#EXT-X-INDEPENDENT-SEGMENTS");
        for (init, segment, duration) in &self.entries {
            let _ = writeln!(text, "#EXT-X-MAP:URI=\"{init}\"");
            let _ = writeln!(text, "#EXTINF:{:.3},", duration.as_secs_f64());
            let _ = writeln!(text, "{segment}");
        }
        if self.ended {
            let _ = writeln!(text, "#EXT-X-ENDLIST");
        }
        text
    }
}

/// One rendition as the master playlist names it.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Master {
    pub uri: String,
    pub codecs: Option<String>,
    pub peak_bps: u64,
}

/// The master playlist: the video rendition as the variant, the audio one
/// as its audio group (or the audio alone as the variant).
pub(super) fn master(video: Option<&Master>, audio: Option<&Master>) -> String {
    let mut text = String::from("#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-INDEPENDENT-SEGMENTS\n");
    let codecs: Vec<&str> = [video, audio]
        .into_iter()
        .flatten()
        .filter_map(|r| r.codecs.as_deref())
        .collect();
    let bandwidth: u64 = [video, audio].into_iter().flatten().map(|r| r.peak_bps).sum();
    let mut attributes = format!("BANDWIDTH={bandwidth}");
    if !codecs.is_empty() {
        let _ = write!(attributes, ",CODECS=\"{}\"", codecs.join(","));
    }
    let variant = match (video, audio) {
        (Some(video), Some(audio)) => {
            let _ = writeln!(
                text,
                "#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"audio\",NAME=\"audio\",DEFAULT=YES,AUTOSELECT=YES,URI=\"{}\"",
                audio.uri
            );
            attributes.push_str(",AUDIO=\"audio\"");
            video
        }
        (Some(only), None) | (None, Some(only)) => only,
        (None, None) => return text,
    };
    let _ = writeln!(text, "#EXT-X-STREAM-INF:{attributes}\n{}", variant.uri);
    text
}

pub(super) fn write_atomically(path: &Path, text: &str) -> Result<(), String> {
    let partial = path.with_extension("m3u8.partial");
    std::fs::write(&partial, text)
        .and_then(|()| std::fs::rename(&partial, path))
        .map_err(|e| format!("{}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_segment_names_its_init_and_the_end_is_marked() {
        let mut playlist = Playlist::default();
        playlist.add(
            "init-00000.mp4".into(),
            "segment00000.m4s".into(),
            Duration::from_millis(2000),
        );
        playlist.add(
            "init-00001.mp4".into(),
            "segment00001.m4s".into(),
            Duration::from_millis(2500),
        );
        let live = playlist.render(2);
        assert!(
            live.contains("#EXT-X-TARGETDURATION:3"),
            "the longest segment rounds up: {live}"
        );
        assert!(
            live.contains("#EXT-X-MAP:URI=\"init-00001.mp4\"\n#EXTINF:2.500,\nsegment00001.m4s\n"),
            "{live}"
        );
        assert!(!live.contains("ENDLIST"));
        playlist.end();
        assert!(playlist.render(2).ends_with("#EXT-X-ENDLIST\n"));
    }

    #[test]
    fn the_master_pairs_video_with_its_audio_group() {
        let video = Master {
            uri: "demo-video.m3u8".into(),
            codecs: Some("avc1.64001f".into()),
            peak_bps: 4_000_000,
        };
        let audio = Master {
            uri: "demo-audio.m3u8".into(),
            codecs: Some("mp4a.40.2".into()),
            peak_bps: 130_000,
        };
        let both = master(Some(&video), Some(&audio));
        assert!(both.contains("#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"audio\""), "{both}");
        assert!(
            both.contains("#EXT-X-STREAM-INF:BANDWIDTH=4130000,CODECS=\"avc1.64001f,mp4a.40.2\",AUDIO=\"audio\"\ndemo-video.m3u8\n"),
            "{both}"
        );
        let alone = master(Some(&video), None);
        assert!(
            !alone.contains("EXT-X-MEDIA")
                && alone.ends_with("BANDWIDTH=4000000,CODECS=\"avc1.64001f\"\ndemo-video.m3u8\n"),
            "{alone}"
        );
    }
}
