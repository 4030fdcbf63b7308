//! The control plane on real pipelines: states, events, meters, the
//! alerts Slate raises itself, live properties, automation scripts and
//! the restart policy.

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::json;
use slate_control::{
    Attach, Category, Control, ControlError, Create, Event, Restart, Scope, ScriptSource, Source, State,
};
use tokio::sync::broadcast::Receiver;

fn init() {
    gst::init().unwrap();
    gstslate::plugin_register_static().unwrap();
}

fn toml(source: &str) -> Create {
    Create {
        source: Source::Toml(source.into()),
        set: Vec::new(),
        duration: None,
        restart: Restart::default(),
    }
}

/// A live picture and sound into fakesinks.
fn live(picture: &str, sound: &str) -> Create {
    toml(&format!(
        r#"
[pipeline]
links = ["cam ! videoconvert ! picture", "mic ! sound"]
[source.cam]
element = "videotestsrc"
caps = "video/x-raw,width=160,height=90,framerate=30/1"
properties = {{ is-live = true, {picture} }}
[source.mic]
element = "audiotestsrc"
properties = {{ is-live = true, samplesperbuffer = 480, {sound} }}
[sink.picture]
element = "fakesink"
[sink.sound]
element = "fakesink"
"#
    ))
}

/// The first event `matches` lets through within `within`.
fn expect(events: &mut Receiver<Event>, within: Duration, what: &str, matches: impl Fn(&Event) -> bool) -> Event {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        match events.try_recv() {
            Ok(event) if matches(&event) => return event,
            Ok(_) => {}
            Err(tokio::sync::broadcast::error::TryRecvError::Empty) => std::thread::sleep(Duration::from_millis(10)),
            Err(e) => panic!("{what}: {e}"),
        }
    }
    panic!("no {what} within {within:?}");
}

fn alert(kind: &'static str, active: bool) -> impl Fn(&Event) -> bool {
    move |e| e.category == Category::Alerts && e.data["alert"] == kind && e.data["active"] == active
}

#[test]
fn a_pipeline_plays_pauses_and_stops_reporting_its_states() {
    init();
    let control = Control::default();
    let mut events = control.subscribe();
    let made = control
        .create("ada", live("pattern = \"ball\"", "wave = \"sine\""))
        .unwrap();
    assert_eq!(
        (made.state, made.owner.as_str(), made.id.as_str()),
        (State::Ready, "ada", "p1")
    );
    control.start("p1").unwrap();
    expect(&mut events, Duration::from_secs(5), "playing", |e| {
        e.kind == "state" && e.data["state"] == "playing"
    });
    let meter = expect(&mut events, Duration::from_secs(5), "a meter", |e| {
        e.category == Category::Meters
    });
    assert_eq!(meter.data["element"], "mic");
    assert_eq!(meter.data["peak-db"].as_array().unwrap().len(), 1, "{:?}", meter.data);
    assert!(meter.data["rms-db"][0].as_f64().unwrap() > -30.0, "{:?}", meter.data);
    // Momentary loudness needs 400 ms of sound.
    let loud = expect(&mut events, Duration::from_secs(5), "momentary loudness", |e| {
        e.category == Category::Meters && e.data["momentary-lufs"].is_number()
    });
    assert!((-40.0..0.0).contains(&loud.data["momentary-lufs"].as_f64().unwrap()));

    control.pause("p1").unwrap();
    assert_eq!(control.status("p1").unwrap().state, State::Paused);
    assert!(control.pause("p1").is_ok(), "pausing twice is fine");
    control.start("p1").unwrap();
    assert_eq!(control.status("p1").unwrap().state, State::Playing);
    assert!(
        matches!(control.remove("p1"), Err(ControlError::Conflict { .. })),
        "a playing pipeline stays"
    );

    let stopped = control.stop("p1", true).unwrap();
    assert_eq!(stopped.state, State::Stopped);
    assert!(stopped.position_s.unwrap() > 0.0 && stopped.frames > 0, "{stopped:?}");
    expect(&mut events, Duration::from_secs(5), "stopped", |e| {
        e.kind == "state" && e.data["state"] == "stopped"
    });
    let again = control.start("p1").unwrap_err();
    assert_eq!(again.field(), "state");
    control.remove("p1").unwrap();
    assert!(matches!(control.status("p1"), Err(ControlError::NotFound(_))));
}

