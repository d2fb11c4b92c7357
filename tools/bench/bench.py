#!/usr/bin/env python3
"""semseg-onnx against ONNX Runtime and PyTorch on the same ONNX files.

    .venv/bin/python tools/bench/bench.py [--cli build/tools/semseg-onnx]
        [--models fcn_resnet50,...] [--runs 6] [--rounds 3] [--warmup 1] [--threads 2]
        [--size 520] [--cache DIR] [--out docs/benchmark.md] [--profile]

Exports (once, into --cache; the files are 100+ MB and never committed)
torchvision's FCN-ResNet50, DeepLabV3-ResNet50, DeepLabV3-MobileNetV3-Large and
LR-ASPP-MobileNetV3-Large with seeded random weights (weights=None,
weights_backbone=None, aux_loss off), and the project's PSPNet from models/,
all static at 1x3xSIZExSIZE, opset 13. Then, in one run, for every model:

  semseg-onnx   `semseg-onnx bench MODEL --backend blas,ref --threads T`
  ORT T / ORT 1 onnxruntime's CPU execution provider, intra-op threads T and 1
  PyTorch       the same torch module, torch.set_num_threads(T)

Each measurement is a child process (so its peak RSS is its own, read with
wait4): warm-up run(s), then a few timed runs. The runtimes take turns for
--rounds rounds, so a change in the machine's load hits all of them alike; the
median over all --runs timed runs is reported, and the largest RSS. The table
(with date, CPU model and the OpenBLAS kernel) is printed and written to --out.

OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE are removed from the children's
environment only, so OpenBLAS picks its kernel for this CPU by itself; which
kernel it picked is printed (openblas_get_corename through ctypes).
"""
import argparse
import datetime
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))

TORCHVISION = {
    "fcn_resnet50": "FCN-ResNet50",
    "deeplabv3_resnet50": "DeepLabV3-ResNet50",
    "deeplabv3_mobilenet_v3_large": "DeepLabV3-MobileNetV3-Large",
    "lraspp_mobilenet_v3_large": "LR-ASPP-MobileNetV3-Large",
}
PROJECT = {"pspnet": "PSPNet (models/, ai.semseg pooling)"}
ALL = list(TORCHVISION) + list(PROJECT)
# Targets of issue 6: ratio semseg/ORT at the same thread count.
TARGET = {"fcn_resnet50": 1.0, "deeplabv3_resnet50": 1.0,
          "deeplabv3_mobilenet_v3_large": 1.3, "lraspp_mobilenet_v3_large": 1.3}


def child_env():
    env = dict(os.environ)
    for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):
        env.pop(k, None)
    return env


# ---------------------------------------------------------------- models

class OutOnly:
    """torchvision's segmentation models return a dict; ONNX wants a tensor."""

    @staticmethod
    def wrap(model):
        import torch

        class Wrapped(torch.nn.Module):
            def __init__(self, m):
                super().__init__()
                self.m = m

            def forward(self, x):
                return self.m(x)["out"]
        return Wrapped(model).eval()


def build_model(name):
    import torch
    torch.manual_seed(0)
    if name in TORCHVISION:
        import torchvision.models.segmentation as seg
        kw = {"weights": None, "weights_backbone": None}
        if name != "lraspp_mobilenet_v3_large":
            kw["aux_loss"] = False
        return OutOnly.wrap(getattr(seg, name)(**kw))
    sys.path.insert(0, os.path.join(TOP, "models"))
    import nets
    return nets.build(name).eval()


def export_model(name, path, size):
    import torch
    model = build_model(name)
    dummy = torch.zeros(1, 3, size, size)
    tmp = path + ".tmp"
    if name in TORCHVISION:
        with torch.no_grad():
            torch.onnx.export(model, dummy, tmp, opset_version=13, input_names=["input"],
                              output_names=["out"], do_constant_folding=True)
    else:
        sys.path.insert(0, os.path.join(TOP, "models"))
        import export as project_export
        project_export.export(model, tmp, 13, custom_pool=True, dynamic=False, size=(size, size))
    os.replace(tmp, path)


# ---------------------------------------------------------------- workers

