//! Reference faces from photos, for registration over HTTP: the face models
//! start with the first photo and serve every request after it, embedding
//! each face as `consentgate` will when it checks frames.

use std::sync::{Arc, Mutex};

use axum::http::StatusCode;
use slate_onnx::OnnxError;
use slate_onnx::faces::{FaceFinder, Photo};

use crate::ApiError;

#[derive(Default)]
pub(crate) struct Faces {
    finder: Mutex<Option<Arc<FaceFinder>>>,
}

impl Faces {
    /// The embedding of the one face in each photo (`source`, bytes); a
    /// photo that is not an image or not of one face is refused by its
    /// index in `photos`.
    pub fn embed(&self, photos: &[(String, Vec<u8>)]) -> Result<Vec<(String, Vec<f32>)>, ApiError> {
        if photos.is_empty() {
            return Ok(Vec::new());
        }
        let finder = self.finder()?;
        let mut embeddings = Vec::with_capacity(photos.len());
        for (i, (source, bytes)) in photos.iter().enumerate() {
            let refused = |e: OnnxError| match e {
                OnnxError::Photo { .. } => ApiError::bad(&format!("photos[{i}]"), e.to_string()),
                e => ApiError::internal(format!("photos[{i}]: the face models failed: {e}")),
            };
            let photo = Photo::decode(bytes, source).map_err(refused)?;
            embeddings.push((source.clone(), finder.photo_embedding(&photo).map_err(refused)?));
        }
        Ok(embeddings)
    }

    fn finder(&self) -> Result<Arc<FaceFinder>, ApiError> {
        let mut slot = self.finder.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(finder) = &*slot {
            return Ok(finder.clone());
        }
        let finder = Arc::new(FaceFinder::standard().map_err(|e| {
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                Some("photos"),
                format!("the face models cannot start on this server ({e}); send `embeddings` instead"),
            )
        })?);
        *slot = Some(finder.clone());
        Ok(finder)
    }
}
