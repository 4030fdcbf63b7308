//! The host running the example and the deliberately bad plugins.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use slate_meta::{Record, Value};
use slate_wasm::{Fault, FrameInfo, Host, Limits, LoadError, Origin, PixelFormat, Plugin, Stage, World};

fn plugins() -> &'static PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT.get_or_init(|| {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../plugins");
        slate_test_plugins::build(&dir).unwrap()
    })
}

fn load(name: &str) -> Arc<Plugin> {
    Host::global()
        .unwrap()
        .load(&plugins().join(format!("{name}.wasm")))
        .unwrap()
}

fn rgba(width: u32, height: u32) -> FrameInfo {
    FrameInfo {
        width,
        height,
        format: PixelFormat::Rgba,
        stride: width * 4,
        pts: Some(0),
        duration: None,
    }
}

#[test]
fn brightness_describes_itself_and_brightens_known_pixels() {
    let plugin = load("brightness");
    assert_eq!(plugin.description.name, "brightness");
    assert_eq!(plugin.description.world, World::VideoFilter);
    assert_eq!(plugin.description.video_formats[0], PixelFormat::Rgba);
    assert_eq!(plugin.hash.len(), 64);

    let mut stage = Stage::new(plugin, r#"{"delta": 40}"#, Limits::default()).unwrap();
    let pixels = [10, 20, 250, 128, 0, 100, 200, 255];
    let mut meta = Record::default();
    meta.set("shot", "s1");
    let (out, out_meta) = stage.process_frame(rgba(2, 1), &pixels, &meta).unwrap();
    assert_eq!(
        out,
        [50, 60, 255, 128, 40, 140, 240, 255],
        "colour channels +40 saturating, alpha kept"
    );
    assert_eq!(out_meta, meta, "metadata passes through the plugin");
}

#[test]
fn a_bad_config_is_refused_when_the_stage_is_made() {
    let fault = Stage::new(load("brightness"), r#"{"delta": 999}"#, Limits::default()).unwrap_err();
    assert_eq!(
        fault,
        Fault::Plugin("bad config: `delta` must be within -255..=255, got 999".into())
    );
    // The SDK's one config parser: every plugin refuses the same way.
    for (plugin, config, says) in [
        ("brightness", r#"{"delta": "up"}"#, "`delta` must be a number"),
        (
            "brightness",
            r#"{"delta": 1, "detla": 2}"#,
            "unknown key `detla`; the keys are delta",
        ),
        ("gain", "gain=2", "the config is not JSON"),
        ("compressor", "[1, 2]", "the config must be a JSON object"),
        (
            "compressor",
            r#"{"ratio": 0.5}"#,
            "`ratio` must be from 1 to 100, got 0.5",
        ),
        ("infer_probe", r#"{"model": 3}"#, "`model` must be text"),
    ] {
        let fault = Stage::new(load(plugin), config, Limits::default()).unwrap_err();
        assert!(
            matches!(&fault, Fault::Plugin(m) if m.contains(says)),
            "{plugin} {config}: {fault}"
        );
    }
}

#[test]
fn gain_scales_float_and_integer_samples() {
    let plugin = load("gain");
    assert_eq!(plugin.description.world, World::AudioFilter);
    let mut stage = Stage::new(plugin, r#"{"gain": 0.5}"#, Limits::default()).unwrap();
    let samples: Vec<u8> = [1.0f32, -0.5, 0.25, 0.0].iter().flat_map(|s| s.to_le_bytes()).collect();
    let info = slate_wasm::AudioInfo {
        rate: 48_000,
        channels: 2,
        format: slate_wasm::SampleFormat::F32le,
        frames: 2,
        pts: None,
        duration: None,
    };
    let (out, _) = stage.process_audio(info, &samples, &Record::default()).unwrap();
    let out: Vec<f32> = out
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
        .collect();
    assert_eq!(out, [0.5, -0.25, 0.125, 0.0]);
    assert_eq!(stage.counters().get("samples"), Some(&4));
}

#[test]
fn motion_meter_measures_frame_differences_and_posts_events() {
    let plugin = load("motion-meter".replace('-', "_").as_str());
    assert_eq!(plugin.description.world, World::Analyzer);
    let mut stage = Stage::new(plugin, r#"{"threshold": 8}"#, Limits::default()).unwrap();
    let info = FrameInfo {
        width: 4,
        height: 1,
        format: PixelFormat::Gray8,
        stride: 4,
        pts: None,
        duration: None,
    };
    let diffs: Vec<f64> = [[0u8, 0, 0, 0], [0, 0, 0, 0], [40, 40, 0, 0], [40, 40, 0, 0]]
        .iter()
        .map(|frame| {
            match stage
                .analyze_frame(info, frame, &Record::default())
                .unwrap()
                .get("motion.mean-diff")
            {
                Some(Value::Float(d)) => *d,
                other => panic!("no motion field: {other:?}"),
            }
        })
        .collect();
    assert_eq!(diffs, [0.0, 0.0, 20.0, 0.0]);
    let events = stage.take_events();
    let moving: Vec<_> = events
        .iter()
        .map(|e| (e.name.as_str(), e.fields[0].1.clone()))
        .collect();
    assert_eq!(moving, [("motion", Value::Bool(true)), ("motion", Value::Bool(false))]);
}

#[test]
fn a_trap_is_a_fault_with_the_panic_message_and_the_next_call_works() {
    let mut stage = Stage::new(load("trap"), "", Limits::default()).unwrap();
    let pixels = [1u8; 16];
    assert!(stage.process_frame(rgba(2, 2), &pixels, &Record::default()).is_ok());
    let fault = stage
        .process_frame(rgba(2, 2), &pixels, &Record::default())
        .unwrap_err();
    assert_eq!(fault.cause(), "trap");
    assert!(fault.to_string().contains("deliberate panic on frame 2"), "{fault}");
    // A fresh instance: its first frame passes again.
    assert!(stage.process_frame(rgba(2, 2), &pixels, &Record::default()).is_ok());
}

#[test]
fn an_endless_loop_times_out_at_the_deadline() {
    let limits = Limits {
        deadline: Duration::from_millis(50),
        ..Limits::default()
    };
    let mut stage = Stage::new(load("spin"), "", limits).unwrap();
    let started = Instant::now();
    let fault = stage
        .process_frame(rgba(2, 2), &[0; 16], &Record::default())
        .unwrap_err();
    assert_eq!(fault, Fault::Timeout(Duration::from_millis(50)));
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "stopped after {:?}",
        started.elapsed()
    );
}

#[test]
fn a_memory_hog_hits_its_limit() {
    let limits = Limits {
        memory: 64 << 20,
        // Only memory stops it: on a busy machine growing 64 MiB can take
        // longer than the default deadline (a CI run once saw a Timeout).
        deadline: Duration::from_secs(30),
    };
    let mut stage = Stage::new(load("hog"), "", limits).unwrap();
    let fault = stage
        .process_frame(rgba(2, 2), &[0; 16], &Record::default())
        .unwrap_err();
    assert_eq!(fault, Fault::OutOfMemory(64 << 20));
}

#[test]
fn a_wrong_sized_frame_is_bad_output() {
    let mut stage = Stage::new(load("liar"), "", Limits::default()).unwrap();
    let fault = stage
        .process_frame(rgba(2, 2), &[0; 16], &Record::default())
        .unwrap_err();
    assert_eq!(fault, Fault::BadOutput("15 bytes for a 2x2 frame of 16 bytes".into()));
}

#[test]
fn compiled_plugins_are_cached_on_disk() {
    let cache = tempfile::tempdir().unwrap();
    let host = Host::new(Some(cache.path().to_owned())).unwrap();
    let path = plugins().join("brightness.wasm");
    assert_eq!(host.load(&path).unwrap().origin, Origin::Compiled);
    assert_eq!(host.load(&path).unwrap().origin, Origin::Cached);
    let other = Host::new(Some(cache.path().to_owned())).unwrap();
    assert_eq!(
        other.load(&path).unwrap().origin,
        Origin::Cached,
        "another host reuses the cache"
    );
}

#[test]
fn files_that_are_not_plugins_are_refused_with_their_name() {
    let dir = tempfile::tempdir().unwrap();
    let missing = Host::global().unwrap().load(&dir.path().join("nope.wasm")).unwrap_err();
    assert!(
        matches!(missing, LoadError::Read { .. }) && missing.to_string().contains("nope.wasm"),
        "{missing}"
    );
    let junk = dir.path().join("junk.wasm");
    std::fs::write(&junk, b"\0asm\x01\0\0\0garbage").unwrap();
    let err = Host::global().unwrap().load(&junk).unwrap_err();
    assert!(
        err.to_string()
            .starts_with(&format!("{} is not a WebAssembly component", junk.display())),
        "{err}"
    );
}

mod fuzz {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1000))]

        /// Random bytes as a plugin file: an error, never a panic.
        #[test]
        fn random_files_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512), wasm_header in any::<bool>()) {
            let dir = tempfile::tempdir().unwrap();
            let file = dir.path().join("random.wasm");
            let mut content = if wasm_header { b"\0asm\x0d\0\x01\0".to_vec() } else { Vec::new() };
            content.extend(bytes);
            std::fs::write(&file, content).unwrap();
            prop_assert!(Host::global().unwrap().load(&file).is_err());
        }

        /// Random but valid WIT values (frame geometry, pixels, metadata)
        /// through a real plugin: a result or a fault, never a panic.
        #[test]
        fn random_frames_and_metadata_never_panic(
            width in 0u32..64, height in 0u32..16, format in 0usize..5, extra in 0usize..8,
            fields in proptest::collection::btree_map("[a-z.]{0,12}", any::<i64>(), 0..6),
            labels in proptest::collection::vec("\\PC{0,8}", 0..4),
        ) {
            thread_local! {
                static STAGE: std::cell::RefCell<Stage> =
                    std::cell::RefCell::new(Stage::new(load("brightness"), "", Limits::default()).unwrap());
            }
            let formats = [PixelFormat::Rgba, PixelFormat::Bgra, PixelFormat::Rgbx, PixelFormat::Bgrx, PixelFormat::Gray8];
            let info = FrameInfo { width, height, format: formats[format], stride: width * 4, pts: None, duration: Some(1) };
            let pixels = vec![7u8; (width * height * 4) as usize + extra];
            let mut meta = Record::default();
            for (k, v) in &fields {
                meta.set(k.clone(), *v);
            }
            for label in &labels {
                meta.add_object(label.clone());
            }
            let result = STAGE.with(|s| s.borrow_mut().process_frame(info, &pixels, &meta));
            let (out, out_meta) = result.unwrap();
            prop_assert_eq!(out.len(), pixels.len());
            prop_assert_eq!(out_meta, meta);
        }
    }
}

