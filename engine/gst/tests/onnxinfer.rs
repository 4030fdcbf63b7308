//! `onnxinfer` with the pinned models on real media, and through
//! `gst_check::Harness`: batches held and released, a flush dropping the
//! unfinished one, EOS running it.

mod common;

use common::{flush, init, pipeline, play_to_eos, pull_to_eos, start_error};
use gst::prelude::*;
use gstslate::SlateMeta;
use gstslate::model::Record;

fn fixture(path: &str) -> String {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures")
        .join(path)
        .display()
        .to_string()
}

type Seen = std::sync::Arc<std::sync::Mutex<Vec<(u64, Record)>>>;

/// Records of every buffer reaching the sink `out`.
fn records_at_sink(pipeline: &gst::Pipeline) -> Seen {
    records_at(pipeline, "out")
}

/// Records of every buffer reaching the fakesink named `sink`.
fn records_at(pipeline: &gst::Pipeline, sink: &str) -> Seen {
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let into = seen.clone();
    let sink = pipeline.by_name(sink).unwrap();
    sink.set_property("signal-handoffs", true);
    sink.connect("handoff", false, move |args| {
        let buffer = args[1].get::<gst::Buffer>().unwrap();
        into.lock()
            .unwrap()
            .push((buffer.pts().map_or(0, |t| t.nseconds()), SlateMeta::record_of(&buffer)));
        None
    });
    seen
}

fn iou(a: &gstslate::model::BoundingBox, b: (f32, f32, f32, f32)) -> f32 {
    let (x0, y0) = (a.x.max(b.0), a.y.max(b.1));
    let (x1, y1) = ((a.x + a.w).min(b.0 + b.2), (a.y + a.h).min(b.1 + b.3));
    let inter = (x1 - x0).max(0.0) * (y1 - y0).max(0.0);
    inter / (a.w * a.h + b.2 * b.3 - inter)
}

#[test]
fn centerface_marks_the_face_in_a_picture() {
    let p = pipeline(&format!(
        "filesrc location={} ! pnmdec ! imagefreeze num-buffers=3 ! videoconvert ! video/x-raw,format=BGRx \
         ! onnxinfer name=faces model=centerface ! fakesink name=out",
        fixture("faces/astronaut.ppm")
    ));
    let seen = records_at_sink(&p);
    play_to_eos(&p, |_| {});
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 3);
    for (_, record) in seen.iter() {
        let faces: Vec<_> = record.objects().iter().filter(|o| o.label == "face").collect();
        assert_eq!(faces.len(), 1, "{record:?}");
        let bbox = faces[0].bbox.unwrap();
        assert!(iou(&bbox, (92.0, 36.0, 45.0, 50.0)) >= 0.5, "{bbox:?}");
        assert!(faces[0].confidence.unwrap() > 0.5);
        assert!(
            matches!(faces[0].fields.get("landmarks"), Some(gstslate::model::Value::FloatList(l)) if l.len() == 10)
        );
        assert!(record.get("onnx.ms").is_some());
    }
    assert_eq!(p.by_name("faces").unwrap().property::<u64>("inferences"), 3);
}

#[test]
fn batches_and_intervals_keep_order_and_carry_results() {
    let p = pipeline(
        "videotestsrc num-buffers=10 ! video/x-raw,format=RGBA,width=8,height=4 \
         ! onnxinfer name=grade model=grade batch-size=4 interval=2 output-tensors=true ! fakesink name=out",
    );
    let seen = records_at_sink(&p);
    play_to_eos(&p, |_| {});
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 10);
    assert!(seen.windows(2).all(|w| w[0].0 < w[1].0), "in order");
    for (n, (_, record)) in seen.iter().enumerate() {
        let carried = record.get("onnx.carried").is_some();
        assert_eq!(carried, n % 2 == 1, "frame {n}");
        let Some(gstslate::model::Value::FloatList(shape)) = record.get("onnx.graded.shape") else {
            panic!("frame {n} has no tensor: {record:?}");
        };
        assert_eq!(shape, &[1.0, 3.0, 4.0, 8.0]);
    }
    // Frames 0, 2, 4, 6, 8: a batch of 4 and, at the end, one of 1.
    assert_eq!(p.by_name("grade").unwrap().property::<u64>("inferences"), 5);
    assert_eq!(
        p.by_name("grade")
            .unwrap()
            .property::<Option<String>>("provider")
            .as_deref(),
        Some("cpu")
    );
}

