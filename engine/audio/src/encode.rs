//! Samples into a file, through GStreamer's encoders: `.wav` (24-bit PCM)
//! or `.flac`. The file appears under its name only when it is complete.

use std::path::{Path, PathBuf};

use gst::prelude::*;

use crate::AudioError;

/// Writes interleaved 32-bit float samples to an audio file.
pub struct Writer {
    pipeline: gst::Pipeline,
    src: gst_app::AppSrc,
    rate: u32,
    channels: u32,
    frames: u64,
    partial: PathBuf,
    path: PathBuf,
}

/// The encoder and the sample format for a file name, or why not.
fn encoder_for(path: &Path) -> Result<(&'static str, Option<&'static str>), AudioError> {
    let extension = path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase);
    match extension.as_deref() {
        Some("wav") => Ok(("wavenc", Some("S24LE"))),
        Some("flac") => Ok(("flacenc", None)),
        _ => Err(AudioError::Output {
            path: path.to_owned(),
            why: "write a .wav or .flac file".into(),
        }),
    }
}

impl Writer {
    /// Checks that `path` names a format Slate writes, before any work.
    pub fn check_name(path: &Path) -> Result<(), AudioError> {
        encoder_for(path).map(|_| ())
    }

    pub fn create(path: &Path, rate: u32, channels: u32) -> Result<Writer, AudioError> {
        let fail = |why: String| AudioError::Output {
            path: path.to_owned(),
            why,
        };
        let (encoder, format) = encoder_for(path)?;
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("out");
        let partial = path.with_file_name(format!(".{name}.partial"));
        crate::init().map_err(fail)?;
        let format = format.map(|f| format!(",format={f}")).unwrap_or_default();
        let description = format!(
            "appsrc name=src format=time block=true max-bytes=4000000 ! audioconvert \
             ! audio/x-raw{format} ! {encoder} ! filesink name=sink"
        );
        let pipeline = gst::parse::launch(&description)
            .map_err(|e| fail(format!("GStreamer cannot encode it ({e}); run .ci/setup")))?
            .downcast::<gst::Pipeline>()
            .expect("a launch line of several elements is a pipeline");
        let by_name = |name: &str| pipeline.by_name(name).expect("named in the launch line");
        by_name("sink").set_property(
            "location",
            partial.to_str().ok_or_else(|| fail("not a UTF-8 path".into()))?,
        );
        let src = by_name("src")
            .downcast::<gst_app::AppSrc>()
            .expect("appsrc is an AppSrc");
        let info = gst_audio::AudioInfo::builder(gst_audio::AudioFormat::F32le, rate, channels)
            .build()
            .map_err(|e| fail(format!("{channels} channels at {rate} Hz: {e}")))?;
        src.set_caps(Some(&info.to_caps().map_err(|e| fail(e.to_string()))?));
        pipeline
            .set_state(gst::State::Playing)
            .map_err(|_| fail(error_on_bus(&pipeline).unwrap_or_else(|| "cannot start".into())))?;
        Ok(Writer {
            pipeline,
            src,
            rate,
            channels,
            frames: 0,
            partial,
            path: path.to_owned(),
        })
    }

    pub fn write(&mut self, samples: &[f32]) -> Result<(), AudioError> {
        if samples.is_empty() {
            return Ok(());
        }
        let frames = (samples.len() / self.channels as usize) as u64;
        let at = |frames: u64| {
            gst::ClockTime::SECOND
                .mul_div_floor(frames, u64::from(self.rate))
                .expect("no overflow")
        };
        let mut bytes = Vec::with_capacity(samples.len() * 4);
        for sample in samples {
            bytes.extend_from_slice(&sample.to_le_bytes());
        }
        let mut buffer = gst::Buffer::from_mut_slice(bytes);
        {
            let buffer = buffer.get_mut().expect("a new buffer is writable");
            buffer.set_pts(at(self.frames));
            buffer.set_duration(at(self.frames + frames) - at(self.frames));
        }
        self.frames += frames;
        self.src.push_buffer(buffer).map_err(|e| AudioError::Output {
            path: self.path.clone(),
            why: error_on_bus(&self.pipeline).unwrap_or_else(|| e.to_string()),
        })?;
        Ok(())
    }

    /// Ends the stream, waits for the encoder, and moves the file into place.
    pub fn finish(self) -> Result<(), AudioError> {
        let fail = |why: String| AudioError::Output {
            path: self.path.clone(),
            why,
        };
        let _ = self.src.end_of_stream();
        let outcome = crate::play_to_end(&self.pipeline, |_| {}).map_err(|s| s.message);
        let _ = self.pipeline.set_state(gst::State::Null);
        outcome.map_err(fail)?;
        std::fs::rename(&self.partial, &self.path).map_err(|e| fail(e.to_string()))
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        // Unfinished: stop and leave nothing half-written behind.
        let _ = self.pipeline.set_state(gst::State::Null);
        let _ = std::fs::remove_file(&self.partial);
    }
}

fn error_on_bus(pipeline: &gst::Pipeline) -> Option<String> {
    let bus = pipeline.bus()?;
    let message = bus.timed_pop_filtered(gst::ClockTime::ZERO, &[gst::MessageType::Error])?;
    match message.view() {
        gst::MessageView::Error(e) => Some(e.error().to_string()),
        _ => None,
    }
}
