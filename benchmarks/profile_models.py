"""Where a ResNet-20 training step's time goes, per layer type, on the native backend.

Wraps every layer's ``forward`` and ``_backward`` (the calls the graph executor makes) with
a timer, runs ``model.train_step`` a number of times and prints, per layer type (Conv2D,
BatchNormalization, ReLU, Add, GlobalAveragePooling2D, Dense), the median over steps of the
summed forward and backward time, and the rest of the step (loss, optimizer update, the
executor's own Python) as "other".

    python benchmarks/profile_models.py                 # batch 128, 1 and 2 threads
    python benchmarks/profile_models.py --batch 32 --threads 2 --steps 5
"""
import argparse
import collections
import statistics
import time

import numpy as np

import retrograd
from retrograd import losses, optimizers, zoo


def instrument(model, totals):
    """Time each layer's forward and _backward into totals[(type name, 'fwd'|'bwd')]."""
    for layer in model.layers:
        kind = type(layer).__name__

        def wrap(fn, key):
            def timed(*args, **kwargs):
                start = time.perf_counter()
                out = fn(*args, **kwargs)
                totals[key] += time.perf_counter() - start
                return out
            return timed
        layer.forward = wrap(layer.forward, (kind, "fwd"))
        layer._backward = wrap(layer._backward, (kind, "bwd"))


def profile(batch, threads, steps, backend="native"):
    rng = np.random.default_rng(0)
    x = rng.random((batch, 32, 32, 3), dtype=np.float32)
    y = rng.integers(0, 10, batch)
    retrograd.set_num_threads(threads)
    with retrograd.use_backend(backend):
        model = zoo.resnet(20, seed=0)
        model.compile(losses.SparseCategoricalCrossEntropy(from_logits=True),
                      optimizers.Momentum(learning_rate=0.01, momentum=0.9))
        totals = collections.Counter()
        instrument(model, totals)
        model.train_step(x, y)                       # warm-up
        per_step = collections.defaultdict(list)
        for _ in range(steps):
            totals.clear()
            start = time.perf_counter()
            model.train_step(x, y)
            step = time.perf_counter() - start
            per_step["step"].append(step)
            for key, value in totals.items():
                per_step[key].append(value)
            per_step["other"].append(step - sum(totals.values()))
    return {key: 1e3 * statistics.median(v) for key, v in per_step.items()}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--steps", type=int, default=7)
    args = parser.parse_args(argv)
    before = retrograd.get_num_threads()
    try:
        for t in (int(s) for s in args.threads.split(",")):
            ms = profile(args.batch, t, args.steps)
            step = ms.pop("step")
            other = ms.pop("other")
            kinds = sorted({k for k, _ in ms}, key=lambda k: -(ms.get((k, "fwd"), 0)
                                                                + ms.get((k, "bwd"), 0)))
            print(f"ResNet-20, batch {args.batch}, {t} thread(s): step {step:.1f} ms "
                  f"(median of {args.steps})")
            print(f"  {'layer type':<24}{'fwd ms':>9}{'bwd ms':>9}{'total':>9}{'share':>8}")
            for k in kinds:
                f, b = ms.get((k, "fwd"), 0.0), ms.get((k, "bwd"), 0.0)
                print(f"  {k:<24}{f:>9.1f}{b:>9.1f}{f + b:>9.1f}{100 * (f + b) / step:>7.0f}%")
            print(f"  {'other (loss, update, py)':<24}{'':>18}{other:>9.1f}"
                  f"{100 * other / step:>7.0f}%")
    finally:
        retrograd.set_num_threads(before)


if __name__ == "__main__":
    main()
