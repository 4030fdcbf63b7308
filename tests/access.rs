//! Invite-only access end to end, through the `slate` binary: the first
//! admin from `slate admin init`, an old token file kept as the admin's,
//! invites, `slate login` and `slate me`; schemathesis (not ours) against
//! the live server from its own OpenAPI document; the Python client
//! (sdk/python) against a live server.

use std::path::Path;
use std::process::Command;

use slate_e2e::{Server, assert_no_panic, http, repo, serve, slate_with_data, test_python, texts};

/// `slate serve` on any loopback port over `dir`, with an inbox and
/// `limits` (`CLASS=PER_MINUTE[:BURST]`).
fn server(dir: &Path, limits: &[&str]) -> Server {
    let mut command = slate_with_data(dir, &dir.join("data"));
    command.args([
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--db",
        "slate.sqlite",
        "--ingest-dir",
        "inbox",
    ]);
    for limit in limits {
        command.args(["--rate-limit", limit]);
    }
    serve(&mut command)
}

/// Limits no fuzzer reaches: what is tested is the API, not its limits.
const GENEROUS: [&str; 5] = [
    "read=1000000",
    "write=1000000",
    "signal=1000000",
    "upload=1000000",
    "sign_up=1000000",
];

#[test]
fn the_first_admin_invites_and_a_member_logs_in_from_the_cli() {
    let scratch = tempfile::tempdir().unwrap();
    let dir = scratch.path();
    let run = |args: &[&str]| {
        let output = slate_with_data(dir, &dir.join("data")).args(args).output().unwrap();
        let (stdout, stderr) = texts(&output);
        assert_no_panic(&stderr, &args.join(" "));
        (output.status.code(), stdout, stderr)
    };
    let (code, _, stderr) = run(&["admin", "invite", "--db", "slate.sqlite"]);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("run `slate admin init` first"), "{stderr}");
    let (code, stdout, stderr) = run(&["admin", "init", "--name", "Ada", "--db", "slate.sqlite"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stderr.contains("shown this once"), "{stderr}");
    let made: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let admin_token = made["token"]["secret"].as_str().unwrap().to_owned();
    assert!(admin_token.starts_with("slt_"));
    let (code, _, stderr) = run(&["admin", "init", "--db", "slate.sqlite"]);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("has an admin already"), "{stderr}");

    let (code, stdout, stderr) = run(&[
        "admin",
        "invite",
        "--uses",
        "2",
        "--expires",
        "7d",
        "--db",
        "slate.sqlite",
    ]);
    assert_eq!(code, Some(0), "{stderr}");
    let invite: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(invite["uses_allowed"], 2);

    // With an admin made by init, serve makes no token file.
    let server = server(dir, &[]);
    assert_eq!(server.token, "");
    assert!(!dir.join("data/api-token").exists());
    let body = serde_json::json!({ "invite": invite["code"], "name": "Grace" }).to_string();
    let (status, signed_up) = http(&server.address, "POST", "/v1/accounts", None, body.as_bytes());
    assert_eq!(status, 201, "{signed_up}");
    let member_token = signed_up["token"]["secret"].as_str().unwrap();

    let url = format!("http://{}", server.address);
    let (code, stdout, stderr) = run(&["login", "--server", &url, "--token", member_token]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stdout.contains("\"member\""), "{stdout}");
    use std::os::unix::fs::PermissionsExt;
    let saved = dir.join("data/credentials.json");
    assert_eq!(std::fs::metadata(&saved).unwrap().permissions().mode() & 0o777, 0o600);
    // `slate me` uses what login saved.
    let (code, stdout, stderr) = run(&["me"]);
    assert_eq!(code, Some(0), "{stderr}");
    let me: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(me["account"]["name"], "Grace");
    assert_eq!(me["account"]["invited_by"], made["account"]["id"]);
    let (code, _, stderr) = run(&["me", "--token", "slt_wrong"]);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("401"), "{stderr}");

    // The admin disables her from the command line; her token stops.
    let account = me["account"]["id"].as_str().unwrap();
    let (code, _, stderr) = run(&["admin", "disable", account, "--reason", "test", "--db", "slate.sqlite"]);
    assert_eq!(code, Some(0), "{stderr}");
    let (status, reply) = http(&server.address, "GET", "/v1/me", Some(member_token), b"");
    assert_eq!(status, 401, "{reply}");
    let (status, _) = http(&server.address, "GET", "/v1/admin/accounts", Some(&admin_token), b"");
    assert_eq!(status, 200);
    let (code, stdout, _) = run(&["admin", "audit", "--db", "slate.sqlite"]);
    assert_eq!(code, Some(0));
    assert!(stdout.contains("account.disable"), "{stdout}");
}

