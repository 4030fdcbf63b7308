//! `slate consent` end to end: keys, people registered from real photos
//! (public-domain portraits, tests/fixtures/faces), grants, checks,
//! revocation and the audit log, in one registry file.

use std::path::Path;

use slate_e2e::*;

fn consent(dir: &Path, args: &[&str]) -> (Option<i32>, serde_json::Value, String) {
    let output = slate_with_data(dir, &dir.join("data"))
        .arg("consent")
        .args(args)
        .output()
        .unwrap();
    let (stdout, stderr) = texts(&output);
    assert_no_panic(&stderr, "slate consent");
    (
        output.status.code(),
        serde_json::from_str(&stdout).unwrap_or_default(),
        stderr,
    )
}

#[test]
fn people_grant_check_and_revoke_from_the_command_line() {
    let scratch = tempfile::tempdir().unwrap();
    let dir = scratch.path();
    let photo = |name: &str| repo().join("tests/fixtures/faces").join(name).display().to_string();

    let (code, key, _) = consent(dir, &["key", "grace.key"]);
    assert_eq!(code, Some(0));
    assert_eq!(key["public_key"].as_str().unwrap().len(), 64);
    let (code, registered, stderr) = consent(
        dir,
        &[
            "register",
            "--name",
            "Grace",
            "--key",
            "grace.key",
            "--photo",
            &photo("grace_hopper.ppm"),
        ],
    );
    assert_eq!(code, Some(0), "{stderr}");
    let grace = registered["identity"].as_str().unwrap().to_owned();

    let until = "4000000000";
    let (code, _, stderr) = consent(
        dir,
        &[
            "grant",
            "--key",
            "grace.key",
            "--identity",
            &grace,
            "--id",
            "g1",
            "--grantee",
            "studio",
            "--channel",
            "web",
            "--use",
            "cameo",
            "--until",
            until,
        ],
    );
    assert_eq!(code, Some(0), "{stderr}");
    let check = [
        "check",
        "--identity",
        &grace,
        "--grantee",
        "studio",
        "--channel",
        "web",
        "--use",
        "cameo",
    ];
    let (code, verdict, _) = consent(dir, &check);
    assert_eq!(
        (code, verdict["allowed"].as_bool(), verdict["grant"].as_str()),
        (Some(0), Some(true), Some("g1"))
    );
    let (code, verdict, _) = consent(
        dir,
        &[
            "check",
            "--identity",
            &grace,
            "--grantee",
            "studio",
            "--channel",
            "tv",
            "--use",
            "cameo",
        ],
    );
    assert_eq!(
        (code, verdict["reason"].as_str()),
        (Some(1), Some("channel `tv` not granted"))
    );

    let (code, _, stderr) = consent(
        dir,
        &["revoke", "--key", "grace.key", "--identity", &grace, "--grant", "g1"],
    );
    assert_eq!(code, Some(0), "{stderr}");
    let (code, verdict, _) = consent(dir, &check);
    assert_eq!(code, Some(1));
    assert!(
        verdict["reason"].as_str().unwrap().starts_with("revoked at"),
        "{verdict}"
    );

    let (_, grants, _) = consent(dir, &["list", &grace]);
    assert!(grants[0]["revoked_at"].is_i64(), "{grants}");
    let (_, audit, _) = consent(dir, &["audit"]);
    let allowed: Vec<bool> = audit
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["allowed"].as_bool().unwrap())
        .collect();
    assert_eq!(allowed, [true, false, false]);

    // Someone else's key cannot revoke or grant for Grace.
    consent(dir, &["key", "mallory.key"]);
    let (code, _, stderr) = consent(
        dir,
        &[
            "grant",
            "--key",
            "mallory.key",
            "--identity",
            &grace,
            "--id",
            "g2",
            "--grantee",
            "studio",
            "--channel",
            "web",
            "--use",
            "cameo",
            "--until",
            until,
        ],
    );
    assert_eq!(code, Some(2));
    assert!(stderr.contains("does not match"), "{stderr}");
}

#[test]
fn bad_input_names_what_is_wrong() {
    let scratch = tempfile::tempdir().unwrap();
    let dir = scratch.path();
    consent(dir, &["key", "ada.key"]);
    let no_face = dir.join("bars.png");
    let output = slate(dir)
        .arg("launch")
        .arg(format!(
            "videotestsrc num-buffers=1 ! pngenc ! filesink location={}",
            no_face.display()
        ))
        .output()
        .unwrap();
    assert!(output.status.success());
    let (code, _, stderr) = consent(
        dir,
        &[
            "register",
            "--name",
            "Ada",
            "--key",
            "ada.key",
            "--photo",
            no_face.to_str().unwrap(),
        ],
    );
    assert_eq!(code, Some(2));
    assert!(stderr.contains("bars.png: found 0 faces"), "{stderr}");
    let (code, _, stderr) = consent(dir, &["register", "--name", "", "--key", "ada.key"]);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("`name`"), "{stderr}");
    let (code, _, stderr) = consent(
        dir,
        &[
            "check",
            "--identity",
            "nobody",
            "--grantee",
            "s",
            "--channel",
            "c",
            "--use",
            "u",
        ],
    );
    assert_eq!(code, Some(2));
    assert!(stderr.contains("no identity `nobody`"), "{stderr}");
    let (code, _, stderr) = consent(
        dir,
        &[
            "grant",
            "--key",
            "missing.key",
            "--identity",
            "x",
            "--id",
            "g",
            "--grantee",
            "s",
            "--channel",
            "c",
            "--use",
            "u",
            "--until",
            "later",
        ],
    );
    assert_eq!(code, Some(2));
    assert!(stderr.contains("`later` is not a time"), "{stderr}");
}

