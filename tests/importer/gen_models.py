"""Writes the importer's test models, tensor files and their expectations.

Run by CTest (fixture importer_data) as: gen_models.py OUTDIR
and, after test_importer wrote tensor files, as: gen_models.py --check-written DIR

Every good model gets a manifest (MODEL.expect) written from what the ONNX
Python package reads back from the saved file, in the form the C importer
should produce (Constant nodes as constants, initializers that are also graph
inputs as constants only, float16 widened to float, "ai.onnx" as ""). The
C test (test_importer.c) compares its IR against it. Bad models come with the
substring their one-line error must contain (bad/expected.txt). Tensor files
come with tensors.expect, written from numpy's view of the same arrays.

Manifest lines (tokens separated by single spaces, '-' for an empty string,
strings in attributes as 'x' + hex bytes):
  ir_version V | producer NAME VERSION | graph NAME | opset DOMAIN VERSION
  meta KEY VALUE
  input NAME DTYPE RANK DIM...            (DIM: number, ?param or ?)
  output NAME DTYPE RANK DIM...           (RANK -1: not declared)
  const NAME DTYPE RANK DIM... COUNT V...
  vdtype NAME DTYPE                       (element type from value_info)
  node NAME DOMAIN OP OPSET NIN IN... NOUT OUT...
  attr NODE NAME TYPE PAYLOAD...
"""
import os
import struct
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OUT = None


def tok(s):
    return s if s else "-"


def hexs(b):
    if isinstance(b, str):
        b = b.encode()
    return "x" + b.hex()


def values_of(arr):
    arr = np.asarray(arr)
    if arr.dtype == np.float16:
        arr = arr.astype(np.float32)
    flat = arr.reshape(-1)
    if arr.dtype == np.bool_:
        return [str(int(v)) for v in flat]
    if arr.dtype.kind == "f":
        return [repr(float(v)) for v in flat]
    return [str(int(v)) for v in flat]


def dtype_after_import(dt):
    return TensorProto.FLOAT if dt == TensorProto.FLOAT16 else dt


def const_line(name, t):
    arr = numpy_helper.to_array(t)
    vals = values_of(arr)
    dims = [str(d) for d in t.dims]
    return " ".join(["const", name, str(dtype_after_import(t.data_type)), str(len(t.dims))]
                    + dims + [str(len(vals))] + vals)


def shape_tokens(vi):
    tt = vi.type.tensor_type
    if not tt.HasField("shape"):
        return ["-1"]
    toks = [str(len(tt.shape.dim))]
    for d in tt.shape.dim:
        if d.HasField("dim_value"):
            toks.append(str(d.dim_value))
        elif d.HasField("dim_param") and d.dim_param:
            toks.append("?" + d.dim_param)
        else:
            toks.append("?")
    return toks


def attr_tokens(a):
    A = onnx.AttributeProto
    if a.type == A.FLOAT:
        return ["1", repr(float(a.f))]
    if a.type == A.INT:
        return ["2", str(a.i)]
    if a.type == A.STRING:
        return ["3", hexs(a.s)]
    if a.type == A.TENSOR:
        return ["4"] + const_line("t", a.t).split()[2:]
    if a.type == A.GRAPH:
        return ["5"]
    if a.type == A.FLOATS:
        return ["6", str(len(a.floats))] + [repr(float(v)) for v in a.floats]
    if a.type == A.INTS:
        return ["7", str(len(a.ints))] + [str(v) for v in a.ints]
    if a.type == A.STRINGS:
        return ["8", str(len(a.strings))] + [hexs(s) for s in a.strings]
    return ["0"]


