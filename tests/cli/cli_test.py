"""Tests of the semseg-onnx command-line tool.

    cli_test.py CASE CLI WORK [SHARED]

`gen` writes small models (onnx.helper), photos (PIL) and broken files into
WORK; every other case runs the CLI and checks what it wrote against an
independent computation: onnxruntime on the very tensor the CLI fed (saved with
--save-tensors), numpy for argmax / nearest / bilinear resampling, PIL for
decoding and resizing, and the PASCAL VOC palette rebuilt here from its
definition. Exit 0 pass, 77 skip (no ../shared), anything else fail.
"""
import os
import re
import shutil
import subprocess
import sys

import numpy as np

SKIP = 77


# ---------------------------------------------------------------- helpers

def fail(msg):
    print("FAIL:", msg)
    sys.exit(1)


def cli(args, expect=0, env=None):
    cmd = [CLI] + [str(a) for a in args]
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    print("+", " ".join(cmd), "->", p.returncode)
    if p.stdout:
        print(p.stdout, end="")
    if p.stderr:
        print("stderr:", p.stderr, end="")
    if expect is not None and p.returncode != expect:
        fail(f"exit {p.returncode}, expected {expect}: {' '.join(cmd)}")
    return p


def read_pb(path):
    from onnx import TensorProto, numpy_helper
    t = TensorProto()
    with open(path, "rb") as f:
        t.ParseFromString(f.read())
    return numpy_helper.to_array(t)


def read_png(path):
    from PIL import Image
    return np.asarray(Image.open(path))


def ort(model, *inputs):
    import onnxruntime as rt
    s = rt.InferenceSession(model, providers=["CPUExecutionProvider"])
    feed = {i.name: x for i, x in zip(s.get_inputs(), inputs)}
    return s.run(None, feed)


def voc_palette():
    # PASCAL VOC devkit colour map: bits of the index spread over R, G, B.
    pal = np.zeros((256, 3), np.uint8)
    for i in range(256):
        c, r, g, b = i, 0, 0, 0
        for j in range(8):
            r |= ((c >> 0) & 1) << (7 - j)
            g |= ((c >> 1) & 1) << (7 - j)
            b |= ((c >> 2) & 1) << (7 - j)
            c >>= 3
        pal[i] = (r, g, b)
    return pal


def nearest(a, h, w):
    """numpy nearest resize of a 2-D map, src = floor((dst + 0.5) * in / out)."""
    ys = np.minimum(((np.arange(h) + 0.5) * a.shape[0] / h).astype(int), a.shape[0] - 1)
    xs = np.minimum(((np.arange(w) + 0.5) * a.shape[1] / w).astype(int), a.shape[1] - 1)
    return a[ys][:, xs]


def bilinear(a, h, w):
    """numpy bilinear resize (half-pixel centres, edge clamp) of C x H x W."""
    def coords(n_out, n_in):
        s = np.clip((np.arange(n_out) + 0.5) * n_in / n_out - 0.5, 0, n_in - 1)
        i0 = np.floor(s).astype(int)
        return i0, np.minimum(i0 + 1, n_in - 1), (s - i0).astype(np.float32)
    y0, y1, fy = coords(h, a.shape[1])
    x0, x1, fx = coords(w, a.shape[2])
    top = a[:, y0][:, :, x0] * (1 - fx) + a[:, y0][:, :, x1] * fx
    bot = a[:, y1][:, :, x0] * (1 - fx) + a[:, y1][:, :, x1] * fx
    return top * (1 - fy[:, None]) + bot * fy[:, None]


def agreement(a, b):
    return float(np.mean(a == b))


IMAGENET_MEAN = np.array([0.485, 0.456, 0.406], np.float32)
IMAGENET_STD = np.array([0.229, 0.224, 0.225], np.float32)


# ---------------------------------------------------------------- gen

