"""Dense: forward/backward against formulas, finite differences, PyTorch, and bad input."""
import numpy as np
import pytest

import retrograd
from retrograd.layers import Dense
from conftest import BACKENDS, central_difference

def _numeric_grads(layer, x, upstream):
    """Central differences of sum(forward(x) * upstream) wrt x and each parameter."""
    def objective(_):
        return float(np.sum(layer.forward(x) * upstream))

    return central_difference(objective, x), [central_difference(objective, p) for p in layer.params]


@pytest.mark.parametrize("backend", BACKENDS)
def test_forward_is_x_w_plus_b(backend):
    rng = np.random.default_rng(0)
    layer = Dense(4, 3, seed=1, dtype=np.float64)
    layer.biases[...] = rng.normal(size=3)
    x = rng.normal(size=(5, 4))
    with retrograd.use_backend(backend):
        np.testing.assert_allclose(layer.forward(x), x @ layer.weights + layer.biases, rtol=1e-12)


@pytest.mark.parametrize("backend", BACKENDS)
def test_backward_matches_finite_differences(backend):
    rng = np.random.default_rng(1)
    layer = Dense(3, 2, dtype=np.float64, seed=2)
    layer.biases[...] = rng.normal(size=2)
    x = rng.normal(size=(4, 3))
    upstream = rng.normal(size=(4, 2))
    with retrograd.use_backend(backend):
        layer.forward(x)
        dx, grads = layer.backward(upstream)
        num_dx, num_grads = _numeric_grads(layer, x.copy(), upstream)
    np.testing.assert_allclose(dx, num_dx, rtol=1e-7, atol=1e-9)
    for analytic, numeric in zip(grads, num_grads):
        np.testing.assert_allclose(analytic, numeric, rtol=1e-7, atol=1e-9)
    assert grads is layer.grads and grads[0].shape == layer.weights.shape


def test_params_are_stable_arrays_and_dtype_follows_the_layer():
    layer = Dense(6, 2)
    w, b = layer.params
    assert w is layer.weights and b is layer.biases
    assert w.dtype == np.float32 and b.dtype == np.float32
    out = layer.forward(np.ones((2, 6), dtype=np.float64))
    assert out.dtype == np.float32
    assert Dense(6, 2, dtype=np.float64).forward(np.ones((1, 6), np.float32)).dtype == np.float64


def test_same_seed_same_weights_and_he_uniform_bounds():
    a, b = Dense(50, 20, seed=7), Dense(50, 20, seed=7)
    np.testing.assert_array_equal(a.weights, b.weights)
    assert np.abs(a.weights).max() <= np.sqrt(6 / 50)
    assert not np.array_equal(a.weights, Dense(50, 20, seed=8).weights)
    assert np.all(a.biases == 0)


def test_matches_pytorch_linear():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    layer = Dense(5, 4, dtype=np.float64, seed=0)
    layer.biases[...] = rng.normal(size=4)
    x = rng.normal(size=(6, 5))
    g = rng.normal(size=(6, 4))
    tx = torch.tensor(x, requires_grad=True)
    tw = torch.tensor(layer.weights.T.copy(), requires_grad=True)   # torch stores (out, in)
    tb = torch.tensor(layer.biases.copy(), requires_grad=True)
    ty = torch.nn.functional.linear(tx, tw, tb)
    ty.backward(torch.tensor(g))
    for backend in BACKENDS:
        with retrograd.use_backend(backend):
            y = layer.forward(x)
            dx, (dw, db) = layer.backward(g)
        np.testing.assert_allclose(y, ty.detach().numpy(), rtol=1e-12)
        np.testing.assert_allclose(dx, tx.grad.numpy(), rtol=1e-12)
        np.testing.assert_allclose(dw, tw.grad.numpy().T, rtol=1e-12)
        np.testing.assert_allclose(db, tb.grad.numpy(), rtol=1e-12)


