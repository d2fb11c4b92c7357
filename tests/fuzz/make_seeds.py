#!/usr/bin/env python3
"""Seed corpora for the fuzz targets (docs/fuzzing.md). Not committed: run

    make_seeds.py OUT_DIR

to get OUT_DIR/model, OUT_DIR/tensor and OUT_DIR/image:

  model   the shipped models (models/*.onnx), ONNX's node-test models for the
          operators semseg-onnx runs, plus small
          segmentation-shaped graphs written here with onnx.helper (conv/BN/relu
          stacks, the Shape->Gather->Concat->Resize chain PyTorch exports, a
          model whose weights live in external data 'weights.bin', which the
          model harness provides)
  tensor  the node tests' input_K.pb / output_K.pb, and .npy files of every dtype
  image   PNGs of every colour type and bit depth, baseline/progressive/gray/CMYK
          JPEGs, all tiny
"""
import io
import os
import shutil
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

# Operator-name prefixes of the node tests worth seeding with (the ops the
# runtime implements; see docs/operators.md).
OPS = ("conv", "convtranspose", "resize", "upsample", "maxpool", "averagepool", "globalaveragepool",
       "globalmaxpool", "batchnorm", "relu", "leakyrelu", "prelu", "sigmoid", "hardsigmoid",
       "hardswish", "clip", "tanh", "add", "sub", "mul", "div", "concat", "split", "softmax",
       "logsoftmax", "argmax", "transpose", "reshape", "flatten", "squeeze", "unsqueeze", "slice",
       "gather", "shape", "cast", "constant", "constantofshape", "expand", "pad", "reducemean",
       "matmul", "gemm", "identity", "dropout")
MAX_SEED_BYTES = 64 * 1024


def node_test_dirs():
    root = os.path.join(os.path.dirname(onnx.__file__), "backend", "test", "data", "node")
    for name in sorted(os.listdir(root)):
        op = name[len("test_"):].split("_")[0]
        if op in OPS:
            yield name, os.path.join(root, name)


def copy_small(src, dst):
    if os.path.getsize(src) <= MAX_SEED_BYTES:
        shutil.copyfile(src, dst)


def tiny_models():
    """Graphs shaped like the seed networks, small enough to fold quickly."""
    rng = np.random.default_rng(0)
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, "H", "W"])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)

    def w(name, *shape):
        return numpy_helper.from_array(rng.standard_normal(shape).astype(np.float32), name)

    # conv -> BN -> relu -> 1x1 conv -> resize back to the input size
    nodes = [
        helper.make_node("Conv", ["x", "w1", "b1"], ["c1"], pads=[1, 1, 1, 1], kernel_shape=[3, 3]),
        helper.make_node("BatchNormalization", ["c1", "g", "be", "m", "v"], ["bn"]),
        helper.make_node("Relu", ["bn"], ["r"]),
        helper.make_node("MaxPool", ["r"], ["p"], kernel_shape=[2, 2], strides=[2, 2], ceil_mode=1),
        helper.make_node("Conv", ["p", "w2"], ["c2"], kernel_shape=[1, 1]),
        helper.make_node("Shape", ["x"], ["sx"]),
        helper.make_node("Slice", ["sx", "st", "en"], ["hw"]),
        helper.make_node("Concat", ["nc", "hw"], ["sizes"], axis=0),
        helper.make_node("Resize", ["c2", "", "", "sizes"], ["y"], mode="linear"),
    ]
    inits = [w("w1", 4, 3, 3, 3), w("b1", 4), w("g", 4), w("be", 4), w("m", 4),
             numpy_helper.from_array(np.abs(rng.standard_normal(4)).astype(np.float32) + 0.5, "v"),
             w("w2", 5, 4, 1, 1),
             numpy_helper.from_array(np.array([2], np.int64), "st"),
             numpy_helper.from_array(np.array([4], np.int64), "en"),
             numpy_helper.from_array(np.array([1, 5], np.int64), "nc")]
    g = helper.make_graph(nodes, "seg", [x], [y], inits)
    yield "seg_small", helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])

    # residual block with Add + Clip (fusion proposals), static input
    xs = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2, 6, 6])
    nodes = [
        helper.make_node("Conv", ["x", "wa"], ["a"], pads=[1, 1, 1, 1]),
        helper.make_node("Add", ["a", "x"], ["s"]),
        helper.make_node("Clip", ["s", "lo", "hi"], ["c"]),
        helper.make_node("ConvTranspose", ["c", "wt"], ["u"], strides=[2, 2]),
        helper.make_node("Softmax", ["u"], ["sm"], axis=1),
        helper.make_node("ArgMax", ["sm"], ["y"], axis=1, keepdims=0),
    ]
    inits = [w("wa", 2, 2, 3, 3), w("wt", 2, 3, 2, 2),
             numpy_helper.from_array(np.array(0, np.float32), "lo"),
             numpy_helper.from_array(np.array(6, np.float32), "hi")]
    g = helper.make_graph(nodes, "res", [xs], [helper.make_tensor_value_info("y", TensorProto.INT64, None)], inits)
    yield "residual_static", helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])

    # weights in external data: the model harness's folder holds weights.bin
    t = TensorProto(name="we", data_type=TensorProto.FLOAT, dims=[4, 3, 1, 1])
    t.data_location = TensorProto.EXTERNAL
    for k, v in (("location", "weights.bin"), ("offset", "64"), ("length", "48")):
        e = t.external_data.add()
        e.key, e.value = k, v
    g = helper.make_graph([helper.make_node("Conv", ["x", "we"], ["y"])], "ext", [x], [y], [t])
    yield "external", helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])

    # the custom domain: adaptive pooling (PSPNet)
    g = helper.make_graph([helper.make_node("AdaptiveAvgPool2d", ["x"], ["y"], domain="ai.semseg",
                                            output_size=[2, 3])], "psp", [x], [y])
    yield "semseg_domain", helper.make_model(g, opset_imports=[helper.make_opsetid("", 13),
                                                               helper.make_opsetid("ai.semseg", 1)])


