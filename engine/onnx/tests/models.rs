//! The pinned models through ONNX Runtime on this machine's CPU: fallback,
//! errors, shared sessions, and real results on real media.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use slate_onnx::postprocess::{Detection, SileroVad, SpeechSegments, decode_centerface};
use slate_onnx::preprocess::{self, Frame, PixelFormat};
use slate_onnx::{OnnxError, Options, Provider, Tensor, TensorView, ViewData, open};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures")
}

/// A binary PPM (P6) as (width, height, RGB bytes).
fn read_ppm(path: &Path) -> (u32, u32, Vec<u8>) {
    let bytes = std::fs::read(path).unwrap();
    let mut fields = Vec::new();
    let mut at = 0;
    while fields.len() < 4 {
        while bytes[at].is_ascii_whitespace() {
            at += 1;
        }
        let start = at;
        while !bytes[at].is_ascii_whitespace() {
            at += 1;
        }
        fields.push(String::from_utf8_lossy(&bytes[start..at]).into_owned());
    }
    assert_eq!(fields[0], "P6");
    let (w, h): (u32, u32) = (fields[1].parse().unwrap(), fields[2].parse().unwrap());
    (w, h, bytes[at + 1..].to_vec())
}

#[test]
fn auto_falls_back_to_cpu_and_says_why() {
    let model = open(&Options::new("grade")).unwrap();
    assert_eq!(model.provider, Provider::Cpu);
    let reasons = model.fallbacks.join("\n");
    assert!(
        reasons.contains("tensorrt: TensorrtExecutionProvider is not in"),
        "{reasons}"
    );
    assert!(reasons.contains("cuda: CUDAExecutionProvider is not in"), "{reasons}");
}

#[test]
fn an_unavailable_provider_asked_for_by_name_is_a_clear_error() {
    for (provider, name) in [
        (Provider::Cuda, "CUDAExecutionProvider"),
        (Provider::TensorRt, "TensorrtExecutionProvider"),
    ] {
        let error = open(&Options {
            provider,
            ..Options::new("grade")
        })
        .unwrap_err();
        let text = error.to_string();
        assert!(matches!(error, OnnxError::Provider { .. }), "{text}");
        assert!(
            text.contains(&format!("{name} is not in"))
                && text.contains("libonnxruntime.so")
                && text.contains("install onnxruntime-gpu"),
            "{text}"
        );
    }
}

#[test]
fn the_grade_model_computes_its_matrix() {
    let model = open(&Options::new("grade")).unwrap();
    // Two pixels: mid grey and pure blue.
    let input = Tensor::f32(vec![1, 3, 1, 2], vec![0.5, 0.0, 0.5, 0.0, 0.5, 1.0]);
    let outputs = model.run_owned(&[("image".into(), input)]).unwrap();
    let graded = outputs[0].1.as_f32().unwrap();
    assert_eq!(outputs[0].1.shape, [1, 3, 1, 2]);
    // out = matrix * rgb + lift, planes R, G, B; pixels (0.5, 0.5, 0.5), (0, 0, 1).
    let expect = [
        1.10 * 0.5 + 0.05 * 0.5 + 0.02,
        0.02,
        0.02 * 0.5 + 1.00 * 0.5 + 0.02 * 0.5 + 0.01,
        0.02 + 0.01,
        0.05 * 0.5 + 0.85 * 0.5,
        0.85,
    ];
    for (got, want) in graded.iter().zip(expect) {
        assert!((got - want).abs() < 1e-5, "{graded:?}");
    }
}

