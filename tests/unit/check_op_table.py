"""Fails when docs/operators.md disagrees with the code.

  1. The op rows must be exactly the operators the runtime knows (op_list).
  2. Every plugin cell must be what the plugin claims. For each op the script
     builds one or more one-node float32 models (CASES below: typical
     segmentation shapes, NCHW 1x8x12x16, weights as initializers) and runs
     `semseg-onnx info MODEL --backend P,ref`; the node table names the plugin
     each node resolved to. `yes` in the blas/opencl column means P took the
     node in every case, an empty cell that it took it in none (a mix fails:
     the cell cannot say it). The ref column: `yes` means every case loads
     with `--backend ref` alone, empty that none does.
     Ops that never reach a plugin are listed in FOLDED with the reason; for
     them the script checks that the node is indeed gone from the prepared
     graph, that `--backend ref` loads it, and that no plugin cell says yes.
  A plugin that is not built, or that says it is unusable here (no OpenCL
  platform), is reported as not checked; the other columns still are.

Usage: check_op_table.py OP_LIST_EXE DOCS_MD SEMSEG_ONNX WORK_DIR BUILT_PLUGINS
  BUILT_PLUGINS: comma-separated plugins this build made besides ref (may be "").
The CLI is run with SEMSEG_PLUGIN_PATH empty, so it finds the build's plugins.
"""
import concurrent.futures
import os
import re
import subprocess
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

F = TensorProto.FLOAT
X = (1, 8, 12, 16)          # the typical activation: NCHW, 8 channels, 12x16
# Graph inputs of at most 16 elements are not shapes here: the runtime may
# freeze their values (SESS_FREEZE_MAX_ELEMENTS), so `info` would not prepare
# the graph. Small operands are 32 channels wide for that reason.
PLUGIN_COLUMNS = ("blas", "opencl")

# Ops that no plugin ever receives, whatever the graph: why, per op.
FOLDED = {
    "Shape": "reads only dims, which are known when the session is prepared: "
             "passes_infer_fold evaluates it on ref at load time",
    "Constant": "the importer turns it into an initializer",
    "ConstantOfShape": "its input is a shape, constant once the input dims are known "
                       "(an initializer or a folded Shape chain), so it is folded at load time",
}


def rng_array(*shape):
    return np.random.default_rng(len(shape) + sum(shape)).standard_normal(shape).astype(np.float32)


def i64(*v):
    return np.array(v, dtype=np.int64)


def f32(*v):
    return np.array(v, dtype=np.float32)


def one_node(op, inputs, attrs=None, opset=13, domain="", outs=(F,)):
    """A model of one node. inputs: a tuple (shape) is a float graph input, an
    ndarray an initializer, "" an absent optional input. outs: output dtypes."""
    g_in, inits, names = [], [], []
    for i, v in enumerate(inputs):
        name = "in%d" % i
        if isinstance(v, str):
            names.append("")
            continue
        if isinstance(v, tuple):
            g_in.append(helper.make_tensor_value_info(name, F, list(v)))
        else:
            inits.append(numpy_helper.from_array(v, name))
        names.append(name)
    out_names = ["out%d" % i for i in range(len(outs))]
    node = helper.make_node(op, names, out_names, name="node", domain=domain, **(attrs or {}))
    g_out = [helper.make_tensor_value_info(n, t, None) for n, t in zip(out_names, outs)]
    imports = [helper.make_opsetid("", opset)]
    if domain:
        imports.append(helper.make_opsetid(domain, 1))
    graph = helper.make_graph([node], "one_" + op, g_in, g_out, inits)
    return helper.make_model(graph, opset_imports=imports)


def unary(op, **kw):
    return one_node(op, [X], kw.pop("attrs", None), **kw)


def binary(op):
    return [("same shape", one_node(op, [X, X])),
            ("per-channel constant", one_node(op, [X, rng_array(8, 1, 1)])),
            ("scalar constant", one_node(op, [X, f32(0.5)])),
            ("[1,32,1,1] gate (SE / attention)", one_node(op, [(1, 32, 12, 16), (1, 32, 1, 1)]))]


