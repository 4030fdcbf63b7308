//! Faces in a frame and who they look like: a detector (CenterFace) finds
//! them with their 5 landmarks, a recogniser embeds each one aligned onto
//! the ArcFace template. The same preprocessing as `onnxinfer` with
//! `roi=face`, so embeddings made either way compare. A person registers
//! from a [`Photo`] through the same finder `consentgate` checks frames
//! with, so both give one embedding for one face.

use std::sync::Arc;

use crate::error::OnnxError;
use crate::manifest::{InputSpec, Layout};
use crate::postprocess::{self, Detection};
use crate::preprocess::{self, Frame, PixelFormat};
use crate::session::{Model, Options, open};
use crate::tensor::{TensorView, ViewData};

/// The face detector registration and `consentgate` use unless told
/// otherwise (a model of models/models.toml).
pub const DETECTOR: &str = "centerface";
/// The face recogniser they use unless told otherwise.
pub const RECOGNISER: &str = "face-embed";

/// A face: where it is, and its unit-length embedding.
#[derive(Debug, Clone, PartialEq)]
pub struct Face {
    pub detection: Detection,
    pub embedding: Vec<f32>,
}

/// A detector and a recogniser, opened once.
#[derive(Debug)]
pub struct FaceFinder {
    detector: Arc<Model>,
    detector_input: (String, InputSpec),
    recogniser: Arc<Model>,
    recogniser_input: (String, InputSpec),
    /// The smallest detector score that counts as a face.
    pub threshold: f32,
}

impl FaceFinder {
    /// Opens `detector` and `recogniser` (models.toml names or files) with
    /// the provider, threads and session id of `options` (its `model` is
    /// ignored; session ids get `-detect` / `-embed` appended). The two take
    /// turns, so their threads do not spin between runs.
    pub fn open(detector: &str, recogniser: &str, options: &Options) -> Result<FaceFinder, OnnxError> {
        let with = |model: &str, suffix: &str| Options {
            model: model.to_owned(),
            session_id: options.session_id.as_ref().map(|id| format!("{id}-{suffix}")),
            spin: false,
            ..options.clone()
        };
        let detector = open(&with(detector, "detect"))?;
        let recogniser = open(&with(recogniser, "embed"))?;
        let detector_input = detector.image_input()?;
        let recogniser_input = recogniser.image_input()?;
        Ok(FaceFinder {
            detector,
            detector_input,
            recogniser,
            recogniser_input,
            threshold: 0.5,
        })
    }

    /// The default detector and recogniser, as registration uses them.
    pub fn standard() -> Result<FaceFinder, OnnxError> {
        FaceFinder::open(DETECTOR, RECOGNISER, &Options::new(DETECTOR))
    }

    /// The detector and recogniser, for their names and providers.
    pub fn models(&self) -> [&Arc<Model>; 2] {
        [&self.detector, &self.recogniser]
    }

    /// Faces of `frame`, best first.
    pub fn detect(&self, frame: &Frame<'_>) -> Result<Vec<Detection>, OnnxError> {
        let (input, spec) = &self.detector_input;
        let size = preprocess::input_size(spec, frame.width, frame.height);
        let mut tensor = vec![0.0f32; preprocess::input_len(spec, size.0, size.1)];
        let placement = preprocess::fill(frame, None, spec, size, &mut tensor);
        let shape = shape(spec, 1, size);
        let view = TensorView {
            shape: &shape,
            data: ViewData::F32(&tensor),
        };
        let threshold = self.threshold;
        self.detector
            .run(&[(input, view)], |outputs| {
                postprocess::decode_centerface(outputs, 0, &placement, threshold)
            })?
            .map_err(|why| OnnxError::Run {
                model: self.detector.spec.name.clone(),
                why,
            })
    }

    /// The embeddings of the faces `found` in `frame`: in one batch, or
    /// in batches of the size the model is fixed to.
    pub fn embed(&self, frame: &Frame<'_>, found: &[Detection]) -> Result<Vec<Vec<f32>>, OnnxError> {
        let (input, _) = &self.recogniser_input;
        let fixed = self
            .recogniser
            .inputs
            .iter()
            .find(|p| &p.name == input)
            .and_then(|p| p.shape.first())
            .filter(|&&n| n > 0)
            .map_or(found.len(), |&n| n as usize);
        let mut embeddings = Vec::with_capacity(found.len());
        for batch in found.chunks(fixed.max(1)) {
            embeddings.extend(self.embed_batch(frame, batch)?);
        }
        Ok(embeddings)
    }

