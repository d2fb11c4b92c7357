"""Export helper: trained seed network -> ONNX file + ONNX test-data dirs.

    python models/export.py NAME [--opset 13|17] [--sizes 80x80,72x104] [--out FILE]

Exports with dynamic N, H and W, writes metadata_props describing the
preprocessing (semseg.mean / semseg.std after scaling pixels to 0..1,
semseg.classes, semseg.layout), and next to the model one directory per size,
FILE_STEM/test_data_set_K/{input_0.pb,output_0.pb}, with PyTorch's output as
the reference. Every file is loaded back with onnx.checker and, where it can,
run with ONNX Runtime against the same reference.

Adaptive average pooling: torch.onnx turns adaptive_avg_pool2d into an
AveragePool only when the output size divides a statically known input size,
and refuses otherwise (always, with a dynamic H x W). With --custom-pool
(default for pspnet) this module registers a symbolic that emits
ai.semseg::AdaptiveAvgPool2d(X) with attribute output_size = [oh, ow]
(domain ai.semseg, version 1) for any output size other than 1x1, which still
becomes GlobalAveragePool. The C runtime implements the op with PyTorch's bin
edges, so the model runs at any input size; ONNX Runtime cannot run it.
"""
import argparse
import json
import os
import sys

import numpy as np
import onnx
import torch
from onnx import numpy_helper

import nets
import scenes

HERE = os.path.dirname(os.path.abspath(__file__))
SEMSEG_DOMAIN = "ai.semseg"
SEMSEG_OPSET = 1
DEFAULT_SIZES = "80x80,72x104"


def _adaptive_avg_pool2d_symbolic(g, x, output_size):
    from torch.onnx import symbolic_helper as sh
    size = sh._parse_arg(output_size, "is")
    if len(size) == 1:
        size = size * 2
    if all(s == 1 for s in size):
        return g.op("GlobalAveragePool", x)
    y = g.op(SEMSEG_DOMAIN + "::AdaptiveAvgPool2d", x, output_size_i=list(size))
    # Give the exporter the output's rank and type so later symbolics that
    # inspect it (Resize, Shape) work; H and W stay what the attribute says.
    xt = x.type()
    try:
        dims = xt.varyingSizes()
        if dims is not None and len(dims) == 4:
            y.setType(xt.with_sizes([dims[0], dims[1], size[0], size[1]]))
        else:
            y.setType(xt)
    except (AttributeError, RuntimeError):
        y.setType(xt)
    return y


def register_custom_pool(opset):
    torch.onnx.register_custom_op_symbolic("::adaptive_avg_pool2d",
                                           _adaptive_avg_pool2d_symbolic, opset)


def unregister_custom_pool(opset):
    torch.onnx.unregister_custom_op_symbolic("::adaptive_avg_pool2d", opset)


def load_model(name, checkpoint=None):
    model = nets.build(name)
    path = checkpoint or os.path.join(HERE, "checkpoints", name + ".pt")
    model.load_state_dict(torch.load(path, map_location="cpu"))
    model.eval()
    return model


def metadata(extra=None):
    md = {
        "semseg.mean": ",".join(str(v) for v in scenes.MEAN),
        "semseg.std": ",".join(str(v) for v in scenes.STD),
        "semseg.classes": ",".join(scenes.CLASS_NAMES),
        "semseg.layout": "NCHW",
        "semseg.input": "RGB pixels scaled to 0..1, then (x - mean) / std",
        "semseg.output": "logits N x 11 x H x W (argmax = class)",
        "semseg.data": "digit scenes from scikit-learn load_digits, see models/README.md",
    }
    md.update(extra or {})
    return md


def set_metadata(model_proto, md):
    del model_proto.metadata_props[:]
    for k, v in md.items():
        e = model_proto.metadata_props.add()
        e.key, e.value = k, v


def export(model, path, opset=13, custom_pool=False, dynamic=True, size=(80, 80), extra_md=None):
    """Writes path; returns the ModelProto. Raises what torch.onnx raises."""
    dummy = torch.zeros(1, 3, *size)
    kwargs = {}
    if dynamic:
        kwargs["dynamic_axes"] = {"input": {0: "N", 2: "H", 3: "W"},
                                  "logits": {0: "N", 2: "H", 3: "W"}}
    if custom_pool:
        register_custom_pool(opset)
        kwargs["custom_opsets"] = {SEMSEG_DOMAIN: SEMSEG_OPSET}
    try:
        torch.onnx.export(model, dummy, path, opset_version=opset, input_names=["input"],
                          output_names=["logits"], do_constant_folding=True, **kwargs)
    finally:
        if custom_pool:
            unregister_custom_pool(opset)
    mp = onnx.load(path)
    # The exporter names the class dim after the op that made it; it is fixed.
    cdim = mp.graph.output[0].type.tensor_type.shape.dim[1]
    cdim.Clear()
    cdim.dim_value = scenes.NUM_CLASSES
    mp.producer_name = "semseg-onnx models/export.py"
    set_metadata(mp, metadata(extra_md))
    onnx.checker.check_model(mp)
    onnx.save(mp, path)
    return mp


def op_set(mp):
    return sorted({(n.domain or "", n.op_type) for n in mp.graph.node})


def reference_input(h, w, index):
    """One val scene of size h x w (val digits only), normalized, 1x3xHxW."""
    rng = np.random.RandomState(10_000 + 97 * index + h * 131 + w)
    im, _ = scenes.make_scene(rng, scenes.DigitBank("val"), h, w)
    return scenes.to_input(np.round(im * 255).astype(np.uint8)[None])


