"""Out-of-tree plugin and packaging test.

1. cmake --install the main build into WORK/prefix.
2. Build plugin/ against WORK/prefix only (find_package(semseg) -> semseg::headers).
3. Put the plugin's folder on $SEMSEG_PLUGIN_PATH; the INSTALLED CLI must list it
   as loaded (`plugins`), and `info --backend oot_relu,ref` must show every Relu
   node on oot_relu and every other node on ref.
4. Running the model through it must give what numpy computes.
5. consumer/ links libsemseg through pkg-config and through find_package
   (shared and static) and loads the same model.
"""
import argparse
import os
import re
import shutil
import subprocess
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def sh(cmd, env=None, **kw):
    print("+", " ".join(cmd), flush=True)
    p = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **kw)
    print(p.stdout, end="", flush=True)
    if p.returncode != 0:
        sys.exit(f"FAIL: exit {p.returncode}: {' '.join(cmd)}")
    return p.stdout


def make_model(path):
    # X -> Sigmoid -> Relu -> Add(X) -> Relu -> Tanh: two Relus, three other nodes;
    # no Conv, so no Conv+Relu fusion hides a Relu.
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2, 3, 4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 2, 3, 4])
    nodes = [
        helper.make_node("Sigmoid", ["x"], ["s"], name="sig"),
        helper.make_node("Relu", ["s"], ["r1"], name="relu_a"),
        helper.make_node("Sub", ["r1", "x"], ["d"], name="sub"),
        helper.make_node("Relu", ["d"], ["r2"], name="relu_b"),
        helper.make_node("Tanh", ["r2"], ["y"], name="tanh"),
    ]
    g = helper.make_graph(nodes, "oot", [x], [y])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    m.ir_version = 8
    onnx.checker.check_model(m)
    onnx.save(m, path)


def expected(x):
    s = 1 / (1 + np.exp(-x))
    return np.tanh(np.maximum(np.maximum(s, 0) - x, 0))


