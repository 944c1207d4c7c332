"""Benchmark: one LeNet-5 training step, images/s, native vs NumPy vs PyTorch, in one process.

The network (retrograd.zoo.lenet and zoo.torch_lenet; 28x28x1 inputs, float32):
  Conv2D 5x5 6 - ReLU - MaxPooling2D 2 - Conv2D 5x5 16 - ReLU - MaxPooling2D 2 - Flatten -
  Dense 120 - ReLU - Dense 84 - ReLU - Dense 10,
  SparseCategoricalCrossEntropy(from_logits=True), SGD(learning_rate=0.01).
One step is Sequential.train_step (forward, loss, backward, update) on one batch; the
figure is batch / median step time.  PyTorch runs the same network in channels-last
memory format with torch.set_num_threads equal to ours, when torch is importable.  The
NumPy reference runs once per batch size (single-threaded apart from its BLAS).

    python benchmarks/bench_lenet.py            # batch 64 and 256, 1 and 2 threads
    python benchmarks/bench_lenet.py --quick    # small smoke run
    python benchmarks/bench_lenet.py --contenders native   # the native step alone
                                                # (benchmarks/compare_lenet.sh uses it)
"""
import argparse
import contextlib
import platform

import numpy as np

import retrograd
from retrograd.bench import median_time
from retrograd import losses, optimizers, zoo

try:
    import torch
except ImportError:  # the comparison column is left empty
    torch = None
try:
    from threadpoolctl import threadpool_limits
except ImportError:
    threadpool_limits = None

CONTENDERS = ("native", "numpy", "torch")


def compiled_lenet():
    model = zoo.lenet()
    model.compile(losses.SparseCategoricalCrossEntropy(from_logits=True),
                  optimizers.SGD(learning_rate=0.01))
    return model


def torch_lenet_step():
    model = zoo.torch_lenet()
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    loss_fn = torch.nn.CrossEntropyLoss()

    def step(x, y):
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
    return step


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--threads", default="1,2", help="comma-separated thread counts")
    parser.add_argument("--batches", default="64,256", help="comma-separated batch sizes")
    parser.add_argument("--quick", action="store_true", help="batch 16, 2 repeats, 1 thread")
    parser.add_argument("--contenders", default=",".join(CONTENDERS),
                        help="comma-separated subset of native,numpy,torch to time (e.g. "
                             "native alone for before/after comparisons)")
    args = parser.parse_args(argv)
    contenders = set(args.contenders.split(","))
    if not contenders <= set(CONTENDERS):
        parser.error(f"--contenders: expected names from {','.join(CONTENDERS)}, got "
                     f"{args.contenders!r}")
    threads = [1] if args.quick else [int(t) for t in args.threads.split(",")]
    batches = [16] if args.quick else [int(b) for b in args.batches.split(",")]
    repeats = 2 if args.quick else args.repeats
    rng = np.random.default_rng(0)
    backends = ["native"] if retrograd.native_available() and "native" in contenders else []
    use_numpy = "numpy" in contenders
    use_torch = torch is not None and "torch" in contenders

    print(f"machine: {platform.machine()}; numpy {np.__version__}; "
          f"torch {torch.__version__ if use_torch else '-'}; "
          f"BLAS threads {'= ours' if threadpool_limits else 'NumPy default'}; "
          f"median of {repeats} steps")
    header = (f"{'batch':>5} {'thr':>3} {'native img/s':>13} {'numpy img/s':>12} "
              f"{'torch img/s':>12} {'nat/numpy':>9} {'nat/torch':>9}")
    print(header)
    print("-" * len(header))
    numpy_rate = {}
    for batch in batches:
        x = rng.random((batch, 28, 28, 1), dtype=np.float32)
        y = rng.integers(0, 10, batch)
        if use_numpy and batch not in numpy_rate:
            with retrograd.use_backend("numpy"):
                model = compiled_lenet()
                numpy_rate[batch] = batch / median_time(lambda: model.train_step(x, y),
                                                     max(1, repeats // 3))
        for n_threads in threads:
            retrograd.set_num_threads(n_threads)
            limits = (threadpool_limits(limits=n_threads, user_api="blas") if threadpool_limits
                      else contextlib.nullcontext())
            with limits:
                native = None
                for backend in backends:
                    with retrograd.use_backend(backend):
                        model = compiled_lenet()
                        native = batch / median_time(lambda: model.train_step(x, y), repeats)
                tt = None
                if use_torch:
                    torch.set_num_threads(n_threads)
                    step = torch_lenet_step()
                    xt = torch.from_numpy(x).permute(0, 3, 1, 2)   # NHWC memory
                    yt = torch.from_numpy(y)
                    tt = batch / median_time(lambda: step(xt, yt), repeats)
            nat = f"{native:13.0f}" if native else f"{'-':>13}"
            tor = f"{tt:12.0f}" if tt else f"{'-':>12}"
            npy = numpy_rate.get(batch)
            num = f"{npy:12.0f}" if npy else f"{'-':>12}"
            r_np = f"{native / npy:8.1f}x" if native and npy else f"{'-':>9}"
            r_t = f"{native / tt:8.2f}x" if native and tt else f"{'-':>9}"
            print(f"{batch:>5} {n_threads:>3} {nat} {num} {tor} {r_np} {r_t}")


if __name__ == "__main__":
    main()
