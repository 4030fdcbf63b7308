#!/usr/bin/env python3
"""Makes `colour-layout.onnx`: an image signature, not a learned embedding.

    python3 models/make_colour_layout.py OUT.onnx

Input `image` (float32, N x 3 x 64 x 64, RGB in 0..1; the host scales any
frame or region to 64x64); output `layout` (N x 192): the mean colour of
each cell of an 8x8 grid, centred on the image's mean colour, in the spirit
of MPEG-7's Colour Layout descriptor. L2-normalised by the host, two
signatures' dot product says how alike two frames look: the same shot
under a small camera move scores high, a cut to another set low. Used
where no learned image embedding can be had from the package registries.
"""

import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def build() -> onnx.ModelProto:
    axes = numpy_helper.from_array(np.array([1], dtype=np.int64), "axes")
    nodes = [
        helper.make_node("AveragePool", ["image"], ["cells"], kernel_shape=[8, 8], strides=[8, 8], name="grid"),
        helper.make_node("Flatten", ["cells"], ["flat"], axis=1, name="flatten"),
        helper.make_node("ReduceMean", ["flat", "axes"], ["mean"], keepdims=1, name="mean"),
        helper.make_node("Sub", ["flat", "mean"], ["layout"], name="centre"),
    ]
    graph = helper.make_graph(
        nodes,
        "slate-colour-layout",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["batch", 3, 64, 64])],
        [helper.make_tensor_value_info("layout", TensorProto.FLOAT, ["batch", 192])],
        initializer=[axes],
    )
    model = helper.make_model(graph, producer_name="slate", opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: make_colour_layout.py OUT.onnx")
    onnx.save(build(), sys.argv[1])
