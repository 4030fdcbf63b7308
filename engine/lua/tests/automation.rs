//! Automation scripts driving real pipelines.

use std::path::Path;
use std::time::Duration;

use slate_lua::{Automation, Options};

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
        let mut automation = Automation::load(&scripts().join("scene_switcher.lua"), Options::default()).unwrap();
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
            "slate.on('warnings', print)",
            "unknown event `warnings` (did you mean `warning`?); events: eos, error, warning, state, shot, element-message",
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
        let err = Automation::from_source("auto.lua", source, folder, Options::default())
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
    let mut automation = Automation::from_source("auto.lua", source, Path::new("."), Options::default()).unwrap();
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
         local objects = { Pipeline = p, Element = e, Timeline = slate.timeline.new('t') }\n\
         local seen = {} for k, v in pairs(slate) do if type(v) == 'function' then seen['slate.' .. k] = true end end\n\
         for k in pairs(slate.log) do seen['slate.log.' .. k] = true end\n\
         for k in pairs(slate.timeline) do seen['slate.timeline.' .. k] = true end\n",
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
    Automation::from_source("sync.lua", &checks, Path::new("."), Options::default()).unwrap();
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
        slate_lua::Limits::default(),
    )
    .unwrap();
    script
        .process(&mut slate_lua::Buffer::new(None, None, Default::default()))
        .unwrap();
}

fn unix_now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

/// Seconds of media in a file, as ffprobe reads its container.
fn media_duration(path: &Path) -> f64 {
    let out = std::process::Command::new("ffprobe")
        .args(["-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0"])
        .arg(path)
        .output()
        .expect("ffprobe runs (.ci/setup installs ffmpeg)");
    assert!(
        out.status.success(),
        "ffprobe {}: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
}

#[test]
fn the_scheduler_records_from_start_to_stop() {
    register_slate_elements();
    in_scratch(|dir| {
        let start = unix_now() + 1.0;
        let settings = [
            ("start".to_owned(), format!("{start:.3}")),
            ("stop".to_owned(), format!("{:.3}", start + 2.0)),
            ("output".to_owned(), "out/show.mp4".to_owned()),
        ];
        let options = Options {
            settings: settings.into_iter().collect(),
            ..Options::default()
        };
        let began = std::time::Instant::now();
        let mut automation = Automation::load(&scripts().join("scheduler.lua"), options).unwrap();
        automation.run(Some(Duration::from_secs(20))).unwrap();
        // The script ends by itself once the recording is finished.
        assert!(began.elapsed() < Duration::from_secs(8), "{:?}", began.elapsed());
        let length = media_duration(&dir.join("out/show.mp4"));
        assert!((length - 2.0).abs() < 0.25, "recorded {length} s of a 2 s schedule");
    });
}

#[test]
fn slate_at_takes_a_time_of_day() {
    let source = r#"
        local at = os.date("%H:%M:%S", os.time() + 2)
        local asked = slate.clock()
        slate.at(at, function() waited = slate.clock() - asked end)
    "#;
    let mut automation = Automation::from_source("at.lua", source, Path::new("."), Options::default()).unwrap();
    automation.run(Some(Duration::from_secs(10))).unwrap();
    // The next whole second after now + 1..2 s.
    let waited = automation.number("waited").expect("the timer fired");
    assert!((1.0..=2.2).contains(&waited), "waited {waited} s");
    for (when, expect) in [
        ("'25:00'", "is not a time of day"),
        ("slate.clock() - 60", "in the past"),
    ] {
        let error = Automation::from_source(
            "at.lua",
            &format!("slate.at({when}, print)"),
            Path::new("."),
            Options::default(),
        )
        .unwrap_err()
        .to_string();
        assert!(error.contains(expect), "{when}: {error}");
    }
}

/// Frame times (seconds) a metalog sidecar recorded.
fn logged_times(path: &Path) -> Vec<f64> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["pts"]
                .as_f64()
                .unwrap()
        })
        .collect()
}

