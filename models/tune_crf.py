"""Tunes the DenseCRF parameters on TRAIN scenes, then measures them on val.

    python models/tune_crf.py --cli build/tools/semseg-onnx --per-model --val 96,512

The parameters of `deeplabv2_crf.onnx` (release.CRF_ATTRS) and the README's
CRF table come from this script. Nothing here looks at val scenes while
choosing:

1. Tuning set: TUNE_SCENES scenes from scenes.make_batch(TUNE_SEED, ...) with
   the train digits (DigitBank("train")), the generator and split of
   training. TUNE_SEED is used by nothing else (training draws batch k from
   seed 1 000 000 + k, k < 3 400; val is seed 7; the samples 500..503).
2. Logits of deeplabv2, deeplabv3 and pspnet on them through the C runtime
   (`semseg-onnx run models/NAME.onnx` on the normalized tensors).
3. Search: every setting is an ai.semseg::DenseCRF -> ArgMax model run by
   the same CLI over the cached logits (and the scenes' RGB as `image`); its
   score is each model's train mIoU of the CRF's argmax, and the objective of
   the shared set is the mean over the three models. A coarse grid over the
   bilateral kernel (bi_w x bi_xy_std x bi_rgb_std, 3 x 4 x 4) at 5
   iterations and the Gaussian kernel (3, 1), then coordinate refinement of
   every parameter
   (iterations, pos_w, pos_xy_std, bi_w, bi_xy_std, bi_rgb_std) over
   finer values around the best, until a sweep changes nothing. The
   normalization is `after` throughout. Every tried setting is logged with
   its mIoU per model. With --per-model, the same refinement then runs for
   each model's own mIoU, starting from the shared setting.
4. With --val 96,512: the chosen setting(s) on the first 96 val scenes (the
   shipped subset, models/data/val_subset.npz) and on all 512, with and
   without the CRF, for the three models (C runtime both ways).

Everything is a function of fixed seeds; the search is deterministic, and the
CRF's result does not depend on the thread count. The networks' logits are
cached in --work (default /tmp/semseg_tune_crf) and reused while the .onnx
file is unchanged.
"""
import argparse
import hashlib
import itertools
import json
import os
import subprocess
import sys
import time

import numpy as np
import onnx
from onnx import TensorProto, helper

import add_crf
import scenes

HERE = os.path.dirname(os.path.abspath(__file__))
TUNE_SEED = 2_000_000
TUNE_SCENES = 128
VAL_SEED = 7          # = train.VAL_SEED (not imported: train.py pulls in torch's training setup)
VAL_SCENES = 512
MODELS = ("deeplabv2", "deeplabv3", "pspnet")
BATCH = 64
# Start of the search and the parameters that stay fixed in its first stage.
START = dict(iterations=5, pos_w=3.0, pos_xy_std=1.0, bi_w=8.0, bi_xy_std=8.0,
             bi_rgb_std=10.0)
COARSE = dict(bi_w=(3.0, 6.0, 12.0), bi_xy_std=(3.0, 6.0, 12.0, 24.0),
              bi_rgb_std=(5.0, 10.0, 20.0, 40.0))
# Candidate values per parameter for the refinement (neighbours of the
# current best are tried, one parameter at a time).
LADDER = dict(
    iterations=(1, 2, 3, 5, 7, 10),
    pos_w=(0.0, 0.5, 1.0, 2.0, 3.0, 4.0, 6.0, 8.0),
    pos_xy_std=(0.5, 0.75, 1.0, 1.5, 2.0, 3.0),
    bi_w=(1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0, 12.0, 16.0, 20.0, 24.0, 32.0),
    bi_xy_std=(1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0, 12.0, 16.0, 20.0, 24.0, 32.0, 48.0, 64.0),
    bi_rgb_std=(2.0, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0, 12.0, 16.0, 20.0, 24.0, 32.0, 48.0, 64.0),
)
PARAMS = tuple(LADDER)


# The CLI round trip (tensor files in, --save-tensors out) the model tests use.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "models"))
from modeltest import read_pb, run_cli, write_pb  # noqa: E402


def image_tensor(images_u8):
    """uint8 N x H x W x 3 -> the CRF's `image`: float RGB 0..255, N x 3 x H x W."""
    return np.ascontiguousarray(images_u8.astype(np.float32).transpose(0, 3, 1, 2))