#[test]
fn a_region_of_interest_runs_on_each_detected_face() {
    let p = pipeline(&format!(
        "filesrc location={} ! pnmdec ! imagefreeze num-buffers=1 ! videoconvert ! video/x-raw,format=RGB \
         ! onnxinfer model=centerface ! onnxinfer model=grade roi=face output-tensors=true ! fakesink name=out",
        fixture("faces/astronaut.ppm")
    ));
    let seen = records_at_sink(&p);
    play_to_eos(&p, |_| {});
    let seen = seen.lock().unwrap();
    let face = &seen[0].1.objects()[0];
    let Some(gstslate::model::Value::FloatList(shape)) = face.fields.get("onnx.graded.shape") else {
        panic!("the face has no tensor: {face:?}");
    };
    let b = face.bbox.unwrap();
    assert_eq!(shape[..2], [1.0, 3.0]);
    assert!((shape[2] - f64::from(b.h.round())).abs() <= 1.0 && (shape[3] - f64::from(b.w.round())).abs() <= 1.0);
    assert!(seen[0].1.get("onnx.graded").is_none(), "nothing on the frame itself");
}

#[test]
fn voice_activity_finds_speech_in_audio() {
    let wav = std::env::temp_dir().join(format!("slate-vad-{}.wav", std::process::id()));
    let status = std::process::Command::new("espeak-ng")
        .arg("-w")
        .arg(&wav)
        .arg("Roll camera. Action. The cup stays on the table.")
        .status()
        .expect("espeak-ng runs (.ci/setup installs it)");
    assert!(status.success());
    let p = pipeline(&format!(
        "filesrc location={} ! wavparse ! audioconvert ! audioresample ! audio/x-raw,format=F32LE,rate=16000,channels=1 \
         ! onnxinfer model=silero-vad ! fakesink name=out",
        wav.display()
    ));
    let seen = records_at_sink(&p);
    let mut events = Vec::new();
    play_to_eos(&p, |s| {
        if s.name() == "slate-vad" {
            events.push((s.get::<bool>("speech").unwrap(), s.get::<f64>("start").unwrap()));
        }
    });
    let _ = std::fs::remove_file(&wav);
    assert!(
        events.first().is_some_and(|(speech, start)| *speech && *start < 0.5),
        "{events:?}"
    );
    assert!(events.iter().any(|(speech, _)| !speech), "speech ended: {events:?}");
    let seen = seen.lock().unwrap();
    assert!(seen.iter().any(|(_, r)| r.get("vad.speech") == Some(&true.into())));
    assert!(
        seen.iter()
            .all(|(_, r)| r.get("vad.probability").is_some() || r.get("vad.speech").is_some())
    );
}

#[test]
fn bad_models_providers_and_caps_are_clear_errors() {
    init();
    let cases = [
        (
            "videotestsrc ! onnxinfer ! fakesink",
            "onnxinfer needs a model (property `model`)",
        ),
        (
            "videotestsrc ! onnxinfer model=facenet ! fakesink",
            "no model `facenet`",
        ),
        (
            "videotestsrc ! onnxinfer model=grade execution-provider=cuda ! fakesink",
            "CUDAExecutionProvider is not in",
        ),
        (
            "videotestsrc ! video/x-raw,format=RGBA ! onnxinfer model=silero-vad ! fakesink",
            "model silero-vad takes 16 kHz mono audio",
        ),
        (
            "audiotestsrc ! audioconvert ! audio/x-raw,format=F32LE,rate=16000,channels=1 ! onnxinfer model=centerface ! fakesink",
            "model centerface takes images, not audio",
        ),
    ];
    for (line, expected) in cases {
        let error = start_error(&pipeline(line));
        assert!(error.contains(expected), "{line}: {error}");
    }
}

/// Float lists of field `key` in the records a sink saw, frame by frame.
fn float_lists(records: &[(u64, Record)], key: &str) -> Vec<Vec<f64>> {
    records
        .iter()
        .map(|(_, r)| match r.get(key) {
            Some(gstslate::model::Value::FloatList(values)) => values.clone(),
            other => panic!("no {key}: {other:?} in {r:?}"),
        })
        .collect()
}

