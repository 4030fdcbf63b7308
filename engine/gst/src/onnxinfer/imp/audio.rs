//! Audio: voice activity on 16 kHz mono samples.

use std::sync::atomic::Ordering;

use gst::prelude::*;
use gst::subclass::prelude::*;
use slate_meta::Record;
use slate_onnx::postprocess::SpeechEvent;

use super::{Media, OnnxInfer, State};
use crate::SlateMeta;
use crate::onnxinfer::VAD_MESSAGE;

impl OnnxInfer {
    /// Voice activity on an audio buffer: its probability and whether
    /// speech is on go into the metadata; starts and ends are bus messages.
    pub(super) fn hear(&self, state: &mut State, mut buffer: gst::Buffer) -> Result<gst::Buffer, gst::FlowError> {
        let Media::Audio { vad, segments, origin } = &mut state.media else {
            return Err(gst::FlowError::NotNegotiated);
        };
        let origin = *origin.get_or_insert_with(|| buffer.pts().map_or(0.0, |t| t.seconds_f64()));
        let scores = {
            let map = buffer.map_readable().map_err(|_| gst::FlowError::Error)?;
            let samples: Vec<f32> = map
                .as_slice()
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect();
            vad.push(&samples).map_err(|e| {
                gst::element_imp_error!(self, gst::LibraryError::Failed, ("Voice activity failed: {e}"));
                gst::FlowError::Error
            })?
        };
        self.inferences.fetch_add(scores.len() as u64, Ordering::Relaxed);
        let mut record: Record = SlateMeta::record_of(&buffer);
        if let Some(peak) = scores.iter().map(|(_, p)| *p).reduce(f32::max) {
            record.set("vad.probability", f64::from(peak));
        }
        for (at, probability) in scores {
            let message = match segments.update(at, probability) {
                Some(SpeechEvent::Started(start)) => gst::Structure::builder(VAD_MESSAGE)
                    .field("speech", true)
                    .field("start", origin + start)
                    .build(),
                Some(SpeechEvent::Ended { start, end }) => gst::Structure::builder(VAD_MESSAGE)
                    .field("speech", false)
                    .field("start", origin + start)
                    .field("end", origin + end)
                    .build(),
                None => continue,
            };
            crate::post_element_message(self.obj().upcast_ref(), message);
        }
        record.set("vad.speech", segments.speaking());
        SlateMeta::set(buffer.make_mut(), record);
        Ok(buffer)
    }
}