def c_logits(cli, name, images, work, tag):
    """The C runtime's logits of models/NAME.onnx on uint8 scenes (cached in work)."""
    cache = os.path.join(work, f"{tag}_{name}_logits.npy")
    onnx_path = os.path.join(HERE, name + ".onnx")
    with open(onnx_path, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()[:16]
    stamp = cache + ".sha"
    if os.path.exists(cache) and os.path.exists(stamp) and open(stamp).read() == digest:
        return np.load(cache)
    outs = []
    for i in range(0, len(images), BATCH):
        inp = os.path.join(work, "net_input.pb")
        write_pb(inp, scenes.to_input(images[i:i + BATCH]), "input")
        outs.append(run_cli(cli, onnx_path, inp, os.path.join(work, "net_out")))
    logits = np.concatenate(outs)
    np.save(cache, logits)
    with open(stamp, "w") as f:
        f.write(digest)
    return logits


def crf_model(path, attrs):
    """DenseCRF(logits, image) -> ArgMax over classes -> labels [N, H, W] (int64),
    N/H/W symbolic: the CLI then writes 8 bytes a pixel instead of 44."""
    node = helper.make_node("DenseCRF", ["logits", "image"], ["probabilities"], name="dense_crf",
                            domain=add_crf.SEMSEG_DOMAIN, iterations=int(attrs["iterations"]),
                            pos_w=float(attrs["pos_w"]), pos_xy_std=float(attrs["pos_xy_std"]),
                            bi_w=float(attrs["bi_w"]), bi_xy_std=float(attrs["bi_xy_std"]),
                            bi_rgb_std=float(attrs["bi_rgb_std"]), normalization="after",
                            output="prob")
    argmax = helper.make_node("ArgMax", ["probabilities"], ["labels"], name="argmax", axis=1,
                              keepdims=0)
    dims = lambda c: ["N", c, "H", "W"]  # noqa: E731
    g = helper.make_graph([node, argmax], "dense_crf",
                          [helper.make_tensor_value_info("logits", TensorProto.FLOAT, dims(scenes.NUM_CLASSES)),
                           helper.make_tensor_value_info("image", TensorProto.FLOAT, dims(3))],
                          [helper.make_tensor_value_info("labels", TensorProto.INT64, ["N", "H", "W"])])
    mp = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13),
                                             helper.make_opsetid(add_crf.SEMSEG_DOMAIN, 1)])
    onnx.save(mp, path)


class Evaluator:
    """mIoU of the CRF's argmax per model, over fixed scenes whose logits are cached."""

    def __init__(self, cli, work, images, labels, logits, threads):
        self.cli, self.work, self.labels, self.threads = cli, work, labels, threads
        self.logits = logits                      # name -> N x C x H x W
        self.image_pbs = []
        for i in range(0, len(images), BATCH):
            p = os.path.join(work, f"image_{i}.pb")
            write_pb(p, image_tensor(images[i:i + BATCH]), "image")
            self.image_pbs.append(p)
        self.logit_pbs = {}
        for name, lg in logits.items():
            self.logit_pbs[name] = []
            for i in range(0, len(images), BATCH):
                p = os.path.join(work, f"logits_{name}_{i}.pb")
                write_pb(p, lg[i:i + BATCH], "logits")
                self.logit_pbs[name].append(p)
        self.cache = {}

    def plain(self):
        return {n: miou_of(lg.argmax(1), self.labels) for n, lg in self.logits.items()}

    def __call__(self, attrs, names=MODELS):
        """{name: mIoU} for the given models; new is True if any was computed now."""
        key = tuple(attrs[p] for p in PARAMS)
        todo = [n for n in names if (key, n) not in self.cache]
        if todo:
            model = os.path.join(self.work, "crf.onnx")
            crf_model(model, attrs)
        for name in todo:
            preds = []
            for lp, ip in zip(self.logit_pbs[name], self.image_pbs):
                preds.append(run_cli(self.cli, model, lp, os.path.join(self.work, "crf_out"),
                                     extra=("--input", "image=" + ip, "--threads", str(self.threads))))
            self.cache[key, name] = miou_of(np.concatenate(preds), self.labels)
        return {n: self.cache[key, n] for n in names}, bool(todo)