def clip_bounds():
    return [("attribute form, opset 6", one_node("Clip", [X], {"min": 0.0, "max": 6.0}, opset=6)),
            ("input form, opset 13", one_node("Clip", [X, f32(0.0), f32(6.0)])),
            ("input form, max only", one_node("Clip", [X, "", f32(6.0)]))]


# op -> [(label, model), ...]: what a segmentation export typically holds.
CASES = {
    "Conv": lambda: [
        ("3x3 pad 1 + bias", one_node("Conv", [X, rng_array(8, 8, 3, 3), rng_array(8)], {"pads": [1] * 4})),
        ("1x1 + bias", one_node("Conv", [X, rng_array(16, 8, 1, 1), rng_array(16)])),
        ("3x3 stride 2", one_node("Conv", [X, rng_array(8, 8, 3, 3)], {"pads": [1] * 4, "strides": [2, 2]})),
        ("3x3 dilation 2", one_node("Conv", [X, rng_array(8, 8, 3, 3), rng_array(8)],
                                    {"pads": [2] * 4, "dilations": [2, 2]})),
        ("depthwise 3x3", one_node("Conv", [X, rng_array(8, 1, 3, 3), rng_array(8)],
                                   {"pads": [1] * 4, "group": 8})),
        ("stem 7x7 stride 2 on RGB", one_node("Conv", [(1, 3, 12, 16), rng_array(8, 3, 7, 7)],
                                              {"pads": [3] * 4, "strides": [2, 2]}))],
    "ConvTranspose": lambda: [
        ("4x4 stride 2 pad 1 + bias", one_node("ConvTranspose", [X, rng_array(8, 4, 4, 4), rng_array(4)],
                                               {"strides": [2, 2], "pads": [1] * 4})),
        ("2x2 stride 2", one_node("ConvTranspose", [X, rng_array(8, 8, 2, 2)], {"strides": [2, 2]})),
        ("FCN 16x16 stride 8", one_node("ConvTranspose", [X, rng_array(8, 8, 16, 16)],
                                        {"strides": [8, 8], "pads": [4] * 4}))],
    "MaxPool": lambda: [
        ("3x3 stride 2 pad 1", unary("MaxPool", attrs={"kernel_shape": [3, 3], "strides": [2, 2], "pads": [1] * 4})),
        ("2x2 stride 2", unary("MaxPool", attrs={"kernel_shape": [2, 2], "strides": [2, 2]})),
        ("3x3 stride 2 ceil_mode", unary("MaxPool", attrs={"kernel_shape": [3, 3], "strides": [2, 2],
                                                           "ceil_mode": 1}))],
    "AveragePool": lambda: [
        ("2x2 stride 2", unary("AveragePool", attrs={"kernel_shape": [2, 2], "strides": [2, 2]})),
        ("3x3 pad 1 excluding pads", unary("AveragePool", attrs={"kernel_shape": [3, 3], "pads": [1] * 4}))],
    "GlobalAveragePool": lambda: [("NCHW", unary("GlobalAveragePool"))],
    "GlobalMaxPool": lambda: [("NCHW", unary("GlobalMaxPool"))],
    "BatchNormalization": lambda: [
        ("not after a Conv, opset 15", one_node("BatchNormalization", [X] + [rng_array(8) ** 2 for _ in range(4)],
                                                opset=15)),
        ("opset 9", one_node("BatchNormalization", [X] + [rng_array(8) ** 2 for _ in range(4)], opset=9))],
    "Resize": lambda: [
        ("bilinear x2 half_pixel, scales", one_node("Resize", [X, "", f32(1, 1, 2, 2)], {"mode": "linear"})),
        ("bilinear align_corners, sizes", one_node("Resize", [X, "", "", i64(1, 8, 24, 32)],
                                                   {"mode": "linear",
                                                    "coordinate_transformation_mode": "align_corners"})),
        ("nearest x2 asymmetric floor (torch)", one_node("Resize", [X, "", f32(1, 1, 2, 2)],
                                                         {"mode": "nearest", "nearest_mode": "floor",
                                                          "coordinate_transformation_mode": "asymmetric"})),
        ("opset 11, empty roi initializer", one_node("Resize", [X, f32(), f32(1, 1, 2, 2)],
                                                     {"mode": "linear",
                                                      "coordinate_transformation_mode": "pytorch_half_pixel"},
                                                     opset=11)),
        ("opset 10 nearest", one_node("Resize", [X, f32(1, 1, 2, 2)], opset=10)),
        ("opset 18 bilinear, scales", one_node("Resize", [X, "", f32(1, 1, 2, 2)], {"mode": "linear"}, opset=18))],
    "Upsample": lambda: [
        ("opset 9 nearest, scales input", one_node("Upsample", [X, f32(1, 1, 2, 2)], opset=9)),
        ("opset 7 linear, scales attribute", unary("Upsample", attrs={"scales": [1.0, 1.0, 2.0, 2.0],
                                                                      "mode": "linear"}, opset=7))],
    "Gemm": lambda: [
        ("Linear: transB + bias", one_node("Gemm", [(1, 128), rng_array(64, 128), rng_array(64)], {"transB": 1})),
        ("no transpose + bias", one_node("Gemm", [(4, 128), rng_array(128, 64), rng_array(64)]))],
    "MatMul": lambda: [
        ("activations x weights", one_node("MatMul", [(1, 192, 8), rng_array(8, 16)])),
        ("batched, both inputs", one_node("MatMul", [(1, 8, 192), (1, 192, 8)]))],
    "Relu": lambda: [("NCHW", unary("Relu"))],
    "LeakyRelu": lambda: [("alpha 0.1", unary("LeakyRelu", attrs={"alpha": 0.1}))],
    "PRelu": lambda: [("per-channel slope", one_node("PRelu", [X, rng_array(8, 1, 1)])),
                      ("one slope", one_node("PRelu", [X, f32(0.25)]))],
    "Sigmoid": lambda: [("NCHW", unary("Sigmoid"))],
    "HardSigmoid": lambda: [("torch alpha 1/6", unary("HardSigmoid", attrs={"alpha": 1 / 6, "beta": 0.5})),
                            ("defaults", unary("HardSigmoid"))],
    "HardSwish": lambda: [("opset 14", unary("HardSwish", opset=14))],
    "Clip": clip_bounds,
    "Tanh": lambda: [("NCHW", unary("Tanh"))],
    "Add": lambda: binary("Add"),
    "Sub": lambda: binary("Sub"),
    "Mul": lambda: binary("Mul"),
    "Div": lambda: binary("Div"),
    "Concat": lambda: [("channels, 2 inputs", one_node("Concat", [X, (1, 4, 12, 16)], {"axis": 1})),
                       ("channels, 4 inputs (PSP)", one_node("Concat", [X, X, X, X], {"axis": 1}))],
    "Split": lambda: [("split input, opset 13", one_node("Split", [X, i64(4, 4)], {"axis": 1}, outs=(F, F))),
                      ("split attribute, opset 11", one_node("Split", [X], {"axis": 1, "split": [4, 4]},
                                                             opset=11, outs=(F, F)))],
    "Softmax": lambda: [("class axis, opset 13", unary("Softmax", attrs={"axis": 1})),
                        ("last axis, opset 11", unary("Softmax", attrs={"axis": 3}, opset=11))],
    "LogSoftmax": lambda: [("class axis, opset 13", unary("LogSoftmax", attrs={"axis": 1})),
                           ("last axis, opset 11", unary("LogSoftmax", attrs={"axis": 3}, opset=11))],
    "ArgMax": lambda: [("class axis keepdims", unary("ArgMax", attrs={"axis": 1}, outs=(TensorProto.INT64,))),
                       ("class axis, keepdims 0", unary("ArgMax", attrs={"axis": 1, "keepdims": 0},
                                                        outs=(TensorProto.INT64,)))],
    "Transpose": lambda: [("NCHW -> NHWC", unary("Transpose", attrs={"perm": [0, 2, 3, 1]}))],
    "Reshape": lambda: [("flatten HW", one_node("Reshape", [X, i64(1, 8, -1)]))],
    "Flatten": lambda: [("axis 1", unary("Flatten", attrs={"axis": 1}))],
    "Squeeze": lambda: [("axes input", one_node("Squeeze", [(1, 32, 1, 1), i64(2, 3)])),
                        ("axes attribute, opset 11", unary("Squeeze", attrs={"axes": [0]}, opset=11))],
    "Unsqueeze": lambda: [("axes input", one_node("Unsqueeze", [(1, 32), i64(2, 3)])),
                          ("axes attribute, opset 11", one_node("Unsqueeze", [(1, 32)], {"axes": [2, 3]}, opset=11))],
    "Slice": lambda: [("crop H", one_node("Slice", [X, i64(2), i64(10), i64(2)])),
                      ("crop H and W, steps", one_node("Slice", [X, i64(1, 2), i64(11, 14), i64(2, 3), i64(1, 2)]))],
    "Gather": lambda: [("channels", one_node("Gather", [X, i64(0, 2, 4)], {"axis": 1})),
                       ("one channel, scalar index", one_node("Gather", [X, np.array(3, dtype=np.int64)],
                                                              {"axis": 1}))],
    "Shape": lambda: [("of the input", unary("Shape", outs=(TensorProto.INT64,)))],
    "Cast": lambda: [("to float16", unary("Cast", attrs={"to": TensorProto.FLOAT16}, outs=(TensorProto.FLOAT16,))),
                     ("to int64", unary("Cast", attrs={"to": TensorProto.INT64}, outs=(TensorProto.INT64,)))],
    "Constant": lambda: [("float tensor", one_node("Constant", [], {"value": numpy_helper.from_array(rng_array(*X))}))],
    "ConstantOfShape": lambda: [("from a shape initializer", one_node("ConstantOfShape", [i64(*X)]))],
    "Expand": lambda: [("[1,32,1,1] to 1x32x12x16", one_node("Expand", [(1, 32, 1, 1), i64(1, 32, 12, 16)]))],
    "Pad": lambda: [("constant", one_node("Pad", [X, i64(0, 0, 1, 1, 0, 0, 1, 1)])),
                    ("reflect", one_node("Pad", [X, i64(0, 0, 1, 1, 0, 0, 1, 1)], {"mode": "reflect"}))],
    "ReduceMean": lambda: [("HW, axes attribute", unary("ReduceMean", attrs={"axes": [2, 3]})),
                           ("HW, axes input, opset 18", one_node("ReduceMean", [X, i64(2, 3)], opset=18))],
    # a graph output must keep its name, so the one-node model keeps the node
    # (inside a graph the runtime bypasses it): what plugins claim is checked
    "Identity": lambda: [("as the graph output", unary("Identity"))],
    "Dropout": lambda: [("as the graph output, opset 13", unary("Dropout")),
                        ("opset 10, ratio attribute", unary("Dropout", attrs={"ratio": 0.5}, opset=10))],
    "AdaptiveAvgPool2d": lambda: [
        ("PSP bin 2", one_node("AdaptiveAvgPool2d", [X], {"output_size": [2, 2]}, domain="ai.semseg")),
        ("PSP bin 3 (uneven)", one_node("AdaptiveAvgPool2d", [X], {"output_size": [3, 3]}, domain="ai.semseg")),
        ("PSP bin 6", one_node("AdaptiveAvgPool2d", [X], {"output_size": [6, 6]}, domain="ai.semseg"))],
    "DenseCRF": lambda: [("4 classes, defaults", one_node("DenseCRF", [(1, 4, 12, 16), (1, 3, 12, 16)],
                                                          domain="ai.semseg"))],
}


