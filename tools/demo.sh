#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine, builds semseg-onnx and segments the
# bundled sample scene with the bundled DeepLab-v3 model (trained by
# models/train.py on handwritten-digit scenes). This is the README's first
# command. Writes demo-mask.png and demo-overlay.png into the current folder.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
out=$(pwd)
bash "$top/tools/setup.sh"
jobs=$(nproc 2>/dev/null || echo 2)
cmake -S "$top" -B "$top/build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$top/build" -j"$jobs" --target semseg-onnx semseg_plugin_ref semseg_plugin_blas >/dev/null
model="$top/models/deeplabv3.onnx"
image="$top/models/samples/scene3_160x240.jpg"
"$top/build/tools/semseg-onnx" run "$model" "$image" -o "$out/demo-mask.png" --overlay "$out/demo-overlay.png"
echo "mask written to $out/demo-mask.png, overlay to $out/demo-overlay.png"
