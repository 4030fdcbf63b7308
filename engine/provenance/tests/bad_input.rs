//! Every kind of bad input gets its own validation state, on real MP4s
//! signed with real certificates; nothing panics.

use std::path::{Path, PathBuf};

use slate_provenance::{Identity, Source, State, Story, Trust, Validity, sign_file, verify};

/// A small real MP4 (H.264), made by GStreamer.
fn make_mp4(path: &Path, pattern: &str) {
    let status = std::process::Command::new("gst-launch-1.0")
        .args([
            "-q",
            "videotestsrc",
            "num-buffers=30",
            &format!("pattern={pattern}"),
            "!",
        ])
        .args([
            "video/x-raw,format=I420,width=320,height=240,framerate=30/1",
            "!",
            "x264enc",
            "!",
            "h264parse",
        ])
        .args(["!", "mp4mux", "!", "filesink", &format!("location={}", path.display())])
        .status()
        .expect("gst-launch-1.0 runs (the setup installs gstreamer1.0-tools)");
    assert!(status.success(), "making {}", path.display());
}

struct Signed {
    dir: tempfile::TempDir,
    raw: PathBuf,
    signed: PathBuf,
    identity: Identity,
}

impl Signed {
    fn new() -> Signed {
        let dir = tempfile::tempdir().unwrap();
        let raw = dir.path().join("raw.mp4");
        make_mp4(&raw, "smpte");
        let identity = Identity::local(dir.path()).unwrap();
        let signed = dir.path().join("signed.mp4");
        let story = Story {
            source: Some(Source::Generated),
            ..Story::default()
        };
        sign_file(&identity, &story, &raw, &signed).unwrap();
        Signed {
            dir,
            raw,
            signed,
            identity,
        }
    }

    fn trust(&self) -> Trust {
        Trust::default().with(self.identity.ca_pem.as_deref().unwrap())
    }

