"""Reference data for the real pretrained DeepLabV3 in ../shared/models (a
tf2onnx export: NHWC, opset 9, Upsample and the opset-6 Clip): each photo in
../shared/images resized to 257x257, scaled x/127.5-1, run through ONNX
Runtime. Writes OUT/model.onnx (a symlink) and OUT/test_data_set_N.
Exit 77 (CTest skip) when ../shared is absent."""
import os
import sys

import numpy as np
import onnxruntime as ort
from onnx import numpy_helper
from PIL import Image

shared, out = sys.argv[1], sys.argv[2]
model = os.path.join(shared, "models", "deeplabv3_mnv2_voc.onnx")
if not os.path.exists(model):
    print("skip: %s not found" % model)
    sys.exit(77)
os.makedirs(out, exist_ok=True)
link = os.path.join(out, "model.onnx")
if os.path.lexists(link):
    os.remove(link)
os.symlink(os.path.abspath(model), link)
sess = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
for i, name in enumerate(("astronaut.png", "chelsea.png")):
    img = Image.open(os.path.join(shared, "images", name)).convert("RGB").resize((257, 257), Image.BILINEAR)
    x = (np.asarray(img, np.float32) / 127.5 - 1.0)[None]
    y = sess.run(None, {"sub_7": x})[0]
    d = os.path.join(out, "test_data_set_%d" % i)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "input_0.pb"), "wb") as f:
        f.write(numpy_helper.from_array(x, "sub_7").SerializeToString())
    with open(os.path.join(d, "output_0.pb"), "wb") as f:
        f.write(numpy_helper.from_array(y, "ResizeBilinear_3").SerializeToString())
    labels = np.bincount(y[0].argmax(-1).ravel(), minlength=21)
    print(name, "ORT top class", int(labels.argmax()))
