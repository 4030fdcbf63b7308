//! Item embeddings, for items published without one: MiniLM's sentence
//! embedding of the title and tags, joined to the mean `colour-layout`
//! signature of the item's clip as `onnxinfer` computes it in any pipeline
//! (zeros without a clip); each half of unit length, so every item of a
//! catalogue has the same [`ITEM_EMBEDDING`] numbers.

use std::path::Path;

use gst::prelude::*;

use slate_onnx::postprocess::l2_normalise;
use slate_onnx::text::TextEmbedder;

use crate::error::FeedError;

/// The `colour-layout` model's length: 8 x 8 cells x RGB.
pub const CLIP_EMBEDDING: usize = 192;
/// MiniLM's 384, then the clip's 192.
pub const ITEM_EMBEDDING: usize = 384 + CLIP_EMBEDDING;

/// Embeds items; the text model starts with the first item.
#[derive(Default)]
pub struct ItemEmbedder {
    text: Option<TextEmbedder>,
}

impl ItemEmbedder {
    /// The embedding of an item with `title`, `tags` and, if any, the clip
    /// `media`. A clip that is missing or does not play is refused as
    /// `media`; a model that does not load is an error of its own.
    pub fn embed(&mut self, title: &str, tags: &[&str], media: Option<&Path>) -> Result<Vec<f32>, FeedError> {
        let text = std::iter::once(title)
            .chain(tags.iter().copied())
            .collect::<Vec<_>>()
            .join(" ");
        let model = match &mut self.text {
            Some(model) => model,
            empty => empty.insert(TextEmbedder::open(None)?),
        };
        let mut embedding = model.embed(&text)?;
        l2_normalise(&mut embedding);
        let mut clip = match media {
            Some(media) => clip_embedding(media)?,
            None => vec![0.0; CLIP_EMBEDDING],
        };
        l2_normalise(&mut clip);
        embedding.extend(clip);
        Ok(embedding)
    }
}

/// The mean `colour-layout` signature of the frames of a clip (or a
/// picture), every 5th frame, through `onnxinfer`.
pub fn clip_embedding(media: &Path) -> Result<Vec<f32>, FeedError> {
    let refused = |why: String| FeedError::invalid("media", format!("{}: {why}", media.display()));
    if !media.is_file() {
        return Err(refused("no such file".into()));
    }
    let line = format!(
        "filesrc location=\"{}\" ! decodebin ! videoconvert ! video/x-raw,format=RGBx \
         ! onnxinfer model=colour-layout interval=5 ! fakesink name=out",
        media.display()
    );
    let pipeline = slate_pipeline::launch(&line).map_err(|e| refused(e.to_string()))?;
    let sink = pipeline.by_name("out").and_then(|sink| sink.static_pad("sink"));
    let collected = gstslate::SlateMeta::collect(&sink.expect("the launch line names its sink"));
    slate_pipeline::run(&pipeline, slate_pipeline::RunOptions::default())
        .map_err(|e| refused(format!("cannot read it as video: {e}")))?;
    let records = collected.take();
    let mut sum = vec![0.0f64; CLIP_EMBEDDING];
    let mut frames = 0usize;
    for record in &records {
        if let Some(slate_meta::Value::FloatList(vector)) = record.get("colour-layout.embedding")
            && vector.len() == CLIP_EMBEDDING
        {
            sum.iter_mut().zip(vector).for_each(|(s, v)| *s += v);
            frames += 1;
        }
    }
    if frames == 0 {
        return Err(refused("no video frames".into()));
    }
    Ok(sum.iter().map(|s| (s / frames as f64) as f32).collect())
}
