#!/bin/sh
# Trains the six seed networks one after another, then builds what models/
# ships (ONNX files, reference data, reference.json). Logs to $LOGDIR.
set -e
here=$(cd "$(dirname "$0")" && pwd)
py=${PYTHON:-$here/../.venv/bin/python}
LOGDIR=${LOGDIR:-/tmp/semseg-models-logs}
mkdir -p "$LOGDIR"
for name in ${MODELS:-fcn32s fcn16s fcn8s deeplabv2 deeplabv3 pspnet}; do
  echo "training $name (log: $LOGDIR/$name.log)"
  (cd "$here" && "$py" train.py "$name") > "$LOGDIR/$name.log" 2>&1
  tail -n 1 "$LOGDIR/$name.log"
done
(cd "$here" && "$py" release.py) > "$LOGDIR/release.log" 2>&1
echo "release: $LOGDIR/release.log"
