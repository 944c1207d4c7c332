"""Pooling layers and kernels: the NumPy reference against naive loops and finite
differences, ties routed to the first maximum, native against NumPy (a grid and
hypothesis-drawn shapes, both dtypes, 1 and 2 threads), PyTorch, and bad input."""
import doctest

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import retrograd
from retrograd.backend import native_ops, numpy_ops
from retrograd.layers import (AveragePooling2D, GlobalAveragePooling2D, GlobalMaxPooling2D,
                              MaxPooling2D)
from retrograd.layers import pooling as pooling_module

from conftest import MULTI_THREAD_ELEMENTS, BACKENDS, DTYPES, TOLERANCES, central_difference

needs_native = pytest.mark.skipif(not retrograd.native_available(),
                                  reason="native kernels not built")


# ---- naive oracles: one loop per output position ---------------------------------------
def _out(size, pool, stride):
    return (size - pool) // stride + 1


def naive_pool(x, pool, stride, reduce):
    """y[n, i, j, c] = reduce(window); for max also the first argmax p*pw + q."""
    (ph, pw), (sh, sw) = pool, stride
    n, h, w, c = x.shape
    oh, ow = _out(h, ph, sh), _out(w, pw, sw)
    y = np.zeros((n, oh, ow, c))
    first = np.zeros((n, oh, ow, c), dtype=np.int64)
    for b in range(n):
        for i in range(oh):
            for j in range(ow):
                for ch in range(c):
                    window = x[b, i * sh:i * sh + ph, j * sw:j * sw + pw, ch]
                    y[b, i, j, ch] = reduce(window)
                    first[b, i, j, ch] = int(np.argmax(window))    # row-major, first maximum
    return y, first


def naive_pool_backward(dy, x_shape, pool, stride, first=None):
    """Average when ``first`` is None, else max (gradient to the first maximum)."""
    (ph, pw), (sh, sw) = pool, stride
    dx = np.zeros(x_shape)
    n, oh, ow, c = dy.shape
    for b in range(n):
        for i in range(oh):
            for j in range(ow):
                for ch in range(c):
                    if first is None:
                        dx[b, i * sh:i * sh + ph, j * sw:j * sw + pw, ch] += dy[b, i, j, ch] / (
                            ph * pw)
                    else:
                        p, q = divmod(first[b, i, j, ch], pw)
                        dx[b, i * sh + p, j * sw + q, ch] += dy[b, i, j, ch]
    return dx


# (N, H, W, C, pool_size, stride): tiled (reshape path), non-divisible sizes, overlapping
# windows (stride < pool), gaps (stride > pool), 1x1 images, pool = input, non-square.
GRID = [
    (2, 4, 4, 3, 2, None),
    (2, 5, 5, 2, 2, None),
    (1, 5, 7, 2, (2, 3), None),
    (2, 5, 5, 2, 3, 1),
    (2, 6, 7, 1, 3, 2),
    (2, 7, 7, 2, 2, 3),
    (1, 1, 1, 3, 1, None),
    (2, 3, 3, 2, 3, None),
    (1, 6, 5, 2, (3, 2), (1, 2)),
    (2, 4, 6, 1, (2, 2), (2, 1)),
    (1, 9, 4, 2, (1, 4), (4, 1)),
]
GRID_IDS = ["-".join(map(str, case)).replace(" ", "") for case in GRID]
POOLS = {"max": MaxPooling2D, "avg": AveragePooling2D}


def _geometry(case):
    pool = MaxPooling2D(case[4], case[5])
    return pool.pool_size, pool.stride


def _input(case, dtype=np.float64, seed=0):
    return np.random.default_rng(seed).normal(size=case[:4]).astype(dtype)


@pytest.mark.parametrize("case", GRID, ids=GRID_IDS)
def test_numpy_max_pooling_matches_the_oracle(case):
    pool, stride = _geometry(case)
    x = _input(case)
    y, indices = numpy_ops.maxpool2d_forward(x, pool, stride)
    y_ref, first = naive_pool(x, pool, stride, np.max)
    np.testing.assert_array_equal(y, y_ref)
    np.testing.assert_array_equal(indices, first)
    assert indices.dtype == np.int32 and y.dtype == np.float64
    dy = np.random.default_rng(1).normal(size=y.shape)
    np.testing.assert_allclose(numpy_ops.maxpool2d_backward(dy, indices, x.shape, pool, stride),
                               naive_pool_backward(dy, x.shape, pool, stride, first),
                               rtol=1e-14)