def manifest(path, expect_path=None):
    """Expectations for the model saved at path, read back with onnx.load."""
    m = onnx.load(path)  # loads external data too
    g = m.graph
    lines = [f"ir_version {m.ir_version}",
             f"producer {tok(m.producer_name)} {tok(m.producer_version)}",
             f"graph {tok(g.name)}"]
    for o in m.opset_import:
        lines.append(f"opset {tok(o.domain)} {o.version}")
    for p in m.metadata_props:
        lines.append(f"meta {tok(p.key)} {tok(p.value)}")
    inits = {t.name for t in g.initializer}
    for t in g.initializer:
        lines.append(const_line(t.name, t))
    for vi in g.input:
        if vi.name in inits:
            continue
        lines.append(" ".join(["input", vi.name, str(vi.type.tensor_type.elem_type)] + shape_tokens(vi)))
    for vi in g.output:
        lines.append(" ".join(["output", vi.name, str(vi.type.tensor_type.elem_type)] + shape_tokens(vi)))
    for vi in g.value_info:
        lines.append(f"vdtype {vi.name} {vi.type.tensor_type.elem_type}")
    versions = {o.domain if o.domain != "ai.onnx" else "": o.version for o in m.opset_import}
    for i, n in enumerate(g.node):
        name = n.name or f"{n.op_type}_{i}"
        domain = "" if n.domain in ("", "ai.onnx") else n.domain
        if n.op_type == "Constant" and domain == "":
            a = n.attribute[0]
            if a.name == "value":
                lines.append(const_line(n.output[0], a.t))
            elif a.name == "value_float":
                lines.append(f"const {n.output[0]} 1 0 1 {float(a.f)!r}")
            elif a.name == "value_int":
                lines.append(f"const {n.output[0]} 7 0 1 {a.i}")
            elif a.name == "value_floats":
                lines.append(" ".join(["const", n.output[0], "1", "1", str(len(a.floats)), str(len(a.floats))]
                                      + [repr(float(v)) for v in a.floats]))
            elif a.name == "value_ints":
                lines.append(" ".join(["const", n.output[0], "7", "1", str(len(a.ints)), str(len(a.ints))]
                                      + [str(v) for v in a.ints]))
            continue
        lines.append(" ".join(["node", name, tok(domain), n.op_type, str(versions[domain]),
                               str(len(n.input))] + [tok(x) for x in n.input]
                              + [str(len(n.output))] + [tok(x) for x in n.output]))
        for a in n.attribute:
            lines.append(" ".join(["attr", name, a.name] + attr_tokens(a)))
    with open(expect_path or path[:-5] + ".expect", "w") as f:
        f.write("\n".join(lines) + "\n")


def arange(shape, dtype):
    n = int(np.prod(shape)) if shape else 1
    if dtype == np.bool_:
        return (np.arange(n) % 3 == 1).reshape(shape)
    if np.dtype(dtype).kind == "f":
        return ((np.arange(n) - n / 2) * 0.37).astype(dtype).reshape(shape)
    if np.dtype(dtype).kind == "u":
        return (np.arange(n) * 7 % 251).astype(dtype).reshape(shape)
    return ((np.arange(n) * 7 % 200) - 100).astype(dtype).reshape(shape)


def bare_tensor(name, onnx_type, dims):
    """A TensorProto with type and dims but no data yet."""
    t = TensorProto()
    t.name, t.data_type = name, onnx_type
    t.dims.extend(dims)
    return t


def raw_tensor(name, onnx_type, dims, data):
    t = bare_tensor(name, onnx_type, dims)
    t.raw_data = data
    return t


def typed_tensor(name, dtype, onnx_type, shape):
    """A TensorProto using the typed field (not raw_data)."""
    arr = arange(shape, dtype)
    if onnx_type == TensorProto.FLOAT16:
        vals = arr.view(np.uint16).reshape(-1).astype(np.int32).tolist()
        t = bare_tensor(name, onnx_type, shape)
        t.int32_data.extend(vals)
        return t
    return helper.make_tensor(name, onnx_type, shape, arr.reshape(-1).tolist(), raw=False)


