//! Track names in an MP4: the name of each track's handler (`hdlr`), which
//! players and `ffprobe` show as the track's `handler_name`. GStreamer's
//! `mp4mux` writes "SoundHandler" for every audio track; stems need their
//! own names.

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::Path;

use crate::AudioError;

/// Renames the tracks of `path` in order (`names[i]` for the i-th `trak`),
/// rewriting only the `moov` box. Chunk offsets are moved when `moov`
/// comes before the media data.
pub fn name_tracks(path: &Path, names: &[&str]) -> Result<(), AudioError> {
    let fail = |why: String| AudioError::Output {
        path: path.to_owned(),
        why,
    };
    let io = |e: std::io::Error| fail(e.to_string());
    let mut file = BufReader::new(File::open(path).map_err(io)?);
    let length = file.get_ref().metadata().map_err(io)?.len();
    // Top-level boxes: where moov is, and whether media data follows it.
    let mut at = 0;
    let (mut moov, mut mdat_after_moov) = (None, false);
    while at < length {
        file.seek(SeekFrom::Start(at)).map_err(io)?;
        let (size, kind, _) = read_header(&mut file, length - at).map_err(fail)?;
        if &kind == b"moov" {
            moov = Some((at, size));
        } else if &kind == b"mdat" && moov.is_some() {
            mdat_after_moov = true;
        }
        at += size;
    }
    let (moov_at, moov_size) = moov.ok_or_else(|| fail("not an MP4 file (no moov box)".into()))?;
    file.seek(SeekFrom::Start(moov_at)).map_err(io)?;
    let mut old = vec![0; moov_size as usize];
    file.read_exact(&mut old).map_err(io)?;
    let mut tracks = 0;
    let mut new = rename(&old, names, &mut tracks).map_err(fail)?;
    if tracks != names.len() {
        return Err(fail(format!(
            "has {tracks} tracks but {} names were given",
            names.len()
        )));
    }
    if mdat_after_moov {
        let delta = new.len() as i64 - old.len() as i64;
        shift_chunk_offsets(&mut new, delta).map_err(fail)?;
    }
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("out");
    let partial = path.with_file_name(format!(".{name}.partial"));
    let mut out = BufWriter::new(File::create(&partial).map_err(io)?);
    file.seek(SeekFrom::Start(0)).map_err(io)?;
    std::io::copy(&mut (&mut file).take(moov_at), &mut out).map_err(io)?;
    out.write_all(&new).map_err(io)?;
    file.seek(SeekFrom::Start(moov_at + moov_size)).map_err(io)?;
    std::io::copy(&mut file, &mut out).map_err(io)?;
    out.into_inner()
        .map_err(|e| io(e.into_error()))?
        .sync_all()
        .map_err(io)?;
    std::fs::rename(&partial, path).map_err(io)
}

/// A box header: total size, type, header length.
fn read_header(reader: &mut impl Read, left: u64) -> Result<(u64, [u8; 4], u64), String> {
    let mut head = [0u8; 8];
    reader.read_exact(&mut head).map_err(|e| format!("a box header: {e}"))?;
    let kind = [head[4], head[5], head[6], head[7]];
    let (size, header) = match u32::from_be_bytes([head[0], head[1], head[2], head[3]]) {
        0 => (left, 8),
        1 => {
            let mut large = [0u8; 8];
            reader.read_exact(&mut large).map_err(|e| e.to_string())?;
            (u64::from_be_bytes(large), 16)
        }
        size => (u64::from(size), 8),
    };
    if size < header || size > left {
        return Err(format!("box `{}` has a broken size", String::from_utf8_lossy(&kind)));
    }
    Ok((size, kind, header))
}

/// A box's type and its whole bytes.
type Child<'a> = ([u8; 4], &'a [u8]);

/// The children of a box's payload.
fn children(payload: &[u8]) -> Result<Vec<Child<'_>>, String> {
    let mut out = Vec::new();
    let mut at = 0;
    while at < payload.len() {
        let mut cursor = &payload[at..];
        let (size, kind, _) = read_header(&mut cursor, (payload.len() - at) as u64)?;
        out.push((kind, &payload[at..at + size as usize]));
        at += size as usize;
    }
    Ok(out)
}

fn boxed(kind: &[u8; 4], payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + 8);
    out.extend_from_slice(&(payload.len() as u32 + 8).to_be_bytes());
    out.extend_from_slice(kind);
    out.extend_from_slice(payload);
    out
}

