"""Flatten and Dropout: NHWC order, inverted-dropout scaling, seeded masks, eval mode,
the dropout kernels on both backends, and bad input."""
import doctest

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import retrograd
from retrograd.backend import native_ops, numpy_ops
from retrograd.layers import Dropout, Flatten
from retrograd.layers import dropout as dropout_module
from retrograd.layers import reshape as reshape_module

from conftest import MULTI_THREAD_ELEMENTS, BACKENDS, DTYPES

needs_native = pytest.mark.skipif(not retrograd.native_available(),
                                  reason="native kernels not built")


# ---- Flatten -----------------------------------------------------------------------------
def test_flatten_uses_nhwc_order():
    n, h, w, c = 2, 3, 4, 5
    x = np.random.default_rng(0).normal(size=(n, h, w, c))
    y = Flatten(dtype=np.float64).forward(x)
    assert y.shape == (n, h * w * c)
    for idx in [(0, 0, 0, 0), (1, 2, 3, 4), (0, 1, 2, 3), (1, 0, 3, 1)]:
        b, i, j, k = idx
        assert y[b, (i * w + j) * c + k] == x[idx]


@pytest.mark.parametrize("shape", [(3, 4), (2, 1, 1, 1), (2, 3, 4, 5), (1, 2, 3, 2, 2)])
def test_flatten_backward_reshapes_back(shape):
    layer = Flatten(dtype=np.float64)
    x = np.random.default_rng(1).normal(size=shape)
    y = layer.forward(x)
    assert y.shape == (shape[0], int(np.prod(shape[1:])))
    g = np.random.default_rng(2).normal(size=y.shape)
    dx, params = layer.backward(g)
    assert params is None and dx.shape == shape
    np.testing.assert_array_equal(dx.reshape(y.shape), g)
    assert layer.output_shape(shape[1:]) == (int(np.prod(shape[1:])),)


def test_flatten_casts_and_handles_non_contiguous_input():
    base = np.arange(24, dtype=np.float64).reshape(2, 4, 3)
    x = base.transpose(0, 2, 1)                                   # (2, 3, 4), not contiguous
    y = Flatten().forward(x)
    assert y.dtype == np.float32
    np.testing.assert_array_equal(y, np.ascontiguousarray(x).reshape(2, 12))
    assert Flatten().get_config() == {"dtype": "float32"}


@pytest.mark.parametrize("x, error, message", [
    (np.ones(5), ValueError, r"Flatten: expected a non-empty batch of rank >= 2 \(N, \.\.\.\), "
                             r"got \(5,\)"),
    (np.ones((0, 3)), ValueError, r"Flatten: expected a non-empty batch .*got \(0, 3\)"),
    (np.ones((2, 3), dtype=np.int64), TypeError,
     r"Flatten: expected a floating-point input, got dtype\('int64'\)"),
])
def test_flatten_bad_input(x, error, message):
    with pytest.raises(error, match=message):
        Flatten().forward(x)


def test_flatten_refuses_a_gradient_of_the_wrong_shape():
    layer = Flatten()
    with pytest.raises(RuntimeError, match="Flatten: backward called before forward"):
        layer.backward(np.ones((2, 6)))
    layer.forward(np.ones((2, 3, 2)))
    with pytest.raises(ValueError, match=r"Flatten: expected grad_output of shape \(2, 6\), "
                                         r"got \(2, 3, 2\)"):
        layer.backward(np.ones((2, 3, 2)))


# ---- Dropout -----------------------------------------------------------------------------
@pytest.mark.parametrize("backend", BACKENDS)
def test_dropout_zeroes_and_rescales_with_a_seeded_mask(backend):
    x = np.random.default_rng(0).normal(size=(64, 50)) + 3.0       # no exact zeros
    with retrograd.use_backend(backend):
        layer = Dropout(0.3, seed=11, dtype=np.float64)
        y = layer.forward(x)
        kept = y != 0
        np.testing.assert_allclose(y[kept], x[kept] / 0.7, rtol=1e-15)
        assert abs(kept.mean() - 0.7) < 0.02                       # 3200 Bernoulli draws
        g = np.random.default_rng(1).normal(size=x.shape)
        dx, params = layer.backward(g)
        assert params is None
        np.testing.assert_allclose(dx, np.where(kept, g / 0.7, 0), rtol=1e-15)
        np.testing.assert_array_equal(Dropout(0.3, seed=11, dtype=np.float64).forward(x), y)
        assert not np.array_equal(layer.forward(x), y)             # a new mask each call


@pytest.mark.parametrize("backend", BACKENDS)
def test_dropout_keeps_the_mean(backend):
    x = np.ones((200, 500))
    with retrograd.use_backend(backend):
        y = Dropout(0.5, seed=0).forward(x)
    assert abs(y.mean() - 1.0) < 0.01                               # sd 1/sqrt(1e5)