DTYPES = [  # numpy dtype, ONNX type
    (np.float32, TensorProto.FLOAT), (np.float64, TensorProto.DOUBLE),
    (np.int64, TensorProto.INT64), (np.int32, TensorProto.INT32),
    (np.int16, TensorProto.INT16), (np.int8, TensorProto.INT8),
    (np.uint8, TensorProto.UINT8), (np.uint16, TensorProto.UINT16),
    (np.uint32, TensorProto.UINT32), (np.uint64, TensorProto.UINT64),
    (np.bool_, TensorProto.BOOL), (np.float16, TensorProto.FLOAT16),
]


def full_model():
    inits = []
    for dt, ot in DTYPES:
        nm = np.dtype(dt).name
        inits.append(numpy_helper.from_array(arange([2, 3], dt), f"raw_{nm}"))
        inits.append(typed_tensor(f"typed_{nm}", dt, ot, [3, 2]))
    inits.append(numpy_helper.from_array(np.array(2.5, np.float32), "scalar"))
    inits.append(numpy_helper.from_array(np.zeros((0, 3), np.float32), "empty"))
    # float16 specials: subnormal, inf, nan, -0, max
    f16 = np.array([6e-8, 1e-5, np.inf, -np.inf, -0.0, 65504, 1 / 3], np.float16)
    inits.append(numpy_helper.from_array(f16, "f16_special"))
    w = numpy_helper.from_array(arange([4, 3, 1, 1], np.float32), "conv.weight")
    inits.append(w)

    sub = helper.make_graph([helper.make_node("Identity", ["a"], ["b"])], "sub",
                            [helper.make_tensor_value_info("a", TensorProto.FLOAT, [1])],
                            [helper.make_tensor_value_info("b", TensorProto.FLOAT, [1])])
    nodes = [
        # Out of file order on purpose: consumes "act" before its producer.
        helper.make_node("Add", ["act", "c_tensor"], ["sum"], name=""),
        helper.make_node("Conv", ["image", "conv.weight", ""], ["conv"], name="conv1",
                         kernel_shape=[1, 1], pads=[0, 0, 0, 0], strides=[1, 1]),
        helper.make_node("Relu", ["conv"], ["act"], name="relu1", domain="ai.onnx"),
        helper.make_node("Constant", [], ["c_tensor"],
                         value=numpy_helper.from_array(arange([1, 4, 1, 1], np.float32))),
        helper.make_node("Constant", [], ["c_float"], value_float=0.25),
        helper.make_node("Constant", [], ["c_int"], value_int=-7),
        helper.make_node("Constant", [], ["c_floats"], value_floats=[1.5, -2.0, 3.25]),
        helper.make_node("Constant", [], ["c_ints"], value_ints=[3, -1, 1 << 40]),
        helper.make_node("Constant", [], ["c_f16"],
                         value=numpy_helper.from_array(np.array([0.5, -1.25, 1e-6], np.float16))),
        helper.make_node("AllAttrs", ["sum", "", "c_float", "c_ints"], ["out", ""], domain="ai.semseg",
                         name="every_attr",
                         f=0.1, i=-42, s="hello", t=numpy_helper.from_array(arange([2, 2], np.int64)),
                         g=sub, floats=[0.5, 1e-3], ints=[1, 2, 3], strings=["a", "", "bc d"]),
        helper.make_node("Constant", [], ["c_scalar_t"],
                         value=numpy_helper.from_array(np.array(9, np.int64))),
    ]
    nodes[9].attribute.append(helper.make_attribute("empty_ints", [], attr_type=onnx.AttributeProto.INTS))
    # Old-style graph input that is also an initializer (IR < 4 lists weights as inputs).
    inputs = [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["N", 3, "H", None]),
              helper.make_tensor_value_info("conv.weight", TensorProto.FLOAT, [4, 3, 1, 1]),
              helper.make_tensor_value_info("mask", TensorProto.BOOL, [2, 5])]
    outputs = [helper.make_tensor_value_info("out", TensorProto.FLOAT, ["N", 4, "H", "W"]),
               helper.make_tensor_value_info("c_scalar_t", TensorProto.INT64, [])]
    graph = helper.make_graph(nodes, "full_graph", inputs, outputs, inits,
                              value_info=[helper.make_tensor_value_info("sum", TensorProto.FLOAT, None)])
    m = helper.make_model(graph, producer_name="semseg-test", producer_version="1.2.3",
                          opset_imports=[helper.make_opsetid("", 13), helper.make_opsetid("ai.semseg", 1)])
    m.ir_version = 8
    helper.set_model_props(m, {"classes": "21", "mean": "0.485,0.456,0.406"})
    return m


