//! The control plane end to end, through `slate serve`: the operator page
//! in a real browser (Chromium through chromedriver, driven by Selenium),
//! the demo started over HTTP making what `slate run` makes, and malformed
//! WebSocket messages, pipeline and script bodies refused by field while
//! pipelines run (and a script attached and detached over HTTP).

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use slate_e2e::{
    Server, c2patool_report, c2patool_settings, example_plugin, ffprobe, http, json_lines, repo, serve,
    slate_with_data, test_python, texts,
};

/// The demo at 720p30 takes both cores of a CI machine: the tests that run
/// it take turns, so a starved encoder does not drop frames.
static DEMO: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// `slate serve` in `dir` (where pipelines write), shipping the repo's
/// pipelines, with limits no test reaches.
fn server(dir: &Path) -> Server {
    let mut command = slate_with_data(dir, &dir.join("data"));
    command
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--db",
            "slate.sqlite",
            "--pipelines",
        ])
        .arg(repo().join("pipelines"))
        .arg("--scripts")
        .arg(repo().join("scripts"));
    for limit in ["read=1000000", "write=1000000"] {
        command.args(["--rate-limit", limit]);
    }
    serve(&mut command)
}

/// Makes a pipeline over HTTP: its status.
fn create(server: &Server, body: Value) -> Value {
    let (code, made) = http(
        &server.address,
        "POST",
        "/v1/pipelines",
        Some(&server.token),
        body.to_string().as_bytes(),
    );
    assert_eq!(code, 201, "{made}");
    made
}

fn wait_for_state(server: &Server, id: &str, states: &[&str], within: Duration) -> Value {
    let deadline = Instant::now() + within;
    loop {
        let (code, status) = http(
            &server.address,
            "GET",
            &format!("/v1/pipelines/{id}"),
            Some(&server.token),
            b"",
        );
        assert_eq!(code, 200, "{status}");
        if states.contains(&status["state"].as_str().unwrap_or_default()) {
            return status;
        }
        assert!(Instant::now() < deadline, "pipeline {id} is still {status}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// What c2patool (not ours) says of `file`, trusting the signing CA in `data`.
fn assert_signed(dir: &Path, data: &Path, file: &Path) {
    let settings = c2patool_settings(dir, &data.join("signing/ca.pem"));
    let (report, text) = c2patool_report(Some(&settings), file, None);
    let report = report.unwrap_or_else(|| panic!("c2patool {}: {text}", file.display()));
    assert_eq!(report["validation_state"], "Trusted", "{report}");
}

/// The streams ffprobe (not ours) finds: codec, size, frames.
fn streams(file: &Path) -> Vec<(String, i64, i64)> {
    let probe = ffprobe(file);
    probe["streams"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["codec_name"].as_str().unwrap().to_owned(),
                s["width"].as_i64().unwrap_or(0),
                s["height"].as_i64().unwrap_or(0),
            )
        })
        .collect()
}

#[test]
fn the_operator_page_runs_the_demo_in_a_real_browser() {
    let _turn = DEMO.lock().unwrap_or_else(|e| e.into_inner());
    let scratch = tempfile::tempdir().unwrap();
    let dir = scratch.path();
    let server = server(dir);
    let shot = std::env::var_os("SLATE_SCREENSHOT")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| dir.join("operator.png"));
    let output = Command::new(test_python())
        .arg(repo().join("tests/browser/operator_page.py"))
        .env("SLATE_URL", format!("http://{}", server.address))
        .env("SLATE_TOKEN", &server.token)
        .env("SLATE_TRAP", example_plugin("trap"))
        .env("SLATE_SHOT", &shot)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .output()
        .unwrap();
    let (stdout, stderr) = texts(&output);
    assert!(output.status.success(), "the browser test failed:\n{stdout}\n{stderr}");
    let results: Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    eprintln!("browser: {results}");
    assert!(results["preview_advanced_s"].as_f64().unwrap() >= 3.0, "{results}");
    assert_eq!(results["status"]["state"], "stopped", "{results}");
    let png = std::fs::read(&shot).unwrap();
    assert!(
        png.starts_with(b"\x89PNG") && png.len() > 20_000,
        "a screenshot of the page"
    );

    // The MP4 the page stopped: finalised, playable and signed.
    let mp4 = dir.join("out/demo.mp4");
    assert_eq!(
        streams(&mp4),
        [("h264".to_owned(), 1280, 720), ("aac".to_owned(), 0, 0)],
        "{}",
        mp4.display()
    );
    let seconds = slate_e2e::duration_of(&ffprobe(&mp4));
    assert!(seconds > 5.0, "{seconds} s");
    assert_signed(dir, &dir.join("data"), &mp4);
}

