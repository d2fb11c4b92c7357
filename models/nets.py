"""The seed networks, small enough to train on two CPU cores in minutes.

Written from the papers, scaled down (channels 16..128, a few hundred thousand
parameters) and trained from scratch, so every conv is followed by batch
normalization (the papers started from ImageNet weights instead); BN folds
into the convolutions at export.

- FCN (Long, Shelhamer, Darrell 2015): a VGG-style backbone of 3x3 conv blocks
  and 2x2 max pools; fc6/fc7 as convolutions; 1x1 score layers; FCN-32s, -16s
  and -8s. Upsampling is ConvTranspose with stride s, kernel 2s, padding s/2,
  initialised to bilinear interpolation; the x2 steps are learned, the final
  one stays fixed (as in the paper). Pools use ceil_mode and upsampled maps are
  cropped to the skip's size, so any input size works (the paper padded by 100
  and cropped instead).
- DeepLab (Chen et al. 2017, v2; 2017, v3): the same backbone made atrous at
  output stride 8 (the last two pools removed, blocks 4 and 5 dilated 2 and 4).
  v2: ASPP as four parallel 3x3 convolutions at rates 6, 12, 18, 24 whose
  class scores are summed. v3: ASPP as 1x1 + three atrous 3x3 (6, 12, 18) +
  image pooling, concatenated and projected. Logits are upsampled bilinearly.
- PSPNet (Zhao et al. 2017): atrous backbone, pyramid pooling module (adaptive
  average pooling to 1, 2, 3, 6 bins, 1x1 conv, bilinear upsample, concat with
  the features), and an auxiliary head on block 4 used only in training.
"""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from scenes import NUM_CLASSES


