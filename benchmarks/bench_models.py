"""Benchmark: whole-network training steps, images/s, native vs NumPy vs PyTorch (vs JAX),
raced in one process.

Networks (retrograd.zoo and their PyTorch twins, float32, NHWC / channels-last):

  lenet     zoo.lenet, 28x28x1, batch 64 and 256, SGD(learning_rate=0.01)
  vgg       zoo.vgg_cifar, 32x32x3, batch 128, SGD(learning_rate=0.01)
  resnet20  zoo.resnet(20), 32x32x3, batch 128, Momentum(learning_rate=0.01,
            momentum=0.9) (torch: SGD(lr=0.01, momentum=0.9), issue 11); the torch twin
            gets our initial weights through zoo.copy_resnet_to_torch

One step:

  native, numpy  model.train_step(x, y) on that backend (forward, loss, backward, update),
                 loss SparseCategoricalCrossEntropy(from_logits=True)
  torch          zero_grad(set_to_none=True), forward, CrossEntropyLoss, backward,
                 optimizer.step(), on a channels-last view of the same NHWC memory,
                 torch.set_num_threads equal to ours (when torch is importable)
  jax            when jax is importable: not implemented yet, the column says so

Each repeat runs every contender's step once, in turn (NumPy in the first few repeats only:
it is slow), so a change of the machine's load hits all of them alike; the figures are
medians of the step times, reported as images/s = batch / median, with the ratios
native/numpy and native/torch (> 1: native is faster).  At each requested thread count
(retrograd.set_num_threads, torch.set_num_threads, and the BLAS pool through threadpoolctl
when it is installed).

    python benchmarks/bench_models.py                          # all networks, 1 and 2 threads
    python benchmarks/bench_models.py --models resnet20 --contenders native,torch
    python benchmarks/bench_models.py --models lenet --batches 64
    python benchmarks/bench_models.py --quick                  # tiny smoke run
"""
import argparse
import contextlib
import platform

import numpy as np

import retrograd
from retrograd import losses, optimizers, zoo
from retrograd.bench import race

try:
    import torch
except ImportError:  # the PyTorch column is left empty
    torch = None
try:
    import jax  # noqa: F401  (only its presence is reported)
except ImportError:
    jax = None
try:
    from threadpoolctl import threadpool_limits
except ImportError:
    threadpool_limits = None

CONTENDERS = ("native", "numpy", "torch")
NUMPY_REPEATS = 3

# name -> (builder, torch builder, image shape, default batches, momentum)
MODELS = {
    "lenet": (zoo.lenet, zoo.torch_lenet, (28, 28, 1), (64, 256), 0.0),
    "vgg": (zoo.vgg_cifar, zoo.torch_vgg_cifar, (32, 32, 3), (128,), 0.0),
    "resnet20": (lambda image_shape: zoo.resnet(20, image_shape=image_shape, seed=0),
                 lambda image_shape: zoo.torch_resnet(20, image_shape=image_shape),
                 (32, 32, 3), (128,), 0.9),
}
QUICK_SHAPES = {"lenet": (28, 28, 1), "vgg": (8, 8, 3), "resnet20": (8, 8, 3)}


def ours_step(name, backend, image_shape, x, y):
    """model.train_step(x, y) of ``name`` built and compiled on ``backend``."""
    build, _, _, _, momentum = MODELS[name]
    with retrograd.use_backend(backend):
        model = build(image_shape=image_shape)
        opt = (optimizers.Momentum(learning_rate=0.01, momentum=momentum) if momentum
               else optimizers.SGD(learning_rate=0.01))
        model.compile(losses.SparseCategoricalCrossEntropy(from_logits=True), opt)

    def step():
        with retrograd.use_backend(backend):
            model.train_step(x, y)
    return step, model


def torch_step(name, image_shape, x, y, twin_of=None):
    """The same step in PyTorch, on a channels-last view of x's NHWC memory."""
    _, build, _, _, momentum = MODELS[name]
    module = build(image_shape=image_shape)
    if twin_of is not None and name == "resnet20":
        zoo.copy_resnet_to_torch(twin_of, module)
    module.train()
    opt = torch.optim.SGD(module.parameters(), lr=0.01, momentum=momentum)
    loss_fn = torch.nn.CrossEntropyLoss()
    xt = torch.from_numpy(x).permute(0, 3, 1, 2)
    assert xt.is_contiguous(memory_format=torch.channels_last)
    yt = torch.from_numpy(y)

    def step():
        opt.zero_grad(set_to_none=True)
        loss_fn(module(xt), yt).backward()
        opt.step()
    return step


def _rate(batch, seconds):
    return None if seconds is None else batch / seconds


def _cell(value, fmt, width):
    return f"{'-':>{width}}" if value is None else f"{value:{width}{fmt}}"


