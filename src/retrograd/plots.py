"""Figures of the textbook and the lectures, drawn from retrograd's own layers,
minimisers and training runs.

* ``plot_activations``: every activation layer with its derivative over [-6, 6]
  (the backpropagation lecture's exercise 1), computed by the layers' own
  forward and backward passes.
* ``plot_optimizers``: optimizer trajectories over the contours of a 2-D
  function (textbook figures 6.1-6.4: step sizes, convex versus non-convex
  functions, momentum, Nesterov's look-ahead, Newton's method).
* ``plot_gradients``: per-layer gradient norms of a deep sigmoid network against
  a ReLU one (vanishing gradients, textbook section 7.7); the numbers come from
  ``gradient_norms``.
* ``plot_history``: training curves (loss and metrics, train and validation).

Every ``plot_*`` function writes a PNG to ``path`` and returns ``path``.  Given
``ax`` (or ``axes``), it draws there instead of on a new figure and saves that
figure when ``path`` is given too.  Figures are made without pyplot and
rendered by the non-interactive Agg canvas, so plotting works on a machine
without a display and leaves pyplot's state alone.

matplotlib is optional: ``pip install "retrograd[plot]"``.  It is imported only
when a figure is drawn, so ``import retrograd.plots`` works without it.

Example:
    >>> from retrograd import plots
    >>> plots.plot_optimizers("bowl.png", function="bowl")
    'bowl.png'
"""
import os

import numpy as np

from . import layers as _layers
from . import minimize as _minimize
from ._validation import check_positive_int, fail
from .datasets import load_digits
from .losses import SparseCategoricalCrossEntropy
from .optimizers import Adam, Momentum, NesterovAcceleratedGradient

__all__ = ["plot_activations", "plot_optimizers", "optimizer_paths", "plot_gradients",
           "gradient_norms", "plot_history", "FIGURES"]

INSTALL_HINT = 'plotting needs matplotlib: pip install "retrograd[plot]"'
_DPI = 120


# ---- matplotlib plumbing ------------------------------------------------------------------
def _matplotlib():
    """The matplotlib package, or an ImportError that says how to install it."""
    try:
        import matplotlib
    except ImportError as exc:
        raise ImportError(INSTALL_HINT) from exc
    return matplotlib


