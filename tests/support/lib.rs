//! Helpers for the end-to-end tests: the freshly built `slate` binary and
//! plugin, a scratch folder to run in, and ffprobe (not ours) to judge media.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

/// The repository root.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ is inside the repo")
        .to_path_buf()
}

/// The cargo output folder this test binary was built into (`target/debug`).
fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary knows its path");
    exe.parent()
        .and_then(Path::parent)
        .expect("tests run from target/<profile>/deps")
        .to_path_buf()
}

/// Builds the `slate` binary and the plugin library once, with the same
/// profile and target folder as the tests, so they are never stale.
fn build_once() -> &'static PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT.get_or_init(|| {
        let dir = profile_dir();
        let profile = match dir.file_name().and_then(|n| n.to_str()) {
            Some("debug") => "dev".to_owned(),
            Some(other) => other.to_owned(),
            None => "dev".to_owned(),
        };
        let target_dir = dir.parent().expect("target/<profile>").to_path_buf();
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let status = Command::new(cargo)
            .args([
                "build",
                "--quiet",
                "-p",
                "slate-cli",
                "-p",
                "gst-plugin-slate",
                "-p",
                "slate-bench",
                "--profile",
                &profile,
            ])
            .env("CARGO_TARGET_DIR", &target_dir)
            .current_dir(repo())
            .status()
            .expect("cargo runs");
        assert!(status.success(), "building slate and the plugin failed");
        dir
    })
}

/// The `slate` binary.
pub fn slate_bin() -> PathBuf {
    build_once().join("slate")
}

/// The folder holding `libgstslate.so`, for GST_PLUGIN_PATH.
pub fn plugin_dir() -> PathBuf {
    build_once().clone()
}

/// A `slate` command run in `cwd`, with backtraces on so a panic would show.
pub fn slate(cwd: &Path) -> Command {
    let mut command = Command::new(slate_bin());
    command.current_dir(cwd).env("RUST_BACKTRACE", "1").env("NO_COLOR", "1");
    command
}

/// Sends SIGINT to a running child, as Ctrl-C would.
pub fn interrupt(child: &std::process::Child) {
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success(), "kill -INT {}", child.id());
}

/// Stdout and stderr of a finished command, as text.
pub fn texts(output: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// Panics if a panic or backtrace shows in `stderr`.
pub fn assert_no_panic(stderr: &str, what: &str) {
    assert!(
        !stderr.contains("panicked") && !stderr.contains("stack backtrace"),
        "{what} panicked:\n{stderr}"
    );
}

/// ffprobe's JSON description of a media file (streams and format).
pub fn ffprobe(path: &Path) -> serde_json::Value {
    let output = Command::new("ffprobe")
        .args(["-v", "error", "-print_format", "json", "-show_format", "-show_streams"])
        .arg(path)
        .output()
        .expect("ffprobe is installed (the setup installs ffmpeg)");
    assert!(
        output.status.success(),
        "ffprobe cannot read {}: {}",
        path.display(),
        texts(&output).1
    );
    serde_json::from_slice(&output.stdout).expect("ffprobe prints JSON")
}

/// The duration ffprobe reports for a file, in seconds.
pub fn duration_of(probe: &serde_json::Value) -> f64 {
    probe["format"]["duration"]
        .as_str()
        .and_then(|d| d.parse().ok())
        .expect("a duration")
}

/// Reads a JSON Lines file.
pub fn json_lines(path: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
        .lines()
        .map(|line| serde_json::from_str(line).expect("each line is JSON"))
        .collect()
}

/// A built example plugin from `plugins/`, by file stem (`brightness`).
pub fn example_plugin(name: &str) -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT
        .get_or_init(|| slate_test_plugins::build(&repo().join("plugins")).expect("the plugins build"))
        .join(format!("{name}.wasm"))
}

/// A `slate` command whose signing identity lives in `data` (never the
/// user's data directory).
pub fn slate_with_data(cwd: &Path, data: &Path) -> Command {
    let mut command = slate(cwd);
    command.env("SLATE_DATA_DIR", data);
    command
}

/// `c2patool` from crates.io (not ours), as the setup installs it.
pub fn c2patool() -> Command {
    let installed = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
        .map(|home| home.join("bin/c2patool"))
        .filter(|path| path.exists())
        .unwrap_or_else(|| PathBuf::from("c2patool"));
    Command::new(installed)
}

