//! Audio/video sync from content: the flash-and-beep pattern. A test file
//! flashes one white frame every second with a 1 kHz beep on the same
//! frame (shifted by a planted offset if asked); the meter finds each
//! flash (a frame much brighter than the others) and each beep onset (to
//! the sample) and pairs them.

use std::path::Path;

use gst::prelude::*;
use serde::Serialize;

use crate::AudioError;

/// EBU R37: audio may lead video by at most 40 ms and lag by at most 60 ms.
pub const R37_EARLY_MS: f64 = 40.0;
pub const R37_LATE_MS: f64 = 60.0;

/// One flash paired with its beep. `offset_ms` > 0: the audio is late.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct SyncEvent {
    pub flash_s: f64,
    pub beep_s: f64,
    pub offset_ms: f64,
    pub within_r37: bool,
}

impl SyncEvent {
    pub fn new(flash_s: f64, beep_s: f64) -> SyncEvent {
        let offset_ms = (beep_s - flash_s) * 1000.0;
        SyncEvent {
            flash_s,
            beep_s,
            offset_ms,
            within_r37: (-R37_EARLY_MS..=R37_LATE_MS).contains(&offset_ms),
        }
    }
}

/// Finds flashes in a series of frame brightnesses: a frame whose mean
/// luma jumps well above the running floor starts one.
#[derive(Debug, Default)]
pub struct FlashFinder {
    floor: Option<f64>,
    lit: bool,
}

impl FlashFinder {
    /// The frame at `at` (seconds) with mean luma `luma` (0-255): returns
    /// `at` when a flash starts here.
    pub fn frame(&mut self, at: f64, luma: f64) -> Option<f64> {
        let floor = *self.floor.get_or_insert(luma);
        let lit = luma > floor + 64.0;
        let starts = lit && !self.lit;
        self.lit = lit;
        if !lit {
            // Follow slow changes of the background, not the flashes.
            self.floor = Some(0.9 * floor + 0.1 * luma);
        }
        starts.then_some(at)
    }
}

/// Finds beep onsets in audio: the first sample whose magnitude passes a
/// threshold after at least `gap` of quiet.
#[derive(Debug)]
pub struct BeepFinder {
    threshold: f32,
    gap: u64,
    quiet_for: u64,
    rate: u32,
}

impl BeepFinder {
    /// `threshold`: the amplitude (0-1) a beep passes; quiet of 200 ms
    /// separates two beeps.
    pub fn new(rate: u32, threshold: f32) -> BeepFinder {
        BeepFinder {
            threshold,
            gap: u64::from(rate) / 5,
            quiet_for: u64::MAX,
            rate,
        }
    }

    /// Mono samples starting at `start` seconds; returns the onsets in them.
    pub fn samples(&mut self, start: f64, samples: &[f32]) -> Vec<f64> {
        let mut onsets = Vec::new();
        for (i, sample) in samples.iter().enumerate() {
            if sample.abs() >= self.threshold {
                if self.quiet_for >= self.gap {
                    onsets.push(start + i as f64 / f64::from(self.rate));
                }
                self.quiet_for = 0;
            } else {
                self.quiet_for = self.quiet_for.saturating_add(1);
            }
        }
        onsets
    }
}

/// Pairs each flash with the nearest beep within half a second.
pub fn pair(flashes: &[f64], beeps: &[f64]) -> Vec<SyncEvent> {
    flashes
        .iter()
        .filter_map(|&flash| {
            beeps
                .iter()
                .copied()
                .filter(|beep| (beep - flash).abs() < 0.5)
                .min_by(|a, b| (a - flash).abs().total_cmp(&(b - flash).abs()))
                .map(|beep| SyncEvent::new(flash, beep))
        })
        .collect()
}

/// Priming of gst-libav's AAC encoder (`avenc_aac`): mp4mux (1.22) does
/// not mark it for removal, so decoders play an AAC track this many
/// samples late. Writers that need sync start their audio this much early.
pub const AAC_PRIMING_SAMPLES: i64 = 1024;

/// What `write_synctest` makes.
#[derive(Debug, Clone, Copy)]
pub struct SyncTest {
    pub seconds: u32,
    pub fps: u32,
    /// Planted offset: the beep comes this much after its flash (< 0: before).
    pub offset_ms: f64,
}

