//! The `stems` property: `"NAME: key=value, key=value; NAME: ..."`.

use std::collections::BTreeMap;

/// Properties of the `stem` element a setting may name, and `vad`.
const KEYS: [&str; 10] = [
    "gain",
    "pan",
    "mute",
    "automation",
    "duck",
    "duck-key",
    "attack",
    "hold",
    "release",
    "vad",
];

/// One stem's settings: properties for its `stem` element, and whether
/// its voice activity is detected (it can duck others).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StemSettings {
    pub properties: Vec<(String, String)>,
    pub vad: bool,
}

/// Whether `name` can name a stem (and a pad): letters, digits, `-`, `_`.
pub fn valid_stem_name(name: &str) -> bool {
    !name.is_empty() && name != "src" && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

pub fn parse_stems(text: &str) -> Result<BTreeMap<String, StemSettings>, String> {
    let mut stems = BTreeMap::new();
    for part in text.split(';').map(str::trim).filter(|p| !p.is_empty()) {
        let (name, rest) = part.split_once(':').unwrap_or((part, ""));
        let name = name.trim();
        if !valid_stem_name(name) {
            return Err(format!(
                "stem name `{name}`: use letters, digits, - and _ (and not `src`)"
            ));
        }
        let mut stem = StemSettings::default();
        for setting in rest.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let (key, value) = setting
                .split_once('=')
                .ok_or_else(|| format!("stem `{name}`: `{setting}` is not key=value"))?;
            let (key, value) = (key.trim(), value.trim());
            if !KEYS.contains(&key) {
                let near = strsim_near(key);
                return Err(format!(
                    "stem `{name}`: no setting `{key}`{near}; settings are {}",
                    KEYS.join(", ")
                ));
            }
            if key == "vad" {
                stem.vad = match value {
                    "true" => true,
                    "false" => false,
                    _ => return Err(format!("stem `{name}`: vad is true or false, not `{value}`")),
                };
            } else {
                stem.properties.push((key.to_owned(), value.to_owned()));
            }
        }
        if stems.insert(name.to_owned(), stem).is_some() {
            return Err(format!("stem `{name}` is set twice"));
        }
    }
    for (name, stem) in &stems {
        for (key, value) in &stem.properties {
            if key == "duck-key" && !stems.get(value).is_some_and(|k| k.vad) {
                return Err(format!(
                    "stem `{name}`: duck-key `{value}` must be a stem of this mix with vad=true"
                ));
            }
        }
    }
    Ok(stems)
}

fn strsim_near(key: &str) -> String {
    KEYS.iter()
        .find(|k| key.len() > 2 && (k.starts_with(key) || key.starts_with(*k)))
        .map(|k| format!(" (did you mean `{k}`?)"))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stems_parse_with_their_settings() {
        let stems =
            parse_stems("dialogue: vad=true; music: gain=-6, duck=12, duck-key=dialogue, automation=0s=-20 2s=0; fx")
                .unwrap();
        assert_eq!(stems.len(), 3);
        assert!(stems["dialogue"].vad);
        assert_eq!(
            stems["music"].properties[3],
            ("automation".into(), "0s=-20 2s=0".into())
        );
        assert_eq!(stems["fx"], StemSettings::default());
    }

    #[test]
    fn bad_settings_name_the_stem() {
        for (text, expected) in [
            ("music: loudness=3", "stem `music`: no setting `loudness`"),
            ("music: gai=3", "did you mean `gain`?"),
            (
                "music: duck=12, duck-key=voice",
                "stem `music`: duck-key `voice` must be a stem",
            ),
            ("dialogue: vad=yes", "vad is true or false"),
            ("my music: gain=1", "stem name `my music`"),
            ("a: gain=1; a: pan=1", "stem `a` is set twice"),
            ("music: gain", "`gain` is not key=value"),
        ] {
            let error = parse_stems(text).unwrap_err();
            assert!(error.contains(expected), "{text}: {error}");
        }
    }
}