def op_rows(docs_md):
    """(domain, op) -> {column: cell} from the table of docs/operators.md."""
    rows, header = {}, None
    for line in open(docs_md, encoding="utf-8"):
        if not line.startswith("|"):
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if cells[:2] == ["op", "domain"]:
            header = cells
            continue
        m = re.fullmatch(r"`([A-Za-z0-9]+)`", cells[0])
        if header and m and len(cells) == len(header):
            rows[(cells[1].strip("`"), m.group(1))] = dict(zip(header, cells))
    return rows


def check_rows(op_list, rows):
    out = subprocess.run([op_list], check=True, capture_output=True, text=True).stdout
    code = set(tuple(l.split()) for l in out.splitlines() if l.strip())
    docs = set(rows)
    errors = ["docs/operators.md lacks %s::%s, which the runtime supports" % k for k in sorted(code - docs)]
    errors += ["docs/operators.md lists %s::%s, which the runtime does not know" % k for k in sorted(docs - code)]
    print("%d operators in code, %d in docs" % (len(code), len(docs)))
    return errors


class Cli:
    def __init__(self, exe, work):
        self.exe = exe
        self.env = dict(os.environ, SEMSEG_PLUGIN_PATH="",
                        SEMSEG_CACHE_DIR=os.path.join(work, "opencl-cache"))

    def run(self, *args):
        return subprocess.run([self.exe] + list(args), capture_output=True, text=True, env=self.env)

    def plugin_states(self):
        """name -> (loaded?, reason line) from `semseg-onnx plugins`."""
        states, last = {}, None
        for line in self.run("plugins").stdout.splitlines():
            m = re.match(r"(\S+)\s+\S+\s+ABI \S+\s+(loaded|refused)\s", line)
            if m:
                last = m.group(1)
                states[last] = (m.group(2) == "loaded", "")
            elif last and line.strip().startswith("reason:"):
                states[last] = (states[last][0], line.strip()[len("reason:"):].strip())
        return states

    def placement(self, model, backends):
        """The plugins of the node table's rows, or an error string."""
        p = self.run("info", model, "--backend", backends)
        if p.returncode != 0:
            return (p.stderr.strip().splitlines() or ["exit %d" % p.returncode])[-1]
        lines = p.stdout.splitlines()
        try:
            start = next(i for i, l in enumerate(lines) if l.startswith("nodes:")) + 2
            end = next(i for i, l in enumerate(lines) if l.startswith("op histogram:"))
        except StopIteration:
            return "no node table in `semseg-onnx info` output"
        return [l.split()[-2] for l in lines[start:end] if l.strip()]


