//! Checks the C2PA library leaves out, so that no byte of a signed MP4 can
//! change unnoticed.
//!
//! By design C2PA does not hash some bytes of an ISO BMFF file: the `ftyp`
//! box (excluded from the BMFF hash), and inside the manifest store's
//! `uuid` box a few header fields and the zero padding of the COSE
//! signature (unprotected, so it can be sized after signing). An exhaustive
//! single-byte flip scan of a signed MP4 showed flips there go unreported.
//! Slate closes the gap for the files it signs:
//! - the `uuid` box must be canonical: version 0, purpose `manifest`, and
//!   its JUMBF must nest exactly (every box size adds up), the store being
//!   labelled `c2pa` with the C2PA store UUID;
//! - the COSE signature must be one exact CBOR item whose padding is zeros;
//! - the `ftyp` box must hash to what the Slate assertion recorded at
//!   signing time.

use sha2::{Digest, Sha256};

/// The `uuid` box type C2PA uses for its manifest box in BMFF.
const C2PA_UUID: [u8; 16] = [
    0xd8, 0xfe, 0xc3, 0xd6, 0x1b, 0x0e, 0x48, 0x3c, 0x92, 0x97, 0x58, 0x28, 0x87, 0x7e, 0xc4, 0x81,
];
/// The JUMBF type of a C2PA manifest store.
const STORE_UUID: [u8; 16] = [
    0x63, 0x32, 0x70, 0x61, 0x00, 0x11, 0x00, 0x10, 0x80, 0x00, 0x00, 0xaa, 0x00, 0x38, 0x9b, 0x71,
];

/// A top-level box: type and where its payload (after the header) lies.
struct Box<'a> {
    kind: [u8; 4],
    payload: &'a [u8],
    whole: &'a [u8],
}

fn boxes(mut bytes: &[u8]) -> Option<Vec<Box<'_>>> {
    let mut found = Vec::new();
    while !bytes.is_empty() {
        let (size, header) = match u32::from_be_bytes(bytes.get(..4)?.try_into().ok()?) {
            0 => (bytes.len(), 8),
            1 => (
                usize::try_from(u64::from_be_bytes(bytes.get(8..16)?.try_into().ok()?)).ok()?,
                16,
            ),
            size => (size as usize, 8),
        };
        if size < header || size > bytes.len() {
            return None;
        }
        found.push(Box {
            kind: bytes[4..8].try_into().ok()?,
            payload: &bytes[header..size],
            whole: &bytes[..size],
        });
        bytes = &bytes[size..];
    }
    Some(found)
}

/// A top-level box of a file, found by walking headers.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TopBox {
    pub kind: [u8; 4],
    pub offset: u64,
    pub size: u64,
}

/// The top-level boxes of an ISO BMFF file; None when the file ends inside
/// one (cut short).
pub(crate) fn top_level(file: &mut std::fs::File) -> std::io::Result<Option<Vec<TopBox>>> {
    use std::io::{Read, Seek, SeekFrom};
    let length = file.metadata()?.len();
    let mut found = Vec::new();
    let mut at = 0u64;
    while at < length {
        let mut header = [0u8; 16];
        if length - at < 8 {
            return Ok(None);
        }
        file.seek(SeekFrom::Start(at))?;
        file.read_exact(&mut header[..8])?;
        let size = match u32::from_be_bytes(header[..4].try_into().expect("4 bytes")) {
            0 => length - at,
            1 => {
                if length - at < 16 {
                    return Ok(None);
                }
                file.read_exact(&mut header[8..16])?;
                u64::from_be_bytes(header[8..16].try_into().expect("8 bytes"))
            }
            size => u64::from(size),
        };
        if size < 8 || size > length - at {
            return Ok(None);
        }
        found.push(TopBox {
            kind: header[4..8].try_into().expect("4 bytes"),
            offset: at,
            size,
        });
        at += size;
    }
    Ok(Some(found))
}

pub(crate) fn read_box(file: &mut std::fs::File, top: &TopBox) -> std::io::Result<Vec<u8>> {
    use std::io::{Read, Seek, SeekFrom};
    file.seek(SeekFrom::Start(top.offset))?;
    let mut bytes = vec![0u8; usize::try_from(top.size).map_err(std::io::Error::other)?];
    file.read_exact(&mut bytes)?;
    Ok(bytes)
}

/// SHA-256 (hex) of the `ftyp` box of an ISO BMFF file, if it has one.
pub(crate) fn ftyp_hash(path: &std::path::Path) -> Option<String> {
    let mut file = std::fs::File::open(path).ok()?;
    let tops = top_level(&mut file).ok()??;
    ftyp_hash_in(&mut file, &tops).ok()?
}

