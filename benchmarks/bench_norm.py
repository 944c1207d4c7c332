"""Benchmark: BatchNormalization and LayerNormalization forward + backward, native vs NumPy vs
PyTorch, raced in one process.

  BatchNormalization  training mode on a float32 NHWC batch (default (128, 32, 32, 64):
                      32 MiB per array), statistics over N, H, W per channel
  LayerNormalization  on a float32 (64, 128, 512) batch (16 MiB per array), over the last axis

Contenders, each one forward + one backward pass with a fixed upstream gradient:

  native   the public layer on the native backend (layer.forward, layer.backward: what users
           get, validation and new output arrays included)
  kernels  the C kernels alone on the (rows, C) view, through their Cython wrappers, into
           preallocated outputs (rg_batch_norm_forward_train + rg_batch_norm_backward with
           the forward's var standing in for inv_std; rg_layer_norm_forward + _backward)
  numpy    the public layer on the NumPy backend (the reference kernels)
  torch    torch.nn.BatchNorm2d on a channels-last tensor over the same NHWC memory (training
           mode) / torch.nn.LayerNorm, backward through autograd, torch.set_num_threads equal
           to ours (when torch is importable)

Each repeat runs every contender once, in turn (NumPy in the first few repeats only), so a
change of the machine's load hits all of them alike; the figures are medians.  At each
requested thread count (retrograd.set_num_threads and torch.set_num_threads).

Memory traffic: the kernels' minimum bytes (BatchNormalization: forward reads x twice and
writes y, backward reads dy and x twice and writes dx, 8 arrays; LayerNormalization: 5
arrays) over the kernels' time, against the copy bandwidth measured here (np.copyto, bytes
read + written).

    python benchmarks/bench_norm.py            # default shapes, 15 repeats, 1 and 2 threads
    python benchmarks/bench_norm.py --quick    # small smoke run
"""
import argparse
import platform

import numpy as np

import retrograd
from retrograd.bench import copy_bandwidth, race
from retrograd.layers import BatchNormalization, LayerNormalization

try:
    import torch
except ImportError:  # the PyTorch column is left empty
    torch = None

if retrograd.native_available():
    from retrograd._native import _norm, _runtime

NUMPY_REPEATS = 3


def race_ms(contenders, repeats, warmup=1):
    """``retrograd.bench.race`` in milliseconds."""
    return {name: 1e3 * t for name, t in race(contenders, repeats, warmup).items()}


def layer_pass(backend, make, x, dy):
    """forward + backward of the public layer ``make()`` on ``backend``."""
    with retrograd.use_backend(backend):
        layer = make()

    def run():
        with retrograd.use_backend(backend):
            layer.forward(x)
            layer.backward(dy)
    return run


def kernel_pass(kind, x, dy):
    """The C kernels alone (the _norm wrappers) on the (rows, C) view, into preallocated
    outputs."""
    c = x.shape[-1]
    x2, dy2 = x.reshape(-1, c), dy.reshape(-1, c)
    gamma, beta = np.ones(c, x.dtype), np.zeros(c, x.dtype)
    y, dx = np.empty_like(x2), np.empty_like(x2)
    dgamma, dbeta = np.empty_like(gamma), np.empty_like(gamma)
    work = np.empty((_runtime.REDUCE_GROUPS, 2 * c))
    stats = np.empty((2, c if kind == "batch" else x2.shape[0]), x.dtype)
    if kind == "batch":
        def run():
            n = retrograd.get_num_threads()
            _norm.batch_forward_train(x2, gamma, beta, y, stats[0], stats[1], work, 1e-5, n)
            _norm.batch_backward(dy2, x2, stats[0], stats[1], gamma, dx, dgamma, dbeta, work, n)
    else:
        def run():
            n = retrograd.get_num_threads()
            _norm.layer_forward(x2, gamma, beta, y, stats[0], stats[1], 1e-5, n)
            _norm.layer_backward(dy2, x2, stats[0], stats[1], gamma, dx, dgamma, dbeta, work, n)
    return run


