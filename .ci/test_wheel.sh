#!/usr/bin/env bash
# Install a repaired wheel where no C compiler can be found and check that it works:
# the native backend imports, OpenMP comes from the copy bundled in the wheel, and
# the `retrograd train` command trains.
#
#   .ci/test_wheel.sh dist/retrograd-<version>-<tags>.whl
#
# The virtualenv is fresh; the checks run with PATH holding only that
# virtualenv's bin/, so gcc, cc or clang cannot be found.  The wheel is installed
# with --only-binary, so pip could not build anything from source either.
set -euo pipefail
wheel=${1:?usage: .ci/test_wheel.sh WHEEL}
wheel=$(cd "$(dirname "$wheel")" && pwd)/$(basename "$wheel")
PYTHON=${PYTHON:-python3}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$PYTHON" -m venv "$work/venv"
"$work/venv/bin/pip" install --only-binary=:all: "$wheel" >&2

# Outside the source tree, so `import retrograd` can only find the installed wheel.
cd "$work"
env -i HOME="$HOME" PATH="$work/venv/bin" RETROGRAD_BACKEND=native \
  "$work/venv/bin/python" - <<'PY'
import os
import shutil
import sys

for compiler in ("gcc", "cc", "clang", "c99"):
    assert shutil.which(compiler) is None, f"a compiler is on PATH: {shutil.which(compiler)}"

import numpy as np
import retrograd

assert retrograd.__file__.startswith(sys.prefix), retrograd.__file__
assert retrograd.native_available(), "the native backend did not import"
assert retrograd.get_backend() == "native", retrograd.get_backend()
from retrograd._config import config
assert config()["openmp"], "the native kernels were built without OpenMP"
# Run a kernel on several threads, then find which libgomp the process mapped.
retrograd.set_num_threads(2)
layer = retrograd.layers.Dense(64, 32, seed=0)
layer.forward(np.ones((256, 64), np.float32))
with open("/proc/self/maps") as maps:
    gomp = {line.split()[-1] for line in maps if "libgomp" in line}
libs = os.path.join(os.path.dirname(os.path.dirname(retrograd.__file__)), "retrograd.libs")
assert gomp and all(path.startswith(libs) for path in gomp), f"libgomp loaded from {gomp}"
print(f"test_wheel: retrograd {retrograd.__version__} native, libgomp from the wheel: "
      f"{sorted(os.path.basename(p) for p in gomp)}")
PY

env -i HOME="$HOME" PATH="$work/venv/bin" RETROGRAD_BACKEND=native \
  "$work/venv/bin/retrograd" train --epochs 2 --quiet | tee "$work/train.txt"
grep -q "backend native" "$work/train.txt"
env -i HOME="$HOME" PATH="$work/venv/bin" \
  "$work/venv/bin/python" -m retrograd train --epochs 1 --quiet >/dev/null
echo "test_wheel: ok"
