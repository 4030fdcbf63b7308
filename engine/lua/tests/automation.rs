//! Automation scripts driving real pipelines.

use std::path::Path;
use std::time::Duration;

use slate_lua::{Automation, Limits};

fn scripts() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../scripts"))
}

fn register_slate_elements() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        gst::init().unwrap();
        gstslate::plugin_register_static().unwrap();
    });
}

/// Runs `f` with the working directory set to a fresh folder.
fn in_scratch(f: impl FnOnce(&Path)) {
    static CWD: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _one_at_a_time = CWD.lock().unwrap();
    let scratch = tempfile::tempdir().unwrap();
    let previous = std::env::current_dir().unwrap();
    std::env::set_current_dir(scratch.path()).unwrap();
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(scratch.path())));
    std::env::set_current_dir(previous).unwrap();
    if let Err(panic) = result {
        std::panic::resume_unwind(panic);
    }
}

#[test]
fn the_scene_switcher_cuts_between_cameras_every_second() {
    register_slate_elements();
    in_scratch(|dir| {
        let mut automation = Automation::load(&scripts().join("scene_switcher.lua"), Limits::default()).unwrap();
        automation.run(Some(Duration::from_secs(20))).unwrap();
        let log = std::fs::read_to_string(dir.join("out/switcher.jsonl")).unwrap();
        let frames: Vec<(f64, String)> = log
            .lines()
            .map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).unwrap();
                (
                    v["pts"].as_f64().unwrap(),
                    v["fields"]["scene"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        assert!(frames.len() > 90, "{} frames", frames.len());
        // Judge each window away from the cuts (timer and clock jitter).
        for (from, to, scene) in [(0.1, 0.9, "A"), (1.1, 1.9, "B"), (2.1, 2.9, "A")] {
            let window: Vec<&str> = frames
                .iter()
                .filter(|(t, _)| *t > from && *t < to)
                .map(|(_, s)| s.as_str())
                .collect();
            assert!(
                !window.is_empty() && window.iter().all(|s| *s == scene),
                "{from}..{to} s: {window:?}"
            );
        }
    });
}

#[test]
fn script_mistakes_are_clear_errors() {
    register_slate_elements();
    let folder = Path::new(".");
    for (source, expect) in [
        (
            "slate.pipeline('videotestsrc ! nosuchelement ! fakesink')",
            "no element \"nosuchelement\"",
        ),
        (
            "slate.on('eso', print)",
            "unknown event `eso`; events: eos, error, warning, shot, message",
        ),
        ("slate.every(0, print)", "milliseconds must be a number >= 1"),
        (
            "slate.pipeline('videotestsrc name=v ! fakesink'):element('v'):set('pattern', 'smtpe')",
            "(did you mean `smpte`",
        ),
        (
            "slate.pipeline('videotestsrc name=v ! fakesink'):element('w')",
            "has no element named `w`",
        ),
    ] {
        let err = Automation::from_source("auto.lua", source, folder, Limits::default())
            .unwrap_err()
            .to_string();
        assert!(err.contains(expect), "{source}: {err}");
    }
}

#[test]
fn errors_in_callbacks_are_reported_and_the_script_goes_on() {
    register_slate_elements();
    let source = r#"
        ticks = 0
        slate.every(10, function() ticks = ticks + 1 if ticks == 2 then error("tick two") end end)
        slate.after(100, function() slate.quit() end)
        function unload() assert(ticks >= 5, "ticks: " .. ticks) end
    "#;
    let mut automation = Automation::from_source("auto.lua", source, Path::new("."), Limits::default()).unwrap();
    automation.run(Some(Duration::from_secs(5))).unwrap();
}

/// `scripts/slate.d.lua` declares exactly the functions the host registers.
#[test]
fn the_type_stubs_match_what_the_host_registers() {
    register_slate_elements();
    let stubs = std::fs::read_to_string(scripts().join("slate.d.lua")).unwrap();
    let mut declared: Vec<String> = stubs
        .lines()
        .filter_map(|l| l.strip_prefix("function "))
        .map(|l| l.split('(').next().unwrap().to_owned())
        .collect();
    declared.sort();
    let mut api: Vec<String> = slate_lua::API.iter().map(|s| s.to_string()).collect();
    api.sort();
    assert_eq!(declared, api, "scripts/slate.d.lua and slate_lua::API differ");

    // Every name in API exists in a live script, and the slate table holds
    // nothing that API does not name.
    let mut checks = String::from(
        "local p = slate.pipeline('videotestsrc name=v ! fakesink') local e = p:element('v')\n\
         local objects = { Pipeline = p, Element = e }\n\
         local seen = {} for k, v in pairs(slate) do if type(v) == 'function' then seen['slate.' .. k] = true end end\n\
         for k in pairs(slate.log) do seen['slate.log.' .. k] = true end\n",
    );
    for name in slate_lua::API {
        if let Some((kind, method)) = name.split_once(':') {
            if kind != "Buffer" {
                checks.push_str(&format!(
                    "assert(type(objects.{kind}.{method}) == 'function', '{name} missing')\n"
                ));
            }
        } else {
            checks.push_str(&format!(
                "assert(seen['{name}'], '{name} missing') seen['{name}'] = nil\n"
            ));
        }
    }
    checks
        .push_str("local extra = next(seen) assert(extra == nil, 'registered but not in API: ' .. tostring(extra))\n");
    Automation::from_source("sync.lua", &checks, Path::new("."), Limits::default()).unwrap();
    // Buffer methods, through a stage script.
    let buffer_checks: String = slate_lua::API
        .iter()
        .filter_map(|n| n.strip_prefix("Buffer:"))
        .map(|m| format!("assert(type(buf.{m}) == 'function', 'Buffer:{m} missing')\n"))
        .collect();
    let mut script = slate_lua::Script::from_source(
        "sync.lua",
        &format!("function process(buf)\n{buffer_checks}end"),
        Path::new("."),
        Limits::default(),
    )
    .unwrap();
    script
        .process(&mut slate_lua::Buffer::new(None, None, Default::default()))
        .unwrap();
}