#[test]
fn slate_serve_answers_on_loopback_behind_its_token() {
    let scratch = tempfile::tempdir().unwrap();
    let dir = scratch.path();
    let output = slate_with_data(dir, &dir.join("data"))
        .args(["serve", "--listen", "0.0.0.0:0"])
        .output()
        .unwrap();
    let (_, stderr) = texts(&output);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr.contains("not a loopback address"), "{stderr}");

    let server =
        serve(slate_with_data(dir, &dir.join("data")).args(["serve", "--listen", "127.0.0.1:0", "--db", "r.sqlite"]));
    let (address, token) = (&server.address, &server.token);
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&server.token_file).unwrap().permissions().mode() & 0o777,
        0o600
    );

    let (status, reply) = http(address, "GET", "/v1/consent/identities", None, b"");
    assert_eq!((status, reply["field"].as_str()), (401, Some("authorization")));
    let (status, reply) = http(address, "GET", "/v1/consent/identities", Some(token), b"");
    assert_eq!((status, reply), (200, serde_json::json!([])));
    let (status, reply) = http(address, "POST", "/v1/consent/grants", Some(token), b"{\"body\": 3}");
    assert_eq!((status, reply["field"].as_str()), (400, Some("body")), "{reply}");
}

/// One photo, three ways: `slate consent register --photo`, the photo sent
/// to `POST /v1/consent/identities`, and `consentgate` looking at a still
/// of it. The CLI and the API store the same bits; consentgate finds the
/// registered face at similarity 1.
#[test]
fn a_photo_gives_one_embedding_from_the_cli_the_api_and_consentgate() {
    use base64::Engine as _;
    let scratch = tempfile::tempdir().unwrap();
    let dir = scratch.path();
    let photo = repo().join("tests/fixtures/faces/grace_hopper.ppm");
    let (code, key, _) = consent(dir, &["key", "grace.key"]);
    assert_eq!(code, Some(0));
    let (code, registered, stderr) = consent(
        dir,
        &[
            "--db",
            "cli.sqlite",
            "register",
            "--name",
            "Grace",
            "--key",
            "grace.key",
            "--photo",
            photo.to_str().unwrap(),
        ],
    );
    assert_eq!(code, Some(0), "{stderr}");
    let from_cli = slate_consent::Registry::open(&dir.join("cli.sqlite"))
        .unwrap()
        .identity(registered["identity"].as_str().unwrap())
        .unwrap()
        .embeddings;

    let server =
        serve(slate_with_data(dir, &dir.join("data")).args(["serve", "--listen", "127.0.0.1:0", "--db", "api.sqlite"]));
    let body = serde_json::json!({
        "name": "Grace",
        "public_key": key["public_key"],
        "photos": [{
            "source": "grace_hopper.ppm",
            "base64": base64::engine::general_purpose::STANDARD.encode(std::fs::read(&photo).unwrap()),
        }],
    });
    let (status, reply) = http(
        &server.address,
        "POST",
        "/v1/consent/identities",
        Some(&server.token),
        body.to_string().as_bytes(),
    );
    assert_eq!(status, 201, "{reply}");
    let from_api = slate_consent::Registry::open(&dir.join("api.sqlite"))
        .unwrap()
        .identity(reply["id"].as_str().unwrap())
        .unwrap()
        .embeddings;
    assert_eq!(from_cli.len(), 1);
    assert_eq!(from_cli, from_api, "the CLI and the API embed the photo alike");

    let line = format!(
        "filesrc location={} ! decodebin ! imagefreeze num-buffers=3 ! videoconvert \
         ! consentgate registry={} grantee=studio channel=web interval=1 ! metalog location=seen.jsonl ! fakesink",
        photo.display(),
        dir.join("cli.sqlite").display()
    );
    let output = slate_with_data(dir, &dir.join("data"))
        .args(["launch", &line])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", texts(&output).1);
    let frames = json_lines(&dir.join("seen.jsonl"));
    assert_eq!(frames.len(), 3);
    for frame in &frames {
        let faces = frame["objects"].as_array().unwrap();
        assert_eq!(faces.len(), 1, "{frame}");
        assert_eq!(faces[0]["fields"]["name"], "Grace", "{frame}");
        let similarity = faces[0]["fields"]["similarity"].as_f64().unwrap();
        assert!(
            similarity > 0.9999,
            "consentgate's embedding is the registered one: {similarity}"
        );
    }
}
