//! The registry on a real SQLite file: grants allow exactly what they say,
//! revocations win from their moment on, signatures bind every byte, and
//! every check is in the append-only audit log.

use slate_consent::*;

const DAY: i64 = 86_400;

struct Fixture {
    _dir: tempfile::TempDir,
    path: std::path::PathBuf,
    registry: Registry,
    key: IdentityKey,
    id: String,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("consent.sqlite");
    let registry = Registry::open(&path).unwrap();
    let key = IdentityKey::generate().unwrap();
    let id = registry
        .register(
            "Ada",
            key.public(),
            &[
                ("ada-1.jpg".into(), vec![0.6, 0.8]),
                ("ada-2.jpg".into(), vec![1.0, 0.0]),
            ],
        )
        .unwrap();
    Fixture {
        _dir: dir,
        path,
        registry,
        key,
        id,
    }
}

fn terms(from: i64, until: i64) -> Terms {
    Terms {
        grantee: "studio".into(),
        channels: vec!["web".into()],
        uses: vec!["cameo".into()],
        forbidden: vec!["political".into()],
        valid_from: from,
        valid_until: until,
    }
}

fn request(id: &str, at: i64) -> Request {
    Request {
        identity: id.into(),
        grantee: "studio".into(),
        channel: "web".into(),
        use_: "cameo".into(),
        context: vec!["comedy".into()],
        at,
    }
}

fn here() -> Context<'static> {
    Context {
        checker: "test",
        media: "clip.mp4",
        frames: "0-29",
    }
}

#[test]
fn a_grant_allows_exactly_what_it_says_and_when() {
    let f = fixture();
    let t0 = 1_800_000_000;
    f.registry
        .add_grant(&f.key.grant("g1", &f.id, terms(t0, t0 + DAY)))
        .unwrap();
    let check = |r: Request| f.registry.check(&r, &here()).unwrap();

    let ok = check(request(&f.id, t0 + 10));
    assert!(ok.allowed, "{ok:?}");
    assert_eq!(ok.grant.as_deref(), Some("g1"));

    let cases = [
        (
            Request {
                grantee: "other".into(),
                ..request(&f.id, t0 + 10)
            },
            "no grant to `other`",
        ),
        (
            Request {
                channel: "tv".into(),
                ..request(&f.id, t0 + 10)
            },
            "channel `tv` not granted",
        ),
        (
            Request {
                use_: "training".into(),
                ..request(&f.id, t0 + 10)
            },
            "use `training` not granted",
        ),
        (
            Request {
                context: vec!["political".into()],
                ..request(&f.id, t0 + 10)
            },
            "context `political` forbidden",
        ),
        (request(&f.id, t0 - 1), "not valid before"),
        (request(&f.id, t0 + DAY), "expired at"),
    ];
    for (request, why) in cases {
        let verdict = check(request.clone());
        assert!(
            !verdict.allowed && verdict.reason.contains(why),
            "{request:?}: {verdict:?}"
        );
        assert_eq!(verdict.grant, None);
    }
    let audit = f.registry.audit(100).unwrap();
    assert_eq!(audit.len(), 7, "every check is audited");
    assert!(audit[0].allowed && audit[0].grant.as_deref() == Some("g1") && audit[0].frames == "0-29");
}

#[test]
fn a_revocation_wins_from_its_moment_on_and_the_grant_cannot_come_back() {
    let f = fixture();
    let t0 = 1_800_000_000;
    let grant = f.key.grant("g1", &f.id, terms(t0, t0 + DAY));
    f.registry.add_grant(&grant).unwrap();
    f.registry.revoke(&f.key.revoke("g1", &f.id, t0 + 100)).unwrap();
    assert!(f.registry.check(&request(&f.id, t0 + 99), &here()).unwrap().allowed);
    let after = f.registry.check(&request(&f.id, t0 + 100), &here()).unwrap();
    assert!(
        !after.allowed && after.reason == format!("revoked at {}", t0 + 100),
        "{after:?}"
    );

    // Replayed after revocation: refused; and revoking twice is refused.
    let grants = f.registry.grants(&f.id).unwrap();
    assert_eq!((grants.len(), grants[0].revoked_at), (1, Some(t0 + 100)));
    let replay = f.registry.add_grant(&grant).unwrap_err().to_string();
    assert!(replay.contains("was revoked at"), "{replay}");
    let twice = f
        .registry
        .revoke(&f.key.revoke("g1", &f.id, t0 + 200))
        .unwrap_err()
        .to_string();
    assert!(twice.contains("was revoked at"), "{twice}");
}