def small_model(inits, nodes, inputs=None, outputs=None, opsets=None):
    inputs = inputs if inputs is not None else [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3])]
    outputs = outputs if outputs is not None else [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 3])]
    g = helper.make_graph(nodes, "g", inputs, outputs, inits)
    m = helper.make_model(g, opset_imports=opsets or [helper.make_opsetid("", 13)])
    m.ir_version = 8
    return m


def save(m, path, **kw):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    onnx.save(m, path, **kw)


def write_ext_model(folder, location, offset=None, length=None, nbytes=None):
    """Model whose initializer 'w' (FLOAT[2,3]) points at external data as given."""
    os.makedirs(folder, exist_ok=True)
    t = bare_tensor("w", TensorProto.FLOAT, [2, 3])
    t.data_location = TensorProto.EXTERNAL
    for k, v in (("location", location), ("offset", offset), ("length", length)):
        if v is not None:
            e = t.external_data.add()
            e.key, e.value = k, str(v)
    m = small_model([t], [helper.make_node("Add", ["x", "w"], ["y"])])
    with open(os.path.join(folder, "model.onnx"), "wb") as f:
        f.write(m.SerializeToString())
    if nbytes is not None:
        with open(os.path.join(folder, "w.bin"), "wb") as f:
            f.write(arange([nbytes // 4], np.float32).tobytes())


def bad_models():
    bad = os.path.join(OUT, "bad")
    os.makedirs(bad, exist_ok=True)
    expect = {}

    def put(name, m, needle):
        with open(os.path.join(bad, name + ".onnx"), "wb") as f:
            f.write(m if isinstance(m, bytes) else m.SerializeToString())
        expect[name] = needle

    add = [helper.make_node("Add", ["x", "w"], ["y"])]
    t = raw_tensor("conv1.weight", TensorProto.FLOAT, [3, 3, 2, 2], b"\0" * 12)
    put("raw_size", small_model([t], [helper.make_node("Add", ["x", "conv1.weight"], ["y"])]),
        "initializer 'conv1.weight': raw_data has 12 bytes, expected 144 for FLOAT[3,3,2,2]")
    t = bare_tensor("w", TensorProto.INT8, [2, 3])
    t.int32_data.extend([1, 2, 3, 4, 5])
    put("typed_count", small_model([t], add), "initializer 'w': int32_data has 5 values, expected 6 for INT8[2,3]")
    t = helper.make_tensor("w", TensorProto.FLOAT, [2, 3], np.zeros(6, np.float32).tobytes(), raw=True)
    t.dims[1] = -3
    put("negative_dim", small_model([t], add), "initializer 'w': dim 1 is negative (-3)")
    t = bare_tensor("w", TensorProto.FLOAT, [1 << 40, 1 << 40, 0])
    put("dims_overflow", small_model([t], add), "more than the limit of")
    t = helper.make_tensor("w", TensorProto.STRING, [1], [b"s"])
    put("string_dtype", small_model([t], add), "initializer 'w': data type STRING (8) is not supported")
    t = helper.make_tensor("w", TensorProto.FLOAT, [1], [1.0])
    t.data_type = 99
    put("unknown_dtype", small_model([t], add), "data type unknown type (99) is not supported")
    put("dangling_input", small_model([], [helper.make_node("Add", ["x", "nowhere"], ["y"], name="add1")]),
        "node 'add1' (Add): input 1 'nowhere' is not produced by any node, nor a graph input or initializer")
    put("duplicate_output", small_model([], [helper.make_node("Relu", ["x"], ["y"], name="a"),
                                             helper.make_node("Relu", ["x"], ["y"], name="b")]),
        "node 'b' (Relu): output 'y' is already produced by node 'a'")
    put("output_is_input", small_model([], [helper.make_node("Relu", ["y"], ["x"], name="a")],
                                       inputs=[helper.make_tensor_value_info("x", TensorProto.FLOAT, [1]),
                                               helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])]),
        "node 'a' (Relu): output 'x' is already produced by a graph input")
    put("cycle", small_model([], [helper.make_node("Relu", ["z"], ["y"], name="r1"),
                                  helper.make_node("Relu", ["y"], ["z"], name="r2")]), "cycle")
    put("missing_output", small_model([], [helper.make_node("Relu", ["x"], ["z"])]),
        "graph output 'y' is not produced by any node")
    m = small_model([], [helper.make_node("Relu", ["x"], ["y"])])
    m.ClearField("graph")
    put("no_graph", m, "the model has no graph")
    put("empty", b"", "empty (0 bytes)")
    put("garbage", bytes(range(7, 250, 3)) * 5, "is not a valid ONNX model (protobuf parse failed)")
    put("truncated", full_model().SerializeToString()[:700], "is not a valid ONNX model (protobuf parse failed)")
    put("no_opset", small_model([], [helper.make_node("Foo", ["x"], ["y"], domain="my.domain")]),
        "node 'Foo_0' (Foo): domain 'my.domain' is not in the model's opset_import")
    put("constant_string", small_model([], [helper.make_node("Constant", [], ["y"], value_string="s")]),
        "attribute 'value_string' is not supported")
    put("dup_initializer", small_model([numpy_helper.from_array(np.zeros(1, np.float32), "w")] * 2, add),
        "initializer 'w' is listed twice")

    # Deeply nested subgraphs (graph > node > attribute > graph ...), written as
    # wire bytes since the Python protobuf refuses such depth: refused before
    # protobuf-c recurses into them.
    def varint(v):
        out = b""
        while True:
            b, v = v & 0x7F, v >> 7
            out += bytes([b | (0x80 if v else 0)])
            if not v:
                return out

    def ld(field, payload):
        return varint(field << 3 | 2) + varint(len(payload)) + payload

    g = b""
    for _ in range(40):
        attr = ld(1, b"then_branch") + ld(6, g) + varint(20 << 3) + varint(5)
        g = ld(1, ld(4, b"If") + ld(5, attr))
    put("deep_nesting", varint(1 << 3) + varint(8) + ld(7, g), "nest deeper than 64 levels")

    # External data that must be refused.
    write_ext_model(os.path.join(bad, "ext_dotdot"), "../../etc/passwd")
    expect["ext_dotdot/model"] = "external data location '../../etc/passwd' is not a plain relative path"
    write_ext_model(os.path.join(bad, "ext_abs"), "/etc/passwd")
    expect["ext_abs/model"] = "external data location '/etc/passwd' is not a plain relative path"
    write_ext_model(os.path.join(bad, "ext_link"), "link.bin")
    outside = os.path.join(bad, "outside.bin")
    with open(outside, "wb") as f:
        f.write(b"\0" * 24)
    link = os.path.join(bad, "ext_link", "link.bin")
    if os.path.lexists(link):
        os.remove(link)
    os.symlink(os.path.join("..", "outside.bin"), link)
    expect["ext_link/model"] = "external data file 'link.bin' resolves outside the model's folder"
    write_ext_model(os.path.join(bad, "ext_past_end"), "w.bin", offset=8, nbytes=24)
    expect["ext_past_end/model"] = "external data offset 8 + length 24 runs past the end of 'w.bin' (24 bytes)"
    write_ext_model(os.path.join(bad, "ext_length"), "w.bin", length=20, nbytes=24)
    expect["ext_length/model"] = "external data length is 20 bytes, expected 24 for FLOAT[2,3]"
    write_ext_model(os.path.join(bad, "ext_missing"), "nothere.bin")
    expect["ext_missing/model"] = "external data file 'nothere.bin': No such file or directory"

    with open(os.path.join(bad, "expected.txt"), "w") as f:
        for k, v in expect.items():
            f.write(f"{k}\t{v}\n")


def good_models():
    os.makedirs(OUT, exist_ok=True)
    path = os.path.join(OUT, "full.onnx")
    save(full_model(), path)
    manifest(path)

    # Same model with every initializer in one external file, at offsets.
    ext = os.path.join(OUT, "ext", "model.onnx")
    save(full_model(), ext, save_as_external_data=True, all_tensors_to_one_file=True,
         location="weights.bin", size_threshold=34)  # keeps the empty tensor inline: onnx.load reads length 0 as "to the end"
    manifest(ext)
    # One file per tensor, in a subfolder of the model's folder, without "length".
    m = full_model()
    for t in m.graph.initializer:
        if t.name == "conv.weight":
            data = numpy_helper.to_array(t).tobytes()
            os.makedirs(os.path.join(OUT, "ext2", "data"), exist_ok=True)
            with open(os.path.join(OUT, "ext2", "data", "conv.weight.bin"), "wb") as f:
                f.write(b"PAD!" + data)
            t.ClearField("raw_data")
            t.data_location = TensorProto.EXTERNAL
            for k, v in (("location", "./data/conv.weight.bin"), ("offset", "4")):
                e = t.external_data.add()
                e.key, e.value = k, v
    with open(os.path.join(OUT, "ext2", "model.onnx"), "wb") as f:
        f.write(m.SerializeToString())
    manifest(os.path.join(OUT, "ext2", "model.onnx"))

    # IR version 3 style: every weight also listed as a graph input.
    m = small_model([numpy_helper.from_array(arange([2, 3], np.float32), "w")],
                    [helper.make_node("Add", ["x", "w"], ["y"])],
                    inputs=[helper.make_tensor_value_info("w", TensorProto.FLOAT, [2, 3]),
                            helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3])])
    m.ir_version = 3
    save(m, os.path.join(OUT, "ir3.onnx"))
    manifest(os.path.join(OUT, "ir3.onnx"))


