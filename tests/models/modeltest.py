"""Shared helpers of the model-level tests: run the semseg-onnx CLI on a tensor
file and read back what it wrote. Needs numpy and onnx (numpy_helper) only,
never PyTorch: the references were made by PyTorch when the models were
exported (models/export.py) and are shipped beside them.
"""
import os
import subprocess
import sys

import numpy as np
from onnx import TensorProto, numpy_helper

SKIP = 77


def read_pb(path):
    t = TensorProto()
    with open(path, "rb") as f:
        t.ParseFromString(f.read())
    return numpy_helper.to_array(t)


def write_pb(path, array, name="input"):
    with open(path, "wb") as f:
        f.write(numpy_helper.from_array(np.ascontiguousarray(array), name).SerializeToString())


def run_cli(cli, model, input_pb, outdir, extra=()):
    """semseg-onnx run MODEL INPUT --save-tensors OUTDIR; returns output_0 as an array."""
    os.makedirs(outdir, exist_ok=True)
    out = os.path.join(outdir, "output_0.pb")
    if os.path.exists(out):
        os.remove(out)
    cmd = [cli, "run", model, input_pb, "--save-tensors", outdir, *extra]
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if p.returncode != 0 or not os.path.exists(out):
        print(" ".join(cmd))
        print(p.stdout)
        sys.exit(f"semseg-onnx run failed (exit {p.returncode}) or wrote no {out}")
    return read_pb(out)


def normalize(images_u8, mean, std):
    """uint8 N x H x W x 3 -> float32 N x 3 x H x W, (x/255 - mean) / std."""
    x = images_u8.astype(np.float32) / 255.0
    x = (x - np.asarray(mean, np.float32)) / np.asarray(std, np.float32)
    return np.ascontiguousarray(x.transpose(0, 3, 1, 2))


def confusion(pred, label, n):
    return np.bincount(n * label.reshape(-1).astype(np.int64) + pred.reshape(-1).astype(np.int64),
                       minlength=n * n).reshape(n, n)


def miou(conf):
    tp = np.diag(conf).astype(np.float64)
    denom = conf.sum(0) + conf.sum(1) - tp
    valid = denom > 0
    return float((tp[valid] / denom[valid]).mean())