@pytest.mark.parametrize("backend", BACKENDS)
def test_dropout_is_the_identity_when_not_training_or_at_rate_zero(backend):
    x = np.random.default_rng(0).normal(size=(4, 3, 3, 2))
    g = np.random.default_rng(1).normal(size=x.shape)
    with retrograd.use_backend(backend):
        layer = Dropout(0.9, seed=0, dtype=np.float64)
        layer.training = False
        np.testing.assert_array_equal(layer.forward(x), x)
        np.testing.assert_array_equal(layer.backward(g)[0], g)
        zero = Dropout(0.0, dtype=np.float64)
        np.testing.assert_array_equal(zero.forward(x), x)
        np.testing.assert_array_equal(zero.backward(g)[0], g)


def test_dropout_follows_sequential_eval(backend):
    model = retrograd.Sequential([Dropout(0.5, seed=0)])
    x = np.ones((3, 4), np.float32)
    model.eval()
    np.testing.assert_array_equal(model.forward(x), x)
    model.train()
    assert np.any(model.forward(x) == 0)


def test_dropout_dtype_and_config(backend):
    layer = Dropout(0.25, seed=3, dtype=np.float64)
    assert layer.forward(np.ones((2, 2), np.float32)).dtype == np.float64
    assert Dropout(0.5).forward(np.ones((2, 2))).dtype == np.float32
    assert layer.get_config() == {"rate": 0.25, "seed": 3, "dtype": "float64"}
    assert layer.params == [] and layer.grads == []


def test_docstring_examples(backend):
    for module in (dropout_module, reshape_module):
        failures, tried = doctest.testmod(module, extraglobs={"np": np})[:2]
        assert tried > 0 and failures == 0


@pytest.mark.parametrize("rate, error", [
    (1.0, ValueError), (-0.1, ValueError), (1.5, ValueError), (float("nan"), ValueError),
    (float("inf"), ValueError), (True, ValueError), ("0.5", TypeError), (None, TypeError)])
def test_dropout_bad_rate(rate, error):
    with pytest.raises(error, match=r"Dropout: expected rate a number with 0 <= rate < 1, "
                                    rf"got {rate!r}"):
        Dropout(rate)


@pytest.mark.parametrize("x, error, message", [
    (np.ones((2, 3), dtype=np.int32), TypeError, "Dropout: expected a floating-point input"),
    (np.zeros((0, 3)), ValueError, r"Dropout: expected a non-empty batch \(N, \.\.\.\), "
                                   r"got \(0, 3\)"),
    (np.float64(2.0), ValueError, r"Dropout: expected a non-empty batch .*got \(\)"),
])
def test_dropout_bad_input(x, error, message):
    with pytest.raises(error, match=message):
        Dropout(0.5).forward(x)


def test_dropout_refuses_a_gradient_of_the_wrong_shape(backend):
    layer = Dropout(0.5)
    with pytest.raises(RuntimeError, match="Dropout: backward called before forward"):
        layer.backward(np.ones((2, 3)))
    layer.forward(np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"Dropout: expected grad_output of shape \(2, 3\), "
                                         r"got \(3, 2\)"):
        layer.backward(np.ones((3, 2)))


# ---- the dropout kernels: native against NumPy --------------------------------------------
@needs_native
@settings(max_examples=40, deadline=None)
@given(shape=st.lists(st.integers(1, 9), min_size=1, max_size=4), dtype=st.sampled_from(DTYPES),
       rate=st.floats(0.0, 0.95), mask_dtype=st.sampled_from([bool, np.uint8]),
       seed=st.integers(0, 2**16))
def test_native_dropout_kernels_match_numpy(shape, dtype, rate, mask_dtype, seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=shape).astype(dtype)
    mask = (rng.random(shape) >= rate).astype(mask_dtype)
    scale = 1.0 / (1.0 - rate)
    for kernel in ("dropout_forward", "dropout_backward"):
        got = getattr(native_ops, kernel)(x, mask, scale)
        expected = getattr(numpy_ops, kernel)(x, mask, scale)
        assert got.dtype == dtype and got.shape == x.shape
        # one rounding either way: x * scale, whatever the order of the products
        np.testing.assert_allclose(got, expected, rtol=np.finfo(dtype).eps, atol=0)


@needs_native
def test_native_dropout_does_not_depend_on_the_thread_count(restore_num_threads):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(MULTI_THREAD_ELEMENTS // 1024 + 1, 32, 32)).astype(np.float32)
    mask = rng.random(x.shape) >= 0.4
    results = []
    for n_threads in (1, 2):
        retrograd.set_num_threads(n_threads)
        results.append(native_ops.dropout_forward(x, mask, 1 / 0.6))
    np.testing.assert_array_equal(*results)
