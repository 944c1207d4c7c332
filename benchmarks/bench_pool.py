"""Benchmark: 2x2 max and average pooling, native vs NumPy vs PyTorch, in one process.

Pooling 2x2, stride 2, of a float32 NHWC batch (default (32, 32, 32, 64): 8 MB in, 2 MB
out), timed as the median over repeats at each requested thread count, forward alone and
forward + backward:

  native   retrograd.backend.native_ops (C kernels rg_pool_*; new output arrays per call,
           as the layers use them)
  numpy    retrograd.backend.numpy_ops (the reference kernels; timed once, 1 thread)
  torch    torch.nn.functional.max_pool2d / avg_pool2d on a channels-last tensor (the same
           NHWC memory), backward through autograd; torch.set_num_threads equal to ours
           (when torch is importable)

    python benchmarks/bench_pool.py            # (32, 32, 32, 64), 21 repeats, 1 and 2 threads
    python benchmarks/bench_pool.py --quick    # small smoke run
"""
import argparse
import platform

import numpy as np

import retrograd
from retrograd.bench import median_ms
from retrograd.backend import numpy_ops

try:
    import torch
except ImportError:  # the PyTorch column is left empty
    torch = None

if retrograd.native_available():
    from retrograd.backend import native_ops

POOL = STRIDE = (2, 2)



def kernel_passes(module, op, x, dy):
    """(forward, forward + backward) closures of a kernel module's pooling op."""
    if op == "maxpool":
        def fwd():
            return module.maxpool2d_forward(x, POOL, STRIDE)

        def both():
            _, idx = module.maxpool2d_forward(x, POOL, STRIDE)
            return module.maxpool2d_backward(dy, idx, x.shape, POOL, STRIDE)
    else:
        def fwd():
            return module.avgpool2d_forward(x, POOL, STRIDE)

        def both():
            module.avgpool2d_forward(x, POOL, STRIDE)
            return module.avgpool2d_backward(dy, x.shape, POOL, STRIDE)
    return fwd, both


def torch_passes(op, x, dy):
    """The same passes in PyTorch on channels-last tensors sharing x's layout."""
    xt = torch.from_numpy(x).permute(0, 3, 1, 2)          # NCHW view of NHWC memory
    assert xt.is_contiguous(memory_format=torch.channels_last)
    xg = xt.detach().clone(memory_format=torch.channels_last).requires_grad_()
    dyt = torch.from_numpy(dy).permute(0, 3, 1, 2)
    pool = torch.nn.functional.max_pool2d if op == "maxpool" else torch.nn.functional.avg_pool2d

    def fwd():
        with torch.no_grad():
            return pool(xt, POOL, STRIDE)

    def both():
        xg.grad = None
        pool(xg, POOL, STRIDE).backward(dyt)
        return xg.grad

    return fwd, both


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--shape", default="32,32,32,64", help="N,H,W,C of the input")
    parser.add_argument("--repeats", type=int, default=21)
    parser.add_argument("--threads", default="1,2", help="comma-separated thread counts")
    parser.add_argument("--quick", action="store_true", help="(4, 16, 16, 8), 3 repeats")
    args = parser.parse_args(argv)
    if args.quick:
        args.shape, args.repeats = "4,16,16,8", 3
    if not retrograd.native_available():
        raise SystemExit("bench_pool: the native kernels are not built")
    shape = tuple(int(s) for s in args.shape.split(","))
    threads = [int(t) for t in args.threads.split(",")]

    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape).astype(np.float32)
    dy = rng.standard_normal((shape[0], shape[1] // 2, shape[2] // 2, shape[3])).astype(
        np.float32)
    print(f"machine: {platform.machine()}, {retrograd.get_num_threads()} default threads, "
          f"simd {retrograd._config.config()['simd']}; numpy {np.__version__}; "
          f"torch {torch.__version__ if torch else 'not installed'}")
    print(f"float32 {shape} NHWC, pool 2x2 stride 2, median of {args.repeats} "
          f"(numpy: of {min(args.repeats, 5)}); times in ms")
    header = (f"{'op':<9}{'pass':<9}{'thr':>4}{'native':>9}{'numpy':>9}{'torch':>9}"
              f"{'numpy/nat':>11}{'torch/nat':>11}")
    print(header + "\n" + "-" * len(header))
    before = retrograd.get_num_threads()
    torch_before = torch.get_num_threads() if torch else None
    try:
        for op in ("maxpool", "avgpool"):
            numpy_ms = [median_ms(f, min(args.repeats, 5))
                        for f in kernel_passes(numpy_ops, op, x, dy)]
            for t in threads:
                retrograd.set_num_threads(t)
                native_ms = [median_ms(f, args.repeats)
                             for f in kernel_passes(native_ops, op, x, dy)]
                torch_ms = [None, None]
                if torch:
                    torch.set_num_threads(t)
                    torch_ms = [median_ms(f, args.repeats) for f in torch_passes(op, x, dy)]
                for k, name in enumerate(("fwd", "fwd+bwd")):
                    nat, ref, tor = native_ms[k], numpy_ms[k], torch_ms[k]
                    print(f"{op:<9}{name:<9}{t:>4}{nat:>9.3f}{ref:>9.3f}"
                          f"{'-' if tor is None else format(tor, '.3f'):>9}"
                          f"{ref / nat:>10.1f}x"
                          f"{'-' if tor is None else format(tor / nat, '.2f') + 'x':>11}")
    finally:
        retrograd.set_num_threads(before)
        if torch:
            torch.set_num_threads(torch_before)
    print("numpy/nat and torch/nat: how many times faster native is")


if __name__ == "__main__":
    main()