#[test]
fn the_demo_started_over_http_makes_what_slate_run_makes() {
    let _turn = DEMO.lock().unwrap_or_else(|e| e.into_inner());
    let scratch = tempfile::tempdir().unwrap();
    let (by_cli, by_http) = (scratch.path().join("cli"), scratch.path().join("http"));
    std::fs::create_dir_all(&by_cli).unwrap();
    std::fs::create_dir_all(&by_http).unwrap();
    let output = slate_with_data(&by_cli, &by_cli.join("data"))
        .arg("run")
        .arg(repo().join("pipelines/demo.toml"))
        .args(["--duration", "4s"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", texts(&output).1);

    let server = server(&by_http);
    let made = create(&server, json!({ "name": "demo", "duration": "4s", "start": true }));
    let id = made["id"].as_str().unwrap();
    let done = wait_for_state(&server, id, &["finished", "failed"], Duration::from_secs(60));
    assert_eq!(done["state"], "finished", "{done}");
    assert!(
        done["outputs"]
            .as_array()
            .unwrap()
            .iter()
            .all(|o| o["signed"] == true || o["kind"] == "hls"),
        "{done}"
    );

    for dir in [&by_cli, &by_http] {
        let out = dir.join("out");
        assert_eq!(
            streams(&out.join("demo.mp4")),
            [("h264".to_owned(), 1280, 720), ("aac".to_owned(), 0, 0)]
        );
        assert_signed(dir, &dir.join("data"), &out.join("demo.mp4"));
    }
    let frames = |dir: &Path| json_lines(&dir.join("out/demo.jsonl"));
    let (cli, api) = (frames(&by_cli), frames(&by_http));
    assert_eq!(cli.len(), api.len(), "frames of metadata");
    assert_eq!(cli.len(), 120, "4 s at 30 fps");
    // A live capture's clock starts where it starts; from the first
    // frame on, the timeline is the same.
    let relative = |lines: &[Value]| -> Vec<i64> {
        let first = lines[0]["pts"].as_f64().unwrap();
        lines
            .iter()
            .map(|l| ((l["pts"].as_f64().unwrap() - first) * 1000.0).round() as i64)
            .collect()
    };
    assert_eq!(relative(&cli), relative(&api), "the same frame times");
    for (a, b) in cli.iter().zip(&api) {
        assert_eq!(a["fields"], b["fields"], "the same tags on the same frame");
    }
    let playlists = |dir: &Path| {
        let text = std::fs::read_to_string(dir.join("out/hls/demo-video.m3u8")).unwrap();
        text.lines().filter(|l| l.starts_with("#EXTINF")).count()
    };
    assert_eq!(playlists(&by_cli), playlists(&by_http), "HLS segments");
}

/// Malformed messages, each with the field its refusal must name.
fn malformed_messages(i: usize) -> (String, &'static str) {
    let junk = format!("x{i}");
    let cases: [(String, &str); 22] = [
        (format!("{{\"op\": \"identify\", \"token\": \"slt_{junk}\"}}"), "token"),
        ("{\"op\": 7}".into(), "op"),
        ("[1, 2, 3]".into(), "message"),
        (format!("{{\"op\": \"{junk}\"}}"), "op"),
        (format!("{{\"not json {junk}"), "message"),
        ("{}".into(), "op"),
        (
            format!("{{\"op\": \"subscribe\", \"subscriptions\": [\"{junk}\"]}}"),
            "subscriptions[0]",
        ),
        (
            "{\"op\": \"subscribe\", \"subscriptions\": \"alerts\"}".into(),
            "subscriptions",
        ),
        (
            format!("{{\"op\": \"subscribe\", \"subscriptions\": [], \"{junk}\": 1}}"),
            junk_field(),
        ),
        (
            format!("{{\"op\": \"request\", \"id\": {i}, \"type\": \"{junk}\"}}"),
            "type",
        ),
        (format!("{{\"op\": \"request\", \"id\": {i}}}"), "type"),
        (
            format!("{{\"op\": \"request\", \"id\": {i}, \"type\": \"GetPipeline\"}}"),
            "data",
        ),
        (
            format!(
                "{{\"op\": \"request\", \"id\": {i}, \"type\": \"GetPipeline\", \"data\": {{\"pipeline\": \"p{junk}\"}}}}"
            ),
            "id",
        ),
        (
            format!("{{\"op\": \"request\", \"id\": {i}, \"type\": \"StartPipeline\", \"data\": {{\"pipeline\": 5}}}}"),
            "data.pipeline",
        ),
        (
            format!(
                "{{\"op\": \"request\", \"id\": {i}, \"type\": \"SetProperty\", \"data\": {{\"pipeline\": \"p1\", \"element\": \"src\", \"property\": \"pattern\", \"value\": null}}}}"
            ),
            "value",
        ),
        (
            format!(
                "{{\"op\": \"request\", \"id\": {i}, \"type\": \"SetProperty\", \"data\": {{\"pipeline\": \"p1\", \"element\": \"{junk}\", \"property\": \"pattern\", \"value\": 1}}}}"
            ),
            "element",
        ),
        (
            format!(
                "{{\"op\": \"request\", \"id\": {i}, \"type\": \"SetProperty\", \"data\": {{\"pipeline\": \"p1\", \"element\": \"src\", \"property\": \"{junk}\", \"value\": 1}}}}"
            ),
            "property",
        ),
        (
            format!(
                "{{\"op\": \"request\", \"id\": {i}, \"type\": \"SetProperty\", \"data\": {{\"pipeline\": \"p1\", \"element\": \"src\", \"property\": \"pattern\", \"value\": \"{junk}\"}}}}"
            ),
            "property",
        ),
        (
            format!(
                "{{\"op\": \"request\", \"id\": {i}, \"type\": \"CreatePipeline\", \"data\": {{\"toml\": \"[pipeline]\\nlinks = [\\\"{junk} ! fakesink\\\"]\"}}}}"
            ),
            "toml",
        ),
        (
            format!(
                "{{\"op\": \"request\", \"id\": {i}, \"type\": \"CreatePipeline\", \"data\": {{\"name\": \"{junk}\"}}}}"
            ),
            "name",
        ),
        (
            format!(
                "{{\"op\": \"request\", \"id\": {i}, \"type\": \"AttachScript\", \"data\": {{\"pipeline\": \"p1\", \"script\": {{\"lua\": \"local {junk} = \"}}}}}}"
            ),
            "lua",
        ),
        (
            format!(
                "{{\"op\": \"request\", \"id\": {i}, \"type\": \"DetachScript\", \"data\": {{\"pipeline\": \"p1\", \"script\": \"{junk}\"}}}}"
            ),
            "script",
        ),
    ];
    cases[i % cases.len()].clone()
}

/// Malformed script bodies, each with the field its refusal names.
fn malformed_script(i: usize) -> (String, &'static str) {
    let junk = format!("y{i}");
    let declares = "local s = slate.settings { every = { default = 1, min = 1 } }";
    let cases: [(String, &str); 8] = [
        (json!({ "lua": format!("local x = {junk}(") }).to_string(), "lua"),
        ("{}".into(), "name"),
        (json!({ "name": junk }).to_string(), "name"),
        (json!({ "lua": "slate.main:stop()" }).to_string(), "lua"),
        (
            json!({ "lua": declares, "settings": { junk: 1 } }).to_string(),
            "settings",
        ),
        (
            json!({ "lua": declares, "settings": { "every": 0 } }).to_string(),
            "settings",
        ),
        (
            json!({ "lua": "x = 1", "settings": { "every": [1] } }).to_string(),
            "settings.every",
        ),
        (json!({ "name": "watchdog", "lua": "x = 1" }).to_string(), "lua"),
    ];
    cases[i % cases.len()].clone()
}

/// The unknown field of case 8 is named as it was sent.
fn junk_field() -> &'static str {
    "*"
}

/// Asserts that a refusal of `what` named `field`; an unknown field
/// ([`junk_field`]) is named as it was sent, starting with one of `junk`.
fn assert_named(answer: &Value, field: &str, junk: &[char], what: &str) {
    let named = answer["field"].as_str().unwrap_or_default();
    if field == junk_field() {
        assert!(junk.iter().any(|c| named.starts_with(*c)), "{what} -> {answer}");
    } else {
        assert_eq!(named, field, "{what} -> {answer}");
    }
}

/// Malformed pipeline bodies, each with the field its refusal names.
fn malformed_body(i: usize) -> (String, &'static str) {
    let junk = format!("y{i}");
    let cases: [(String, &str); 10] = [
        (format!("{{\"name\": \"{junk}\"}}"), "name"),
        ("{}".into(), "name"),
        (
            format!("{{\"toml\": \"[pipeline]\\nlinks = [\\\"videotestsrc ! {junk}\\\"]\"}}"),
            "toml",
        ),
        ("{\"toml\": \"[pipeline\"}".into(), "toml"),
        (
            format!("{{\"name\": \"demo\", \"set\": [\"camera.{junk}=1\"]}}"),
            "set[0]",
        ),
        (format!("{{\"name\": \"demo\", \"duration\": \"{junk}\"}}"), "duration"),
        (
            "{\"name\": \"demo\", \"restart\": {\"attempts\": 99}}".into(),
            "restart.attempts",
        ),
        (format!("{{\"name\": \"demo\", \"{junk}\": true}}"), junk_field()),
        (format!("{{\"name\": \"demo\", \"toml\": \"{junk}\"}}"), "toml"),
        (format!("not json {junk}"), "body"),
    ];
    cases[i % cases.len()].clone()
}

/// POSTs `count` malformed bodies to `path`: each a 400 naming its field.
fn assert_bodies_refused(server: &Server, path: &str, count: usize, case: fn(usize) -> (String, &'static str)) {
    for i in 0..count {
        let (body, field) = case(i);
        let (code, answer) = http(&server.address, "POST", path, Some(&server.token), body.as_bytes());
        assert_eq!(code, 400, "{body} -> {answer}");
        assert_named(&answer, field, &['y'], &body);
    }
}

#[test]
fn malformed_messages_and_bodies_are_refused_by_field_while_pipelines_run() {
    let scratch = tempfile::tempdir().unwrap();
    let dir = scratch.path();
    let server = server(dir);
    let toml = "[pipeline]\nlinks = [\"src ! out\"]\n[source.src]\nelement = \"videotestsrc\"\nproperties = { is-live = true }\n[sink.out]\nelement = \"fakesink\"\n";
    let made = create(&server, json!({ "toml": toml, "start": true }));
    assert_eq!(made["id"], "p1");
    let position = || wait_for_state(&server, "p1", &["playing"], Duration::from_secs(10))["position_s"].as_f64();

    let (mut socket, _) = tungstenite::connect(format!("ws://{}/v1/events", server.address)).unwrap();
    let hello: Value = match socket.read().unwrap() {
        tungstenite::Message::Text(text) => serde_json::from_str(&text).unwrap(),
        other => panic!("a text message first, not {other:?}"),
    };
    assert_eq!(hello["op"], "hello");
    let mut ask = |text: &str| -> Value {
        socket.send(tungstenite::Message::text(text)).unwrap();
        loop {
            let answer: Value = match socket.read().unwrap() {
                tungstenite::Message::Text(text) => serde_json::from_str(&text).unwrap(),
                _ => continue,
            };
            if answer["op"] != "event" {
                return answer;
            }
        }
    };
    // Before identifying, nothing but identify is taken.
    assert_eq!(ask("{\"op\": \"subscribe\", \"subscriptions\": []}")["field"], "op");
    let identified = ask(&json!({ "op": "identify", "token": server.token, "subscriptions": [] }).to_string());
    assert_eq!(identified["op"], "identified", "{identified}");

    let before = position().unwrap_or(0.0);
    for i in 0..1000 {
        let (message, field) = malformed_messages(i);
        let answer = ask(&message);
        let refused = answer["op"] == "error" || (answer["op"] == "response" && answer["ok"] == false);
        assert!(refused, "{message} -> {answer}");
        assert!(
            !answer["error"].as_str().unwrap_or_default().is_empty(),
            "{message} -> {answer}"
        );
        assert_named(&answer, field, &['x', 'y'], &message);
    }
    assert_bodies_refused(&server, "/v1/pipelines", 1000, malformed_body);
    assert_bodies_refused(&server, "/v1/pipelines/p1/scripts", 400, malformed_script);
    // A script attached over HTTP tunes the pipeline, then detaches.
    let script = "slate.after(100, function() slate.main:element('src'):set('pattern', 'ball') end)";
    let (code, attached) = http(
        &server.address,
        "POST",
        "/v1/pipelines/p1/scripts",
        Some(&server.token),
        json!({ "lua": script }).to_string().as_bytes(),
    );
    assert_eq!(code, 201, "{attached}");
    let pattern = || {
        let (_, properties) = http(
            &server.address,
            "GET",
            "/v1/pipelines/p1/elements/src",
            Some(&server.token),
            b"",
        );
        properties["properties"]["pattern"].clone()
    };
    let deadline = Instant::now() + Duration::from_secs(5);
    while pattern() != "ball" {
        assert!(Instant::now() < deadline, "the script did not set the pattern");
        std::thread::sleep(Duration::from_millis(50));
    }
    let (code, listed) = http(
        &server.address,
        "GET",
        "/v1/pipelines/p1/scripts",
        Some(&server.token),
        b"",
    );
    assert_eq!(
        (code, listed["scripts"][0]["id"].clone()),
        (200, attached["id"].clone())
    );
    assert!(
        listed["shipped"].as_array().unwrap().contains(&json!("watchdog")),
        "{listed}"
    );
    let path = format!("/v1/pipelines/p1/scripts/{}", attached["id"].as_str().unwrap());
    let (code, _) = http(&server.address, "DELETE", &path, Some(&server.token), b"");
    assert_eq!(code, 204);
    let (code, answer) = http(&server.address, "DELETE", &path, Some(&server.token), b"");
    assert_eq!((code, answer["field"].as_str()), (400, Some("script")), "{answer}");
    // The socket still answers, the pipeline still plays, and it moved on.
    let answer = ask(&json!({ "op": "request", "id": "last", "type": "GetPipelines" }).to_string());
    assert_eq!(answer["ok"], true, "{answer}");
    assert_eq!(answer["data"][0]["id"], "p1");
    let after = position().unwrap_or(0.0);
    assert!(after > before, "the pipeline kept running: {before} -> {after}");
    let (code, _) = http(&server.address, "GET", "/v1/health", None, b"");
    assert_eq!(code, 200);
    let (code, listed) = http(&server.address, "GET", "/v1/pipelines", Some(&server.token), b"");
    assert_eq!(
        (code, listed["pipelines"].as_array().unwrap().len()),
        (200, 1),
        "no malformed body made a pipeline"
    );
}
