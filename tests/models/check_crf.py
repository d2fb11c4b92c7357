"""deeplabv2_crf.onnx (deeplabv2 + ai.semseg::DenseCRF) on the val subset.

    check_crf.py CLI CRF_MODEL REFERENCE_JSON DATA_DIR WORKDIR

Feeds the shipped val scenes as `input` (normalized) and `image` (RGB 0..255)
through `semseg-onnx run`, and checks that the output is a probability
distribution per pixel (in [0, 1], summing to 1 within 1e-4) and that the
CRF does not make the segmentation worse: its mIoU must be at least PyTorch's
mIoU of deeplabv2 without the CRF (reference.json). PyTorch has no DenseCRF,
so there is no exact reference; the CRF's own accuracy is tested in tests/crf.
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
    plain = ref["models"]["deeplabv2.onnx"]["subset_miou_torch"]
    with np.load(os.path.join(data, "val_subset.npz")) as z:
        images, labels = z["images"], z["labels"]
    n_cls = len(ref["classes"])
    conf = np.zeros((n_cls, n_cls), np.int64)
    os.makedirs(work, exist_ok=True)
    for i in range(0, len(images), BATCH):
        batch = images[i:i + BATCH]
        inp = os.path.join(work, "input_0.pb")
        img = os.path.join(work, "image.pb")
        modeltest.write_pb(inp, modeltest.normalize(batch, ref["mean"], ref["std"]))
        modeltest.write_pb(img, batch.astype(np.float32).transpose(0, 3, 1, 2), "image")
        prob = modeltest.run_cli(cli, model, inp, os.path.join(work, "out"),
                                 extra=("--input", "image=" + img))
        if prob.shape != (len(batch), n_cls) + batch.shape[1:3]:
            sys.exit(f"output shape {prob.shape}")
        s = prob.sum(1)
        if prob.min() < -1e-6 or prob.max() > 1 + 1e-6 or np.abs(s - 1).max() > 1e-4:
            sys.exit(f"not probabilities: min {prob.min()}, max {prob.max()}, "
                     f"max |sum - 1| {np.abs(s - 1).max()}")
        conf += modeltest.confusion(prob.argmax(1), labels[i:i + BATCH], n_cls)
    got = modeltest.miou(conf)
    print(f"val-subset mIoU: deeplabv2 + DenseCRF (C runtime) {got:.4f}, "
          f"deeplabv2 alone (PyTorch) {plain:.4f}")
    if got < plain:
        sys.exit("the CRF made the segmentation worse")


if __name__ == "__main__":
    main()
