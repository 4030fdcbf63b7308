//! Video: frames wait for a batch, run through the model (whole, or the
//! objects of `roi`, aligned by their landmarks when the model wants), and
//! leave with their results; frames `interval` skips carry the last ones.

use std::sync::atomic::Ordering;
use std::time::Instant;

use gst::subclass::prelude::*;
use gst_video::prelude::*;
use slate_onnx::manifest::{DType, InputSpec};
use slate_onnx::preprocess::{self, Frame, PixelFormat, Placement, Region};
use slate_onnx::{TensorView, ViewData};

use super::{Media, OnnxInfer, Settings, State};
use crate::SlateMeta;
use crate::onnxinfer::results::{self, Item};

/// One batch item: a frame of the pending buffers, or an object in it
/// (`roi`), aligned by its landmarks when the model wants that.
struct Job {
    index: usize,
    object: Option<u32>,
    region: Option<Region>,
    landmarks: Option<[f32; 10]>,
}

/// An object's 5 landmarks (x, y pairs), if a detector left them.
fn landmarks_of(object: &slate_meta::Object) -> Option<[f32; 10]> {
    match object.fields.get("landmarks") {
        Some(slate_meta::Value::FloatList(points)) if points.len() == 10 => {
            let points: Vec<f32> = points.iter().map(|p| *p as f32).collect();
            points.try_into().ok()
        }
        _ => None,
    }
}

impl OnnxInfer {
    /// Infers the waiting frames in one batch and returns them, in order,
    /// with their results.
    pub(super) fn run_pending(&self, state: &mut State) -> Result<Vec<gst::Buffer>, gst::FlowError> {
        let Media::Video {
            info,
            format,
            input,
            spec,
        } = &state.media
        else {
            return Err(gst::FlowError::NotNegotiated);
        };
        let settings = self.settings.lock().unwrap().clone();
        let pending = std::mem::take(&mut state.pending);
        // What to run: on which pending buffer, which object (roi), where.
        let mut jobs: Vec<Job> = Vec::new();
        for (index, (buffer, inferred)) in pending.iter().enumerate() {
            if !inferred {
                continue;
            }
            match &settings.roi {
                None => jobs.push(Job {
                    index,
                    object: None,
                    region: None,
                    landmarks: None,
                }),
                Some(label) => {
                    for object in SlateMeta::record_of(buffer)
                        .objects()
                        .iter()
                        .filter(|o| &o.label == label)
                    {
                        let Some(b) = object.bbox else { continue };
                        jobs.push(Job {
                            index,
                            object: Some(object.id),
                            region: Some(Region {
                                x: b.x,
                                y: b.y,
                                w: b.w,
                                h: b.h,
                            }),
                            landmarks: spec.align.and_then(|_| landmarks_of(object)),
                        });
                    }
                }
            }
        }
        let started = Instant::now();
        let items = self.infer(state, &pending, &jobs, info, *format, input, spec, &settings)?;
        let per_item_ms = started.elapsed().as_secs_f64() * 1000.0 / jobs.len().max(1) as f64;
        self.inferences.fetch_add(jobs.len() as u64, Ordering::Relaxed);
        let label = state.model.spec.label.clone().unwrap_or_else(|| "object".into());
        let name = state.model.spec.name.clone();
        let mut out = Vec::with_capacity(pending.len());
        for (index, (mut buffer, inferred)) in pending.into_iter().enumerate() {
            let mut record = SlateMeta::record_of(&buffer);
            if inferred {
                let mine: Vec<&(Option<u32>, Item)> = jobs
                    .iter()
                    .zip(&items)
                    .filter(|(job, _)| job.index == index)
                    .map(|(_, item)| item)
                    .collect();
                for (on, item) in &mine {
                    results::write(&mut record, item, *on, &name, &label);
                }
                if settings.roi.is_none() {
                    state.last = mine.into_iter().map(|(_, item)| item.clone()).collect();
                }
                record.set("onnx.ms", per_item_ms);
            } else {
                for item in &state.last {
                    results::write(&mut record, item, None, &name, &label);
                }
                record.set("onnx.carried", true);
            }
            SlateMeta::set(buffer.make_mut(), record);
            out.push(buffer);
        }
        Ok(out)
    }