def _new_figure(owner, path, figsize):
    """A pyplot-free Figure on an Agg canvas (no display needed, no global state)."""
    _matplotlib()
    if path is None:
        fail(owner, "path (where the PNG is written) when no ax is given", path, TypeError)
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    figure = Figure(figsize=figsize, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def _figure_and_axes(owner, path, ax, figsize):
    """(figure, axes) to draw on: the caller's ``ax`` and its figure, or a new
    figure with one axes.  Checked before any computation, so a missing
    matplotlib is reported at once."""
    if ax is None:
        figure = _new_figure(owner, path, figsize)
        return figure, figure.subplots()
    _matplotlib()
    return ax.figure, ax


def _check_path(path, owner):
    if path is not None and not isinstance(path, (str, os.PathLike)):
        fail(owner, "path a str or os.PathLike", path, TypeError)
    return path


def _save(figure, path):
    """Write ``figure`` as a PNG (whatever the file name's suffix) and return ``path``."""
    if path is not None:
        figure.savefig(path, format="png", dpi=_DPI)
    return path


# ---- activations --------------------------------------------------------------------------
# (title, layer factory, random).  The layer classes themselves compute every curve;
# LeakyReLU gets alpha = 0.1 because the default 0.01 is invisible at this scale.
# RReLU and NoisyReLU draw random numbers when training: their panels scatter
# training-mode samples around the deterministic evaluation-mode curve.
ACTIVATIONS = (
    ("Sigmoid", lambda: _layers.Sigmoid(dtype=np.float64), False),
    ("Tanh", lambda: _layers.Tanh(dtype=np.float64), False),
    ("Softsign", lambda: _layers.Softsign(dtype=np.float64), False),
    ("HardSigmoid", lambda: _layers.HardSigmoid(dtype=np.float64), False),
    ("HardTanh", lambda: _layers.HardTanh(dtype=np.float64), False),
    ("ReLU", lambda: _layers.ReLU(dtype=np.float64), False),
    ("LeakyReLU(alpha=0.1)", lambda: _layers.LeakyReLU(alpha=0.1, dtype=np.float64), False),
    ("PReLU(init=0.25)", lambda: _layers.PReLU(init=0.25, dtype=np.float64), False),
    ("RReLU", lambda: _layers.RReLU(seed=0, dtype=np.float64), True),
    ("NoisyReLU", lambda: _layers.NoisyReLU(seed=0, dtype=np.float64), True),
    ("ELU", lambda: _layers.ELU(dtype=np.float64), False),
    ("SELU", lambda: _layers.SELU(dtype=np.float64), False),
    ("GELU", lambda: _layers.GELU(dtype=np.float64), False),
    ('GELU("tanh")', lambda: _layers.GELU(approximate="tanh", dtype=np.float64), False),
    ('GELU("sigmoid")', lambda: _layers.GELU(approximate="sigmoid", dtype=np.float64), False),
    ("Swish", lambda: _layers.Swish(dtype=np.float64), False),
)


def _curve(layer, z, training):
    """(s, ds/dz) of ``layer`` at the points ``z``: one forward pass on the batch
    (1, len(z)) and one backward pass of dL/ds = 1, so dL/dz = ds/dz."""
    layer.training = training
    s = layer.forward(z[np.newaxis])
    ds, _ = layer.backward(np.ones_like(s))
    return s[0], ds[0]


def plot_activations(path, z_range=(-6.0, 6.0), num=601):
    """Every activation layer of ``retrograd.layers`` (Softmax excepted: it is not
    element-wise) with its derivative, one small panel each, in a 4 x 4 grid.

    Each curve is s = layer.forward(z) and ds/dz = layer.backward(1): the
    layers' own kernels on the current backend, not a re-implementation.  RReLU
    and NoisyReLU show training-mode samples (dots) around their evaluation-mode
    function.

    Args:
        path: the PNG to write.
        z_range: (low, high), the interval of z (default the lecture's [-6, 6]).
        num: points sampled in z_range (>= 2).

    Returns ``path``.

    Example:
        >>> plot_activations("activations.png")
        'activations.png'
    """
    owner = "plot_activations"
    _check_path(path, owner)
    low, high = _check_range(z_range, owner, "z_range")
    num = check_positive_int(num, owner, "num")
    if num < 2:
        fail(owner, "num >= 2", num)
    figure = _new_figure(owner, path, (12.0, 10.5))
    grid = figure.subplots(4, 4, sharex=True)
    z = np.linspace(low, high, num)
    for ax, (title, make, random) in zip(grid.flat, ACTIVATIONS):
        layer = make()
        s, ds = _curve(layer, z, training=False)
        if random:
            sample = z[:: max(1, num // 150)]
            s_train, ds_train = _curve(layer, sample, training=True)
            ax.plot(sample, s_train, ".", color="C0", markersize=2.5, alpha=0.6)
            ax.plot(sample, ds_train, ".", color="C3", markersize=2.5, alpha=0.6)
        ax.plot(z, s, color="C0", label="s(z)")
        ax.plot(z, ds, color="C3", linestyle="--", label="ds/dz")
        ax.axhline(0.0, color="0.75", linewidth=0.6, zorder=0)
        ax.axvline(0.0, color="0.75", linewidth=0.6, zorder=0)
        ax.set_title(title, fontsize=10)
        ax.tick_params(labelsize=8)
    for ax in grid[-1]:
        ax.set_xlabel("z")
    grid.flat[0].legend(fontsize=8, loc="upper left")
    figure.suptitle("Activations s(z) and their derivatives ds/dz "
                    "(from each layer's forward and backward)")
    return _save(figure, path)


def _check_range(value, owner, name):
    try:
        low, high = (float(v) for v in value)
    except (TypeError, ValueError):
        fail(owner, f"{name} a pair (low, high) of numbers", value, TypeError)
    if not (np.isfinite(low) and np.isfinite(high) and low < high):
        fail(owner, f"{name} finite with low < high", value)
    return low, high


# ---- optimizer trajectories ---------------------------------------------------------------
def _descent(learning_rate):
    """A run of ``minimize.GradientDescent`` (eq. 6.1) with this step size."""
    return lambda f, start, epochs: _minimize.GradientDescent(
        f, f.gradient, start, learning_rate=learning_rate, epochs=epochs)


def _newton(f, start, epochs):
    """A run of ``minimize.Newton`` (eq. 6.21)."""
    return _minimize.Newton(f, f.gradient, f.hessian, start, epochs=epochs)


def _optimizer(make):
    """A run of the optimizer ``make()`` through ``minimize.OptimizerPath``."""
    return lambda f, start, epochs: _minimize.OptimizerPath(f.gradient, start, make(),
                                                            epochs=epochs, function=f)


# Per function: the objective, the plotted window (x range, y range), the start,
# the contour levels' spacing, the stationary point marked (label, point, style),
# and the default runs (label, run, epochs).
_FUNCTIONS = {
    # Figures 6.3-6.4: the curved valley.  Plain steps crawl along its floor; momentum and
    # Nesterov's look-ahead pick up speed along it; Newton follows the curvature.
    "rosenbrock": {
        "objective": _minimize.rosenbrock, "window": ((-2.0, 2.0), (-1.0, 3.0)),
        "start": (-1.5, 2.0), "log_levels": True, "mark": ("minimum", (1.0, 1.0), "k*"),
        "runs": (("GradientDescent lr=0.001", _descent(0.001), 2000),
                 ("Momentum lr=0.001", _optimizer(lambda: Momentum(0.001, 0.9)), 2000),
                 ("NAG lr=0.001",
                  _optimizer(lambda: NesterovAcceleratedGradient(0.001, 0.9)), 2000),
                 ("Adam lr=0.05", _optimizer(lambda: Adam(0.05)), 2000),
                 ("Newton", _newton, 50)),
    },
    # Figures 6.1-6.2: step sizes on an elongated convex bowl (largest curvature L = 10):
    # a small step is slow, a step near 2/L zig-zags across the steep axis, momentum
    # damps the zig-zag, Newton lands on the minimum in one step.
    "bowl": {
        "objective": _minimize.quadratic_bowl, "window": ((-5.0, 5.0), (-2.5, 2.5)),
        "start": (-4.5, 2.0), "log_levels": False, "mark": ("minimum", (0.0, 0.0), "k*"),
        "runs": (("GradientDescent lr=0.02", _descent(0.02), 100),
                 ("GradientDescent lr=0.19", _descent(0.19), 100),
                 ("Momentum lr=0.02", _optimizer(lambda: Momentum(0.02, 0.9)), 100),
                 ("NAG lr=0.02", _optimizer(lambda: NesterovAcceleratedGradient(0.02, 0.9)), 100),
                 ("Newton", _newton, 10)),
    },
    # Non-convex: from just off the x axis gradient descent and the optimizers slide away
    # along y, while Newton's method jumps onto the saddle point.
    "saddle": {
        "objective": _minimize.saddle, "window": ((-2.0, 2.0), (-2.0, 2.0)),
        "start": (1.8, 0.05), "log_levels": False, "mark": ("saddle point", (0.0, 0.0), "kX"),
        "runs": (("GradientDescent lr=0.1", _descent(0.1), 20),
                 ("Momentum lr=0.02", _optimizer(lambda: Momentum(0.02, 0.9)), 40),
                 ("Adam lr=0.1", _optimizer(lambda: Adam(0.1)), 40),
                 ("Newton", _newton, 10)),
    },
}


def _function_spec(function, owner):
    if not isinstance(function, str) or function not in _FUNCTIONS:
        fail(owner, f"function one of {tuple(_FUNCTIONS)}", function)
    return _FUNCTIONS[function]


def optimizer_paths(function="rosenbrock", optimizers=None, initial_point=None, epochs=None):
    """The trajectories drawn by ``plot_optimizers``, as {label: array (steps + 1, 2)}.

    Args:
        function: "rosenbrock", "bowl" (``minimize.quadratic_bowl``, diag(1, 10))
            or "saddle" (x^2 - y^2).
        optimizers: None for the figure's default runs (gradient descent at a
            few step sizes, momentum, Nesterov, Adam, Newton), or a dict
            {label: optimizer} of ``retrograd.optimizers`` instances (fresh ones:
            they keep their state), each run through ``minimize.OptimizerPath``.
        initial_point: the start (x, y); None for the figure's own.
        epochs: most updates of every run; None for each run's default
            (200 for user-given optimizers).

    Each path starts at the initial point and stops early where the gradient
    vanishes or a run diverges (see ``retrograd.minimize``).

    Example:
        >>> paths = optimizer_paths("bowl")
        >>> paths["Newton"][1]   # the minimum (0, 0), reached in one step
    """
    owner = "optimizer_paths"
    spec = _function_spec(function, owner)
    objective = spec["objective"]
    start = spec["start"] if initial_point is None else initial_point
    if epochs is not None:
        epochs = check_positive_int(epochs, owner, "epochs")
    if optimizers is None:
        runs = spec["runs"]
    elif isinstance(optimizers, dict) and optimizers:
        runs = tuple((label, _optimizer(lambda opt=opt: opt), 200)
                     for label, opt in optimizers.items())
    else:
        fail(owner, "optimizers None or a non-empty dict {label: optimizer}", optimizers,
             TypeError)
    paths = {}
    for label, run, default_epochs in runs:
        runner = run(objective, start, epochs or default_epochs)
        paths[label] = np.asarray(runner.update_step()[1])
    return paths


def plot_optimizers(path, function="rosenbrock", optimizers=None, initial_point=None,
                    epochs=None, ax=None):
    """Optimizer trajectories over the contour plot of a 2-D function (textbook
    figures 6.1-6.4).  The runs are those of ``optimizer_paths`` (same
    arguments); each path is a line with dots on its steps, from the start
    (black square) to its end; the minimum is a star, the saddle point a cross.
    Paths that leave the window (a diverging run, the saddle) are clipped to it.

    Args:
        path: the PNG to write (may be None when ``ax`` is given).
        function, optimizers, initial_point, epochs: see ``optimizer_paths``.
        ax: a matplotlib Axes to draw on; None for a new figure.

    Returns ``path``.

    Example:
        >>> plot_optimizers("saddle.png", function="saddle")
        'saddle.png'
    """
    owner = "plot_optimizers"
    _check_path(path, owner)
    spec = _function_spec(function, owner)
    figure, ax = _figure_and_axes(owner, path, ax, (8.0, 6.5))
    paths = optimizer_paths(function, optimizers, initial_point, epochs)

    objective = spec["objective"]
    (x_low, x_high), (y_low, y_high) = spec["window"]
    gx, gy = np.meshgrid(np.linspace(x_low, x_high, 300), np.linspace(y_low, y_high, 300))
    values = np.array([objective(point) for point in zip(gx.ravel(), gy.ravel())])
    values = values.reshape(gx.shape)
    if spec["log_levels"]:
        # Rosenbrock spans five decades: logarithmic levels show the valley floor.
        levels = np.logspace(-1, np.log10(values.max()), 25)
        from matplotlib.colors import LogNorm
        ax.contour(gx, gy, values, levels=levels, norm=LogNorm(), cmap="viridis",
                   linewidths=0.7)
    else:
        ax.contour(gx, gy, values, levels=25, cmap="viridis", linewidths=0.7)

    # Later runs are drawn thinner on top of earlier ones, so overlapping paths stay visible.
    width = np.linspace(3.0, 1.0, len(paths))
    for i, (label, points) in enumerate(paths.items()):
        steps = len(points) - 1
        ax.plot(points[:, 0], points[:, 1], "-o", color=f"C{i}", linewidth=width[i],
                markersize=2.5, markevery=max(1, steps // 60),
                label=f"{label} ({steps} step{'s' if steps != 1 else ''})")
    start = next(iter(paths.values()))[0]
    ax.plot(start[0], start[1], "ks", markersize=6, label="start")
    mark_label, (mark_x, mark_y), mark_style = spec["mark"]
    ax.plot(mark_x, mark_y, mark_style, markersize=11, label=mark_label)
    ax.set_xlim(x_low, x_high)
    ax.set_ylim(y_low, y_high)
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    ax.set_title(f"Optimizer trajectories on the {function} function")
    ax.legend(fontsize=8, loc="lower right" if function == "rosenbrock" else "best")
    return _save(figure, path)


# ---- vanishing gradients ------------------------------------------------------------------
_GRADIENT_ACTIVATIONS = {"sigmoid": _layers.Sigmoid, "tanh": _layers.Tanh,
                         "relu": _layers.ReLU, "leaky_relu": _layers.LeakyReLU,
                         "elu": _layers.ELU, "selu": _layers.SELU, "gelu": _layers.GELU,
                         "swish": _layers.Swish}


def gradient_norms(activation, depth=10, width=32, seed=0, batch_size=256,
                   weight_init="he_uniform"):
    """||dL/dW_l|| (Frobenius norm) for each Dense layer l of a deep network
    after one backward pass: the vanishing-gradients experiment of textbook
    section 7.7.

    The network is Dense(64, width), then (depth - 2) x Dense(width, width),
    then Dense(width, 10), with ``activation`` after every Dense layer but the
    last, in float64; the loss is the softmax cross-entropy of its logits on
    ``batch_size`` digits drawn with ``seed``.  By the chain rule each layer
    back multiplies the gradient by W^T and by the activation's derivative: a
    sigmoid's is at most 1/4, so the norms shrink geometrically towards the
    input, while ReLU's derivative is 1 on active units and He's initialisation
    keeps the norms of the same order in every layer.

    Args:
        activation: "sigmoid", "tanh", "relu", "leaky_relu", "elu", "selu",
            "gelu" or "swish".
        depth: Dense layers (>= 2).
        width: units of the hidden layers.
        seed: seed of the weights and of the batch.
        batch_size: digits in the batch (1 to 1797).
        weight_init: initialiser of every Dense layer (default "he_uniform").

    Returns an array of shape (depth,), the input-side layer first.

    Example:
        >>> norms = gradient_norms("sigmoid")
        >>> norms[0] < norms[-1]   # True: vanishing towards the input
    """
    owner = "gradient_norms"
    if not isinstance(activation, str) or activation not in _GRADIENT_ACTIVATIONS:
        fail(owner, f"activation one of {tuple(_GRADIENT_ACTIVATIONS)}", activation)
    depth = check_positive_int(depth, owner, "depth")
    if depth < 2:
        fail(owner, "depth >= 2", depth)
    width = check_positive_int(width, owner, "width")
    x, y = load_digits()
    batch_size = check_positive_int(batch_size, owner, "batch_size")
    if batch_size > len(x):
        fail(owner, f"batch_size <= {len(x)}", batch_size)

    rng = np.random.default_rng(seed)
    batch = rng.choice(len(x), batch_size, replace=False)
    xb = x[batch].reshape(batch_size, -1).astype(np.float64)
    sizes = [xb.shape[1]] + [width] * (depth - 1) + [10]
    dense = [_layers.Dense(sizes[i], sizes[i + 1], weight_init=weight_init, dtype=np.float64,
                           seed=int(rng.integers(2 ** 31)))
             for i in range(depth)]
    act = _GRADIENT_ACTIVATIONS[activation]
    stack = []
    for layer in dense[:-1]:
        stack += [layer, act(dtype=np.float64)]
    stack.append(dense[-1])

    out = xb
    for layer in stack:
        out = layer.forward(out)
    grad = SparseCategoricalCrossEntropy(from_logits=True).backward(out, y[batch])
    for layer in reversed(stack):
        grad, _ = layer.backward(grad)
    return np.array([np.linalg.norm(layer.grads[0]) for layer in dense])


def plot_gradients(path, activations=("sigmoid", "relu"), depth=10, width=32, seed=0,
                   ax=None):
    """Per-layer gradient norms ||dL/dW_l|| of deep networks, one line per
    activation, on a logarithmic axis (``gradient_norms``): the sigmoid
    network's gradients vanish towards the input, the ReLU network's do not.

    Args:
        path: the PNG to write (may be None when ``ax`` is given).
        activations: names accepted by ``gradient_norms``.
        depth, width, seed: see ``gradient_norms``.
        ax: a matplotlib Axes to draw on; None for a new figure.

    Returns ``path``.

    Example:
        >>> plot_gradients("gradients.png")
        'gradients.png'
    """
    owner = "plot_gradients"
    _check_path(path, owner)
    if isinstance(activations, str) or not activations:
        fail(owner, "activations a non-empty sequence of names", activations, TypeError)
    figure, ax = _figure_and_axes(owner, path, ax, (7.0, 4.5))
    norms = {name: gradient_norms(name, depth, width, seed) for name in activations}
    index = np.arange(1, depth + 1)
    for name, values in norms.items():
        ax.semilogy(index, values, "-o", label=name)
    ax.set_xticks(index)
    ax.set_xlabel("Dense layer (1 = next to the input)")
    ax.set_ylabel("||dL/dW||")
    ax.set_title(f"Gradient norms after one backward pass ({depth} layers of width {width})")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    return _save(figure, path)


# ---- training curves ----------------------------------------------------------------------
def _history_dict(history, owner):
    """{name: 1-D float array} from a History or its ``history`` dict."""
    data = getattr(history, "history", history)
    if not isinstance(data, dict) or not data:
        fail(owner, "a History or a non-empty dict {name: per-epoch values}",
             type(history).__name__, TypeError)
    curves = {}
    for key, values in data.items():
        arr = np.asarray(values, dtype=np.float64) if np.ndim(values) == 1 else None
        if not isinstance(key, str) or arr is None or arr.size == 0:
            fail(owner, "each entry a name with a non-empty list of numbers", key)
        curves[key] = arr
    return curves


def plot_history(history, path, axes=None):
    """Training curves from ``Sequential.fit``: one panel for the loss and one
    per metric (e.g. accuracy), each with the training values and, when
    present, the validation ones ("val_<name>"), against the epoch (from 1).

    Args:
        history: a ``History`` or its ``history`` dict {name: per-epoch values}.
        path: the PNG to write (may be None when ``axes`` is given).
        axes: a sequence of matplotlib Axes, one per panel; None for a new figure.

    Returns ``path``.

    Example:
        >>> history = model.fit(x, y, epochs=20, validation_data=(x_val, y_val))
        >>> plot_history(history, "history.png")
    """
    owner = "plot_history"
    _check_path(path, owner)
    curves = _history_dict(history, owner)
    names = [k for k in curves if not k.startswith("val_")]
    names += [k[4:] for k in curves if k.startswith("val_") and k[4:] not in curves]
    if "loss" in names:
        names.remove("loss")
        names.insert(0, "loss")
    if axes is None:
        figure = _new_figure(owner, path, (5.0 * len(names), 4.0))
        axes = np.atleast_1d(figure.subplots(1, len(names)))
    else:
        _matplotlib()
        axes = list(axes)
        if len(axes) != len(names):
            fail(owner, f"{len(names)} axes (one per panel: {names})", len(axes))
        figure = axes[0].figure
    from matplotlib.ticker import MaxNLocator
    for ax, name in zip(axes, names):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        for key, label, style in ((name, "train", "-o"), (f"val_{name}", "validation", "--s")):
            if key in curves:
                epochs = np.arange(1, curves[key].size + 1)
                ax.plot(epochs, curves[key], style, markersize=3, label=label)
        ax.set_xlabel("epoch")
        ax.set_ylabel(name)
        ax.set_title(name)
        ax.grid(True, alpha=0.3)
        ax.legend()
    return _save(figure, path)


# Figures drawn from nothing but a path: name -> function, for the command line.
FIGURES = {"activations": plot_activations, "optimizers": plot_optimizers,
           "gradients": plot_gradients}
