#!/usr/bin/env bash
# Leak check of retrograd's own code, in the AddressSanitizer build of .ci/sanitize.sh with
# LeakSanitizer on: a short training (a checkpoint saved, then resumed) and every native
# kernel forward and backward, every optimizer, the refused calls and save / load.  Exits
# non-zero on a leak whose allocation stack passes through retrograd's code, on any ASan or
# UBSan error, and on any failure of the workload.
#   .ci/leakcheck.sh      (RETROGRAD_SANITIZE_DIR as for .ci/sanitize.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -n "${RETROGRAD_SANITIZE_DIR:-}" ]; then
  work=$RETROGRAD_SANITIZE_DIR
else
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
fi
RETROGRAD_SANITIZE_DIR=$work .ci/sanitize.sh --build-only
py=$work/venv/bin/python
logs=$work/leaklogs
rm -rf "$logs" && mkdir -p "$logs"

# Every Python object comes from malloc, so that one leaked by an extension module shows up;
# the slow unwinder follows malloc's callers through libpython, built without frame pointers.
# The leak check runs once, at the end of the workload, while the interpreter still holds
# what it will free at exit (it frees only part of it); an ASan or UBSan error aborts the run.
export PYTHONMALLOC=malloc
export ASAN_OPTIONS=detect_leaks=1:leak_check_at_exit=0:fast_unwind_on_malloc=0:malloc_context_size=40:abort_on_error=1:log_path=$logs/asan
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:log_path=$logs/ubsan
rc=0
LD_PRELOAD="$(gcc -print-file-name=libasan.so) $(gcc -print-file-name=libubsan.so)" \
    "$py" - "$logs/run.npz" <<'EOF' || rc=$?
"""The CLI's training, then every native kernel, forward and backward, in both dtypes, on
one thread and on two with inputs large enough to split; every optimizer through a compiled
model with save and load; the refused calls that stop a kernel wrapper after it has taken
its buffers.  Then LeakSanitizer's check."""
import ctypes
import gc
import os
import sys
import tempfile

import numpy as np

import retrograd
from retrograd import Sequential, cli, layers, losses, optimizers
from retrograd.backend import native_ops

checkpoint = sys.argv[1]
for argv in (["train", "--epochs", "2", "--quiet", "--save", checkpoint],
             ["train", "--epochs", "3", "--quiet", "--resume", checkpoint]):
    status = cli.main(argv)
    assert not status, f"retrograd {' '.join(argv)}: exit status {status}"

retrograd.set_backend("native")
rng = np.random.default_rng(0)


def activation_layers(dtype, channels):
    return [layers.Sigmoid(dtype=dtype), layers.Tanh(dtype=dtype), layers.Softsign(dtype=dtype),
            layers.HardSigmoid(dtype=dtype), layers.HardTanh(dtype=dtype),
            layers.ReLU(dtype=dtype), layers.LeakyReLU(dtype=dtype),
            layers.PReLU(dtype=dtype), layers.PReLU(channels, dtype=dtype),
            layers.RReLU(seed=0, dtype=dtype), layers.ELU(dtype=dtype), layers.SELU(dtype=dtype),
            layers.NoisyReLU(seed=0, dtype=dtype), layers.GELU(dtype=dtype),
            layers.GELU("tanh", dtype=dtype), layers.GELU("sigmoid", dtype=dtype),
            layers.Swish(dtype=dtype), layers.Softmax(dtype=dtype),
            layers.Softmax(axis=1, dtype=dtype)]


def image_layers(dtype, channels):
    return [layers.Conv2D(channels, 4, 3, dtype=dtype, seed=0),
            layers.Conv2D(channels, 4, 3, stride=2, padding="same", dtype=dtype, seed=0),
            layers.Conv2D(channels, 4, (3, 2), stride=(1, 2), padding=1, dtype=dtype, seed=0),
            layers.MaxPooling2D(dtype=dtype), layers.MaxPooling2D(3, stride=2, dtype=dtype),
            layers.AveragePooling2D(dtype=dtype), layers.AveragePooling2D(3, 1, dtype=dtype),
            layers.GlobalAveragePooling2D(dtype=dtype), layers.GlobalMaxPooling2D(dtype=dtype),
            layers.Flatten(dtype=dtype), layers.Dropout(0.5, seed=0, dtype=dtype)]


