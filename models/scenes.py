"""Digit scenes: the training and validation data of the seed networks.

Real handwriting from scikit-learn's load_digits (the test part of the UCI
optical-digits set: 1 797 8x8 images, 0..16 grey levels, 13 writers) is
composed into small RGB scenes:
several digits, each upscaled bilinearly to 26..40 px, painted in a grey ink
on a textured, noisy colour background, sometimes touching. Labels are
11 classes: 0 background, 1 + d for digit d. A pixel belongs to a digit where
that digit's upscaled intensity exceeds LABEL_THRESHOLD; a digit painted later
covers earlier ones.

Everything is a pure function of a seed, so the same command always produces
the same data. The split is by source digit (load_digits has no writer ids):
a fixed permutation puts 20 % of the 1 797 source images in validation; val
scenes use only those, train scenes only the others.
"""
import numpy as np
import torch
import torch.nn.functional as F
from sklearn.datasets import load_digits

NUM_CLASSES = 11
CLASS_NAMES = ["background"] + [str(d) for d in range(10)]
LABEL_THRESHOLD = 0.2
SPLIT_SEED = 1234
VAL_FRACTION = 0.2
# Preprocessing the networks expect (pixels scaled to 0..1 first).
MEAN = (0.5, 0.5, 0.5)
STD = (0.25, 0.25, 0.25)
# Digit heights in pixels: 8x8 sources upscaled 3.25..5x. With a network of
# output stride 8 and bilinear logits, thin small glyphs cap the reachable
# mIoU (about 0.77 at 18..30 px and threshold 0.35, measured by fitting free
# 1/8-resolution logits to the labels); 26..40 px at threshold 0.2 lifts it.
DIGIT_SIZES = (26, 40)
SCENE_SIZE = (80, 80)


def split_indices():
    """(train_idx, val_idx) into load_digits, disjoint, fixed."""
    n = len(load_digits().images)
    perm = np.random.RandomState(SPLIT_SEED).permutation(n)
    n_val = int(round(n * VAL_FRACTION))
    return np.sort(perm[n_val:]), np.sort(perm[:n_val])


class DigitBank:
    """The source digits of one split, as float 0..1 arrays plus their class."""

    def __init__(self, split):
        d = load_digits()
        tr, va = split_indices()
        idx = tr if split == "train" else va
        self.images = (d.images[idx] / 16.0).astype(np.float32)
        self.targets = d.target[idx].astype(np.int64)
        self.source_index = idx

    def upscaled(self, i, size):
        t = torch.from_numpy(self.images[i])[None, None]
        up = F.interpolate(t, size=(size, size), mode="bilinear", align_corners=False)
        return up[0, 0].numpy()


def _background(rng, h, w):
    """A textured colour field: gradient between two colours, stripes, blobs, noise."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    c0 = rng.uniform(0.15, 0.95, 3)
    c1 = rng.uniform(0.15, 0.95, 3)
    ang = rng.uniform(0, 2 * np.pi)
    ramp = (np.cos(ang) * xx + np.sin(ang) * yy) / max(h, w)
    ramp = (ramp - ramp.min()) / max(ramp.max() - ramp.min(), 1e-6)
    img = c0[None, None] * (1 - ramp[..., None]) + c1[None, None] * ramp[..., None]
    # Stripes of a random period and direction, in a third colour.
    c2 = rng.uniform(0.1, 0.9, 3)
    period = rng.uniform(5, 16)
    a2 = rng.uniform(0, np.pi)
    stripes = 0.5 + 0.5 * np.sin(2 * np.pi * (np.cos(a2) * xx + np.sin(a2) * yy) / period)
    k = rng.uniform(0.1, 0.35)
    img = img * (1 - k * stripes[..., None]) + c2[None, None] * k * stripes[..., None]
    # Low-frequency blotches.
    coarse = rng.uniform(-1, 1, (1, 3, 4, 4)).astype(np.float32)
    blot = F.interpolate(torch.from_numpy(coarse), size=(h, w), mode="bicubic",
                         align_corners=False)[0].permute(1, 2, 0).numpy()
    img = img + 0.08 * blot
    return img


def make_scene(rng, bank, h=80, w=80, n_digits=None, sizes=DIGIT_SIZES):
    """One scene: (image float32 HxWx3 in 0..1, label uint8 HxW)."""
    img = _background(rng, h, w)
    label = np.zeros((h, w), np.uint8)
    if n_digits is None:
        n_digits = int(rng.randint(2, 5)) * max(1, (h * w) // (80 * 80))
    boxes = []
    for _ in range(n_digits):
        s = int(rng.randint(sizes[0], sizes[1] + 1))
        # Rejection sampling keeps digits mostly apart but lets them touch:
        # the 8x8 sources have blank margins, so overlapping boxes by a few
        # pixels brings strokes into contact.
        for _try in range(20):
            y = int(rng.randint(0, h - s + 1))
            x = int(rng.randint(0, w - s + 1))
            ok = all(min(y + s, by + bs) - max(y, by) <= s // 4 or
                     min(x + s, bx + bs) - max(x, bx) <= s // 4 for by, bx, bs in boxes)
            if ok:
                break
        else:
            continue
        boxes.append((y, x, s))
        i = int(rng.randint(len(bank.targets)))
        alpha = np.clip(bank.upscaled(i, s), 0, 1)
        # Grey ink contrasting with the local background.
        lum = img[y:y + s, x:x + s].mean()
        ink = rng.uniform(0.0, 0.3) if lum > 0.5 else rng.uniform(0.7, 1.0)
        ink_rgb = np.clip(ink + rng.uniform(-0.05, 0.05, 3), 0, 1)
        a = alpha[..., None] * rng.uniform(0.85, 1.0)
        img[y:y + s, x:x + s] = img[y:y + s, x:x + s] * (1 - a) + ink_rgb * a
        sub = label[y:y + s, x:x + s]
        sub[alpha > LABEL_THRESHOLD] = 1 + bank.targets[i]
    img = img + rng.normal(0, rng.uniform(0.02, 0.06), img.shape)
    return np.clip(img, 0, 1).astype(np.float32), label


def make_batch(seed, n, bank, h=80, w=80):
    """n scenes from one seed: (uint8 images NxHxWx3, uint8 labels NxHxW)."""
    rng = np.random.RandomState(seed)
    imgs = np.empty((n, h, w, 3), np.uint8)
    labs = np.empty((n, h, w), np.uint8)
    for k in range(n):
        im, lb = make_scene(rng, bank, h, w)
        imgs[k] = np.round(im * 255).astype(np.uint8)
        labs[k] = lb
    return imgs, labs


def to_input(images_u8):
    """uint8 NxHxWx3 -> normalized float32 Nx3xHxW, the networks' input."""
    x = images_u8.astype(np.float32) / 255.0
    x = (x - np.array(MEAN, np.float32)) / np.array(STD, np.float32)
    return np.ascontiguousarray(x.transpose(0, 3, 1, 2))


def confusion(pred, label, n=NUM_CLASSES):
    return np.bincount(n * label.reshape(-1).astype(np.int64) + pred.reshape(-1),
                       minlength=n * n).reshape(n, n)


def miou(conf):
    """Mean over classes of TP / (TP + FP + FN); classes absent from both are skipped."""
    tp = np.diag(conf).astype(np.float64)
    denom = conf.sum(0) + conf.sum(1) - tp
    valid = denom > 0
    return float((tp[valid] / denom[valid]).mean())
