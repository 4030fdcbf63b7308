//! Stage scripts in the sandbox: hooks, metadata, limits, refusals.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use slate_lua::{Buffer, Limits, Script, ScriptError};
use slate_meta::{Record, Value};

fn script(source: &str) -> Result<Script, ScriptError> {
    Script::from_source("test.lua", source, Path::new("/nonexistent"), Limits::default())
}

fn run(source: &str) -> Result<Buffer, ScriptError> {
    let mut s = script(source)?;
    let mut buffer = Buffer::new(Some(2_500_000_000), Some(40_000_000), Record::default());
    s.process(&mut buffer)?;
    Ok(buffer)
}

#[test]
fn process_reads_timing_and_writes_metadata() {
    let buffer = run(r#"
        function process(buf)
            buf:set("shot", "s" .. math.floor(buf.pts))
            buf:set("take", 2)
            buf:set("score", 0.5)
            buf:set("grants", {"g1", "g2"})
            buf.pts = buf.pts + 1
        end
    "#)
    .unwrap();
    assert_eq!(buffer.record.get("shot"), Some(&Value::from("s2")));
    assert_eq!(buffer.record.get("take"), Some(&Value::Int(2)));
    assert_eq!(buffer.record.get("score"), Some(&Value::Float(0.5)));
    assert_eq!(
        buffer.record.get("grants"),
        Some(&Value::TextList(vec!["g1".into(), "g2".into()]))
    );
    assert_eq!(buffer.pts, Some(3_500_000_000));
    assert!(!buffer.dropped);
    assert!(run("function process(buf) buf:drop() end").unwrap().dropped);
}

#[test]
fn bytes_are_read_only_when_asked() {
    let reads = Arc::new(AtomicUsize::new(0));
    for (source, expected) in [
        ("function process(buf) end", 0),
        ("function process(buf) buf:set('n', #buf:bytes()) end", 1),
    ] {
        let counter = reads.clone();
        let mut buffer = Buffer::new(None, None, Record::default()).with_bytes(move || {
            counter.fetch_add(1, Ordering::SeqCst);
            vec![1, 2, 3]
        });
        script(source).unwrap().process(&mut buffer).unwrap();
        assert_eq!(reads.load(Ordering::SeqCst), expected, "{source}");
    }
}

#[test]
fn load_and_unload_hooks_run() {
    let mut s = script("loaded = 0 function load() loaded = 1 end function unload() loaded = 2 end function process(buf) buf:set('loaded', loaded) end").unwrap();
    let mut buffer = Buffer::new(None, None, Record::default());
    s.process(&mut buffer).unwrap();
    assert_eq!(buffer.record.get("loaded"), Some(&Value::Int(1)));
    s.unload().unwrap();
    s.process(&mut buffer).unwrap();
    assert_eq!(buffer.record.get("loaded"), Some(&Value::Int(2)));
}

#[test]
fn errors_name_the_file_and_line() {
    let err = script("local x = \n\n  = 3").unwrap_err();
    assert!(err.to_string().starts_with("test.lua:3:"), "{err}");
    let err = run("function process(buf)\n  error('bad frame')\nend").unwrap_err();
    assert_eq!(err, ScriptError::Error("test.lua:2: bad frame".into()));
    let err = run("function process(buf) buf:set('x', print) end").unwrap_err();
    assert!(
        err.to_string().starts_with(
            "test.lua:1: buf:set(\"x\", ...): a field holds a boolean, number, string or list, not a function"
        ),
        "{err}"
    );
}

#[test]
fn the_sandbox_refuses_files_programs_and_code_loading() {
    for (source, expect) in [
        ("io.open('/etc/passwd')", "global 'io'"),
        ("os.execute('true')", "field 'execute'"),
        ("load('return 1')()", "global 'load'"),
        ("dofile('/etc/passwd')", "global 'dofile'"),
        ("debug.getinfo(1)", "global 'debug'"),
        ("string.dump(print)", "field 'dump'"),
        ("require('../../etc/passwd')", "require \"../../etc/passwd\" refused"),
        ("require('os')", "cannot read /nonexistent/os.lua"),
    ] {
        let err = script(source).unwrap_err();
        assert_eq!(err.cause(), "error", "{source}: {err}");
        assert!(
            err.to_string().starts_with("test.lua:1:") && err.to_string().contains(expect),
            "{source}: {err}"
        );
    }
}

#[test]
fn require_loads_modules_from_the_scripts_folder_only() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("lib")).unwrap();
    std::fs::write(
        dir.path().join("lib/shots.lua"),
        "return { name = function(n) return 'shot-' .. n end }",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("stage.lua"),
        "local shots = require('lib.shots') function process(buf) buf:set('shot', shots.name(7)) end",
    )
    .unwrap();
    let mut s = Script::load(&dir.path().join("stage.lua"), Limits::default()).unwrap();
    let mut buffer = Buffer::new(None, None, Record::default());
    s.process(&mut buffer).unwrap();
    assert_eq!(buffer.record.get("shot"), Some(&Value::from("shot-7")));
}