#[test]
fn plugins_and_scripts_infer_the_same_as_the_element() {
    let script = std::env::temp_dir().join(format!("slate-infer-{}.lua", std::process::id()));
    std::fs::write(
        &script,
        r#"
        local width, height
        function on_caps(caps)
          width = tonumber(caps:match("width=%(int%)(%d+)"))
          height = tonumber(caps:match("height=%(int%)(%d+)"))
        end
        function process(buf)
          local bytes, planes = buf:bytes(), {}
          for c = 0, 2 do
            for i = 0, width * height - 1 do
              planes[c * width * height + i + 1] = bytes:byte(i * 4 + c + 1) * 0.003921569
            end
          end
          local out = slate.infer("grade", { image = { shape = { 1, 3, height, width }, data = planes } })
          buf:set("graded", out.graded.data)
        end
        "#,
    )
    .unwrap();
    let p = pipeline(&format!(
        "videotestsrc num-buffers=3 pattern=smpte ! video/x-raw,format=RGBA,width=8,height=4 ! tee name=t \
         t. ! queue ! onnxinfer model=grade output-tensors=true ! fakesink name=out \
         t. ! queue ! wasmstage plugin={} ! fakesink name=plugin \
         t. ! queue ! luastage script={} ! fakesink name=script",
        common::plugin("infer_probe"),
        script.display()
    ));
    let element = records_at_sink(&p);
    let plugin = records_at(&p, "plugin");
    let lua = records_at(&p, "script");
    play_to_eos(&p, |s| assert!(!s.name().ends_with("fault"), "{s}"));
    let _ = std::fs::remove_file(&script);
    let element = float_lists(&element.lock().unwrap(), "onnx.graded");
    assert_eq!(element.len(), 3);
    assert_eq!(element[0].len(), 3 * 8 * 4);
    for (who, got) in [
        ("the plugin", float_lists(&plugin.lock().unwrap(), "graded")),
        ("the script", float_lists(&lua.lock().unwrap(), "graded")),
    ] {
        for (frame, (a, b)) in element.iter().zip(&got).enumerate() {
            assert_eq!(a.len(), b.len(), "{who}, frame {frame}");
            assert!(
                a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-6),
                "{who}, frame {frame}: {a:?} vs {b:?}"
            );
        }
    }
}

#[test]
fn faces_get_recogniser_embeddings_from_their_landmarks() {
    let p = pipeline(&format!(
        "filesrc location={} ! pnmdec ! imagefreeze num-buffers=1 ! videoconvert ! video/x-raw,format=RGBx \
         ! onnxinfer model=centerface ! onnxinfer model=face-embed roi=face ! fakesink name=out",
        fixture("faces/astronaut.ppm")
    ));
    let seen = records_at_sink(&p);
    play_to_eos(&p, |_| {});
    let seen = seen.lock().unwrap();
    let face = &seen[0].1.objects()[0];
    let Some(gstslate::model::Value::FloatList(vector)) = face.fields.get("embedding") else {
        panic!("no embedding on {face:?}");
    };
    assert_eq!(vector.len(), 512);
    let norm: f64 = vector.iter().map(|v| v * v).sum::<f64>().sqrt();
    assert!((norm - 1.0).abs() < 1e-4, "{norm}");
}

#[test]
fn elements_sharing_a_session_batch_their_streams_together() {
    init();
    let model = slate_onnx::open(&slate_onnx::Options {
        session_id: Some("three-streams".into()),
        ..slate_onnx::Options::new("grade")
    })
    .unwrap();
    let branch = |n: usize| {
        format!(
            "t. ! queue ! onnxinfer name=s{n} model=grade session-id=three-streams batch-size=3 batch-timeout-ms=500 \
             output-tensors=true ! fakesink name=out{n} "
        )
    };
    let p = pipeline(&format!(
        "videotestsrc num-buffers=10 ! video/x-raw,format=RGB,width=8,height=8 ! tee name=t {}{}{}",
        branch(0),
        branch(1),
        branch(2)
    ));
    let outs: Vec<Seen> = (0..3).map(|n| records_at(&p, &format!("out{n}"))).collect();
    play_to_eos(&p, |_| {});
    for (n, out) in outs.iter().enumerate() {
        assert_eq!(p.by_name(&format!("s{n}")).unwrap().property::<u64>("inferences"), 10);
        let graded = float_lists(&out.lock().unwrap(), "onnx.graded");
        assert_eq!(graded.len(), 10);
        assert_eq!(
            graded,
            float_lists(&outs[0].lock().unwrap(), "onnx.graded"),
            "same frames, same results"
        );
    }
    let (runs, _) = model.stats();
    assert!(runs <= 13, "30 frames from 3 streams in batches of 3 took {runs} runs");
}

