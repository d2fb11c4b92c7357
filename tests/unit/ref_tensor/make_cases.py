#!/usr/bin/env python3
"""Writes test cases for the ref plugin's tensor and element-wise operators.

Every case is a folder in ONNX's test-data layout (model.onnx +
test_data_set_N/input_K.pb, output_K.pb) that tests/onnx_node/node_runner
runs through the library. Two sources, both independent of the code under
test:

  const  ONNX's shipped node tests (test_reshape_*, test_slice_*, ...) whose
         shape-deciding inputs (Reshape's shape, Slice's starts, Pad's pads,
         ...) are graph inputs there. semseg-onnx infers shapes at load time,
         so those inputs must be constants: these variants turn every int32 /
         int64 graph input after input 0 into an initializer holding the
         test's own values; the expected outputs are ONNX's.
  ort    Cases built here for what ONNX's tests leave out: the older opsets
         (Softmax's 2-D view before 13, attribute forms of Clip, Split,
         Squeeze, Unsqueeze, Slice, Pad, ReduceMean), integer shape
         arithmetic, Cast conversions, PyTorch's Shape->Gather->Unsqueeze->
         Concat->Reshape chains. Expected outputs come from ONNX Runtime, or
         where it lacks the op/dtype from ONNX's reference evaluator
         (folders ort_* and onnxref_*).

Usage: make_cases.py OUTDIR   -> prints one case folder name per line.
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPS = set("""Add Sub Mul Div Relu LeakyRelu PRelu Sigmoid HardSigmoid HardSwish Clip Tanh
Concat Split Softmax LogSoftmax ArgMax Transpose Reshape Flatten Squeeze Unsqueeze Slice
Gather Shape Cast Constant ConstantOfShape Expand Pad ReduceMean Identity Dropout""".split())

NODE_DIR = os.path.join(os.path.dirname(onnx.__file__), "backend", "test", "data", "node")


def save_pb(path, arr, name):
    t = numpy_helper.from_array(np.asarray(arr), name)
    with open(path, "wb") as f:
        f.write(t.SerializeToString())


def write_case(outdir, name, model, inputs, outputs):
    d = os.path.join(outdir, name)
    os.makedirs(os.path.join(d, "test_data_set_0"), exist_ok=True)
    onnx.save(model, os.path.join(d, "model.onnx"))
    for k, (nm, a) in enumerate(inputs):
        save_pb(os.path.join(d, "test_data_set_0", "input_%d.pb" % k), a, nm)
    for k, (nm, a) in enumerate(outputs):
        save_pb(os.path.join(d, "test_data_set_0", "output_%d.pb" % k), a, nm)
    print(name)


# ---- const: ONNX's node tests with shape inputs made constant ----

def const_variants(outdir):
    for test in sorted(os.listdir(NODE_DIR)):
        d = os.path.join(NODE_DIR, test)
        if test.endswith("_expanded") or not os.path.isfile(os.path.join(d, "model.onnx")):
            continue
        m = onnx.load(os.path.join(d, "model.onnx"))
        g = m.graph
        if not g.node or {n.op_type for n in g.node} - OPS:
            continue
        if any(n.domain not in ("", "ai.onnx") for n in g.node):
            continue
        if any(not i.type.HasField("tensor_type") for i in list(g.input) + list(g.output)):
            continue
        ints = [k for k, i in enumerate(g.input) if k > 0 and
                i.type.tensor_type.elem_type in (TensorProto.INT64, TensorProto.INT32)]
        if g.node[0].op_type == "ConstantOfShape":
            ints = [0]
        dropout = g.node[0].op_type == "Dropout"
        if dropout:  # ratio and training_mode decide whether it may run at all
            ints = list(range(1, len(g.input)))
        if not ints:
            continue
        sets = sorted(s for s in os.listdir(d) if s.startswith("test_data_set_"))
        for s in sets:
            ins = []
            for k in range(len(g.input)):
                t = onnx.TensorProto()
                with open(os.path.join(d, s, "input_%d.pb" % k), "rb") as f:
                    t.ParseFromString(f.read())
                ins.append(numpy_helper.to_array(t))
            if dropout and len(ins) > 2 and ins[2] and ins[1] != 0:
                continue  # training with a non-zero ratio: random, not inference
            outs = []
            for k in range(len(g.output)):
                t = onnx.TensorProto()
                with open(os.path.join(d, s, "output_%d.pb" % k), "rb") as f:
                    t.ParseFromString(f.read())
                outs.append((g.output[k].name, numpy_helper.to_array(t)))
            m2 = onnx.ModelProto()
            m2.CopyFrom(m)
            g2 = m2.graph
            keep = [k for k in range(len(g.input)) if k not in ints]
            for k in ints:
                g2.initializer.append(numpy_helper.from_array(ins[k], g.input[k].name))
            del g2.input[:]
            g2.input.extend([g.input[k] for k in keep])
            suffix = "" if len(sets) == 1 else "_" + s[len("test_data_set_"):]
            write_case(outdir, "const_" + test[len("test_"):] + suffix, m2,
                       [(g.input[k].name, ins[k]) for k in keep], outs)


# ---- ort: cases built here, expected outputs from ONNX Runtime ----

def run_ort(model, feeds):
    import onnxruntime as ort
    so = ort.SessionOptions()
    so.log_severity_level = 3
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    sess = ort.InferenceSession(model.SerializeToString(), so, providers=["CPUExecutionProvider"])
    return sess.run(None, feeds)


def vi(name, arr):
    return helper.make_tensor_value_info(name, helper.np_dtype_to_tensor_dtype(arr.dtype),
                                         list(arr.shape))


def case(outdir, name, opset, nodes, inputs, consts=(), n_out=1, out_names=None, use_ort=True):
    """nodes: list of NodeProto; inputs: [(name, array)] graph inputs;
    consts: [(name, array)] initializers; outputs: y0..y{n_out-1} unless named.
    use_ort=False: ONNX's reference evaluator is the oracle."""
    out_names = out_names or ["y%d" % i for i in range(n_out)]
    g = helper.make_graph(nodes, name, [vi(n, a) for n, a in inputs],
                          [helper.make_empty_tensor_value_info(n) for n in out_names],
                          [numpy_helper.from_array(a, n) for n, a in consts])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 7 if opset < 15 else 8
    prefix = "ort_"
    try:
        if not use_ort:
            raise NotImplementedError
        got = run_ort(m, dict(inputs))
    except Exception:  # noqa: BLE001 - ONNX Runtime lacks this op/dtype: use ONNX's own
        from onnx.reference import ReferenceEvaluator
        got = ReferenceEvaluator(m).run(None, dict(inputs))
        prefix = "onnxref_"
    got = [np.asarray(a) for a in got]
    # Declare the outputs' real types so the model is complete.
    del m.graph.output[:]
    m.graph.output.extend([vi(n, np.asarray(a)) for n, a in zip(out_names, got)])
    write_case(outdir, prefix + name, m, inputs, list(zip(out_names, got)))