def torch_model():
    """A small PyTorch export: the real shape of what the runtime loads."""
    try:
        import torch
    except ImportError:
        return
    torch.manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Conv2d(3, 4, 3, padding=1), torch.nn.BatchNorm2d(4), torch.nn.ReLU(),
        torch.nn.Conv2d(4, 5, 1), torch.nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False))
    net.eval()
    path = os.path.join(OUT, "torch_net.onnx")
    torch.onnx.export(net, torch.randn(1, 3, 8, 8), path, opset_version=11, input_names=["input"],
                      output_names=["out"], dynamic_axes={"input": {2: "H", 3: "W"}, "out": {2: "H2", 3: "W2"}},
                      do_constant_folding=False)
    manifest(path)


def tensor_files():
    d = os.path.join(OUT, "tensors")
    os.makedirs(d, exist_ok=True)
    lines = []

    def expect(fname, name, onnx_type, arr):
        vals = values_of(arr) if onnx_type != TensorProto.FLOAT16 else [repr(float(v)) for v in arr.reshape(-1)]
        lines.append(" ".join([fname, tok(name), str(onnx_type), str(arr.ndim)] + [str(s) for s in arr.shape]
                              + [str(len(vals))] + vals))

    for dt, ot in DTYPES:
        nm = np.dtype(dt).name
        arr = arange([2, 3, 2], dt)
        np.save(os.path.join(d, f"{nm}.npy"), arr)
        expect(f"{nm}.npy", "", ot, arr)
        with open(os.path.join(d, f"{nm}_raw.pb"), "wb") as f:
            f.write(numpy_helper.from_array(arr, f"t_{nm}").SerializeToString())
        expect(f"{nm}_raw.pb", f"t_{nm}", ot, arr)
        with open(os.path.join(d, f"{nm}_typed.pb"), "wb") as f:
            f.write(typed_tensor(f"typed_{nm}", dt, ot, [2, 3, 2]).SerializeToString())
        expect(f"{nm}_typed.pb", f"typed_{nm}", ot, arr)
    for ver in ((2, 0), (3, 0)):
        arr = arange([3, 4], np.float32)
        with open(os.path.join(d, f"v{ver[0]}.npy"), "wb") as f:
            np.lib.format.write_array(f, arr, version=ver)
        expect(f"v{ver[0]}.npy", "", TensorProto.FLOAT, arr)
    arr = np.array(3.5, np.float32)
    np.save(os.path.join(d, "scalar.npy"), arr)
    expect("scalar.npy", "", TensorProto.FLOAT, arr)
    arr = np.zeros((2, 0, 3), np.int64)
    np.save(os.path.join(d, "empty.npy"), arr)
    expect("empty.npy", "", TensorProto.INT64, arr)
    with open(os.path.join(d, "tensors.expect"), "w") as f:
        f.write("\n".join(lines) + "\n")

    np.save(os.path.join(d, "bad_fortran.npy"), np.asfortranarray(arange([3, 4], np.float32)))
    np.save(os.path.join(d, "bad_bigendian.npy"), arange([3, 4], np.float32).astype(">f4"))
    np.save(os.path.join(d, "bad_complex.npy"), np.zeros(3, np.complex64))
    with open(os.path.join(d, "bad_short.npy"), "wb") as f:
        f.write(open(os.path.join(d, "float32.npy"), "rb").read()[:-5])
    with open(os.path.join(d, "bad_raw.pb"), "wb") as f:
        f.write(raw_tensor("r", TensorProto.FLOAT, [2, 3], b"\0" * 20).SerializeToString())
    with open(os.path.join(d, "bad_garbage.pb"), "wb") as f:
        f.write(b"\xff" * 40)
    with open(os.path.join(d, "bad_empty.pb"), "wb") as f:
        pass
    with open(os.path.join(d, "bad.expect"), "w") as f:
        f.write("bad_fortran.npy\tFortran (column-major) order\n"
                "bad_bigendian.npy\t.npy dtype '>f4' is not supported (big-endian\n"
                "bad_complex.npy\t.npy dtype '<c8' is not supported\n"
                "bad_short.npy\t.npy data has 43 bytes, expected 48 for FLOAT[2,3,2]\n"
                "bad_raw.pb\ttensor 'r': raw_data has 20 bytes, expected 24 for FLOAT[2,3]\n"
                "bad_garbage.pb\tnot a valid TensorProto or .npy file\n"
                "bad_empty.pb\tis empty\n")