def make_models(work):
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(7)

    def save(graph, name, meta=None):
        m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="cli_test")
        m.ir_version = 8
        for k, v in (meta or {}).items():
            e = m.metadata_props.add()
            e.key, e.value = k, v
        onnx.checker.check_model(m)
        onnx.save(m, os.path.join(work, name))

    def conv_graph(classes, in_dims, out_dims, nhwc=False, seed_w=None):
        w = (seed_w if seed_w is not None else rng.standard_normal((classes, 3, 1, 1))).astype(np.float32)
        b = rng.standard_normal(classes).astype(np.float32) * 0.1
        inits = [numpy_helper.from_array(w, "w"), numpy_helper.from_array(b, "b")]
        if nhwc:
            nodes = [helper.make_node("Transpose", ["image"], ["t"], perm=[0, 3, 1, 2], name="to_nchw"),
                     helper.make_node("Conv", ["t", "w", "b"], ["c"], name="classifier"),
                     helper.make_node("Transpose", ["c"], ["logits"], perm=[0, 2, 3, 1], name="to_nhwc")]
        else:
            nodes = [helper.make_node("Conv", ["image", "w", "b"], ["logits"], name="classifier")]
        return helper.make_graph(nodes, "g", [helper.make_tensor_value_info("image", TensorProto.FLOAT, in_dims)],
                                 [helper.make_tensor_value_info("logits", TensorProto.FLOAT, out_dims)], inits)

    # Dynamic H x W, NCHW, 4 classes.
    save(conv_graph(4, [1, 3, "H", "W"], [1, 4, "H", "W"]), "nchw_dyn.onnx")
    # Static 24 x 32, NHWC in and out (TensorFlow style), 5 classes.
    save(conv_graph(5, [1, 24, 32, 3], [1, 24, 32, 5], nhwc=True), "nhwc_static.onnx")
    # Static NCHW at a size smaller than the photos, 3 classes.
    save(conv_graph(3, [1, 3, 12, 16], [1, 3, 12, 16]), "nchw_small.onnx")
    # Carries its preprocessing and class names in metadata_props.
    save(conv_graph(4, [1, 3, "H", "W"], [1, 4, "H", "W"]), "meta.onnx",
         {"semseg.scale": "1", "semseg.mean": "0,0,0", "semseg.std": "1", "semseg.classes": "sky,tree,road,car"})
    # uint8 NHWC input (raw pixels), cast inside the model.
    w = rng.standard_normal((2, 3, 1, 1)).astype(np.float32)
    nodes = [helper.make_node("Cast", ["image"], ["f"], to=TensorProto.FLOAT, name="cast"),
             helper.make_node("Transpose", ["f"], ["t"], perm=[0, 3, 1, 2], name="to_nchw"),
             helper.make_node("Conv", ["t", "w"], ["logits"], name="classifier")]
    g = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("image", TensorProto.UINT8, [1, "H", "W", 3])],
                          [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 2, "H", "W"])],
                          [numpy_helper.from_array(w, "w")])
    save(g, "uint8_nhwc.onnx")
    # A 2-D input: not an image model.
    g = helper.make_graph([helper.make_node("Relu", ["x"], ["y"], name="r")], "g",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 10])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 10])])
    save(g, "input2d.onnx")
    open(os.path.join(work, "empty.onnx"), "wb").close()