/// Writes the flash-and-beep pattern to an MP4 (H.264 + AAC): one white
/// frame at 1 s, 2 s, ... with a 1 kHz beep one frame long on it.
pub fn write_synctest(path: &Path, test: SyncTest) -> Result<(), AudioError> {
    let fail = |why: String| AudioError::Output {
        path: path.to_owned(),
        why,
    };
    if !(1..=3600).contains(&test.seconds) || !(1..=120).contains(&test.fps) || test.offset_ms.abs() > 500.0 {
        return Err(fail("seconds 1-3600, fps 1-120, offset within +-500 ms".into()));
    }
    crate::init().map_err(fail)?;
    let line = "appsrc name=video format=time ! videoconvert ! x264enc speed-preset=ultrafast key-int-max=30 \
                ! h264parse ! mp4mux name=mux ! filesink name=out \
                appsrc name=audio format=time ! audioconvert ! avenc_aac ! aacparse ! mux.";
    let pipeline = gst::parse::launch(line)
        .map_err(|e| fail(format!("{e}; run .ci/setup")))?
        .downcast::<gst::Pipeline>()
        .expect("a pipeline");
    let by_name = |n: &str| pipeline.by_name(n).expect("named above");
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("sync.mp4");
    let partial = path.with_file_name(format!(".{name}.partial.mp4"));
    by_name("out").set_property("location", partial.to_str().ok_or_else(|| fail("not UTF-8".into()))?);
    let (width, height, rate) = (320u32, 240u32, 48_000u32);
    let video = by_name("video").downcast::<gst_app::AppSrc>().expect("appsrc");
    let audio = by_name("audio").downcast::<gst_app::AppSrc>().expect("appsrc");
    let video_info = gst_video::VideoInfo::builder(gst_video::VideoFormat::Gray8, width, height)
        .fps(gst::Fraction::new(test.fps as i32, 1))
        .build()
        .expect("valid video info");
    video.set_caps(Some(&video_info.to_caps().expect("caps")));
    let audio_info = gst_audio::AudioInfo::builder(gst_audio::AudioFormat::F32le, rate, 1)
        .build()
        .expect("valid audio info");
    audio.set_caps(Some(&audio_info.to_caps().expect("caps")));
    pipeline
        .set_state(gst::State::Playing)
        .map_err(|e| fail(e.to_string()))?;

    let frame_ns = 1_000_000_000 / u64::from(test.fps);
    let frames = u64::from(test.seconds) * u64::from(test.fps);
    for frame in 0..frames {
        let flash = frame > 0 && frame % u64::from(test.fps) == 0;
        let mut buffer = gst::Buffer::from_mut_slice(vec![if flash { 235u8 } else { 16 }; (width * height) as usize]);
        let b = buffer.get_mut().expect("new buffer");
        b.set_pts(gst::ClockTime::from_nseconds(frame * frame_ns));
        b.set_duration(gst::ClockTime::from_nseconds(frame_ns));
        video.push_buffer(buffer).map_err(|e| fail(e.to_string()))?;
    }
    let _ = video.end_of_stream();
    // Audio in 10 ms blocks: a beep of one frame's length starts at each
    // flash plus the offset.
    let total = u64::from(test.seconds) * u64::from(rate);
    let beep_len = u64::from(rate) / u64::from(test.fps);
    // gst-libav's AAC encoder starts with 1024 samples of priming that
    // mp4mux (1.22) does not mark for removal, so decoders play everything
    // that much late: beep that much early to plant exactly the offset.
    let priming = AAC_PRIMING_SAMPLES;
    let beep_starts: Vec<i64> = (1..test.seconds)
        .map(|s| i64::from(s) * i64::from(rate) + (test.offset_ms / 1000.0 * f64::from(rate)).round() as i64 - priming)
        .collect();
    let block = u64::from(rate) / 100;
    for start in (0..total).step_by(block as usize) {
        let samples: Vec<u8> = (start..(start + block).min(total))
            .flat_map(|n| {
                let into = beep_starts
                    .iter()
                    .find(|&&b| (n as i64) >= b && (n as i64) < b + beep_len as i64);
                let value = into.map_or(0.0, |&b| {
                    let t = (n as i64 - b) as f64 / f64::from(rate);
                    0.5 * (2.0 * std::f64::consts::PI * 1000.0 * t).sin()
                }) as f32;
                value.to_le_bytes()
            })
            .collect();
        let count = samples.len() as u64 / 4;
        let mut buffer = gst::Buffer::from_mut_slice(samples);
        let b = buffer.get_mut().expect("new buffer");
        b.set_pts(
            gst::ClockTime::SECOND
                .mul_div_floor(start, u64::from(rate))
                .expect("fits"),
        );
        b.set_duration(
            gst::ClockTime::SECOND
                .mul_div_floor(count, u64::from(rate))
                .expect("fits"),
        );
        audio.push_buffer(buffer).map_err(|e| fail(e.to_string()))?;
    }
    let _ = audio.end_of_stream();
    let outcome = crate::play_to_end(&pipeline, |_| {}).map_err(|s| s.message);
    let _ = pipeline.set_state(gst::State::Null);
    outcome.map_err(&fail)?;
    std::fs::rename(&partial, path).map_err(|e| fail(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flashes_beeps_and_pairs() {
        let mut flashes = FlashFinder::default();
        let lumas = [16.0, 16.0, 235.0, 235.0, 16.0, 20.0, 235.0, 16.0];
        let found: Vec<f64> = lumas
            .iter()
            .enumerate()
            .filter_map(|(i, &l)| flashes.frame(i as f64, l))
            .collect();
        assert_eq!(found, [2.0, 6.0]);

        let mut beeps = BeepFinder::new(1000, 0.25);
        let mut audio = vec![0.0f32; 3000];
        audio[1020..1060].fill(0.5);
        audio[1030] = 0.0;
        audio[2500..2540].fill(-0.5);
        assert_eq!(beeps.samples(0.0, &audio[..1500]), [1.02]);
        assert_eq!(beeps.samples(1.5, &audio[1500..]), [2.5]);

        let events = pair(&[1.0, 2.0, 3.0], &[1.02, 1.93, 3.07]);
        assert_eq!(events.len(), 3);
        assert!((events[0].offset_ms - 20.0).abs() < 1e-9 && events[0].within_r37);
        assert!(
            (events[1].offset_ms + 70.0).abs() < 1e-9 && !events[1].within_r37,
            "70 ms early"
        );
        assert!(!events[2].within_r37, "70 ms late");
    }
}