/// Rebuilds `whole` (a box), giving each `hdlr` under `moov/trak/mdia`
/// the next name.
fn rename(whole: &[u8], names: &[&str], tracks: &mut usize) -> Result<Vec<u8>, String> {
    let mut cursor = whole;
    let (_, kind, header) = read_header(&mut cursor, whole.len() as u64)?;
    let payload = &whole[header as usize..];
    match &kind {
        b"moov" | b"trak" | b"mdia" => {
            let mut rebuilt = Vec::with_capacity(payload.len());
            for (child, bytes) in children(payload)? {
                if &kind == b"trak" && &child == b"mdia" {
                    *tracks += 1;
                }
                rebuilt.extend(rename(bytes, names, tracks)?);
            }
            Ok(boxed(&kind, &rebuilt))
        }
        b"hdlr" if *tracks > 0 && *tracks <= names.len() => {
            // version/flags, pre_defined, handler type, 3 reserved words.
            let fixed = payload.get(..24).ok_or("a short hdlr box")?;
            let name = names[*tracks - 1];
            let mut rebuilt = fixed.to_vec();
            rebuilt.extend_from_slice(name.as_bytes());
            rebuilt.push(0);
            Ok(boxed(&kind, &rebuilt))
        }
        _ => Ok(whole.to_vec()),
    }
}

/// Adds `delta` to every chunk offset (`stco`, `co64`) inside `moov`.
fn shift_chunk_offsets(moov: &mut [u8], delta: i64) -> Result<(), String> {
    fn walk(bytes: &mut [u8], delta: i64) -> Result<(), String> {
        let mut at = 0;
        while at + 8 <= bytes.len() {
            let size = u32::from_be_bytes(bytes[at..at + 4].try_into().unwrap()) as usize;
            let kind: [u8; 4] = bytes[at + 4..at + 8].try_into().unwrap();
            if size < 8 || at + size > bytes.len() {
                return Err("a broken box inside moov".into());
            }
            let payload = &mut bytes[at + 8..at + size];
            match &kind {
                b"trak" | b"mdia" | b"minf" | b"stbl" => walk(payload, delta)?,
                b"stco" | b"co64" => {
                    let wide = &kind == b"co64";
                    let width = if wide { 8 } else { 4 };
                    let count = u32::from_be_bytes(payload.get(4..8).ok_or("short stco")?.try_into().unwrap()) as usize;
                    for i in 0..count {
                        let field = payload
                            .get_mut(8 + i * width..8 + (i + 1) * width)
                            .ok_or("short stco")?;
                        let offset = if wide {
                            u64::from_be_bytes(field.try_into().unwrap()) as i64
                        } else {
                            i64::from(u32::from_be_bytes(field.try_into().unwrap()))
                        };
                        let moved = offset + delta;
                        if wide {
                            field.copy_from_slice(&(moved as u64).to_be_bytes());
                        } else {
                            let moved = u32::try_from(moved).map_err(|_| "a chunk offset overflows stco")?;
                            field.copy_from_slice(&moved.to_be_bytes());
                        }
                    }
                }
                _ => {}
            }
            at += size;
        }
        Ok(())
    }
    walk(&mut moov[8..], delta)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tiny MP4 shape: moov (two traks with hdlr and stco) before mdat.
    fn sample() -> Vec<u8> {
        let hdlr = |name: &str| {
            let mut payload = vec![0u8; 8];
            payload.extend_from_slice(b"soun");
            payload.extend_from_slice(&[0; 12]);
            payload.extend_from_slice(name.as_bytes());
            payload.push(0);
            boxed(b"hdlr", &payload)
        };
        let stco = |offset: u32| {
            let mut payload = vec![0, 0, 0, 0, 0, 0, 0, 1];
            payload.extend_from_slice(&offset.to_be_bytes());
            boxed(b"stco", &payload)
        };
        let trak = |offset| {
            let stbl = boxed(b"stbl", &stco(offset));
            let minf = boxed(b"minf", &stbl);
            let mdia = boxed(b"mdia", &[hdlr("SoundHandler"), minf].concat());
            boxed(b"trak", &mdia)
        };
        let ftyp = boxed(b"ftyp", b"isom\0\0\0\0");
        let moov_len = boxed(b"moov", &[trak(0), trak(0)].concat()).len() as u32;
        let data_at = ftyp.len() as u32 + moov_len + 8;
        let moov = boxed(b"moov", &[trak(data_at), trak(data_at + 4)].concat());
        [ftyp, moov, boxed(b"mdat", b"AAAABBBB")].concat()
    }

    #[test]
    fn tracks_are_renamed_and_offsets_still_point_at_their_data() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.mp4");
        std::fs::write(&path, sample()).unwrap();
        name_tracks(&path, &["mix", "dialogue-stem"]).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        assert!(text.contains("mix\0") && text.contains("dialogue-stem\0") && !text.contains("SoundHandler"));
        // Each stco offset still points at its chunk.
        let mut found = Vec::new();
        let mut at = 0;
        while let Some(i) = bytes[at..].windows(4).position(|w| w == b"stco") {
            let offset = u32::from_be_bytes(bytes[at + i + 12..at + i + 16].try_into().unwrap()) as usize;
            found.push(&bytes[offset..offset + 4]);
            at += i + 4;
        }
        assert_eq!(found, [b"AAAA", b"BBBB"]);
        let error = name_tracks(&path, &["only-one"]).unwrap_err().to_string();
        assert!(error.contains("has 2 tracks but 1 names"), "{error}");
        std::fs::write(&path, b"not an mp4").unwrap();
        assert!(name_tracks(&path, &["x"]).is_err());
    }
}