def shipped_crf_miou(cli, model, images, labels, work, batch=32):
    """mIoU of a network + DenseCRF file (inputs `input` and `image`, as
    deeplabv2_crf.onnx) run whole by the CLI, as tests/models/check_crf.py does."""
    os.makedirs(work, exist_ok=True)
    preds = []
    for i in range(0, len(images), batch):
        inp, img = os.path.join(work, "input_0.pb"), os.path.join(work, "image.pb")
        write_pb(inp, scenes.to_input(images[i:i + batch]), "input")
        write_pb(img, image_tensor(images[i:i + batch]), "image")
        preds.append(run_cli(cli, model, inp, os.path.join(work, "out"),
                             extra=("--input", "image=" + img)).argmax(1))
    return miou_of(np.concatenate(preds), labels)


def miou_of(pred, labels):
    return scenes.miou(scenes.confusion(pred.astype(np.int64), labels))


def fmt(attrs):
    return " ".join(f"{p}={attrs[p]:g}" for p in PARAMS)


class Search:
    """Maximizes the mean train mIoU over `names` (all three models, or one)."""

    def __init__(self, ev, names=MODELS):
        self.ev, self.names, self.log, self.t0 = ev, names, [], time.time()

    def score(self, attrs):
        res, new = self.ev(attrs, self.names)
        s = float(np.mean([res[n] for n in self.names]))
        if new:
            self.log.append((dict(attrs), res))
            print(f"[{'+'.join(self.names)} {len(self.log):3d} {time.time() - self.t0:5.0f}s] {fmt(attrs)}  "
                  + "  ".join(f"{n} {res[n]:.4f}" for n in self.names)
                  + (f"  mean {s:.4f}" if len(self.names) > 1 else ""), flush=True)
        return s

    def coarse(self):
        best, best_s = None, -1.0
        for bw, bx, br in itertools.product(COARSE["bi_w"], COARSE["bi_xy_std"], COARSE["bi_rgb_std"]):
            a = dict(START, bi_w=bw, bi_xy_std=bx, bi_rgb_std=br)
            s = self.score(a)
            if s > best_s:
                best, best_s = a, s
        return best, best_s

    def refine(self, best, best_s):
        """Coordinate ascent: per parameter, walk the ladder up and down from the
        current value while the objective improves; repeat until a sweep changes
        nothing."""
        changed = True
        while changed:
            changed = False
            for p in PARAMS:
                ladder = LADDER[p]
                if best[p] not in ladder:
                    ladder = tuple(sorted(set(ladder) | {best[p]}))
                i0 = ladder.index(best[p])
                for step in (1, -1):
                    i = i0 + step
                    while 0 <= i < len(ladder):
                        a = dict(best, **{p: ladder[i]})
                        s = self.score(a)
                        if s > best_s + 1e-9:
                            best, best_s, changed = a, s, True
                            i += step
                        else:
                            break
                    if best[p] != ladder[i0]:
                        break   # improved going up: no need to go down
        return best, best_s


def load_val(n):
    with np.load(os.path.join(HERE, "data", "val_subset.npz")) as z:
        if n <= len(z["images"]):
            return z["images"][:n], z["labels"][:n]
    return scenes.make_batch(VAL_SEED, n, scenes.DigitBank("val"))


def mean_miou(res):
    return float(np.mean([res[n] for n in MODELS]))


def tune(ev, plain, per_model, t0):
    """The shared setting (coarse grid, then refinement), then optionally one per
    model (refinement of that model's own mIoU from the shared setting)."""
    search = Search(ev)
    best, best_s = search.coarse()
    print(f"coarse best: {fmt(best)}  mean {best_s:.4f}", flush=True)
    best, best_s = search.refine(best, best_s)
    res = ev(best)[0]
    print(f"\nchosen, shared by the three models ({len(search.log)} settings tried, "
          f"{time.time() - t0:.0f}s): {fmt(best)}")
    for n in MODELS:
        print(f"  {n}: train mIoU without CRF {plain[n]:.4f}, with {res[n]:.4f}")
    out = {"chosen": best, "train_miou_with_crf": res,
           "log": [{"attributes": a, "miou": r} for a, r in search.log], "per_model": {}}
    if per_model:
        for n in MODELS:
            s1 = Search(ev, (n,))
            b1, v1 = s1.refine(dict(best), res[n])
            print(f"  best for {n} alone: {fmt(b1)}  train mIoU {v1:.4f} "
                  f"(shared {res[n]:.4f}; {len(s1.log)} more settings)", flush=True)
            out["per_model"][n] = {"attributes": b1, "train_miou": v1,
                                   "log": [{"attributes": a, "miou": r} for a, r in s1.log]}
    return out


