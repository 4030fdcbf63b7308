#!/usr/bin/env python3
"""Makes `grade.onnx`: a per-pixel colour grade for tests and benchmarks.

    python3 models/make_grade.py OUT.onnx

Input `image` (float32, N x 3 x H x W, RGB in 0..1); output `graded`, the
same shape: a 3x3 colour matrix (a warm grade: more red, less blue) plus a
lift, clipped to 0..1. One 1x1 convolution, so any frame size works. The
bytes are deterministic: models.toml pins their SHA-256.
"""

import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

MATRIX = np.array(
    [
        [1.10, 0.05, 0.00],
        [0.02, 1.00, 0.02],
        [0.00, 0.05, 0.85],
    ],
    dtype=np.float32,
)
LIFT = np.array([0.02, 0.01, 0.00], dtype=np.float32)


def build() -> onnx.ModelProto:
    weights = numpy_helper.from_array(MATRIX.reshape(3, 3, 1, 1), "matrix")
    lift = numpy_helper.from_array(LIFT, "lift")
    low = numpy_helper.from_array(np.array(0.0, dtype=np.float32), "low")
    high = numpy_helper.from_array(np.array(1.0, dtype=np.float32), "high")
    nodes = [
        helper.make_node("Conv", ["image", "matrix", "lift"], ["mixed"], name="grade"),
        helper.make_node("Clip", ["mixed", "low", "high"], ["graded"], name="clip"),
    ]
    shape = ["batch", 3, "height", "width"]
    graph = helper.make_graph(
        nodes,
        "slate-grade",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, shape)],
        [helper.make_tensor_value_info("graded", TensorProto.FLOAT, shape)],
        initializer=[weights, lift, low, high],
    )
    model = helper.make_model(graph, producer_name="slate", opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: make_grade.py OUT.onnx")
    onnx.save(build(), sys.argv[1])
