//! Building and running real pipelines through the library API.

use std::time::Duration;

use gst::prelude::*;

use slate_pipeline::{Outcome, PipelineFile, Progress, RunOptions, Stop, build, run};

fn init() {
    static INIT: std::sync::Once = std::sync::Once::new();
    INIT.call_once(|| {
        gst::init().unwrap();
        gstslate::plugin_register_static().unwrap();
    });
}

fn live_file(out: &std::path::Path, duration: Option<&str>) -> PipelineFile {
    let duration = duration.map(|d| format!("duration = \"{d}\"\n")).unwrap_or_default();
    let text = format!(
        r#"
[pipeline]
{duration}links = ["cam ! tag ! log ! out"]

[source.cam]
element = "videotestsrc"
caps = "video/x-raw,width=64,height=48,framerate=30/1"
properties = {{ is-live = true }}

[stage.tag]
element = "shottag"
properties = {{ shot = "s1" }}

[stage.log]
element = "metalog"
properties = {{ location = "{}" }}

[sink.out]
element = "fakesink"
properties = {{ sync = true }}
"#,
        out.join("nested/folder/meta.jsonl").display()
    );
    PipelineFile::parse(&text, "live.toml").unwrap()
}

#[test]
fn duration_ends_a_live_run_and_outputs_get_their_folders() {
    init();
    let scratch = tempfile::tempdir().unwrap();
    let built = build(&live_file(scratch.path(), Some("1s"))).unwrap();
    built.prepare().unwrap();
    let mut last: Option<Progress> = None;
    let mut on_progress = |p: &Progress| last = Some(p.clone());
    let outcome = run(
        &built.pipeline,
        RunOptions {
            duration: built.duration,
            on_progress: Some(&mut on_progress),
            ..RunOptions::default()
        },
    )
    .unwrap();
    assert_eq!(outcome, Outcome::Finished);
    let last = last.unwrap();
    assert_eq!(
        last.duration,
        Some(gst::ClockTime::from_seconds(1)),
        "a live run reports its set duration"
    );
    let frames = last.frames;
    assert!((27..=33).contains(&frames), "{frames} frames in 1 s at 30 fps");
    let lines = std::fs::read_to_string(scratch.path().join("nested/folder/meta.jsonl")).unwrap();
    assert_eq!(lines.lines().count() as u64, frames);
}

#[test]
fn a_stop_request_finalises_and_a_second_one_aborts() {
    init();
    let scratch = tempfile::tempdir().unwrap();
    for (requests, expected) in [(1, Outcome::Stopped), (2, Outcome::Aborted)] {
        let built = build(&live_file(scratch.path(), None)).unwrap();
        built.prepare().unwrap();
        let stop = Stop::default();
        let remote = stop.clone();
        let stopper = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(300));
            for _ in 0..requests {
                remote.request();
            }
        });
        let outcome = run(
            &built.pipeline,
            RunOptions {
                stop,
                ..RunOptions::default()
            },
        )
        .unwrap();
        stopper.join().unwrap();
        assert_eq!(outcome, expected, "after {requests} stop request(s)");
        assert_eq!(
            built.pipeline.current_state(),
            gst::State::Null,
            "run always leaves NULL"
        );
    }
}

#[test]
fn demuxer_pads_link_when_they_appear() {
    init();
    let scratch = tempfile::tempdir().unwrap();
    let clip = scratch.path().join("clip.mp4");
    let encode = format!(
        r#"
[pipeline]
links = ["cam ! videoconvert ! video/x-raw,format=I420 ! x264enc ! h264parse ! mp4mux ! file"]
[source.cam]
element = "videotestsrc"
caps = "video/x-raw,width=64,height=48,framerate=30/1"
properties = {{ num-buffers = 15 }}
[sink.file]
element = "filesink"
properties = {{ location = "{}" }}
"#,
        clip.display()
    );
    let built = build(&PipelineFile::parse(&encode, "encode.toml").unwrap()).unwrap();
    built.prepare().unwrap();
    assert_eq!(run(&built.pipeline, RunOptions::default()).unwrap(), Outcome::Finished);

    let decode = format!(
        r#"
[pipeline]
links = ["clip ! demux", "demux ! h264parse ! avdec_h264 ! tag ! log ! out"]
[source.clip]
element = "filesrc"
properties = {{ location = "{}" }}
[stage.demux]
element = "qtdemux"
[stage.tag]
element = "shottag"
properties = {{ shot = "decoded" }}
[stage.log]
element = "metalog"
properties = {{ location = "{}" }}
[sink.out]
element = "fakesink"
"#,
        clip.display(),
        scratch.path().join("decoded.jsonl").display()
    );
    let built = build(&PipelineFile::parse(&decode, "decode.toml").unwrap()).unwrap();
    built.prepare().unwrap();
    assert_eq!(run(&built.pipeline, RunOptions::default()).unwrap(), Outcome::Finished);
    let lines = std::fs::read_to_string(scratch.path().join("decoded.jsonl")).unwrap();
    assert_eq!(
        lines.lines().count(),
        15,
        "every encoded frame comes back out of the demuxer"
    );
}

#[test]
fn launch_lines_build_and_run() {
    init();
    let pipeline = slate_pipeline::launch("videotestsrc num-buffers=5 ! shottag shot=x ! fakesink").unwrap();
    assert_eq!(run(&pipeline, RunOptions::default()).unwrap(), Outcome::Finished);
    let err = slate_pipeline::launch("videotestsrc ! nosuchelement ! fakesink").unwrap_err();
    assert!(
        err.to_string().starts_with("<launch>: no element \"nosuchelement\""),
        "{err}"
    );
}