SUPPORTED = {TensorProto.FLOAT, TensorProto.DOUBLE, TensorProto.FLOAT16, TensorProto.INT64,
             TensorProto.INT32, TensorProto.INT16, TensorProto.INT8, TensorProto.UINT64,
             TensorProto.UINT32, TensorProto.UINT16, TensorProto.UINT8, TensorProto.BOOL}


def importable(m):
    """Whether the importer should take this model (else it must refuse it cleanly)."""
    g = m.graph
    if g.sparse_initializer:
        return False
    if any(t.data_type not in SUPPORTED or len(t.dims) > 8 for t in g.initializer):
        return False
    for vi in list(g.input) + list(g.output):
        if vi.type.WhichOneof("value") not in (None, "tensor_type"):
            return False
        if vi.type.tensor_type.HasField("shape") and len(vi.type.tensor_type.shape.dim) > 8:
            return False
    for n in g.node:
        if n.op_type == "Constant" and n.domain in ("", "ai.onnx"):
            if len(n.attribute) != 1 or n.attribute[0].name not in (
                    "value", "value_float", "value_floats", "value_int", "value_ints"):
                return False
        for a in n.attribute:
            if a.type == onnx.AttributeProto.TENSOR and a.t.data_type not in SUPPORTED:
                return False
    return True