#[test]
fn an_old_token_file_keeps_working_as_the_admins_token() {
    let scratch = tempfile::tempdir().unwrap();
    let dir = scratch.path();
    std::fs::create_dir_all(dir.join("data")).unwrap();
    // A token file as Slate 0.1 made it: 32 random bytes, hex.
    std::fs::write(
        dir.join("data/api-token"),
        "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08\n",
    )
    .unwrap();
    let server = server(dir, &[]);
    assert_eq!(server.token.len(), 64);
    let (status, me) = http(&server.address, "GET", "/v1/me", Some(&server.token), b"");
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["account"]["role"], "admin");
    let (status, _) = http(
        &server.address,
        "POST",
        "/v1/admin/invites",
        Some(&server.token),
        br#"{"uses": 1}"#,
    );
    assert_eq!(status, 201);
}

#[test]
fn schemathesis_finds_nothing_wrong_with_the_live_api() {
    let scratch = tempfile::tempdir().unwrap();
    let server = server(scratch.path(), &GENEROUS);
    // A bounded run always; a long one behind SLATE_LONG=1, with a new seed.
    let long = std::env::var_os("SLATE_LONG").is_some();
    let examples = if long { "200" } else { "25" };
    let mut command = Command::new(test_python());
    command
        .args(["-m", "schemathesis.cli", "--config-file"])
        .arg(repo().join("tests/api/schemathesis.toml"))
        .arg("run")
        .arg(format!("http://{}/v1/openapi.json", server.address))
        .args([
            "--checks",
            "all",
            "--max-examples",
            examples,
            "--no-color",
            "--continue-on-failure",
            // A WebSocket (426 to plain HTTP); tests/operator.rs fuzzes it.
            "--exclude-path",
            "/v1/events",
        ])
        .args(["-H", &format!("Authorization: Bearer {}", server.token)]);
    if !long {
        command.args(["--seed", "1"]);
    }
    let output = command.current_dir(scratch.path()).output().unwrap();
    let (stdout, stderr) = texts(&output);
    println!("{stdout}");
    assert!(
        output.status.success(),
        "schemathesis found problems:\n{stdout}\n{stderr}"
    );
    assert!(stdout.contains("passed"), "{stdout}");
}

#[test]
fn the_python_client_registers_grants_signals_and_reads_a_slate() {
    let scratch = tempfile::tempdir().unwrap();
    let server = server(scratch.path(), &GENEROUS);
    let output = Command::new(test_python())
        .args(["-m", "unittest", "-v", "test_live"])
        .current_dir(repo().join("sdk/python/tests"))
        .env("SLATE_URL", format!("http://{}", server.address))
        .env("SLATE_TOKEN", &server.token)
        .env("SLATE_PHOTO", repo().join("tests/fixtures/faces/grace_hopper.ppm"))
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .output()
        .unwrap();
    let (stdout, stderr) = texts(&output);
    assert!(
        output.status.success(),
        "the client's tests failed:\n{stdout}\n{stderr}"
    );
    assert!(stderr.contains("Ran 3 tests") && stderr.contains("OK"), "{stderr}");
}
