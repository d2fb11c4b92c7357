"""One model on `--backend opencl,ref`, checked three ways:

  placement  `semseg-onnx info` at the data set's input size puts every Conv,
             ConvTranspose, Resize/Upsample and pooling node on opencl;
  accuracy   `semseg-onnx validate` against the PyTorch reference tensors for
             every data set given, with atol = 1e-4 * max(1, max |reference|)
             (float sums in another order drift with the output's scale: a
             ResNet-50 FCN with outputs near 50 differs by ~2e-4) and the
             CLI's default rtol;
  warm start with fresh program caches (ours and PoCL's), a first validate
             compiles; a second one compiles no program (the plugin's
             SEMSEG_OPENCL_VERBOSE line) and adds nothing to PoCL's kernel
             cache, i.e. spends no time compiling.

With --no-platform EMPTY_ICD_DIR instead: OpenCL has no platform
(OCL_ICD_VENDORS points at an empty directory); validate on
`--backend opencl,ref` must still pass, on ref, after one line saying opencl
was skipped.

Usage: check_model.py CLI MODEL WORKDIR DATASET [DATASET...]
       check_model.py --no-platform EMPTY_ICD_DIR CLI MODEL DATASET [DATASET...]
"""
import os
import re
import shutil
import subprocess
import sys

from onnx import TensorProto, numpy_helper

MUST_RUN_ON_OPENCL = {"Conv", "ConvTranspose", "Resize", "Upsample", "MaxPool", "AveragePool",
                      "GlobalAveragePool", "GlobalMaxPool", "ai.semseg::AdaptiveAvgPool2d"}


def fail(msg):
    print("FAIL " + msg)
    sys.exit(1)


def read_tensor(path):
    t = TensorProto()
    with open(path, "rb") as f:
        t.ParseFromString(f.read())
    return numpy_helper.to_array(t)


def input_hw(dataset):
    dims = read_tensor(os.path.join(dataset, "input_0.pb")).shape
    return dims[-2], dims[-1]


def output_scale(datasets):
    scale = 1.0
    for d in datasets:
        for name in sorted(os.listdir(d)):
            if name.startswith("output_") and name.endswith(".pb"):
                a = read_tensor(os.path.join(d, name))
                if a.dtype.kind == "f" and a.size:
                    scale = max(scale, float(abs(a).max()))
    return scale


def run(cmd, env):
    p = subprocess.run(cmd, env=env, capture_output=True, text=True)
    return p.returncode, p.stdout, p.stderr


def files_under(d):
    out = set()
    for root, _, names in os.walk(d):
        out.update(os.path.join(root, n) for n in names if not n.startswith("tempfile"))
    return out


def no_platform(icd_dir, cli, model, datasets):
    env = dict(os.environ, OCL_ICD_VENDORS=icd_dir)
    rc, out, err = run([cli, "validate", model, *datasets, "--backend", "opencl,ref",
                        "--atol", f"{1e-4 * output_scale(datasets):.3g}"], env)
    if rc != 0:
        fail(f"validate without a platform exited {rc}:\n{out}{err}")
    skipped = [l for l in err.splitlines() if "opencl" in l]
    if len(skipped) != 1 or "skipped" not in skipped[0]:
        fail(f"expected one line saying opencl was skipped, got: {err.strip()!r}")
    print(f"ok   no platform: {skipped[0].strip()}")
    print(f"ok   {out.strip().splitlines()[-1]}")


def main():
    if sys.argv[1] == "--no-platform":
        return no_platform(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5:])
    cli, model, work, datasets = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
    env = dict(os.environ)
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    env["SEMSEG_CACHE_DIR"] = os.path.join(work, "semseg-cache")
    env["POCL_CACHE_DIR"] = os.path.join(work, "pocl-cache")
    env["SEMSEG_OPENCL_VERBOSE"] = "1"

    atol = 1e-4 * output_scale(datasets)
    runs = []
    for attempt in (1, 2):
        before = files_under(env["POCL_CACHE_DIR"])
        rc, out, err = run([cli, "validate", model, *datasets, "--backend", "opencl,ref",
                            "--atol", f"{atol:.3g}"], env)
        if rc != 0:
            fail(f"validate (run {attempt}) exited {rc}:\n{out}{err}")
        # One line per opencl context (session) the process made.
        lines = re.findall(r"opencl: programs: (\d+) compiled, (\d+) from cache, (\d+) ms", err)
        if not lines:
            fail(f"no SEMSEG_OPENCL_VERBOSE line in run {attempt}: {err.strip()}")
        built, cached, ms = (sum(int(l[i]) for l in lines) for i in range(3))
        new = files_under(env["POCL_CACHE_DIR"]) - before
        runs.append((built, cached, ms, len(new)))
        print(f"ok   validate run {attempt}: {out.strip().splitlines()[-1]}")
        print(f"     programs compiled {built}, from cache {cached}, {ms} ms; "
              f"{len(new)} new files in PoCL's kernel cache")
    if runs[0][0] == 0:
        fail("first run with empty caches compiled nothing (is the cache dir honoured?)")
    if runs[1][0] != 0 or runs[1][3] != 0:
        fail("second run compiled again")
    print("ok   second run compiles nothing")

    h, w = input_hw(datasets[0])
    rc, out, err = run([cli, "info", model, "--backend", "opencl,ref", "--input-size", f"{h}x{w}"], env)
    if rc != 0:
        fail(f"info exited {rc}: {err.strip()}")
    rows = [l.split() for l in out.splitlines() if re.match(r"\s+\d+\s+\S+\s+\S+\s+\S+\s+\S", l)]
    bad = [r for r in rows if r[1].split("+")[0] in MUST_RUN_ON_OPENCL and r[3] != "opencl"]
    if not rows:
        fail("no node table in `info` output")
    if bad:
        fail("not on opencl: " + ", ".join(f"{r[1]} {r[4]} ({r[3]})" for r in bad[:8]))
    print(f"ok   placement: {len(rows)} nodes, every Conv/Resize/pool on opencl")


if __name__ == "__main__":
    main()