def main():
    ap = argparse.ArgumentParser()
    for a in ("--build-dir", "--source-dir", "--work", "--cmake", "--c-compiler"):
        ap.add_argument(a, required=True)
    o = ap.parse_args()
    work = o.work
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    prefix = os.path.join(work, "prefix")

    sh([o.cmake, "--install", o.build_dir, "--prefix", prefix])
    cli = os.path.join(prefix, "bin", "semseg-onnx")
    for must in (cli, os.path.join(prefix, "include", "semseg", "plugin.h"),
                 os.path.join(prefix, "include", "semseg", "semseg.h")):
        if not os.path.exists(must):
            sys.exit(f"FAIL: install did not create {must}")
    libdirs = [d for d in ("lib", "lib64", "lib/x86_64-linux-gnu") if os.path.isdir(os.path.join(prefix, d, "cmake", "semseg"))]
    if not libdirs:
        sys.exit("FAIL: no <libdir>/cmake/semseg in the install")
    libdir = os.path.join(prefix, libdirs[0])
    for must in ("libsemseg.so", "libsemseg.a", "pkgconfig/semseg.pc", "cmake/semseg/semsegConfig.cmake",
                 "cmake/semseg/semsegConfigVersion.cmake", "cmake/semseg/semsegTargets.cmake"):
        if not os.path.exists(os.path.join(libdir, must)):
            sys.exit(f"FAIL: install did not create {libdir}/{must}")
    if not os.path.isdir(os.path.join(libdir, "semseg-onnx", "plugins")):
        sys.exit(f"FAIL: no {libdir}/semseg-onnx/plugins (plugins are installed there)")

    # The plugin, against the installed package only: no source-tree include path.
    pbuild = os.path.join(work, "plugin-build")
    sh([o.cmake, "-S", os.path.join(o.source_dir, "plugin"), "-B", pbuild, f"-DCMAKE_PREFIX_PATH={prefix}",
        f"-DCMAKE_C_COMPILER={o.c_compiler}", "-DCMAKE_BUILD_TYPE=Release"])
    sh([o.cmake, "--build", pbuild])
    so = os.path.join(pbuild, "semseg-oot_relu.so")
    if not os.path.exists(so):
        sys.exit(f"FAIL: plugin build did not produce {so}")
    flags = open(os.path.join(pbuild, "CMakeFiles", "oot_relu.dir", "flags.make")).read()
    if os.path.abspath(os.path.join(o.source_dir, "..", "..", "include")) in flags:
        sys.exit("FAIL: the plugin was compiled with the source tree's include folder")

    env = dict(os.environ, SEMSEG_PLUGIN_PATH=pbuild)
    out = sh([cli, "plugins"], env=env)
    line = [l for l in out.splitlines() if l.startswith("oot_relu")]
    if not line or "loaded" not in line[0]:
        sys.exit("FAIL: `semseg-onnx plugins` does not show oot_relu as loaded")
    installed_ref = os.path.join(libdir, "semseg-onnx", "plugins", "semseg-ref.so")
    line = [l for l in out.splitlines() if l.startswith("ref ")]
    if not line or "loaded" not in line[0] or installed_ref not in line[0]:
        sys.exit(f"FAIL: the installed CLI does not load ref from {installed_ref}")

    model = os.path.join(work, "oot.onnx")
    make_model(model)
    out = sh([cli, "info", model, "--backend", "oot_relu,ref"], env=env)
    rows = {}
    for l in out.splitlines():
        # "#  op  output  plugin  name"
        m = re.match(r"\s+\d+\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s*$", l)
        if m and m.group(4) in ("sig", "relu_a", "sub", "relu_b", "tanh"):
            rows[m.group(4)] = (m.group(1), m.group(3))
    want = {"sig": "ref", "relu_a": "oot_relu", "sub": "ref", "relu_b": "oot_relu", "tanh": "ref"}
    for name, plugin in want.items():
        if name not in rows:
            sys.exit(f"FAIL: info shows no row for node {name}")
        if rows[name][1] != plugin:
            sys.exit(f"FAIL: node {name} ({rows[name][0]}) resolved to {rows[name][1]}, expected {plugin}")
    print("info: Relu nodes on oot_relu, the rest on ref")

    x = np.random.default_rng(3).standard_normal((1, 2, 3, 4)).astype(np.float32)
    inp = os.path.join(work, "x.npy")
    np.save(inp, x)
    outdir = os.path.join(work, "out")
    sh([cli, "run", model, inp, "--save-tensors", outdir, "--backend", "oot_relu,ref"], env=env)
    t = onnx.TensorProto()
    t.ParseFromString(open(os.path.join(outdir, "output_0.pb"), "rb").read())
    got = numpy_helper.to_array(t)
    err = float(np.max(np.abs(got - expected(x))))
    if err > 1e-5:
        sys.exit(f"FAIL: output through oot_relu differs from numpy by {err}")
    print(f"run through oot_relu: max abs error {err:.2e} vs numpy")

    # Consumers of the library: pkg-config and find_package.
    pc_env = dict(os.environ, PKG_CONFIG_PATH=os.path.join(libdir, "pkgconfig"))
    if shutil.which("pkg-config"):
        flags = sh(["pkg-config", "--cflags", "--libs", "semseg"], env=pc_env).split()
        exe = os.path.join(work, "consumer_pc")
        sh([o.c_compiler, "-std=c11", "-o", exe, os.path.join(o.source_dir, "consumer", "consumer.c"), *flags,
            f"-Wl,-rpath,{libdir}"])
        out = sh([exe, model], env=env)
        if "input x" not in out or "output y" not in out:
            sys.exit("FAIL: pkg-config consumer did not list the model's input and output")
    cbuild = os.path.join(work, "consumer-build")
    sh([o.cmake, "-S", os.path.join(o.source_dir, "consumer"), "-B", cbuild, f"-DCMAKE_PREFIX_PATH={prefix}",
        f"-DCMAKE_C_COMPILER={o.c_compiler}"])
    sh([o.cmake, "--build", cbuild])
    for exe in ("consumer_shared", "consumer_static"):
        out = sh([os.path.join(cbuild, exe), model], env=env)
        if "input x" not in out:
            sys.exit(f"FAIL: {exe} did not list the model's input")
    print("PASS")


if __name__ == "__main__":
    main()
