"""Benchmark: one optimizer step, native vs NumPy vs PyTorch, in one process.

For each optimizer, one step over
  10M     one float32 array of 10M parameters (memory bound), and
  lenet5  LeNet-5's 10 float32 arrays (conv 6x1x5x5 + 6, conv 16x6x5x5 + 16, dense
          256x120 + 120, 120x84 + 84, 84x10 + 10; 44K parameters: call overhead bound),
timed as the median over repeats at each requested thread count:

  native   retrograd.backend.native_ops.<name>_step (one fused C call for the whole list)
  numpy    retrograd.backend.numpy_ops.<name>_step (the reference kernels; single-threaded,
           timed once)
  fused    torch.optim.<Class>(fused=True) where PyTorch offers it on CPU
  foreach  torch.optim.<Class>(foreach=True)
(PyTorch with torch.set_num_threads equal to ours, when torch is importable.)

Bandwidth: a step reads params, grads and each state array once and writes params and
the state once; GB/s is those bytes over the native time, compared with the machine's
copy bandwidth measured here (np.copyto between two 10M-value float32 arrays).

    python benchmarks/bench_optimizers.py            # 10M values, 9 repeats, 1 and 2 threads
    python benchmarks/bench_optimizers.py --quick    # small smoke run
"""
import argparse
import math
import platform

import numpy as np

import retrograd
from retrograd import zoo
from retrograd.bench import copy_bandwidth, median_ms
from retrograd.backend import numpy_ops

try:
    import torch
except ImportError:  # the PyTorch columns are left empty
    torch = None

if retrograd.native_available():
    from retrograd.backend import native_ops

LENET5 = [p.shape for group in zoo.lenet().params for p in group]
B1, B2 = 0.9, 0.999


def _nadam(t=10, lr=0.002, psi=0.004):
    mu = [B1 * (1 - 0.5 * 0.96 ** (k * psi)) for k in range(1, t + 2)]
    prod = math.prod(mu[:t])
    return dict(coef_g=lr * (1 - mu[t - 1]) / (1 - prod), coef_m=lr * mu[t] / (1 - prod * mu[t]),
                beta_1=B1, beta_2=B2, bc2=1 - B2 ** t, eps=1e-7)


ADAM = dict(lr=1e-3, beta_1=B1, beta_2=B2, eps=1e-7, bc1=1 - B1 ** 10, bc2=1 - B2 ** 10)
# name: (state names, scalars of a step (t = 10), torch class and keyword arguments or None)
OPTIMIZERS = {
    "sgd": ((), dict(lr=0.01), ("SGD", dict(lr=0.01))),
    "momentum": (("velocity",), dict(lr=1e-3, momentum=0.9),
                 ("SGD", dict(lr=1e-3, momentum=0.9))),
    "nag": (("velocity",), dict(lr=1e-3, momentum=0.9),
            ("SGD", dict(lr=1e-3, momentum=0.9, nesterov=True))),
    "adagrad": (("accum",), dict(lr=0.01, eps=1e-7), ("Adagrad", dict(lr=0.01, eps=1e-7))),
    "rmsprop": (("accum",), dict(lr=1e-3, rho=0.9, eps=1e-7),
                ("RMSprop", dict(lr=1e-3, alpha=0.9, eps=1e-7))),
    "adam": (("m", "v"), ADAM, ("Adam", dict(lr=1e-3, eps=1e-7))),
    "adamax": (("m", "u"), dict(lr_t=0.002 / (1 - B1 ** 10), beta_1=B1, beta_2=B2, eps=1e-7),
               ("Adamax", dict(lr=0.002, eps=1e-7))),
    "nadam": (("m", "v"), _nadam(), ("NAdam", dict(lr=0.002, eps=1e-7))),
    "adamw": (("m", "v"), dict(ADAM, weight_decay=0.01),
              ("AdamW", dict(lr=1e-3, eps=1e-8, weight_decay=0.01))),
    "radam": (("m", "v"), dict(ADAM, rect=0.5), ("RAdam", dict(lr=1e-3))),
    "lion": (("m",), dict(lr=1e-4, beta_1=B1, beta_2=0.99, weight_decay=0.0), None),
}



def make_arrays(shapes, state_names, rng):
    params = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    grads = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    state = {k: [np.abs(rng.standard_normal(s)).astype(np.float32) * 1e-2 for s in shapes]
             for k in state_names}
    return params, grads, state


def kernel_step(module, name, params, grads, state, scalars):
    step = getattr(module, f"{name}_step")
    return lambda: step(params, grads, **state, **scalars)


