#!/usr/bin/env python3
"""The hostile-input catalogue (issue 8, docs/fuzzing.md).

    bad_inputs.py gen DIR OTHER_ABI_SO NOT_A_PLUGIN_SO   write every case into DIR
    bad_inputs.py check CLI DIR NAME                     run one case, assert it
    bad_inputs.py list                                   the case names

Each case is a broken model, image, tensor or plugin file, written here with
onnx.helper, numpy, PIL or raw bytes, and a `semseg-onnx` command that meets
it. What every case must do: exit code 2, exactly one line on stderr that
names the problem (every keyword of the case appears in it, case-insensitive),
no crash (a signal), no hang (TIMEOUT seconds), and, in a sanitizer build, no
leak or memory error (those print reports and change the exit code).
"""
import json
import os
import shutil
import struct
import subprocess
import sys
import zlib

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

TIMEOUT = 60
OPSET = [helper.make_opsetid("", 13)]


# ---- building blocks ----

def vi(name, dims, dtype=TensorProto.FLOAT):
    return helper.make_tensor_value_info(name, dtype, dims)


def model(nodes, inits=(), inputs=None, outputs=None, **kw):
    inputs = inputs if inputs is not None else [vi("x", [1, 3, "H", "W"])]
    outputs = outputs if outputs is not None else [vi("y", None)]
    g = helper.make_graph(nodes, "bad", inputs, outputs, list(inits))
    m = helper.make_model(g, opset_imports=kw.get("opsets", OPSET))
    m.ir_version = kw.get("ir_version", 8)
    return m


def weight(name, *shape):
    return numpy_helper.from_array(np.full(shape, 0.5, np.float32), name)


def good_model():
    """1x1 Conv to 2 classes at any size: what the non-model cases run."""
    return model([helper.make_node("Conv", ["x", "w"], ["y"])], [weight("w", 2, 3, 1, 1)])


def external(name, dims, location, offset=0, length=None):
    t = TensorProto(name=name, data_type=TensorProto.FLOAT, dims=dims)
    t.data_location = TensorProto.EXTERNAL
    pairs = [("location", location), ("offset", str(offset))]
    if length is not None:
        pairs.append(("length", str(length)))
    for k, v in pairs:
        e = t.external_data.add()
        e.key, e.value = k, v
    return t


def varint(v):
    out = b""
    while True:
        b = v & 0x7F
        v >>= 7
        out += bytes([b | (0x80 if v else 0)])
        if not v:
            return out


def field(num, payload):
    return varint(num << 3 | 2) + varint(len(payload)) + payload


def deeply_nested(levels=50):
    """graph > node > attribute > graph > ... 150 messages deep (protobuf-c
    would recurse on it without a limit)."""
    g = b""
    for _ in range(levels):
        g = field(1, field(5, field(6, g)))  # GraphProto.node > NodeProto.attribute > AttributeProto.g
    return field(7, g)


def png_chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_zero_size():
    """A PNG whose header says 0x0 pixels (PIL cannot write one)."""
    ihdr = struct.pack(">IIBBBBB", 0, 0, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) +
            png_chunk(b"IDAT", zlib.compress(b"")) + png_chunk(b"IEND", b""))


# ---- the catalogue: name -> (files to write, command, keywords) ----
# In commands: {cli} the CLI, {d} the case's folder, {good} a good model,
# {photo} a good photo.

