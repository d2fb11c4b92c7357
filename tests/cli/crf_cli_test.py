"""DenseCRF through the CLI, against an exact mean field written here in numpy
(independent of plugins/ref): a graph with an ai.semseg::DenseCRF node built
with onnx.helper runs through `semseg-onnx run --save-tensors`, and `run --crf`
refines a photo's labels. Usage: crf_cli_test.py SEMSEG_ONNX WORKDIR"""
import os
import subprocess
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from PIL import Image

exe, work = sys.argv[1], sys.argv[2]
os.makedirs(work, exist_ok=True)
rng = np.random.default_rng(7)


def exact_crf(logits, image, iters, pos_w, pos_std, bi_w, bi_xy, bi_rgb):
    """Mean field with explicit Gaussian kernels, self term included, D^-1 K."""
    c, h, w = logits.shape
    ys, xs = np.mgrid[0:h, 0:w]
    xy = np.stack([xs.ravel(), ys.ravel()], 1).astype(np.float64)
    rgb = image.reshape(3, -1).T.astype(np.float64)

    def kernel(f):
        d2 = ((f[:, None, :] - f[None, :, :]) ** 2).sum(-1)
        k = np.exp(-0.5 * d2)
        return k / k.sum(1, keepdims=True)

    kp = kernel(xy / pos_std)
    kb = kernel(np.concatenate([xy / bi_xy, rgb / bi_rgb], 1))
    u = logits.reshape(c, -1).T.astype(np.float64)

    def softmax(e):
        e = e - e.max(1, keepdims=True)
        p = np.exp(e)
        return p / p.sum(1, keepdims=True)

    q = softmax(u)
    for _ in range(iters):
        q = softmax(u + pos_w * kp @ q + bi_w * kb @ q)
    return q.T.reshape(c, h, w)


def run(args):
    r = subprocess.run([exe] + args, capture_output=True, text=True, timeout=120)
    if r.returncode != 0:
        sys.exit("FAIL: %s -> %d: %s" % (" ".join(args), r.returncode, r.stderr.strip()))
    return r


failures = 0
C, H, W = 4, 14, 18
attrs = dict(iterations=5, pos_w=3.0, pos_xy_std=1.0, bi_w=4.0, bi_xy_std=6.0, bi_rgb_std=20.0)
node = helper.make_node("DenseCRF", ["logits", "image"], ["q"], domain="ai.semseg", **attrs)
g = helper.make_graph([node], "crf",
                      [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, C, H, W]),
                       helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 3, H, W])],
                      [helper.make_tensor_value_info("q", TensorProto.FLOAT, [1, C, H, W])])
m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13), helper.make_opsetid("ai.semseg", 1)])
onnx.save(m, os.path.join(work, "crf.onnx"))
# an image of four colour blocks, noisy logits that mostly agree with them
blocks = (np.arange(W)[None, :] >= W // 2).astype(int) + 2 * (np.arange(H)[:, None] >= H // 2)
palette = np.array([[200, 30, 30], [30, 200, 30], [30, 30, 200], [220, 220, 40]], np.float32)
image = palette[blocks].transpose(2, 0, 1) + rng.normal(0, 8, (3, H, W))
logits = np.eye(C)[blocks].transpose(2, 0, 1) * 1.0 + rng.normal(0, 1.0, (C, H, W))
for name, arr in (("logits", logits), ("image", image)):
    with open(os.path.join(work, name + ".pb"), "wb") as f:
        f.write(numpy_helper.from_array(arr[None].astype(np.float32), name).SerializeToString())
out = os.path.join(work, "out")
run(["run", os.path.join(work, "crf.onnx"), os.path.join(work, "logits.pb"),
     "--input", "image=" + os.path.join(work, "image.pb"), "--save-tensors", out])
got = numpy_helper.to_array(onnx.load_tensor(os.path.join(out, "output_0.pb")))[0]
want = exact_crf(logits, image.astype(np.float32), attrs["iterations"], attrs["pos_w"], attrs["pos_xy_std"],
                 attrs["bi_w"], attrs["bi_xy_std"], attrs["bi_rgb_std"])
agree = (got.argmax(0) == want.argmax(0)).mean()
print("DenseCRF via run --save-tensors: MAP agreement with exact mean field %.2f%%, max|dQ| %.3f, "
      "sums to 1 within %.1e" % (100 * agree, np.abs(got - want).max(), np.abs(got.sum(0) - 1).max()))
if agree < 0.98:
    print("FAIL: MAP agreement below 98%")
    failures += 1
if (want.argmax(0) == blocks).mean() <= (logits.argmax(0) == blocks).mean():
    print("FAIL: the exact CRF does not clean the noisy labels; the test scene is too easy")
    failures += 1

# run --crf on a photo with a model that outputs its input's colour logits:
# a 1x1 Conv mapping RGB to 3 "classes" (red, green, blue)
w = numpy_helper.from_array(np.eye(3, dtype=np.float32).reshape(3, 3, 1, 1) * 4, "w")
conv = helper.make_node("Conv", ["x", "w"], ["y"])
g2 = helper.make_graph([conv], "rgb", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, "H", "W"])],
                       [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3, "H", "W"])], [w])
onnx.save(helper.make_model(g2, opset_imports=[helper.make_opsetid("", 13)]), os.path.join(work, "rgb.onnx"))
photo = palette[blocks % 3].astype(np.uint8)
Image.fromarray(photo).resize((W * 4, H * 4), Image.NEAREST).save(os.path.join(work, "photo.png"))
mask = os.path.join(work, "mask.png")
r = run(["run", os.path.join(work, "rgb.onnx"), os.path.join(work, "photo.png"), "--no-normalize",
         "--crf", "--crf-iters", "3", "--labels-png", mask])
labels = np.asarray(Image.open(mask))
if labels.shape != (H * 4, W * 4):
    print("FAIL: --crf labels are %s, expected the photo's size" % (labels.shape,))
    failures += 1
expect = np.asarray(Image.fromarray((blocks % 3).astype(np.uint8)).resize((W * 4, H * 4), Image.NEAREST))
print("run --crf: label agreement with the colour blocks %.2f%%" % (100 * (labels == expect).mean()))
if (labels == expect).mean() < 0.95:
    print("FAIL: --crf labels disagree with the blocks")
    failures += 1
print("%d passed, %d failed" % (3 - failures, failures))
sys.exit(1 if failures else 0)