def node_corpus():
    """ONNX's own node-test models and their test data, as the ONNX package ships them."""
    root = os.path.join(os.path.dirname(onnx.__file__), "backend", "test", "data", "node")
    if not os.path.isdir(root):
        return
    out = os.path.join(OUT, "corpus")
    os.makedirs(out, exist_ok=True)
    models, tensors = [], []
    for name in sorted(os.listdir(root)):
        path = os.path.join(root, name, "model.onnx")
        if not os.path.exists(path):
            continue
        m = onnx.load(path)
        if not importable(m):
            models.append(f"refuse {path} -")
            continue
        expect = os.path.join(out, name + ".expect")
        manifest(path, expect)
        models.append(f"ok {path} {expect}")
        # Test data of tensor-typed inputs/outputs with types the reader takes.
        ds = os.path.join(root, name, "test_data_set_0")
        for kind, vis in (("input", m.graph.input), ("output", m.graph.output)):
            for k, vi in enumerate(vis):
                f = os.path.join(ds, f"{kind}_{k}.pb")
                if not os.path.exists(f) or vi.type.WhichOneof("value") != "tensor_type":
                    continue
                t = onnx.load_tensor(f)
                if t.data_type not in SUPPORTED or len(t.dims) > 8:
                    continue
                arr = numpy_helper.to_array(t)
                vals = values_of(arr) if t.data_type != TensorProto.FLOAT16 else \
                    [repr(float(v)) for v in arr.reshape(-1)]
                tensors.append(" ".join([f, tok(t.name), str(t.data_type), str(len(t.dims))]
                                        + [str(d) for d in t.dims] + [str(len(vals))] + vals))
    with open(os.path.join(out, "models.txt"), "w") as f:
        f.write("\n".join(models) + "\n")
    with open(os.path.join(out, "tensors.expect"), "w") as f:
        f.write("\n".join(tensors) + "\n")


