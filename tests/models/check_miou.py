"""Val-subset mIoU of a shipped model, computed with the C runtime.

    check_miou.py CLI MODEL REFERENCE_JSON DATA_DIR WORKDIR

Normalizes the shipped val scenes (DATA_DIR/val_subset.npz: images, uint8
N x H x W x 3) with the mean/std recorded in REFERENCE_JSON, runs them through
`semseg-onnx run` in batches, takes the argmax, and compares the mIoU against
the labels (labels in the same file) with PyTorch's figure recorded at export
(models/release.py): they must agree to 3 decimals (|d| < 5e-4).
"""
import json
import os
import sys

import numpy as np

import modeltest

BATCH = 32


def main():
    if len(sys.argv) != 6:
        sys.exit(__doc__)
    cli, model, ref_json, data, work = sys.argv[1:]
    with open(ref_json) as f:
        ref = json.load(f)
    entry = ref["models"][os.path.basename(model)]
    with np.load(os.path.join(data, "val_subset.npz")) as z:
        images, labels = z["images"], z["labels"]
    n_cls = len(ref["classes"])
    conf = np.zeros((n_cls, n_cls), np.int64)
    os.makedirs(work, exist_ok=True)
    for i in range(0, len(images), BATCH):
        x = modeltest.normalize(images[i:i + BATCH], ref["mean"], ref["std"])
        inp = os.path.join(work, "input_0.pb")
        modeltest.write_pb(inp, x)
        logits = modeltest.run_cli(cli, model, inp, os.path.join(work, "out"))
        if logits.shape != (x.shape[0], n_cls) + x.shape[2:]:
            sys.exit(f"output shape {logits.shape}, expected {(x.shape[0], n_cls) + x.shape[2:]}")
        conf += modeltest.confusion(logits.argmax(1), labels[i:i + BATCH], n_cls)
    got = modeltest.miou(conf)
    want = entry["subset_miou_torch"]
    print(f"{os.path.basename(model)}: val-subset mIoU ({len(images)} scenes) "
          f"C runtime {got:.4f}, PyTorch {want:.4f}")
    if abs(got - want) >= 5e-4:
        sys.exit("mIoU differs from PyTorch's at 3 decimals")


if __name__ == "__main__":
    main()