def _ratio(value, width=10):
    return f"{'-':>{width}}" if value is None else f"{value:{width - 1}.2f}x"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", default=",".join(MODELS),
                        help=f"comma-separated subset of {','.join(MODELS)}")
    parser.add_argument("--batches", default=None,
                        help="comma-separated batch sizes for every model (default: each "
                             "model's own: lenet 64,256, vgg 128, resnet20 128)")
    parser.add_argument("--threads", default="1,2", help="comma-separated thread counts")
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--numpy-repeats", type=int, default=NUMPY_REPEATS)
    parser.add_argument("--contenders", default=",".join(CONTENDERS),
                        help=f"comma-separated subset of {','.join(CONTENDERS)}")
    parser.add_argument("--quick", action="store_true",
                        help="batch 4, small images, 1 repeat, 1 thread")
    args = parser.parse_args(argv)
    models = args.models.split(",")
    contenders = set(args.contenders.split(","))
    if not set(models) <= set(MODELS):
        parser.error(f"--models: expected names from {','.join(MODELS)}, got {args.models!r}")
    if not contenders <= set(CONTENDERS):
        parser.error(f"--contenders: expected names from {','.join(CONTENDERS)}, got "
                     f"{args.contenders!r}")
    threads = [int(t) for t in args.threads.split(",")]
    repeats = args.repeats
    if args.quick:
        threads, repeats = threads[:1], 1
    use_native = "native" in contenders and retrograd.native_available()
    use_numpy = "numpy" in contenders
    use_torch = "torch" in contenders and torch is not None
    numpy_repeats = max(1, min(repeats, args.numpy_repeats))

    print(f"machine: {platform.machine()}, {retrograd.get_num_threads()} default threads; "
          f"numpy {np.__version__}; torch {torch.__version__ if torch else 'not installed'}; "
          f"jax {'importable, not raced yet' if jax else 'not installed'}; BLAS threads "
          f"{'= ours' if threadpool_limits else 'NumPy default'}")
    print(f"float32, one training step, median of {repeats} interleaved steps "
          f"(numpy: of {numpy_repeats}); images/s")
    header = (f"{'model':<9}{'batch':>6}{'thr':>4}{'native':>9}{'numpy':>9}{'torch':>9}"
              f"{'nat ms':>9}{'torch ms':>9}{'nat/numpy':>10}{'nat/torch':>10}")
    print(header + "\n" + "-" * len(header))
    rng = np.random.default_rng(0)
    before = retrograd.get_num_threads()
    torch_before = torch.get_num_threads() if torch else None
    rows = []
    try:
        for name in models:
            _, _, shape, default_batches, _ = MODELS[name]
            if args.quick:
                shape, batches = QUICK_SHAPES[name], [4]
            elif args.batches:
                batches = [int(b) for b in args.batches.split(",")]
            else:
                batches = list(default_batches)
            for batch in batches:
                x = rng.random((batch,) + shape, dtype=np.float32)
                y = rng.integers(0, 10, batch)
                for t in threads:
                    retrograd.set_num_threads(t)
                    limits = (threadpool_limits(limits=t, user_api="blas")
                              if threadpool_limits else contextlib.nullcontext())
                    with limits:
                        race_set, twin = {}, None
                        if use_native:
                            fn, twin = ours_step(name, "native", shape, x, y)
                            race_set["native"] = (fn, None)
                        if use_numpy:
                            fn, model = ours_step(name, "numpy", shape, x, y)
                            twin = twin or model
                            race_set["numpy"] = (fn, numpy_repeats)
                        if use_torch:
                            torch.set_num_threads(t)
                            race_set["torch"] = (torch_step(name, shape, x, y, twin), None)
                        sec = race(race_set, repeats)
                    nat, npy, tor = (_rate(batch, sec.get(k))
                                     for k in ("native", "numpy", "torch"))
                    row = {"model": name, "batch": batch, "threads": t, "native": nat,
                           "numpy": npy, "torch": tor,
                           "nat/numpy": nat / npy if nat and npy else None,
                           "nat/torch": nat / tor if nat and tor else None}
                    rows.append(row)
                    ms = {k: None if k not in sec else 1e3 * sec[k] for k in ("native", "torch")}
                    print(f"{name:<9}{batch:>6}{t:>4}{_cell(nat, '.0f', 9)}"
                          f"{_cell(npy, '.0f', 9)}{_cell(tor, '.0f', 9)}"
                          f"{_cell(ms['native'], '.1f', 9)}{_cell(ms['torch'], '.1f', 9)}"
                          f"{_ratio(row['nat/numpy'])}{_ratio(row['nat/torch'])}", flush=True)
    finally:
        retrograd.set_num_threads(before)
        if torch:
            torch.set_num_threads(torch_before)
    print("nat/numpy, nat/torch: native images/s over the other's (> 1: native is faster)")
    return rows


if __name__ == "__main__":
    main()