@pytest.mark.parametrize("case", GRID, ids=GRID_IDS)
def test_numpy_average_pooling_matches_the_oracle(case):
    pool, stride = _geometry(case)
    x = _input(case)
    y = numpy_ops.avgpool2d_forward(x, pool, stride)
    np.testing.assert_allclose(y, naive_pool(x, pool, stride, np.mean)[0], rtol=1e-13)
    dy = np.random.default_rng(1).normal(size=y.shape)
    np.testing.assert_allclose(numpy_ops.avgpool2d_backward(dy, x.shape, pool, stride),
                               naive_pool_backward(dy, x.shape, pool, stride), rtol=1e-13)


def test_ties_go_to_the_first_maximum_in_row_major_order():
    x = np.array([[3, 1, 3], [2, 3, 0], [3, 3, 3]], dtype=np.float64).reshape(1, 3, 3, 1)
    y, indices = numpy_ops.maxpool2d_forward(x, (2, 2), (1, 1))
    np.testing.assert_array_equal(y[0, :, :, 0], [[3, 3], [3, 3]])
    np.testing.assert_array_equal(indices[0, :, :, 0], [[0, 1], [1, 0]])
    dx = numpy_ops.maxpool2d_backward(np.ones_like(y), indices, x.shape, (2, 2), (1, 1))
    np.testing.assert_array_equal(dx[0, :, :, 0], [[1, 0, 1], [0, 2, 0], [0, 0, 0]])


# (name, factory(dtype)): every pooling layer, overlapping windows and keepdims included.
LAYERS = [("max", lambda dt: MaxPooling2D(2, dtype=dt)),
          ("max-overlap", lambda dt: MaxPooling2D(3, 1, dtype=dt)),
          ("avg", lambda dt: AveragePooling2D(2, dtype=dt)),
          ("avg-gaps", lambda dt: AveragePooling2D((2, 1), (3, 2), dtype=dt)),
          ("global-avg", lambda dt: GlobalAveragePooling2D(dtype=dt)),
          ("global-avg-keepdims", lambda dt: GlobalAveragePooling2D(keepdims=True, dtype=dt)),
          ("global-max", lambda dt: GlobalMaxPooling2D(dtype=dt)),
          ("global-max-keepdims", lambda dt: GlobalMaxPooling2D(keepdims=True, dtype=dt))]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name, factory", LAYERS, ids=[name for name, _ in LAYERS])
