//! The published media playlist: each segment with the init segment that
//! carries its manifest. Rewritten whole (write then rename) so a reader
//! never sees half of it.

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

    pub(super) fn write(&self, path: &Path, target_duration: u32) -> std::io::Result<()> {
        let partial = path.with_extension("m3u8.partial");
        std::fs::write(&partial, self.render(target_duration))?;
        std::fs::rename(&partial, path)
    }
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
}
