"""Benchmark: activation forward + backward, native vs NumPy vs PyTorch, in one process.

For each activation, one forward and one backward pass over N float32 values
(default 16M), timed as the median over repeats, at each requested thread count:

  native      retrograd.backend.native_ops (the public kernels: new output arrays)
  native-pre  the same C kernels writing into preallocated outputs (like torch's out=)
  numpy       retrograd.backend.numpy_ops (single-threaded; timed once)
  torch       PyTorch's own forward/backward kernels writing into preallocated outputs
              via out= (torch.set_num_threads equal to ours), when torch is importable

Bandwidth: a forward + backward pass moves at least 5 arrays of N values (forward reads
x and writes y; backward reads dy and x or y and writes dx); GB/s is that traffic over the
native-pre time, compared with the machine's copy bandwidth measured here (np.copyto).

    python benchmarks/bench_activations.py            # 16M values, 7 repeats, 1 and 2 threads
    python benchmarks/bench_activations.py --quick    # small smoke run
"""
import argparse
import platform

import numpy as np

import retrograd
from retrograd.bench import copy_bandwidth, median_ms
from retrograd.backend import numpy_ops

try:
    import torch
except ImportError:  # the comparison column is left empty
    torch = None

if retrograd.native_available():
    from retrograd.backend import native_ops
    from retrograd._native import _activations, _softmax

SOFTMAX_COLS = 1024

# name, hyper-parameters of the ops kernels
ACTIVATIONS = [
    ("relu", ()), ("leaky_relu", (0.01,)), ("sigmoid", ()), ("tanh", ()), ("softsign", ()),
    ("hard_sigmoid", ()), ("hard_tanh", (-1.0, 1.0)), ("elu", (1.0,)), ("selu", ()),
    ("gelu_erf", ()), ("gelu_tanh", ()), ("gelu_sigmoid", ()), ("swish", (1.0,)),
    ("softmax", ()),
]



def ops_pass(module, name, hyper, x, dy):
    """forward + backward through a kernel module (new outputs, as layers use them)."""
    fwd, bwd = getattr(module, f"{name}_forward"), getattr(module, f"{name}_backward")

    def run():
        y = fwd(x, *hyper)
        bwd(dy, x, y, *hyper)
    return run


def native_prealloc_pass(name, hyper, x, dy, y, dx):
    """The same C kernels writing into preallocated outputs."""
    if name == "softmax":
        x2, dy2, y2, dx2 = (a.reshape(-1, SOFTMAX_COLS) for a in (x, dy, y, dx))

        def run():
            n = retrograd.get_num_threads()
            _softmax.forward(x2, y2, n)
            _softmax.backward(dy2, y2, dx2, n)
        return run
    kind = native_ops._ACTIVATION_KINDS[name]
    a, b = (tuple(hyper) + (0.0, 0.0))[:2]

    def run():
        n = retrograd.get_num_threads()
        _activations.forward(kind, x, y, a, b, n)
        _activations.backward(kind, dy, x, y, dx, a, b, n)
    return run


def torch_pass(name, hyper, x, dy, y, dx):
    """PyTorch's forward and backward kernels into preallocated outputs, or None where
    PyTorch has no kernel of that function (softsign, gelu_sigmoid: composites there)."""
    if torch is None:
        return None
    aten, nn = torch.ops.aten, torch._C._nn
    tx, tdy, ty, tdx = (torch.from_numpy(a) for a in (x, dy, y, dx))
    selu = (1.0507009873554805, 1.6732632423543772)
    table = {
        "relu": (lambda: torch.clamp_min(tx, 0, out=ty),
                 lambda: aten.threshold_backward.grad_input(tdy, tx, 0, grad_input=tdx)),
        "leaky_relu": (lambda: nn.leaky_relu(tx, *hyper, out=ty),
                       lambda: aten.leaky_relu_backward.grad_input(tdy, tx, *hyper, False,
                                                                   grad_input=tdx)),
        "sigmoid": (lambda: torch.sigmoid(tx, out=ty),
                    lambda: aten.sigmoid_backward.grad_input(tdy, ty, grad_input=tdx)),
        "tanh": (lambda: torch.tanh(tx, out=ty),
                 lambda: aten.tanh_backward.grad_input(tdy, ty, grad_input=tdx)),
        "hard_sigmoid": (lambda: nn.hardsigmoid(tx, out=ty),
                         lambda: aten.hardsigmoid_backward.grad_input(tdy, tx, grad_input=tdx)),
        "hard_tanh": (lambda: nn.hardtanh(tx, *hyper, out=ty),
                      lambda: aten.hardtanh_backward.grad_input(tdy, tx, *hyper, grad_input=tdx)),
        "elu": (lambda: nn.elu(tx, *hyper, 1.0, 1.0, out=ty),
                lambda: aten.elu_backward.grad_input(tdy, *hyper, 1.0, 1.0, False, tx,
                                                     grad_input=tdx)),
        "selu": (lambda: nn.elu(tx, selu[1], selu[0], 1.0, out=ty),
                 lambda: aten.elu_backward.grad_input(tdy, selu[1], selu[0], 1.0, False, tx,
                                                      grad_input=tdx)),
        "gelu_erf": (lambda: nn.gelu(tx, approximate="none", out=ty),
                     lambda: aten.gelu_backward.grad_input(tdy, tx, approximate="none",
                                                           grad_input=tdx)),
        "gelu_tanh": (lambda: nn.gelu(tx, approximate="tanh", out=ty),
                      lambda: aten.gelu_backward.grad_input(tdy, tx, approximate="tanh",
                                                            grad_input=tdx)),
        "swish": (lambda: nn.silu(tx, out=ty),   # beta = 1 is SiLU
                  lambda: aten.silu_backward.grad_input(tdy, tx, grad_input=tdx)),
    }
    if name == "softmax":
        tx2, tdy2, ty2, tdx2 = (t.view(-1, SOFTMAX_COLS) for t in (tx, tdy, ty, tdx))
        table["softmax"] = (
            lambda: aten._softmax.out(tx2, -1, False, out=ty2),
            lambda: aten._softmax_backward_data.out(tdy2, ty2, -1, torch.float32,
                                                    grad_input=tdx2))
    if name not in table:
        return None
    fwd, bwd = table[name]

    def run():
        fwd()
        bwd()
    return run



