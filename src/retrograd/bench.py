"""The quick speed comparison behind ``retrograd bench``: native kernels against
the NumPy reference (and PyTorch on the CPU when it is importable), measured in
one process on the same inputs.

Cases, on LeNet-5 shapes (batch 64; 8 with ``quick``):
  * ReLU forward + backward on the first convolution's output (N, 24, 24, 6);
  * Conv2D forward + backward, the second convolution: (N, 12, 12, 6) -> 16 filters 5x5;
  * MaxPooling2D 2x2 forward + backward on (N, 24, 24, 6);
  * one Adam step on a 1024 x 1024 float32 parameter (64 x 64 with ``quick``);
  * one LeNet-5 training step (forward, loss, backward, SGD update) on 28x28x1 images.

Each figure is the median wall time of ``repeats`` calls after ``warmup``
calls (workspaces, first touch of memory, the OpenMP team's start-up), so one
slow call (a page fault, another process) does not move it.  Ratios are
numpy / native and torch / native: above 1, the native kernel is faster.

Example:
    >>> rows = run(threads=(1, 2), quick=True)
    >>> print(format_table(rows))
"""
import statistics
import time

import numpy as np

from . import _config, zoo
from . import layers as _layers
from .losses import SparseCategoricalCrossEntropy
from .optimizers import SGD, Adam

__all__ = ["median_time", "CASES", "run", "format_table"]

HEADERS = ("case", "threads", "numpy ms", "native ms", "torch ms", "numpy/native",
           "torch/native")