#[test]
fn bad_models_and_bad_inputs_are_clear_errors() {
    let scratch = tempfile_dir();
    let missing = open(&Options::new(scratch.join("nowhere.onnx").display().to_string())).unwrap_err();
    assert!(matches!(missing, OnnxError::MissingModel { .. }), "{missing}");
    let garbage = scratch.join("garbage.onnx");
    std::fs::write(&garbage, b"this is not a protobuf").unwrap();
    let corrupt = open(&Options::new(garbage.display().to_string())).unwrap_err();
    assert!(matches!(corrupt, OnnxError::Load { .. }), "{corrupt}");
    assert!(corrupt.to_string().contains("garbage.onnx"), "{corrupt}");
    let unknown = open(&Options::new("facenet")).unwrap_err().to_string();
    assert!(
        unknown.contains("no model `facenet`") && unknown.contains("centerface"),
        "{unknown}"
    );

    let model = open(&Options::new("grade")).unwrap();
    let four_channels = Tensor::f32(vec![1, 4, 1, 1], vec![0.0; 4]);
    let error = model
        .run_owned(&[("image".into(), four_channels)])
        .unwrap_err()
        .to_string();
    assert!(error.contains("needs 3 at axis 1"), "{error}");
    let short = model.run(
        &[(
            "image",
            TensorView {
                shape: &[1, 3, 2, 2],
                data: ViewData::F32(&[0.0; 5]),
            },
        )],
        |_| (),
    );
    assert!(short.unwrap_err().to_string().contains("needs Some(12) values, got 5"));
    let wrong_name = model.run_owned(&[("pixels".into(), Tensor::f32(vec![1, 3, 1, 1], vec![0.0; 3]))]);
    assert!(
        wrong_name
            .unwrap_err()
            .to_string()
            .contains("has no input `pixels`; its inputs: image")
    );
}

fn tempfile_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("slate-onnx-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn one_session_id_loads_the_model_once() {
    let options = Options {
        session_id: Some("shared-grade".into()),
        ..Options::new("grade")
    };
    let first = open(&options).unwrap();
    let loads = slate_onnx::loads();
    let second = open(&options).unwrap();
    assert!(Arc::ptr_eq(&first, &second));
    assert_eq!(slate_onnx::loads(), loads, "the second user joined the session");
    let clash = open(&Options {
        session_id: Some("shared-grade".into()),
        ..Options::new("centerface")
    })
    .unwrap_err();
    assert!(matches!(clash, OnnxError::SessionClash { .. }), "{clash}");
}

/// Packed RGB pixels as a frame.
fn rgb_frame(rgb: &[u8], width: u32, height: u32) -> Frame<'_> {
    Frame {
        data: rgb,
        format: PixelFormat::Rgb,
        width,
        height,
        stride: width as usize * 3,
    }
}

/// Faces in a frame through CenterFace, as the element runs it.
fn faces(width: u32, height: u32, rgb: &[u8]) -> Vec<Detection> {
    let model = open(&Options::new("centerface")).unwrap();
    let spec = model.spec.input.clone().unwrap();
    let frame = rgb_frame(rgb, width, height);
    let (w, h) = preprocess::input_size(&spec, width, height);
    let mut input = vec![0.0; preprocess::input_len(&spec, w, h)];
    let placement = preprocess::fill(&frame, None, &spec, (w, h), &mut input);
    let shape = [1, 3, h as i64, w as i64];
    model
        .run(
            &[(
                "input.1",
                TensorView {
                    shape: &shape,
                    data: ViewData::F32(&input),
                },
            )],
            |outputs| decode_centerface(outputs, 0, &placement, 0.5),
        )
        .unwrap()
        .unwrap()
}

