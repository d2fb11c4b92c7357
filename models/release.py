"""Builds everything models/ ships from the trained checkpoints.

    python models/release.py            (after python models/train.py NAME for each NAME)

- models/NAME.onnx (opset 13) and, for deeplabv3 and pspnet, NAME_op17.onnx,
  each with test_data_set_0 (80x80) and test_data_set_1 (72x104) beside it;
- models/deeplabv2_crf.onnx: deeplabv2 + ai.semseg::DenseCRF with CRF_ATTRS,
  the parameters models/tune_crf.py chose on train scenes (no reference data:
  PyTorch has no DenseCRF); with --cli, its val-subset mIoU through the C
  runtime goes into reference.json (what tests/models/check_crf.py checks);
- models/data/val_subset.npz: images (uint8 N x H x W x 3) and labels
  (uint8 N x H x W) of the first 96 val scenes;
- models/samples/: scenes to try `semseg-onnx run` on (PNG and JPEG);
- models/reference.json: per shipped file, PyTorch's mIoU on the val subset
  (what tests/models compares the C runtime with), ONNX Runtime's where it can
  run the file, and the training figures from models/checkpoints/NAME.json.

    python models/release.py --crf-only --cli build/tools/semseg-onnx

rebuilds only deeplabv2_crf.onnx (from the shipped deeplabv2.onnx) and its
reference.json entry, without the checkpoints.

It also shows that the plain torch.onnx export of PSPNet fails at the test
sizes, and records the message; and checks PSPNet's export with ONNX Runtime
by inlining ai.semseg::AdaptiveAvgPool2d as constant MatMuls per test size.
"""
import argparse
import json
import os

import numpy as np
import onnx
import torch
from PIL import Image

import add_crf
import export
import nets
import scenes
import train
import tune_crf

HERE = os.path.dirname(os.path.abspath(__file__))
SIZES = [(80, 80), (72, 104)]
OP17 = ("deeplabv3", "pspnet")
# Tuned on train scenes only (never val) by CRF_TUNING["command"]: the
# setting shared by deeplabv2, deeplabv3 and pspnet that maximizes their mean
# train-scene mIoU (see models/README.md).
CRF_ATTRS = dict(iterations=10, pos_w=1.0, pos_xy_std=1.0, bi_w=5.0, bi_xy_std=10.0,
                 bi_rgb_std=10.0, normalization="after", output="prob")
CRF_TUNING = {
    "command": "python models/tune_crf.py --cli build/tools/semseg-onnx --per-model --val 96,512",
    "scenes": tune_crf.TUNE_SCENES, "seed": tune_crf.TUNE_SEED, "digits": "train",
    "objective": "mean train-scene mIoU of deeplabv2, deeplabv3, pspnet (C runtime)",
}


def ort_miou(path, images, labels):
    import onnxruntime as ort
    so = ort.SessionOptions()
    so.intra_op_num_threads = 2
    try:
        sess = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
    except Exception:  # noqa: BLE001
        return None
    conf = np.zeros((scenes.NUM_CLASSES,) * 2, np.int64)
    for i in range(0, len(images), 32):
        out = sess.run(None, {"input": scenes.to_input(images[i:i + 32])})[0]
        conf += scenes.confusion(out.argmax(1), labels[i:i + 32])
    return scenes.miou(conf)


def plain_pspnet_attempts(model):
    """What torch.onnx does with PSPNet's adaptive pooling without our symbolic."""
    tmp = "/tmp/semseg_pspnet_plain.onnx"
    res = {}
    for dynamic, size in ((True, (80, 80)), (False, (80, 80)), (False, (72, 104)), (False, (96, 96))):
        key = f"{'dynamic' if dynamic else 'static'} {size[0]}x{size[1]}"
        try:
            export.export(model, tmp, 13, custom_pool=False, dynamic=dynamic, size=size)
            res[key] = "exported"
        except Exception as e:  # noqa: BLE001 - torch raises several types here
            res[key] = "fails: " + str(e).strip().splitlines()[0][:160]
    if os.path.exists(tmp):
        os.remove(tmp)
    return res


def write_samples(dest):
    d = os.path.join(dest, "samples")
    os.makedirs(d, exist_ok=True)
    bank = scenes.DigitBank("val")
    for k, (h, w, fmt) in enumerate(((80, 80, "png"), (120, 160, "png"), (120, 160, "jpg"),
                                      (160, 240, "jpg"))):
        im, lab = scenes.make_scene(np.random.RandomState(500 + k), bank, h, w)
        img = Image.fromarray(np.round(im * 255).astype(np.uint8))
        name = os.path.join(d, f"scene{k}_{h}x{w}.{fmt}")
        img.save(name, quality=92) if fmt == "jpg" else img.save(name)
        Image.fromarray(lab).save(os.path.join(d, f"scene{k}_{h}x{w}_labels.png"))


def write_crf_model(dest, cli, images, labels):
    """deeplabv2_crf.onnx from dest/deeplabv2.onnx; returns its reference.json entry."""
    mp = onnx.load(os.path.join(dest, "deeplabv2.onnx"))
    add_crf.append_dense_crf(mp, **CRF_ATTRS)
    onnx.checker.check_model(mp)
    path = os.path.join(dest, "deeplabv2_crf.onnx")
    onnx.save(mp, path)
    entry = {"from": "deeplabv2.onnx", "attributes": CRF_ATTRS, "tuned_on": CRF_TUNING}
    if cli:
        m = tune_crf.shipped_crf_miou(os.path.abspath(cli), path, images, labels,
                                      "/tmp/semseg_release_crf")
        entry["subset_miou_c_runtime"] = round(m, 6)
        print(f"deeplabv2_crf.onnx: val-subset mIoU {m:.4f} (C runtime, {cli})")
    else:
        print("deeplabv2_crf.onnx: no --cli, its val-subset mIoU is not recorded")
    return entry