def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, default=1 << 24, help="values per array")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--threads", default="1,2", help="comma-separated thread counts")
    parser.add_argument("--only", default="", help="comma-separated activation names")
    parser.add_argument("--quick", action="store_true", help="64K values, 2 repeats")
    args = parser.parse_args(argv)
    if args.quick:
        args.size, args.repeats = 1 << 16, 2
    if not retrograd.native_available():
        raise SystemExit("bench_activations: the native kernels are not built")
    n = args.size - args.size % SOFTMAX_COLS
    threads = [int(t) for t in args.threads.split(",")]

    rng = np.random.default_rng(0)
    x = (rng.standard_normal(n) * 3).astype(np.float32)
    dy = rng.standard_normal(n).astype(np.float32)
    y, dx = np.empty_like(x), np.empty_like(x)
    copy_gbs = copy_bandwidth(n, args.repeats)

    print(f"machine: {platform.machine()}, {retrograd.get_num_threads()} default threads, "
          f"simd {retrograd._config.config()['simd']}; numpy {np.__version__}; "
          f"torch {torch.__version__ if torch else 'not installed'}")
    print(f"N = {n} float32 values, forward + backward, median of {args.repeats}; "
          f"copy bandwidth (np.copyto) {copy_gbs:.1f} GB/s")
    header = (f"{'activation':<13}{'thr':>4}{'native':>9}{'nat-pre':>9}{'numpy':>9}{'torch':>9}"
              f"{'numpy/nat':>11}{'nat/torch':>11}{'pre/torch':>11}{'GB/s':>7}{'%copy':>7}"
              f"{'1->2 thr':>9}")
    print(header)
    print("-" * len(header))
    before = retrograd.get_num_threads()
    torch_before = torch.get_num_threads() if torch else None
    try:
        only = set(filter(None, args.only.split(",")))
        for name, hyper in ACTIVATIONS:
            if only and name not in only:
                continue
            xs, dys = (x.reshape(-1, SOFTMAX_COLS), dy.reshape(-1, SOFTMAX_COLS)) \
                if name == "softmax" else (x, dy)
            numpy_ms = median_ms(ops_pass(numpy_ops, name, hyper, xs, dys),
                                 max(1, min(args.repeats, 3)))
            native_1 = None
            for t in threads:
                retrograd.set_num_threads(t)
                if torch:
                    torch.set_num_threads(t)
                native_ms = median_ms(ops_pass(native_ops, name, hyper, xs, dys), args.repeats)
                pre_ms = median_ms(native_prealloc_pass(name, hyper, x, dy, y, dx), args.repeats)
                run_torch = torch_pass(name, hyper, x, dy, y, dx)
                torch_ms = median_ms(run_torch, args.repeats) if run_torch else None
                native_1 = native_ms if t == 1 else native_1
                gbs = 5 * 4 * n / (pre_ms * 1e-3) / 1e9
                fmt = (lambda v, spec: format(v, spec) if v is not None else "-")
                print(f"{name:<13}{t:>4}{native_ms:>9.2f}{pre_ms:>9.2f}{numpy_ms:>9.2f}"
                      f"{fmt(torch_ms, '9.2f'):>9}{numpy_ms / native_ms:>10.1f}x"
                      f"{fmt(torch_ms and native_ms / torch_ms, '11.2f'):>11}"
                      f"{fmt(torch_ms and pre_ms / torch_ms, '11.2f'):>11}"
                      f"{gbs:>7.1f}{100 * gbs / copy_gbs:>6.0f}%"
                      f"{fmt(native_1 and t > 1 and native_1 / native_ms or None, '8.2f'):>8}"
                      f"{'x' if native_1 and t > 1 else ' '}")
    finally:
        retrograd.set_num_threads(before)
        if torch:
            torch.set_num_threads(torch_before)


if __name__ == "__main__":
    main()
