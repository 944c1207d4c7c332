"""retrograd.regularizers: penalties and gradients against hand computation, their place in
training (reported loss, kernel gradient before the step), saving, bad input."""
import numpy as np
import pytest

import retrograd
from retrograd.layers import Conv2D, Dense, Flatten, ReLU
from retrograd.losses import MSE
from retrograd.optimizers import SGD
from retrograd.regularizers import L1, L1L2, L2, Regularizer

BACKENDS = ["numpy"] + (["native"] if retrograd.native_available() else [])
W = np.array([[1.5, -2.0], [0.0, 0.25]])


@pytest.mark.parametrize("regularizer, penalty, gradient", [
    (L1(0.1), 0.1 * 3.75, 0.1 * np.array([[1, -1], [0, 1]])),
    (L2(0.2), 0.2 * (2.25 + 4 + 0.0625), 0.4 * W),
    (L1L2(0.1, 0.2), 0.1 * 3.75 + 0.2 * 6.3125, 0.1 * np.sign(W) + 0.4 * W),
    (L1L2(), 0.0, np.zeros_like(W)),
])
def test_penalty_and_gradient_by_hand(regularizer, penalty, gradient):
    assert regularizer.penalty(W) == pytest.approx(penalty)
    assert regularizer(W) == pytest.approx(penalty)
    grad = np.zeros_like(W)
    regularizer.add_gradient(W, grad)
    np.testing.assert_allclose(grad, gradient)


def test_gradient_matches_central_differences_away_from_zero():
    rng = np.random.default_rng(0)
    w = rng.normal(size=(4, 3))
    w[np.abs(w) < 0.1] = 0.5
    reg = L1L2(0.3, 0.7)
    grad = np.zeros_like(w)
    reg.add_gradient(w, grad)
    eps = 1e-6
    numeric = np.zeros_like(w)
    for index in np.ndindex(w.shape):
        plus, minus = w.copy(), w.copy()
        plus[index] += eps
        minus[index] -= eps
        numeric[index] = (reg.penalty(plus) - reg.penalty(minus)) / (2 * eps)
    np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-8)


def test_defaults_are_keras_defaults():
    assert L1().l1 == 0.01 and L1().l2 == 0.0
    assert L2().l2 == 0.01 and L2().l1 == 0.0
    assert L1L2().l1 == 0.0 and L1L2().l2 == 0.0


@pytest.mark.parametrize("backend", BACKENDS)
def test_training_reports_the_penalised_loss_and_steps_with_its_gradient(backend):
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(8, 3)), rng.normal(size=(8, 2))
    with retrograd.use_backend(backend):
        dense = Dense(3, 2, seed=0, dtype=np.float64, kernel_regularizer=L1L2(0.1, 0.2))
        plain = Dense(3, 2, seed=0, dtype=np.float64)
        model = retrograd.Sequential([dense]).compile(MSE(), SGD(0.5), metrics=())
        reference = retrograd.Sequential([plain]).compile(MSE(), SGD(0.5), metrics=())
        w = dense.weights.copy()
        loss = model.train_step(x, y)
        data_loss = reference.train_step(x, y)
    penalty = 0.1 * np.abs(w).sum() + 0.2 * np.square(w).sum()
    assert loss == pytest.approx(data_loss + penalty, rel=1e-12)
    # SGD: w1 = w - lr (data gradient + l1 sign(w) + 2 l2 w); the plain model took the
    # data gradient alone from the same start
    expected = plain.weights - 0.5 * (0.1 * np.sign(w) + 0.4 * w)
    np.testing.assert_allclose(dense.weights, expected, rtol=1e-12)
    np.testing.assert_array_equal(dense.biases, plain.biases)  # biases are not penalised
    with retrograd.use_backend(backend):
        evaluated = model.evaluate(x, y)["loss"]
        w = dense.weights
        unpenalised = reference.evaluate(x, y)["loss"]
    assert evaluated > 0 and np.isfinite(evaluated)
    assert unpenalised >= 0
    assert evaluated == pytest.approx(
        float(np.mean((x @ w + dense.biases - y) ** 2))
        + 0.1 * np.abs(w).sum() + 0.2 * np.square(w).sum(), rel=1e-12)


@pytest.mark.parametrize("backend", BACKENDS)
def test_conv2d_kernels_are_penalised_and_frozen_layers_are_not(backend):
    rng = np.random.default_rng(2)
    x, y = rng.normal(size=(4, 5, 5, 1)), rng.normal(size=(4, 2))
    with retrograd.use_backend(backend):
        conv = Conv2D(1, 2, 3, seed=0, dtype=np.float64, kernel_regularizer="l2")
        frozen = Dense(18, 2, seed=1, dtype=np.float64, kernel_regularizer=L1(5.0))
        frozen.trainable = False
        model = retrograd.Sequential([conv, ReLU(dtype=np.float64), Flatten(dtype=np.float64),
                                      frozen]).compile(MSE(), SGD(0.1), metrics=())
        k = conv.kernels.copy()
        y_pred = model.predict(x)
        loss = model.train_step(x, y)
    assert conv.kernel_regularizer.l2 == 0.01
    assert loss == pytest.approx(float(np.mean((y_pred - y) ** 2)) + 0.01 * np.square(k).sum(),
                                 rel=1e-12)


def test_configs_round_trip_through_files(tmp_path):
    model = retrograd.Sequential([Dense(3, 4, kernel_regularizer=L1L2(0.1, 0.2)), ReLU(),
                                  Dense(4, 2, kernel_regularizer="l1"), Dense(2, 1)])
    model.save(tmp_path / "m.npz")
    loaded = retrograd.load_model(tmp_path / "m.npz")
    regs = [layer.kernel_regularizer for layer in loaded.layers]
    assert isinstance(regs[0], L1L2) and (regs[0].l1, regs[0].l2) == (0.1, 0.2)
    assert regs[1] is None and regs[3] is None
    assert isinstance(regs[2], L1) and regs[2].l1 == 0.01
    assert "kernel_regularizer" not in loaded.layers[3].get_config()


@pytest.mark.parametrize("make, error, message", [
    (lambda: L1(-0.1), ValueError, "L1: expected l1 >= 0.0, got -0.1"),
    (lambda: L2(float("nan")), ValueError, "L2: expected l2"),
    (lambda: L1L2(l2=-1), ValueError, "L1L2: expected l2 >= 0.0, got -1"),
    (lambda: L1L2(l1="x"), TypeError, "L1L2: expected l1"),
    (lambda: Dense(2, 2, kernel_regularizer="l3"), TypeError,
     "Dense: expected kernel_regularizer None, a retrograd.regularizers.Regularizer"),
    (lambda: Conv2D(1, 2, 3, kernel_regularizer=0.1), TypeError,
     "Conv2D: expected kernel_regularizer None"),
    (lambda: Dense(2, 2, kernel_regularizer={"class_name": "L1", "config": {"l9": 1}}),
     ValueError, "Dense: expected a kernel_regularizer configuration"),
])
def test_bad_factors_and_arguments_are_refused(make, error, message):
    with pytest.raises(error, match=message):
        make()


def test_a_regularizer_is_a_regularizer():
    assert isinstance(L1(), Regularizer) and isinstance(L2(), Regularizer)