def worker(kind, name, path, threads, runs, warmup, size):
    """Runs in a child process; prints one JSON line with the latencies."""
    import numpy as np
    rng = np.random.RandomState(0)
    x = rng.uniform(-1, 1, (1, 3, size, size)).astype(np.float32)
    if kind == "ort":
        import onnxruntime as ort
        so = ort.SessionOptions()
        so.intra_op_num_threads = threads
        so.inter_op_num_threads = 1
        sess = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
        iname = sess.get_inputs()[0].name
        step = lambda: sess.run(None, {iname: x})  # noqa: E731
    else:
        import torch
        torch.set_num_threads(threads)
        model = build_model(name)
        xt = torch.from_numpy(x)

        def step():
            with torch.no_grad():
                model(xt)
    for _ in range(warmup):
        step()
    lat = []
    for _ in range(runs):
        t0 = time.perf_counter()
        step()
        lat.append((time.perf_counter() - t0) * 1000.0)
    print(json.dumps({"lat": lat}))


def spawn_measured(cmd):
    """Runs cmd; returns (stdout, stderr, exit code, the child's own peak RSS in MiB via wait4)."""
    r, w = os.pipe()
    re_, we = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.dup2(w, 1)
        os.dup2(we, 2)
        os.close(r)
        os.close(re_)
        try:
            os.execvpe(cmd[0], cmd, child_env())
        finally:
            os._exit(127)
    os.close(w)
    os.close(we)
    with os.fdopen(r) as fo, os.fdopen(re_) as fe:
        # the child's output is small; reading stdout then stderr cannot deadlock
        # unless stderr fills its pipe, so read stderr in a thread
        import threading
        errbuf = []
        t = threading.Thread(target=lambda: errbuf.append(fe.read()))
        t.start()
        out = fo.read()
        t.join()
    _, status, ru = os.wait4(pid, 0)
    code = os.waitstatus_to_exitcode(status)
    return out, errbuf[0] if errbuf else "", code, ru.ru_maxrss / 1024.0


def measure_python(kind, name, path, threads, runs, args):
    """One child process: warm-up, then `runs` timed runs; their latencies."""
    cmd = [sys.executable, os.path.abspath(__file__), "--worker", kind, "--models", name,
           "--threads", str(threads), "--runs", str(runs), "--warmup", str(args.warmup),
           "--size", str(args.size), "--model-file", path]
    out, err, code, rss = spawn_measured(cmd)
    if code != 0:
        return {"error": (err.strip().splitlines() or ["exit %d" % code])[-1][:160]}
    return {"lat": json.loads(out.strip().splitlines()[-1])["lat"], "rss": rss}


def measure_semseg(path, threads, runs, args):
    """Like measure_python; with runs <= 3, the CLI's min/median/max are all
    the runs, so every latency is recovered."""
    # --profile costs two clock reads per node; its per-op table goes in the report
    cmd = [args.cli, "bench", path, "--backend", "blas,ref", "--threads", str(threads),
           "-n", str(runs), "--warmup", str(args.warmup), "--profile"]
    out, err, code, rss = spawn_measured(cmd)
    if code != 0:
        return {"error": (err.strip().splitlines() or ["exit %d" % code])[-1][:160]}
    m = re.search(r"min\s+([0-9.]+)\s+median\s+([0-9.]+)\s+max\s+([0-9.]+)", out)
    if not m:
        return {"error": "no latencies in semseg-onnx bench output"}
    lo, med, hi = (float(v) for v in m.groups())
    lat = [med] if runs == 1 else [lo, hi] if runs == 2 else [lo, med, hi]
    ops = re.findall(r"^\s+(\S+)\s+([0-9.]+) ms\s+([0-9.]+)%$", out, re.M)
    return {"lat": lat, "rss": rss, "log": out,
            "ops": [(o, float(ms), float(pc)) for o, ms, pc in ops]}


def merge(acc, r):
    """Adds one round's result to the runtime's totals."""
    if "error" in acc:
        return acc
    if "error" in r:
        return r
    acc.setdefault("lat", []).extend(r["lat"])
    acc["rss"] = max(acc.get("rss", 0.0), r["rss"])
    acc["median"] = statistics.median(acc["lat"])
    for k in ("log", "ops"):
        if k in r:
            acc[k] = r[k]
    return acc


