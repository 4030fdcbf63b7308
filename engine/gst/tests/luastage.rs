//! `luastage` with real scripts, through `gst_check::Harness` and pipelines.

mod common;

use std::path::Path;

use common::{init, pipeline, play_to_eos};
use gst::prelude::*;
use gstslate::SlateMeta;
use gstslate::model::Value;

fn harness(script: &Path, props: &[(&str, &str)]) -> gst_check::Harness {
    init();
    let element = gst::ElementFactory::make("luastage")
        .property("script", script.display().to_string())
        .build()
        .unwrap();
    common::filter_harness(&element, props, "application/x-slate-test")
}

fn numbered(n: u8) -> gst::Buffer {
    let mut buffer = gst::Buffer::from_slice(vec![n; 4]);
    buffer
        .get_mut()
        .unwrap()
        .set_pts(gst::ClockTime::from_mseconds(n as u64 * 500));
    buffer
}

fn write(dir: &Path, name: &str, source: &str) -> std::path::PathBuf {
    let path = dir.join(name);
    let partial = dir.join(format!("{name}.partial"));
    std::fs::write(&partial, source).unwrap();
    std::fs::rename(&partial, &path).unwrap();
    path
}

#[test]
fn a_script_tags_buffers_from_their_time_and_drops_some() {
    let dir = tempfile::tempdir().unwrap();
    let script = write(
        dir.path(),
        "tag.lua",
        r#"
        function process(buf)
            local n = math.floor(buf.pts * 2 + 0.5)
            if n % 3 == 2 then buf:drop() return end
            buf:set("shot", "s" .. (n // 3))
            buf:set("size", #buf:bytes())
        end
    "#,
    );
    let mut h = harness(&script, &[]);
    for n in 0..9 {
        h.push(numbered(n)).unwrap();
    }
    let mut out = Vec::new();
    while let Some(b) = h.try_pull() {
        let record = SlateMeta::record_of(&b);
        assert_eq!(record.get("size"), Some(&Value::Int(4)));
        out.push((b.map_readable().unwrap()[0], record.get("shot").unwrap().to_string()));
    }
    let expected: Vec<(u8, String)> = [0, 1, 3, 4, 6, 7].iter().map(|n| (*n, format!("s{}", n / 3))).collect();
    assert_eq!(out, expected);
}

#[test]
fn sandbox_violations_are_faults_on_the_bus_and_the_pipeline_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    for (name, body, expect) in [
        ("io", "io.open('/etc/passwd')", "global 'io'"),
        ("exec", "os.execute('true')", "field 'execute'"),
        ("outside", "require('..x')", "refused"),
        ("spin", "while true do end", "instruction budget"),
        (
            "huge",
            "local t = {} for i = 1, 10240 do t[i] = string.rep('x', 1 << 20) end",
            "memory limit",
        ),
    ] {
        let script = write(
            dir.path(),
            &format!("{name}.lua"),
            &format!("function process(buf)\n  {body}\nend\n"),
        );
        let p = pipeline(&format!(
            "videotestsrc num-buffers=3 ! video/x-raw,width=8,height=8 ! luastage script={} on-error=passthrough ! fakesink",
            script.display()
        ));
        let mut faults = Vec::new();
        play_to_eos(&p, |s| {
            if s.name() == "slate-script-fault" {
                faults.push(s.get::<String>("message").unwrap());
            }
        });
        assert_eq!(
            faults.len(),
            3,
            "{name}: one fault per buffer, and EOS was reached: {faults:?}"
        );
        let at_line = format!("{}:2:", script.display());
        assert!(
            faults
                .iter()
                .all(|f| f.contains(expect) && (f.contains(&at_line) || name == "spin" || name == "huge")),
            "{name}: {faults:?}"
        );
    }
}

#[test]
fn a_script_that_does_not_load_refuses_to_start_naming_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let script = write(
        dir.path(),
        "broken.lua",
        "function process(buf)\n  buf:set('x', \nend\n",
    );
    let p = pipeline(&format!(
        "fakesrc num-buffers=1 ! luastage script={} ! fakesink",
        script.display()
    ));
    let error = common::start_error(&p);
    assert!(
        error.contains("Cannot load script (property `script`)") && error.contains("broken.lua:3:"),
        "{error}"
    );
}

#[test]
fn edits_take_over_between_buffers_and_a_broken_edit_never_runs() {
    init();
    let dir = tempfile::tempdir().unwrap();
    let version = |v: u32| format!("function process(buf) buf:set('version', {v}) end\n");
    let script = write(dir.path(), "stage.lua", &version(1));
    let mut h = harness(&script, &[]);
    let mut versions: Vec<i64> = Vec::new();
    let mut n = 0u32;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let mut push = |h: &mut gst_check::Harness, n: &mut u32| {
        h.push(numbered((*n % 200) as u8)).unwrap();
        *n += 1;
        let record = SlateMeta::record_of(&h.pull().unwrap());
        versions.push(record.get("version").and_then(Value::as_int).unwrap());
    };
    while n < 75 {
        push(&mut h, &mut n);
    }
    // Good (2), broken (never runs), good (3).
    for (edit, counter, expected) in [
        (version(2), "reloads", 1u64),
        ("function process(buf) buf:set(\n".to_owned(), "reload-failures", 1),
        (version(3), "reloads", 2),
    ] {
        write(dir.path(), "stage.lua", &edit);
        while h.element().unwrap().property::<u64>(counter) < expected {
            assert!(
                std::time::Instant::now() < deadline && n < 290,
                "{counter} never reached {expected}"
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
            push(&mut h, &mut n);
        }
    }
    while n < 300 {
        push(&mut h, &mut n);
    }
    assert_eq!(versions.len(), 300, "every buffer came out");
    let mut runs: Vec<(i64, usize)> = Vec::new();
    for v in &versions {
        match runs.last_mut() {
            Some((last, count)) if last == v => *count += 1,
            _ => runs.push((*v, 1)),
        }
    }
    let order: Vec<i64> = runs.iter().map(|(v, _)| *v).collect();
    assert_eq!(
        order,
        [1, 2, 3],
        "one switch per good edit, at buffer boundaries; the broken edit never ran"
    );
}

#[test]
fn the_cut_tagger_numbers_shots_from_analyzer_metadata() {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/stages/tag_cuts.lua");
    let mut h = harness(&script, &[]);
    let mut shots = Vec::new();
    for (n, diff) in [0.0, 2.0, 90.0, 1.0, 0.0, 60.0, 3.0].into_iter().enumerate() {
        let mut buffer = numbered(n as u8);
        let mut record = gstslate::model::Record::default();
        record.set("motion.mean-diff", diff);
        SlateMeta::add(buffer.get_mut().unwrap(), record);
        h.push(buffer).unwrap();
        shots.push(
            SlateMeta::record_of(&h.pull().unwrap())
                .get("shot")
                .unwrap()
                .to_string(),
        );
    }
    assert_eq!(shots, ["s1", "s1", "s2", "s2", "s2", "s3", "s3"]);
}
