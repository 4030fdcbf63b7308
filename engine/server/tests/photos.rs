//! Registration from photos over HTTP: the server embeds each photo's one
//! face exactly as `slate_onnx`'s face finder (what `consentgate` checks
//! frames with) does, and refuses photos by their index.

mod support;

use base64::Engine as _;
use serde_json::{Value, json};
use slate_consent::{IdentityKey, Registry};
use slate_onnx::faces::{FaceFinder, Photo};
use support::Api;

fn grace() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/faces/grace_hopper.ppm")
}

fn base64_of(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn registration(key: &IdentityKey, photos: Value) -> Value {
    json!({ "name": "Grace Hopper", "public_key": key.public_hex(), "photos": photos })
}

#[test]
fn a_photo_registers_with_the_embedding_consentgate_computes() {
    let api = Api::new(None, false);
    let key = IdentityKey::generate().unwrap();
    let bytes = std::fs::read(grace()).unwrap();
    let (status, reply) = api.post(
        "/v1/consent/identities",
        &registration(&key, json!([{ "source": "grace.ppm", "base64": base64_of(&bytes) }])),
    );
    assert_eq!(status, 201, "{reply}");

    let stored = Registry::open(&api.path())
        .unwrap()
        .identity(reply["id"].as_str().unwrap())
        .unwrap();
    let finder = FaceFinder::standard().unwrap();
    let expected = finder
        .photo_embedding(&Photo::decode(&bytes, "grace.ppm").unwrap())
        .unwrap();
    assert_eq!(stored.embeddings, [expected], "the same bits as the face finder's");
    let norm: f32 = stored.embeddings[0].iter().map(|v| v * v).sum::<f32>().sqrt();
    assert!((norm - 1.0).abs() < 1e-4, "unit length: {norm}");
}

#[test]
fn photos_that_are_not_one_face_are_refused_by_index() {
    let api = Api::new(None, false);
    let key = IdentityKey::generate().unwrap();
    let face = base64_of(&std::fs::read(grace()).unwrap());
    // A grey 64x64 PPM: an image, but nobody in it.
    let mut empty = b"P6\n64 64\n255\n".to_vec();
    empty.resize(empty.len() + 64 * 64 * 3, 128);
    let cases = [
        (
            json!([{ "source": "a", "base64": "not base64!" }]),
            "photos[0].base64",
            "not base64",
        ),
        (
            json!([{ "source": "a", "base64": face }, { "source": "notes.txt", "base64": base64_of(b"hello") }]),
            "photos[1]",
            "notes.txt: cannot read it as a JPEG, PNG or PNM image",
        ),
        (
            json!([{ "source": "grey.ppm", "base64": base64_of(&empty) }]),
            "photos[0]",
            "grey.ppm: found 0 faces; use a photo with exactly one face",
        ),
        (json!([{ "source": "a" }]), "photos[0]", "missing field `base64`"),
        (json!([]), "embeddings", "at least one reference face"),
    ];
    for (photos, field, says) in cases {
        let (status, reply) = api.post("/v1/consent/identities", &registration(&key, photos.clone()));
        assert_eq!(status, 400, "{photos}: {reply}");
        assert_eq!(reply["field"], field, "{photos}: {reply}");
        assert!(reply["error"].as_str().unwrap().contains(says), "{photos}: {reply}");
    }
    assert!(Registry::open(&api.path()).unwrap().identities().unwrap().is_empty());
}