def measure_val(cli, work, sizes, settings, threads):
    """{n_val: {"without_crf": {...}, setting name: {...}}} on the first n val scenes."""
    res = {}
    for n_val in sizes:
        vi, vl = load_val(n_val)
        vtag = f"val{VAL_SEED}x{n_val}"
        vlog = {n: c_logits(cli, n, vi, work, vtag) for n in MODELS}
        os.makedirs(os.path.join(work, vtag), exist_ok=True)
        vev = Evaluator(cli, os.path.join(work, vtag), vi, vl, vlog, threads)
        r = {"without_crf": vev.plain()}
        for label, per_name in settings.items():
            r[label] = {n: vev(per_name[n], (n,))[0][n] for n in MODELS}
        res[n_val] = r
        print(f"\nval, first {n_val} scenes (seed {VAL_SEED}, val digits; C runtime):")
        for n in MODELS:
            print(f"  {n}: without CRF {r['without_crf'][n]:.4f}"
                  + "".join(f"  {label} {r[label][n]:.4f} ({r[label][n] - r['without_crf'][n]:+.4f})"
                            for label in settings))
    return res


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cli", required=True, help="the semseg-onnx executable")
    ap.add_argument("--work", default="/tmp/semseg_tune_crf")
    ap.add_argument("--scenes", type=int, default=TUNE_SCENES)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--per-model", action="store_true",
                    help="also refine one setting per model, starting from the shared one")
    ap.add_argument("--val", default="",
                    help="then measure on the first N val scenes, e.g. 96,512 (default: no val)")
    ap.add_argument("--json", help="write the search log and results here")
    args = ap.parse_args()
    os.makedirs(args.work, exist_ok=True)
    cli = os.path.abspath(args.cli)

    t0 = time.time()
    images, labels = scenes.make_batch(TUNE_SEED, args.scenes, scenes.DigitBank("train"))
    tag = f"train{TUNE_SEED}x{args.scenes}"
    logits = {n: c_logits(cli, n, images, args.work, tag) for n in MODELS}
    os.makedirs(os.path.join(args.work, tag), exist_ok=True)
    ev = Evaluator(cli, os.path.join(args.work, tag), images, labels, logits, args.threads)
    plain = ev.plain()
    print(f"tuning set: {args.scenes} train scenes (seed {TUNE_SEED}, train digits); "
          f"mIoU without CRF (C runtime): " + "  ".join(f"{n} {plain[n]:.4f}" for n in MODELS)
          + f"  mean {mean_miou(plain):.4f}", flush=True)
    out = {"tune_seed": TUNE_SEED, "tune_scenes": args.scenes, "digits": "train",
           "objective": "mean over " + ", ".join(MODELS) + " of the train-scene mIoU",
           "normalization": "after", "train_miou_without_crf": plain}
    out.update(tune(ev, plain, args.per_model, t0))
    best = out["chosen"]
    if args.val:
        settings = {"shared": {n: best for n in MODELS}}
        if args.per_model:
            settings["per-model"] = {n: out["per_model"][n]["attributes"] for n in MODELS}
        out["val"] = measure_val(cli, args.work, [int(v) for v in args.val.split(",")],
                                 settings, args.threads)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=1)
    print(f"\nCRF_ATTRS = dict(iterations={best['iterations']}, pos_w={best['pos_w']}, "
          f"pos_xy_std={best['pos_xy_std']}, bi_w={best['bi_w']}, bi_xy_std={best['bi_xy_std']}, "
          f"bi_rgb_std={best['bi_rgb_std']}, normalization=\"after\", output=\"prob\")   "
          f"[{time.time() - t0:.0f}s]")


if __name__ == "__main__":
    main()
