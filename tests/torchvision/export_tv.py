"""Exports torchvision segmentation models and networks built from the seed's
blocks, with seeded random weights, to ONNX with dynamic H x W, and writes
PyTorch's outputs at two input sizes in ONNX test-data layout:

  OUT/<name>/model.onnx
  OUT/<name>/test_data_set_0/{input_0,output_0}.pb   (size A)
  OUT/<name>/test_data_set_1/{input_0,output_0}.pb   (size B)

Usage: export_tv.py OUT NAME [NAME...]   (names: see MODELS)
"""
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision
from onnx import numpy_helper

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "models"))
import export as project_export  # noqa: E402  the project's helper: ai.semseg::AdaptiveAvgPool2d symbolic

torch.manual_seed(0)


class SeedBlocks(nn.Module):
    """ConvTranspose upsampling (FCN), dilated convs up to rate 24 (DeepLab
    ASPP), pyramid pooling (PSPNet) exported as ai.semseg::AdaptiveAvgPool2d."""

    def __init__(self, classes=5):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 16, 3, 2, 1), nn.BatchNorm2d(16), nn.ReLU(),
                                  nn.Conv2d(16, 32, 3, 2, 1), nn.BatchNorm2d(32), nn.ReLU())
        self.aspp = nn.ModuleList([nn.Conv2d(32, 16, 3, padding=r, dilation=r) for r in (6, 12, 18, 24)])
        self.psp = nn.ModuleList([nn.Conv2d(16, 4, 1) for _ in (1, 2, 4)])
        self.head = nn.Conv2d(16 + 12, classes, 1)
        self.up = nn.ConvTranspose2d(classes, classes, 8, stride=4, padding=2, bias=False)

    def forward(self, x):
        f = self.stem(x)
        a = sum(conv(f) for conv in self.aspp)
        h, w = a.shape[2:]
        pools = [F.interpolate(conv(F.adaptive_avg_pool2d(a, b)), size=(h, w), mode="bilinear", align_corners=False)
                 for conv, b in zip(self.psp, (1, 2, 4))]
        y = self.head(torch.cat([a] + pools, 1))
        return self.up(y)


def make(name):
    seg = torchvision.models.segmentation
    kw = dict(weights=None, weights_backbone=None)
    if name == "lraspp_mobilenet_v3_large":
        return seg.lraspp_mobilenet_v3_large(num_classes=21, **kw)
    if name == "deeplabv3_mobilenet_v3_large":
        return seg.deeplabv3_mobilenet_v3_large(num_classes=21, aux_loss=False, **kw)
    if name == "fcn_resnet50":
        return seg.fcn_resnet50(num_classes=21, aux_loss=False, **kw)
    if name == "deeplabv3_resnet50":
        return seg.deeplabv3_resnet50(num_classes=21, aux_loss=False, **kw)
    if name == "seed_blocks":
        return SeedBlocks()
    raise SystemExit("unknown model " + name)


class OutOnly(nn.Module):
    """torchvision's segmentation models return a dict; export its 'out'."""

    def __init__(self, m):
        super().__init__()
        self.m = m

    def forward(self, x):
        y = self.m(x)
        return y["out"] if isinstance(y, dict) else y


# (opset, size A, size B) per model: sizes small enough for CI, not multiples
# of each other so Resize/pooling paths see odd shapes.
PLAN = {
    "lraspp_mobilenet_v3_large": (13, (96, 128), (120, 88)),
    "deeplabv3_mobilenet_v3_large": (17, (96, 96), (112, 80)),
    "fcn_resnet50": (11, (64, 80), (96, 72)),
    "deeplabv3_resnet50": (13, (64, 64), (80, 96)),
    "seed_blocks": (13, (64, 64), (96, 80)),
}


def main():
    out = sys.argv[1]
    for name in sys.argv[2:]:
        opset, a, b = PLAN[name]
        torch.manual_seed(0)
        m = OutOnly(make(name)).eval()
        # random BN statistics so folding is exercised with non-trivial values
        with torch.no_grad():
            for mod in m.modules():
                if isinstance(mod, nn.BatchNorm2d):
                    mod.running_mean.uniform_(-0.2, 0.2)
                    mod.running_var.uniform_(0.5, 1.5)
        d = os.path.join(out, name)
        os.makedirs(d, exist_ok=True)
        x0 = torch.rand(1, 3, *a)
        if name == "seed_blocks":  # pyramid pooling at any size needs the project's op
            project_export.register_custom_pool(opset)
        torch.onnx.export(m, x0, os.path.join(d, "model.onnx"), opset_version=opset,
                          input_names=["input"], output_names=["out"],
                          dynamic_axes={"input": {2: "H", 3: "W"}, "out": {2: "H", 3: "W"}})
        for i, size in enumerate((a, b)):
            g = torch.Generator().manual_seed(100 + i)
            x = torch.rand(1, 3, *size, generator=g) * 2 - 1
            with torch.no_grad():
                y = m(x).numpy()
            sd = os.path.join(d, "test_data_set_%d" % i)
            os.makedirs(sd, exist_ok=True)
            with open(os.path.join(sd, "input_0.pb"), "wb") as f:
                f.write(numpy_helper.from_array(x.numpy(), "input").SerializeToString())
            with open(os.path.join(sd, "output_0.pb"), "wb") as f:
                f.write(numpy_helper.from_array(np.ascontiguousarray(y), "out").SerializeToString())
        print("exported", name, "opset", opset)


if __name__ == "__main__":
    main()