def make_images(work):
    from PIL import Image

    yy, xx = np.mgrid[0:30, 0:40]
    rgb = np.stack([xx * 6, yy * 8, (xx + yy) * 3], -1).astype(np.uint8)
    rgb[10:20, 15:30] = (250, 30, 20)  # a block so several classes show up
    photo = Image.fromarray(rgb, "RGB")
    photo.save(os.path.join(work, "photo.png"))
    photo.save(os.path.join(work, "photo.jpg"), quality=95)
    photo.convert("L").save(os.path.join(work, "gray.png"))
    photo.convert("L").save(os.path.join(work, "gray.jpg"), quality=95)
    rgba = photo.convert("RGBA")
    rgba.putalpha(128)
    rgba.save(os.path.join(work, "rgba.png"))
    photo.quantize(16).save(os.path.join(work, "palette.png"))
    photo.convert("L").convert("1").save(os.path.join(work, "bilevel.png"))
    Image.fromarray((rgb[..., 0].astype(np.uint16) * 257), "I;16").save(os.path.join(work, "deep16.png"))
    photo.convert("CMYK").save(os.path.join(work, "cmyk.jpg"))
    photo.save(os.path.join(work, "progressive.jpg"), quality=90, progressive=True)
    # A PNG whose header claims 20000 x 20000: refused before any pixel memory.
    import struct
    import zlib

    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)
    with open(os.path.join(work, "huge.png"), "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 20000, 20000, 8, 2, 0, 0, 0))
                + chunk(b"IDAT", zlib.compress(b"\x00" * 100)) + chunk(b"IEND", b""))
    with open(os.path.join(work, "text.jpg"), "w") as f:
        f.write("this is not a picture\n")
    data = open(os.path.join(work, "photo.png"), "rb").read()
    with open(os.path.join(work, "truncated.png"), "wb") as f:
        f.write(data[: len(data) // 2])
    data = open(os.path.join(work, "photo.jpg"), "rb").read()
    with open(os.path.join(work, "garbage.jpg"), "wb") as f:
        f.write(data[:20] + bytes(range(256)) * 4)
    with open(os.path.join(work, "names.txt"), "w") as f:
        f.write("zero\none\ntwo\nthree\n")
    with open(os.path.join(work, "palette.txt"), "w") as f:
        f.write("# four colours\n0 0 0\n255,0,0\n0 255 0\n0 0 255\n")


def case_gen(work, shared):
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    make_models(work)
    make_images(work)


# ---------------------------------------------------------------- checks

def check_run(work, model, photo, tag, extra=(), normalize=None, classes=None, expect_resize=None):
    """Runs MODEL on PHOTO; checks mask/labels/overlay against onnxruntime on the fed tensor."""
    out = os.path.join(work, tag)
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    mask, labels, overlay = (os.path.join(out, n) for n in ("mask.png", "labels.png", "overlay.png"))
    p = cli(["run", model, photo, "-o", mask, "--labels-png", labels, "--overlay", overlay,
             "--save-tensors", out, *extra])
    from PIL import Image
    img = Image.open(photo).convert("RGB")
    pw, ph = img.size
    fed = read_pb(os.path.join(out, "input_0.pb"))
    got = read_pb(os.path.join(out, "output_0.pb"))
    (ref,) = ort(model, fed)
    if got.shape != ref.shape:
        fail(f"{tag}: output dims {got.shape}, onnxruntime {ref.shape}")
    err = float(np.max(np.abs(got - ref)))
    if err > 1e-4 * max(1.0, float(np.max(np.abs(ref)))):
        fail(f"{tag}: output differs from onnxruntime on the same input by {err}")

    lab = read_png(labels)
    col = read_png(mask)
    if lab.shape != (ph, pw) or col.shape != (ph, pw, 3):
        fail(f"{tag}: labels {lab.shape} / mask {col.shape}, photo is {ph}x{pw}")
    if not np.array_equal(col, voc_palette()[lab]):
        fail(f"{tag}: mask colours are not the VOC colours of the labels")
    nhwc = ref.shape[-1] < ref.shape[1]  # our test models: classes << width
    logits = ref[0].transpose(2, 0, 1) if nhwc else ref[0]
    if "--upsample-logits" in extra:
        want = np.argmax(bilinear(logits, ph, pw), 0)
    else:
        want = nearest(np.argmax(logits, 0), ph, pw)
    a = agreement(lab, want)
    if a < 0.999:
        fail(f"{tag}: labels agree with argmax of onnxruntime's output on {a:.4%} of pixels")

    ov = read_png(overlay).astype(np.float32)
    ph_px = np.asarray(img, np.float32)
    colour = voc_palette()[lab].astype(np.float32)
    black = np.all(colour == 0, -1)
    want_ov = np.where(black[..., None], ph_px, 0.5 * ph_px + 0.5 * colour)
    if np.max(np.abs(ov - want_ov)) > 1.0:
        fail(f"{tag}: overlay is not photo/2 + colour/2 (max diff {np.max(np.abs(ov - want_ov))})")

    if normalize is not None:
        want_in = normalize(img, fed)
        d = float(np.max(np.abs(fed - want_in)))
        tol = 2.5 / 255 / 0.224 if expect_resize else 1e-5
        if "jpg" in photo:
            tol = max(tol, 3.0 / 255 / 0.224)
        if d > tol:
            fail(f"{tag}: fed tensor differs from the independent preprocessing by {d} (tolerance {tol})")
    if classes is not None:
        line = [l for l in p.stdout.splitlines() if "classes:" in l]
        if not line or not all(c in line[0] for c in classes):
            fail(f"{tag}: class line should mention {classes}")
    for word in ("load", "preprocess", "inference", "postprocess"):
        if word not in p.stdout:
            fail(f"{tag}: report lacks the {word} time")
    print(f"{tag}: ok (output error {err:.2e}, label agreement {a:.4%})")
    return p


def imagenet_nchw(img, fed):
    x = np.asarray(img, np.float32) / 255.0
    return ((x - IMAGENET_MEAN) / IMAGENET_STD).transpose(2, 0, 1)[None]


def case_run_png(work, shared):
    check_run(work, f"{work}/nchw_dyn.onnx", f"{work}/photo.png", "run_png", normalize=imagenet_nchw)


def case_run_jpeg(work, shared):
    check_run(work, f"{work}/nchw_dyn.onnx", f"{work}/photo.jpg", "run_jpeg", normalize=imagenet_nchw)


def case_run_formats(work, shared):
    for name in ("gray.png", "gray.jpg", "rgba.png", "palette.png", "bilevel.png", "progressive.jpg"):
        check_run(work, f"{work}/nchw_dyn.onnx", f"{work}/{name}", "fmt_" + name.replace(".", "_"),
                  normalize=imagenet_nchw)


def case_run_nhwc_static(work, shared):
    from PIL import Image

    def resized(img, fed):
        x = np.asarray(img.resize((32, 24), Image.BILINEAR), np.float32) / 255.0
        return ((x - IMAGENET_MEAN) / IMAGENET_STD)[None]

    check_run(work, f"{work}/nhwc_static.onnx", f"{work}/photo.png", "nhwc", normalize=resized, expect_resize=True)
    check_run(work, f"{work}/nhwc_static.onnx", f"{work}/photo.png", "nhwc_up", extra=["--upsample-logits"])
    fed = read_pb(f"{work}/nhwc/input_0.pb")
    if fed.shape != (1, 24, 32, 3):
        fail(f"nhwc: fed {fed.shape}, expected (1, 24, 32, 3)")


def case_run_mixed_layout(work, shared):
    # NHWC uint8 input, NCHW logits: the class axis comes from the output's dims.
    check_run(work, f"{work}/uint8_nhwc.onnx", f"{work}/photo.png", "mixed")
    check_run(work, f"{work}/uint8_nhwc.onnx", f"{work}/photo.jpg", "mixed_size", extra=["--size", "15x20"])


def case_run_nchw_resize(work, shared):
    check_run(work, f"{work}/nchw_small.onnx", f"{work}/photo.jpg", "nchw_small")
    check_run(work, f"{work}/nchw_small.onnx", f"{work}/photo.png", "nchw_small_up", extra=["--upsample-logits"])


def case_run_dynamic_size(work, shared):
    out = f"{work}/dyn_size"
    cli(["run", f"{work}/nchw_dyn.onnx", f"{work}/photo.png", "--size", "16x20", "--save-tensors", out,
         "-o", f"{out}.png"])
    if read_pb(f"{out}/input_0.pb").shape != (1, 3, 16, 20):
        fail("--size 16x20 did not set the fed size")
    if read_png(f"{out}.png").shape[:2] != (30, 40):
        fail("mask is not the photo's size with --size")
    cli(["run", f"{work}/nchw_dyn.onnx", f"{work}/photo.png", "--max-side", "20", "--save-tensors", out])
    if read_pb(f"{out}/input_0.pb").shape != (1, 3, 15, 20):
        fail("--max-side 20 on a 40x30 photo should feed 20x15")
    cli(["run", f"{work}/nhwc_static.onnx", f"{work}/photo.png", "--size", "10x10"], expect=2)


def case_preprocessing(work, shared):
    from PIL import Image
    px = np.asarray(Image.open(f"{work}/photo.png").convert("RGB"), np.float32).transpose(2, 0, 1)[None]
    out = f"{work}/pre"
    # metadata: scale 1, mean 0, std 1, class names
    p = cli(["run", f"{work}/meta.onnx", f"{work}/photo.png", "--save-tensors", out])
    if np.max(np.abs(read_pb(f"{out}/input_0.pb") - px)) > 1e-4:
        fail("metadata semseg.scale/mean/std were not applied")
    if not re.search(r"classes: .*(sky|tree|road|car)", p.stdout):
        fail("metadata semseg.classes names were not used")
    # flags override metadata
    p = cli(["run", f"{work}/meta.onnx", f"{work}/photo.png", "--save-tensors", out, "--scale", "0.5",
             "--mean", "1,2,3", "--class-names", f"{work}/names.txt"])
    want = (px * 0.5 - np.array([1, 2, 3], np.float32)[None, :, None, None])
    if np.max(np.abs(read_pb(f"{out}/input_0.pb") - want)) > 1e-4:
        fail("flags did not override metadata")
    if not re.search(r"classes: .*(zero|one|two|three)", p.stdout):
        fail("--class-names did not override metadata names")
    # x/127.5 - 1 through --mean 0.5 --std 0.5
    cli(["run", f"{work}/nchw_dyn.onnx", f"{work}/photo.png", "--save-tensors", out, "--mean", "0.5", "--std", "0.5"])
    if np.max(np.abs(read_pb(f"{out}/input_0.pb") - (px / 127.5 - 1))) > 1e-5:
        fail("--mean 0.5 --std 0.5 is not x/127.5 - 1")
    cli(["run", f"{work}/nchw_dyn.onnx", f"{work}/photo.png", "--save-tensors", out, "--no-normalize"])
    if np.max(np.abs(read_pb(f"{out}/input_0.pb") - px / 255)) > 1e-6:
        fail("--no-normalize is not x/255")
    # a uint8 model gets the pixels as they are (layout NHWC from the dims)
    cli(["run", f"{work}/uint8_nhwc.onnx", f"{work}/photo.png", "--save-tensors", out, "--layout", "NHWC"])
    fed = read_pb(f"{out}/input_0.pb")
    if fed.dtype != np.uint8 or not np.array_equal(fed, px.transpose(0, 2, 3, 1).astype(np.uint8)):
        fail("uint8 model: fed tensor is not the raw pixels")
    # a palette file
    cli(["run", f"{work}/nchw_dyn.onnx", f"{work}/photo.png", "-o", f"{out}/pal.png", "--labels-png",
         f"{out}/lab.png", "--palette", f"{work}/palette.txt"])
    pal = np.array([[0, 0, 0], [255, 0, 0], [0, 255, 0], [0, 0, 255]], np.uint8)
    if not np.array_equal(read_png(f"{out}/pal.png"), pal[read_png(f"{out}/lab.png")]):
        fail("--palette colours not used")
    cli(["run", f"{work}/nhwc_static.onnx", f"{work}/photo.png", "-o", f"{out}/x.png", "--palette",
         f"{work}/palette.txt"], expect=2)  # 5 classes, 4 colours


def case_tensor_input(work, shared):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((1, 3, 9, 11)).astype(np.float32)
    from onnx import numpy_helper
    np.save(f"{work}/x.npy", x)
    with open(f"{work}/x.pb", "wb") as f:
        f.write(numpy_helper.from_array(x, "image").SerializeToString())
    (ref,) = ort(f"{work}/nchw_dyn.onnx", x)
    for name in ("x.npy", "x.pb"):
        out = f"{work}/tensor_{name}"
        cli(["run", f"{work}/nchw_dyn.onnx", f"{work}/{name}", "--save-tensors", out])
        got = read_pb(f"{out}/output_0.pb")
        if got.shape != ref.shape or np.max(np.abs(got - ref)) > 1e-4:
            fail(f"tensor input {name}: output differs from onnxruntime")
    # a tensor input also gives a mask at the output's size
    cli(["run", f"{work}/nchw_dyn.onnx", f"{work}/x.npy", "--labels-png", f"{work}/tensor_labels.png"])
    if not np.array_equal(read_png(f"{work}/tensor_labels.png"), np.argmax(ref[0], 0)):
        fail("labels of a tensor input are not the argmax")
    # a 2-D model runs from a tensor file
    y = rng.standard_normal((1, 10)).astype(np.float32)
    np.save(f"{work}/y.npy", y)
    cli(["run", f"{work}/input2d.onnx", f"{work}/y.npy", "--save-tensors", f"{work}/tensor_2d"])
    if np.max(np.abs(read_pb(f"{work}/tensor_2d/output_0.pb") - np.maximum(y, 0))) > 0:
        fail("2-D model on a tensor file: wrong output")


def case_batch(work, shared):
    out = f"{work}/batch"
    shutil.rmtree(out, ignore_errors=True)
    p = cli(["run", f"{work}/nchw_dyn.onnx", f"{work}/photo.png", f"{work}/photo.jpg", f"{work}/gray.png",
             "-o", f"{out}/masks", "--labels-png", f"{out}/labels", "--save-tensors", f"{out}/t", "--progress"])
    for stem in ("photo", "gray"):
        if read_png(f"{out}/masks/{stem}.png").shape != (30, 40, 3):
            fail(f"batch: {out}/masks/{stem}.png missing or wrong size")
    for i in range(3):
        if not os.path.exists(f"{out}/t/test_data_set_{i}/output_0.pb"):
            fail(f"batch: no {out}/t/test_data_set_{i}/output_0.pb")
    if p.stderr.count("[") < 3 or "[3/3]" not in p.stderr:
        fail("batch: no progress lines on stderr with --progress")
    # one bad file among good ones: the good ones still run, exit 2
    p = cli(["run", f"{work}/nchw_dyn.onnx", f"{work}/photo.png", f"{work}/text.jpg", "-o", f"{out}/m2"],
            expect=2)
    if not os.path.exists(f"{out}/m2/photo.png"):
        fail("batch: the good image was not processed when another failed")


def expect_error(args, must_mention):
    p = cli(args, expect=2)
    lines = [l for l in p.stderr.splitlines() if l.strip()]
    if len(lines) != 1:
        fail(f"expected exactly one error line, got {len(lines)}: {p.stderr!r}")
    for word in must_mention:
        if word not in lines[0]:
            fail(f"error line should mention {word!r}: {lines[0]}")


def case_errors(work, shared):
    m = f"{work}/nchw_dyn.onnx"
    expect_error(["run", m, f"{work}/missing.png"], ["missing.png"])
    expect_error(["run", m, f"{work}/text.jpg"], ["text.jpg", "not a JPEG or PNG"])
    expect_error(["run", m, f"{work}/deep16.png"], ["deep16.png", "16-bit"])
    expect_error(["run", m, f"{work}/cmyk.jpg"], ["cmyk.jpg", "CMYK"])
    expect_error(["run", m, f"{work}/truncated.png"], ["truncated.png"])
    expect_error(["run", m, f"{work}/huge.png"], ["huge.png", "20000x20000", "limit"])
    expect_error(["run", m, f"{work}/garbage.jpg"], ["garbage.jpg"])
    expect_error(["run", f"{work}/empty.onnx", f"{work}/photo.png"], ["empty.onnx", "empty"])
    expect_error(["run", f"{work}/missing.onnx", f"{work}/photo.png"], ["missing.onnx"])
    expect_error(["run", f"{work}/input2d.onnx", f"{work}/photo.png"], ["input2d.onnx", "4-D"])
    expect_error(["run", f"{work}/photo.png", f"{work}/photo.png"], ["photo.png"])  # an image as the model
    expect_error(["run", m], ["INPUT"])
    expect_error(["run", m, f"{work}/photo.png", "--bogus"], ["--bogus"])
    expect_error(["run", m, f"{work}/photo.png", "--size", "abc"], ["--size"])
    expect_error(["run", m, f"{work}/photo.png", "--mean", "1,2"], ["--mean"])
    expect_error(["run", m, f"{work}/photo.png", "--std", "0"], ["std"])
    expect_error(["run", m, f"{work}/photo.png", "--alpha", "2"], ["--alpha"])
    expect_error(["run", m, f"{work}/photo.png", "--layout", "CHWN"], ["--layout"])
    expect_error(["run", m, f"{work}/photo.png", "--threads", "0"], ["--threads"])
    expect_error(["run", m, f"{work}/photo.png", "-o", f"{work}/no/such/dir/x.png"], ["x.png"])
    expect_error(["info", f"{work}/empty.onnx"], ["empty.onnx"])
    expect_error(["validate", m, f"{work}/nowhere"], ["nowhere"])
    expect_error(["frobnicate"], ["frobnicate"])


def case_help(work, shared):
    for sub in ("run", "info", "validate", "bench", "plugins"):
        p = cli([sub, "--help"])
        if "usage: semseg-onnx " + sub not in p.stdout:
            fail(f"{sub} --help does not print its usage")
    p = cli(["--help"])
    p = cli(["--version"])
    if not re.match(r"semseg-onnx \d+\.\d+\.\d+", p.stdout):
        fail("--version")
    for word in ("semseg.mean", "semseg.std", "semseg.scale", "semseg.layout", "flags > model metadata > defaults"):
        if word not in cli(["run", "--help"]).stdout:
            fail(f"run --help does not document {word}")


def case_info(work, shared):
    p = cli(["info", f"{work}/nhwc_static.onnx", "--backend", "ref"])
    for word in ("ir_version 8", "opset 13", "cli_test", "image", "logits", "Transpose", "Conv", "classifier",
                 "parameters: 20", "peak activation memory", "ref"):
        if word not in p.stdout:
            fail(f"info does not show {word!r}")
    if not re.search(r"Conv\S*\s+1x5x24x32\s+ref\s+classifier", p.stdout):
        fail("info: per-node row of 'classifier' should show Conv, 1x5x24x32 and ref")
    p = cli(["info", f"{work}/nchw_dyn.onnx", "--input-size", "8x10"])
    if not re.search(r"Conv\S*\s+1x4x8x10\s+\S+\s+classifier", p.stdout):
        fail("info --input-size 8x10 should give the Conv output 1x4x8x10")
    p = cli(["plugins"])
    if not re.search(r"^ref\s", p.stdout, re.M):
        fail("plugins does not list ref")


def case_validate(work, shared):
    rng = np.random.default_rng(5)
    x = rng.standard_normal((1, 3, 6, 7)).astype(np.float32)
    (ref,) = ort(f"{work}/nchw_dyn.onnx", x)
    from onnx import numpy_helper

    def dataset(d, y):
        os.makedirs(d, exist_ok=True)
        with open(f"{d}/input_0.pb", "wb") as f:
            f.write(numpy_helper.from_array(x, "image").SerializeToString())
        with open(f"{d}/output_0.pb", "wb") as f:
            f.write(numpy_helper.from_array(y, "logits").SerializeToString())

    good, bad = f"{work}/val/model/test_data_set_0", f"{work}/val/bad"
    dataset(good, ref)
    dataset(f"{work}/val/model/test_data_set_1", ref)
    worse = ref.copy()
    worse[0, 0, 0, 0] += 0.5
    dataset(bad, worse)
    p = cli(["validate", f"{work}/nchw_dyn.onnx", good])
    if "argmax agreement" not in p.stdout or "max abs" not in p.stdout:
        fail("validate should print max abs error and argmax agreement")
    cli(["validate", f"{work}/nchw_dyn.onnx", f"{work}/val/model", "--save-tensors", f"{work}/val/saved"])
    if not os.path.exists(f"{work}/val/saved/test_data_set_1/output_0.pb"):
        fail("validate --save-tensors did not write the outputs")
    cli(["validate", f"{work}/nchw_dyn.onnx", bad], expect=1)
    cli(["validate", f"{work}/nchw_dyn.onnx", bad, "--atol", "1"], expect=0)


def case_bench(work, shared):
    p = cli(["bench", f"{work}/nchw_dyn.onnx", "--input-size", "16x16", "-n", "3", "--warmup", "1", "--profile"])
    for word in ("median", "peak RSS", "Conv", "slowest nodes"):
        if word not in p.stdout:
            fail(f"bench output lacks {word!r}")
    cli(["bench", f"{work}/nchw_dyn.onnx"], expect=2)  # symbolic dims, no --input-size


# ---------------------------------------------------------------- the real VOC model

def case_voc(work, shared):
    model = os.path.join(shared or "", "models", "deeplabv3_mnv2_voc.onnx")
    images = os.path.join(shared or "", "images")
    if not shared or not os.path.exists(model):
        print(f"SKIP: {model} not found")
        sys.exit(SKIP)
    from PIL import Image
    for photo, want_class, name in (("astronaut.png", 15, "person"), ("chelsea.png", 8, "cat")):
        path = os.path.join(images, photo)
        if not os.path.exists(path):
            print(f"SKIP: {path} not found")
            sys.exit(SKIP)
        out = os.path.join(work, "voc_" + photo.split(".")[0])
        shutil.rmtree(out, ignore_errors=True)
        os.makedirs(out)
        p = cli(["run", model, path, "--mean", "0.5", "--std", "0.5", "--class-names", "voc", "-o",
                 f"{out}/mask.png", "--labels-png", f"{out}/labels.png", "--save-tensors", out])
        img = Image.open(path).convert("RGB")
        fed = read_pb(f"{out}/input_0.pb")
        if fed.shape != (1, 257, 257, 3):
            fail(f"{photo}: fed {fed.shape}, the model takes 1x257x257x3 NHWC")
        indep = np.asarray(img.resize((257, 257), Image.BILINEAR), np.float32)[None] / 127.5 - 1
        if np.mean(np.abs(fed - indep)) > 0.01:
            fail(f"{photo}: fed tensor is not x/127.5 - 1 of the resized photo (mean diff {np.mean(np.abs(fed - indep))})")
        got = read_pb(f"{out}/output_0.pb")
        (ref,) = ort(model, fed)
        err = float(np.max(np.abs(got - ref)))
        agree = agreement(np.argmax(got[0], -1), np.argmax(ref[0], -1))
        print(f"{photo}: max abs diff to onnxruntime {err:.3g}, argmax agreement {agree:.4%}")
        if err > 1e-2 or agree < 0.995:
            fail(f"{photo}: C runtime and onnxruntime disagree (max abs {err}, argmax agreement {agree})")
        lab = read_png(f"{out}/labels.png")
        if lab.shape != (img.size[1], img.size[0]):
            fail(f"{photo}: label map {lab.shape}, photo {img.size}")
        if not np.array_equal(read_png(f"{out}/mask.png"), voc_palette()[lab]):
            fail(f"{photo}: mask colours are not the VOC colours of the labels")
        want = nearest(np.argmax(ref[0], -1), lab.shape[0], lab.shape[1])
        if agreement(lab, want) < 0.995:
            fail(f"{photo}: labels disagree with onnxruntime's argmax resized to the photo")
        counts = np.bincount(lab.ravel(), minlength=21)
        counts[0] = 0
        top = int(np.argmax(counts))
        if top != want_class:
            fail(f"{photo}: most frequent object class is {top}, expected {want_class} ({name})")
        if name not in p.stdout:
            fail(f"{photo}: report does not name {name}")
        print(f"{photo}: {name} ({want_class}) covers {counts[want_class] / lab.size:.1%} of the photo")


def main():
    global CLI
    case, CLI, work = sys.argv[1], sys.argv[2], sys.argv[3]
    shared = sys.argv[4] if len(sys.argv) > 4 and os.path.isdir(sys.argv[4]) else None
    fn = globals().get("case_" + case)
    if not fn:
        fail(f"unknown case {case}")
    os.makedirs(work, exist_ok=True)
    fn(work, shared)
    print("PASS")


if __name__ == "__main__":
    main()
