//! Verifying what a publish wrote: one file, an HLS media playlist (each
//! segment checked with the init segment named before it), or a folder.

use std::path::{Path, PathBuf};

use crate::error::{ProvenanceError, file_error};
use crate::verify::{Report, Trust, verify};

/// Verifies `path`: a media file; an `.m3u8` media playlist; or a folder,
/// by its playlists when it has any, else every media file in it.
pub fn verify_path(path: &Path, trust: &Trust) -> Result<Vec<Report>, ProvenanceError> {
    if path.is_dir() {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
            .map_err(|e| file_error(path, e))?
            .filter_map(|entry| entry.ok().map(|e| e.path()))
            .filter(|p| p.is_file() && !hidden(p))
            .collect();
        entries.sort();
        let playlists: Vec<&PathBuf> = entries.iter().filter(|p| is_playlist(p)).collect();
        if !playlists.is_empty() {
            // A master playlist and its media playlists name the same
            // segments: check each once.
            let mut groups: Vec<(PathBuf, Vec<PathBuf>)> = Vec::new();
            for playlist in playlists {
                for group in playlist_groups(playlist)? {
                    if !groups.iter().any(|(init, _)| *init == group.0) {
                        groups.push(group);
                    }
                }
            }
            return Ok(groups
                .into_iter()
                .map(|(init, segments)| verify(&init, Some(&segments), trust))
                .collect());
        }
        return Ok(entries
            .iter()
            .filter(|p| crate::media_type(p).is_some())
            .map(|p| verify(p, None, trust))
            .collect());
    }
    if is_playlist(path) {
        return verify_playlist(path, trust);
    }
    if !path.exists() {
        return Err(file_error(path, "no such file or folder"));
    }
    Ok(vec![verify(path, None, trust)])
}

fn hidden(path: &Path) -> bool {
    path.file_name().is_some_and(|n| n.to_string_lossy().starts_with('.'))
}

fn is_playlist(path: &Path) -> bool {
    path.extension().is_some_and(|e| e.eq_ignore_ascii_case("m3u8"))
}

/// The segments of a media playlist, grouped under the init segment
/// (`EXT-X-MAP`) in force for them, paths resolved beside the playlist.
pub fn playlist_groups(playlist: &Path) -> Result<Vec<(PathBuf, Vec<PathBuf>)>, ProvenanceError> {
    groups_of(playlist, 0)
}

fn groups_of(playlist: &Path, depth: usize) -> Result<Vec<(PathBuf, Vec<PathBuf>)>, ProvenanceError> {
    if depth > 2 {
        return Err(file_error(playlist, "playlists nest deeper than master -> media"));
    }
    let text = std::fs::read_to_string(playlist).map_err(|e| file_error(playlist, e))?;
    let folder = playlist.parent().unwrap_or(Path::new("."));
    let mut groups: Vec<(PathBuf, Vec<PathBuf>)> = Vec::new();
    for (number, line) in text.lines().map(str::trim).enumerate() {
        let uri = |tag: &str| {
            tag.split(',')
                .find_map(|attribute| attribute.trim().strip_prefix("URI="))
                .map(|uri| uri.trim_matches('"').to_owned())
        };
        if let Some(map) = line.strip_prefix("#EXT-X-MAP:") {
            let uri = uri(map)
                .ok_or_else(|| file_error(playlist, format!("line {}: EXT-X-MAP without a URI", number + 1)))?;
            groups.push((folder.join(uri), Vec::new()));
        } else if let Some(media) = line.strip_prefix("#EXT-X-MEDIA:") {
            // A master playlist's other renditions (audio, subtitles).
            if let Some(uri) = uri(media) {
                groups.extend(groups_of(&folder.join(uri), depth + 1)?);
            }
        } else if is_playlist(Path::new(line)) {
            // A master playlist's variant.
            groups.extend(groups_of(&folder.join(line), depth + 1)?);
        } else if !line.is_empty() && !line.starts_with('#') {
            let group = groups.last_mut().ok_or_else(|| {
                file_error(
                    playlist,
                    format!(
                        "line {}: a segment before any EXT-X-MAP (only fragmented MP4 HLS carries C2PA)",
                        number + 1
                    ),
                )
            })?;
            group.1.push(folder.join(line));
        }
    }
    Ok(groups)
}

/// One report per init segment, covering the segments that use it.
pub fn verify_playlist(playlist: &Path, trust: &Trust) -> Result<Vec<Report>, ProvenanceError> {
    Ok(playlist_groups(playlist)?
        .into_iter()
        .map(|(init, segments)| verify(&init, Some(&segments), trust))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_go_with_the_init_before_them() {
        let dir = tempfile::tempdir().unwrap();
        let playlist = dir.path().join("live.m3u8");
        std::fs::write(
            &playlist,
            "#EXTM3U\n#EXT-X-MAP:URI=\"init-00000.mp4\"\n#EXTINF:2.0,\nsegment00000.m4s\n\
             #EXT-X-MAP:URI=\"init-00001.mp4\"\n#EXTINF:2.0,\nsegment00001.m4s\n#EXT-X-ENDLIST\n",
        )
        .unwrap();
        let groups = playlist_groups(&playlist).unwrap();
        assert_eq!(groups.len(), 2);
        assert_eq!(groups[1].0, dir.path().join("init-00001.mp4"));
        assert_eq!(groups[1].1, vec![dir.path().join("segment00001.m4s")]);
    }

    #[test]
    fn a_master_playlist_leads_to_its_renditions() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("demo.m3u8"),
            "#EXTM3U\n#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"audio\",NAME=\"audio\",URI=\"demo-audio.m3u8\"\n\
             #EXT-X-STREAM-INF:BANDWIDTH=1,AUDIO=\"audio\"\ndemo-video.m3u8\n",
        )
        .unwrap();
        for kind in ["video", "audio"] {
            std::fs::write(
                dir.path().join(format!("demo-{kind}.m3u8")),
                format!(
                    "#EXTM3U\n#EXT-X-MAP:URI=\"demo-{kind}-init-00000.mp4\"\n#EXTINF:2.0,\ndemo-{kind}-00000.m4s\n"
                ),
            )
            .unwrap();
        }
        let groups = playlist_groups(&dir.path().join("demo.m3u8")).unwrap();
        let inits: Vec<_> = groups
            .iter()
            .map(|(init, _)| init.file_name().unwrap().to_str().unwrap())
            .collect();
        assert_eq!(inits, ["demo-audio-init-00000.mp4", "demo-video-init-00000.mp4"]);
    }

    #[test]
    fn a_transport_stream_playlist_is_refused_by_line() {
        let dir = tempfile::tempdir().unwrap();
        let playlist = dir.path().join("ts.m3u8");
        std::fs::write(&playlist, "#EXTM3U\n#EXTINF:2.0,\nsegment00000.ts\n").unwrap();
        let error = playlist_groups(&playlist).unwrap_err().to_string();
        assert!(error.contains("ts.m3u8") && error.contains("line 3"), "{error}");
    }
}