/// A c2patool settings file that trusts the CA in `ca_pem` and stays
/// offline.
pub fn c2patool_settings(dir: &Path, ca_pem: &Path) -> PathBuf {
    let anchors = std::fs::read_to_string(ca_pem).unwrap_or_else(|e| panic!("{}: {e}", ca_pem.display()));
    let settings = serde_json::json!({
        "version": 1,
        "trust": { "user_anchors": anchors },
        "verify": { "ocsp_fetch": false, "remote_manifest_fetch": false },
    });
    let path = dir.join("c2patool-settings.json");
    std::fs::write(&path, settings.to_string()).unwrap();
    path
}

/// What c2patool says about a file: its JSON report, or (for fragments,
/// where it prints errors instead) the text it printed.
pub fn c2patool_report(
    settings: Option<&Path>,
    file: &Path,
    fragment: Option<&str>,
) -> (Option<serde_json::Value>, String) {
    let mut command = c2patool();
    if let Some(settings) = settings {
        command.arg("--settings").arg(settings);
    }
    command.arg(file);
    if let Some(fragment) = fragment {
        command.args(["fragment", "--fragments_glob", fragment]);
    }
    let output = command
        .output()
        .expect("c2patool runs (the setup installs it: cargo install c2patool@0.27.22 --locked)");
    let (stdout, stderr) = texts(&output);
    let text = format!("{stdout}{stderr}");
    let json = stdout.find('{').and_then(|at| serde_json::from_str(&stdout[at..]).ok());
    (json, text)
}

/// One HTTP/1.1 request to `address` (the token as a bearer token, the
/// body as it is); the status and the JSON reply (null when not JSON).
pub fn http(address: &str, method: &str, path: &str, token: Option<&str>, body: &[u8]) -> (u16, serde_json::Value) {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(address).unwrap();
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {address}\r\n{auth}Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .unwrap();
    stream.write_all(body).unwrap();
    let mut reply = String::new();
    stream.read_to_string(&mut reply).unwrap();
    let status = reply.split(' ').nth(1).unwrap().parse().unwrap();
    let json = reply.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("");
    (status, serde_json::from_str(json).unwrap_or_default())
}

/// A running `slate serve`: killed when dropped.
pub struct Server {
    pub child: std::process::Child,
    pub address: String,
    pub token: String,
    pub token_file: PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `command` (a `slate serve --listen 127.0.0.1:0 ...`) and reads
/// the address and token file it prints first.
pub fn serve(command: &mut Command) -> Server {
    use std::io::BufRead;
    let mut child = command
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("slate serve starts");
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let started: serde_json::Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("{line:?}: {e}"));
    // No file when `slate admin init` made the admin (its token was shown then).
    let token_file = started["token_file"].as_str().map(PathBuf::from).unwrap_or_default();
    Server {
        child,
        address: started["listening"].as_str().unwrap().to_owned(),
        token: std::fs::read_to_string(&token_file)
            .map(|t| t.trim().to_owned())
            .unwrap_or_default(),
        token_file,
    }
}

/// The Python of the test venv (schemathesis, cryptography and the
/// client from sdk/python), as `.ci/test` makes it.
pub fn test_python() -> PathBuf {
    let python = std::env::var_os("SLATE_TEST_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            let cache = std::env::var_os("SLATE_CACHE_DIR")
                .map(PathBuf::from)
                .or_else(|| std::env::var_os("XDG_CACHE_HOME").map(|x| PathBuf::from(x).join("slate")))
                .unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cache/slate"));
            cache.join("test-venv/bin/python")
        });
    assert!(
        python.is_file(),
        "{} is missing: run .ci/test, which makes the Python test venv",
        python.display()
    );
    python
}

/// An H.264 MP4 of the lavfi `source` made by ffmpeg (not ours).
pub fn ffmpeg_clip(path: &Path, source: &str) {
    let status = Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-f", "lavfi", "-i", source])
        .args(["-c:v", "libx264", "-pix_fmt", "yuv420p", "-preset", "ultrafast"])
        .arg(path)
        .status()
        .expect("ffmpeg runs");
    assert!(status.success(), "ffmpeg made {}", path.display());
}
