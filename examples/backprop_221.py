"""The lecture's worked example of backpropagation, reproduced with retrograd.

A 2-2-1 network: two inputs, two sigmoid hidden units, one sigmoid output.

    h = sigmoid(x W1 + b1),  y_hat = sigmoid(h W2 + b2),  L = 1/2 (y_hat - y)^2

W1[i, j] is the weight from input i to hidden unit j (wij(1) in the lecture),
W2[j, 0] the weight from hidden unit j to the output (wj1(2)).  The loss is
HALF the squared error, so dL/dy_hat = y_hat - y (not 2 (y_hat - y) as for
MeanSquaredError); ``HalfSquaredError`` below says so in code.

Backpropagation, in the lecture's notation (delta = dL/d(pre-activation)):
    delta_out = (y_hat - y) y_hat (1 - y_hat)
    dL/dwj1(2) = delta_out h_j,              dL/db(2) = delta_out
    delta_j   = delta_out wj1(2) h_j (1 - h_j)
    dL/dwij(1) = delta_j x_i,                 dL/dbj(1) = delta_j

Everything runs in float64 so the finite-difference check is meaningful.
Run:  python examples/backprop_221.py [--backend numpy|native]
"""
import argparse

import numpy as np

import retrograd
from retrograd import zoo
from retrograd.optimizers import SGD

W1, B1, W2, B2 = (np.array(zoo.BACKPROP_221_WEIGHTS[k]) for k in ("W1", "b1", "W2", "b2"))
X = np.array([[0.05, 0.10]])
Y = np.array([[0.01]])
LEARNING_RATE = 0.5
HIDDEN = zoo.BACKPROP_221_HIDDEN
# Parameter names in the lecture's notation, in model.params order.
PARAM_NAMES = [["w11(1)", "w12(1)", "w21(1)", "w22(1)"], ["b1(1)", "b2(1)"],
               ["w11(2)", "w21(2)"], ["b(2)"]]


class HalfSquaredError:
    """L = 1/2 sum (y_hat - y)^2 (one sample here);  dL/dy_hat = y_hat - y."""

    def forward(self, y_pred, y_true):
        return 0.5 * float(np.sum((y_pred - y_true) ** 2))

    def backward(self, y_pred, y_true):
        return y_pred - y_true


def worked_example(hidden="sigmoid"):
    """Forward pass, loss, and a backward pass layer by layer so the deltas
    can be read off.  Returns a dict of float64 arrays / floats."""
    model = zoo.backprop_221(hidden)
    dense1, act1, dense2, act2 = model.layers
    loss_fn = HalfSquaredError()
    y_hat = model.forward(X)
    loss = loss_fn.forward(y_hat, Y)
    delta_out, _ = act2.backward(loss_fn.backward(y_hat, Y))   # dL/d(net of the output)
    grad_hidden, (dw2, db2) = dense2.backward(delta_out)       # dL/dh
    delta_hidden, _ = act1.backward(grad_hidden)                # dL/d(net of the hidden units)
    _, (dw1, db1) = dense1.backward(delta_hidden)
    return {"y_hat": float(y_hat[0, 0]), "loss": loss, "delta_out": float(delta_out[0, 0]),
            "delta_hidden": delta_hidden[0].copy(), "dW2": dw2.copy(), "db2": db2.copy(),
            "dW1": dw1.copy(), "db1": db1.copy()}


def finite_difference_check(hidden="sigmoid", eps=1e-6):
    """Exercise 2d: (L(w + eps) - L(w - eps)) / (2 eps) for every weight and
    bias, next to the backpropagated gradient.  Returns [(name, analytic, numeric)]."""
    model = zoo.backprop_221(hidden)
    loss_fn = HalfSquaredError()
    model.backward(loss_fn.backward(model.forward(X), Y))
    rows = []
    for names, param, grad in zip(PARAM_NAMES, [p for g in model.params for p in g],
                                  [g for group in model.grads for g in group]):
        analytic = grad.copy()
        for name, index in zip(names, np.ndindex(param.shape)):
            saved = param[index]
            param[index] = saved + eps
            plus = loss_fn.forward(model.forward(X), Y)
            param[index] = saved - eps
            minus = loss_fn.forward(model.forward(X), Y)
            param[index] = saved
            rows.append((name, float(analytic[index]), (plus - minus) / (2 * eps)))
    return rows


def sgd_update(hidden="sigmoid", learning_rate=LEARNING_RATE):
    """Exercise 4: one SGD step w <- w - lr dL/dw.  Returns (loss before, loss after)."""
    model = zoo.backprop_221(hidden)
    loss_fn = HalfSquaredError()
    model.compile(loss_fn, SGD(learning_rate), metrics=())
    before = model.train_step(X, Y)
    return before, loss_fn.forward(model.forward(X), Y)


def gradient_magnitudes():
    """Exercise 5: |dL/dw| of every parameter for sigmoid, tanh and ReLU hidden
    units (the output unit stays a sigmoid).  Returns {name: {hidden: value}}."""
    table = {}
    for hidden in HIDDEN:
        result = worked_example(hidden)
        values = np.concatenate([result[k].ravel() for k in ("dW1", "db1", "dW2", "db2")])
        for name, value in zip([n for names in PARAM_NAMES for n in names], values):
            table.setdefault(name, {})[hidden] = abs(float(value))
    return table


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("native", "numpy"),
                        default=retrograd.get_backend())
    args = parser.parse_args(argv)
    with retrograd.use_backend(args.backend):
        r = worked_example()
        print(f"backend: {args.backend}")
        print(f"forward:   y_hat = {r['y_hat']:.4f}   L = 1/2 (y_hat - y)^2 = {r['loss']:.4f}")
        print(f"output delta: (y_hat - y) y_hat (1 - y_hat) = {r['delta_out']:.4f}")
        print(f"dL/dw11(2) = {r['dW2'][0, 0]:.4f}   dL/dw21(2) = {r['dW2'][1, 0]:.4f}   "
              f"dL/db(2) = {r['db2'][0]:.4f}")
        print(f"hidden deltas: delta_1 = {r['delta_hidden'][0]:.4f}   "
              f"delta_2 = {r['delta_hidden'][1]:.4f}")
        print("first layer: " + "   ".join(
            f"dL/dw{i + 1}{j + 1}(1) = {r['dW1'][i, j]:.4f}" for i in range(2) for j in range(2))
              + "   " + "   ".join(f"dL/db{j + 1}(1) = {r['db1'][j]:.4f}" for j in range(2)))

        print("\nfinite differences (exercise 2d), eps = 1e-6:")
        print(f"  {'param':<8}{'backprop':>12}{'numeric':>12}{'abs diff':>11}")
        for name, analytic, numeric in finite_difference_check():
            print(f"  {name:<8}{analytic:>12.6f}{numeric:>12.6f}{abs(analytic - numeric):>11.1e}")

        before, after = sgd_update()
        print(f"\none SGD step, lr = {LEARNING_RATE} (exercise 4): "
              f"L {before:.4f} -> {after:.4f}")

        print("\n|dL/dw| by hidden activation (exercise 5):")
        print(f"  {'param':<8}" + "".join(f"{h:>10}" for h in HIDDEN))
        for name, row in gradient_magnitudes().items():
            print(f"  {name:<8}" + "".join(f"{row[h]:>10.4f}" for h in HIDDEN))


if __name__ == "__main__":
    main()