#[test]
fn the_watchdog_restarts_a_failing_branch_while_the_rest_runs_on() {
    register_slate_elements();
    let plugins = slate_test_plugins::build(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../../plugins")).unwrap();
    let flaky = plugins.join("flaky_source.wasm");
    in_scratch(|dir| {
        std::fs::create_dir_all(dir.join("out")).unwrap();
        // The camera fails on its 15th frame (0.5 s) after every start.
        let main = slate_pipeline::launch(&format!(
            "wasmsrc name=camera plugin={} config=\"{{\\\"fail-at\\\": 15}}\" is-live=true \
               ! video/x-raw,format=RGBA,width=64,height=48,framerate=30/1 ! metalog location=out/camera.jsonl ! fakesink sync=true \
             videotestsrc is-live=true ! video/x-raw,width=64,height=48,framerate=30/1 \
               ! metalog location=out/program.jsonl ! fakesink sync=true",
            flaky.display()
        ))
        .unwrap();
        let options = Options {
            settings: [("backoff_ms".to_owned(), "200".to_owned())].into_iter().collect(),
            main: Some(main),
            ..Options::default()
        };
        let mut automation = Automation::load(&scripts().join("watchdog.lua"), options).unwrap();
        automation.run(Some(Duration::from_secs(3))).unwrap();
        let restarts = automation.number("restarts").unwrap();
        assert!((2.0..10.0).contains(&restarts), "{restarts} restarts");
        // The camera delivered again after each failure, up to the end.
        let camera = logged_times(&dir.join("out/camera.jsonl"));
        let gaps = camera.windows(2).filter(|w| w[1] - w[0] > 0.1).count();
        assert!(
            gaps as f64 >= restarts - 1.0,
            "{gaps} gaps for {restarts} restarts: {camera:?}"
        );
        assert!(camera.last().unwrap() > &2.0, "camera ends at {:?}", camera.last());
        // The program branch never noticed.
        let program = logged_times(&dir.join("out/program.jsonl"));
        assert!(*program.last().unwrap() > 2.0, "program ends at {:?}", program.last());
        assert!(program.windows(2).all(|w| w[1] - w[0] < 0.1), "program has a gap");
    });
}

#[test]
fn table_pipelines_state_events_and_observers() {
    register_slate_elements();
    let source = r#"
        local p = slate.pipeline {
          pipeline = { links = { "src ! gate ! out" } },
          source = { src = { element = "videotestsrc", properties = { ["is-live"] = true } } },
          stage = { gate = { element = "identity" } },
          sink = { out = { element = "fakesink" } },
        }
        playing, observed = 0, 0
        slate.on("state", function(name, old, new)
          assert(name == p:name())
          if new == "playing" then playing = playing + 1 end
        end)
        slate.observe(p:element("gate"), "drop-probability", function(value, element)
          assert(element:name() == "gate")
          observed = observed + 1
          last = value
        end)
        slate.after(100, function() p:element("gate"):set("drop-probability", 0.25) end)
        slate.after(300, slate.quit)
        p:play()
    "#;
    let mut automation = Automation::from_source("table.lua", source, Path::new("."), Options::default()).unwrap();
    automation.run(Some(Duration::from_secs(5))).unwrap();
    assert_eq!(automation.number("playing"), Some(1.0));
    // Once at first (0), once after the change.
    assert_eq!(automation.number("observed"), Some(2.0));
    assert_eq!(automation.number("last"), Some(0.25));
}

#[test]
fn the_level_rider_moves_the_music_stem_on_each_shot() {
    register_slate_elements();
    in_scratch(|dir| {
        let mut automation = Automation::load(&scripts().join("level_rider.lua"), Options::default()).unwrap();
        automation.run(Some(Duration::from_secs(20))).unwrap();
        // Levels of the ride, 100 ms windows, against the first shot's.
        let samples = std::sync::Arc::new(std::sync::Mutex::new(Vec::<f32>::new()));
        let into = samples.clone();
        slate_audio::decode_file(&dir.join("out/ride.wav"), move |_, channels, block| {
            into.lock().unwrap().extend(block.iter().step_by(channels as usize));
            Ok(())
        })
        .unwrap();
        let samples = samples.lock().unwrap();
        let level = |from: f64, to: f64| {
            let window = &samples[(from * 48_000.0) as usize..(to * 48_000.0) as usize];
            10.0 * (window.iter().map(|s| f64::from(*s).powi(2)).sum::<f64>() / window.len() as f64).log10()
        };
        let intro = level(0.5, 1.4);
        let talk = level(2.0, 2.9) - intro;
        let outro = level(3.5, 4.2) - intro;
        println!("intro {intro:.1} dBFS, talk {talk:+.1} dB, outro {outro:+.1} dB");
        assert!((talk + 12.0).abs() <= 1.0, "talk: {talk}");
        assert!((outro + 3.0).abs() <= 1.0, "outro: {outro}");
    });
}

#[test]
fn scripts_cut_timelines_and_a_refused_edit_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("cut.otio");
    let source = format!(
        r#"
        local t = slate.timeline.new("scripted")
        local v = t:add_track("V1", "video")
        t:insert(v, 1, {{ media = "a.mp4", duration = 50, rate = 25, name = "a" }})
        t:insert(v, 2, {{ media = "b.mp4", start = 20, duration = 40, rate = 25, name = "b" }})
        t:insert(v, 3, {{ gap = 10, rate = 25 }})
        t:insert(v, 4, {{ media = "c.mp4", duration = 30, rate = 25, name = "c" }})
        t:add_transition(v, 1, {{ ["in"] = 5, out = 5 }})
        t:trim(v, 5, 5, 20)
        -- A transition joins two clips: one before a gap is refused.
        local ok, err = pcall(function() t:add_transition(v, 3, {{ ["in"] = 30, out = 5 }}) end)
        assert(not ok and tostring(err):find("tracks%[0%]"), tostring(err))
        assert(#t:items(v) == 5, "the refused edit changed the track")
        removed = t:ripple_delete(v, 4)
        duration = t:duration()
        assert(t:items(v)[2].kind == "transition")
        t:save("{out}")
        "#,
        out = out.display()
    );
    let automation = Automation::from_source("cut.lua", &source, Path::new("."), Options::default()).unwrap();
    assert_eq!(automation.number("removed"), Some(1.0));
    // a 50 + b 40 + c 20 frames at 25 fps.
    assert_eq!(automation.number("duration"), Some(4.4));
    let saved = slate_edit::from_otio(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(saved.name, "scripted");
    assert_eq!(saved.tracks[0].items.len(), 4);
    assert!(!dir.path().join("cut.otio.partial").exists());
}