def test_gradients_match_finite_differences(name, factory, backend):
    # distinct random values: every maximum is strict, so max pooling is differentiable here
    layer = factory(np.float64)
    x = np.random.default_rng(3).normal(size=(2, 5, 6, 3))
    with retrograd.use_backend(backend):
        upstream = np.random.default_rng(4).normal(size=layer.forward(x).shape)
        dx, param_grads = layer.backward(upstream)
        numeric = central_difference(lambda _: float(np.sum(layer.forward(x) * upstream)), x)
    assert param_grads is None and layer.params == []
    np.testing.assert_allclose(dx, numeric, rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("backend", BACKENDS)
def test_global_pooling_values_and_shapes(backend):
    x = np.random.default_rng(0).normal(size=(3, 4, 5, 2))
    with retrograd.use_backend(backend):
        np.testing.assert_allclose(GlobalAveragePooling2D(dtype=np.float64).forward(x),
                                   x.mean(axis=(1, 2)), rtol=1e-12)
        np.testing.assert_array_equal(GlobalMaxPooling2D(dtype=np.float64).forward(x),
                                      x.max(axis=(1, 2)))
        assert GlobalAveragePooling2D(keepdims=True).forward(x).shape == (3, 1, 1, 2)
        assert GlobalMaxPooling2D(keepdims=True).forward(x).shape == (3, 1, 1, 2)
        layer = GlobalMaxPooling2D(dtype=np.float64)
        layer.forward(np.zeros((1, 2, 2, 1)))                          # a four-way tie
        dx, _ = layer.backward(np.ones((1, 1)))
    np.testing.assert_array_equal(dx[0, :, :, 0], [[1, 0], [0, 0]])


# ---- native against NumPy --------------------------------------------------------------
def _compare_backends(x, pool, stride, dtype):
    tol = TOLERANCES[np.dtype(dtype)]
    y, idx = native_ops.maxpool2d_forward(x, pool, stride)
    y_ref, idx_ref = numpy_ops.maxpool2d_forward(x, pool, stride)
    np.testing.assert_array_equal(y, y_ref)
    np.testing.assert_array_equal(idx, idx_ref)
    assert y.dtype == dtype and idx.dtype == np.int32
    dy = np.random.default_rng(7).normal(size=y.shape).astype(dtype)
    np.testing.assert_allclose(native_ops.maxpool2d_backward(dy, idx, x.shape, pool, stride),
                               numpy_ops.maxpool2d_backward(dy, idx, x.shape, pool, stride),
                               **tol)
    a = native_ops.avgpool2d_forward(x, pool, stride)
    assert a.dtype == dtype
    np.testing.assert_allclose(a, numpy_ops.avgpool2d_forward(x, pool, stride), **tol)
    np.testing.assert_allclose(native_ops.avgpool2d_backward(dy, x.shape, pool, stride),
                               numpy_ops.avgpool2d_backward(dy, x.shape, pool, stride), **tol)
    np.testing.assert_allclose(native_ops.global_avgpool_forward(x),
                               numpy_ops.global_avgpool_forward(x), **tol)
    g, g_idx = native_ops.global_maxpool_forward(x)
    g_ref, g_idx_ref = numpy_ops.global_maxpool_forward(x)
    np.testing.assert_array_equal(g, g_ref)
    np.testing.assert_array_equal(g_idx, g_idx_ref)
    dg = dy[:, 0, 0, :].copy()
    np.testing.assert_allclose(native_ops.global_avgpool_backward(dg, x.shape),
                               numpy_ops.global_avgpool_backward(dg, x.shape), **tol)
    np.testing.assert_array_equal(native_ops.global_maxpool_backward(dg, g_idx, x.shape),
                                  numpy_ops.global_maxpool_backward(dg, g_idx, x.shape))


@needs_native
@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
@pytest.mark.parametrize("case", GRID, ids=GRID_IDS)
def test_native_matches_numpy_on_the_grid(case, dtype):
    pool, stride = _geometry(case)
    _compare_backends(_input(case, dtype), pool, stride, dtype)


@needs_native
@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
def test_native_routes_ties_like_numpy(dtype):
    x = np.random.default_rng(0).integers(0, 3, size=(2, 7, 6, 3)).astype(dtype)
    _compare_backends(x, (3, 2), (1, 2), dtype)
    _compare_backends(x, (2, 2), (2, 2), dtype)


@st.composite
def pool_cases(draw):
    ph, pw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    return ((draw(st.integers(1, 3)), draw(st.integers(ph, ph + 7)), draw(st.integers(pw, pw + 7)),
             draw(st.integers(1, 5))), (ph, pw), (draw(st.integers(1, 4)), draw(st.integers(1, 4))))


@needs_native
@settings(max_examples=40, deadline=None)
@given(case=pool_cases(), dtype=st.sampled_from(DTYPES), seed=st.integers(0, 2**16),
       ties=st.booleans())
def test_native_matches_numpy_on_random_shapes(case, dtype, seed, ties):
    shape, pool, stride = case
    rng = np.random.default_rng(seed)
    x = (rng.integers(0, 3, size=shape) if ties else rng.normal(size=shape)).astype(dtype)
    _compare_backends(x, pool, stride, dtype)


@needs_native
def test_native_does_not_depend_on_the_thread_count(restore_num_threads):
    n = MULTI_THREAD_ELEMENTS // (20 * 20 * 8) + 1
    x = np.random.default_rng(0).normal(size=(n, 20, 20, 8)).astype(np.float32)
    dy = np.random.default_rng(1).normal(size=(n, 9, 9, 8)).astype(np.float32)
    results = []
    for n_threads in (1, 2):
        retrograd.set_num_threads(n_threads)
        y, idx = native_ops.maxpool2d_forward(x, (3, 3), (2, 2))
        results.append((y, idx, native_ops.maxpool2d_backward(dy, idx, x.shape, (3, 3), (2, 2)),
                        native_ops.avgpool2d_forward(x, (3, 3), (2, 2)),
                        native_ops.avgpool2d_backward(dy, x.shape, (3, 3), (2, 2)),
                        *native_ops.global_maxpool_forward(x),
                        native_ops.global_avgpool_forward(x)))
    for one, two in zip(*results):
        np.testing.assert_array_equal(one, two)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name, factory", LAYERS, ids=[name for name, _ in LAYERS])
def test_read_only_and_non_contiguous_inputs(name, factory, backend):
    base = np.random.default_rng(0).normal(size=(2, 3, 6, 5))
    x = base.transpose(0, 3, 2, 1)                                     # (2, 5, 6, 3)
    x.flags.writeable = False
    with retrograd.use_backend(backend):
        layer = factory(np.float64)
        y = layer.forward(x)
        dy = np.ones(y.shape[::-1]).T                                  # Fortran order
        dx, _ = layer.backward(dy)
        ref = factory(np.float64)
        # NumPy's sums follow the memory layout: equal up to rounding
        np.testing.assert_allclose(y, ref.forward(np.ascontiguousarray(x)), rtol=1e-13)
        np.testing.assert_allclose(dx, ref.backward(np.ascontiguousarray(dy))[0], rtol=1e-13)


# ---- PyTorch -----------------------------------------------------------------------------
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("ties", [False, True], ids=["distinct", "ties"])
@pytest.mark.parametrize("case", GRID, ids=GRID_IDS)
def test_matches_pytorch_pooling_with_autograd(case, ties, backend):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    pool, stride = _geometry(case)
    rng = np.random.default_rng(2)
    # integer values in {0, 1, 2} create ties, whose gradient torch routes to the first maximum
    x = rng.integers(0, 3, size=case[:4]).astype(np.float64) if ties else _input(case)
    for cls, torch_pool in ((MaxPooling2D, F.max_pool2d), (AveragePooling2D, F.avg_pool2d)):
        layer = cls(pool, stride, dtype=np.float64)
        with retrograd.use_backend(backend):
            y = layer.forward(x)
            g = rng.normal(size=y.shape)
            dx, _ = layer.backward(g)
        tx = torch.tensor(x.transpose(0, 3, 1, 2).copy(), requires_grad=True)
        ty = torch_pool(tx, pool, stride)
        ty.backward(torch.tensor(g.transpose(0, 3, 1, 2).copy()))
        np.testing.assert_allclose(y, ty.detach().numpy().transpose(0, 2, 3, 1), rtol=1e-12)
        np.testing.assert_allclose(dx, tx.grad.numpy().transpose(0, 2, 3, 1), rtol=1e-12,
                                   atol=1e-15)


# ---- the layers --------------------------------------------------------------------------
def test_stride_defaults_to_pool_size_and_config():
    layer = MaxPooling2D((3, 2))
    assert layer.stride == (3, 2) and layer.params == [] and layer.grads == []
    assert layer.get_config() == {"pool_size": (3, 2), "stride": (3, 2), "dtype": "float32"}
    assert AveragePooling2D(2, 1).get_config()["stride"] == (1, 1)
    assert GlobalMaxPooling2D(keepdims=True).get_config() == {"keepdims": True,
                                                              "dtype": "float32"}
    assert MaxPooling2D(2).output_shape((5, 7, 3)) == (2, 3, 3)
    assert AveragePooling2D(3, 1).output_shape((5, 7, 3)) == (3, 5, 3)
    assert GlobalAveragePooling2D().output_shape((5, 7, 3)) == (3,)
    assert GlobalMaxPooling2D(keepdims=True).output_shape((5, 7, 3)) == (1, 1, 3)


@pytest.mark.parametrize("backend", BACKENDS)
def test_dtype_follows_the_layer(backend):
    x = np.random.default_rng(0).normal(size=(2, 4, 4, 3))
    with retrograd.use_backend(backend):
        for cls in (MaxPooling2D, AveragePooling2D, GlobalAveragePooling2D, GlobalMaxPooling2D):
            assert cls().forward(x).dtype == np.float32
            layer = cls(dtype=np.float64)
            y = layer.forward(x.astype(np.float32))
            assert y.dtype == np.float64
            assert layer.backward(np.ones(y.shape, np.float32))[0].dtype == np.float64


def test_docstring_examples(backend):
    failures, tried = doctest.testmod(pooling_module, extraglobs={"np": np})[:2]
    assert tried > 0 and failures == 0


# ---- bad input ---------------------------------------------------------------------------
BAD_CONSTRUCTORS = [
    (MaxPooling2D, dict(pool_size=0), ValueError,
     r"MaxPooling2D: expected pool_size positive .*, got 0"),
    (AveragePooling2D, dict(pool_size=(2, 0)), ValueError,
     r"AveragePooling2D: expected pool_size positive .*, got \(2, 0\)"),
    (MaxPooling2D, dict(stride=-1), ValueError, r"expected stride positive .*, got -1"),
    (MaxPooling2D, dict(pool_size=2.0), ValueError,
     r"expected pool_size an int or a pair of ints, got 2.0"),
    (AveragePooling2D, dict(stride="2"), TypeError,
     r"expected stride an int or a pair of ints, got '2'"),
    (GlobalAveragePooling2D, dict(keepdims=1), TypeError,
     r"GlobalAveragePooling2D: expected keepdims True or False, got 1"),
    (GlobalMaxPooling2D, dict(dtype="int8"), TypeError, "expected dtype float32 or float64"),
]


@pytest.mark.parametrize("cls, kwargs, error, message", BAD_CONSTRUCTORS,
                         ids=[f"{c.__name__}{k}" for c, k, _, _ in BAD_CONSTRUCTORS])
def test_bad_constructor_arguments(cls, kwargs, error, message):
    with pytest.raises(error, match=message):
        cls(**kwargs)


BAD_INPUTS = [
    (MaxPooling2D(3), np.ones((1, 2, 5, 1)), ValueError,
     r"MaxPooling2D: expected an input at least as large as pool_size \(3, 3\) in height and "
     r"width \(N, H, W, C\), got \(1, 2, 5, 1\)"),
    (AveragePooling2D((1, 4)), np.ones((1, 5, 3, 1)), ValueError,
     r"AveragePooling2D: expected an input at least as large as pool_size \(1, 4\)"),
    (MaxPooling2D(), np.ones((4, 4, 2)), ValueError,
     r"MaxPooling2D: expected input of shape \(N, H, W, C\), got \(4, 4, 2\)"),
    (AveragePooling2D(), np.ones((0, 4, 4, 2)), ValueError,
     r"expected a non-empty batch of shape \(N, H, W, C\), got \(0, 4, 4, 2\)"),
    (GlobalAveragePooling2D(), np.ones((2, 4)), ValueError,
     r"GlobalAveragePooling2D: expected input of shape \(N, H, W, C\), got \(2, 4\)"),
    (GlobalMaxPooling2D(), np.ones((0, 1, 1, 1)), ValueError, r"expected a non-empty batch"),
    (MaxPooling2D(), np.ones((1, 4, 4, 1), dtype=np.int32), TypeError,
     r"MaxPooling2D: expected a floating-point input, got dtype\('int32'\)"),
    (GlobalMaxPooling2D(), np.ones((1, 4, 4, 1), dtype=bool), TypeError,
     "expected a floating-point input"),
]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("layer, x, error, message", BAD_INPUTS,
                         ids=[f"{lay.name}{x.shape}{x.dtype}" for lay, x, _, _ in BAD_INPUTS])
def test_bad_inputs_name_the_layer(layer, x, error, message, backend):
    with pytest.raises(error, match=message):
        layer.forward(x)


@pytest.mark.parametrize("layer, good, bad, message", [
    (MaxPooling2D(2), (1, 2, 2, 1), (1, 2, 1, 1), r"\(1, 1, 1, 1\), got \(1, 2, 1, 1\)"),
    (AveragePooling2D(2), (1, 2, 2, 1), (1, 1, 1, 2), r"\(1, 1, 1, 1\), got \(1, 1, 1, 2\)"),
    (GlobalMaxPooling2D(), (2, 3, 3, 4), (2, 1, 1, 4), r"\(2, 4\), got \(2, 1, 1, 4\)"),
    (GlobalAveragePooling2D(keepdims=True), (2, 3, 3, 4), (2, 4),
     r"\(2, 1, 1, 4\), got \(2, 4\)"),
])
def test_gradient_of_the_wrong_shape_is_refused(layer, good, bad, message):
    with retrograd.use_backend("numpy"):
        layer.forward(np.ones(good))
    with pytest.raises(ValueError, match=f"{layer.owner}: expected grad_output of shape {message}"):
        layer.backward(np.ones(bad))
    with pytest.raises(RuntimeError, match="backward called before forward"):
        type(layer)().backward(np.ones(bad))