def cases():
    c = {}
    good = good_model().SerializeToString()

    def model_case(name, m, keywords, cmd="info"):
        data = m if isinstance(m, bytes) else m.SerializeToString()
        c[name] = ({"model.onnx": data}, [cmd, "{d}/model.onnx"] + (["{photo}"] if cmd == "run" else []),
                   keywords)

    # -- model bytes --
    for frac in ("1", "half", "last"):
        cut = {"1": 1, "half": len(good) // 2, "last": len(good) - 1}[frac]
        model_case(f"truncated_{frac}", good[:cut], ["model.onnx", "not a valid onnx model"])
    model_case("not_protobuf", b"this is a text file, not a model\n", ["model.onnx", "not a valid onnx model"])
    model_case("png_as_model", png_zero_size(), ["model.onnx", "not a valid onnx model"])
    # ModelProto.graph (field 7) sent as a varint, ir_version (field 1) as bytes
    model_case("wrong_wire_type_graph", varint(7 << 3 | 0) + varint(1), ["model.onnx", "not a valid onnx model"])
    model_case("wrong_wire_type_ir_version", varint(1 << 3 | 2) + varint(2) + b"ab" + good,
               ["model.onnx", "not a valid onnx model"])
    model_case("deep_nesting", deeply_nested(), ["model.onnx", "nest"])
    # -- declared sizes --
    neg = weight("w", 2, 3, 1, 1)
    neg.dims[0] = -2
    model_case("negative_dim", model([helper.make_node("Conv", ["x", "w"], ["y"])], [neg]),
               ["initializer 'w'", "negative"])
    huge = TensorProto(name="w", data_type=TensorProto.FLOAT, dims=[1 << 40, 3, 1, 1])
    model_case("huge_dim", model([helper.make_node("Conv", ["x", "w"], ["y"])], [huge]),
               ["initializer 'w'", "limit"])
    # dims within the limit but no data: refused before 1 GiB is allocated
    empty = TensorProto(name="w", data_type=TensorProto.FLOAT, dims=[1 << 28, 1, 1, 1], raw_data=b"")
    model_case("declared_size_no_data", model([helper.make_node("Conv", ["x", "w"], ["y"])], [empty]),
               ["initializer 'w'", "raw_data has 0 bytes"])
    ovf = TensorProto(name="w", data_type=TensorProto.FLOAT, dims=[1 << 32, 1 << 32, 1 << 10, 1])
    model_case("dims_overflow_64bit", model([helper.make_node("Conv", ["x", "w"], ["y"])], [ovf]),
               ["initializer 'w'", "limit"])
    model_case("huge_input_dims", model([helper.make_node("Relu", ["x"], ["y"])],
                                        inputs=[vi("x", [1, 3, 1 << 16, 1 << 16])]),
               ["graph input 'x'", "limit"])
    big = numpy_helper.from_array(np.array([1 << 20, 1 << 20], np.int64), "shape")
    model_case("huge_activation", model([helper.make_node("ConstantOfShape", ["shape"], ["big"]),
                                         helper.make_node("Add", ["x", "big"], ["y"])], [big]),
               ["ConstantOfShape", "limit"], cmd="run")
    # -- graph structure --
    model_case("cyclic_graph", model([helper.make_node("Relu", ["x2"], ["x1"], name="a"),
                                      helper.make_node("Relu", ["x1"], ["x2"], name="b"),
                                      helper.make_node("Add", ["x", "x2"], ["y"], name="c")]),
               ["cycle"])
    model_case("dangling_input", model([helper.make_node("Add", ["x", "nowhere"], ["y"], name="add1")]),
               ["add1", "nowhere"])
    model_case("missing_initializer", model([helper.make_node("Conv", ["x", "backbone.conv1.weight"], ["y"],
                                                              name="conv1")]),
               ["conv1", "backbone.conv1.weight"])
    model_case("unknown_op", model([helper.make_node("FancySegment", ["x"], ["y"], name="fancy")]),
               ["FancySegment", "fancy"])
    model_case("wrong_input_count", model([helper.make_node("Relu", ["x", "x"], ["y"], name="relu2")]),
               ["relu2", "inputs"], cmd="run")
    model_case("conv_without_weight", model([helper.make_node("Conv", ["x"], ["y"], name="lonely")]),
               ["lonely", "inputs"], cmd="run")
    model_case("attribute_wrong_type",
               model([helper.make_node("Conv", ["x", "w"], ["y"], name="conv_s", kernel_shape="3x3")],
                     [weight("w", 2, 3, 3, 3)]),
               ["conv_s", "kernel_shape"], cmd="run")
    model_case("untyped_input", model([helper.make_node("Relu", ["x"], ["y"])],
                                      inputs=[helper.make_value_info("x", onnx.TypeProto())]),
               ["input 'x'"])
    # -- regressions of what fuzzing found (docs/fuzzing.md) --
    # graph input with a shape but no element type: the error named a freed value
    model_case("input_without_elem_type", model([helper.make_node("Relu", ["x"], ["y"])],
                                                inputs=[vi("x", [1, 3, 4, 4], TensorProto.UNDEFINED)]),
               ["input 'x'", "no tensor type"])
    # no nodes at all (UBSan: memcpy from a NULL node table while preparing)
    model_case("no_nodes", model([], inputs=[vi("x", [1, 3, 4, 4], TensorProto.UNDEFINED)],
                                 outputs=[vi("x", None, TensorProto.UNDEFINED)]),
               ["input 'x'", "no tensor type"])
    # Resize scales that make an infinite / 2^100 output dim (UBSan: float -> int64 overflow)
    sc = numpy_helper.from_array(np.array([1, 1, np.inf, 1e30], np.float32), "scales")
    model_case("resize_infinite_scale", model([helper.make_node("Resize", ["x", "", "scales"], ["y"], name="up")],
                                              [sc], inputs=[vi("x", [1, 3, 4, 4])]),
               ["up", "out of range"])
    # Slice with its required 'ends' given as "" (absent): folding read a NULL tensor
    st = numpy_helper.from_array(np.array([1], np.int64), "st")
    model_case("slice_ends_absent", model([helper.make_node("Slice", ["x", "st", ""], ["y"], name="cut")], [st],
                                          inputs=[vi("x", [8, 8])]),
               ["cut", "required"])
    model_case("conv_weight_absent", model([helper.make_node("Conv", ["x", ""], ["y"], name="noweight")],
                                           inputs=[vi("x", [1, 3, 4, 4])]),
               ["noweight", "input 1", "required"])
    # -- external data --
    def ext_case(name, t, keywords, extra=None):
        m = model([helper.make_node("Conv", ["x", "w"], ["y"])], [t])
        files = {"model.onnx": m.SerializeToString(), "weights.bin": b"\0" * 24}
        files.update(extra or {})
        c[name] = (files, ["info", "{d}/model.onnx"], keywords)

    ext_case("external_dotdot", external("w", [2, 3, 1, 1], "../../etc/passwd"),
             ["initializer 'w'", "../../etc/passwd", "model's folder"])
    ext_case("external_absolute", external("w", [2, 3, 1, 1], "/etc/passwd"),
             ["initializer 'w'", "/etc/passwd", "model's folder"])
    ext_case("external_symlink_out", external("w", [2, 3, 1, 1], "link.bin"),
             ["initializer 'w'", "link.bin", "outside the model's folder"], {"link.bin": ("symlink", "/etc/passwd")})
    ext_case("external_past_end", external("w", [2, 3, 1, 1], "weights.bin", offset=8),
             ["initializer 'w'", "weights.bin", "past the end"])
    ext_case("external_missing_file", external("w", [2, 3, 1, 1], "nothere.bin"),
             ["initializer 'w'", "nothere.bin"])
    # -- images (run with a good model) --
    from PIL import Image
    import io

    def img_bytes(im, fmt, **kw):
        b = io.BytesIO()
        im.save(b, fmt, **kw)
        return b.getvalue()

    rgb = Image.fromarray(np.arange(8 * 10 * 3, dtype=np.uint8).reshape(8, 10, 3), "RGB")

    def image_case(name, fname, data, keywords):
        c[name] = ({fname: data}, ["run", "{good}", "{d}/" + fname, "-o", "{d}/mask.png"], keywords)

    image_case("image_not_an_image", "photo.jpg", b"GIF89a... or any text\n", ["photo.jpg", "not a JPEG or PNG"])
    image_case("image_zero_size", "zero.png", png_zero_size(), ["zero.png"])
    image_case("image_cmyk_jpeg", "cmyk.jpg", img_bytes(rgb.convert("CMYK"), "JPEG"), ["cmyk.jpg", "CMYK"])
    image_case("image_16bit_png", "deep.png",
               img_bytes(Image.fromarray(np.arange(80, dtype=np.uint16).reshape(8, 10) * 800), "PNG"),
               ["deep.png", "16-bit"])
    image_case("image_truncated_png", "cut.png", img_bytes(rgb, "PNG")[:60], ["cut.png"])
    image_case("image_truncated_jpeg", "cut.jpg", img_bytes(rgb, "JPEG")[:120], ["cut.jpg"])
    # cut inside the scan: libjpeg pads with gray and only warns; a 258-byte file
    # whose header says 12044x12045 then costs a minute (tests/fuzz/slow/)
    image_case("image_truncated_jpeg_scan", "cut_scan.jpg", img_bytes(rgb, "JPEG")[:-12], ["cut_scan.jpg", "JPEG"])
    # -- tensor files fed to run --
    npy = io.BytesIO()
    np.save(npy, np.zeros((1, 3, 2, 2), np.float32))
    hdr = npy.getvalue()
    huge_npy = hdr.replace(b"(1, 3, 2, 2)", b"(9999999999, 3, 99999999)")
    image_case("tensor_npy_huge_dims", "input.npy", huge_npy, ["input.npy"])
    image_case("tensor_npy_truncated", "short.npy", hdr[:-8], ["short.npy"])
    pb = numpy_helper.from_array(np.zeros((1, 3, 2, 2), np.float32), "x").SerializeToString()
    nodata = TensorProto(name="x", data_type=TensorProto.FLOAT, dims=[1, 3, 1 << 14, 1 << 14]).SerializeToString()
    image_case("tensor_pb_declared_size_no_data", "nodata.pb", nodata, ["nodata.pb", "float_data has 0 values"])
    image_case("tensor_pb_truncated", "short.pb", pb[:-5], ["short.pb"])
    # -- plugins --
    c["plugin_other_abi"] = ({"other_abi.so": ("copy", "other_abi")},
                             ["run", "{good}", "{photo}", "-o", "{d}/mask.png", "--plugin", "{d}/other_abi.so"],
                             ["other_abi.so", "ABI"])
    c["plugin_not_a_plugin"] = ({"not_a_plugin.so": ("copy", "not_a_plugin")},
                                ["run", "{good}", "{photo}", "-o", "{d}/mask.png", "--plugin",
                                 "{d}/not_a_plugin.so"],
                                ["not_a_plugin.so", "semseg_plugin_entry"])
    c["plugin_not_shared_object"] = ({"fake.so": b"#!/bin/sh\necho not an ELF file\n"},
                                     ["run", "{good}", "{photo}", "-o", "{d}/mask.png", "--plugin", "{d}/fake.so"],
                                     ["fake.so", "shared object"])
    return c


# ---- gen / check ----

def gen(out, other_abi, not_a_plugin):
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    with open(os.path.join(out, "good.onnx"), "wb") as f:
        f.write(good_model().SerializeToString())
    from PIL import Image
    Image.fromarray(np.full((8, 10, 3), 128, np.uint8), "RGB").save(os.path.join(out, "photo.png"))
    built = {"other_abi": other_abi, "not_a_plugin": not_a_plugin}
    # for limits_override.c (not a CLI case)
    shape = numpy_helper.from_array(np.array([600, 40], np.int64), "shape")
    w = numpy_helper.from_array(np.ones(1000, np.float32), "w")
    lim = model([helper.make_node("ConstantOfShape", ["shape"], ["big"]),
                 helper.make_node("Add", ["x", "big"], ["s"]),
                 helper.make_node("ReduceMean", ["s"], ["m"], keepdims=0),
                 helper.make_node("Add", ["m", "w"], ["y"])], [shape, w], inputs=[vi("x", [40])])
    with open(os.path.join(out, "limits.onnx"), "wb") as f:
        f.write(lim.SerializeToString())
    index = {}
    for name, (files, cmd, keywords) in cases().items():
        d = os.path.join(out, name)
        os.makedirs(d)
        for fname, data in files.items():
            path = os.path.join(d, fname)
            if isinstance(data, tuple) and data[0] == "symlink":
                os.symlink(data[1], path)
            elif isinstance(data, tuple) and data[0] == "copy":
                shutil.copyfile(built[data[1]], path)
            else:
                with open(path, "wb") as f:
                    f.write(data)
        index[name] = {"cmd": cmd, "keywords": keywords}
    with open(os.path.join(out, "cases.json"), "w") as f:
        json.dump(index, f, indent=1)
    print(f"{len(index)} cases in {out}")


def check(cli, out, name):
    with open(os.path.join(out, "cases.json")) as f:
        case = json.load(f)[name]
    d = os.path.join(out, name)
    subst = {"{cli}": cli, "{d}": d, "{good}": os.path.join(out, "good.onnx"),
             "{photo}": os.path.join(out, "photo.png")}
    argv = [cli]
    for a in case["cmd"]:
        for k, v in subst.items():
            a = a.replace(k, v)
        argv.append(a)
    print("+", " ".join(argv))
    try:
        p = subprocess.run(argv, capture_output=True, text=True, errors="replace", timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        sys.exit(f"FAIL {name}: no answer within {TIMEOUT} s (hang)")
    sys.stdout.write(p.stdout)
    sys.stdout.write(p.stderr)
    problems = []
    if p.returncode < 0:
        problems.append(f"killed by signal {-p.returncode} (crash)")
    elif p.returncode != 2:
        problems.append(f"exit code {p.returncode}, expected 2")
    lines = p.stderr.splitlines()
    if len(lines) != 1:
        problems.append(f"{len(lines)} lines on stderr, expected exactly one")
    text = p.stderr.lower()
    missing = [k for k in case["keywords"] if k.lower() not in text]
    if missing:
        problems.append(f"stderr does not mention {missing}")
    if problems:
        sys.exit(f"FAIL {name}: " + "; ".join(problems))
    print(f"ok {name}")


def main():
    if len(sys.argv) >= 2 and sys.argv[1] == "list":
        print("\n".join(cases()))
    elif len(sys.argv) == 5 and sys.argv[1] == "gen":
        gen(*sys.argv[2:5])
    elif len(sys.argv) == 5 and sys.argv[1] == "check":
        check(*sys.argv[2:5])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
