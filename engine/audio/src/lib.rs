//! Slate's audio tools: EBU R128 / ITU-R BS.1770 loudness of a file or a
//! stream of samples — integrated, loudness range, momentary and
//! short-term maxima, sample and true peak — measured with the `ebur128`
//! crate (the meter of GStreamer's `ebur128level`), never by hand; and
//! normalisation to delivery profiles (exact two-pass for files, a bounded
//! look-ahead for live streams; both with a true-peak limiter).
//!
//! ```no_run
//! let report = slate_audio::measure_file(std::path::Path::new("speech.wav"))?;
//! println!("{:?} LUFS", report.integrated_lufs);
//! # Ok::<(), slate_audio::AudioError>(())
//! ```

use std::sync::{Arc, Mutex};

mod decode;
mod encode;
mod error;
mod limiter;
mod loudness;
mod mix;
mod mp4;
mod normalise;
mod play;
pub mod plot;
mod sync;

pub use decode::{decode_file, decode_mono};
pub use encode::Writer;
pub use error::AudioError;
pub use limiter::Limiter;
pub use loudness::{Loudness, Meter};
pub use mix::{Curve, Ducker, pan_gains};
pub use mp4::name_tracks;
pub use normalise::{LIVE_LOOKAHEAD_S, LiveNormaliser, Normalised, PROFILES, Profile, normalise_file, normalise_live};
pub use play::{Stopped, play_to_end};
pub use plot::plot_png;
pub use sync::{
    AAC_PRIMING_SAMPLES, BeepFinder, FlashFinder, R37_EARLY_MS, R37_LATE_MS, SyncEvent, SyncTest, pair, write_synctest,
};

fn init() -> Result<(), String> {
    gst::init().map_err(|e| e.to_string())
}

/// Measures the loudness of every audio sample in `path`.
pub fn measure_file(path: &std::path::Path) -> Result<Loudness, AudioError> {
    let meter: Arc<Mutex<Option<Meter>>> = Arc::default();
    let feed = meter.clone();
    decode_file(path, move |rate, channels, samples| {
        let mut meter = feed.lock().unwrap();
        let meter = match &mut *meter {
            Some(meter) => meter,
            None => meter.insert(Meter::new(rate, channels)?),
        };
        meter.add(samples)
    })?;
    let meter = meter.lock().unwrap().take();
    meter
        .map(Meter::report)
        .ok_or_else(|| AudioError::NoAudio(path.to_owned()))
}