@pytest.mark.parametrize("backend", BACKENDS)
def test_read_only_and_non_contiguous_inputs(backend):
    layer = Dense(3, 2, dtype=np.float64, seed=0)
    base = np.arange(24, dtype=np.float64).reshape(4, 6)
    x = base[:, ::2]
    x.setflags(write=False)
    with retrograd.use_backend(backend):
        np.testing.assert_allclose(layer.forward(x), np.ascontiguousarray(x) @ layer.weights)
        dx, _ = layer.backward(np.ones((4, 2)))
    assert dx.shape == (4, 3)


BAD_INPUTS = [
    (np.ones((2, 5), np.float32), ValueError, r"Dense: expected input of shape \(N, 4\), got \(2, 5\)"),
    (np.ones((4,), np.float32), ValueError, r"Dense: expected input of shape \(N, 4\), got \(4,\)"),
    (np.ones((2, 3, 5), np.float32), ValueError, r"Dense: expected input of shape \(N, \.\.\., 4\), got \(2, 3, 5\)"),
    (np.ones((0, 4), np.float32), ValueError, r"Dense: expected a non-empty batch"),
    (np.ones((2, 4), np.int64), TypeError, r"Dense: expected a floating-point input, got dtype\('int64'\)"),
    (np.ones((2, 4), bool), TypeError, r"Dense: expected a floating-point input, got dtype\('bool'\)"),
    (np.ones((2, 4), np.complex64), TypeError, r"Dense: expected a floating-point input"),
]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("x, error, message", BAD_INPUTS)
def test_bad_input_names_the_layer_and_the_expected_shape(backend, x, error, message):
    with retrograd.use_backend(backend), pytest.raises(error, match=message):
        Dense(4, 3).forward(x)


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_sequence_is_one_row_per_time_step(backend):
    """(N, T, in) -> (N, T, out): the same numbers as the (N*T, in) rows, gradients too."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 3, 4)).astype(np.float32)
    g = rng.normal(size=(2, 3, 5)).astype(np.float32)
    with retrograd.use_backend(backend):
        layer, rows = Dense(4, 5, seed=0), Dense(4, 5, seed=0)
        y = layer.forward(x)
        dx, (dw, db) = layer.backward(g)
        y_rows = rows.forward(x.reshape(6, 4))
        dx_rows, (dw_rows, db_rows) = rows.backward(g.reshape(6, 5))
    assert y.shape == (2, 3, 5) and dx.shape == x.shape
    np.testing.assert_array_equal(y.reshape(6, 5), y_rows)
    np.testing.assert_array_equal(dx.reshape(6, 4), dx_rows)
    np.testing.assert_array_equal(dw, dw_rows)
    np.testing.assert_array_equal(db, db_rows)
    assert layer.output_shape((3, 4)) == (3, 5)


def test_bad_gradient_and_order_of_calls():
    layer = Dense(4, 3)
    with pytest.raises(RuntimeError, match="Dense: backward called before forward"):
        layer.backward(np.ones((2, 3), np.float32))
    layer.forward(np.ones((2, 4), np.float32))
    with pytest.raises(ValueError, match=r"Dense: expected grad_output of shape \(2, 3\), got \(2, 4\)"):
        layer.backward(np.ones((2, 4), np.float32))


@pytest.mark.parametrize("kwargs, message", [
    ({"input_size": 0, "output_size": 3}, "Dense: expected input_size a positive integer, got 0"),
    ({"input_size": 4, "output_size": 2.5}, "Dense: expected output_size a positive integer, got 2.5"),
    ({"input_size": 4, "output_size": 3, "weight_init": "magic"}, "Dense: expected weight_init one of"),
])
def test_bad_constructor_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Dense(**kwargs)


def test_bad_dtype_argument():
    with pytest.raises(TypeError, match="Dense: expected dtype float32 or float64, got"):
        Dense(4, 3, dtype=np.int32)