    fn embed_batch(&self, frame: &Frame<'_>, found: &[Detection]) -> Result<Vec<Vec<f32>>, OnnxError> {
        let (input, spec) = &self.recogniser_input;
        let size = preprocess::input_size(spec, 112, 112);
        let one = preprocess::input_len(spec, size.0, size.1);
        let mut tensor = vec![0.0f32; one * found.len()];
        for (face, slot) in found.iter().zip(tensor.chunks_mut(one)) {
            match <&[f32; 10]>::try_from(face.landmarks.as_slice()) {
                Ok(landmarks) => preprocess::fill_aligned(frame, landmarks, spec, size, slot),
                Err(_) => {
                    let region = preprocess::Region {
                        x: face.x,
                        y: face.y,
                        w: face.w,
                        h: face.h,
                    };
                    preprocess::fill(frame, Some(region), spec, size, slot);
                }
            }
        }
        let shape = shape(spec, found.len(), size);
        let view = TensorView {
            shape: &shape,
            data: ViewData::F32(&tensor),
        };
        let model = &self.recogniser.spec.name;
        self.recogniser
            .run(&[(input, view)], |outputs| {
                let (_, first) = outputs.first().ok_or("the recogniser has no output")?;
                let ViewData::F32(values) = first.data else {
                    return Err("the recogniser's output is not float32");
                };
                let width = values.len() / found.len();
                Ok(values
                    .chunks_exact(width.max(1))
                    .map(|row| {
                        let mut vector = row.to_vec();
                        postprocess::l2_normalise(&mut vector);
                        vector
                    })
                    .collect())
            })?
            .map_err(|why| OnnxError::Run {
                model: model.clone(),
                why: why.into(),
            })
    }

    /// Faces of `frame` with their embeddings.
    pub fn find(&self, frame: &Frame<'_>) -> Result<Vec<Face>, OnnxError> {
        let found = self.detect(frame)?;
        let embeddings = self.embed(frame, &found)?;
        Ok(found
            .into_iter()
            .zip(embeddings)
            .map(|(detection, embedding)| Face { detection, embedding })
            .collect())
    }
}

/// A photo decoded to RGB: JPEG, PNG or PNM (PPM, PGM), and what names it
/// in errors.
#[derive(Debug, Clone)]
pub struct Photo {
    source: String,
    rgb: Vec<u8>,
    width: u32,
    height: u32,
}

impl Photo {
    /// Decodes `bytes`; `source` (a file name, an upload's field) names the
    /// photo in errors.
    pub fn decode(bytes: &[u8], source: &str) -> Result<Photo, OnnxError> {
        let image = image::load_from_memory(bytes).map_err(|e| OnnxError::Photo {
            photo: source.to_owned(),
            why: format!("cannot read it as a JPEG, PNG or PNM image: {e}"),
        })?;
        let rgb = image.into_rgb8();
        Ok(Photo {
            source: source.to_owned(),
            width: rgb.width(),
            height: rgb.height(),
            rgb: rgb.into_raw(),
        })
    }

    /// Reads and decodes the photo at `path`.
    pub fn open(path: &std::path::Path) -> Result<Photo, OnnxError> {
        let source = path.display().to_string();
        let bytes = std::fs::read(path).map_err(|e| OnnxError::Photo {
            photo: source.clone(),
            why: e.to_string(),
        })?;
        Photo::decode(&bytes, &source)
    }

    pub fn frame(&self) -> Frame<'_> {
        Frame {
            data: &self.rgb,
            format: PixelFormat::Rgb,
            width: self.width,
            height: self.height,
            stride: self.width as usize * 3,
        }
    }
}

impl FaceFinder {
    /// The embedding of the one face in `photo`: a reference for the
    /// consent registry.
    pub fn photo_embedding(&self, photo: &Photo) -> Result<Vec<f32>, OnnxError> {
        let mut faces = self.find(&photo.frame())?;
        match faces.len() {
            1 => Ok(faces.remove(0).embedding),
            n => Err(OnnxError::Photo {
                photo: photo.source.clone(),
                why: format!("found {n} faces; use a photo with exactly one face"),
            }),
        }
    }
}

fn shape(spec: &InputSpec, batch: usize, (width, height): (u32, u32)) -> [i64; 4] {
    let channels = spec.colour.channels() as i64;
    match spec.layout {
        Layout::Nchw => [batch as i64, channels, height as i64, width as i64],
        Layout::Nhwc => [batch as i64, height as i64, width as i64, channels],
    }
}