/// SHA-256 (hex) of the `ftyp` box among `tops`, if there is one.
pub(crate) fn ftyp_hash_in(file: &mut std::fs::File, tops: &[TopBox]) -> std::io::Result<Option<String>> {
    let Some(ftyp) = tops.iter().find(|b| &b.kind == b"ftyp") else {
        return Ok(None);
    };
    let bytes = read_box(file, ftyp)?;
    Ok(Some(
        Sha256::digest(&bytes).iter().map(|b| format!("{b:02x}")).collect(),
    ))
}

/// What is wrong with the C2PA manifest box among `tops`, if anything;
/// None for a file without one (C2PA reports that).
pub(crate) fn manifest_box_fault(file: &mut std::fs::File, tops: &[TopBox]) -> std::io::Result<Option<String>> {
    let fragmented = tops.iter().any(|b| &b.kind == b"moof");
    for top in tops.iter().filter(|b| &b.kind == b"uuid") {
        let bytes = read_box(file, top)?;
        let payload = &boxes(&bytes)
            .and_then(|b| b.into_iter().next())
            .map(|b| b.payload)
            .unwrap_or_default();
        if payload.get(..16) == Some(&C2PA_UUID[..]) {
            return Ok(uuid_fault(&payload[16..], fragmented));
        }
    }
    Ok(None)
}

fn uuid_fault(body: &[u8], fragmented: bool) -> Option<String> {
    if body.get(..4) != Some(&[0, 0, 0, 0][..]) {
        return Some("the manifest box has a version or flags other than 0".into());
    }
    let Some(rest) = body[4..].strip_prefix(b"manifest\0") else {
        return Some("the manifest box's purpose is not `manifest`".into());
    };
    let Some((offset, jumbf)) = rest.split_at_checked(8) else {
        return Some("the manifest box ends early".into());
    };
    if !fragmented && offset != [0u8; 8] {
        return Some("the manifest box of an unfragmented file has a non-zero offset".into());
    }
    let mut signatures = Vec::new();
    match superboxes(jumbf, 0, &mut signatures) {
        Err(why) => return Some(why),
        Ok(labels)
            if labels.first().map(|(uuid, label)| (uuid.as_slice(), label.as_str()))
                != Some((&STORE_UUID[..], "c2pa")) =>
        {
            return Some("the manifest store is not a JUMBF box labelled `c2pa` of the C2PA store type".into());
        }
        Ok(_) => {}
    }
    signatures.iter().find_map(|cose| cose_fault(cose))
}

/// Walks JUMBF superboxes that must exactly fill `bytes`; returns the
/// (type, label) of each, and collects the COSE bytes of signature boxes.
fn superboxes<'a>(
    bytes: &'a [u8],
    depth: usize,
    signatures: &mut Vec<&'a [u8]>,
) -> Result<Vec<([u8; 16], String)>, String> {
    if depth > 8 {
        return Err("the manifest store nests too deep".into());
    }
    let malformed = || "a box in the manifest store does not fit its parent (a size was changed)".to_owned();
    let children = boxes(bytes).ok_or_else(malformed)?;
    let mut labels = Vec::new();
    for child in children {
        if &child.kind != b"jumb" {
            return Err(format!(
                "a `{}` box where the manifest store needs `jumb`",
                String::from_utf8_lossy(&child.kind)
            ));
        }
        let parts = boxes(child.payload).ok_or_else(malformed)?;
        let description = parts
            .first()
            .filter(|b| &b.kind == b"jumd")
            .ok_or("a JUMBF box without its description")?;
        let (kind, label) = describe(description.payload)?;
        let contents = &child.payload[description.whole.len()..];
        if label == "c2pa.signature" {
            let cbor = parts
                .get(1)
                .filter(|b| &b.kind == b"cbor")
                .ok_or("the signature box holds no CBOR")?;
            signatures.push(cbor.payload);
        }
        if parts[1..].iter().any(|b| &b.kind == b"jumb") {
            superboxes(contents, depth + 1, signatures)?;
        }
        labels.push((kind, label));
    }
    Ok(labels)
}

/// The type and label of a JUMBF description box.
fn describe(payload: &[u8]) -> Result<([u8; 16], String), String> {
    let bad = || "a JUMBF description box is malformed".to_owned();
    let kind: [u8; 16] = payload.get(..16).and_then(|k| k.try_into().ok()).ok_or_else(bad)?;
    let toggles = *payload.get(16).ok_or_else(bad)?;
    if toggles & 0x02 == 0 {
        return Ok((kind, String::new()));
    }
    let label = &payload[17..];
    let end = label.iter().position(|&b| b == 0).ok_or_else(bad)?;
    let text = std::str::from_utf8(&label[..end]).map_err(|_| bad())?;
    Ok((kind, text.to_owned()))
}