    /// Runs the jobs: in one batch when their inputs have the same size,
    /// else one by one.
    #[allow(clippy::too_many_arguments)]
    fn infer(
        &self,
        state: &State,
        pending: &[(gst::Buffer, bool)],
        jobs: &[Job],
        info: &gst_video::VideoInfo,
        format: PixelFormat,
        input: &str,
        spec: &InputSpec,
        settings: &Settings,
    ) -> Result<Vec<(Option<u32>, Item)>, gst::FlowError> {
        let sizes: Vec<(u32, u32)> = jobs
            .iter()
            .map(|job| match job.region {
                Some(r) => preprocess::input_size(spec, r.w.round().max(1.0) as u32, r.h.round().max(1.0) as u32),
                None => preprocess::input_size(spec, info.width(), info.height()),
            })
            .collect();
        let mut items = Vec::with_capacity(jobs.len());
        let mut start = 0;
        while start < jobs.len() {
            let size = sizes[start];
            let end = (start..jobs.len()).find(|&i| sizes[i] != size).unwrap_or(jobs.len());
            let group = &jobs[start..end];
            let one = preprocess::input_len(spec, size.0, size.1);
            let mut tensor = vec![0.0f32; one * group.len()];
            let mut placements: Vec<Placement> = Vec::with_capacity(group.len());
            for (job, slot) in group.iter().zip(tensor.chunks_mut(one)) {
                let buffer = &pending[job.index].0;
                let frame =
                    gst_video::VideoFrameRef::from_buffer_ref_readable(buffer.as_ref(), info).map_err(|_| {
                        gst::element_imp_error!(self, gst::StreamError::Format, ("Cannot map a video frame"));
                        gst::FlowError::Error
                    })?;
                let view = Frame {
                    data: frame.plane_data(0).map_err(|_| gst::FlowError::Error)?,
                    format,
                    width: info.width(),
                    height: info.height(),
                    stride: frame.plane_stride()[0] as usize,
                };
                placements.push(match &job.landmarks {
                    Some(landmarks) => {
                        preprocess::fill_aligned(&view, landmarks, spec, size, slot);
                        // Nothing maps back from an aligned face.
                        Placement {
                            origin_x: 0.0,
                            origin_y: 0.0,
                            scale_x: 1.0,
                            scale_y: 1.0,
                            width: size.0,
                            height: size.1,
                        }
                    }
                    None => preprocess::fill(&view, job.region, spec, size, slot),
                });
            }
            let channels = spec.colour.channels() as i64;
            let shape: [i64; 4] = match spec.layout {
                slate_onnx::manifest::Layout::Nchw => [group.len() as i64, channels, size.1 as i64, size.0 as i64],
                slate_onnx::manifest::Layout::Nhwc => [group.len() as i64, size.1 as i64, size.0 as i64, channels],
            };
            let bytes: Vec<u8>;
            let data = match spec.dtype {
                DType::F32 => ViewData::F32(&tensor),
                DType::U8 => {
                    bytes = tensor.iter().map(|v| v.round().clamp(0.0, 255.0) as u8).collect();
                    ViewData::U8(&bytes)
                }
            };
            let post = state.model.spec.postprocess;
            // Batch item `item` of `n` in `outputs`, for the job at `job`.
            let decode = |outputs: &[(&str, TensorView<'_>)], item: usize, n: usize, job: usize| {
                results::decode(
                    outputs,
                    item,
                    n,
                    post,
                    &placements[job],
                    settings.threshold as f32,
                    settings.output_tensors,
                )
            };
            let decoded = if settings.pooled() && spec.dtype == DType::F32 {
                self.infer_pooled(state, input, &shape[1..], &tensor, one, settings, decode)
            } else {
                state
                    .model
                    .run(&[(input, TensorView { shape: &shape, data })], |outputs| {
                        (0..group.len())
                            .map(|i| decode(outputs, i, group.len(), i))
                            .collect::<Result<Vec<Item>, String>>()
                    })
                    .map_err(|e| e.to_string())
                    .and_then(|r| r)
            }
            .map_err(|why| {
                gst::element_imp_error!(self, gst::LibraryError::Failed, ("Inference failed: {why}"));
                gst::FlowError::Error
            })?;
            items.extend(group.iter().map(|job| job.object).zip(decoded));
            start = end;
        }
        Ok(items)
    }

    /// Hands the items to the session's pool, where they share batches with
    /// the other elements of the same `session-id`, and decodes each.
    #[allow(clippy::too_many_arguments)]
    fn infer_pooled(
        &self,
        state: &State,
        input: &str,
        item_shape: &[i64],
        tensor: &[f32],
        one: usize,
        settings: &Settings,
        decode: impl Fn(&[(&str, TensorView<'_>)], usize, usize, usize) -> Result<Item, String>,
    ) -> Result<Vec<Item>, String> {
        let items = tensor
            .chunks(one)
            .map(|data| (item_shape.to_vec(), data.to_vec()))
            .collect();
        let wait = std::time::Duration::from_millis(settings.batch_timeout_ms as u64);
        state
            .model
            .run_pooled(input, items, settings.batch_size as usize, wait)
            .into_iter()
            .enumerate()
            .map(|(i, outputs)| {
                let outputs = outputs.map_err(|e| e.to_string())?;
                let views: Vec<(&str, TensorView<'_>)> = outputs
                    .iter()
                    .map(|(name, shape, values)| {
                        (
                            name.as_str(),
                            TensorView {
                                shape,
                                data: ViewData::F32(values),
                            },
                        )
                    })
                    .collect();
                // The outputs are this item's alone: item 0 of 1.
                decode(&views, 0, 1, i)
            })
            .collect()
    }
}
