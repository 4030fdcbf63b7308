//! Released WIT versions stay frozen: every file of every `since_v*`
//! folder in sdk-wit/ must match the SHA-256 recorded for it when it was
//! released (sdk-wit/frozen.sha256), and nothing may be added to or taken
//! from a released folder. A new version is a new folder and new lines.

use std::collections::BTreeMap;
use std::path::Path;

use sha2::{Digest, Sha256};

#[test]
fn released_wit_folders_are_unchanged() {
    let wit = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../sdk-wit");
    let recorded: BTreeMap<String, String> = std::fs::read_to_string(wit.join("frozen.sha256"))
        .unwrap()
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| {
            let (hash, file) = line.split_once("  ").expect("sha256sum format: HASH  FILE");
            (file.to_owned(), hash.to_owned())
        })
        .collect();
    let released: Vec<&str> = {
        let mut folders: Vec<&str> = recorded
            .keys()
            .filter_map(|f| f.split_once('/'))
            .map(|(d, _)| d)
            .collect();
        folders.dedup();
        folders
    };
    assert!(released.len() >= 3, "0.1.0, 0.2.0 and 0.3.0 are released: {released:?}");
    let mut found = BTreeMap::new();
    for folder in &released {
        for entry in std::fs::read_dir(wit.join(folder)).unwrap() {
            let path = entry.unwrap().path();
            let name = format!("{folder}/{}", path.file_name().unwrap().to_string_lossy());
            found.insert(name, hex(&Sha256::digest(std::fs::read(&path).unwrap())));
        }
    }
    for (file, hash) in &recorded {
        match found.get(file) {
            None => panic!("sdk-wit/{file} was released and is gone; released versions are frozen"),
            Some(now) => assert_eq!(
                now, hash,
                "sdk-wit/{file} changed after its release; copy the newest folder to a new version instead"
            ),
        }
    }
    let added: Vec<&String> = found.keys().filter(|f| !recorded.contains_key(*f)).collect();
    assert!(added.is_empty(), "files added to released folders: {added:?}");
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