/// Checks a COSE_Sign1 (tag 18) is exactly one CBOR item, its payload
/// detached (null), its unprotected text labels ones C2PA defines, and
/// every padding header all zeros.
fn cose_fault(cose: &[u8]) -> Option<String> {
    let fault = |why: &str| Some(format!("the claim signature {why}"));
    let mut reader = Cbor { bytes: cose, at: 0 };
    let parsed = (|| {
        if reader.head()? != (6, 18) || reader.head()? != (4, 4) {
            return None;
        }
        reader.skip()?; // protected headers, signed
        let (major, pairs) = reader.head()?;
        if major != 5 {
            return None;
        }
        let mut padding_zero = true;
        for _ in 0..pairs {
            let key_start = reader.at;
            reader.skip()?;
            let key = &reader.bytes[key_start..reader.at];
            let value_start = reader.at;
            reader.skip()?;
            // Text labels C2PA defines for unprotected headers; a changed
            // label would hide padding from the check below.
            let known = [
                &b"\x63pad"[..],
                b"\x64pad2",
                b"\x66sigTst",
                b"\x67sigTst2",
                b"\x65rVals",
            ];
            if key.first().is_some_and(|b| b >> 5 == 3) && !known.contains(&key) {
                return None;
            }
            if key == b"\x63pad" || key == b"\x64pad2" {
                let value = &reader.bytes[value_start..reader.at];
                let mut inner = Cbor { bytes: value, at: 0 };
                let (major, length) = inner.head()?;
                padding_zero &= major == 2
                    && value[inner.at..].iter().all(|&b| b == 0)
                    && value.len() - inner.at == length as usize;
            }
        }
        let payload = reader.head()?;
        reader.skip()?; // the signature
        Some((padding_zero, payload == (7, 22), reader.at == cose.len()))
    })();
    match parsed {
        None => fault("is not well-formed COSE"),
        Some((false, _, _)) => fault("padding is not all zeros"),
        Some((_, false, _)) => fault("has a payload where C2PA detaches it"),
        Some((_, _, false)) => fault("has bytes after it"),
        Some(_) => None,
    }
}

/// Just enough CBOR to walk a COSE_Sign1: definite lengths only.
struct Cbor<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Cbor<'_> {
    /// Reads an item's head: (major type, argument).
    fn head(&mut self) -> Option<(u8, u64)> {
        let first = *self.bytes.get(self.at)?;
        self.at += 1;
        let (major, info) = (first >> 5, first & 0x1f);
        let width = match info {
            0..=23 => return Some((major, u64::from(info))),
            24 => 1,
            25 => 2,
            26 => 4,
            27 => 8,
            _ => return None,
        };
        let raw = self.bytes.get(self.at..self.at + width)?;
        self.at += width;
        Some((major, raw.iter().fold(0u64, |n, &b| n << 8 | u64::from(b))))
    }

    /// Skips one whole item.
    fn skip(&mut self) -> Option<()> {
        let (major, argument) = self.head()?;
        match major {
            0 | 1 | 7 => {}
            2 | 3 => {
                let end = self.at.checked_add(usize::try_from(argument).ok()?)?;
                self.bytes.get(self.at..end)?;
                self.at = end;
            }
            4 => (0..argument).try_for_each(|_| self.skip())?,
            5 => (0..argument).try_for_each(|_| self.skip().and_then(|_| self.skip()))?,
            6 => self.skip()?,
            _ => return None,
        }
        Some(())
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        /// Whatever bytes a manifest box holds, the checks answer and
        /// never panic or run away.
        #[test]
        fn any_manifest_box_gets_an_answer(body in proptest::collection::vec(any::<u8>(), 0..512), fragmented: bool) {
            let mut canonical = vec![0u8; 4];
            canonical.extend_from_slice(b"manifest\0");
            canonical.extend_from_slice(&[0u8; 8]);
            canonical.extend_from_slice(&body);
            let _ = uuid_fault(&body, fragmented);
            let _ = uuid_fault(&canonical, fragmented);
            let _ = cose_fault(&body);
        }
    }

    #[test]
    fn cose_padding_must_be_zeros_and_nothing_may_follow() {
        // tag 18, [h'a1 01 26', {"pad": h'0000'}, null, h'01']
        let good = [
            0xd2, 0x84, 0x43, 0xa1, 0x01, 0x26, 0xa1, 0x63, b'p', b'a', b'd', 0x42, 0, 0, 0xf6, 0x41, 0x01,
        ];
        assert_eq!(cose_fault(&good), None);
        let mut padded = good;
        padded[12] = 1;
        assert!(cose_fault(&padded).unwrap().contains("padding"));
        let mut longer = good.to_vec();
        longer.push(0);
        assert!(cose_fault(&longer).unwrap().contains("after it"));
        assert!(cose_fault(&good[..10]).unwrap().contains("well-formed"));
    }
}