def write_test_data(model, model_path, sizes):
    """ONNX test-data layout next to the model; returns [(dir, x, ref)]."""
    stem = os.path.splitext(model_path)[0]
    out = []
    for k, (h, w) in enumerate(sizes):
        d = os.path.join(stem, f"test_data_set_{k}")
        os.makedirs(d, exist_ok=True)
        x = reference_input(h, w, k)
        with torch.no_grad():
            ref = model(torch.from_numpy(x)).numpy()
        for fname, arr, nm in (("input_0.pb", x, "input"), ("output_0.pb", ref, "logits")):
            with open(os.path.join(d, fname), "wb") as f:
                f.write(numpy_helper.from_array(arr, nm).SerializeToString())
        out.append((d, x, ref))
    return out


def ort_check(model_path, cases):
    """Max |ORT - PyTorch| over the cases, or None where ORT cannot load the file."""
    import onnxruntime as ort
    so = ort.SessionOptions()
    so.intra_op_num_threads = 2
    try:
        sess = ort.InferenceSession(model_path, so, providers=["CPUExecutionProvider"])
    except Exception as e:  # noqa: BLE001 - ORT raises its own exception types
        return None, str(e).splitlines()[0]
    worst = 0.0
    for _, x, ref in cases:
        got = sess.run(None, {"input": x})[0]
        worst = max(worst, float(np.abs(got - ref).max()))
    return worst, ""


def parse_sizes(s):
    return [tuple(int(v) for v in p.split("x")) for p in s.split(",")]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("name", choices=sorted(nets.MODELS))
    ap.add_argument("--opset", type=int, default=13, choices=(13, 17))
    ap.add_argument("--sizes", default=DEFAULT_SIZES, help="test-data sizes HxW,HxW")
    ap.add_argument("--out", help="model file (default models/NAME.onnx)")
    ap.add_argument("--checkpoint")
    ap.add_argument("--custom-pool", action=argparse.BooleanOptionalAction, default=None,
                    help="emit ai.semseg::AdaptiveAvgPool2d (default: on for pspnet)")
    args = ap.parse_args()
    torch.set_num_threads(2)

    custom = args.custom_pool if args.custom_pool is not None else args.name == "pspnet"
    path = args.out or os.path.join(HERE, args.name + ".onnx")
    model = load_model(args.name, args.checkpoint)
    mp = export(model, path, args.opset, custom_pool=custom)
    cases = write_test_data(model, path, parse_sizes(args.sizes))
    ops = op_set(mp)
    print(f"{path}: opset {args.opset}, {os.path.getsize(path)} bytes, ops: "
          + " ".join((d + "::" if d else "") + o for d, o in ops))
    worst, why = ort_check(path, cases)
    if worst is None:
        print(f"onnxruntime cannot run it ({why[:120]})")
    else:
        print(f"onnxruntime vs PyTorch: max |d| = {worst:.2e}")
        if worst > 1e-4:
            sys.exit("onnxruntime disagrees with PyTorch")
    print(json.dumps({"file": os.path.basename(path), "test_data": [c[0] for c in cases]}))


if __name__ == "__main__":
    main()


def adaptive_pool_matrix(n_in, n_out):
    """n_out x n_in averaging matrix with PyTorch's bin edges
    (start = floor(i*n_in/n_out), end = ceil((i+1)*n_in/n_out))."""
    m = np.zeros((n_out, n_in), np.float32)
    for i in range(n_out):
        a, b = (i * n_in) // n_out, -((-(i + 1) * n_in) // n_out)
        m[i, a:b] = 1.0 / (b - a)
    return m


def inline_adaptive_pool(mp, feat_h, feat_w):
    """A copy of mp in which every ai.semseg::AdaptiveAvgPool2d over a
    feat_h x feat_w map is two MatMuls with constant bin matrices, so that
    ONNX Runtime can check the exported graph at that one input size."""
    from onnx import helper
    out = onnx.ModelProto()
    out.CopyFrom(mp)
    g = out.graph
    nodes = []
    for k, n in enumerate(g.node):
        if n.domain != SEMSEG_DOMAIN or n.op_type != "AdaptiveAvgPool2d":
            nodes.append(n)
            continue
        oh, ow = list(next(a for a in n.attribute if a.name == "output_size").ints)
        ph, pw = f"_aap{k}_ph", f"_aap{k}_pwt"
        g.initializer.extend([numpy_helper.from_array(adaptive_pool_matrix(feat_h, oh), ph),
                              numpy_helper.from_array(adaptive_pool_matrix(feat_w, ow).T.copy(), pw)])
        mid = f"_aap{k}_mid"
        nodes.append(helper.make_node("MatMul", [n.input[0], pw], [mid]))
        nodes.append(helper.make_node("MatMul", [ph, mid], [n.output[0]]))
    del g.node[:]
    g.node.extend(nodes)
    del out.opset_import[:]
    out.opset_import.extend([o for o in mp.opset_import if o.domain != SEMSEG_DOMAIN])
    return out


def ort_check_custom_pool(mp, cases, stride=8):
    """Max |ORT - PyTorch| of the inlined graph over the test cases."""
    import onnxruntime as ort
    worst = 0.0
    for _, x, ref in cases:
        fh, fw = x.shape[2], x.shape[3]
        for _ in range(stride.bit_length() - 1):   # ceil_mode pools
            fh, fw = -(-fh // 2), -(-fw // 2)
        inl = inline_adaptive_pool(mp, fh, fw)
        sess = ort.InferenceSession(inl.SerializeToString(), providers=["CPUExecutionProvider"])
        got = sess.run(None, {"input": x})[0]
        worst = max(worst, float(np.abs(got - ref).max()))
    return worst
