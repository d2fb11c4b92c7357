"""Builds the unit tests' small models, with expected outputs from ONNX Runtime
(independent of this project; onnx.reference was tried first but its
BatchNormalization disagrees with both ORT and the ONNX spec here), into OUTDIR:

  conv_relu/      Conv(3x3, pad 1)+BatchNormalization+Relu, dynamic H and W,
                  two data sets at different sizes
  residual/       Conv -> Add(residual) -> Clip, the fusion pattern
  external_data/  the same with its weights in weights.bin (external data)
  shape_chain/    PyTorch-style Shape->Gather->Unsqueeze->Concat->Cast->Resize
                  (sizes computed in-graph), dynamic H and W
  hardswish/      Conv -> HardSigmoid(alpha 1/6) -> Mul, twice (both operand
                  orders): the pattern the runtime rewrites into HardSwish
  hardswish_nomatch/  near misses it must leave alone: alpha 0.2, a
                  HardSigmoid output read by a second node, a Mul whose other
                  operand is not the HardSigmoid's input
  unknown_op.onnx a node of op FooBar in domain com.example
  bad_abi plugin source is C (bad_abi_plugin.c), not generated here
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
import onnxruntime as ort

rng = np.random.default_rng(1234)


def save_case(model, outdir, inputs_list, external=False):
    os.makedirs(outdir, exist_ok=True)
    onnx.checker.check_model(model)
    if external:  # weights in a side file, as large exports are saved
        import copy
        onnx.save(copy.deepcopy(model), os.path.join(outdir, "model.onnx"), save_as_external_data=True,
                  all_tensors_to_one_file=True, location="weights.bin", size_threshold=0)
    else:
        onnx.save(model, os.path.join(outdir, "model.onnx"))
    ev = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    for i, feeds in enumerate(inputs_list):
        d = os.path.join(outdir, "test_data_set_%d" % i)
        os.makedirs(d, exist_ok=True)
        names = [x.name for x in model.graph.input]
        for k, n in enumerate(names):
            with open(os.path.join(d, "input_%d.pb" % k), "wb") as f:
                f.write(numpy_helper.from_array(feeds[n], n).SerializeToString())
        outs = ev.run(None, feeds)
        for k, (o, vi) in enumerate(zip(outs, model.graph.output)):
            with open(os.path.join(d, "output_%d.pb" % k), "wb") as f:
                f.write(numpy_helper.from_array(np.asarray(o), vi.name).SerializeToString())


def f32(*shape):
    return rng.standard_normal(shape).astype(np.float32)


def conv_relu(out):
    w = numpy_helper.from_array(f32(8, 3, 3, 3), "w")
    b = numpy_helper.from_array(f32(8), "b")
    scale = numpy_helper.from_array(rng.uniform(0.5, 1.5, 8).astype(np.float32), "g")
    bias = numpy_helper.from_array(f32(8), "beta")
    mean = numpy_helper.from_array(f32(8), "mean")
    var = numpy_helper.from_array(rng.uniform(0.5, 2, 8).astype(np.float32), "var")
    nodes = [
        helper.make_node("Conv", ["x", "w", "b"], ["c"], pads=[1, 1, 1, 1], name="conv"),
        helper.make_node("BatchNormalization", ["c", "g", "beta", "mean", "var"], ["bn"], name="bn"),
        helper.make_node("Relu", ["bn"], ["y"], name="relu"),
    ]
    g = helper.make_graph(nodes, "conv_relu",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, "H", "W"])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 8, "H", "W"])],
                          [w, b, scale, bias, mean, var])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    save_case(m, out, [{"x": f32(1, 3, 9, 7)}, {"x": f32(1, 3, 16, 21)}])


def residual(out, external=False):
    w = numpy_helper.from_array(f32(4, 4, 3, 3), "w")
    nodes = [
        helper.make_node("Conv", ["x", "w"], ["c"], pads=[1, 1, 1, 1], name="conv"),
        helper.make_node("Add", ["c", "x"], ["s"], name="add"),
        helper.make_node("Clip", ["s", "lo", "hi"], ["y"], name="clip"),
    ]
    lo = numpy_helper.from_array(np.array(0.0, np.float32), "lo")
    hi = numpy_helper.from_array(np.array(6.0, np.float32), "hi")
    g = helper.make_graph(nodes, "residual",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 4, 10, 10])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 4, 10, 10])], [w, lo, hi])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    save_case(m, out, [{"x": f32(2, 4, 10, 10) * 3}], external)


def two_convs_one_add(out):
    """Two Convs feed one Add (LR-ASPP's classifier, ASPP sums): only one of
    them may absorb the Add when the backend fuses."""
    w1 = numpy_helper.from_array(f32(6, 3, 3, 3), "w1")
    w2 = numpy_helper.from_array(f32(6, 3, 1, 1), "w2")
    nodes = [
        helper.make_node("Conv", ["x", "w1"], ["a"], pads=[1, 1, 1, 1], name="conv_a"),
        helper.make_node("Conv", ["x", "w2"], ["b"], name="conv_b"),
        helper.make_node("Add", ["a", "b"], ["s"], name="add"),
        helper.make_node("Relu", ["s"], ["y"], name="relu"),
    ]
    g = helper.make_graph(nodes, "two_convs_one_add",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 12, 9])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 6, 12, 9])], [w1, w2])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    save_case(m, out, [{"x": f32(1, 3, 12, 9)}])


def shape_chain(out):
    c = lambda name, arr: helper.make_node("Constant", [], [name], value=numpy_helper.from_array(arr, name))
    nodes = [
        helper.make_node("Shape", ["x"], ["shp"]),
        c("i2", np.array(2, np.int64)), c("i3", np.array(3, np.int64)),
        helper.make_node("Gather", ["shp", "i2"], ["h"], axis=0),
        helper.make_node("Gather", ["shp", "i3"], ["w"], axis=0),
        c("two", np.array(2, np.int64)),
        helper.make_node("Mul", ["h", "two"], ["h2"]),
        helper.make_node("Mul", ["w", "two"], ["w2"]),
        c("ax0", np.array([0], np.int64)),
        helper.make_node("Unsqueeze", ["h2", "ax0"], ["h2u"]),
        helper.make_node("Unsqueeze", ["w2", "ax0"], ["w2u"]),
        c("s0", np.array([0], np.int64)), c("e2", np.array([2], np.int64)),
        helper.make_node("Slice", ["shp", "s0", "e2"], ["nc"]),
        helper.make_node("Concat", ["nc", "h2u", "w2u"], ["sizes_f"], axis=0),
        helper.make_node("Cast", ["sizes_f"], ["sizes"], to=TensorProto.INT64),
        helper.make_node("Resize", ["x", "", "", "sizes"], ["y"], mode="linear",
                         coordinate_transformation_mode="half_pixel"),
    ]
    g = helper.make_graph(nodes, "shape_chain",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2, "H", "W"])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 2, None, None])])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    save_case(m, out, [{"x": f32(1, 2, 5, 6)}, {"x": f32(1, 2, 8, 3)}])


def hard_sigmoid(x, y, alpha, name):
    return helper.make_node("HardSigmoid", [x], [y], alpha=alpha, name=name)


def hardswish(out):
    w1 = numpy_helper.from_array(f32(6, 4, 3, 3), "w1")
    w2 = numpy_helper.from_array(f32(6, 6, 1, 1), "w2")
    b2 = numpy_helper.from_array(f32(6), "b2")
    nodes = [
        helper.make_node("Conv", ["x", "w1"], ["c"], pads=[1, 1, 1, 1], name="conv1"),
        hard_sigmoid("c", "s", 1.0 / 6.0, "hs1"),
        helper.make_node("Mul", ["c", "s"], ["a"], name="mul1"),
        helper.make_node("Conv", ["a", "w2", "b2"], ["d"], name="conv2"),
        hard_sigmoid("d", "t", 1.0 / 6.0, "hs2"),
        helper.make_node("Mul", ["t", "d"], ["y"], name="mul2"),
    ]
    g = helper.make_graph(nodes, "hardswish",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4, 9, 8])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 6, 9, 8])], [w1, w2, b2])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    save_case(m, out, [{"x": f32(1, 4, 9, 8) * 2}])


def hardswish_nomatch(out):
    w1 = numpy_helper.from_array(f32(6, 4, 3, 3), "w1")
    w2 = numpy_helper.from_array(f32(6, 6, 1, 1), "w2")
    nodes = [
        helper.make_node("Conv", ["x", "w1"], ["c"], pads=[1, 1, 1, 1], name="conv1"),
        hard_sigmoid("c", "s", 0.2, "hs_alpha"),
        helper.make_node("Mul", ["c", "s"], ["a"], name="mul_alpha"),
        helper.make_node("Conv", ["a", "w2"], ["d"], name="conv2"),
        hard_sigmoid("d", "t", 1.0 / 6.0, "hs_shared"),
        helper.make_node("Mul", ["d", "t"], ["u"], name="mul_shared"),
        helper.make_node("Add", ["u", "t"], ["v"], name="add_shared"),
        hard_sigmoid("v", "z", 1.0 / 6.0, "hs_other"),
        helper.make_node("Mul", ["a", "z"], ["y"], name="mul_other"),
    ]
    g = helper.make_graph(nodes, "hardswish_nomatch",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4, 9, 8])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 6, 9, 8])], [w1, w2])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    save_case(m, out, [{"x": f32(1, 4, 9, 8) * 2}])


def unknown_op(path):
    nodes = [helper.make_node("FooBar", ["x"], ["y"], domain="com.example", name="mystery")]
    g = helper.make_graph(nodes, "unknown",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3])])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13), helper.make_opsetid("com.example", 3)])
    onnx.save(m, path)


if __name__ == "__main__":
    out = sys.argv[1]
    conv_relu(os.path.join(out, "conv_relu"))
    residual(os.path.join(out, "residual"))
    residual(os.path.join(out, "external_data"), external=True)
    shape_chain(os.path.join(out, "shape_chain"))
    two_convs_one_add(os.path.join(out, "two_convs_one_add"))
    hardswish(os.path.join(out, "hardswish"))
    hardswish_nomatch(os.path.join(out, "hardswish_nomatch"))
    unknown_op(os.path.join(out, "unknown_op.onnx"))