def conv_bn(cin, cout, k=3, dilation=1):
    pad = dilation * (k // 2)
    return nn.Sequential(
        nn.Conv2d(cin, cout, k, padding=pad, dilation=dilation, bias=False),
        nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


def bilinear_kernel(channels_in, channels_out, k, diagonal=True):
    """ConvTranspose weights that make a stride-k/2 layer a bilinear upsampler."""
    factor = (k + 1) // 2
    center = factor - 1 if k % 2 == 1 else factor - 0.5
    og = np.ogrid[:k, :k]
    filt = (1 - abs(og[0] - center) / factor) * (1 - abs(og[1] - center) / factor)
    w = np.zeros((channels_in, channels_out, k, k), np.float32)
    if diagonal:
        for c in range(min(channels_in, channels_out)):
            w[c, c] = filt
    else:
        w[:, 0] = filt
    return torch.from_numpy(w)


def upsampler(channels, s, learned):
    """ConvTranspose x s (kernel 2s, padding s/2), bilinear at start.

    Learned ones map all classes to all classes (C x C kernels, as in FCN); the
    fixed final one is per class (groups=C), since C x C x 2s x 2s weights that
    stay diagonal would only waste the file's size."""
    if learned:
        m = nn.ConvTranspose2d(channels, channels, 2 * s, stride=s, padding=s // 2, bias=False)
        m.weight.data.copy_(bilinear_kernel(channels, channels, 2 * s))
    else:
        m = nn.ConvTranspose2d(channels, channels, 2 * s, stride=s, padding=s // 2,
                               groups=channels, bias=False)
        m.weight.data.copy_(bilinear_kernel(channels, 1, 2 * s, diagonal=False))
        m.weight.requires_grad_(False)
    return m


def crop_like(x, ref):
    return x[:, :, :ref.shape[2], :ref.shape[3]]


def upsample_to(x, ref):
    return F.interpolate(x, size=ref.shape[-2:], mode="bilinear", align_corners=False)


# ---------------------------------------------------------------- FCN

class VGGBackbone(nn.Module):
    """Five conv blocks; dilated=True gives the atrous variant at output stride 8."""

    def __init__(self, dilated):
        super().__init__()
        self.dilated = dilated
        self.block1 = nn.Sequential(conv_bn(3, 16))
        self.block2 = nn.Sequential(conv_bn(16, 32))
        self.block3 = nn.Sequential(conv_bn(32, 48), conv_bn(48, 48))
        d4, d5 = (2, 4) if dilated else (1, 1)
        self.block4 = nn.Sequential(conv_bn(48, 64, dilation=d4), conv_bn(64, 64, dilation=d4))
        self.block5 = nn.Sequential(conv_bn(64, 64, dilation=d5), conv_bn(64, 64, dilation=d5))
        self.pool = nn.MaxPool2d(2, 2, ceil_mode=True)

    def forward(self, x):
        """Returns (pool3, pool4 or block4, pool5 or block5)."""
        x = self.pool(self.block1(x))
        x = self.pool(self.block2(x))
        p3 = self.pool(self.block3(x))
        if self.dilated:
            b4 = self.block4(p3)
            return p3, b4, self.block5(b4)
        p4 = self.pool(self.block4(p3))
        p5 = self.pool(self.block5(p4))
        return p3, p4, p5


class FCN(nn.Module):
    def __init__(self, variant="8s", num_classes=NUM_CLASSES):
        super().__init__()
        assert variant in ("32s", "16s", "8s")
        self.variant = variant
        self.backbone = VGGBackbone(dilated=False)
        # fc6 was 7x7 over VGG's 7x7 pool5; here pool5 of an 80x80 scene is
        # 3x3, so a 3x3 kernel covers it.
        self.fc6 = nn.Sequential(conv_bn(64, 128, k=3), nn.Dropout2d(0.1))
        self.fc7 = nn.Sequential(conv_bn(128, 128, k=1), nn.Dropout2d(0.1))
        self.score_fr = nn.Conv2d(128, num_classes, 1)
        if variant == "32s":
            self.upscore = upsampler(num_classes, 32, learned=False)
        else:
            self.score_pool4 = nn.Conv2d(64, num_classes, 1)
            self.upscore2 = upsampler(num_classes, 2, learned=True)
            # The paper zero-initialises skip scores so training starts from
            # the coarser net's output.
            nn.init.zeros_(self.score_pool4.weight)
            nn.init.zeros_(self.score_pool4.bias)
            if variant == "16s":
                self.upscore = upsampler(num_classes, 16, learned=False)
            else:
                self.score_pool3 = nn.Conv2d(48, num_classes, 1)
                nn.init.zeros_(self.score_pool3.weight)
                nn.init.zeros_(self.score_pool3.bias)
                self.upscore_pool4 = upsampler(num_classes, 2, learned=True)
                self.upscore = upsampler(num_classes, 8, learned=False)

    def forward(self, x):
        p3, p4, p5 = self.backbone(x)
        s = self.score_fr(self.fc7(self.fc6(p5)))
        if self.variant != "32s":
            s4 = self.score_pool4(p4)
            s = crop_like(self.upscore2(s), s4) + s4
            if self.variant == "8s":
                s3 = self.score_pool3(p3)
                s = crop_like(self.upscore_pool4(s), s3) + s3
        return crop_like(self.upscore(s), x)


# ---------------------------------------------------------------- DeepLab

class ASPPv2(nn.Module):
    """DeepLab-v2: per rate a 3x3 atrous conv + two 1x1 (fc7, fc8); class scores summed."""

    def __init__(self, cin, num_classes, rates=(6, 12, 18, 24), mid=32):
        super().__init__()
        self.branches = nn.ModuleList(
            nn.Sequential(conv_bn(cin, mid, dilation=r), nn.Dropout2d(0.1),
                          conv_bn(mid, mid, k=1), nn.Conv2d(mid, num_classes, 1))
            for r in rates)

    def forward(self, x):
        out = self.branches[0](x)
        for b in self.branches[1:]:
            out = out + b(x)
        return out


class ASPPv3(nn.Module):
    """DeepLab-v3: 1x1, three atrous 3x3 and image pooling, concatenated, 1x1 projection."""

    def __init__(self, cin, cout=48, rates=(6, 12, 18)):
        super().__init__()
        self.branches = nn.ModuleList([conv_bn(cin, cout, k=1)] +
                                      [conv_bn(cin, cout, dilation=r) for r in rates])
        # No BN after the pooled 1x1: with batch statistics over 1x1 maps it
        # would be degenerate for small batches.
        self.image_pool = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Conv2d(cin, cout, 1),
                                        nn.ReLU(inplace=True))
        self.project = nn.Sequential(conv_bn(cout * (len(rates) + 2), cout, k=1), nn.Dropout2d(0.1))

    def forward(self, x):
        outs = [b(x) for b in self.branches]
        outs.append(upsample_to(self.image_pool(x), x))
        return self.project(torch.cat(outs, 1))


class DeepLab(nn.Module):
    def __init__(self, version="v3", num_classes=NUM_CLASSES):
        super().__init__()
        self.version = version
        self.backbone = VGGBackbone(dilated=True)
        if version == "v2":
            self.head = ASPPv2(64, num_classes)
        else:
            self.head = nn.Sequential(ASPPv3(64), conv_bn(48, 48), nn.Conv2d(48, num_classes, 1))

    def forward(self, x):
        _, _, f = self.backbone(x)
        return upsample_to(self.head(f), x)


# ---------------------------------------------------------------- PSPNet

class PyramidPooling(nn.Module):
    def __init__(self, cin, bins=(1, 2, 3, 6), mid=16):
        super().__init__()
        self.stages = nn.ModuleList(
            nn.Sequential(nn.AdaptiveAvgPool2d(b), nn.Conv2d(cin, mid, 1, bias=False),
                          nn.BatchNorm2d(mid), nn.ReLU(inplace=True)) for b in bins)
        self.bins = bins

    def forward(self, x):
        return torch.cat([x] + [upsample_to(s(x), x) for s in self.stages], 1)


class PSPNet(nn.Module):
    AUX_WEIGHT = 0.4

    def __init__(self, num_classes=NUM_CLASSES):
        super().__init__()
        self.backbone = VGGBackbone(dilated=True)
        self.ppm = PyramidPooling(64)
        self.head = nn.Sequential(conv_bn(64 + 4 * 16, 64), nn.Dropout2d(0.1),
                                  nn.Conv2d(64, num_classes, 1))
        self.aux = nn.Sequential(conv_bn(64, 32), nn.Dropout2d(0.1), nn.Conv2d(32, num_classes, 1))

    def forward(self, x):
        _, b4, f = self.backbone(x)
        out = upsample_to(self.head(self.ppm(f)), x)
        if self.training:
            return out, upsample_to(self.aux(b4), x)
        return out


MODELS = {
    "fcn32s": lambda: FCN("32s"),
    "fcn16s": lambda: FCN("16s"),
    "fcn8s": lambda: FCN("8s"),
    "deeplabv2": lambda: DeepLab("v2"),
    "deeplabv3": lambda: DeepLab("v3"),
    "pspnet": PSPNet,
}


def build(name):
    return MODELS[name]()


def count_params(model, exported_only=True):
    n = 0
    for name, p in model.named_parameters():
        if exported_only and name.startswith("aux."):
            continue
        n += p.numel()
    return n