# ---------------------------------------------------------------- report

def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def openblas_kernel():
    """openblas_get_corename() in a child with the benchmark's environment."""
    code = ("import ctypes,ctypes.util\n"
            "for n in ('libopenblas.so.0', ctypes.util.find_library('openblas')):\n"
            "    try:\n"
            "        lib = ctypes.CDLL(n)\n"
            "    except (OSError, TypeError):\n"
            "        continue\n"
            "    lib.openblas_get_corename.restype = ctypes.c_char_p\n"
            "    lib.openblas_get_config.restype = ctypes.c_char_p\n"
            "    print(lib.openblas_get_corename().decode(), '|', lib.openblas_get_config().decode())\n"
            "    break\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=child_env())
    return out.stdout.strip() or "unknown"


def fmt_ms(r):
    return "%.0f" % r["median"] if "median" in r else "n/a"


def fmt_rss(r):
    return "%.0f" % r["rss"] if "rss" in r else "n/a"


def ratio(a, b):
    if "median" in a and "median" in b and b["median"] > 0:
        return "%.2f" % (a["median"] / b["median"])
    return "n/a"


def table(results, threads):
    t = threads
    lines = [
        f"| model | semseg blas,ref {t}T (ms) | ORT {t}T (ms) | ORT 1T (ms) | PyTorch {t}T (ms) "
        f"| semseg/ORT {t}T | target | semseg/PyTorch | peak RSS MiB semseg / ORT {t}T / PyTorch |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for name, r in results.items():
        s, o, o1, pt = r["semseg"], r["ort"], r["ort1"], r["torch"]
        tgt = TARGET.get(name)
        lines.append(
            f"| {TORCHVISION.get(name) or PROJECT.get(name)} | {fmt_ms(s)} | {fmt_ms(o)} | {fmt_ms(o1)} | {fmt_ms(pt)} "
            f"| {ratio(s, o)} | {'<= %.1f' % tgt if tgt else '-'} | {ratio(s, pt)} "
            f"| {fmt_rss(s)} / {fmt_rss(o)} / {fmt_rss(pt)} |")
    return "\n".join(lines)


def profiles(results):
    """One line per model: where semseg-onnx's time goes, by op type."""
    out = []
    for name, r in results.items():
        ops = r["semseg"].get("ops")
        if ops:
            top = ", ".join(f"{o} {ms:.0f} ms ({pc:.0f}%)" for o, ms, pc in ops[:5])
            out.append(f"- {TORCHVISION.get(name) or PROJECT.get(name)}: {top}")
    return "\n".join(out)


def write_report(path, text):
    """Replaces the measured part of path between the markers, keeping the
    hand-written notes around it; creates the file when missing."""
    begin, end = "<!-- bench:begin -->", "<!-- bench:end -->"
    block = f"{begin}\n{text}\n{end}\n"
    old = ""
    if os.path.exists(path):
        with open(path) as f:
            old = f.read()
    if begin in old and end in old:
        new = old[:old.index(begin)] + block + old[old.index(end) + len(end) + 1:]
    else:
        new = "# Benchmark: semseg-onnx vs ONNX Runtime and PyTorch\n\n" + block + old
    with open(path, "w") as f:
        f.write(new)


def errors(results):
    out = []
    for name, r in results.items():
        for k, v in r.items():
            if "error" in v:
                out.append(f"- {name}, {k}: {v['error']}")
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cli", default=os.path.join(TOP, "build", "tools", "semseg-onnx"))
    ap.add_argument("--models", default=",".join(ALL))
    ap.add_argument("--runs", type=int, default=6, help="timed runs per runtime, over all rounds")
    ap.add_argument("--rounds", type=int, default=3, help="child processes per runtime, alternating")
    ap.add_argument("--warmup", type=int, default=1, help="untimed runs at the start of each round")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--size", type=int, default=520)
    ap.add_argument("--cache", default=os.path.join(os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")),
                                                    "semseg-onnx-bench"))
    ap.add_argument("--out", help="markdown file to write (e.g. docs/benchmark.md)")
    ap.add_argument("--profile", action="store_true", help="print semseg-onnx's whole profile output")
    ap.add_argument("--skip", default="", help="comma list of runtimes to skip: semseg,ort,ort1,torch")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--model-file", help=argparse.SUPPRESS)
    ap.add_argument("--export-one", nargs=2, metavar=("NAME", "PATH"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.export_one:
        export_model(args.export_one[0], args.export_one[1], args.size)
        return 0
    if args.runs < 1 or args.rounds < 1:
        ap.error("--runs and --rounds must be >= 1")
    if -(-args.runs // args.rounds) > 3:
        ap.error("at most 3 timed runs per round (raise --rounds): the CLI reports min/median/max only")

    if args.worker:
        worker(args.worker, args.models, args.model_file, args.threads, args.runs, args.warmup, args.size)
        return 0

    names = [n for n in args.models.split(",") if n]
    for n in names:
        if n not in ALL:
            ap.error(f"unknown model {n}; known: {', '.join(ALL)}")
    skip = set(filter(None, args.skip.split(",")))
    if "semseg" not in skip and not os.access(args.cli, os.X_OK):
        ap.error(f"{args.cli}: no semseg-onnx binary there; build it or pass --cli")
    os.makedirs(args.cache, exist_ok=True)
    kernel = openblas_kernel()
    print(f"CPU: {cpu_model()}, {os.cpu_count()} logical CPUs; OpenBLAS kernel: {kernel}", flush=True)

    results = {}
    for name in names:
        path = os.path.join(args.cache, f"{name}_{args.size}_op13.onnx")
        if not os.path.exists(path):
            print(f"exporting {name} -> {path}", flush=True)
            # in a child: torch in this process would raise its RSS, and the
            # measured children, forked from it, would inherit that high-water
            # mark (Linux keeps ru_maxrss across exec)
            subprocess.run([sys.executable, os.path.abspath(__file__), "--export-one", name, path,
                            "--size", str(args.size)], check=True)
        r = {k: ({"error": "skipped"} if k in skip else {}) for k in ("semseg", "ort", "ort1", "torch")}
        if name in PROJECT:
            r["ort"] = r["ort1"] = {"error": "ORT cannot run ai.semseg::AdaptiveAvgPool2d"}
        # Rounds alternate the runtimes, so a change in the machine's load
        # during the run hits all of them alike rather than whichever ran then.
        per = -(-args.runs // args.rounds)
        runs = {
            "semseg": lambda: measure_semseg(path, args.threads, per, args),
            "ort": lambda: measure_python("ort", name, path, args.threads, per, args),
            "ort1": lambda: measure_python("ort", name, path, 1, per, args),
            "torch": lambda: measure_python("torch", name, path, args.threads, per, args),
        }
        for _ in range(args.rounds):
            for k, run in runs.items():
                if "error" not in r[k]:
                    r[k] = merge(r[k], run())
        results[name] = r
        print(f"{name}: " + ", ".join(f"{k} {fmt_ms(v)} ms / {fmt_rss(v)} MiB" for k, v in r.items()), flush=True)
        if args.profile and "log" in r["semseg"]:
            print(r["semseg"]["log"])

    tab = table(results, args.threads)
    errs = errors(results)
    print()
    print(tab)
    if errs:
        print(errs)
    prof = profiles(results)
    print(prof)
    if args.out:
        now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        text = (f"Measured {now} by `tools/bench/bench.py` on {cpu_model()} "
                f"({os.cpu_count()} logical CPUs, load average {os.getloadavg()[0]:.1f} at the end), "
                f"OpenBLAS kernel `{kernel}`, input 1x3x{args.size}x{args.size}, median of "
                f"{args.rounds * -(-args.runs // args.rounds)} timed runs per runtime in {args.rounds} "
                f"alternating rounds (a child process each, {args.warmup} warm-up run(s) first), "
                f"{args.threads} threads unless marked 1T.\n\n"
                + tab + "\n\nsemseg-onnx time by op type (`semseg-onnx bench --profile`):\n\n" + prof + "\n")
        if errs:
            text += "\nNot measured:\n\n" + errs + "\n"
        write_report(args.out, text)
        print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
