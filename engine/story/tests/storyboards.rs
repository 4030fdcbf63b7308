//! Storyboards as users write them: the shipped example reads, mistakes
//! are named by file, line and field, and mangled text never panics.

use proptest::prelude::*;
use slate_story::{Storyboard, TimeLink, Verb};

const COFFEE: &str = include_str!("../../../pipelines/storyboards/coffee.toml");

#[test]
fn the_coffee_storyboard_reads_whole() {
    let board = Storyboard::parse(COFFEE, "coffee.toml").unwrap();
    let shots: Vec<&str> = board.shots().map(|(_, shot)| shot.id.as_str()).collect();
    assert_eq!(shots, ["wide", "close", "reverse"]);
    let cup = board.world.props.iter().find(|p| p.id == "cup").unwrap();
    assert_eq!(cup.position, [0.2, 0.75, 0.1]);
    let close = &board.scenes[0].shots[1];
    assert_eq!(close.time, TimeLink::Continuous);
    assert_eq!(close.actions[1].verb, Verb::Place);
    assert_eq!(board.scenes[0].shots[0].time, TimeLink::Reset);
    assert_eq!(slate_story::rgb(&cup.colour), Some([0x2e, 0x9e, 0x44]));
}

/// The coffee storyboard with `from` replaced by `to` (once), and the
/// line of the edit.
fn edited(from: &str, to: &str) -> (String, usize) {
    let at = COFFEE.find(from).unwrap_or_else(|| panic!("{from}"));
    (COFFEE.replacen(from, to, 1), COFFEE[..at].matches('\n').count() + 1)
}

#[test]
fn mistakes_name_the_file_line_and_field() {
    let cases = [
        (
            "object = \"cup\", by = \"ada\" },",
            "object = \"mug\", by = \"ada\" },",
            "scene[0].shot[1].action[0].object: no prop `mug` (props: table, cup)",
        ),
        (
            "fov = 12",
            "fov = 300",
            "scene[0].shot[1].camera.fov: 300 is out of range: 5 to 150 degrees",
        ),
        (
            "colour = \"#2e9e44\"",
            "colour = \"white\"",
            "world.prop[1].colour: `white` is not a colour",
        ),
        (
            "light = \"key\", at = 1.0",
            "light = \"sun\", at = 1.0",
            "no light `sun` (lights: key, fill)",
        ),
        (
            "kind = \"effect\", action = 1",
            "kind = \"effect\", action = 5",
            "this shot has 2 actions",
        ),
        (
            "id = \"cup\"",
            "id = \"table\"",
            "world.prop[1].id: id `table` is used twice",
        ),
        (
            "move = \"dolly\", to = [0.0, 1.5, 3.2]",
            "move = \"dolly\"",
            "scene[0].shot[0].camera.to: this move needs `to`",
        ),
    ];
    for (from, to, expected) in cases {
        let (text, line) = edited(from, to);
        let error = Storyboard::parse(&text, "coffee.toml").unwrap_err().to_string();
        assert!(error.contains(expected), "{to}: {error}");
        assert!(
            error.starts_with(&format!("coffee.toml:{line}:")),
            "{to}: line {line} expected: {error}"
        );
    }
    // Structure: unknown fields, wrong types, bad enums come from the reader.
    for (from, to, expected) in [
        ("fov = 45, move", "fvo = 45, move", "unknown field `fvo`"),
        (
            "duration = 3.0\ncamera = { position = [0.9",
            "duration = \"long\"\ncamera = { position = [0.9",
            "invalid type",
        ),
        ("verb = \"place\"", "verb = \"drop\"", "unknown variant `drop`"),
    ] {
        let (text, line) = edited(from, to);
        let error = Storyboard::parse(&text, "coffee.toml").unwrap_err().to_string();
        assert!(
            error.contains(expected) && error.starts_with("coffee.toml:"),
            "{to}: {error}"
        );
        let reported: usize = error.split(':').nth(1).unwrap().parse().unwrap();
        assert_eq!(reported, line, "{error}");
    }
    let error = Storyboard::load(std::path::Path::new("gone.toml"))
        .unwrap_err()
        .to_string();
    assert!(
        error.starts_with("gone.toml:") && error.contains("cannot read it"),
        "{error}"
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]

    /// Cut, flipped, deleted and duplicated pieces of a real storyboard:
    /// either it still reads, or the error names the file and a line that
    /// exists. Never a panic.
    #[test]
    fn mangled_storyboards_fail_clearly(
        cut in 0usize..COFFEE.len(),
        at in 0usize..COFFEE.len(),
        byte in 32u8..127,
        mode in 0u8..4,
        span in 1usize..40,
    ) {
        let mut text = COFFEE.as_bytes().to_vec();
        match mode {
            0 => text.truncate(cut),
            1 => text[at] = byte,
            2 => { let end = (at + span).min(text.len()); text.drain(at..end); }
            _ => { let end = (at + span).min(text.len()); let piece = text[at..end].to_vec(); text.splice(at..at, piece); }
        }
        let text = String::from_utf8_lossy(&text).into_owned();
        if let Err(errors) = Storyboard::parse(&text, "fuzz.toml") {
            let lines = text.lines().count().max(1) + 1;
            for error in &errors.0 {
                prop_assert_eq!(error.origin.as_str(), "fuzz.toml");
                prop_assert!(error.line >= 1 && error.line <= lines, "{} (text has {} lines)", error, lines);
                prop_assert!(!error.message.is_empty());
            }
        }
    }
}