/// An 8x4 RGBA frame of one colour at `ms`.
fn rgba_frame(ms: u64, [r, g, b]: [u8; 3]) -> gst::Buffer {
    let pixels: Vec<u8> = std::iter::repeat_n([r, g, b, 255], 8 * 4).flatten().collect();
    let mut buffer = gst::Buffer::from_mut_slice(pixels);
    let buf = buffer.get_mut().unwrap();
    buf.set_pts(gst::ClockTime::from_mseconds(ms));
    buf.set_duration(gst::ClockTime::from_mseconds(40));
    buffer
}

/// What models/make_grade.py's grade makes of one RGB colour (0..1).
fn graded([r, g, b]: [u8; 3]) -> [f64; 3] {
    let [r, g, b] = [r, g, b].map(|c| f64::from(c) / 255.0);
    [
        1.10 * r + 0.05 * g + 0.02,
        0.02 * r + 1.00 * g + 0.02 * b + 0.01,
        0.05 * g + 0.85 * b,
    ]
    .map(|v| v.clamp(0.0, 1.0))
}

fn float_list(record: &Record, key: &str) -> Vec<f64> {
    match record.get(key) {
        Some(gstslate::model::Value::FloatList(values)) => values.clone(),
        other => panic!("{key}: {other:?} in {record:?}"),
    }
}

#[test]
fn harness_batches_frames_flush_drops_the_unfinished_batch_and_eos_runs_it() {
    init();
    let element = gst::ElementFactory::make("onnxinfer")
        .property("model", "grade")
        .property("batch-size", 2u32)
        .property("output-tensors", true)
        .property_from_str("execution-provider", "cpu")
        .build()
        .unwrap();
    let mut h = gst_check::Harness::with_element(&element, Some("sink"), Some("src"));
    h.set_src_caps_str("video/x-raw,format=RGBA,width=8,height=4,framerate=25/1");
    let colours = [[200, 100, 50], [10, 220, 90], [255, 255, 255], [0, 40, 160]];
    let check = |out: &gst::Buffer, ms: u64, colour: [u8; 3]| {
        assert_eq!(out.pts(), Some(gst::ClockTime::from_mseconds(ms)));
        assert_eq!(out.duration(), Some(gst::ClockTime::from_mseconds(40)));
        assert_eq!(
            out.map_readable().unwrap().as_slice(),
            rgba_frame(ms, colour).map_readable().unwrap().as_slice(),
            "the pixels pass unchanged"
        );
        let record = SlateMeta::record_of(out);
        assert_eq!(float_list(&record, "onnx.graded.shape"), [1.0, 3.0, 4.0, 8.0]);
        let tensor = float_list(&record, "onnx.graded");
        assert_eq!(tensor.len(), 3 * 4 * 8);
        for (plane, expected) in tensor.chunks(32).zip(graded(colour)) {
            assert!(
                plane.iter().all(|v| (v - expected).abs() < 1e-3),
                "frame at {ms} ms: {plane:?} vs {expected}"
            );
        }
        assert!(record.get("onnx.ms").is_some());
        assert!(record.get("onnx.carried").is_none());
    };

    h.push(rgba_frame(0, colours[0])).unwrap();
    assert!(h.try_pull().is_none(), "the first frame waits for its batch");
    h.push(rgba_frame(40, colours[1])).unwrap();
    check(&h.pull().unwrap(), 0, colours[0]);
    check(&h.pull().unwrap(), 40, colours[1]);
    assert_eq!(element.property::<u64>("inferences"), 2);

    // A frame waiting for its batch is dropped by a flush, never run.
    h.push(rgba_frame(80, colours[2])).unwrap();
    flush(&mut h);
    assert!(h.try_pull().is_none());
    assert_eq!(element.property::<u64>("inferences"), 2);

    // After it, a lone frame runs at EOS, before the EOS goes on.
    h.push(rgba_frame(120, colours[3])).unwrap();
    assert!(h.try_pull().is_none());
    assert!(h.push_event(gst::event::Eos::new()));
    let rest = pull_to_eos(&mut h);
    assert_eq!(rest.len(), 1);
    check(&rest[0], 120, colours[3]);
    assert_eq!(element.property::<u64>("inferences"), 3);
    let caps = h.sinkpad().unwrap().current_caps().unwrap();
    assert_eq!(caps.structure(0).unwrap().get::<i32>("width").unwrap(), 8);
}