    /// A copy of the signed file, changed by `change`.
    fn altered(&self, name: &str, change: impl FnOnce(&mut Vec<u8>)) -> PathBuf {
        let mut bytes = std::fs::read(&self.signed).unwrap();
        change(&mut bytes);
        let path = self.dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Where the C2PA manifest store (the `uuid` box holding JUMBF) sits.
fn manifest_box(bytes: &[u8]) -> std::ops::Range<usize> {
    let at = find(bytes, b"jumb").expect("a JUMBF box") - 8;
    // The uuid box holding it starts before; walk back to its header.
    let start = (0..at).rev().find(|&i| &bytes[i + 4..i + 8] == b"uuid").unwrap();
    let size = u32::from_be_bytes(bytes[start..start + 4].try_into().unwrap()) as usize;
    start..start + size
}

#[test]
fn our_own_file_is_trusted_and_says_what_happened() {
    let s = Signed::new();
    let report = verify(&s.signed, None, &s.trust());
    assert_eq!(report.state, State::Trusted, "{report:#?}");
    assert!(report.failures.is_empty());
    let created = &report.actions[0];
    assert_eq!(created["action"], "c2pa.created");
    assert_eq!(
        created["digitalSourceType"],
        "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"
    );
    assert_eq!(created["softwareAgent"]["name"], "Slate");
}

#[test]
fn an_input_keeps_its_own_manifest_as_an_ingredient() {
    let s = Signed::new();
    let edited = s.dir.path().join("edited.mp4");
    let story = Story {
        source: Some(Source::Composite),
        ingredients: vec![s.signed.clone(), s.raw.clone()],
        edits: vec![slate_provenance::Edit::new("c2pa.placed", "generated insert")],
        ..Story::default()
    };
    sign_file(&s.identity, &story, &s.raw, &edited).unwrap();
    let report = verify(&edited, None, &s.trust());
    assert_eq!(report.state, State::Trusted, "{report:#?}");
    assert_eq!(report.ingredients.len(), 2, "{report:#?}");
    assert_eq!(report.ingredients[0]["title"], "signed.mp4");
    assert!(
        report.ingredients[0]["active_manifest"].is_string(),
        "the signed input brings its manifest: {report:#?}"
    );
    assert!(
        report.ingredients[1]["active_manifest"].is_null(),
        "the unsigned one has none"
    );
    let actions: Vec<&str> = report.actions.iter().filter_map(|a| a["action"].as_str()).collect();
    assert!(actions.contains(&"c2pa.placed"), "{actions:?}");
}

#[test]
fn the_signature_is_padded_only_a_little() {
    // The zero padding is the one part of a manifest a signature cannot
    // cover; the crate's default reserve leaves about 10 kB of it, and it
    // will not pad with less than 256 bytes.
    let s = Signed::new();
    let bytes = std::fs::read(&s.signed).unwrap();
    let at = find(&bytes, b"\x63pad").expect("a padding header") + 4;
    let length = match bytes[at] {
        0x58 => bytes[at + 1] as usize,
        0x59 => u16::from_be_bytes([bytes[at + 1], bytes[at + 2]]) as usize,
        small => (small - 0x40) as usize,
    };
    assert!((256..300).contains(&length), "{length} bytes of padding");
}

#[test]
fn without_our_anchor_the_signer_is_untrusted_but_intact() {
    let s = Signed::new();
    let report = verify(&s.signed, None, &Trust::default());
    assert_eq!(report.state, State::Untrusted, "{report:#?}");
}

#[test]
fn each_bad_input_has_its_own_state() {
    let s = Signed::new();
    let trust = s.trust();
    let state = |path: &Path| {
        let report = verify(path, None, &trust);
        eprintln!(
            "{}: {:?} {:?} {:?}",
            path.display(),
            report.state,
            report.failure_codes(),
            report.error
        );
        report.state
    };

    assert_eq!(state(&s.raw), State::Unsigned);

    let media = s.altered("media.mp4", |b| {
        let at = find(b, b"mdat").unwrap() + 200;
        b[at] ^= 0x01;
    });
    assert_eq!(state(&media), State::MediaAltered);

    let manifest = s.altered("manifest.mp4", |b| {
        // The last bytes of the manifest store are the claim signature.
        let at = manifest_box(b).end - 100;
        b[at] ^= 0x01;
    });
    assert_eq!(state(&manifest), State::ManifestAltered);

    let truncated = s.altered("truncated.mp4", |b| b.truncate(b.len() * 2 / 3));
    assert_eq!(state(&truncated), State::Truncated);

    let other = Identity::make(Validity::default(), "Someone else's CA", "Someone else").unwrap();
    let untrusted = s.dir.path().join("untrusted.mp4");
    sign_file(&other, &Story::default(), &s.raw, &untrusted).unwrap();
    assert_eq!(state(&untrusted), State::Untrusted);

    let not_media = s.dir.path().join("notes.mp4");
    std::fs::write(&not_media, b"\0\0\0\x10ftypisomjunk and more junk").unwrap();
    assert!(matches!(
        state(&not_media),
        State::Truncated | State::Unreadable | State::Unsigned
    ));
}

#[test]
fn a_certificate_that_expired_is_reported_as_expired() {
    let s = Signed::new();
    let now = time::OffsetDateTime::now_utc();
    let brief = Validity {
        from: now - time::Duration::days(1),
        until: now + time::Duration::seconds(2),
    };
    let short_lived = Identity::make(brief, "Short-lived CA", "Short-lived signer").unwrap();
    let path = s.dir.path().join("expired.mp4");
    sign_file(&short_lived, &Story::default(), &s.raw, &path).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(3100));
    let report = verify(
        &path,
        None,
        &Trust::default().with(short_lived.ca_pem.as_deref().unwrap()),
    );
    assert_eq!(report.state, State::Expired, "{report:#?}");

    let expired = Identity::make(
        Validity {
            from: now - time::Duration::days(30),
            until: now - time::Duration::days(1),
        },
        "Old CA",
        "Old signer",
    )
    .unwrap();
    let error = sign_file(&expired, &Story::default(), &s.raw, &s.dir.path().join("refused.mp4"))
        .unwrap_err()
        .to_string();
    assert!(error.contains("not valid at time of signing"), "{error}");
}

#[test]
fn a_manifest_that_lies_about_its_hash_is_caught() {
    let s = Signed::new();
    let forged = s.altered("forged.mp4", |b| {
        // The hard binding assertion's `hash`: the media's SHA-256 as
        // signed. Put another hash there.
        let store = manifest_box(b);
        let label = store.start + find(&b[store.clone()], b"c2pa.hash.bmff").expect("a BMFF hash assertion");
        let key = label + find(&b[label..store.end], b"\x64hash\x58\x20").expect("its hash") + 7;
        b[key..key + 32].copy_from_slice(&[0x5a; 32]);
    });
    let report = verify(&forged, None, &s.trust());
    assert_eq!(report.state, State::HashForged, "{report:#?}");
    assert!(
        report.failure_codes().contains(&"assertion.bmffHash.mismatch"),
        "{report:#?}"
    );
}

/// Every single byte of a signed MP4, flipped in turn, is caught: C2PA's
/// checks and Slate's (for the bytes C2PA leaves out) together.
#[test]
fn every_single_byte_flip_is_caught() {
    let dir = tempfile::tempdir().unwrap();
    let raw = dir.path().join("raw.mp4");
    let status = std::process::Command::new("gst-launch-1.0")
        .args([
            "-q",
            "videotestsrc",
            "num-buffers=5",
            "!",
            "video/x-raw,format=I420,width=64,height=64",
        ])
        .args(["!", "x264enc", "!", "h264parse", "!", "mp4mux", "!", "filesink"])
        .arg(format!("location={}", raw.display()))
        .status()
        .unwrap();
    assert!(status.success());
    let identity = Identity::local(dir.path()).unwrap();
    let signed = dir.path().join("signed.mp4");
    sign_file(&identity, &Story::default(), &raw, &signed).unwrap();
    let trust = Trust::default().with(identity.ca_pem.as_deref().unwrap());
    let bytes = std::fs::read(&signed).unwrap();
    let copy = dir.path().join("flipped.mp4");
    let missed: Vec<usize> = (0..bytes.len())
        .filter(|&at| {
            let mut flipped = bytes.clone();
            flipped[at] ^= 0x01;
            std::fs::write(&copy, &flipped).unwrap();
            verify(&copy, None, &trust).state.intact()
        })
        .collect();
    assert!(
        missed.is_empty(),
        "{} of {} flips unnoticed, at {missed:?}",
        missed.len(),
        bytes.len()
    );
}
