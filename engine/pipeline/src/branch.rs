//! Branches of a running pipeline, and restarting one that failed while
//! the rest runs on: what `Element:restart` does for automation scripts
//! and the control plane's restart policy does for `slate serve`.

use gst::prelude::*;

/// The element and the chain feeding it, up to its source: each element
/// upstream with one input and one output belongs to the branch; a tee or
/// a mixer (several pads) is shared with other branches and stays. The
/// element comes first, its source last.
pub fn branch_of(element: &gst::Element) -> Vec<gst::Element> {
    let mut branch = vec![element.clone()];
    let mut at = element.clone();
    while let [input] = at.sink_pads().as_slice()
        && let Some(upstream) = input.peer().and_then(|peer| peer.parent_element())
        && upstream.src_pads().len() == 1
        && upstream.sink_pads().len() <= 1
    {
        branch.push(upstream.clone());
        at = upstream;
    }
    branch
}

/// Every element `element` feeds, directly or not.
fn downstream_of(element: &gst::Element) -> Vec<gst::Element> {
    let mut found: Vec<gst::Element> = Vec::new();
    let mut next = vec![element.clone()];
    while let Some(at) = next.pop() {
        for below in at.src_pads().iter().filter_map(|pad| pad.peer()?.parent_element()) {
            if !found.contains(&below) {
                found.push(below.clone());
                next.push(below);
            }
        }
    }
    found
}

/// The branch as a launch line reads, source first: `cam ! conv ! tag`.
pub fn describe_branch(branch: &[gst::Element]) -> String {
    branch
        .iter()
        .rev()
        .map(|e| e.name().to_string())
        .collect::<Vec<_>>()
        .join(" ! ")
}

/// Restarts the failed branch of `element` (see [`branch_of`]): every
/// element of it back to NULL; a flush downstream of it, which clears the
/// end-of-stream the failure left in the elements after it (sinks
/// included) without resetting their time; then into the pipeline's state
/// again, downstream first so the restarted source pushes into elements
/// that are ready. A flushed sink has lost its state, and a live pipeline
/// does not give it back by itself: the elements downstream are set to the
/// pipeline's state too. Returns the branch restarted.
pub fn restart_branch(element: &gst::Element) -> Result<Vec<gst::Element>, String> {
    let branch = branch_of(element);
    for e in &branch {
        e.set_state(gst::State::Null)
            .map_err(|_| format!("`{}` refused to stop for its restart", e.name()))?;
    }
    for peer in element.src_pads().iter().filter_map(|pad| pad.peer()) {
        peer.send_event(gst::event::FlushStart::new());
        peer.send_event(gst::event::FlushStop::new(false));
    }
    for e in downstream_of(element) {
        e.sync_state_with_parent()
            .map_err(|_| format!("`{}` failed to resume after the restart", e.name()))?;
    }
    for e in &branch {
        e.sync_state_with_parent()
            .map_err(|_| format!("`{}` failed to start again", e.name()))?;
    }
    tracing::info!("restarted {}", describe_branch(&branch));
    Ok(branch)
}