def torch_step(spec, params, grads, mode):
    """opt.step() of a torch optimizer in mode "fused" or "foreach", or None where PyTorch
    has no such implementation on CPU."""
    if torch is None or spec is None:
        return None
    cls, kwargs = spec
    tensors = [torch.from_numpy(p.copy()).requires_grad_() for p in params]
    for t, g in zip(tensors, grads):
        t.grad = torch.from_numpy(g)
    try:
        opt = getattr(torch.optim, cls)(tensors, **kwargs, **{mode: True})
        opt.step()
    except (RuntimeError, TypeError, ValueError):
        return None
    return opt.step



def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, default=10_000_000, help="values of the big array")
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--threads", default="1,2", help="comma-separated thread counts")
    parser.add_argument("--only", default=None, help="comma-separated optimizer names")
    parser.add_argument("--quick", action="store_true", help="64K values, 2 repeats")
    args = parser.parse_args(argv)
    if args.quick:
        args.size, args.repeats = 1 << 16, 2
    if not retrograd.native_available():
        raise SystemExit("bench_optimizers: the native kernels are not built")
    threads = [int(t) for t in args.threads.split(",")]
    names = args.only.split(",") if args.only else list(OPTIMIZERS)
    cases = [(f"{args.size / 1e6:g}M", [(args.size,)]), ("lenet5", LENET5)]

    rng = np.random.default_rng(0)
    copy_gbs = copy_bandwidth(args.size, args.repeats)
    print(f"machine: {platform.machine()}, {retrograd.get_num_threads()} default threads, "
          f"simd {retrograd._config.config()['simd']}; numpy {np.__version__}; "
          f"torch {torch.__version__ if torch else 'not installed'}")
    print(f"float32, one step, median of {args.repeats} (numpy: of {min(args.repeats, 3)}); "
          f"copy bandwidth (np.copyto, {args.size} values) {copy_gbs:.1f} GB/s")
    header = (f"{'optimizer':<10}{'case':<8}{'thr':>4}{'native':>10}{'numpy':>10}{'fused':>10}"
              f"{'foreach':>10}{'numpy/nat':>11}{'nat/fused':>11}{'nat/forea':>11}{'GB/s':>7}"
              f"{'%copy':>7}")
    print(header + "\n" + "-" * len(header))
    fmt = (lambda v, spec: format(v, spec) if v is not None else "-")
    before = retrograd.get_num_threads()
    torch_before = torch.get_num_threads() if torch else None
    try:
        for name in names:
            state_names, scalars, spec = OPTIMIZERS[name]
            for case, shapes in cases:
                params, grads, state = make_arrays(shapes, state_names, rng)
                n = sum(p.size for p in params)
                traffic = (3 + 2 * len(state_names)) * 4 * n   # bytes read + written
                numpy_ms = median_ms(kernel_step(numpy_ops, name, params, grads, state, scalars),
                                     min(args.repeats, 3))
                for t in threads:
                    retrograd.set_num_threads(t)
                    if torch:
                        torch.set_num_threads(t)
                    nat = median_ms(kernel_step(native_ops, name, params, grads, state, scalars),
                                    args.repeats)
                    fused, foreach = (torch_step(spec, params, grads, mode)
                                      for mode in ("fused", "foreach"))
                    fused_ms = median_ms(fused, args.repeats) if fused else None
                    foreach_ms = median_ms(foreach, args.repeats) if foreach else None
                    gbs = traffic / (nat * 1e-3) / 1e9
                    # ms for the big array, microseconds (suffix u) for LeNet-5
                    show = ((lambda ms: "-" if ms is None else f"{ms:.2f}") if n > 1e6 else
                            (lambda ms: "-" if ms is None else f"{1e3 * ms:.0f}u"))
                    print(f"{name:<10}{case:<8}{t:>4}{show(nat):>10}{show(numpy_ms):>10}"
                          f"{show(fused_ms):>10}{show(foreach_ms):>10}"
                          f"{numpy_ms / nat:>10.1f}x"
                          f"{fmt(fused_ms and nat / fused_ms, '11.2f'):>11}"
                          f"{fmt(foreach_ms and nat / foreach_ms, '11.2f'):>11}"
                          f"{gbs:>7.1f}{100 * gbs / copy_gbs:>6.0f}%")
    finally:
        retrograd.set_num_threads(before)
        if torch:
            torch.set_num_threads(torch_before)
    print("times in ms (10M) or microseconds, suffix u (lenet5); nat/fused < 1: native faster")


if __name__ == "__main__":
    main()
