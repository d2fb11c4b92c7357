#!/usr/bin/env bash
# Installs everything semseg-onnx needs to build, run and test on Debian 12:
# system packages through apt, Python packages into a venv at .venv that sees
# Debian's torch/torchvision (built against numpy 1.x, hence numpy<2).
# Idempotent: a second run does nothing but check.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)

apt_pkgs=(
  build-essential cmake pkg-config git
  protobuf-c-compiler libprotobuf-c-dev libonnx-dev
  libopenblas-dev libpng-dev libjpeg62-turbo-dev
  ocl-icd-opencl-dev opencl-headers pocl-opencl-icd clinfo
  clang libclang-rt-14-dev
  python3-venv python3-torch python3-torchvision python3-sklearn python3-scipy python3-pil
)
missing=()
for p in "${apt_pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}" >&2
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

venv="$top/.venv"
if [ ! -x "$venv/bin/python" ]; then
  /usr/bin/python3 -m venv --system-site-packages "$venv"
fi
# onnx ships the backend node-test data; onnxruntime is the peer in tests and
# benchmarks. numpy stays below 2 because Debian's torch 1.13 needs numpy 1.x.
want="numpy<2 onnx==1.16.2 onnxruntime==1.19.2 protobuf<5"
if ! "$venv/bin/python" -c 'import numpy, onnx, onnxruntime, torch, torchvision, sklearn; assert numpy.__version__.startswith("1.")' 2>/dev/null; then
  echo "setup: pip install $want" >&2
  "$venv/bin/python" -m pip install -q --disable-pip-version-check $want
fi
# Benchmark-only extras (tools/setup.sh --bench): pydensecrf, built from source.
if [ "${1:-}" = "--bench" ] && ! "$venv/bin/python" -c 'import pydensecrf.densecrf' 2>/dev/null; then
  echo "setup: pip install pydensecrf2 (benchmark peer)" >&2
  "$venv/bin/python" -m pip install -q --disable-pip-version-check "cython<3" "numpy<2" pydensecrf2
fi
echo "setup: ok ($("$venv/bin/python" -c 'import numpy,onnx,onnxruntime,torch;print("numpy",numpy.__version__,"onnx",onnx.__version__,"ort",onnxruntime.__version__,"torch",torch.__version__)'))" >&2
