//! Backups of a live data folder: `slate admin backup` while `slate serve`
//! takes grants restores, through `slate admin restore`, to a registry whose
//! every signature verifies (`slate admin check`) and whose checks answer
//! as the original's did, with the token file's mode kept.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use slate_consent::{Context, IdentityKey, Registry, Request, Terms};
use slate_e2e::{assert_no_panic, http, serve, slate_with_data, texts};

fn terms(channel: &str) -> Terms {
    Terms {
        grantee: "studio".into(),
        channels: vec![channel.into()],
        uses: vec!["cameo".into()],
        forbidden: vec![],
        valid_from: 0,
        valid_until: 4_000_000_000,
    }
}

#[test]
fn a_backup_taken_under_write_load_restores_to_a_registry_that_verifies_and_answers_the_same() {
    let scratch = tempfile::tempdir().unwrap();
    let dir = scratch.path();
    let data = dir.join("data");
    let server = serve(
        slate_with_data(dir, &data)
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(["--rate-limit", "write=1000000", "--rate-limit", "upload=1000000"]),
    );
    let (address, token) = (server.address.clone(), server.token.clone());
    let register = |key: &IdentityKey, name: &str| {
        let body = serde_json::json!({ "name": name, "public_key": key.public_hex(),
                                       "embeddings": [{ "source": "a", "vector": [1.0, 0.5] }] });
        let (status, made) = http(
            &address,
            "POST",
            "/v1/consent/identities",
            Some(&token),
            body.to_string().as_bytes(),
        );
        assert_eq!(status, 201, "{made}");
        made["id"].as_str().unwrap().to_owned()
    };
    let post = |route: &str, signed: &slate_consent::Signed| {
        let body = serde_json::json!({ "body": signed.body, "signature": signed.signature }).to_string();
        http(&address, "POST", route, Some(&token), body.as_bytes())
    };
    // Three people with grants on two channels; one grant revoked.
    for person in 0..3 {
        let key = IdentityKey::generate().unwrap();
        let id = register(&key, &format!("person {person}"));
        for channel in ["web", "tv"] {
            let (status, reply) = post(
                "/v1/consent/grants",
                &key.grant(&format!("{id}-{channel}"), &id, terms(channel)),
            );
            assert_eq!(status, 201, "{reply}");
        }
        if person == 0 {
            let (status, reply) = post("/v1/consent/revocations", &key.revoke(&format!("{id}-tv"), &id, 1000));
            assert_eq!(status, 201, "{reply}");
        }
    }

    // Write load: grants keep coming while the backup is taken.
    let (stop, written) = (Arc::new(AtomicBool::new(false)), Arc::new(AtomicUsize::new(0)));
    let load = {
        let (stop, written, address, token) = (stop.clone(), written.clone(), address.clone(), token.clone());
        let key = IdentityKey::generate().unwrap();
        let id = register(&key, "busy");
        std::thread::spawn(move || {
            while !stop.load(Ordering::SeqCst) {
                let n = written.load(Ordering::SeqCst);
                let signed = key.grant(&format!("busy-{n}"), &id, terms("web"));
                let body = serde_json::json!({ "body": signed.body, "signature": signed.signature }).to_string();
                let (status, reply) = http(&address, "POST", "/v1/consent/grants", Some(&token), body.as_bytes());
                assert_eq!(status, 201, "{reply}");
                written.fetch_add(1, Ordering::SeqCst);
            }
        })
    };
    while written.load(Ordering::SeqCst) < 20 {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let backup = dir.join("backup");
    let output = slate_with_data(dir, &data)
        .args(["admin", "backup"])
        .arg(&backup)
        .output()
        .unwrap();
    let (stdout, stderr) = texts(&output);
    assert!(output.status.success(), "{stderr}");
    let during = written.load(Ordering::SeqCst);
    std::thread::sleep(std::time::Duration::from_millis(200));
    stop.store(true, Ordering::SeqCst);
    load.join().unwrap();
    let after = written.load(Ordering::SeqCst);
    assert!(
        after > during,
        "grants kept coming after the backup ({during} then {after})"
    );
    let manifest: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let files: Vec<&str> = manifest["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert!(
        files.contains(&"slate.sqlite") && files.contains(&"api-token"),
        "{files:?}"
    );

    let restored = dir.join("restored");
    let output = slate_with_data(dir, &restored)
        .args(["admin", "restore"])
        .arg(&backup)
        .output()
        .unwrap();
    let (_, stderr) = texts(&output);
    assert_no_panic(&stderr, "slate admin restore");
    assert!(output.status.success(), "{stderr}");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(restored.join("api-token"))
            .unwrap()
            .permissions()
            .mode()
            & 0o777,
        0o600
    );
    assert_eq!(
        std::fs::read(restored.join("api-token")).unwrap(),
        std::fs::read(data.join("api-token")).unwrap()
    );
    let output = slate_with_data(dir, &restored)
        .args(["admin", "check"])
        .output()
        .unwrap();
    let (stdout, stderr) = texts(&output);
    assert!(output.status.success(), "{stdout}{stderr}");
    let check: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(check["integrity"], "ok");
    let checked = check["signatures"]["checked"].as_u64().unwrap();
    assert!(checked >= 7 + 20, "{checked} signatures checked");

    // Every grant the backup holds answers the same checks as the original.
    let original = Registry::open(&data.join("slate.sqlite")).unwrap();
    let copy = Registry::open(&restored.join("slate.sqlite")).unwrap();
    let mut compared = 0;
    for identity in copy.identities().unwrap() {
        for channel in ["web", "tv", "radio"] {
            let request = Request {
                identity: identity.id.clone(),
                grantee: "studio".into(),
                channel: channel.into(),
                use_: "cameo".into(),
                context: vec![],
                at: 2000,
            };
            let verdict = |r: &Registry| r.check(&request, &Context::default()).unwrap();
            assert_eq!(
                verdict(&copy).allowed,
                verdict(&original).allowed,
                "{} on {channel}",
                identity.id
            );
            compared += 1;
        }
    }
    assert_eq!(compared, 4 * 3);
    // A backup is refused once changed.
    std::fs::write(backup.join("files/api-token"), "forged").unwrap();
    let output = slate_with_data(dir, &dir.join("again"))
        .args(["admin", "restore"])
        .arg(&backup)
        .output()
        .unwrap();
    let (_, stderr) = texts(&output);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("does not match the manifest"), "{stderr}");
}