#[test]
fn signatures_bind_every_byte_and_the_right_key() {
    let f = fixture();
    let t0 = 1_800_000_000;
    let mut edited = f.key.grant("g1", &f.id, terms(t0, t0 + DAY));
    edited.body = edited.body.replace("\"cameo\"", "\"training\"");
    let error = f.registry.add_grant(&edited).unwrap_err().to_string();
    assert!(error.contains("does not match") && error.contains(&f.id), "{error}");

    let mallory = IdentityKey::generate().unwrap();
    let forged = mallory.grant("g2", &f.id, terms(t0, t0 + DAY));
    assert!(matches!(
        f.registry.add_grant(&forged),
        Err(ConsentError::BadSignature { .. })
    ));

    f.registry
        .add_grant(&f.key.grant("g3", &f.id, terms(t0, t0 + DAY)))
        .unwrap();
    let forged_revocation = mallory.revoke("g3", &f.id, t0);
    assert!(matches!(
        f.registry.revoke(&forged_revocation),
        Err(ConsentError::BadSignature { .. })
    ));
    assert!(
        f.registry.check(&request(&f.id, t0 + 1), &here()).unwrap().allowed,
        "a forged revocation changes nothing"
    );

    let duplicate = f
        .registry
        .add_grant(&f.key.grant("g3", &f.id, terms(t0, t0 + DAY)))
        .unwrap_err();
    assert!(matches!(duplicate, ConsentError::Duplicate(_)), "{duplicate}");
}

#[test]
fn bad_terms_name_their_field() {
    let f = fixture();
    let cases = [
        (
            Terms {
                grantee: " ".into(),
                ..terms(0, DAY)
            },
            "`grantee`",
        ),
        (
            Terms {
                channels: vec![],
                ..terms(0, DAY)
            },
            "`channels`",
        ),
        (
            Terms {
                uses: vec!["".into()],
                ..terms(0, DAY)
            },
            "`uses`",
        ),
        (terms(DAY, DAY), "`valid_until`"),
    ];
    for (terms, field) in cases {
        let error = f
            .registry
            .add_grant(&f.key.grant("g", &f.id, terms))
            .unwrap_err()
            .to_string();
        assert!(error.starts_with(field), "{error}");
    }
    let error = f.registry.register("", f.key.public(), &[]).unwrap_err().to_string();
    assert!(error.starts_with("`name`"), "{error}");
    let error = f
        .registry
        .register("Ada again", f.key.public(), &[])
        .unwrap_err()
        .to_string();
    assert!(error.contains("already registered"), "{error}");
}

#[test]
fn the_registry_persists_and_its_audit_log_cannot_be_rewritten() {
    let f = fixture();
    f.registry
        .add_grant(&f.key.grant("g1", &f.id, terms(0, i64::MAX)))
        .unwrap();
    f.registry.check(&request(&f.id, 5), &here()).unwrap();
    let path = f.path.clone();
    drop(f.registry);
    let again = Registry::open(&path).unwrap();
    let ada = again.identity(&f.id).unwrap();
    assert_eq!((ada.name.as_str(), ada.embeddings.len()), ("Ada", 2));
    assert_eq!(ada.embeddings[0], vec![0.6, 0.8]);
    assert_eq!(again.audit(10).unwrap().len(), 1);

    // Straight at the file: the log refuses to change.
    let output = std::process::Command::new("python3")
        .args([
            "-c",
            "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute('DELETE FROM audit'); c.commit()",
        ])
        .arg(&path)
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("append-only"));
    assert_eq!(again.audit(10).unwrap().len(), 1);
}

#[test]
fn keys_are_kept_private_and_read_back() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ada.key");
    let key = IdentityKey::generate().unwrap();
    key.save(&path).unwrap();
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
    assert_eq!(IdentityKey::load(&path).unwrap().public(), key.public());
    assert!(key.save(&path).is_err(), "an existing key is never overwritten");
    std::fs::write(dir.path().join("bad.key"), "zz").unwrap();
    let error = IdentityKey::load(&dir.path().join("bad.key")).unwrap_err().to_string();
    assert!(error.contains("bad.key") && error.contains("64 hex digits"), "{error}");
}

mod malformed {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1000))]

        /// Whatever a client sends as a signed grant or revocation, the
        /// answer is an error naming what is wrong, and nothing changes.
        #[test]
        fn malformed_records_are_refused_and_change_nothing(body in ".{0,200}", signature in "[0-9a-f]{0,130}") {
            thread_local!(static F: Fixture = fixture());
            F.with(|f| {
                let signed = Signed { body: body.clone(), signature: signature.clone() };
                prop_assert!(f.registry.add_grant(&signed).is_err());
                prop_assert!(f.registry.revoke(&signed).is_err());
                prop_assert!(f.registry.grants(&f.id).unwrap().is_empty());
                let verdict = f.registry.check(&request(&f.id, 10), &here()).unwrap();
                prop_assert!(!verdict.allowed);
                Ok(())
            })?;
        }
    }
}