def make_models(out):
    os.makedirs(out, exist_ok=True)
    for name, d in node_test_dirs():
        copy_small(os.path.join(d, "model.onnx"), os.path.join(out, name + ".onnx"))
    for name, m in tiny_models():
        with open(os.path.join(out, name + ".onnx"), "wb") as f:
            f.write(m.SerializeToString())
    # the shipped seed networks (1-1.3 MB each; libFuzzer raises -max_len to fit them)
    shipped = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "models")
    for f in sorted(os.listdir(shipped)):
        if f.endswith(".onnx"):
            shutil.copyfile(os.path.join(shipped, f), os.path.join(out, "shipped_" + f))


def make_tensors(out):
    os.makedirs(out, exist_ok=True)
    count = 0
    for name, d in node_test_dirs():
        data = os.path.join(d, "test_data_set_0")
        if not os.path.isdir(data) or count >= 300:
            continue
        for f in sorted(os.listdir(data)):
            copy_small(os.path.join(data, f), os.path.join(out, f"{name}_{f}"))
            count += 1
    rng = np.random.default_rng(1)
    for dt in ("<f4", "<f8", "<f2", "<i8", "<i4", "<i2", "|i1", "<u8", "<u4", "<u2", "|u1", "|b1"):
        a = (rng.standard_normal((2, 3, 4)) * 10).astype(np.dtype(dt))
        np.save(os.path.join(out, f"arr_{dt[1:]}.npy"), a)
    np.save(os.path.join(out, "scalar.npy"), np.float32(1.5))
    np.save(os.path.join(out, "empty.npy"), np.zeros((0, 3), np.float32))
    with open(os.path.join(out, "v2.npy"), "wb") as f:
        np.lib.format.write_array(f, np.arange(6, dtype=np.int32).reshape(2, 3), version=(2, 0))
    with open(os.path.join(out, "typed.pb"), "wb") as f:
        f.write(helper.make_tensor("t", TensorProto.INT32, [2, 2], [1, 2, 3, 4]).SerializeToString())
    with open(os.path.join(out, "f16.pb"), "wb") as f:
        f.write(numpy_helper.from_array(np.ones((2, 2), np.float16), "h").SerializeToString())


def make_images(out):
    from PIL import Image
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(2)
    rgb = Image.fromarray(rng.integers(0, 256, (9, 13, 3), dtype=np.uint8), "RGB")
    rgb.save(os.path.join(out, "rgb.png"))
    rgb.convert("L").save(os.path.join(out, "gray.png"))
    rgb.convert("LA").save(os.path.join(out, "gray_alpha.png"))
    rgb.convert("RGBA").save(os.path.join(out, "rgba.png"))
    rgb.convert("P").save(os.path.join(out, "palette.png"))
    rgb.convert("1").save(os.path.join(out, "bilevel.png"))
    rgb.save(os.path.join(out, "interlaced.png"), interlace=1)
    Image.fromarray(rng.integers(0, 65536, (5, 7), dtype=np.uint16)).save(os.path.join(out, "deep16.png"))
    rgb.save(os.path.join(out, "baseline.jpg"), quality=80)
    rgb.save(os.path.join(out, "progressive.jpg"), quality=80, progressive=True)
    rgb.convert("L").save(os.path.join(out, "gray.jpg"))
    rgb.convert("CMYK").save(os.path.join(out, "cmyk.jpg"))
    rgb.save(os.path.join(out, "subsampled.jpg"), subsampling=2)


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: make_seeds.py OUT_DIR")
    out = sys.argv[1]
    make_models(os.path.join(out, "model"))
    make_tensors(os.path.join(out, "tensor"))
    make_images(os.path.join(out, "image"))
    for k in ("model", "tensor", "image"):
        d = os.path.join(out, k)
        print(f"{d}: {len(os.listdir(d))} seeds")


if __name__ == "__main__":
    main()