def crf_only(dest, cli):
    ref_path = os.path.join(dest, "reference.json")
    with open(ref_path) as f:
        ref = json.load(f)
    with np.load(os.path.join(dest, "data", "val_subset.npz")) as z:
        images, labels = z["images"], z["labels"]
    ref["deeplabv2_crf.onnx"] = write_crf_model(dest, cli, images, labels)
    with open(ref_path, "w") as f:
        json.dump(ref, f, indent=1)
    print("wrote", ref_path)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--checkpoints", default=os.path.join(HERE, "checkpoints"))
    ap.add_argument("--dest", default=HERE, help="where to write (default: models/)")
    ap.add_argument("--cli", help="semseg-onnx executable: measure deeplabv2_crf.onnx's "
                                  "val-subset mIoU with it")
    ap.add_argument("--crf-only", action="store_true",
                    help="only deeplabv2_crf.onnx and its reference.json entry")
    args = ap.parse_args()
    dest = args.dest
    if args.crf_only:
        crf_only(dest, args.cli)
        return
    torch.set_num_threads(1)
    data = os.path.join(dest, "data")
    os.makedirs(data, exist_ok=True)
    images, labels = train.val_set()
    images, labels = images[:train.SUBSET_SCENES], labels[:train.SUBSET_SCENES]
    np.savez_compressed(os.path.join(data, "val_subset.npz"), images=images, labels=labels)
    write_samples(dest)

    ref_path = os.path.join(dest, "reference.json")
    ref = {"mean": list(scenes.MEAN), "std": list(scenes.STD),
           "classes": scenes.CLASS_NAMES, "subset_scenes": int(len(images)), "models": {}}
    for name in nets.MODELS:
        ck = os.path.join(args.checkpoints, name + ".pt")
        if not os.path.exists(ck):
            print(f"{name}: no checkpoint, skipped")
            continue
        model = export.load_model(name, ck)
        with open(os.path.join(args.checkpoints, name + ".json")) as f:
            trained = json.load(f)
        conf = train.evaluate(model, images, labels)
        torch_miou = scenes.miou(conf)
        custom = name == "pspnet"
        for opset in (13, 17) if name in OP17 else (13,):
            fname = name + (".onnx" if opset == 13 else f"_op{opset}.onnx")
            path = os.path.join(dest, fname)
            mp = export.export(model, path, opset, custom_pool=custom)
            cases = export.write_test_data(model, path, SIZES)
            worst, _ = export.ort_check(path, cases)
            entry = {
                "model": name, "opset": opset,
                "bytes": os.path.getsize(path),
                "ops": [(d + "::" if d else "") + o for d, o in export.op_set(mp)],
                "test_data": [f"{os.path.splitext(fname)[0]}/test_data_set_{k} ({h}x{w})"
                              for k, (h, w) in enumerate(SIZES)],
                "subset_miou_torch": round(torch_miou, 6),
                "subset_miou_onnxruntime": None if worst is None else
                round(ort_miou(path, images, labels), 6),
                "onnxruntime_max_abs_diff": worst,
                "val_miou_torch": trained["val_miou"],
                "val_scenes": trained["val_scenes"],
                "params": trained["params_exported"],
                "train_seconds": trained["train_seconds"],
                "command": trained["command"],
            }
            if custom:
                # ORT cannot run the custom op; with it inlined as MatMuls at
                # each test size, ORT must still reproduce PyTorch.
                entry["onnxruntime_inlined_pool_max_abs_diff"] = export.ort_check_custom_pool(mp, cases)
            ref["models"][fname] = entry
            print(fname, json.dumps({k: entry[k] for k in ("bytes", "subset_miou_torch",
                                                          "subset_miou_onnxruntime",
                                                          "onnxruntime_max_abs_diff")}),
                  entry.get("onnxruntime_inlined_pool_max_abs_diff", ""))
        if name == "pspnet":
            ref["pspnet_plain_export"] = plain_pspnet_attempts(model)
            print("plain PSPNet export:", json.dumps(ref["pspnet_plain_export"], indent=1))
        if name == "deeplabv2":
            ref["deeplabv2_crf.onnx"] = write_crf_model(dest, args.cli, images, labels)
    with open(ref_path, "w") as f:
        json.dump(ref, f, indent=1)
    print("wrote", ref_path)
    print(markdown_table(ref, args.checkpoints))


def markdown_table(ref, ckdir):
    """The results table of models/README.md, from reference.json."""
    rows = ["| file | params | ONNX bytes | command | iters x batch | train wall / CPU s | "
            "val mIoU (512 scenes, PyTorch) | val-subset mIoU (96 scenes, PyTorch; C runtime must match) |",
            "|---|---|---|---|---|---|---|---|"]
    for fname, e in ref["models"].items():
        with open(os.path.join(ckdir, e["model"] + ".json")) as f:
            t = json.load(f)
        cmd = f"python models/train.py {e['model']}" + ("" if t["threads"] == 2 else f" --threads {t['threads']}")
        rows.append(f"| {fname} | {e['params']:,} | {e['bytes']:,} | `{cmd}` | {t['iters']} x {t['batch']} | "
                    f"{t['train_seconds']:.0f} / {t.get('train_cpu_seconds', 0):.0f} | "
                    f"{e['val_miou_torch']:.4f} | {e['subset_miou_torch']:.4f} |")
    return "\n".join(rows)


if __name__ == "__main__":
    main()
