"""One shipped model x one reference data set through the C runtime.

    compare_outputs.py CLI MODEL DATASET_DIR WORKDIR

Runs `semseg-onnx run MODEL DATASET_DIR/input_0.pb --save-tensors WORKDIR` and
compares with DATASET_DIR/output_0.pb (PyTorch's logits): pass when
max|d| <= 1e-4 + 1e-3 * max|ref| and the per-pixel argmax over classes agrees
on at least 99.9 % of the pixels.
"""
import os
import sys

import numpy as np

import modeltest


def main():
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    cli, model, dset, work = sys.argv[1:]
    ref = modeltest.read_pb(os.path.join(dset, "output_0.pb"))
    got = modeltest.run_cli(cli, model, os.path.join(dset, "input_0.pb"), work)
    if got.shape != ref.shape:
        sys.exit(f"shape {got.shape} != reference {ref.shape}")
    d = float(np.abs(got.astype(np.float64) - ref).max())
    tol = 1e-4 + 1e-3 * float(np.abs(ref).max())
    agree = float((got.argmax(1) == ref.argmax(1)).mean())
    print(f"{os.path.basename(model)} {os.path.basename(dset)} {ref.shape}: "
          f"max|d| {d:.3g} (tol {tol:.3g}), argmax agreement {100 * agree:.3f} %")
    if not np.isfinite(got).all():
        sys.exit("output has NaN/Inf")
    if d > tol or agree < 0.999:
        sys.exit("outside tolerance")


if __name__ == "__main__":
    main()
