#!/usr/bin/env python3
"""DenseCRF benchmark: semseg-onnx's ref op against pydensecrf, same run.

Input: a 500x375 RGB photo (scikit-learn's sample image china.jpg, resized)
and 21-label logits shaped like a network's: a coarse (1/8 resolution) map,
made from colour clusters of the photo plus smooth noise, upsampled
bilinearly to the photo. Parameters: DeepLab-v2's VOC values, 10 iterations,
symmetric normalisation (pydensecrf's only one for DenseCRF2D's kernels).

Times (median of --runs, seconds per image, whole call including lattice
construction; wall clock and process CPU time): bench_crf (C driver linking densecrf.c and the lattice) on 1 and 2
threads; pydensecrf from DenseCRF2D() to inference() returning. Then the
MAP agreement between the two, and a Markdown table for docs/densecrf.md.

    .venv/bin/python tools/bench_crf/bench_crf.py --driver BUILD/tools/bench_crf/bench_crf

--compare-driver OTHER/tools/bench_crf/bench_crf (a build of another version
of the sources) adds its 1-thread row to the same run, for before/after
figures taken under the same machine load.

--floor-driver BUILD/tools/bench_crf/lattice_floor also times the bilateral
lattice's splat, blur and slice on the same photo against the memory
traffic they cannot avoid (see lattice_floor.c and docs/densecrf.md).

pydensecrf comes from PyPI as `pydensecrf2` (pip builds it from source and
it installs the `pydensecrf` module); without it the script times ours only.
"""
import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

H, W, C = 375, 500, 21
PARAMS = dict(iterations=10, pos_w=3.0, pos_xy_std=1.0, bi_w=4.0, bi_xy_std=67.0, bi_rgb_std=3.0)


def make_input(seed=0):
    """The photo [H,W,3] uint8 and logits [C,H,W] float32."""
    from PIL import Image
    from sklearn.datasets import load_sample_image

    photo = Image.fromarray(load_sample_image("china.jpg")).resize((W, H), Image.BILINEAR)
    img = np.array(photo, dtype=np.uint8, order="C")  # writable: pydensecrf wants that
    rng = np.random.default_rng(seed)
    # Coarse "network output": k-means on the colours of a 1/8 image, each
    # cluster mapped to a label, plus smooth noise; then bilinear upsampling.
    hs, ws = (H + 7) // 8, (W + 7) // 8
    small = np.asarray(photo.resize((ws, hs), Image.BILINEAR), dtype=np.float64).reshape(-1, 3)
    k = 6
    centres = small[rng.choice(len(small), k, replace=False)]
    for _ in range(20):
        lab = np.argmin(((small[:, None, :] - centres[None]) ** 2).sum(-1), axis=1)
        for j in range(k):
            if np.any(lab == j):
                centres[j] = small[lab == j].mean(0)
    label_of_cluster = rng.choice(C, k, replace=False)
    coarse = rng.normal(0.0, 1.0, (C, hs, ws))
    coarse[label_of_cluster[lab.reshape(hs, ws)], np.arange(hs)[:, None], np.arange(ws)[None, :]] += 2.5
    t = np.asarray(coarse, dtype=np.float32)
    logits = np.stack([np.asarray(Image.fromarray(t[c]).resize((W, H), Image.BILINEAR)) for c in range(C)])
    return img, np.ascontiguousarray(logits.astype(np.float32))


def run_ours(driver, tmp, img, logits, threads, runs):
    lp, ip, qp = (os.path.join(tmp, f) for f in ("logits.f32", "image.u8", f"q{threads}.f32"))
    logits.tofile(lp)
    np.ascontiguousarray(img.transpose(2, 0, 1)).tofile(ip)
    cmd = [driver, lp, ip, str(C), str(H), str(W), "--threads", str(threads), "--runs", str(runs),
           "--norm", "symmetric", "--out", qp, "--iterations", str(PARAMS["iterations"]),
           "--pos-w", str(PARAMS["pos_w"]), "--pos-xy-std", str(PARAMS["pos_xy_std"]),
           "--bi-w", str(PARAMS["bi_w"]), "--bi-xy-std", str(PARAMS["bi_xy_std"]),
           "--bi-rgb-std", str(PARAMS["bi_rgb_std"])]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.split()
    median = float(out[out.index("median") + 1])
    cpu = float(out[out.index("cpu_median") + 1])
    return (median, cpu), np.fromfile(qp, dtype=np.float32).reshape(C, H, W)


