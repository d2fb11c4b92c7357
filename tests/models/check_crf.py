"""deeplabv2_crf.onnx (deeplabv2 + ai.semseg::DenseCRF) on the val subset.

    check_crf.py CLI CRF_MODEL REFERENCE_JSON DATA_DIR WORKDIR

What models/README.md claims about this file, checked through `semseg-onnx run`
(the val scenes fed as `input`, normalized, and `image`, RGB 0..255):

- its DenseCRF node carries the parameters tuned on train scenes
  (reference.json's "deeplabv2_crf.onnx" attributes, written by
  models/release.py from CRF_ATTRS);
- the output is a probability distribution per pixel (in [0, 1], summing to 1
  within 1e-4);
- the val-subset mIoU of its argmax is the figure the README reports
  (reference.json's subset_miou_c_runtime, measured by release.py --cli when
  the file was made) within 1e-3: a few pixels may flip between machines (an
  AVX2+FMA build rounds differently from a baseline one), a different setting
  or a changed CRF moves it by more;
- compared with PyTorch's mIoU of deeplabv2 without the CRF (reference.json's
  subset_miou_torch, independent of the C runtime), the CRF helps or hurts as
  the recorded figure says.
PyTorch has no DenseCRF, so there is no exact reference for the CRF itself;
its accuracy against a float64 O(N^2) evaluation is tested in tests/crf.
"""
import json
import os
import sys

import numpy as np
import onnx
from onnx import helper

import modeltest

BATCH = 32
MIOU_TOL = 1e-3


def check_attributes(model, want):
    nodes = [n for n in onnx.load(model).graph.node if n.op_type == "DenseCRF"]
    if len(nodes) != 1:
        sys.exit(f"{model}: {len(nodes)} DenseCRF nodes, expected 1")
    got = {a.name: helper.get_attribute_value(a) for a in nodes[0].attribute}
    got = {k: v.decode() if isinstance(v, bytes) else v for k, v in got.items()}
    for k, v in want.items():
        if k not in got or (got[k] != v if isinstance(v, str) else abs(got[k] - v) > 1e-6):
            sys.exit(f"{model}: DenseCRF attribute {k} = {got.get(k)}, reference.json says {v}")


def crf_miou(cli, model, images, labels, ref, work):
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
    return modeltest.miou(conf)


def main():
    if len(sys.argv) != 6:
        sys.exit(__doc__)
    cli, model, ref_json, data, work = sys.argv[1:]
    with open(ref_json) as f:
        ref = json.load(f)
    entry = ref.get("deeplabv2_crf.onnx", {})
    if "attributes" not in entry or "subset_miou_c_runtime" not in entry:
        sys.exit(f"{ref_json}: no deeplabv2_crf.onnx attributes / subset_miou_c_runtime "
                 "(python models/release.py --crf-only --cli ...)")
    check_attributes(model, entry["attributes"])
    plain = ref["models"]["deeplabv2.onnx"]["subset_miou_torch"]
    recorded = entry["subset_miou_c_runtime"]
    with np.load(os.path.join(data, "val_subset.npz")) as z:
        images, labels = z["images"], z["labels"]
    got = crf_miou(cli, model, images, labels, ref, work)
    print(f"val-subset mIoU: deeplabv2 + DenseCRF (C runtime) {got:.4f}, recorded {recorded:.4f}; "
          f"deeplabv2 alone (PyTorch) {plain:.4f}")
    if abs(got - recorded) > MIOU_TOL:
        sys.exit(f"mIoU with the CRF {got:.4f} differs from the recorded {recorded:.4f} "
                 f"by more than {MIOU_TOL}")
    if (got > plain) != (recorded > plain):
        sys.exit(f"the CRF {'helps' if got > plain else 'hurts'} here, the recorded figure says "
                 f"otherwise ({recorded:.4f} vs {plain:.4f} without)")


if __name__ == "__main__":
    main()
