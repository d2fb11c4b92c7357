#!/usr/bin/env python3
"""Writes test cases for the ref plugin's neural-network operators.

Each case is one node with its attributes, inputs and the expected outputs,
in the small binary format that tests/ref/nn_case_runner.c reads. Two sources,
both independent of the code under test:

  onnx   ONNX's backend node tests shipped in the onnx package (test_conv_*,
         test_resize_*, ...): one case per test_data_set.
  torch  PyTorch (conv2d with groups/dilation, conv_transpose2d with groups,
         interpolate, adaptive_avg_pool2d at sizes that do not divide) and
         ONNX's own shape inference for the pool sizes.

Usage: make_cases.py OUTDIR   -> prints one case name per line.
"""
import os
import struct
import sys

import numpy as np
import onnx
from onnx import helper, numpy_helper

OPS = {"Conv", "ConvTranspose", "MaxPool", "AveragePool", "GlobalAveragePool",
       "GlobalMaxPool", "BatchNormalization", "Resize", "Upsample", "Gemm", "MatMul"}


def s_str(s):
    b = s.encode()
    return struct.pack("<i", len(b)) + b


def s_attr(a):
    out = s_str(a.name) + struct.pack("<i", a.type)
    if a.type == onnx.AttributeProto.FLOAT:
        out += struct.pack("<f", a.f)
    elif a.type == onnx.AttributeProto.INT:
        out += struct.pack("<q", a.i)
    elif a.type == onnx.AttributeProto.STRING:
        out += s_str(a.s.decode())
    elif a.type == onnx.AttributeProto.FLOATS:
        out += struct.pack("<q", len(a.floats)) + struct.pack(f"<{len(a.floats)}f", *a.floats)
    elif a.type == onnx.AttributeProto.INTS:
        out += struct.pack("<q", len(a.ints)) + struct.pack(f"<{len(a.ints)}q", *a.ints)
    elif a.type == onnx.AttributeProto.STRINGS:
        out += struct.pack("<q", len(a.strings)) + b"".join(s_str(x.decode()) for x in a.strings)
    else:
        raise ValueError(f"attribute {a.name} of type {a.type}")
    return out


def s_value(name, arr, is_const=None):
    """arr None: an absent optional value."""
    if arr is None:
        head = s_str("") + struct.pack("<ii", 0, 0)
        return head + (struct.pack("<i", 0) if is_const is not None else b"") + struct.pack("<q", 0)
    arr = np.array(arr, order="C")  # (ascontiguousarray would make a scalar 1-D)
    dtype = helper.np_dtype_to_tensor_dtype(arr.dtype)
    out = s_str(name) + struct.pack("<ii", dtype, arr.ndim) + struct.pack(f"<{arr.ndim}q", *arr.shape)
    if is_const is not None:
        out += struct.pack("<i", is_const)
    data = arr.tobytes()
    return out + struct.pack("<q", len(data)) + data


def write_case(path, node, opset, inputs, outputs, consts, rtol=1e-3, atol=1e-5):
    """inputs/outputs: lists of (name, array or None); consts: set of input indices."""
    blob = b"SSNC" + s_str(node.name or node.op_type) + s_str(node.domain) + s_str(node.op_type)
    blob += struct.pack("<i", opset)
    blob += struct.pack("<i", len(node.attribute)) + b"".join(s_attr(a) for a in node.attribute)
    blob += struct.pack("<i", len(inputs))
    blob += b"".join(s_value(nm, a, int(i in consts)) for i, (nm, a) in enumerate(inputs))
    blob += struct.pack("<i", len(outputs)) + b"".join(s_value(nm, a) for nm, a in outputs)
    blob += struct.pack("<ff", rtol, atol)
    with open(path, "wb") as f:
        f.write(blob)


