"""retrograd.plots: every figure is a real PNG, the vanishing-gradient numbers
behave as the textbook says, and a missing matplotlib gives a useful error."""
import struct
import sys

import numpy as np
import pytest

from retrograd import layers, plots

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_size(path):
    """(width, height) of the PNG at ``path``, after checking its signature."""
    with open(path, "rb") as f:
        head = f.read(24)
    assert head[:8] == PNG_SIGNATURE, f"{path} is not a PNG"
    assert head[12:16] == b"IHDR"
    return struct.unpack(">II", head[16:24])


@pytest.fixture
def matplotlib():
    mpl = pytest.importorskip("matplotlib")
    return mpl


# ---- the vanishing-gradient numbers (no matplotlib needed) -----------------------------------
def test_sigmoid_gradients_vanish_towards_the_input():
    norms = plots.gradient_norms("sigmoid", depth=10, width=32, seed=0)
    assert norms.shape == (10,)
    assert np.all(np.isfinite(norms)) and np.all(norms > 0)
    # Each sigmoid layer multiplies the gradient by at most 1/4 (times W^T):
    # the norms fall layer after layer, by orders of magnitude over the stack.
    assert np.all(np.diff(norms) > 0)
    assert norms[0] < 1e-3 * norms[-1]


def test_relu_gradients_do_not_vanish():
    norms = plots.gradient_norms("relu", depth=10, width=32, seed=0)
    assert norms.shape == (10,)
    assert 0.1 < norms[0] / norms[-1] < 10.0
    assert norms.min() > 0.1 * norms.max()


@pytest.mark.parametrize("seed", [1, 2])
def test_sigmoid_vanishes_far_more_than_relu_for_any_seed(seed):
    sigmoid = plots.gradient_norms("sigmoid", depth=6, width=16, seed=seed)
    relu = plots.gradient_norms("relu", depth=6, width=16, seed=seed)
    assert sigmoid[0] / sigmoid[-1] < 0.01 * relu[0] / relu[-1]


def test_gradient_norms_are_reproducible():
    np.testing.assert_array_equal(plots.gradient_norms("tanh", depth=4, seed=3),
                                  plots.gradient_norms("tanh", depth=4, seed=3))


@pytest.mark.parametrize("kwargs, error, match", [
    ({"activation": "softmax"}, ValueError, r"gradient_norms: expected activation one of"),
    ({"activation": 1}, ValueError, r"gradient_norms: expected activation one of"),
    ({"activation": "relu", "depth": 1}, ValueError, r"expected depth >= 2, got 1"),
    ({"activation": "relu", "width": 0}, ValueError, r"expected width a positive integer"),
    ({"activation": "relu", "batch_size": 5000}, ValueError, r"expected batch_size <= 1797"),
])
def test_gradient_norms_refuses_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        plots.gradient_norms(**kwargs)


# ---- optimizer paths (no matplotlib needed) ---------------------------------------------------
def test_optimizer_paths_tell_the_textbook_story():
    bowl = plots.optimizer_paths("bowl")
    assert all(p.ndim == 2 and p.shape[1] == 2 for p in bowl.values())
    assert all(np.array_equal(p[0], [-4.5, 2.0]) for p in bowl.values())
    # Newton lands on the minimum of a quadratic in one step.
    np.testing.assert_allclose(bowl["Newton"][-1], [0.0, 0.0], atol=1e-12)
    assert len(bowl["Newton"]) == 2
    saddle = plots.optimizer_paths("saddle")
    # Newton jumps onto the saddle point; gradient descent slides away along y.
    np.testing.assert_allclose(saddle["Newton"][-1], [0.0, 0.0], atol=1e-12)
    assert abs(saddle["GradientDescent lr=0.1"][-1, 1]) > 1.0
    rosen = plots.optimizer_paths("rosenbrock")
    # Momentum reaches (1, 1) in the steps where plain gradient descent is still on its way.
    assert np.linalg.norm(rosen["Momentum lr=0.001"][-1] - 1.0) < 1e-2
    assert np.linalg.norm(rosen["GradientDescent lr=0.001"][-1] - 1.0) > 0.1


def test_optimizer_paths_with_user_optimizers():
    from retrograd import optimizers
    paths = plots.optimizer_paths("bowl", {"SGD": optimizers.SGD(0.05)}, initial_point=(1.0, 1.0),
                                  epochs=7)
    assert list(paths) == ["SGD"]
    assert paths["SGD"].shape == (8, 2)
    # SGD on the bowl diag(1, 10): x <- x - lr A x.
    np.testing.assert_allclose(paths["SGD"][1], [1.0 - 0.05, 1.0 - 0.5])


@pytest.mark.parametrize("kwargs, error, match", [
    ({"function": "himmelblau"}, ValueError, r"optimizer_paths: expected function one of"),
    ({"optimizers": {}}, TypeError, r"expected optimizers None or a non-empty dict"),
    ({"epochs": 0}, ValueError, r"expected epochs a positive integer, got 0"),
])
def test_optimizer_paths_refuses_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        plots.optimizer_paths(**kwargs)


