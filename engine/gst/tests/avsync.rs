//! A/V sync: planted offsets in flash-and-beep files are measured within a
//! video frame, corrected to within 10 ms, and announced on the bus.

mod common;

use slate_audio::{SyncTest, write_synctest};

#[test]
fn planted_offsets_are_measured_within_a_frame_and_corrected_within_10_ms() {
    common::init();
    let dir = tempfile::tempdir().unwrap();
    let fps = 25;
    println!("{:>8} {:>10} {:>10} {:>6}", "planted", "measured", "residual", "R37");
    for planted in [-200.0, -120.0, -45.0, 0.0, 37.0, 65.0, 130.0, 200.0] {
        let file = dir.path().join(format!("sync{planted}.mp4"));
        write_synctest(
            &file,
            SyncTest {
                seconds: 6,
                fps,
                offset_ms: planted,
            },
        )
        .unwrap();
        let events = gstslate::avsync::measure_file(&file).unwrap();
        assert_eq!(events.len(), 5, "one per flash at 1..5 s: {events:?}");
        let offsets: Vec<f64> = events.iter().map(|e| e.offset_ms).collect();
        let measured = median(&offsets);
        assert!(
            (measured - planted).abs() <= 1000.0 / f64::from(fps),
            "planted {planted} ms, measured {offsets:?}"
        );
        let in_window = (-40.0..=60.0).contains(&planted);
        assert!(
            events.iter().all(|e| e.within_r37 == in_window),
            "{planted}: {events:?}"
        );
        let fixed = dir.path().join(format!("fixed{planted}.mp4"));
        gstslate::avsync::correct_file(&file, &fixed, measured).unwrap();
        let residual = median(
            &gstslate::avsync::measure_file(&fixed)
                .unwrap()
                .iter()
                .map(|e| e.offset_ms)
                .collect::<Vec<_>>(),
        );
        println!("{planted:>8.0} {measured:>10.2} {residual:>10.2} {in_window:>6}");
        assert!(residual.abs() <= 10.0, "planted {planted}: residual {residual} ms");
    }
}

#[test]
fn outside_r37_the_meter_warns_on_the_bus() {
    common::init();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("late.mp4");
    write_synctest(
        &file,
        SyncTest {
            seconds: 3,
            fps: 30,
            offset_ms: 90.0,
        },
    )
    .unwrap();
    let p = common::pipeline(&format!(
        "filesrc location={} ! decodebin name=d \
         d. ! queue ! videoconvert ! video/x-raw,format=GRAY8 ! meter.video \
         d. ! queue ! audioconvert ! audio/x-raw,format=F32LE,channels=1 ! meter.audio avsync name=meter",
        file.display()
    ));
    let bus = p.bus().unwrap();
    use gst::prelude::*;
    p.set_state(gst::State::Playing).unwrap();
    let mut warnings = Vec::new();
    let mut events = 0;
    for message in bus.iter_timed(gst::ClockTime::from_seconds(30)) {
        match message.view() {
            gst::MessageView::Eos(_) => break,
            gst::MessageView::Warning(w) => warnings.push(w.error().to_string()),
            gst::MessageView::Element(e) if e.structure().is_some_and(|s| s.name() == "slate-av-sync") => events += 1,
            gst::MessageView::Error(e) => panic!("{}", e.error()),
            _ => {}
        }
    }
    p.set_state(gst::State::Null).unwrap();
    assert_eq!(events, 2);
    assert_eq!(warnings.len(), 2, "{warnings:?}");
    assert!(
        warnings[0].contains("late") && warnings[0].contains("outside EBU R37"),
        "{warnings:?}"
    );
}

fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted[sorted.len() / 2]
}

/// Frame `n` of 25 fps GRAY8 64x48 video: dark, but white at 1 s.
fn video_frame(n: u64) -> gst::Buffer {
    let luma = if n == 25 { 235u8 } else { 16 };
    let mut buffer = gst::Buffer::from_mut_slice(vec![luma; 64 * 48]);
    let b = buffer.get_mut().unwrap();
    b.set_pts(gst::ClockTime::from_mseconds(40 * n));
    b.set_duration(gst::ClockTime::from_mseconds(40));
    buffer
}

/// Block `n` (480 samples, 10 ms) of 48 kHz mono: silence but for a 1 kHz
/// square beep of 40 ms from sample `beep`.
fn audio_block(n: u64, beep: u64) -> gst::Buffer {
    let samples: Vec<f32> = (n * 480..(n + 1) * 480)
        .map(|i| match i.checked_sub(beep) {
            Some(k) if k < 1920 => {
                if (k / 24) % 2 == 0 {
                    0.5
                } else {
                    -0.5
                }
            }
            _ => 0.0,
        })
        .collect();
    common::f32_block(gst::ClockTime::from_mseconds(10 * n), &samples, 1, 48_000)
}

fn eos_posted(messages: &[gst::Message]) -> bool {
    messages.iter().any(|m| m.type_() == gst::MessageType::Eos)
}

#[test]
fn harness_pairs_a_flash_with_its_late_beep_and_ends_when_both_pads_have() {
    common::init();
    let meter = gst::ElementFactory::make("avsync").build().unwrap();
    let mut video = gst_check::Harness::with_element(&meter, Some("video"), None);
    let mut audio = gst_check::Harness::with_element(&meter, Some("audio"), None);
    let bus = common::bus_for(&meter);
    video.set_src_caps_str("video/x-raw,format=GRAY8,width=64,height=48,framerate=25/1");
    audio.set_src_caps_str("audio/x-raw,format=F32LE,rate=48000,channels=1,layout=interleaved");
    // The beep 80 ms after the flash at 1 s: outside R37 (+60 ms).
    let beep = 48_000 + 80 * 48;
    for n in 0..50u64 {
        if n == 5 {
            // A flush on both pads early on does not stop the meter.
            common::flush(&mut video);
            common::flush(&mut audio);
        }
        video.push(video_frame(n)).unwrap();
        for k in 0..4 {
            audio.push(audio_block(4 * n + k, beep)).unwrap();
        }
    }
    // Both streams are 0.5 s past the flash: the pair is out already.
    let messages = common::drain(&bus);
    let events = common::element_messages(&messages, gstslate::avsync::SYNC_MESSAGE);
    assert_eq!(events.len(), 1, "{messages:?}");
    let event = &events[0];
    assert!((event.get::<f64>("flash").unwrap() - 1.0).abs() < 1e-9, "{event}");
    assert!((event.get::<f64>("beep").unwrap() - 1.08).abs() < 1e-9, "{event}");
    assert!((event.get::<f64>("offset-ms").unwrap() - 80.0).abs() < 1e-6, "{event}");
    assert!(!event.get::<bool>("within-r37").unwrap());
    let warnings = common::problems(&messages, gst::MessageType::Warning);
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0].contains("80 ms late") && warnings[0].contains("outside EBU R37"),
        "{warnings:?}"
    );
    // A sink: it posts EOS once both of its pads have ended, not before.
    assert!(!eos_posted(&messages));
    assert!(video.push_event(gst::event::Eos::new()));
    assert!(!eos_posted(&common::drain(&bus)), "the audio has not ended yet");
    assert!(audio.push_event(gst::event::Eos::new()));
    let messages = common::drain(&bus);
    assert!(eos_posted(&messages));
    assert!(
        common::element_messages(&messages, gstslate::avsync::SYNC_MESSAGE).is_empty(),
        "nothing more to pair: {messages:?}"
    );
}