#[test]
fn a_frozen_picture_and_silence_are_raised_and_cleared() {
    init();
    let control = Control::default();
    let mut events = control.subscribe();
    // Moving bars and a tone: nothing to say.
    let made = control
        .create(
            "ada",
            live("pattern = \"smpte\", horizontal-speed = 4", "wave = \"sine\""),
        )
        .unwrap();
    control.start(&made.id).unwrap();
    std::thread::sleep(Duration::from_secs(3));
    assert!(control.status(&made.id).unwrap().alerts.is_empty());

    // A still picture in place of the moving bars (not SMPTE's own: its
    // noise patch moves), and the sound goes.
    control
        .set_property(&made.id, "cam", "pattern", &json!("gradient"))
        .unwrap();
    control.set_property(&made.id, "mic", "volume", &json!(0.0)).unwrap();
    let frozen = expect(
        &mut events,
        Duration::from_secs(6),
        "frozen picture",
        alert("frozen-picture", true),
    );
    assert_eq!(frozen.data["element"], "cam");
    expect(&mut events, Duration::from_secs(6), "silence", alert("silence", true));
    assert_eq!(control.status(&made.id).unwrap().alerts.len(), 2);

    control
        .set_property(&made.id, "cam", "pattern", &json!("smpte"))
        .unwrap();
    control.set_property(&made.id, "mic", "volume", &json!(0.5)).unwrap();
    expect(
        &mut events,
        Duration::from_secs(3),
        "moving again",
        alert("frozen-picture", false),
    );
    expect(
        &mut events,
        Duration::from_secs(3),
        "sound again",
        alert("silence", false),
    );
    assert!(control.status(&made.id).unwrap().alerts.is_empty());
}

#[test]
fn black_picture_and_lost_input_are_alerts() {
    init();
    let control = Control::default();
    let mut events = control.subscribe();
    let made = control
        .create("ada", live("pattern = \"black\"", "wave = \"sine\""))
        .unwrap();
    control.start(&made.id).unwrap();
    expect(
        &mut events,
        Duration::from_secs(6),
        "black picture",
        alert("black-picture", true),
    );
    // A black picture is not also a frozen one.
    assert!(
        !control
            .status(&made.id)
            .unwrap()
            .alerts
            .iter()
            .any(|a| a["alert"] == "frozen-picture")
    );

    // An input that gives a buffer every 3 s: lost between them.
    let mut slow = live("pattern = \"ball\"", "wave = \"sine\"");
    slow.set.push("mic.samplesperbuffer=144000".into());
    let made = control.create("ada", slow).unwrap();
    control.start(&made.id).unwrap();
    let lost = expect(&mut events, Duration::from_secs(8), "lost input", |e| {
        alert("lost-input", true)(e) && e.pipeline == made.id
    });
    assert_eq!(lost.data["element"], "mic");
    expect(&mut events, Duration::from_secs(4), "input back", |e| {
        alert("lost-input", false)(e) && e.pipeline == made.id
    });
}

#[test]
fn live_properties_are_checked_as_pipeline_files_are() {
    init();
    let control = Control::default();
    let made = control
        .create("ada", live("pattern = \"ball\"", "wave = \"sine\""))
        .unwrap();
    let id = made.id.as_str();
    assert_eq!(
        control.set_property(id, "cam", "pattern", &json!("snow")).unwrap(),
        json!("snow")
    );
    assert_eq!(control.properties(id, "cam").unwrap()["pattern"], json!("snow"));
    let refused = |element: &str, property: &str, value: serde_json::Value| {
        control.set_property(id, element, property, &value).unwrap_err()
    };
    let e = refused("cam", "pattern", json!("plaid"));
    assert_eq!(e.field(), "property");
    assert!(e.to_string().contains("plaid"), "{e}");
    assert_eq!(refused("cam", "patern", json!("snow")).field(), "property");
    assert!(
        refused("cam", "patern", json!("snow"))
            .to_string()
            .contains("did you mean `pattern`")
    );
    assert_eq!(refused("camera", "pattern", json!("snow")).field(), "element");
    assert_eq!(refused("mic", "volume", json!(99.0)).field(), "property");
    assert_eq!(refused("mic", "volume", json!(null)).field(), "value");
    assert!(matches!(
        control.set_property("p9", "cam", "pattern", &json!(1)),
        Err(ControlError::NotFound(_))
    ));
}

#[test]
fn a_failing_pipeline_restarts_as_its_policy_says_then_fails() {
    init();
    let control = Control::default();
    let mut events = control.subscribe();
    // A sink that refuses to play: an error once it is started.
    let mut create = toml(
        r#"
[pipeline]
links = ["cam ! out"]
[source.cam]
element = "videotestsrc"
properties = { is-live = true }
[sink.out]
element = "fakesink"
properties = { state-error = "paused-to-playing" }
"#,
    );
    create.restart = Restart {
        attempts: 2,
        scope: Scope::Pipeline,
    };
    let made = control.create("ada", create).unwrap();
    control.start(&made.id).unwrap();
    for _ in 0..2 {
        expect(&mut events, Duration::from_secs(10), "restarting", |e| {
            e.data["state"] == "restarting"
        });
    }
    expect(&mut events, Duration::from_secs(10), "failed", |e| {
        e.data["state"] == "failed"
    });
    let status = control.status(&made.id).unwrap();
    assert_eq!((status.state, status.restarts), (State::Failed, 2));
    let error = status.error.unwrap();
    assert!(error.contains("start") || error.contains("out"), "{error}");
}