#[test]
fn centerface_finds_the_astronauts_face() {
    let (w, h, rgb) = read_ppm(&fixtures().join("faces/astronaut.ppm"));
    let found = faces(w, h, &rgb);
    let truth = Detection {
        x: 92.0,
        y: 36.0,
        w: 45.0,
        h: 50.0,
        score: 1.0,
        landmarks: vec![],
    };
    assert_eq!(found.len(), 1, "{found:?}");
    let face = &found[0];
    assert!(face.iou(&truth) >= 0.5, "IoU {} for {face:?}", face.iou(&truth));
    // The eyes are above the mouth corners, the nose between.
    let y = |i: usize| face.landmarks[2 * i + 1];
    assert!(y(0) < y(2) && y(2) < y(3), "{:?}", face.landmarks);

    // Mirrored beside itself: two faces, each where it is.
    let mut pair = vec![0u8; (2 * w * h * 3) as usize];
    for row in 0..h as usize {
        for x in 0..w as usize {
            let from = (row * w as usize + x) * 3;
            let left = (row * 2 * w as usize + x) * 3;
            let right = (row * 2 * w as usize + (2 * w as usize - 1 - x)) * 3;
            pair[left..left + 3].copy_from_slice(&rgb[from..from + 3]);
            pair[right..right + 3].copy_from_slice(&rgb[from..from + 3]);
        }
    }
    let mut found = faces(2 * w, h, &pair);
    found.sort_by(|a, b| a.x.total_cmp(&b.x));
    let mirrored = Detection {
        x: 2.0 * w as f32 - truth.x - truth.w,
        ..truth.clone()
    };
    assert_eq!(found.len(), 2, "{found:?}");
    assert!(
        found[0].iou(&truth) >= 0.5 && found[1].iou(&mirrored) >= 0.5,
        "{found:?}"
    );
}

/// Mono 16 kHz float samples of `text` spoken by espeak-ng.
fn speech(text: &str) -> Vec<f32> {
    let dir = tempfile_dir();
    let wav = dir.join(format!("{}.wav", text.len()));
    let status = std::process::Command::new("espeak-ng")
        .args(["-w"])
        .arg(&wav)
        .arg(text)
        .status()
        .expect("espeak-ng runs (.ci/setup installs it)");
    assert!(status.success());
    let out = std::process::Command::new("ffmpeg")
        .args(["-v", "error", "-i"])
        .arg(&wav)
        .args(["-ar", "16000", "-ac", "1", "-f", "f32le", "-"])
        .output()
        .expect("ffmpeg runs");
    assert!(out.status.success());
    out.stdout
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
        .collect()
}

#[test]
fn silero_finds_speech_between_silences_within_100_ms() {
    let rate = 16_000.0;
    let mut audio = vec![0.0f32; 16_000];
    let mut truth = Vec::new();
    for text in ["The coffee cup stays on the table.", "Cut to camera two, and roll."] {
        let spoken = speech(text);
        // Where the voice really is: espeak pads with its own silence.
        let first = spoken.iter().position(|s| s.abs() > 0.01).unwrap();
        let last = spoken.iter().rposition(|s| s.abs() > 0.01).unwrap();
        let at = audio.len();
        truth.push(((at + first) as f64 / rate, (at + last) as f64 / rate));
        audio.extend(&spoken);
        audio.extend(vec![0.0; 16_000]);
    }
    let model = open(&Options::new("silero-vad")).unwrap();
    let mut vad = SileroVad::new(model);
    let mut segments = SpeechSegments::default();
    let mut found = Vec::new();
    // In 20 ms buffers, as audio arrives in a pipeline.
    for buffer in audio.chunks(320) {
        for (at, probability) in vad.push(buffer).unwrap() {
            if let Some(slate_onnx::postprocess::SpeechEvent::Ended { start, end }) = segments.update(at, probability) {
                found.push((start, end));
            }
        }
    }
    assert_eq!(found.len(), truth.len(), "found {found:?}, spoken {truth:?}");
    for ((start, end), (true_start, true_end)) in found.iter().zip(&truth) {
        assert!((start - true_start).abs() <= 0.1, "start {start} vs {true_start}");
        assert!((end - true_end).abs() <= 0.1, "end {end} vs {true_end}");
    }
}

/// The face recogniser's embedding of the one face CenterFace finds.
fn embedding(width: u32, height: u32, rgb: &[u8]) -> Vec<f32> {
    let found = faces(width, height, rgb);
    assert_eq!(found.len(), 1, "{found:?}");
    let landmarks: [f32; 10] = found[0].landmarks.clone().try_into().unwrap();
    let model = open(&Options::new("face-embed")).unwrap();
    let spec = model.spec.input.clone().unwrap();
    let frame = rgb_frame(rgb, width, height);
    let mut input = vec![0.0; preprocess::input_len(&spec, 112, 112)];
    preprocess::fill_aligned(&frame, &landmarks, &spec, (112, 112), &mut input);
    unit_vector(&model, "input", [1, 3, 112, 112], &input)
}

