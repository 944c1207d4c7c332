"""retrograd.gradcheck: passes correct layers, catches wrong gradients, leaves the layer alone."""
import numpy as np
import pytest

import retrograd
from retrograd.layers import Dense, LeakyReLU, ReLU, Sigmoid

BACKENDS = ["numpy"] + (["native"] if retrograd.native_available() else [])


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dense_passes_in_float64(backend, dtype):
    layer = Dense(4, 3, seed=0, dtype=dtype)
    layer.biases[...] = [0.1, -0.2, 0.3]
    x = np.random.default_rng(0).normal(size=(5, 4))
    with retrograd.use_backend(backend):
        assert retrograd.gradcheck(layer, x) < 1e-6


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("layer", [Sigmoid(), LeakyReLU(alpha=0.2), ReLU()],
                         ids=lambda layer: layer.name)
def test_activations_pass_away_from_kinks(backend, layer):
    rng = np.random.default_rng(1)
    # |z| >= 0.1 keeps ReLU's kink at 0 farther than eps from every sample
    x = rng.uniform(0.1, 2.0, size=(3, 4)) * rng.choice([-1, 1], size=(3, 4))
    with retrograd.use_backend(backend):
        assert retrograd.gradcheck(layer, x) < 1e-6


class _WrongBiasGrad(Dense):
    """Dense whose bias gradient is off by 1% (a subtle backward bug)."""

    def backward(self, grad_output):
        dx, grads = super().backward(grad_output)
        grads[1] *= 1.01
        return dx, grads


class _WrongInputGrad(Dense):
    """Dense that forgets the transpose pattern and returns 2 * dL/dx."""

    def backward(self, grad_output):
        dx, grads = super().backward(grad_output)
        return 2 * dx, grads


@pytest.mark.parametrize("cls", [_WrongBiasGrad, _WrongInputGrad])
def test_wrong_gradients_are_caught(cls):
    layer = cls(3, 2, seed=0)
    layer.biases[...] = [0.5, -0.5]
    error = retrograd.gradcheck(layer, np.random.default_rng(2).normal(size=(4, 3)))
    assert error > 1e-3


def test_the_checked_layer_and_input_are_left_unchanged():
    layer = Dense(3, 2, seed=0)
    weights, biases = layer.weights.copy(), layer.biases.copy()
    x = np.random.default_rng(3).normal(size=(2, 3))
    x_saved = x.copy()
    retrograd.gradcheck(layer, x)
    np.testing.assert_array_equal(layer.weights, weights)
    np.testing.assert_array_equal(layer.biases, biases)
    np.testing.assert_array_equal(x, x_saved)
    assert layer.dtype == np.float32


def test_same_seed_same_result():
    layer = Dense(3, 2, seed=0)
    x = np.random.default_rng(4).normal(size=(2, 3))
    assert retrograd.gradcheck(layer, x, seed=5) == retrograd.gradcheck(layer, x, seed=5)


@pytest.mark.parametrize("args, error, message", [
    (("dense", np.zeros((1, 2))), TypeError, "gradcheck: expected a Layer or a Model, got 'str'"),
    ((Dense(2, 2), np.zeros((1, 2)), 0.0), ValueError, "gradcheck: expected eps > 0.0"),
    ((Dense(2, 2), np.zeros((1, 3))), ValueError, "Dense: expected input of shape \\(N, 2\\)"),
])
def test_bad_arguments_are_refused(args, error, message):
    with pytest.raises(error, match=message):
        retrograd.gradcheck(*args)


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_whole_model_is_checked_through_its_graph(backend):
    """A shared Conv2D called twice, fan-out into an Add, two outputs, a frozen Dense,
    a two-input model around a shared encoder: every gradient against differences."""
    from retrograd import Input, Model
    from retrograd.layers import Add, Conv2D, Dense, Flatten, Multiply, Tanh
    rng = np.random.default_rng(0)
    with retrograd.use_backend(backend):
        x = Input((5, 5, 2))
        conv = Conv2D(2, 2, 3, padding="same", seed=1)
        h = Tanh()(conv(x))
        merged = Flatten()(Add()([conv(h), x, h]))
        frozen = Dense(50, 2, seed=4)
        frozen.trainable = False
        model = Model(x, [Dense(50, 3, seed=3)(merged), frozen(merged)])
        assert retrograd.gradcheck(model, rng.normal(size=(3, 5, 5, 2))) < 1e-6
        encoder = retrograd.Sequential([Dense(6, 4, seed=0), Tanh(), Dense(4, 2, seed=1)])
        a, b = Input((6,)), Input((6,))
        siamese = Model([a, b], Multiply()([encoder(a), encoder(b)]))
        assert retrograd.gradcheck(siamese, [rng.normal(size=(4, 6)),
                                             rng.normal(size=(4, 6))]) < 1e-6