# ---- the figures ----------------------------------------------------------------------------
def test_activations_cover_every_elementwise_layer():
    classes = {type(make()) for _, make, _ in plots.ACTIVATIONS}
    exported = {getattr(layers, name) for name in layers.__all__}
    elementwise = {cls for cls in exported if isinstance(cls, type)
                   and issubclass(cls, layers.ElementwiseActivation)
                   and cls is not layers.ElementwiseActivation}
    assert elementwise <= classes


def test_plot_activations_writes_a_png(matplotlib, tmp_path):
    path = tmp_path / "activations.png"
    assert plots.plot_activations(path) == path
    width, height = png_size(path)
    assert width >= 800 and height >= 600
    assert path.stat().st_size > 20_000


@pytest.mark.parametrize("function", ["rosenbrock", "bowl", "saddle"])
def test_plot_optimizers_writes_a_png(matplotlib, tmp_path, function):
    path = str(tmp_path / f"{function}.png")
    assert plots.plot_optimizers(path, function=function) == path
    width, height = png_size(path)
    assert width >= 600 and height >= 400


def test_plot_gradients_writes_a_png(matplotlib, tmp_path):
    path = tmp_path / "gradients.png"
    assert plots.plot_gradients(path, depth=4, width=8) == path
    assert png_size(path)[0] >= 600


def test_plot_history_from_fit(matplotlib, tmp_path):
    import retrograd
    from retrograd.losses import SparseCategoricalCrossEntropy
    from retrograd.optimizers import SGD
    rng = np.random.default_rng(0)
    x = rng.standard_normal((40, 4)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int64)
    model = retrograd.Sequential([layers.Dense(4, 2, seed=0)])
    model.compile(SparseCategoricalCrossEntropy(from_logits=True), SGD(0.1))
    history = model.fit(x, y, epochs=3, validation_data=(x, y), verbose=0, seed=0)
    path = tmp_path / "history.png"
    assert plots.plot_history(history, path) == path
    assert png_size(path)[0] >= 600
    # The dict form gives the same picture.
    again = tmp_path / "history_dict.png"
    plots.plot_history(history.history, again)
    assert png_size(again) == png_size(path)


def test_plot_history_draws_on_given_axes(matplotlib, tmp_path):
    from matplotlib.figure import Figure
    figure = Figure()
    axes = figure.subplots(1, 2)
    history = {"loss": [1.0, 0.5], "val_loss": [1.1, 0.7], "accuracy": [0.5, 0.8]}
    path = tmp_path / "on_axes.png"
    assert plots.plot_history(history, path, axes=axes) == path
    assert [ax.get_title() for ax in axes] == ["loss", "accuracy"]
    assert len(axes[0].get_lines()) == 2 and len(axes[1].get_lines()) == 1
    png_size(path)
    # Without a path nothing is written; the drawing stays on the caller's axes.
    assert plots.plot_history(history, None, axes=figure.subplots(1, 2)) is None


def test_plot_optimizers_on_an_axes_without_path(matplotlib):
    from matplotlib.figure import Figure
    ax = Figure().subplots()
    assert plots.plot_optimizers(None, function="bowl", ax=ax) is None
    assert len(ax.get_lines()) >= 5


@pytest.mark.parametrize("call, error, match", [
    (lambda p: plots.plot_history({}, p), TypeError, r"plot_history: expected a History"),
    (lambda p: plots.plot_history({"loss": []}, p), ValueError, r"non-empty list of numbers"),
    (lambda p: plots.plot_history({"loss": [1.0]}, p, axes=[]), ValueError,
     r"expected 1 axes"),
    (lambda p: plots.plot_optimizers(p, function="cone"), ValueError,
     r"plot_optimizers: expected function one of"),
    (lambda p: plots.plot_activations(p, z_range=(1, -1)), ValueError,
     r"plot_activations: expected z_range finite with low < high"),
    (lambda p: plots.plot_activations(12), TypeError, r"expected path a str or os.PathLike"),
    (lambda p: plots.plot_gradients(None), TypeError, r"plot_gradients: expected path"),
])
def test_plots_refuse_bad_arguments(matplotlib, tmp_path, call, error, match):
    with pytest.raises(error, match=match):
        call(tmp_path / "never.png")
    assert not (tmp_path / "never.png").exists()


# ---- without matplotlib --------------------------------------------------------------------
@pytest.mark.parametrize("call", [
    lambda p: plots.plot_activations(p),
    lambda p: plots.plot_optimizers(p, function="bowl"),
    lambda p: plots.plot_gradients(p, depth=2),
    lambda p: plots.plot_history({"loss": [1.0, 0.5]}, p),
])
def test_missing_matplotlib_says_how_to_install_it(monkeypatch, tmp_path, call):
    # A None entry in sys.modules makes `import matplotlib` raise ImportError.
    for name in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(ImportError, match=r'pip install "retrograd\[plot\]"'):
        call(tmp_path / "never.png")
    assert not (tmp_path / "never.png").exists()


def test_importing_plots_does_not_import_matplotlib():
    import subprocess
    code = "import sys, retrograd.plots; print('matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"