def run_pydensecrf(img, logits, runs):
    import pydensecrf.densecrf as dcrf

    unary = np.ascontiguousarray(-logits.reshape(C, -1))
    times, cpus, q = [], [], None
    for _ in range(runs):
        t0, c0 = time.perf_counter(), time.process_time()
        d = dcrf.DenseCRF2D(W, H, C)
        d.setUnaryEnergy(unary)
        d.addPairwiseGaussian(sxy=PARAMS["pos_xy_std"], compat=PARAMS["pos_w"])
        d.addPairwiseBilateral(sxy=PARAMS["bi_xy_std"], srgb=PARAMS["bi_rgb_std"], rgbim=img,
                               compat=PARAMS["bi_w"])
        q = np.array(d.inference(PARAMS["iterations"]))
        times.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
    return (statistics.median(times), statistics.median(cpus)), q.reshape(C, H, W)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--driver", required=True, help="the bench_crf executable")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--compare-driver", help="a bench_crf built from other sources, timed in the same run")
    ap.add_argument("--floor-driver", help="lattice_floor: the lattice passes against their memory floor")
    args = ap.parse_args()

    img, logits = make_input()
    rows = []
    load_start = os.getloadavg()[0]
    qc = None
    with tempfile.TemporaryDirectory() as tmp:
        t1, q1 = run_ours(args.driver, tmp, img, logits, 1, args.runs)
        t2, q2 = run_ours(args.driver, tmp, img, logits, 2, args.runs)
        if args.compare_driver:
            tc, qc = run_ours(args.compare_driver, tmp, img, logits, 1, args.runs)
        floor = None
        if args.floor_driver:
            floor = subprocess.run([args.floor_driver, os.path.join(tmp, "image.u8"), str(H), str(W),
                                    "--bi-xy-std", str(PARAMS["bi_xy_std"]), "--bi-rgb-std", str(PARAMS["bi_rgb_std"])],
                                   check=True, capture_output=True, text=True).stdout
    rows.append(("semseg-onnx ref DenseCRF, 1 thread", t1))
    rows.append(("semseg-onnx ref DenseCRF, 2 threads", t2))
    if args.compare_driver:
        rows.append(("compared build (--compare-driver), 1 thread", tc))
    same = np.array_equal(q1, q2)
    try:
        tp, qp = run_pydensecrf(img, logits, args.runs)
        rows.append(("pydensecrf (PyPI pydensecrf2), 1 thread", tp))
    except ImportError:
        tp, qp = None, None

    map_ours = q1.argmax(0)
    print(f"input: {W}x{H} RGB (china.jpg), {C} labels, {PARAMS['iterations']} iterations, "
          f"pos {PARAMS['pos_w']}/{PARAMS['pos_xy_std']}, bi {PARAMS['bi_w']}/{PARAMS['bi_xy_std']}/"
          f"{PARAMS['bi_rgb_std']}, symmetric normalisation; median of {args.runs} runs")
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"load average {load_start:.1f} at the start, {os.getloadavg()[0]:.1f} at the end")
    print()
    print("| implementation | wall s / image | CPU s / image |")
    print("|---|---|---|")
    for name, (t, cpu) in rows:
        print(f"| {name} | {t:.3f} | {cpu:.3f} |")
    print()
    print(f"1 vs 2 threads: outputs {'identical' if same else 'DIFFERENT'}")
    print(f"MAP changed by the CRF: {np.mean(map_ours != logits.argmax(0)) * 100:.2f} % of pixels")
    if qc is not None:
        print(f"MAP agreement with the compared build: {np.mean(map_ours == qc.argmax(0)) * 100:.2f} %  "
              f"(max |dQ| {np.abs(q1 - qc).max():.3f}); CPU time {tc[1] / t1[1]:.2f}x ours")
    if qp is not None:
        agree = np.mean(map_ours == qp.argmax(0))
        print(f"MAP agreement with pydensecrf: {agree * 100:.2f} %  "
              f"(max |dQ| {np.abs(q1 - qp).max():.3f}, mean |dQ| {np.abs(q1 - qp).mean():.5f})")
        print(f"speed-up over pydensecrf (wall): {tp[0] / t1[0]:.2f}x (1 thread), {tp[0] / t2[0]:.2f}x (2 threads)")
    else:
        print("pydensecrf not installed: pip install pydensecrf2")
    if floor:
        print()
        print("bilateral lattice passes per iteration, against their memory floor (lattice_floor):")
        print(floor, end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
