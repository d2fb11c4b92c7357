"""Shows why PSPNet ships with ai.semseg::AdaptiveAvgPool2d.

    pspnet_plain_export.py MODELS_DIR TEST_DATA_DIR...

For every test-data size shipped with models/pspnet.onnx, torch.onnx without
the project's symbolic must refuse PSPNet's pyramid pooling (output sizes
2, 3, 6 do not divide the feature map), both with a dynamic H x W and with
that size fixed; the shipped model runs at those sizes (the compare/validate
tests prove it matches PyTorch there). Skips (77) without PyTorch.
"""
import os
import sys
import tempfile

import modeltest

try:
    import torch
except ImportError:
    print("PyTorch not installed: skipped")
    sys.exit(modeltest.SKIP)


def main():
    models_dir, dirs = sys.argv[1], sys.argv[2:]
    sys.path.insert(0, models_dir)
    import export
    import nets
    torch.set_num_threads(1)
    model = nets.build("pspnet").eval()   # the weights do not matter to the exporter
    failures = 0
    sizes = []
    for d in dirs:
        x = modeltest.read_pb(os.path.join(d, "input_0.pb"))
        sizes.append(tuple(x.shape[2:]))
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "plain.onnx")
        for dynamic in (True, False):
            for h, w in sizes if not dynamic else sizes[:1]:
                what = f"plain export, {'dynamic' if dynamic else 'static'} H x W, {h}x{w}"
                try:
                    export.export(model, path, 13, custom_pool=False, dynamic=dynamic, size=(h, w))
                    print(f"{what}: exported (expected a refusal)")
                    failures += 1
                except Exception as e:  # noqa: BLE001
                    print(f"{what}: refused: {str(e).strip().splitlines()[0][:120]}")
        export.export(model, path, 13, custom_pool=True, size=sizes[0])
        print("export with ai.semseg::AdaptiveAvgPool2d: ok")
    if failures:
        sys.exit("the plain export worked where it was expected to fail")


if __name__ == "__main__":
    main()