#[test]
fn bad_requests_name_their_field() {
    init();
    let control = Control::new(Some(
        std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../pipelines"),
    ));
    assert!(control.shipped().contains(&"demo".to_owned()));
    let field = |create: Create| control.create("ada", create).unwrap_err().field().to_owned();
    assert_eq!(field(toml("[pipeline")), "toml");
    assert_eq!(
        field(toml("[pipeline]\nlinks = [\"videotestsrc ! nosuchelement\"]")),
        "toml"
    );
    let named = |name: &str, set: &[&str]| Create {
        source: Source::Name(name.into()),
        set: set.iter().map(|s| s.to_string()).collect(),
        duration: None,
        restart: Restart::default(),
    };
    let e = control.create("ada", named("demos", &[])).unwrap_err();
    assert_eq!(e.field(), "name");
    assert!(e.to_string().contains("demo"), "{e}");
    assert_eq!(field(named("demo", &["camera.pattern=ball", "nothing"])), "set[1]");
    assert_eq!(
        field(named("demo", &["camera.pattern=ball", "camera.patern=ball"])),
        "set[1]"
    );
    assert_eq!(field(named("demo", &["camera.pattern=plaid"])), "set[0]");
}

#[test]
fn a_pipeline_that_fails_to_start_is_built_again_under_the_branch_scope_too() {
    init();
    let control = Control::default();
    let mut events = control.subscribe();
    let mut create = toml(
        "[pipeline]\nlinks = [\"cam ! out\"]\n[source.cam]\nelement = \"videotestsrc\"\n\
         [sink.out]\nelement = \"fakesink\"\nproperties = { state-error = \"paused-to-playing\" }\n",
    );
    create.restart = Restart {
        attempts: 1,
        scope: Scope::Branch,
    };
    let made = control.create("ada", create).unwrap();
    control.start(&made.id).unwrap();
    expect(&mut events, Duration::from_secs(10), "restarting", |e| {
        e.data["state"] == "restarting"
    });
    expect(&mut events, Duration::from_secs(10), "failed", |e| {
        e.data["state"] == "failed"
    });
    assert_eq!(control.status(&made.id).unwrap().restarts, 1);
}

/// Seconds of running time `metalog` wrote, one per frame.
fn logged_times(path: &Path) -> Vec<f64> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok()?["pts"].as_f64())
        .collect()
}

#[test]
fn a_failed_branch_restarts_in_place_while_the_rest_runs_on_until_its_attempts_are_used() {
    init();
    let plugins = slate_test_plugins::build(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../../plugins")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let control = Control::default();
    let mut events = control.subscribe();
    // The camera fails on its 15th frame (0.5 s) after every start; the
    // program beside it never fails.
    let mut create = toml(&format!(
        r#"
[pipeline]
links = ["camera ! camlog ! camsink", "program ! proglog ! progsink"]
[source.camera]
element = "wasmsrc"
caps = "video/x-raw,format=RGBA,width=64,height=48,framerate=30/1"
properties = {{ plugin = "{plugin}", config = '{{"fail-at": 15}}', is-live = true }}
[source.program]
element = "videotestsrc"
caps = "video/x-raw,width=64,height=48,framerate=30/1"
properties = {{ is-live = true }}
[stage.camlog]
element = "metalog"
properties = {{ location = "{camera}" }}
[stage.proglog]
element = "metalog"
properties = {{ location = "{program}" }}
[sink.camsink]
element = "fakesink"
properties = {{ sync = true }}
[sink.progsink]
element = "fakesink"
properties = {{ sync = true }}
"#,
        plugin = plugins.join("flaky_source.wasm").display(),
        camera = dir.path().join("camera.jsonl").display(),
        program = dir.path().join("program.jsonl").display(),
    ));
    create.restart = Restart {
        attempts: 2,
        scope: Scope::Branch,
    };
    let made = control.create("ada", create).unwrap();
    control.start(&made.id).unwrap();
    for attempt in 1..=2 {
        let restarted = expect(&mut events, Duration::from_secs(10), "branch-restarted", |e| {
            e.kind == "branch-restarted"
        });
        assert_eq!(restarted.data["attempt"], attempt);
        assert_eq!(restarted.data["branch"], "camera");
        assert_eq!(control.status(&made.id).unwrap().state, State::Playing);
    }
    // The third failure has no attempt left: the pipeline fails, naming it.
    expect(&mut events, Duration::from_secs(10), "failed", |e| {
        e.data["state"] == "failed"
    });
    let status = control.status(&made.id).unwrap();
    assert_eq!(status.restarts, 2);
    assert!(
        status.error.as_deref().unwrap_or_default().contains("camera"),
        "{status:?}"
    );
    // The camera delivered again after each failure...
    let camera = logged_times(&dir.path().join("camera.jsonl"));
    let gaps = camera.windows(2).filter(|w| w[1] - w[0] > 0.1).count();
    assert!(gaps >= 2, "{gaps} gaps in {camera:?}");
    // ...and the program never noticed.
    let program = logged_times(&dir.path().join("program.jsonl"));
    assert!(
        program.last().copied().unwrap_or_default() > camera[0] + 1.5,
        "{program:?}"
    );
    assert!(
        program.windows(2).all(|w| w[1] - w[0] < 0.1),
        "the program has a gap: {program:?}"
    );
}

fn scripts_folder() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts")
}

