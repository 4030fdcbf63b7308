//! What a pipeline looks like from outside: its elements and links (for
//! the operator page to draw), GStreamer's own dot graph, and the files it
//! writes.

use std::path::PathBuf;

use gst::prelude::*;
use serde::Serialize;

/// The running graph: top-level elements and the links between them.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Graph {
    pub nodes: Vec<Node>,
    pub links: Vec<Link>,
    /// GStreamer's graph in Graphviz form (`debug_bin_to_dot_data`).
    pub dot: String,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Node {
    pub name: String,
    pub factory: String,
    /// GStreamer's state of the element: NULL, READY, PAUSED or PLAYING.
    pub state: String,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Link {
    pub from: String,
    pub to: String,
    /// The media type flowing, once negotiated (e.g. `video/x-raw`).
    pub media: Option<String>,
}

/// The graph of `pipeline` now.
pub fn graph(pipeline: &gst::Pipeline) -> Graph {
    let children = pipeline.children();
    let mut nodes = Vec::new();
    let mut links = Vec::new();
    for element in children.iter().rev() {
        nodes.push(Node {
            name: element.name().to_string(),
            factory: element.factory().map(|f| f.name().to_string()).unwrap_or_default(),
            state: format!("{:?}", element.current_state()).to_uppercase(),
        });
        for pad in element.src_pads() {
            let Some(to) = pad.peer().and_then(|peer| peer.parent_element()) else {
                continue;
            };
            links.push(Link {
                from: element.name().to_string(),
                to: to.name().to_string(),
                media: pad
                    .current_caps()
                    .and_then(|caps| caps.structure(0).map(|s| s.name().to_string())),
            });
        }
    }
    Graph {
        nodes,
        links,
        dot: pipeline.debug_to_dot_data(gst::DebugGraphDetails::all()).to_string(),
    }
}

/// A file or stream a pipeline writes, and its provenance so far.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Output {
    pub element: String,
    /// `file` or `hls` (a playlist).
    pub kind: String,
    pub location: String,
    /// Whether the sink signs with C2PA.
    pub signing: bool,
    /// The file was signed (for `file`), when the pipeline drained.
    pub signed: bool,
    /// HLS segments signed so far.
    pub segments: u64,
}

/// The outputs of `pipeline`: sinks with a `location` (files) or a
/// `playlist-location` (HLS).
pub fn outputs(pipeline: &gst::Pipeline) -> Vec<Output> {
    let mut outputs = Vec::new();
    let mut sinks = pipeline.iterate_sinks();
    while let Ok(Some(sink)) = sinks.next() {
        let factory = sink.factory().map(|f| f.name().to_string()).unwrap_or_default();
        for (property, kind) in [("location", "file"), ("playlist-location", "hls")] {
            let is_text = sink
                .find_property(property)
                .is_some_and(|p| p.value_type() == gst::glib::Type::STRING);
            if !is_text {
                continue;
            }
            if let Some(location) = sink.property::<Option<String>>(property) {
                outputs.push(Output {
                    element: sink.name().to_string(),
                    kind: kind.to_owned(),
                    location,
                    signing: factory.starts_with("c2pa"),
                    signed: false,
                    segments: 0,
                });
            }
        }
    }
    outputs.sort_by(|a, b| a.element.cmp(&b.element));
    outputs
}

/// Where the first HLS output's playlist is: the live preview.
pub fn preview(outputs: &[Output]) -> Option<PathBuf> {
    outputs
        .iter()
        .find(|o| o.kind == "hls")
        .map(|o| PathBuf::from(&o.location))
}