def node(op, ins, outs=None, **attrs):
    return helper.make_node(op, ins, outs or ["y0"], **attrs)


def ort_cases(outdir):
    rng = np.random.default_rng(1234)

    def f32(*shape):
        return rng.standard_normal(shape).astype(np.float32)

    x = f32(2, 3, 4, 5)
    i64 = lambda *v: np.array(v, dtype=np.int64)  # noqa: E731

    # Softmax / LogSoftmax: the 2-D view before opset 13, one axis from 13.
    for op in ("Softmax", "LogSoftmax"):
        for opset in (11, 13):
            for axis in (None, 0, 1, 3, -1, -3):
                kw = {} if axis is None else {"axis": axis}
                tag = "default" if axis is None else str(axis).replace("-", "m")
                case(outdir, "%s_op%d_axis_%s" % (op.lower(), opset, tag), opset,
                     [node(op, ["x"], **kw)], [("x", x * 4)])

    # Element-wise activations with non-default attributes, on NCHW.
    case(outdir, "leakyrelu_alpha", 13, [node("LeakyRelu", ["x"], alpha=0.2)], [("x", x)])
    case(outdir, "hardsigmoid_ab", 13, [node("HardSigmoid", ["x"], alpha=0.3, beta=0.4)], [("x", x * 3)])
    case(outdir, "hardswish", 14, [node("HardSwish", ["x"])], [("x", x * 4)])
    case(outdir, "sigmoid_large", 13, [node("Sigmoid", ["x"])], [("x", x * 40)])
    case(outdir, "tanh_nchw", 13, [node("Tanh", ["x"])], [("x", x * 3)])
    case(outdir, "relu_nchw", 14, [node("Relu", ["x"])], [("x", x)])
    case(outdir, "relu_int32", 14, [node("Relu", ["x"])],
         [("x", rng.integers(-50, 50, (3, 7)).astype(np.int32))])

    # Clip: attributes (opset 6), optional inputs (11+), only one bound.
    case(outdir, "clip_op6_attrs", 6, [node("Clip", ["x"], min=-0.5, max=0.7)], [("x", x)])
    case(outdir, "clip_op6_min_only", 6, [node("Clip", ["x"], min=0.0)], [("x", x)])
    case(outdir, "clip_op11_max_only", 11, [node("Clip", ["x", "", "hi"])], [("x", x)],
         [("hi", np.array(6.0, np.float32))])
    case(outdir, "clip_op13_relu6", 13, [node("Clip", ["x", "lo", "hi"])], [("x", x * 8)],
         [("lo", np.array(0.0, np.float32)), ("hi", np.array(6.0, np.float32))])
    case(outdir, "clip_op13_int64", 13, [node("Clip", ["x", "lo", "hi"])],
         [("x", rng.integers(-100, 100, (4, 5)).astype(np.int64))],
         [("lo", np.array(-10, np.int64)), ("hi", np.array(20, np.int64))])

    # PRelu: per-channel slope [C,1,1], a single slope, a full slope.
    case(outdir, "prelu_channel", 16, [node("PRelu", ["x", "s"])], [("x", x)],
         [("s", f32(3, 1, 1))])
    case(outdir, "prelu_scalar", 9, [node("PRelu", ["x", "s"])], [("x", x)],
         [("s", np.array([0.25], np.float32))])
    case(outdir, "prelu_full", 16, [node("PRelu", ["x", "s"])], [("x", x)], [("s", f32(4, 5))])

    # Binary ops: NCHW broadcasting in both directions, and integer arithmetic.
    for op in ("Add", "Sub", "Mul", "Div"):
        case(outdir, "%s_bcast_channel" % op.lower(), 14, [node(op, ["a", "b"])],
             [("a", x), ("b", f32(3, 1, 1) + 3)])
        case(outdir, "%s_bcast_both" % op.lower(), 14, [node(op, ["a", "b"])],
             [("a", f32(2, 1, 4, 1)), ("b", f32(3, 1, 5) + 3)])
        case(outdir, "%s_scalar_first" % op.lower(), 14, [node(op, ["a", "b"])],
             [("a", np.array(2.5, np.float32)), ("b", f32(2, 3) + 3)])
        for dt in (np.int64, np.int32):
            a = rng.integers(-100, 100, (3, 4)).astype(dt)
            b = rng.integers(1, 9, (4,)).astype(dt) * rng.choice([-1, 1], (4,)).astype(dt)
            case(outdir, "%s_%s" % (op.lower(), np.dtype(dt).name), 14, [node(op, ["a", "b"])],
                 [("a", a), ("b", b)])
    case(outdir, "div_op7_float", 7, [node("Div", ["a", "b"])], [("a", x), ("b", f32(5) + 3)])

    # Concat / Split on several axes and dtypes.
    case(outdir, "concat_nchw_channels", 13, [node("Concat", ["a", "b", "c"], axis=1)],
         [("a", f32(1, 2, 3, 3)), ("b", f32(1, 5, 3, 3)), ("c", f32(1, 1, 3, 3))])
    case(outdir, "concat_int64_shapes", 13, [node("Concat", ["a", "b"], axis=0)],
         [("a", i64(1, 21)), ("b", i64(64, 48))])
    case(outdir, "concat_op4_neg", 11, [node("Concat", ["a", "b"], axis=-1)],
         [("a", f32(2, 3)), ("b", f32(2, 2))])
    case(outdir, "split_op11_attr", 11, [node("Split", ["x"], ["y0", "y1"], axis=1, split=[1, 2])],
         [("x", x)], n_out=2)
    case(outdir, "split_op11_equal", 11, [node("Split", ["x"], ["y0", "y1"], axis=-1)],
         [("x", f32(2, 6))], n_out=2)
    case(outdir, "split_op2_default", 7, [node("Split", ["x"], ["y0", "y1", "y2"])],
         [("x", f32(6, 2))], n_out=3)
    case(outdir, "split_op13_input", 13, [node("Split", ["x", "s"], ["y0", "y1"], axis=3)],
         [("x", x)], [("s", i64(2, 3))], n_out=2)
    case(outdir, "split_op18_num_outputs", 18,
         [node("Split", ["x"], ["y0", "y1", "y2"], axis=2, num_outputs=3)],
         [("x", f32(2, 3, 7))], n_out=3)

    # ArgMax: the segmentation case (labels from NCHW logits) and ties.
    case(outdir, "argmax_nchw_labels", 11, [node("ArgMax", ["x"], axis=1, keepdims=0)],
         [("x", f32(1, 21, 6, 7))])
    ties = rng.integers(0, 3, (4, 6)).astype(np.float32)
    case(outdir, "argmax_ties_first", 13, [node("ArgMax", ["x"], axis=1)], [("x", ties)])
    case(outdir, "argmax_ties_last", 13, [node("ArgMax", ["x"], axis=1, select_last_index=1)],
         [("x", ties)])
    case(outdir, "argmax_int64", 13, [node("ArgMax", ["x"], axis=0, keepdims=0)],
         [("x", rng.integers(-9, 9, (5, 3)).astype(np.int64))])

    # Transpose of float, int64, uint8.
    case(outdir, "transpose_nhwc", 13, [node("Transpose", ["x"], perm=[0, 2, 3, 1])], [("x", x)])
    case(outdir, "transpose_int64", 13, [node("Transpose", ["x"], perm=[1, 0])],
         [("x", rng.integers(-9, 9, (3, 5)).astype(np.int64))])
    case(outdir, "transpose_uint8", 13, [node("Transpose", ["x"], perm=[2, 0, 1])],
         [("x", rng.integers(0, 255, (3, 4, 5)).astype(np.uint8))])

    # Reshape family with constant shapes / attribute axes.
    case(outdir, "reshape_zero_minus1", 13, [node("Reshape", ["x", "s"])], [("x", x)],
         [("s", i64(0, -1, 5))])
    case(outdir, "reshape_allowzero", 14, [node("Reshape", ["x", "s"], allowzero=1)],
         [("x", np.zeros((0, 3), np.float32))], [("s", i64(3, 0))])
    case(outdir, "flatten_op9_axis0", 9, [node("Flatten", ["x"], axis=0)], [("x", x)])
    case(outdir, "flatten_op11_neg", 11, [node("Flatten", ["x"], axis=-2)], [("x", x)])
    case(outdir, "squeeze_op11_attr", 11, [node("Squeeze", ["x"], axes=[0, -1])],
         [("x", f32(1, 3, 1, 4, 1))])
    case(outdir, "squeeze_op11_all", 11, [node("Squeeze", ["x"])], [("x", f32(1, 3, 1, 4, 1))])
    case(outdir, "squeeze_op13_no_axes", 13, [node("Squeeze", ["x"])], [("x", f32(1, 3, 1))])
    case(outdir, "unsqueeze_op11_attr", 11, [node("Unsqueeze", ["x"], axes=[0, -1])],
         [("x", f32(3, 4))])
    case(outdir, "unsqueeze_op13_scalar", 13, [node("Unsqueeze", ["x", "a"])],
         [("x", np.array(7, np.int64))], [("a", i64(0))])

    # Slice: attribute form (opset 1..9), inputs with steps and clamping.
    case(outdir, "slice_op9_attrs", 9,
         [node("Slice", ["x"], starts=[1, -3], ends=[1000, -1], axes=[1, 3])], [("x", x)])
    case(outdir, "slice_op9_no_axes", 9, [node("Slice", ["x"], starts=[0, 1], ends=[1, 3])],
         [("x", f32(3, 4))])
    for tag, st, en, ax, sp in (
            ("neg_step_full", [-1], [-(2 ** 63)], [3], [-1]),
            ("neg_step_2", [10], [0], [2], [-2]),
            ("step_3", [0, 1], [2 ** 63 - 1, 5], [3, 1], [3, 2]),
            ("empty", [3], [1], [3], [1]),
            ("neg_axes", [1], [-1], [-2], [1])):
        case(outdir, "slice_op13_" + tag, 13, [node("Slice", ["x", "st", "en", "ax", "sp"])],
             [("x", x)], [("st", i64(*st)), ("en", i64(*en)), ("ax", i64(*ax)), ("sp", i64(*sp))])
    case(outdir, "slice_op10_int32", 10, [node("Slice", ["x", "st", "en"])], [("x", f32(5, 4))],
         [("st", np.array([1], np.int32)), ("en", np.array([4], np.int32))])

    # Gather: axis 1, negative and int32 indices, int64 data (shape chains).
    case(outdir, "gather_axis1_neg", 13, [node("Gather", ["x", "i"], axis=1)], [("x", x)],
         [("i", i64(-1, 0, 2, -2))])
    case(outdir, "gather_int32_idx", 13, [node("Gather", ["x", "i"], axis=-1)], [("x", x)],
         [("i", np.array([[4, 0], [1, 1]], np.int32))])
    case(outdir, "gather_scalar_from_shape", 13, [node("Gather", ["x", "i"], axis=0)],
         [("x", i64(1, 3, 224, 160))], [("i", np.array(2, np.int64))])

    # Shape, Cast, ConstantOfShape, Expand.
    case(outdir, "shape_op13", 13, [node("Shape", ["x"])], [("x", x)])
    casts = [(np.float32, TensorProto.INT64, x * 100), (np.float32, TensorProto.INT32, x * 100),
             (np.float32, TensorProto.UINT8, np.abs(x) * 50), (np.float32, TensorProto.INT8, x * 30),
             (np.float32, TensorProto.BOOL, np.round(x)), (np.float32, TensorProto.FLOAT16, x * 1000),
             (np.float32, TensorProto.DOUBLE, x)]
    for src_t, to, data in casts:
        case(outdir, "cast_float_to_%s" % TensorProto.DataType.Name(to).lower(), 13,
             [node("Cast", ["x"], to=to)], [("x", data.astype(src_t))])
    ints = rng.integers(-300, 300, (4, 5)).astype(np.int64)
    for to in (TensorProto.FLOAT, TensorProto.INT32, TensorProto.INT8, TensorProto.UINT8,
               TensorProto.BOOL, TensorProto.DOUBLE):
        case(outdir, "cast_int64_to_%s" % TensorProto.DataType.Name(to).lower(), 13,
             [node("Cast", ["x"], to=to)], [("x", ints)])
    case(outdir, "cast_bool_to_float", 13, [node("Cast", ["x"], to=TensorProto.FLOAT)],
         [("x", rng.integers(0, 2, (3, 4)).astype(np.bool_))])
    case(outdir, "cast_int32_to_int64", 13, [node("Cast", ["x"], to=TensorProto.INT64)],
         [("x", ints.astype(np.int32))])
    case(outdir, "constantofshape_int64", 13,
         [node("ConstantOfShape", ["s"], value=numpy_helper.from_array(i64(7)))], [],
         [("s", i64(2, 3))])
    case(outdir, "constantofshape_default", 9, [node("ConstantOfShape", ["s"])], [], [("s", i64(4))])
    case(outdir, "expand_both_ways", 13, [node("Expand", ["x", "s"])], [("x", f32(3, 1))],
         [("s", i64(2, 1, 4))])
    case(outdir, "expand_int64", 13, [node("Expand", ["x", "s"])], [("x", i64(5, 6))],
         [("s", i64(3, 1))])

    # Pad: attributes (opset 2), inputs (11), axes (18), negative pads, modes.
    img = f32(1, 2, 4, 5)
    for mode in ("constant", "reflect", "edge"):
        case(outdir, "pad_op2_%s" % mode, 2,
             [node("Pad", ["x"], mode=mode, pads=[0, 0, 1, 2, 0, 0, 3, 1], value=1.5)], [("x", img)])
        case(outdir, "pad_op11_%s" % mode, 11, [node("Pad", ["x", "p", "v"], mode=mode)],
             [("x", img)], [("p", i64(0, 0, 2, 3, 0, 0, 3, 4)), ("v", np.array(-2.0, np.float32))])
    case(outdir, "pad_op11_negative", 11, [node("Pad", ["x", "p"])], [("x", img)],
         [("p", i64(0, 0, -1, 2, 0, -1, 1, -2))])
    case(outdir, "pad_op18_axes", 18, [node("Pad", ["x", "p", "", "a"], mode="reflect")],
         [("x", img)], [("p", i64(1, 2, 2, 1)), ("a", i64(-1, 2))])
    case(outdir, "pad_op13_int64", 13, [node("Pad", ["x", "p", "v"])], [("x", i64(1, 2, 3))],
         [("p", i64(2, 1)), ("v", np.array(9, np.int64))])

    # ReduceMean: attribute axes (< 18), keepdims 0, all axes, noop.
    case(outdir, "reducemean_op13_hw", 13, [node("ReduceMean", ["x"], axes=[2, 3])], [("x", x)])
    case(outdir, "reducemean_op13_neg_nokeep", 13,
         [node("ReduceMean", ["x"], axes=[-1, 1], keepdims=0)], [("x", x)])
    case(outdir, "reducemean_op11_all", 11, [node("ReduceMean", ["x"], keepdims=0)], [("x", x)])
    case(outdir, "reducemean_op18_noop", 18, [node("ReduceMean", ["x"], noop_with_empty_axes=1)],
         [("x", x)])
    case(outdir, "reducemean_op18_axes", 18, [node("ReduceMean", ["x", "a"], keepdims=1)],
         [("x", x)], [("a", i64(1))])

    # Identity / Dropout at inference, with and without the mask.
    case(outdir, "identity_int64", 13, [node("Identity", ["x"])], [("x", i64(3, 4, 5))])
    # ONNX Runtime fills the mask of opset 7..11 Dropout with zeros; the spec's
    # meaning (1 = kept) and ONNX's reference give ones, so they are the oracle.
    case(outdir, "dropout_op7", 7, [node("Dropout", ["x"], ratio=0.3)], [("x", x)])
    case(outdir, "dropout_op10_mask", 10, [node("Dropout", ["x"], ["y0", "y1"])], [("x", x)],
         n_out=2, use_ort=False)
    case(outdir, "dropout_op12_ratio", 12, [node("Dropout", ["x", "r"], ["y0", "y1"])], [("x", x)],
         [("r", np.array(0.5, np.float32))], n_out=2)
    case(outdir, "dropout_op13_not_training", 13, [node("Dropout", ["x", "r", "t"], ["y0", "y1"])],
         [("x", x)], [("r", np.array(0.5, np.float32)), ("t", np.array(False))], n_out=2)

    # PyTorch's dynamic-shape chains, folded at load: x.view(x.size(0), -1),
    # and the Shape->Slice->Cast->Concat that feeds a Resize's sizes.
    case(outdir, "chain_flatten_view", 11, [
        node("Shape", ["x"], ["s"]),
        node("Gather", ["s", "i0"], ["n"], axis=0),
        node("Unsqueeze", ["n"], ["n1"], axes=[0]),
        node("Concat", ["n1", "m1"], ["shape"], axis=0),
        node("Reshape", ["x", "shape"], ["y0"])], [("x", x)],
        [("i0", np.array(0, np.int64)), ("m1", i64(-1))])
    case(outdir, "chain_resize_sizes", 13, [
        node("Shape", ["x"], ["s"]),
        node("Slice", ["s", "st", "en"], ["nc"]),
        node("Cast", ["nc"], ["ncf"], to=TensorProto.FLOAT),
        node("Mul", ["ncf", "two"], ["nc2"]),
        node("Cast", ["nc2"], ["nci"], to=TensorProto.INT64),
        node("Concat", ["nci", "hw"], ["sizes"], axis=0),
        node("ConstantOfShape", ["sizes"], ["z"]),
        node("Shape", ["z"], ["y0"])], [("x", x)],
        [("st", i64(0)), ("en", i64(2)), ("two", np.array([2.0], np.float32)), ("hw", i64(7, 9))])
    # A run of element-wise and copy-only ops: the planner may put each output
    # over its input, so the kernels run in place here.
    case(outdir, "chain_inplace", 14, [
        node("Relu", ["x"], ["a"]),
        node("Add", ["a", "bias"], ["b"]),
        node("PRelu", ["b", "slope"], ["c"]),
        node("Clip", ["c", "lo", "hi"], ["d"]),
        node("Mul", ["d", "half"], ["e"]),
        node("Div", ["e", "bias"], ["f"]),
        node("Sub", ["f", "bias"], ["g"]),
        node("LeakyRelu", ["g"], ["h"], alpha=0.1),
        node("Sigmoid", ["h"], ["i"]),
        node("HardSwish", ["i"], ["j"]),
        node("Tanh", ["j"], ["k"]),
        node("HardSigmoid", ["k"], ["l"]),
        node("Dropout", ["l"], ["m"]),
        node("Identity", ["m"], ["n"]),
        node("Reshape", ["n", "shape"], ["o"]),
        node("Unsqueeze", ["o", "ax0"], ["p"]),
        node("Squeeze", ["p", "ax0"], ["q"]),
        node("Flatten", ["q"], ["r"], axis=1),
        node("Softmax", ["r"], ["y0"])], [("x", x)],
        [("bias", f32(3, 1, 1) + 3), ("slope", f32(3, 1, 1)), ("lo", np.array(-1.0, np.float32)),
         ("hi", np.array(1.5, np.float32)), ("half", np.array(0.5, np.float32)),
         ("shape", i64(2, 3, -1)), ("ax0", i64(0))])
    case(outdir, "chain_constant_nodes", 13, [
        helper.make_node("Constant", [], ["c1"], value_ints=[2, -1]),
        helper.make_node("Constant", [], ["c2"], value_float=0.5),
        node("Reshape", ["x", "c1"], ["r"]),
        node("Mul", ["r", "c2"], ["y0"])], [("x", x)])


def main():
    outdir = sys.argv[1]
    os.makedirs(outdir, exist_ok=True)
    const_variants(outdir)
    ort_cases(outdir)


if __name__ == "__main__":
    main()