fn lua(text: &str, settings: &[(&str, &str)]) -> Attach {
    Attach {
        source: ScriptSource::Lua(text.into()),
        settings: settings.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
    }
}

#[test]
fn a_script_attaches_tunes_the_running_pipeline_and_detaches_while_it_runs_on() {
    init();
    let control = Control::default().with_scripts(scripts_folder());
    assert!(control.shipped_scripts().contains(&"watchdog".to_owned()));
    assert!(!control.shipped_scripts().iter().any(|s| s.contains(".d")));
    let mut events = control.subscribe();
    let made = control
        .create("ada", live("pattern = \"smpte\"", "wave = \"sine\""))
        .unwrap();
    let id = made.id.as_str();
    control.start(id).unwrap();
    let script = r#"
        local s = slate.settings { pattern = { default = "snow", choices = { "snow", "ball" } } }
        slate.on("element-message", function(name) seen = name end)
        slate.after(200, function()
          slate.main:element("cam"):set("pattern", s.pattern)
          slate.log.info("pattern " .. s.pattern)
        end)
        function unload() slate.log.info("bye") end
    "#;
    let attached = control.attach(id, lua(script, &[("pattern", "ball")])).unwrap();
    assert_eq!(attached.settings["pattern"], "ball");
    let log = |text: &'static str| move |e: &Event| e.category == Category::Scripts && e.data["message"] == text;
    expect(
        &mut events,
        Duration::from_secs(5),
        "the script's log line",
        log("pattern ball"),
    );
    assert_eq!(control.properties(id, "cam").unwrap()["pattern"], "ball");
    assert_eq!(control.status(id).unwrap().scripts.len(), 1);

    // Detached: unload() ran, the pipeline plays on.
    control.detach(id, &attached.id).unwrap();
    expect(&mut events, Duration::from_secs(5), "unload's log line", log("bye"));
    expect(&mut events, Duration::from_secs(5), "detached", |e| {
        e.kind == "detached" && e.data["reason"] == "detached"
    });
    let status = control.status(id).unwrap();
    assert_eq!((status.state, status.scripts.len()), (State::Playing, 0));

    // What a script may not do, and refusals that name their field.
    let refused = |attach: Attach| control.attach(id, attach).unwrap_err();
    let e = refused(lua("slate.main:stop()", &[]));
    assert_eq!(e.field(), "lua");
    assert!(e.to_string().contains("control plane"), "{e}");
    let e = refused(lua("local x = ", &[]));
    assert_eq!(e.field(), "lua");
    assert!(e.to_string().contains(":1:"), "{e}");
    assert_eq!(refused(lua(script, &[("colour", "red")])).field(), "settings");
    assert_eq!(refused(lua(script, &[("pattern", "plaid")])).field(), "settings");
    let e = refused(Attach {
        source: ScriptSource::Name("watchdogs".into()),
        settings: Default::default(),
    });
    assert_eq!(e.field(), "name");
    assert!(e.to_string().contains("watchdog"), "{e}");
    assert!(matches!(
        control.detach(id, "s99").unwrap_err(),
        ControlError::Invalid { .. }
    ));

    // A script still attached when the pipeline ends is detached with it.
    let quiet = control.attach(id, lua("slate.on('eos', function() end)", &[])).unwrap();
    control.stop(id, true).unwrap();
    expect(&mut events, Duration::from_secs(5), "detached with its pipeline", |e| {
        e.kind == "detached" && e.data["script"] == quiet.id.as_str() && e.data["reason"] == "the pipeline is over"
    });
    assert_eq!(refused(lua("", &[])).field(), "state");
}