/// The model's first output for one float input, L2-normalised.
fn unit_vector(model: &slate_onnx::Model, input: &str, shape: [i64; 4], data: &[f32]) -> Vec<f32> {
    let view = TensorView {
        shape: &shape,
        data: ViewData::F32(data),
    };
    let mut vector = model
        .run(&[(input, view)], |outputs| match outputs[0].1.data {
            ViewData::F32(v) => v.to_vec(),
            _ => panic!("float output"),
        })
        .unwrap();
    slate_onnx::postprocess::l2_normalise(&mut vector);
    vector
}

fn cosine(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Mirrored left to right.
fn mirrored(width: u32, rgb: &[u8]) -> Vec<u8> {
    rgb.chunks_exact(width as usize * 3)
        .flat_map(|row| row.chunks_exact(3).rev().flatten().copied().collect::<Vec<u8>>())
        .collect()
}

/// Every other pixel (half size), and 30 % darker.
fn smaller_and_darker(width: u32, height: u32, rgb: &[u8]) -> (u32, u32, Vec<u8>) {
    let mut out = Vec::new();
    for y in (0..height as usize).step_by(2) {
        for x in (0..width as usize).step_by(2) {
            let at = (y * width as usize + x) * 3;
            out.extend(rgb[at..at + 3].iter().map(|v| (*v as f32 * 0.7) as u8));
        }
    }
    (width.div_ceil(2), height.div_ceil(2), out)
}

#[test]
fn the_recogniser_puts_one_person_closer_than_two() {
    let (w, h, astronaut) = read_ppm(&fixtures().join("faces/astronaut.ppm"));
    let (hw, hh, hopper) = read_ppm(&fixtures().join("faces/grace_hopper.ppm"));
    let collins = embedding(w, h, &astronaut);
    assert_eq!(collins.len(), 512);
    let collins_mirrored = embedding(w, h, &mirrored(w, &astronaut));
    let (sw, sh, small) = smaller_and_darker(w, h, &astronaut);
    let collins_small = embedding(sw, sh, &small);
    let hopper_vector = embedding(hw, hh, &hopper);
    let (hw2, hh2, hopper_small) = smaller_and_darker(hw, hh, &hopper);
    let hopper_small = embedding(hw2, hh2, &hopper_small);
    let same = [
        cosine(&collins, &collins_mirrored),
        cosine(&collins, &collins_small),
        cosine(&hopper_vector, &hopper_small),
    ];
    let different = [
        cosine(&collins, &hopper_vector),
        cosine(&collins_mirrored, &hopper_vector),
        cosine(&collins_small, &hopper_small),
    ];
    let closest_strangers = different.iter().copied().fold(f32::MIN, f32::max);
    let farthest_selves = same.iter().copied().fold(f32::MAX, f32::min);
    assert!(
        farthest_selves > closest_strangers + 0.2,
        "same person {same:?} vs different people {different:?}"
    );
}

/// The colour-layout signature of a whole picture.
fn layout(width: u32, height: u32, rgb: &[u8]) -> Vec<f32> {
    let model = open(&Options::new("colour-layout")).unwrap();
    let (name, spec) = model.image_input().unwrap();
    let frame = rgb_frame(rgb, width, height);
    let mut input = vec![0.0; preprocess::input_len(&spec, 64, 64)];
    preprocess::fill(&frame, None, &spec, (64, 64), &mut input);
    unit_vector(&model, &name, [1, 3, 64, 64], &input)
}

#[test]
fn the_colour_layout_tells_a_shot_from_a_cut() {
    let (w, h, astronaut) = read_ppm(&fixtures().join("faces/astronaut.ppm"));
    let (hw, hh, hopper) = read_ppm(&fixtures().join("faces/grace_hopper.ppm"));
    let (sw, sh, small) = smaller_and_darker(w, h, &astronaut);
    let shot = layout(w, h, &astronaut);
    assert_eq!(shot.len(), 192);
    let same_shot = cosine(&shot, &layout(sw, sh, &small));
    let cut = cosine(&shot, &layout(hw, hh, &hopper));
    assert!(same_shot > 0.95 && cut < 0.5, "same shot {same_shot}, cut {cut}");
}

#[test]
fn streams_sharing_a_session_share_batches() {
    let model = open(&Options {
        session_id: Some("pooled-grade".into()),
        ..Options::new("grade")
    })
    .unwrap();
    // Three streams, four frames each, one grey level per frame.
    let streams: Vec<_> = (0..3)
        .map(|stream| {
            let model = model.clone();
            std::thread::spawn(move || {
                (0..4)
                    .map(|frame| {
                        let level = (stream * 4 + frame) as f32 / 20.0;
                        let out = model.run_pooled(
                            "image",
                            vec![(vec![3, 1, 1], vec![level; 3])],
                            3,
                            std::time::Duration::from_millis(500),
                        );
                        let outputs = out.into_iter().next().unwrap().unwrap();
                        (level, outputs[0].2.clone())
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    for stream in streams {
        for (level, graded) in stream.join().unwrap() {
            // Each frame got its own result back: red = 1.15 * level + 0.02.
            assert!(
                (graded[0] - (1.15 * level + 0.02).min(1.0)).abs() < 1e-5,
                "{level}: {graded:?}"
            );
        }
    }
    let (runs, _) = model.stats();
    assert!(runs <= 6, "12 frames from 3 streams in batches of 3 took {runs} runs");
}

#[test]
fn minilm_puts_like_sentences_together() {
    let words = slate_onnx::text::WordPiece::load("bert-uncased").unwrap();
    // BERT's own ids: [CLS] hello , world ! [SEP]
    assert_eq!(words.encode("Hello, world!", 64), [101, 7592, 1010, 2088, 999, 102]);
    let text = slate_onnx::text::TextEmbedder::open(None).unwrap();
    let cup = text.embed("The coffee cup stays on the table.").unwrap();
    let mug = text.embed("A mug of coffee sits on the table.").unwrap();
    let rocket = text.embed("The rocket launched into orbit at dawn.").unwrap();
    assert_eq!(cup.len(), 384);
    let (alike, unlike) = (cosine(&cup, &mug), cosine(&cup, &rocket));
    assert!(alike > unlike + 0.3, "alike {alike}, unlike {unlike}");
}

#[test]
fn the_terrain_model_makes_a_height_map_from_noise() {
    let model = open(&Options::new("terrain")).unwrap();
    // Deterministic "noise" at the model's largest sigma.
    let noise: Vec<f32> = (0..128 * 128)
        .map(|i| ((i * 7919 % 1000) as f32 / 500.0 - 1.0) * 80.0)
        .collect();
    let inputs = [
        (
            "noisy",
            TensorView {
                shape: &[1, 1, 128, 128],
                data: ViewData::F32(&noise),
            },
        ),
        (
            "sigma",
            TensorView {
                shape: &[1],
                data: ViewData::F32(&[80.0]),
            },
        ),
        (
            "difficulty",
            TensorView {
                shape: &[1],
                data: ViewData::F32(&[0.5]),
            },
        ),
    ];
    let heights = model
        .run(&inputs, |outputs| match outputs[0].1.data {
            ViewData::F32(v) => v.to_vec(),
            _ => panic!("float output"),
        })
        .unwrap();
    assert_eq!(heights.len(), 128 * 128);
    assert!(heights.iter().all(|h| h.is_finite()));
    let spread = heights.iter().copied().fold(f32::MIN, f32::max) - heights.iter().copied().fold(f32::MAX, f32::min);
    assert!(spread > 0.0, "a flat map");
}