def onnx_cases(outdir):
    root = os.path.join(os.path.dirname(onnx.__file__), "backend", "test", "data", "node")
    names = []
    for test in sorted(os.listdir(root)):
        model_path = os.path.join(root, test, "model.onnx")
        if not os.path.exists(model_path):
            continue
        model = onnx.load(model_path)
        g = model.graph
        if len(g.node) != 1 or g.node[0].op_type not in OPS or g.node[0].domain not in ("", "ai.onnx"):
            continue
        node = g.node[0]
        opset = next(o.version for o in model.opset_import if o.domain in ("", "ai.onnx"))
        inits = {t.name: numpy_helper.to_array(t) for t in g.initializer}
        feeds = [i.name for i in g.input if i.name not in inits]
        sets = sorted(d for d in os.listdir(os.path.join(root, test)) if d.startswith("test_data_set_"))
        for k, ds in enumerate(sets):
            dsdir = os.path.join(root, test, ds)
            vals = dict(inits)
            for j, nm in enumerate(feeds):
                t = onnx.TensorProto()
                with open(os.path.join(dsdir, f"input_{j}.pb"), "rb") as f:
                    t.ParseFromString(f.read())
                vals[nm] = numpy_helper.to_array(t)
            outs = {}
            for j, o in enumerate(g.output):
                t = onnx.TensorProto()
                with open(os.path.join(dsdir, f"output_{j}.pb"), "rb") as f:
                    t.ParseFromString(f.read())
                outs[o.name] = numpy_helper.to_array(t)
            inputs = [(nm, vals[nm] if nm else None) for nm in node.input]
            outputs = [(nm, outs.get(nm) if nm else None) for nm in node.output]
            # every input but X behaves like an initializer (weights, scales, sizes)
            consts = set(range(1, len(inputs)))
            name = test[len("test_"):] + (f".{k}" if len(sets) > 1 else "")
            write_case(os.path.join(outdir, name + ".bin"), node, opset, inputs, outputs, consts)
            names.append(name)
    return names


