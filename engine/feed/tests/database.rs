//! The registry and the feed share one database: one pool on the file in a
//! process, and files made before `slate-store` open and migrate in place.

use std::path::Path;
use std::sync::Arc;

use slate_consent::{Context, Registry, Request};
use slate_feed::Feed;

/// File descriptors this process has open on `path` (each SQLite
/// connection holds one).
fn descriptors_on(path: &Path) -> usize {
    let path = path.canonicalize().unwrap();
    std::fs::read_dir("/proc/self/fd")
        .unwrap()
        .filter_map(|fd| std::fs::read_link(fd.ok()?.path()).ok())
        .filter(|target| *target == path)
        .count()
}

#[test]
fn the_registry_and_the_feed_share_one_pool() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("slate.sqlite");
    let registry = Arc::new(Registry::open(&path).unwrap());
    let mut feed = Feed::open(&path, registry.clone()).unwrap();
    let again = Registry::open(&dir.path().join(".").join("slate.sqlite")).unwrap();

    // Busy on both at once: a pool each would open connections each.
    std::thread::scope(|scope| {
        for _ in 0..4 {
            scope.spawn(|| {
                for _ in 0..20 {
                    registry.identities().unwrap();
                    again.audit(5).unwrap();
                }
            });
        }
        for round in 0..20 {
            feed.rank_at(&format!("viewer-{round}"), 3, 1_800_000_000).unwrap();
        }
    });

    assert!(registry.database().same_pool(again.database()));
    assert!(registry.database().same_pool(feed.database()));
    let open = descriptors_on(&path);
    assert!(
        (1..=4).contains(&open),
        "{open} descriptors on the file: one pool holds at most 4 connections"
    );
}

/// A file slate 0.1.0 (commit 508c6bc) made through `Registry::open` and
/// `Feed::open`, when the registry kept its schema version in PRAGMA
/// user_version and the feed in a `feed_schema` table: Ada registered with
/// a grant `ada-cameo` (studio, web, cameo) and checked once; two items,
/// one slate for viewer-1, a watch and a like on its first item.
const MADE_BY_0_1_0: &[u8] = include_bytes!("fixtures/slate-0.1.0.sqlite");

#[test]
fn a_file_made_by_slate_0_1_0_opens_and_migrates_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("consent.sqlite");
    std::fs::write(&path, MADE_BY_0_1_0).unwrap();

    let registry = Arc::new(Registry::open(&path).unwrap());
    let people = registry.identities().unwrap();
    assert_eq!(people.len(), 1);
    assert_eq!(people[0].name, "Ada");
    let request = Request {
        identity: people[0].id.clone(),
        grantee: "studio".into(),
        channel: "web".into(),
        use_: "cameo".into(),
        context: vec![],
        at: 1_800_000_000,
    };
    let verdict = registry.check(&request, &Context::default()).unwrap();
    assert!(verdict.allowed, "{verdict:?}");
    assert_eq!(verdict.grant.as_deref(), Some("ada-cameo"));
    assert_eq!(registry.audit(10).unwrap().len(), 2, "the old check and this one");

    let feed = Feed::open(&path, registry.clone()).unwrap();
    let stats = feed.stats().unwrap();
    assert_eq!(stats["items"], 2, "{stats}");
    assert_eq!(
        (stats["users"].clone(), stats["slates"].clone()),
        (1.into(), 1.into()),
        "{stats}"
    );

    let db = registry.database();
    let (legacy, version): (i64, i64) = db
        .block_on(async {
            let legacy = sqlx::query_scalar("SELECT count(*) FROM sqlite_master WHERE name = 'feed_schema'")
                .fetch_one(db.pool())
                .await?;
            let version = sqlx::query_scalar("PRAGMA user_version").fetch_one(db.pool()).await?;
            Ok::<_, sqlx::Error>((legacy, version))
        })
        .unwrap();
    assert_eq!((legacy, version), (0, 0), "the old schema markers are retired");
    let applied: Vec<i64> = db
        .block_on(sqlx::query_scalar("SELECT version FROM _sqlx_migrations ORDER BY version").fetch_all(db.pool()))
        .unwrap();
    assert_eq!(applied, [1, 2, 3, 4], "every migration, the accounts (0004) too");
}
