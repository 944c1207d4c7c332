"""examples/backprop_221.py reproduces the lecture's worked example on both backends."""
import importlib.util
import pathlib

import numpy as np
import pytest

import retrograd

BACKENDS = ["numpy"] + (["native"] if retrograd.native_available() else [])
EXAMPLE = pathlib.Path(__file__).resolve().parent.parent / "examples" / "backprop_221.py"


@pytest.fixture(scope="module")
def example():
    spec = importlib.util.spec_from_file_location("backprop_221", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_lectures_numbers(example, backend):
    with retrograd.use_backend(backend):
        r = example.worked_example()
    assert round(r["y_hat"], 4) == 0.7514
    assert round(r["loss"], 4) == 0.2748
    assert round(float(r["dW2"][0, 0]), 4) == 0.0823     # dL/dw11(2)
    assert round(float(r["dW2"][1, 0]), 4) == 0.0826     # dL/dw21(2)


def _by_hand():
    """The same example from the lecture's formulas, in plain NumPy."""
    x, y = np.array([0.05, 0.10]), 0.01
    w1 = np.array([[0.15, 0.20], [0.25, 0.30]])
    w2 = np.array([0.40, 0.45])
    h = 1 / (1 + np.exp(-(x @ w1 + 0.35)))
    y_hat = 1 / (1 + np.exp(-(h @ w2 + 0.60)))
    delta_out = (y_hat - y) * y_hat * (1 - y_hat)
    delta_hidden = delta_out * w2 * h * (1 - h)
    return y_hat, delta_out, delta_out * h, delta_hidden, np.outer(x, delta_hidden)


@pytest.mark.parametrize("backend", BACKENDS)
def test_deltas_and_all_gradients_match_the_formulas(example, backend):
    y_hat, delta_out, dw2, delta_hidden, dw1 = _by_hand()
    with retrograd.use_backend(backend):
        r = example.worked_example()
    assert r["y_hat"] == pytest.approx(y_hat, rel=1e-12)
    assert r["delta_out"] == pytest.approx(delta_out, rel=1e-12)
    np.testing.assert_allclose(r["dW2"][:, 0], dw2, rtol=1e-12)
    np.testing.assert_allclose(r["db2"], [delta_out], rtol=1e-12)
    np.testing.assert_allclose(r["delta_hidden"], delta_hidden, rtol=1e-12)
    np.testing.assert_allclose(r["dW1"], dw1, rtol=1e-12)
    np.testing.assert_allclose(r["db1"], delta_hidden, rtol=1e-12)


@pytest.mark.parametrize("backend", BACKENDS)
def test_finite_differences_agree_with_backprop(example, backend):
    with retrograd.use_backend(backend):
        rows = example.finite_difference_check()
    assert [name for name, _, _ in rows] == [n for names in example.PARAM_NAMES for n in names]
    for name, analytic, numeric in rows:
        assert numeric == pytest.approx(analytic, rel=1e-6, abs=1e-10), name


@pytest.mark.parametrize("backend", BACKENDS)
def test_one_sgd_step_lowers_the_loss(example, backend):
    with retrograd.use_backend(backend):
        before, after = example.sgd_update()
    assert round(before, 4) == 0.2748
    assert after < before


def test_gradient_magnitudes_for_three_hidden_activations_agree_across_backends(example):
    tables = {}
    for backend in BACKENDS:
        with retrograd.use_backend(backend):
            tables[backend] = example.gradient_magnitudes()
    table = tables["numpy"]
    assert list(table) == [n for names in example.PARAM_NAMES for n in names]
    assert all(set(row) == {"sigmoid", "tanh", "relu"} for row in table.values())
    # tanh'(0.38) ~ 0.87 against sigmoid'(0.38) ~ 0.24: the first layer gets larger gradients
    assert table["w11(1)"]["tanh"] > 3 * table["w11(1)"]["sigmoid"]
    # ReLU hidden units pass the gradient unchanged where active (all are here)
    assert table["b1(1)"]["relu"] == pytest.approx(
        table["b(2)"]["relu"] * example.W2[0, 0], rel=1e-12)
    for other in tables.values():
        for name, row in table.items():
            for hidden, value in row.items():
                assert other[name][hidden] == pytest.approx(value, rel=1e-12), (name, hidden)


def test_main_prints_the_lectures_numbers(example, capsys):
    example.main(["--backend", "numpy"])
    out = capsys.readouterr().out
    for text in ("y_hat = 0.7514", "= 0.2748", "dL/dw11(2) = 0.0823", "dL/dw21(2) = 0.0826",
                 "L 0.2748 -> 0.2580", "sigmoid", "tanh", "relu"):
        assert text in out