/// Plugins built against every released contract run side by side: 0.1.0
/// and 0.2.0 through raw bindings, the SDK's plugins against the newest.
#[test]
fn plugins_built_against_any_contract_version_run_on_one_host() {
    let first = load("contract_v1");
    let second = load("contract_v2");
    let newest = load("brightness");
    assert_eq!(first.description.version, "0.1.0");
    assert_eq!(second.description.version, "0.2.0");
    let frame = [9u8; 16];
    let mut stage = Stage::new(first, r#"{"delta": 2}"#, Limits::default()).unwrap();
    let (pixels, meta) = stage.process_frame(rgba(2, 2), &frame, &Record::default()).unwrap();
    assert_eq!(pixels[0], 11, "0.1.0 plugin");
    assert_eq!(meta.get("contract"), Some(&Value::from("0.1.0")));
    let mut stage = Stage::new(second, "", Limits::default()).unwrap();
    let (pixels, meta) = stage.process_frame(rgba(2, 2), &frame, &Record::default()).unwrap();
    assert_eq!(pixels, frame);
    assert_eq!(meta.get("contract"), Some(&Value::from("0.2.0")));
    assert!(
        matches!(meta.get("error-log-enabled"), Some(Value::Bool(_))),
        "0.2.0's new import answered: {meta:?}"
    );
    let mut stage = Stage::new(newest, r#"{"delta": 1}"#, Limits::default()).unwrap();
    assert_eq!(
        stage.process_frame(rgba(2, 2), &frame, &Record::default()).unwrap().0[0],
        10,
        "an SDK plugin (0.3.0)"
    );
}

/// 0.3.0's `inference`: a plugin runs a pinned model through the host, and
/// may not name model files.
#[test]
fn plugins_infer_through_the_host_and_only_with_pinned_models() {
    let probe = load("infer_probe");
    // The SDK reports the plugin crate's own version (plugins/infer-probe/Cargo.toml).
    assert_eq!(probe.description.version, "0.3.0");
    let frame = [255u8, 0, 0, 255, 0, 0, 255, 255];
    let mut stage = Stage::new(probe.clone(), "", Limits::default()).unwrap();
    let (_, meta) = stage.process_frame(rgba(2, 1), &frame, &Record::default()).unwrap();
    let Some(Value::FloatList(graded)) = meta.get("graded") else {
        panic!("{meta:?}")
    };
    // Red and blue pixels through the grade's matrix and lift, clipped to
    // 0..1 (planes R, G, B).
    let expect = [1.0, 0.02, 0.02 + 0.01, 0.02 + 0.01, 0.0, 0.85];
    assert!(
        graded.iter().zip(expect).all(|(g, e)| (g - e).abs() < 1e-5),
        "{graded:?}"
    );
    for (model, expected) in [
        (
            "/tmp/evil.onnx",
            "no pinned model `/tmp/evil.onnx`; plugins and scripts may use the models of models/models.toml: centerface",
        ),
        ("silero-vad", "has no input `image`"),
    ] {
        let mut stage = Stage::new(probe.clone(), &format!(r#"{{"model": "{model}"}}"#), Limits::default()).unwrap();
        let fault = stage.process_frame(rgba(2, 1), &frame, &Record::default()).unwrap_err();
        assert!(
            matches!(&fault, Fault::Plugin(m) if m.contains(expected)),
            "{model}: {fault}"
        );
    }
}