#[test]
fn endless_loops_and_huge_tables_hit_their_limits_and_the_script_goes_on() {
    let mut s =
        script("function process(buf) if buf.pts == 0 then while true do end end buf:set('ok', true) end").unwrap();
    let mut looping = Buffer::new(Some(0), None, Record::default());
    let err = s.process(&mut looping).unwrap_err();
    assert_eq!(err, ScriptError::Instructions("test.lua".into(), 10_000_000));
    let mut next = Buffer::new(Some(1), None, Record::default());
    s.process(&mut next).unwrap();
    assert_eq!(
        next.record.get("ok"),
        Some(&Value::Bool(true)),
        "the next call runs with a fresh budget"
    );

    let mut s =
        script("t = {} function process(buf) for i = 1, 10240 do t[i] = string.rep('x', 1 << 20) end end").unwrap();
    let err = s.process(&mut Buffer::new(None, None, Record::default())).unwrap_err();
    assert_eq!(
        err,
        ScriptError::Memory("test.lua".into(), 64 << 20),
        "10 GB asked, 64 MiB allowed"
    );
}

#[test]
fn a_long_run_stays_within_a_small_memory_limit() {
    let limits = Limits {
        memory: 2 << 20,
        ..Limits::default()
    };
    let mut s = Script::from_source(
        "long.lua",
        "function process(buf) buf:set('shot', 's' .. math.floor(buf.pts)) end",
        Path::new("."),
        limits,
    )
    .unwrap();
    let mut buffer = Buffer::new(Some(1_000_000_000), None, Record::default());
    for _ in 0..300_000 {
        s.process(&mut buffer).unwrap();
    }
    assert!(s.used_memory() < 1 << 20, "{} bytes after 300k calls", s.used_memory());
}

mod fuzz {
    use super::*;
    use proptest::prelude::*;

    const EXAMPLE: &str =
        "function process(buf) if buf.pts then buf:set('shot', 's' .. math.floor(buf.pts / 4)) end end";
    const TOKENS: &[&str] = &[
        "function", "end", "if", "then", "else", "while", "do", "for", "in", "local", "return", "buf", ":", ".", "set",
        "get", "drop", "(", ")", "{", "}", "[", "]", "=", "==", "..", ",", "'s'", "1", "0.5", "nil", "true", "process",
        "pts", "#", "+", "-", "*", "/", "%", "^", "not", "and", "or", "goto", "::", ";", "\n",
    ];

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1000))]

        /// Random token soup or a mutated example: a script or an error, never a panic.
        #[test]
        fn generated_scripts_never_panic(tokens in proptest::collection::vec(0..TOKENS.len(), 0..40), at in 0usize..200, byte in 0u8..128) {
            let soup: Vec<&str> = tokens.iter().map(|i| TOKENS[*i]).collect();
            let mut mutated = EXAMPLE.as_bytes().to_vec();
            let at = at % mutated.len();
            mutated[at] = byte;
            for source in [soup.join(" "), String::from_utf8_lossy(&mutated).into_owned()] {
                if let Ok(mut s) = script(&source) {
                    let _ = s.process(&mut Buffer::new(Some(1_000_000_000), None, Record::default()));
                }
            }
        }
    }
}

#[test]
fn scripts_infer_with_pinned_models_and_get_clear_errors() {
    let mut s = script(
        r#"
        function process(buf)
          local out = slate.infer("grade", { image = { shape = { 1, 3, 1, 1 }, data = { 0.5, 0.5, 0.5 } } })
          buf:set("red", out.graded.data[1])
          buf:set("dims", #out.graded.shape)
        end
        "#,
    )
    .unwrap();
    let mut buffer = Buffer::new(None, None, Default::default());
    s.process(&mut buffer).unwrap();
    let red = buffer.record.get("red").and_then(|v| match v {
        slate_meta::Value::Float(f) => Some(*f),
        _ => None,
    });
    assert!(
        (red.unwrap() - (1.10 * 0.5 + 0.05 * 0.5 + 0.02)).abs() < 1e-6,
        "{red:?}"
    );
    for (call, expected) in [
        (
            "slate.infer('/etc/model.onnx', {})",
            "no pinned model `/etc/model.onnx`; plugins and scripts may use",
        ),
        (
            "slate.infer('grade', { image = { shape = { 1, 4, 1, 1 }, data = { 0, 0, 0, 0 } } })",
            "needs 3 at axis 1",
        ),
        (
            "slate.infer('grade', { image = { data = { 0 } } })",
            "input `image` needs `shape`",
        ),
        (
            "slate.infer('grade', { image = { shape = { 1 }, data = { 0 }, type = 'float16' } })",
            "has type `float16`",
        ),
    ] {
        let error = run(&format!("function process(buf) {call} end"))
            .unwrap_err()
            .to_string();
        assert!(error.contains(expected), "{call}: {error}");
    }
}
