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
