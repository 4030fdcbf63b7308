//! Elements that name one `session-id` share one loaded model. Alone in
//! its test binary: it counts loads in the process.

mod common;

use common::{pipeline, play_to_eos};
use gst::prelude::*;

#[test]
fn two_elements_with_one_session_id_load_the_model_once() {
    let p = pipeline(
        "videotestsrc num-buffers=5 ! video/x-raw,format=RGB,width=16,height=16 ! tee name=t \
         t. ! queue ! onnxinfer name=a model=grade session-id=shared ! fakesink \
         t. ! queue ! onnxinfer name=b model=grade session-id=shared ! fakesink",
    );
    let before = slate_onnx::loads();
    play_to_eos(&p, |_| {});
    assert_eq!(slate_onnx::loads() - before, 1);
    for name in ["a", "b"] {
        assert_eq!(p.by_name(name).unwrap().property::<u64>("inferences"), 5);
    }
    // Without the id each loads its own.
    let p = pipeline(
        "videotestsrc num-buffers=1 ! video/x-raw,format=RGB,width=16,height=16 ! tee name=t \
         t. ! queue ! onnxinfer model=grade ! fakesink t. ! queue ! onnxinfer model=grade ! fakesink",
    );
    let before = slate_onnx::loads();
    play_to_eos(&p, |_| {});
    assert_eq!(slate_onnx::loads() - before, 2);
}