def median_time(fn, repeats=10, warmup=2):
    """Median wall time in seconds of ``repeats`` calls of ``fn()``, after ``warmup``
    untimed calls (first touch of outputs, workspace growth, thread start-up)."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def race(contenders, repeats, warmup=1):
    """{name: median seconds} of the callables of ``contenders`` (name -> (fn, repeats or
    None for all)), run in turn within each repeat after ``warmup`` untimed rounds, so a
    machine whose speed drifts slows every contender alike."""
    times = {name: [] for name in contenders}
    for r in range(warmup + repeats):
        for name, (fn, most) in contenders.items():
            if most is not None and r >= warmup + most:
                continue
            start = time.perf_counter()
            fn()
            if r >= warmup:
                times[name].append(time.perf_counter() - start)
    return {name: statistics.median(t) for name, t in times.items()}


def median_ms(fn, repeats, warmup=1):
    """``median_time`` in milliseconds (the unit of the benchmark scripts' tables)."""
    return 1e3 * median_time(fn, repeats, warmup)


def copy_bandwidth(n, repeats):
    """GB/s of np.copyto between two n-value float32 arrays (bytes read + written): the
    yardstick of the memory-bound kernels' achieved traffic."""
    src, dst = np.ones(n, np.float32), np.empty(n, np.float32)
    ms = median_ms(lambda: np.copyto(dst, src), repeats)
    return 2 * 4 * n / (ms * 1e-3) / 1e9


def _layer_step(layer, x):
    """forward + backward of ``layer`` on ``x`` with a fixed upstream gradient."""
    grad = np.ones_like(layer.forward(x))

    def step():
        layer.forward(x)
        layer.backward(grad)
    return step


# ---- retrograd cases: (batch, rng) -> a callable running one timed step ---------------------
def _relu(n, rng):
    return _layer_step(_layers.ReLU(), rng.standard_normal((n, 24, 24, 6), np.float32))


def _conv(n, rng):
    return _layer_step(_layers.Conv2D(6, 16, 5, seed=0),
                       rng.standard_normal((n, 12, 12, 6), np.float32))


def _pool(n, rng):
    return _layer_step(_layers.MaxPooling2D(2), rng.standard_normal((n, 24, 24, 6), np.float32))


def _adam_side(n):
    return 64 if n <= 8 else 1024


def _adam(n, rng):
    side = _adam_side(n)
    param = rng.standard_normal((side, side), np.float32)
    grad = rng.standard_normal((side, side), np.float32)
    optimizer = Adam()
    return lambda: optimizer.step([[param]], [[grad]])


def _lenet(n, rng):
    model = zoo.lenet()
    model.compile(SparseCategoricalCrossEntropy(from_logits=True), SGD(0.01))
    x = rng.random((n, 28, 28, 1), np.float32)
    y = rng.integers(0, 10, n)
    return lambda: model.train_step(x, y)


# ---- the same steps in PyTorch (channels-last, as our NHWC) --------------------------------
def _torch_layer(torch, module, x):
    x = torch.from_numpy(x).permute(0, 3, 1, 2).requires_grad_(True)
    grad = torch.ones_like(module(x))

    def step():
        x.grad = None
        module(x).backward(grad)
    return step


def _torch_case(name, torch, n, rng):
    nn = torch.nn
    if name == "ReLU fwd+bwd":
        return _torch_layer(torch, nn.ReLU(), rng.standard_normal((n, 24, 24, 6), np.float32))
    if name == "Conv2D 5x5 fwd+bwd":
        return _torch_layer(torch, nn.Conv2d(6, 16, 5).to(memory_format=torch.channels_last),
                            rng.standard_normal((n, 12, 12, 6), np.float32))
    if name == "MaxPool 2x2 fwd+bwd":
        return _torch_layer(torch, nn.MaxPool2d(2), rng.standard_normal((n, 24, 24, 6),
                                                                        np.float32))
    if name == "Adam step":
        side = _adam_side(n)
        param = nn.Parameter(torch.randn(side, side))
        param.grad = torch.randn(side, side)
        optimizer = torch.optim.Adam([param], eps=1e-7, foreach=False)
        return optimizer.step
    model = zoo.torch_lenet()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    loss_fn = nn.CrossEntropyLoss()
    x = torch.from_numpy(rng.random((n, 28, 28, 1), np.float32)).permute(0, 3, 1, 2)
    y = torch.from_numpy(rng.integers(0, 10, n))

    def step():
        optimizer.zero_grad(set_to_none=True)
        loss_fn(model(x), y).backward()
        optimizer.step()
    return step


# name -> builder of the retrograd step
CASES = {"ReLU fwd+bwd": _relu, "Conv2D 5x5 fwd+bwd": _conv, "MaxPool 2x2 fwd+bwd": _pool,
         "Adam step": _adam, "LeNet-5 train step": _lenet}


def _torch():
    try:
        import torch
    except ImportError:
        return None
    return torch


def run(threads=None, quick=False, repeats=None, cases=None):
    """Time every case for each thread count; returns one dict per (case, threads)
    with the keys of ``HEADERS`` (times in ms, None where a backend is missing).

    Args:
        threads: thread counts to sweep (default: the current count).
        quick: batch 8 and 3 repeats, a smoke run of a few seconds.
        repeats: timed calls per figure (default 3 quick, 10 otherwise).
        cases: names from ``CASES`` (default: all).
    """
    threads = [_config.get_num_threads()] if threads is None else list(threads)
    repeats = repeats or (3 if quick else 10)
    warmup = 1 if quick else 2
    batch = 8 if quick else 64
    names = list(CASES) if cases is None else list(cases)
    torch = _torch()
    backends = ["numpy"] + (["native"] if _config.native_available() else [])
    previous = _config.get_num_threads()
    previous_torch = torch.get_num_threads() if torch is not None else None
    rows = []
    try:
        for n_threads in threads:
            _config.set_num_threads(n_threads)
            if torch is not None:
                torch.set_num_threads(n_threads)
            for name in names:
                row = {"case": name, "threads": n_threads}
                for backend in ("numpy", "native"):
                    row[f"{backend} ms"] = None
                    if backend in backends:
                        with _config.use_backend(backend):
                            step = CASES[name](batch, np.random.default_rng(0))
                            row[f"{backend} ms"] = 1e3 * median_time(step, repeats, warmup)
                row["torch ms"] = None
                if torch is not None:
                    step = _torch_case(name, torch, batch, np.random.default_rng(0))
                    row["torch ms"] = 1e3 * median_time(step, repeats, warmup)
                row["numpy/native"] = _ratio(row["numpy ms"], row["native ms"])
                row["torch/native"] = _ratio(row["torch ms"], row["native ms"])
                rows.append(row)
    finally:
        _config.set_num_threads(previous)
        if torch is not None:
            torch.set_num_threads(previous_torch)
    return rows


def _ratio(a, b):
    return None if a is None or b is None or b <= 0 else a / b


def _cell(value):
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.3f}" if value < 10 else f"{value:.1f}"
    return str(value)


def format_table(rows):
    """``rows`` from ``run`` as an aligned text table (missing values as "-")."""
    cells = [HEADERS] + [tuple(_cell(row[h]) for h in HEADERS) for row in rows]
    widths = [max(len(r[k]) for r in cells) for k in range(len(HEADERS))]

    def line(r):
        return "  ".join([r[0].ljust(widths[0])] + [c.rjust(w) for c, w in zip(r[1:],
                                                                              widths[1:])])
    return "\n".join([line(cells[0]), "  ".join("-" * w for w in widths),
                      *map(line, cells[1:])])