def torch_pass(kind, x, dy):
    """The same pass in PyTorch: BatchNorm2d on a channels-last view of x's NHWC memory, or
    LayerNorm over the last axis."""
    if kind == "batch":
        xt = torch.from_numpy(x).permute(0, 3, 1, 2)
        assert xt.is_contiguous(memory_format=torch.channels_last)
        dyt = torch.from_numpy(dy).permute(0, 3, 1, 2)
        module = torch.nn.BatchNorm2d(x.shape[-1], eps=1e-5, momentum=0.1)
    else:
        xt, dyt = torch.from_numpy(x), torch.from_numpy(dy)
        module = torch.nn.LayerNorm(x.shape[-1], eps=1e-5)
    module.train()
    xg = xt.detach().requires_grad_()

    def run():
        xg.grad = None
        module.zero_grad(set_to_none=True)
        module(xg).backward(dyt)
    return run


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--bn-shape", default="128,32,32,64", help="N,H,W,C of BatchNormalization")
    parser.add_argument("--ln-shape", default="64,128,512", help="shape of LayerNormalization")
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--threads", default="1,2", help="comma-separated thread counts")
    parser.add_argument("--quick", action="store_true", help="small shapes, 2 repeats")
    args = parser.parse_args(argv)
    if args.quick:
        args.bn_shape, args.ln_shape, args.repeats = "4,8,8,16", "4,8,32", 2
    if not retrograd.native_available():
        raise SystemExit("bench_norm: the native kernels are not built")
    threads = [int(t) for t in args.threads.split(",")]
    rng = np.random.default_rng(0)
    cases = []
    for kind, text in (("batch", args.bn_shape), ("layer", args.ln_shape)):
        shape = tuple(int(s) for s in text.split(","))
        x = (3 + rng.standard_normal(shape)).astype(np.float32)
        dy = rng.standard_normal(shape).astype(np.float32)
        arrays = 8 if kind == "batch" else 5
        make = ((lambda c=shape[-1]: BatchNormalization(c)) if kind == "batch"
                else (lambda c=shape[-1]: LayerNormalization(c)))
        name = "BatchNormalization" if kind == "batch" else "LayerNormalization"
        cases.append((name, kind, shape, x, dy, arrays, make))
    copy_gbs = copy_bandwidth(max(c[3].size for c in cases), args.repeats)

    print(f"machine: {platform.machine()}, {retrograd.get_num_threads()} default threads, "
          f"simd {retrograd._config.config()['simd']}; numpy {np.__version__}; "
          f"torch {torch.__version__ if torch else 'not installed'}")
    print(f"float32, training mode, forward + backward, median of {args.repeats} interleaved "
          f"(numpy: of {min(args.repeats, NUMPY_REPEATS)}); copy bandwidth (np.copyto) "
          f"{copy_gbs:.1f} GB/s; times in ms")
    header = (f"{'layer':<20}{'shape':<18}{'thr':>4}{'native':>9}{'kernels':>9}{'numpy':>9}"
              f"{'torch':>9}{'numpy/nat':>11}{'torch/nat':>11}{'GB/s':>7}{'%copy':>7}")
    print(header + "\n" + "-" * len(header))
    before = retrograd.get_num_threads()
    torch_before = torch.get_num_threads() if torch else None
    try:
        for name, kind, shape, x, dy, arrays, make in cases:
            for t in threads:
                retrograd.set_num_threads(t)
                contenders = {"native": (layer_pass("native", make, x, dy), None),
                              "kernels": (kernel_pass(kind, x, dy), None),
                              "numpy": (layer_pass("numpy", make, x, dy),
                                        min(args.repeats, NUMPY_REPEATS))}
                if torch:
                    torch.set_num_threads(t)
                    contenders["torch"] = (torch_pass(kind, x, dy), None)
                ms = race_ms(contenders, args.repeats)
                nat, tor = ms["native"], ms.get("torch")
                gbs = arrays * x.nbytes / (ms["kernels"] * 1e-3) / 1e9
                print(f"{name:<20}{str(shape).replace(' ', ''):<18}{t:>4}{nat:>9.2f}"
                      f"{ms['kernels']:>9.2f}{ms['numpy']:>9.2f}"
                      f"{'-' if tor is None else format(tor, '.2f'):>9}"
                      f"{ms['numpy'] / nat:>10.1f}x"
                      f"{'-' if tor is None else format(tor / nat, '.2f') + 'x':>11}"
                      f"{gbs:>7.1f}{100 * gbs / copy_gbs:>6.0f}%")
    finally:
        retrograd.set_num_threads(before)
        if torch:
            torch.set_num_threads(torch_before)
    print("numpy/nat and torch/nat: how many times faster the native layer is; GB/s: the "
          "kernels' minimum traffic over their time")


if __name__ == "__main__":
    main()