def forward_backward(layer, x):
    for training in (True, False):
        layer.training = training
        y = layer.forward(x)
        layer.backward(np.ones_like(y))


for threads, shape in ((1, (2, 6, 6, 3)), (2, (16, 40, 40, 3))):
    retrograd.set_num_threads(threads)
    for dtype in (np.float32, np.float64):
        x = rng.standard_normal(shape).astype(dtype)
        for layer in activation_layers(dtype, shape[-1]) + image_layers(dtype, shape[-1]):
            forward_backward(layer, x)
        flat = x.reshape(shape[0], -1)
        forward_backward(layers.Dense(flat.shape[1], 10, dtype=dtype, seed=0), flat)
        logits = rng.standard_normal((shape[0], 10)).astype(dtype)
        labels = rng.integers(0, 10, shape[0])
        for loss, y in ((losses.CategoricalCrossEntropy(from_logits=True), np.eye(10)[labels]),
                        (losses.SparseCategoricalCrossEntropy(from_logits=True), labels)):
            loss.forward(logits, y)
            loss.backward(logits, y)

OPTIMIZERS = [optimizers.SGD, optimizers.Momentum, optimizers.NesterovAcceleratedGradient,
              optimizers.AdaGrad, optimizers.RMSProp, optimizers.Adam, optimizers.AdaMax,
              optimizers.Nadam, optimizers.AdamW, optimizers.RAdam, optimizers.Lion]
x = rng.random((32, 8, 8, 1), dtype=np.float32)
y = rng.integers(0, 10, 32)
with tempfile.TemporaryDirectory() as tmp:
    for optimizer in OPTIMIZERS:
        model = Sequential([layers.Conv2D(1, 4, 3, padding=1, seed=0), layers.ReLU(),
                            layers.MaxPooling2D(), layers.Flatten(), layers.Dense(64, 10, seed=0)])
        model.compile(losses.SparseCategoricalCrossEntropy(from_logits=True), optimizer())
        for _ in range(3):
            model.train_step(x, y)
        path = os.path.join(tmp, f"{optimizer.__name__}.npz")
        model.save(path, include_optimizer=True)
        retrograd.load_model(path).train_step(x, y)

# Refused by the optimizer wrapper once it holds some buffers: they must be released.
p, g = np.zeros(5, np.float32), np.ones(5, np.float32)
for state in (np.zeros(5, np.float64), np.zeros(4, np.float32), np.zeros(5, np.float32)[::-1]):
    try:
        native_ops.momentum_step([p], [g], [state], 0.1, 0.9)
    except (TypeError, ValueError) as exc:
        assert "expected" in str(exc), exc
    else:
        raise AssertionError(f"momentum_step took the state {state!r}")

gc.collect()
ctypes.CDLL(None).__lsan_do_recoverable_leak_check()
EOF
if [ "$rc" -ne 0 ]; then
  cat "$logs"/asan.* "$logs"/ubsan.* >&2 2>/dev/null || true
  echo "leakcheck: the workload failed (exit status $rc)" >&2
  exit 1
fi

# Blocks of the interpreter and of numpy may show up; a leak is ours when a frame of its
# allocation stack is in retrograd's code (an extension module of retrograd._native, a csrc/
# source, an rg_* kernel), unless libgomp made the allocation (OpenMP's per-thread pool).
"$py" - "$logs" <<'EOF'
import glob
import re
import sys

OURS = re.compile(r"retrograd/_native/|/csrc/| in rg_|__pyx_")
ours, total = [], 0
for name in glob.glob(f"{sys.argv[1]}/asan.*"):
    for record in open(name).read().split("\n\n"):
        frames = [line for line in record.splitlines() if line.lstrip().startswith("#")]
        if " leak of " not in record or len(frames) < 2:
            continue
        total += 1
        if "libgomp" not in frames[1] and any(OURS.search(frame) for frame in frames):
            ours.append(record.strip())
for record in ours:
    print(record, file=sys.stderr)
print(f"leakcheck: {total} leak record(s) in all, {len(ours)} in retrograd's code")
sys.exit(1 if ours else 0)
EOF
