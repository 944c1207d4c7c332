"""Benchmark: the graph executor's own cost per node, in microseconds.

A model of L cheap layers (ReLU on a (1, 4) array, so each layer's work is a few
microseconds) runs forward and backward; the same layer objects are then called by
hand in the same order (forward, then backward in reverse), which is the layers' work
alone.  The executor's overhead per node is

    (model forward+backward - hand-chained forward+backward) / L

measured for a Sequential chain and for a Model graph whose every second node is an
Add of the running tensor and a ReLU of it (fan-out: each tensor is read twice and its
gradients summed).  Contenders alternate within each repeat (the machines are noisy);
medians are printed.

    python benchmarks/bench_graph.py               # L = 200, 200 repeats
    python benchmarks/bench_graph.py --layers 50 --repeats 50
"""
import argparse

import numpy as np

import retrograd
from retrograd.bench import race
from retrograd.layers import Add, ReLU


def chain(n_layers):
    layers = [ReLU() for _ in range(n_layers)]
    return retrograd.Sequential(layers), layers


def residual_graph(n_pairs):
    """x -> [h = ReLU(t); t = Add(t, h)] * n_pairs: 2 nodes a pair, every tensor read twice."""
    x = retrograd.Input((4,))
    t, calls = x, []
    for _ in range(n_pairs):
        relu, add = ReLU(), Add()
        h = relu(t)
        calls.append((relu, add))
        t = add([t, h])
    return retrograd.Model(x, t), calls


def by_hand_chain(layers, x, g):
    for layer in layers:
        x = layer.forward(x)
    for layer in reversed(layers):
        g, _ = layer.backward(g)
    return g


def by_hand_graph(calls, x, g):
    t = x
    for relu, add in calls:
        t = add.forward([t, relu.forward(t)])
    for relu, add in reversed(calls):
        (g_t, g_h), _ = add.backward(g)
        g = g_t + relu.backward(g_h)[0]
    return g


def model_step(model, x, g):
    model.forward(x)
    return model.backward(g)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--layers", type=int, default=200, help="nodes per model")
    parser.add_argument("--repeats", type=int, default=200)
    parser.add_argument("--backend", default="native", choices=("native", "numpy"))
    args = parser.parse_args(argv)
    retrograd.set_backend(args.backend)
    x = np.random.default_rng(0).normal(size=(1, 4)).astype(np.float32)
    g = np.ones_like(x)
    sequential, layers = chain(args.layers)
    graph, calls = residual_graph(args.layers // 2)
    nodes = {"Sequential chain": args.layers, "Model graph (ReLU + Add pairs)":
             2 * (args.layers // 2)}
    medians = race({
        "Sequential chain": (lambda: model_step(sequential, x, g), None),
        "Sequential chain by hand": (lambda: by_hand_chain(layers, x, g), None),
        "Model graph (ReLU + Add pairs)": (lambda: model_step(graph, x, g), None),
        "Model graph (ReLU + Add pairs) by hand": (lambda: by_hand_graph(calls, x, g), None),
    }, args.repeats)
    print(f"backend {args.backend}, {args.repeats} repeats, medians of forward+backward")
    print(f"{'case':<32} {'nodes':>5} {'model ms':>9} {'by hand ms':>10} {'us/node':>8}")
    for case, n in nodes.items():
        model, hand = medians[case], medians[f"{case} by hand"]
        print(f"{case:<32} {n:>5} {model * 1e3:>9.3f} {hand * 1e3:>10.3f} "
              f"{(model - hand) / n * 1e6:>8.2f}")


if __name__ == "__main__":
    main()