def check_written(d):
    """Reads what test_importer wrote with the ONNX package and compares with arange()."""
    types = {TensorProto.FLOAT: np.float32, TensorProto.DOUBLE: np.float64, TensorProto.INT64: np.int64,
             TensorProto.INT32: np.int32, TensorProto.INT16: np.int16, TensorProto.INT8: np.int8,
             TensorProto.UINT64: np.uint64, TensorProto.UINT32: np.uint32, TensorProto.UINT16: np.uint16,
             TensorProto.UINT8: np.uint8, TensorProto.BOOL: np.bool_}
    bad = 0

    def load(name):
        with open(os.path.join(d, name), "rb") as f:
            t = TensorProto()
            t.ParseFromString(f.read())
        return t

    for ot, dt in types.items():
        t = load(f"written_{ot}.pb")
        arr = numpy_helper.to_array(t)
        want = arange([2, 3, 2], dt)
        if t.name != f"written_{ot}" or t.data_type != ot or arr.dtype != want.dtype or not np.array_equal(arr, want):
            print(f"written_{ot}.pb: {t.name} {t.data_type} {arr.dtype} {arr.reshape(-1)} != {want.reshape(-1)}")
            bad += 1
    arr = numpy_helper.to_array(load("written_f16.pb"))
    if arr.dtype != np.float16 or arr.tolist() != [1.0, -2.0, 0.5, 65504.0, float("inf"), 0.0]:
        print("written_f16.pb:", arr)
        bad += 1
    t = load("written_scalar.pb")
    if list(t.dims) != [] or numpy_helper.to_array(t).tolist() != 1.0 or t.name != "":
        print("written_scalar.pb:", t)
        bad += 1
    print(f"{len(types) + 2 - bad} of {len(types) + 2} written tensor files read back by onnx/numpy as expected")
    return 1 if bad else 0


if __name__ == "__main__":
    if sys.argv[1] == "--check-written":
        sys.exit(check_written(sys.argv[2]))
    OUT = sys.argv[1]
    good_models()
    bad_models()
    tensor_files()
    node_corpus()
    torch_model()