def write_cases(work, rows):
    """(op, label, path) for every case; ops the table lists but CASES lacks are errors."""
    cases, errors = [], []
    os.makedirs(work, exist_ok=True)
    for _, op in sorted(rows):
        if op not in CASES:
            errors.append("%s: no one-node model in check_op_table.py CASES; add one (or a FOLDED reason)" % op)
            continue
        for k, (label, model) in enumerate(CASES[op]()):
            path = os.path.join(work, "%s_%d.onnx" % (op, k))
            onnx.save(model, path)
            cases.append((op, label, path))
    return cases, errors


def judge(op, cell, column, results, folded):
    """results: [(label, plugins-or-error)] for --backend column(,ref)."""
    errors = []
    bad = [(l, r) for l, r in results if isinstance(r, str)]
    if not folded:
        errors += ["%s (%s): the node was folded away (--backend %s), so the case tests no plugin; "
                   "make it reach one (a graph input, not constants) or list the op in FOLDED"
                   % (op, l, column if column == "ref" else column + ",ref") for l, r in results if r == []]
        if errors:
            return errors
    if column == "ref":
        loads = not bad
        if cell == "yes" and bad:
            errors += ["%s (%s): ref column says yes but --backend ref fails: %s" % (op, l, r) for l, r in bad]
        if cell == "" and len(bad) != len(results):
            errors.append("%s: ref column is empty but --backend ref loads it" % op)
        if folded and loads and any(r for _, r in results):
            errors.append("%s: listed in FOLDED but the node is still there after preparation" % op)
        return errors
    errors += ["%s (%s): --backend %s,ref fails: %s" % (op, l, column, r) for l, r in bad]
    if bad:
        return errors
    taken = [l for l, r in results if column in r]
    if folded:
        if cell == "yes":
            errors.append("%s: %s column says yes, but the op is folded before resolution (%s)"
                          % (op, column, FOLDED[op]))
        return errors
    if len(taken) not in (0, len(results)):
        errors.append("%s: %s takes only some of the cases ('%s'; not '%s'), so the cell cannot say; "
                      "make the cases typical or document the limit"
                      % (op, column, "', '".join(taken), "', '".join(l for l, _ in results if l not in taken)))
    elif cell == "yes" and not taken:
        errors.append("%s: docs say %s takes it, but %s left every case to ref" % (op, column, column))
    elif cell == "" and taken:
        errors.append("%s: docs leave the %s cell empty, but %s took every case" % (op, column, column))
    return errors