def reference_run(node, x, opset=19, extra=()):
    """Runs a node (input 0 fed, the others initializers) through onnx.reference."""
    from onnx.reference import ReferenceEvaluator
    elem = helper.np_dtype_to_tensor_dtype(x.dtype)
    inits = [numpy_helper.from_array(a, nm) for nm, a in extra]
    g = helper.make_graph([node], "g", [helper.make_tensor_value_info(node.input[0], elem, x.shape)],
                          [helper.make_tensor_value_info(node.output[0], elem, None)], initializer=inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    return ReferenceEvaluator(m).run(None, {node.input[0]: x})[0]


def ort_run(node, x, shape=None, opset=19, extra=()):
    """Runs a one-input node through ONNX Runtime, keeping the leading `shape`
    part of the result: ONNX Runtime does not drop a ceil_mode window that
    would start in the end padding, which ONNX's shape inference (and PyTorch)
    do; the windows it keeps are computed the same way."""
    import onnxruntime
    onnxruntime.set_default_logger_severity(3)
    elem = helper.np_dtype_to_tensor_dtype(x.dtype)
    inits = [numpy_helper.from_array(a, nm) for nm, a in extra]
    g = helper.make_graph([node], "g", [helper.make_tensor_value_info(node.input[0], elem, x.shape)],
                          [helper.make_tensor_value_info(node.output[0], elem, None)], initializer=inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 8
    sess = onnxruntime.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"])
    y = sess.run(None, {node.input[0]: x})[0]
    return y if shape is None else y[tuple(slice(0, d) for d in shape)]


def torch_cases(outdir):
    import torch
    import torch.nn.functional as F
    torch.manual_seed(0)
    names = []

    def add(name, node, opset, inputs, outputs, consts, **tol):
        write_case(os.path.join(outdir, name + ".bin"), node, opset, inputs, outputs, consts, **tol)
        names.append(name)

    # Conv: groups, dilation, strides, asymmetric padding (through F.pad)
    for (cin, cout, g, k, s, d, pads) in [(4, 6, 2, 3, 1, 2, (2, 2, 2, 2)), (6, 6, 6, 3, 2, 1, (1, 0, 1, 2)),
                                         (3, 8, 1, 5, 3, 3, (0, 4, 3, 1)), (2, 4, 1, 1, 1, 1, (0, 0, 0, 0))]:
        x = torch.randn(2, cin, 13, 11)
        w = torch.randn(cout, cin // g, k, k)
        b = torch.randn(cout)
        t, l, bt, r = pads
        y = F.conv2d(F.pad(x, (l, r, t, bt)), w, b, stride=s, dilation=d, groups=g)
        node = helper.make_node("Conv", ["x", "w", "b"], ["y"], group=g, strides=[s, s],
                                dilations=[d, d], pads=[t, l, bt, r], kernel_shape=[k, k])
        add(f"torch.conv2d_g{g}_k{k}_s{s}_d{d}", node, 11,
            [("x", x.numpy()), ("w", w.numpy()), ("b", b.numpy())], [("y", y.numpy())], {1, 2})

    # ConvTranspose: groups, dilation, output_padding, the FCN upsampler (stride s, kernel 2s, pad s/2)
    for (cin, cout, g, k, s, d, p, op) in [(4, 6, 2, 3, 2, 1, 1, 1), (3, 3, 3, 4, 2, 2, 0, 1),
                                          (2, 5, 1, 16, 8, 1, 4, 0), (4, 4, 1, 3, 1, 1, 0, 0)]:
        x = torch.randn(1, cin, 5, 7)
        w = torch.randn(cin, cout // g, k, k)
        b = torch.randn(cout)
        y = F.conv_transpose2d(x, w, b, stride=s, padding=p, output_padding=op, groups=g, dilation=d)
        node = helper.make_node("ConvTranspose", ["x", "w", "b"], ["y"], group=g, strides=[s, s],
                                dilations=[d, d], pads=[p, p, p, p], output_padding=[op, op])
        add(f"torch.conv_transpose2d_g{g}_k{k}_s{s}_d{d}_p{p}_op{op}", node, 11,
            [("x", x.numpy()), ("w", w.numpy()), ("b", b.numpy())], [("y", y.numpy())], {1, 2})

    # Pools with ceil_mode, where the last window would start in the padding
    for (h, k, s, p) in [(5, 2, 2, 1), (6, 3, 2, 1), (7, 3, 3, 1), (5, 1, 3, 0), (10, 3, 2, 0)]:
        x = torch.randn(1, 2, h, h + 1)
        y = F.max_pool2d(x, k, s, p, ceil_mode=True)
        node = helper.make_node("MaxPool", ["x"], ["y"], kernel_shape=[k, k], strides=[s, s],
                                pads=[p, p, p, p], ceil_mode=1)
        add(f"torch.maxpool2d_ceil_h{h}_k{k}_s{s}_p{p}", node, 12, [("x", x.numpy())], [("y", y.numpy())], set())
        for cip in (0, 1):
            node = helper.make_node("AveragePool", ["x"], ["y"], kernel_shape=[k, k], strides=[s, s],
                                    pads=[p, p, p, p], ceil_mode=1, count_include_pad=cip)
            y = F.avg_pool2d(x, k, s, p, ceil_mode=True, count_include_pad=bool(cip))
            if cip:
                # With count_include_pad, ONNX (its reference and ONNX Runtime)
                # divides by the whole kernel where PyTorch stops at the end of
                # the padding: ONNX Runtime gives the values, PyTorch the shape.
                y = ort_run(node, x.numpy(), y.shape)
            add(f"torch.avgpool2d_ceil_h{h}_k{k}_s{s}_p{p}_cip{cip}", node, 11,
                [("x", x.numpy())], [("y", np.asarray(y))], set())

    # Resize against F.interpolate, as torch.onnx exports it (opset 11+, sizes)
    x = torch.randn(1, 3, 7, 9)
    for (size, mode, ac) in [((17, 23), "bilinear", False), ((17, 23), "bilinear", True), ((4, 5), "bilinear", False),
                             ((15, 20), "nearest", None), ((5, 4), "nearest", None),
                             ((16, 21), "bicubic", False), ((16, 21), "bicubic", True)]:
        y = F.interpolate(x, size=size, mode=mode, align_corners=ac)
        onnx_mode = {"bilinear": "linear", "nearest": "nearest", "bicubic": "cubic"}[mode]
        ctm = "asymmetric" if mode == "nearest" else ("align_corners" if ac else "pytorch_half_pixel")
        node = helper.make_node("Resize", ["x", "", "", "sizes"], ["y"], mode=onnx_mode,
                                coordinate_transformation_mode=ctm, nearest_mode="floor", cubic_coeff_a=-0.75)
        sizes = np.array([1, 3, *size], dtype=np.int64)
        add(f"torch.interpolate_{mode}_{size[0]}x{size[1]}" + ("_ac" if ac else ""), node, 13,
            [("x", x.numpy()), ("", None), ("", None), ("sizes", sizes)], [("y", y.numpy())], {1, 2, 3})

    # Conv 1-D and 3-D
    x = torch.randn(2, 4, 17)
    w = torch.randn(6, 2, 4)
    y = F.conv1d(x, w, None, stride=2, padding=3, dilation=2, groups=2)
    node = helper.make_node("Conv", ["x", "w"], ["y"], group=2, strides=[2], dilations=[2], pads=[3, 3])
    add("torch.conv1d_g2", node, 11, [("x", x.numpy()), ("w", w.numpy())], [("y", y.numpy())], {1})
    x = torch.randn(1, 3, 6, 7, 5)
    w = torch.randn(4, 3, 3, 2, 3)
    b = torch.randn(4)
    y = F.conv3d(x, w, b, stride=(1, 2, 1), padding=(1, 1, 0), dilation=(2, 1, 1))
    node = helper.make_node("Conv", ["x", "w", "b"], ["y"], strides=[1, 2, 1], dilations=[2, 1, 1],
                            pads=[1, 1, 0, 1, 1, 0])
    add("torch.conv3d", node, 11, [("x", x.numpy()), ("w", w.numpy()), ("b", b.numpy())], [("y", y.numpy())], {1, 2})

    # MaxPool with dilation and padding
    x = torch.randn(1, 3, 12, 11)
    y = F.max_pool2d(x, 3, 2, 1, dilation=2)
    node = helper.make_node("MaxPool", ["x"], ["y"], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1],
                            dilations=[2, 2])
    add("torch.maxpool2d_dilation2", node, 12, [("x", x.numpy())], [("y", y.numpy())], set())

    # MaxPool's Indices, both storage orders, against ONNX Runtime
    import onnxruntime
    x = np.random.default_rng(2).standard_normal((2, 3, 7, 6)).astype(np.float32)
    for so in (0, 1):
        node = helper.make_node("MaxPool", ["x"], ["y", "i"], kernel_shape=[3, 2], strides=[2, 2],
                                pads=[1, 0, 1, 1], storage_order=so)
        g = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, x.shape)],
                              [helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, None),
                               helper.make_tensor_value_info("i", onnx.TensorProto.INT64, None)])
        m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 12)])
        m.ir_version = 8
        y, idx = onnxruntime.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"]).run(
            None, {"x": x})
        add(f"ort.maxpool_indices_storage_order{so}", node, 12, [("x", x)], [("y", y), ("i", idx)], set())

    # MatMul and Gemm against numpy
    rng = np.random.default_rng(1)
    for (sa, sb) in [((3,), (3, 4)), ((2, 3, 4), (4,)), ((5,), (5,)), ((2, 1, 3, 4), (5, 4, 2)),
                     ((4,), (2, 4, 3)), ((1, 3, 2), (4, 2, 5))]:
        a = rng.standard_normal(sa).astype(np.float32)
        bm = rng.standard_normal(sb).astype(np.float32)
        node = helper.make_node("MatMul", ["a", "b"], ["y"])
        tag = "x".join(map(str, sa)) + "_by_" + "x".join(map(str, sb))
        add(f"numpy.matmul_{tag}", node, 13, [("a", a), ("b", bm)], [("y", np.asarray(np.matmul(a, bm)))], {1})
    for (ta, tb, cshape) in [(0, 0, (3, 1)), (1, 0, (1, 4)), (0, 1, ()), (1, 1, (3, 4))]:
        a = rng.standard_normal((5, 3) if ta else (3, 5)).astype(np.float32)
        bm = rng.standard_normal((4, 5) if tb else (5, 4)).astype(np.float32)
        c = rng.standard_normal(cshape).astype(np.float32)
        y = 0.5 * ((a.T if ta else a) @ (bm.T if tb else bm)) + 2.0 * c
        node = helper.make_node("Gemm", ["a", "b", "c"], ["y"], alpha=0.5, beta=2.0, transA=ta, transB=tb)
        add(f"numpy.gemm_tA{ta}_tB{tb}_c{'x'.join(map(str, cshape)) or 'scalar'}", node, 13,
            [("a", a), ("b", bm), ("c", c)], [("y", y.astype(np.float32))], {1, 2})

    # Upsample (opsets 7 and 9) and Resize-10 and uint8 Resize against ONNX Runtime
    x = rng.standard_normal((1, 2, 5, 6)).astype(np.float32)
    for mode in ("nearest", "linear"):
        for sc in ([1, 1, 2.0, 3.0], [1, 1, 1.5, 2.5], [1, 1, 1.5, 0.5]):
            scales = np.array(sc, dtype=np.float32)
            tag = "_".join(f"{v:g}" for v in sc[2:])
            node = helper.make_node("Upsample", ["x", "scales"], ["y"], mode=mode)
            if min(sc) >= 1:   # ONNX Runtime's Upsample refuses to shrink
                y = ort_run(node, x, opset=9, extra=[("scales", scales)])
                add(f"ort.upsample9_{mode}_{tag}", node, 9, [("x", x), ("scales", scales)], [("y", y)], {1})
            node = helper.make_node("Resize", ["x", "scales"], ["y"], mode=mode)
            y = ort_run(node, x, opset=10, extra=[("scales", scales)])
            add(f"ort.resize10_{mode}_{tag}", node, 10, [("x", x), ("scales", scales)], [("y", y)], {1})
        node = helper.make_node("Upsample", ["x"], ["y"], mode=mode, scales=[1.0, 1.0, 2.0, 2.0])
        y = ort_run(node, x, opset=7)
        add(f"ort.upsample7_{mode}_2_2", node, 7, [("x", x)], [("y", y)], set())
    xu = rng.integers(0, 256, (1, 1, 6, 7)).astype(np.uint8)
    for mode in ("nearest", "linear"):
        sizes = np.array([1, 1, 11, 4], dtype=np.int64)
        node = helper.make_node("Resize", ["x", "", "", "sizes"], ["y"], mode=mode)
        y = ort_run(node, xu, opset=13, extra=[("sizes", sizes)])
        add(f"ort.resize13_uint8_{mode}", node, 13, [("x", xu), ("", None), ("", None), ("sizes", sizes)],
            [("y", y)], {1, 2, 3}, atol=1.0)

    # Resize: every coordinate mode with each interpolation, by scales and by
    # sizes, against ONNX's reference (ONNX Runtime differs from it where
    # scale * input is not a whole number: align_corners, tf_crop_and_resize).
    x = rng.standard_normal((1, 2, 6, 7)).astype(np.float32)
    coords = ["half_pixel", "half_pixel_symmetric", "pytorch_half_pixel", "align_corners", "asymmetric",
              "tf_crop_and_resize"]
    for ctm in coords:
        for mode in ("nearest", "linear", "cubic"):
            for kind, arg in (("scales", np.array([1, 1, 1.73, 0.63], dtype=np.float32)),
                              ("sizes", np.array([1, 2, 3, 12], dtype=np.int64))):
                roi = np.array([0, 0, 0.13, 0.21, 1, 1, 0.87, 1.09], dtype=np.float32)
                ins = ["x", "roi", "arg", ""] if kind == "scales" else ["x", "roi", "", "arg"]
                node = helper.make_node("Resize", ins, ["y"], mode=mode, coordinate_transformation_mode=ctm,
                                        nearest_mode="round_prefer_ceil", extrapolation_value=-3.0)
                y = reference_run(node, x, opset=13, extra=[("roi", roi), ("arg", arg)])
                inputs = [("x", x), ("roi", roi), ("arg", arg) if kind == "scales" else ("", None)]
                inputs.append(("arg", arg) if kind == "sizes" else ("", None))
                add(f"onnxref.resize13_{mode}_{ctm}_{kind}", node, 13, inputs, [("y", y)], {1, 2, 3})
    # tf_half_pixel_for_nn is not in ONNX's reference: ONNX Runtime, one axis at a time
    for sc in (1.73, 0.63):
        x1 = rng.standard_normal((7,)).astype(np.float32)
        scales = np.array([sc], dtype=np.float32)
        node = helper.make_node("Resize", ["x", "", "scales"], ["y"], mode="nearest",
                                coordinate_transformation_mode="tf_half_pixel_for_nn", nearest_mode="round_prefer_ceil")
        y = ort_run(node, x1, opset=13, extra=[("scales", scales)])
        add(f"ort.resize13_nearest_tf_half_pixel_for_nn_{sc:g}", node, 13,
            [("x", x1), ("", None), ("scales", scales)], [("y", y)], {1, 2})
    for nm in ("round_prefer_floor", "round_prefer_ceil", "floor", "ceil"):
        sizes = np.array([1, 2, 9, 5], dtype=np.int64)
        node = helper.make_node("Resize", ["x", "", "", "sizes"], ["y"], mode="nearest", nearest_mode=nm)
        y = ort_run(node, x, opset=13, extra=[("sizes", sizes)])
        add(f"ort.resize13_nearest_{nm}", node, 13, [("x", x), ("", None), ("", None), ("sizes", sizes)],
            [("y", y)], {1, 2, 3})

    # ai.semseg AdaptiveAvgPool2d against PyTorch, including sizes that do not divide
    for (h, w, oh, ow) in [(7, 9, 3, 2), (13, 10, 6, 6), (5, 5, 1, 1), (6, 8, 6, 8), (4, 3, 6, 5), (33, 47, 2, 3)]:
        x = torch.randn(2, 3, h, w)
        y = F.adaptive_avg_pool2d(x, (oh, ow))
        node = helper.make_node("AdaptiveAvgPool2d", ["x"], ["y"], domain="ai.semseg", output_size=[oh, ow])
        add(f"torch.adaptive_avg_pool2d_{h}x{w}_to_{oh}x{ow}", node, 1, [("x", x.numpy())], [("y", y.numpy())], set())
    return names


def main():
    outdir = sys.argv[1]
    os.makedirs(outdir, exist_ok=True)
    names = onnx_cases(outdir)
    try:
        names += torch_cases(outdir)
    except ImportError:
        pass
    print("\n".join(names))


if __name__ == "__main__":
    main()
