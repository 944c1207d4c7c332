"""Benchmark: Conv2D forward and forward + backward, native vs NumPy vs PyTorch, in one process.

Shapes (float32, NHWC, stride 1):
  lenet-conv1  28x28x1 -> 6,  5x5, batch 64, no padding
  lenet-conv2  12x12x6 -> 16, 5x5, batch 64, no padding
  3x3-64       32x32x64 -> 64, 3x3, batch 32, padding 1

  native  retrograd.backend.native_ops (C im2col/col2im + NumPy's BLAS)
  numpy   retrograd.backend.numpy_ops (the reference)
  torch   torch.nn.functional.conv2d on channels-last tensors, autograd backward
          (torch.set_num_threads equal to ours), when torch is importable

Each cell is the median over repeats.  GFLOP/s counts 2 N OH OW F C KH KW flops per pass
(forward, dx and dkernels are one pass each); %peak compares it with the float32 peak
measured here: a 2048x2048x2048 matmul through NumPy's BLAS at the same thread count.
NumPy's BLAS threads follow the thread count when threadpoolctl is importable (otherwise
they keep their default, noted in the header).

    python benchmarks/bench_conv.py            # 1 and 2 threads, 9 repeats
    python benchmarks/bench_conv.py --quick    # small smoke run
"""
import argparse
import contextlib
import platform

import numpy as np

import retrograd
from retrograd.bench import median_ms
from retrograd.backend import numpy_ops

try:
    import torch
except ImportError:  # the comparison columns are left empty
    torch = None
try:
    from threadpoolctl import threadpool_limits
except ImportError:
    threadpool_limits = None

if retrograd.native_available():
    from retrograd.backend import native_ops

# name: (N, H, W, C, F, K, padding)
SHAPES = {
    "lenet-conv1": (64, 28, 28, 1, 6, 5, 0),
    "lenet-conv2": (64, 12, 12, 6, 16, 5, 0),
    "3x3-64": (32, 32, 32, 64, 64, 3, 1),
}



def blas_threads(n):
    return threadpool_limits(limits=n, user_api="blas") if threadpool_limits else \
        contextlib.nullcontext()


def measure_peak(repeats):
    """float32 GFLOP/s of a large square matmul through NumPy's BLAS."""
    a = np.random.default_rng(0).standard_normal((2048, 2048)).astype(np.float32)
    out = np.empty_like(a)
    ms = median_ms(lambda: np.matmul(a, a, out=out), repeats)
    return 2 * 2048 ** 3 / ms / 1e6


def ops_passes(module, x, k, b, dy, stride, padding):
    def fwd():
        module.conv2d_forward(x, k, b, stride, padding)

    def fwd_bwd():
        module.conv2d_forward(x, k, b, stride, padding)
        module.conv2d_backward(dy, x, k, stride, padding)
    return fwd, fwd_bwd


def torch_passes(x, k, b, dy, pad):
    xt = torch.from_numpy(x).permute(0, 3, 1, 2).requires_grad_(True)   # channels-last memory
    kt = torch.from_numpy(k).contiguous(memory_format=torch.channels_last).requires_grad_(True)
    bt = torch.from_numpy(b).requires_grad_(True)
    gt = torch.from_numpy(dy).permute(0, 3, 1, 2)

    def fwd():
        with torch.no_grad():
            torch.nn.functional.conv2d(xt, kt, bt, padding=pad)

    def fwd_bwd():
        xt.grad = kt.grad = bt.grad = None
        torch.nn.functional.conv2d(xt, kt, bt, padding=pad).backward(gt)
    return fwd, fwd_bwd


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--threads", default="1,2", help="comma-separated thread counts")
    parser.add_argument("--quick", action="store_true", help="batch 4, 2 repeats, 1 thread")
    args = parser.parse_args(argv)
    if not retrograd.native_available():
        raise SystemExit("bench_conv: the native backend is not built")
    threads = [1] if args.quick else [int(t) for t in args.threads.split(",")]
    repeats = 2 if args.quick else args.repeats
    rng = np.random.default_rng(0)

    print(f"machine: {platform.machine()}, simd {retrograd._config.config()['simd']}; "
          f"numpy {np.__version__}; torch {torch.__version__ if torch else '-'}; "
          f"BLAS threads {'= ours' if threadpool_limits else 'NumPy default'}")
    header = (f"{'shape':<12} {'thr':>3} {'pass':>8} {'native':>8} {'numpy':>8} {'torch':>8} "
              f"{'numpy/nat':>9} {'torch/nat':>9} {'GFLOP/s':>8} {'%peak':>6}")
    numpy_ms = {}
    for n_threads in threads:
        retrograd.set_num_threads(n_threads)
        if torch is not None:
            torch.set_num_threads(n_threads)
        with blas_threads(n_threads):
            peak = measure_peak(repeats)
            print(f"\n{n_threads} thread(s): float32 peak (2048^3 matmul) {peak:.1f} GFLOP/s, "
                  f"median of {repeats}")
            print(header)
            print("-" * len(header))
            for name, (n, h, w, c, f, ks, pad) in SHAPES.items():
                if args.quick:
                    n = 4
                x = rng.standard_normal((n, h, w, c)).astype(np.float32)
                k = (rng.standard_normal((f, c, ks, ks)) * 0.1).astype(np.float32)
                b = rng.standard_normal(f).astype(np.float32)
                stride, padding = (1, 1), ((pad, pad), (pad, pad))
                oh, ow = h + 2 * pad - ks + 1, w + 2 * pad - ks + 1
                dy = rng.standard_normal((n, oh, ow, f)).astype(np.float32)
                flops = 2 * n * oh * ow * f * c * ks * ks
                native = ops_passes(native_ops, x, k, b, dy, stride, padding)
                ref = ops_passes(numpy_ops, x, k, b, dy, stride, padding)
                tch = torch_passes(x, k, b, dy, pad) if torch is not None else (None, None)
                for i, label in enumerate(("fwd", "fwd+bwd")):
                    nat = median_ms(native[i], repeats)
                    if (name, i) not in numpy_ms:   # the reference is single-threaded
                        numpy_ms[name, i] = median_ms(ref[i], max(1, repeats // 3))
                    npy = numpy_ms[name, i]
                    tt = median_ms(tch[i], repeats) if tch[i] is not None else None
                    gflops = flops * (1 + 2 * i) / nat / 1e6
                    print(f"{name:<12} {n_threads:>3} {label:>8} {nat:8.2f} {npy:8.2f} "
                          f"{tt if tt is not None else float('nan'):8.2f} {npy / nat:8.1f}x "
                          f"{(tt / nat) if tt is not None else float('nan'):8.2f}x "
                          f"{gflops:8.1f} {100 * gflops / peak:5.0f}%")


if __name__ == "__main__":
    main()