def place_all(cli, jobs, backends):
    """`info` for every (op, label, path, column) job. The opencl jobs run one
    at a time (on a cold program cache two at once would compile the same
    OpenCL program twice), the others in parallel beside them."""
    def place(j):
        return cli.placement(j[2], backends[j[3]])
    serial = [j for j in jobs if j[3] == "opencl"]
    parallel = [j for j in jobs if j[3] != "opencl"]
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2)) as pool:
        first = pool.submit(lambda: [place(j) for j in serial])
        out = dict(zip(parallel, pool.map(place, parallel)))
        out.update(zip(serial, first.result()))
    return [out[j] for j in jobs]


def summary(column, results):
    """How many cases the column's plugin took, for the log."""
    if any(isinstance(r, str) for _, r in results):
        return "fails to load"
    if not any(r for _, r in results):
        return "folded"
    return "%d/%d" % (sum(column in r for _, r in results), len(results))


def main():
    if len(sys.argv) not in (5, 6):
        sys.exit(__doc__.split("Usage: ")[1].split("\n")[0])
    # an empty BUILT_PLUGINS may be dropped on the way (CMake < 3.31's add_test)
    op_list, docs_md, cli_exe, work, built = (sys.argv[1:] + [""])[:5]
    rows = op_rows(docs_md)
    if not rows or any(c not in r for r in rows.values() for c in ("ref",) + PLUGIN_COLUMNS):
        sys.exit("%s: no op table with columns op, domain, ref, %s" % (docs_md, ", ".join(PLUGIN_COLUMNS)))
    errors = check_rows(op_list, rows)
    for (dom, op), r in sorted(rows.items()):
        for column in ("ref",) + PLUGIN_COLUMNS:
            if r.get(column) not in ("yes", ""):
                errors.append("%s: %s cell is %r; write yes or leave it empty" % (op, column, r.get(column)))
    cli = Cli(cli_exe, work)
    states = cli.plugin_states()
    columns = ["ref"]
    for p in PLUGIN_COLUMNS:
        if p not in built.split(","):
            print("%s column NOT CHECKED: the plugin is not built" % p)
        elif p not in states:
            errors.append("%s: built, but `semseg-onnx plugins` does not list it" % p)
        elif not states[p][0] and states[p][1].startswith("unusable here"):
            print("%s column NOT CHECKED: the plugin is %s" % (p, states[p][1]))
        elif not states[p][0]:
            errors.append("%s: built, but refused: %s" % (p, states[p][1]))
        else:
            columns.append(p)
    cases, errs = write_cases(work, rows)
    errors += errs
    jobs = [(op, label, path, c) for op, label, path in cases for c in columns]
    backends = {c: c if c == "ref" else c + ",ref" for c in columns}
    placed = place_all(cli, jobs, backends)
    by_op = {}
    for (op, label, _, c), r in zip(jobs, placed):
        by_op.setdefault((op, c), []).append((label, r))
    for (dom, op), r in sorted(rows.items()):
        seen = []
        for c in columns:
            if (op, c) in by_op:
                errors += judge(op, r[c], c, by_op[(op, c)], op in FOLDED)
                seen.append("%s %s" % (c, summary(c, by_op[(op, c)])))
        print("  %-18s %s" % (op, "; ".join(seen)))
    for e in errors:
        print(e)
    print("%d one-node models, %d CLI runs; columns checked: %s" % (len(cases), len(jobs), ", ".join(columns)))
    sys.exit(1 if errors else 0)


if __name__ == "__main__":
    main()
