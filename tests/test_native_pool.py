"""Low-level tests of the native pooling and dropout kernels (csrc/pool.c, csrc/dropout.c).

Each kernel is checked against an independent NumPy formula written here window by
window (max pooling bit for bit, indices and ties included), against the NumPy
reference kernels, and against PyTorch where it is installed; on random shapes and
on the edge sizes (1x1 images, pool = input, stride > pool, overlapping windows,
batch 1, channel 1); for NaN inputs, independence from the thread count and the
SIMD path, read-only and non-contiguous inputs, and for the checks of the Cython
wrappers (sizes, corrupted indices).
"""
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import retrograd
from conftest import MULTI_THREAD_ELEMENTS
from retrograd.backend import numpy_ops

pytestmark = pytest.mark.skipif(not retrograd.native_available(),
                                reason="native kernels not built")
if retrograd.native_available():
    from retrograd.backend import native_ops
    from retrograd._native import _dropout, _pool

DTYPES = [np.float32, np.float64]
TOL = {np.float32: dict(rtol=1e-6, atol=1e-6), np.float64: dict(rtol=1e-14, atol=1e-14)}


# ---- independent formulas: one window at a time --------------------------------------------
def out_size(size, window, step):
    return (size - window) // step + 1


def ref_maxpool(x, pool, stride):
    """y and indices from np.argmax over each flattened window (first maximum, first NaN)."""
    (ph, pw), (sh, sw) = pool, stride
    n, h, w, c = x.shape
    oh, ow = out_size(h, ph, sh), out_size(w, pw, sw)
    y = np.empty((n, oh, ow, c), x.dtype)
    idx = np.empty((n, oh, ow, c), np.int32)
    for i in range(oh):
        for j in range(ow):
            win = x[:, i * sh:i * sh + ph, j * sw:j * sw + pw, :].reshape(n, ph * pw, c)
            k = np.argmax(win, axis=1)
            idx[:, i, j] = k
            y[:, i, j] = np.take_along_axis(win, k[:, None, :], axis=1)[:, 0]
    return y, idx


def ref_maxpool_backward(dy, idx, shape, pool, stride):
    (ph, pw), (sh, sw) = pool, stride
    dx = np.zeros(shape, dy.dtype)
    for i in range(dy.shape[1]):
        for j in range(dy.shape[2]):
            for k in range(ph * pw):
                p, q = divmod(k, pw)
                dx[:, i * sh + p, j * sw + q] += np.where(idx[:, i, j] == k, dy[:, i, j], 0)
    return dx


def ref_avgpool(x, pool, stride):
    (ph, pw), (sh, sw) = pool, stride
    n, h, w, c = x.shape
    y = np.empty((n, out_size(h, ph, sh), out_size(w, pw, sw), c), x.dtype)
    for i in range(y.shape[1]):
        for j in range(y.shape[2]):
            y[:, i, j] = x[:, i * sh:i * sh + ph, j * sw:j * sw + pw].sum(axis=(1, 2)) / (ph * pw)
    return y


def ref_avgpool_backward(dy, shape, pool, stride):
    (ph, pw), (sh, sw) = pool, stride
    dx = np.zeros(shape, dy.dtype)
    for i in range(dy.shape[1]):
        for j in range(dy.shape[2]):
            dx[:, i * sh:i * sh + ph, j * sw:j * sw + pw] += dy[:, i, j, None, None] / (ph * pw)
    return dx


def overlapping(pool, stride):
    return stride[0] < pool[0] or stride[1] < pool[1]


def check_all_kernels(x, pool, stride, rng):
    """Every windowed kernel of native_ops against the formulas above."""
    dtype = x.dtype.type
    y, idx = native_ops.maxpool2d_forward(x, pool, stride)
    ry, ridx = ref_maxpool(x, pool, stride)
    np.testing.assert_array_equal(y, ry)
    np.testing.assert_array_equal(idx, ridx)
    assert y.dtype == x.dtype and idx.dtype == np.int32
    dy = rng.standard_normal(y.shape).astype(dtype)
    dx = native_ops.maxpool2d_backward(dy, idx, x.shape, pool, stride)
    want = ref_maxpool_backward(dy, ridx, x.shape, pool, stride)
    if overlapping(pool, stride):
        np.testing.assert_allclose(dx, want, **TOL[dtype])
    else:   # one window per element: dy itself or 0
        np.testing.assert_array_equal(dx, want)
    np.testing.assert_allclose(native_ops.avgpool2d_forward(x, pool, stride),
                               ref_avgpool(x, pool, stride), **TOL[dtype])
    np.testing.assert_allclose(native_ops.avgpool2d_backward(dy, x.shape, pool, stride),
                               ref_avgpool_backward(dy, x.shape, pool, stride), **TOL[dtype])


@st.composite
def pool_cases(draw):
    ph, pw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    h, w = draw(st.integers(ph, 10)), draw(st.integers(pw, 10))
    n = draw(st.integers(1, 3))
    c = draw(st.sampled_from([1, 2, 3, 8, 17]))
    stride = (draw(st.integers(1, 5)), draw(st.integers(1, 5)))
    ties = draw(st.booleans())
    return (n, h, w, c), (ph, pw), stride, ties


@settings(max_examples=60, deadline=None)
@given(case=pool_cases(), dtype=st.sampled_from(DTYPES), seed=st.integers(0, 2**32 - 1))
def test_windowed_kernels_match_the_formulas(case, dtype, seed):
    shape, pool, stride, ties = case
    rng = np.random.default_rng(seed)
    # small integers make many ties: the first maximum in row-major window order must win
    x = (rng.integers(-2, 3, shape) if ties else rng.standard_normal(shape)).astype(dtype)
    check_all_kernels(x, pool, stride, rng)


@st.composite
def narrow_cases(draw):
    """Fewer channels than a vector's lanes and windows that tile each row (sw == pw): the
    *_narrow max-pooling kernels of csrc/pool_impl.h (LeNet's 6 channels)."""
    ph, pw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    h, w = draw(st.integers(ph, 12)), draw(st.integers(pw, 40))
    stride = (draw(st.integers(1, 4)), pw)
    return (draw(st.integers(1, 3)), h, w, draw(st.integers(1, 7))), (ph, pw), stride, \
        draw(st.booleans())


@pytest.mark.usefixtures("restore_num_threads")
@settings(max_examples=40, deadline=None)
@given(case=narrow_cases(), dtype=st.sampled_from(DTYPES), seed=st.integers(0, 2**32 - 1),
       n_threads=st.integers(1, 3))
def test_narrow_images_match_the_formulas(case, dtype, seed, n_threads):
    retrograd.set_num_threads(n_threads)
    test_windowed_kernels_match_the_formulas.hypothesis.inner_test(case, dtype, seed)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape, pool, stride", [
    ((1, 1, 1, 1), (1, 1), (1, 1)),        # 1x1 image
    ((2, 1, 1, 5), (1, 1), (3, 3)),        # 1x1 image, stride > image
    ((3, 5, 7, 4), (5, 7), (1, 1)),        # pool = input: one window
    ((2, 9, 9, 3), (2, 2), (3, 4)),        # stride > pool: gaps between windows
    ((2, 8, 8, 6), (3, 3), (1, 1)),        # overlapping windows
    ((1, 7, 6, 2), (3, 2), (2, 1)),        # overlapping along both axes, odd remainders
    ((2, 6, 9, 3), (2, 3), (3, 2)),        # rows apart, columns overlapping
    ((1, 6, 6, 1), (2, 2), (2, 2)),        # batch 1, channel 1, exact tiling
    ((4, 5, 5, 33), (2, 2), (2, 2)),       # a remainder row and column left out
])
def test_edge_shapes(shape, pool, stride, dtype):
    rng = np.random.default_rng(0)
    check_all_kernels(rng.standard_normal(shape).astype(dtype), pool, stride, rng)


@pytest.mark.parametrize("dtype", DTYPES)
def test_all_ties_pick_the_first_position(dtype):
    x = np.ones((2, 6, 6, 3), dtype)
    y, idx = native_ops.maxpool2d_forward(x, (3, 2), (1, 2))
    assert np.all(idx == 0) and np.all(y == 1)
    x[:, :, :, 1] = -0.0   # -0 == +0: still a tie
    x[:, ::2, :, 1] = 0.0
    _, idx = native_ops.maxpool2d_forward(x, (3, 2), (1, 2))
    assert np.all(idx == 0)
    _, gidx = native_ops.global_maxpool_forward(x)
    assert np.all(gidx == 0)


@pytest.mark.parametrize("dtype", DTYPES)
def test_native_equals_the_numpy_reference(dtype):
    rng = np.random.default_rng(1)
    x = rng.integers(-3, 4, (3, 11, 10, 7)).astype(dtype)
    for pool, stride in [((2, 2), (2, 2)), ((3, 3), (1, 1)), ((2, 3), (3, 2))]:
        for a, b in zip(native_ops.maxpool2d_forward(x, pool, stride),
                        numpy_ops.maxpool2d_forward(x, pool, stride)):
            np.testing.assert_array_equal(a, b)
        y, idx = numpy_ops.maxpool2d_forward(x, pool, stride)
        dy = rng.standard_normal(y.shape).astype(dtype)
        for name, args in [("maxpool2d_backward", (dy, idx, x.shape, pool, stride)),
                           ("avgpool2d_forward", (x, pool, stride)),
                           ("avgpool2d_backward", (dy, x.shape, pool, stride))]:
            np.testing.assert_allclose(getattr(native_ops, name)(*args),
                                       getattr(numpy_ops, name)(*args), **TOL[dtype])
    g = rng.standard_normal((3, 7)).astype(dtype)
    for a, b in zip(native_ops.global_maxpool_forward(x), numpy_ops.global_maxpool_forward(x)):
        np.testing.assert_array_equal(a, b)
    _, gidx = numpy_ops.global_maxpool_forward(x)
    np.testing.assert_array_equal(native_ops.global_maxpool_backward(g, gidx, x.shape),
                                  numpy_ops.global_maxpool_backward(g, gidx, x.shape))
    np.testing.assert_allclose(native_ops.global_avgpool_forward(x),
                               numpy_ops.global_avgpool_forward(x), **TOL[dtype])
    np.testing.assert_allclose(native_ops.global_avgpool_backward(g, x.shape),
                               numpy_ops.global_avgpool_backward(g, x.shape), **TOL[dtype])


# ---- global pooling ----------------------------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(1, 1, 1, 1), (2, 3, 5, 4), (3, 7, 1, 17), (1, 16, 16, 64)])
def test_global_pooling_matches_the_formulas(shape, dtype):
    rng = np.random.default_rng(2)
    x = rng.integers(-3, 4, shape).astype(dtype)
    n, h, w, c = shape
    flat = x.reshape(n, h * w, c)
    y, idx = native_ops.global_maxpool_forward(x)
    np.testing.assert_array_equal(idx, np.argmax(flat, axis=1))
    np.testing.assert_array_equal(y, flat.max(axis=1))
    dy = rng.standard_normal((n, c)).astype(dtype)
    want = np.zeros_like(flat)
    for b in range(n):
        want[b, idx[b], np.arange(c)] = dy[b]
    np.testing.assert_array_equal(native_ops.global_maxpool_backward(dy, idx, shape),
                                  want.reshape(shape))
    np.testing.assert_allclose(native_ops.global_avgpool_forward(x),
                               flat.astype(np.float64).mean(axis=1), **TOL[dtype])
    np.testing.assert_allclose(native_ops.global_avgpool_backward(dy, shape),
                               np.broadcast_to((dy / (h * w))[:, None, None, :], shape),
                               **TOL[dtype])


# ---- NaN inputs, thread counts, SIMD paths, memory layouts -------------------------------
@pytest.mark.parametrize("dtype", DTYPES)
def test_nan_is_taken_as_the_maximum_like_numpy_argmax(dtype):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 6, 6, 5)).astype(dtype)
    x[0, 1, 1, 0] = x[0, 0, 1, 0] = np.nan     # two NaNs in one window: the first wins
    x[1, 3, 2, 4] = np.nan
    x[1, 4, 4, 2] = np.inf
    y, idx = native_ops.maxpool2d_forward(x, (2, 2), (2, 2))
    ry, ridx = ref_maxpool(x, (2, 2), (2, 2))
    np.testing.assert_array_equal(y, ry)        # NaNs in the same places
    np.testing.assert_array_equal(idx, ridx)
    assert idx[0, 0, 0, 0] == 1 and np.isnan(y[0, 0, 0, 0])
    gy, gidx = native_ops.global_maxpool_forward(x)
    np.testing.assert_array_equal(gidx, np.argmax(x.reshape(2, 36, 5), axis=1))
    assert np.isnan(gy[0, 0]) and np.isnan(gy[1, 4]) and gy[1, 2] == np.inf
    for out in (native_ops.avgpool2d_forward(x, (3, 3), (1, 1)),
                native_ops.maxpool2d_backward(np.full(y.shape, np.nan, dtype), idx, x.shape,
                                              (2, 2), (2, 2)),
                native_ops.global_avgpool_forward(x)):
        assert out.shape and np.isnan(out).any()


def run_every_kernel(x, seed=4):
    """The outputs of every pooling and dropout kernel on x (a list of arrays)."""
    rng = np.random.default_rng(seed)
    outs = []
    for pool, stride in [((2, 2), (2, 2)), ((3, 3), (1, 1)), ((2, 2), (3, 3))]:
        y, idx = native_ops.maxpool2d_forward(x, pool, stride)
        dy = rng.standard_normal(y.shape).astype(x.dtype)
        outs += [y, idx, native_ops.maxpool2d_backward(dy, idx, x.shape, pool, stride),
                 native_ops.avgpool2d_forward(x, pool, stride),
                 native_ops.avgpool2d_backward(dy, x.shape, pool, stride)]
    gy, gidx = native_ops.global_maxpool_forward(x)
    g = rng.standard_normal(gy.shape).astype(x.dtype)
    mask = rng.random(x.shape) < 0.7
    outs += [gy, gidx, native_ops.global_maxpool_backward(g, gidx, x.shape),
             native_ops.global_avgpool_forward(x), native_ops.global_avgpool_backward(g, x.shape),
             native_ops.dropout_forward(x, mask, 1 / 0.7), native_ops.dropout_backward(x, mask, 3.0)]
    return outs


@pytest.mark.parametrize("dtype", DTYPES)
def test_results_do_not_depend_on_the_thread_count(dtype, restore_num_threads):
    # four times the multi-thread size, so the kernels split the work between threads
    x = np.random.default_rng(5).standard_normal(
        (4 * MULTI_THREAD_ELEMENTS // (33 * 31 * 40), 33, 31, 40)).astype(dtype)
    results = []
    for n_threads in (1, 2, 4):
        retrograd.set_num_threads(n_threads)
        results.append(run_every_kernel(x))
    for other in results[1:]:
        for a, b in zip(results[0], other):
            np.testing.assert_array_equal(a, b)


def test_every_simd_path_gives_the_same_bits(tmp_path):
    """The baseline (SSE2) build of the loops against the best one this CPU runs."""
    x = np.random.default_rng(6).standard_normal((3, 12, 11, 19)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    script = ("import sys, numpy as np\n"
              "sys.path.insert(0, sys.argv[2])\n"
              "from test_native_pool import run_every_kernel\n"
              "x = np.load(sys.argv[1] + '/x.npy')\n"
              "np.savez(sys.argv[1] + '/out.npz', *[a for a in run_every_kernel(x)])\n")
    env = dict(os.environ, RETROGRAD_SIMD="baseline")
    done = subprocess.run([sys.executable, "-c", script, str(tmp_path),
                           str(Path(__file__).parent)], env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    with np.load(tmp_path / "out.npz") as baseline:
        for i, ours in enumerate(run_every_kernel(x)):
            np.testing.assert_array_equal(baseline[f"arr_{i}"], ours)


@pytest.mark.parametrize("dtype", DTYPES)
def test_read_only_and_non_contiguous_inputs(dtype):
    rng = np.random.default_rng(7)
    big = rng.standard_normal((3, 14, 12, 10)).astype(dtype)
    x = big[:, ::2, 1:, ::2]              # strided view, not contiguous
    x.flags.writeable = False
    assert not x.flags.c_contiguous
    xc = np.ascontiguousarray(x)
    y, idx = native_ops.maxpool2d_forward(x, (2, 2), (2, 2))
    np.testing.assert_array_equal(y, ref_maxpool(xc, (2, 2), (2, 2))[0])
    dy = np.asfortranarray(rng.standard_normal(y.shape).astype(dtype))
    dy.flags.writeable = False
    idx.flags.writeable = False
    np.testing.assert_array_equal(native_ops.maxpool2d_backward(dy, idx, x.shape, (2, 2), (2, 2)),
                                  ref_maxpool_backward(dy, idx, x.shape, (2, 2), (2, 2)))
    np.testing.assert_allclose(native_ops.avgpool2d_forward(x, (3, 2), (1, 2)),
                               ref_avgpool(xc, (3, 2), (1, 2)), **TOL[dtype])
    np.testing.assert_allclose(native_ops.avgpool2d_backward(dy, x.shape, (2, 2), (2, 2)),
                               ref_avgpool_backward(dy, x.shape, (2, 2), (2, 2)), **TOL[dtype])
    gy, gidx = native_ops.global_maxpool_forward(x)
    np.testing.assert_array_equal(gy, xc.max(axis=(1, 2)))
    g = rng.standard_normal((12, 5)).astype(dtype)[::4]
    np.testing.assert_allclose(native_ops.global_avgpool_backward(g, x.shape),
                               np.broadcast_to(g[:, None, None, :] / 77, x.shape), **TOL[dtype])
    mask = (rng.random((3, 7, 11, 10)) < 0.5)[:, :, :, ::2]
    np.testing.assert_array_equal(native_ops.dropout_forward(x, mask, 2.0),
                                  xc * mask * dtype(2.0))


def test_inputs_are_not_modified():
    rng = np.random.default_rng(8)
    x = rng.standard_normal((2, 6, 6, 3)).astype(np.float32)
    keep = x.copy()
    y, idx = native_ops.maxpool2d_forward(x, (3, 3), (1, 1))
    dy, idx_keep = np.ones_like(y), idx.copy()
    native_ops.maxpool2d_backward(dy, idx, x.shape, (3, 3), (1, 1))
    native_ops.avgpool2d_forward(x, (2, 2), (1, 1))
    native_ops.global_maxpool_forward(x)
    np.testing.assert_array_equal(x, keep)
    np.testing.assert_array_equal(idx, idx_keep)
    assert np.all(dy == 1)


# ---- dropout -------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("mask_dtype", [np.bool_, np.uint8])
def test_dropout_is_the_fused_product(dtype, mask_dtype):
    rng = np.random.default_rng(9)
    x = rng.standard_normal((5, 7, 3, 129)).astype(dtype)
    x.flat[:4] = [np.inf, -np.inf, np.nan, -0.0]
    mask = (rng.random(x.shape) < 0.6).astype(mask_dtype)
    mask.flat[:4] = 0
    scale = 1 / 0.6
    with np.errstate(invalid="ignore"):     # a dropped inf gives NaN, in both backends
        want = x * mask * dtype(scale)
        np.testing.assert_array_equal(numpy_ops.dropout_forward(x, mask, scale), want)
    np.testing.assert_array_equal(native_ops.dropout_forward(x, mask, scale), want)
    np.testing.assert_array_equal(native_ops.dropout_backward(x, mask, scale), want)
    assert native_ops.dropout_forward(x, mask, scale).dtype == dtype


def test_dropout_refuses_a_wrong_mask():
    x = np.ones((4, 3), np.float32)
    with pytest.raises(ValueError, match="Dropout: expected a mask of shape"):
        native_ops.dropout_forward(x, np.ones((4, 1), bool), 2.0)
    with pytest.raises(TypeError, match="Dropout: expected a bool or uint8 mask"):
        native_ops.dropout_backward(x, np.ones((4, 3), np.float32), 2.0)
    with pytest.raises(ValueError, match=r"Dropout: expected mask of shape \(12,\), got \(11,\)"):
        _dropout.apply(x.reshape(-1), np.ones(11, np.uint8), np.empty(12, np.float32), 2.0, 1)
    assert native_ops.dropout_forward(np.ones((0, 3), np.float32),
                                      np.ones((0, 3), bool), 2.0).shape == (0, 3)


# ---- the wrappers' checks --------------------------------------------------------------------
@pytest.mark.parametrize("bad, global_bad", [(-1, -1), (4, 16), (2**31 - 1, 2**31 - 1),
                                             (-2**31, -2**31)])
def test_corrupted_indices_raise_instead_of_writing_out_of_bounds(bad, global_bad):
    x = np.random.default_rng(10).standard_normal((2, 4, 4, 3)).astype(np.float32)
    for pool, stride in [((2, 2), (2, 2)), ((2, 2), (1, 1))]:
        y, idx = native_ops.maxpool2d_forward(x, pool, stride)
        idx[1, 0, 1, 2] = bad
        with pytest.raises(ValueError, match=r"MaxPooling2D: expected indices in \[0, 4\)"):
            native_ops.maxpool2d_backward(np.ones_like(y), idx, x.shape, pool, stride)
    gy, gidx = native_ops.global_maxpool_forward(x)
    gidx[0, 1] = global_bad
    with pytest.raises(ValueError, match=r"GlobalMaxPooling2D: expected indices in \[0, 16\)"):
        native_ops.global_maxpool_backward(np.ones_like(gy), gidx, x.shape)


@pytest.mark.parametrize("call, match", [
    (lambda: native_ops.maxpool2d_forward(np.ones((2, 3, 3, 1), np.float32), (4, 2), (1, 1)),
     r"MaxPooling2D: expected a pool window within the image \(3, 3\), got \(4, 2\)"),
    (lambda: native_ops.avgpool2d_forward(np.ones((2, 3, 3, 1), np.float32), (2, 2), (0, 1)),
     r"AveragePooling2D: expected stride as two ints >= 1, got \(0, 1\)"),
    (lambda: native_ops.maxpool2d_forward(np.ones((3, 3, 1), np.float32), (2, 2), (1, 1)),
     r"MaxPooling2D: expected an image batch \(N, H, W, C\), got shape \(3, 3, 1\)"),
    (lambda: native_ops.maxpool2d_backward(np.ones((2, 2, 2, 1), np.float32),
                                           np.zeros((2, 2, 2, 1), np.int32), (2, 6, 6, 1),
                                           (2, 2), (2, 2)),
     r"MaxPooling2D: expected dy of shape \(2, 3, 3, 1\), got \(2, 2, 2, 1\)"),
    (lambda: native_ops.maxpool2d_backward(np.ones((2, 2, 2, 1), np.float32),
                                           np.zeros((2, 2, 2, 2), np.int32), (2, 4, 4, 1),
                                           (2, 2), (2, 2)),
     r"MaxPooling2D: expected indices of shape \(2, 2, 2, 1\), got \(2, 2, 2, 2\)"),
    (lambda: native_ops.avgpool2d_backward(np.ones((2, 3, 2, 1), np.float32), (2, 4, 4, 1),
                                           (2, 2), (2, 2)),
     r"AveragePooling2D: expected dy of shape \(2, 2, 2, 1\), got \(2, 3, 2, 1\)"),
    (lambda: native_ops.global_avgpool_backward(np.ones((2, 3), np.float32), (2, 4, 4, 1)),
     r"GlobalAveragePooling2D: expected dy of shape \(2, 1\), got \(2, 3\)"),
    (lambda: native_ops.global_maxpool_backward(np.ones((2, 1), np.float32),
                                                np.zeros((1, 1), np.int32), (2, 4, 4, 1)),
     r"GlobalMaxPooling2D: expected indices of shape \(2, 1\), got \(1, 1\)"),
    (lambda: native_ops.avgpool2d_backward(np.ones((1, 1, 1, 1), np.float32), (1, 2, 2),
                                           (2, 2), (2, 2)),
     r"AveragePooling2D: expected input_shape \(N, H, W, C\), got \(1, 2, 2\)"),
])
def test_bad_sizes_are_refused(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_windows_must_fit_int32_indices():
    # the geometry is computed once, in native_ops, from the image's shape alone
    geometry = native_ops._pool_geometry
    with pytest.raises(ValueError, match="MaxPooling2D: expected fewer than 2..31 window"):
        geometry("MaxPooling2D", (1, 2**16, 2**16, 1), (2**16, 2**16), (1, 1))
    assert geometry("k", (1, 2**16, 2**16, 1), (2**15, 2**15), (2**15, 2**15)) == (
        (2**15, 2**15, 2**15, 2**15), (2, 2))


def test_wrappers_check_the_output_arrays():
    # the wrappers take (OH, OW) from the output's shape and check that its windows fit
    x = np.ones((2, 4, 4, 3), np.float32)
    idx = np.empty((2, 2, 2, 3), np.int32)
    with pytest.raises(ValueError, match=r"MaxPooling2D: expected y of shape \(2, 2, 2, 3\), "
                                         r"got \(2, 2, 2, 2\)"):
        _pool.max2d_forward(x, np.empty((2, 2, 2, 2), np.float32), idx, 2, 2, 2, 2, 1)
    with pytest.raises(ValueError, match=r"MaxPooling2D: expected indices of shape "
                                         r"\(2, 2, 1, 3\), got \(2, 2, 2, 3\)"):
        _pool.max2d_forward(x, np.empty((2, 2, 1, 3), np.float32), idx, 2, 2, 2, 2, 1)
    with pytest.raises(ValueError, match=r"AveragePooling2D: expected \(oh - 1\) \* sh \+ ph <= h, "
                                         r"got oh=3, sh=2, ph=2, h=4"):
        _pool.avg2d_forward(x, np.empty((2, 3, 2, 3), np.float32), 2, 2, 2, 2, 1)
    with pytest.raises(ValueError, match=r"AveragePooling2D: expected dx of shape "
                                         r"\(2, 4, 4, 1\), got \(2, 4, 4, 3\)"):
        _pool.avg2d_backward(np.ones((2, 2, 2, 1), np.float32), x, 2, 2, 2, 2, 1)
    with pytest.raises(ValueError, match=r"AveragePooling2D: expected ph >= 1, got ph=0"):
        _pool.avg2d_forward(x, np.empty((2, 2, 2, 3), np.float32), 0, 2, 2, 2, 1)
    with pytest.raises(ValueError, match=r"GlobalMaxPooling2D: expected y of shape \(2, 3\)"):
        _pool.global_max_forward(x.reshape(2, 16, 3), np.empty((2, 2), np.float32),
                                 np.empty((2, 3), np.int32), 1)
    with pytest.raises(ValueError, match="Buffer dtype mismatch"):   # float64 into float32
        _pool.avg2d_forward(x, np.empty((2, 2, 2, 3)), 2, 2, 2, 2, 1)


def test_empty_batches_give_empty_outputs():
    x = np.ones((0, 4, 4, 3), np.float32)
    y, idx = native_ops.maxpool2d_forward(x, (2, 2), (2, 2))
    assert y.shape == idx.shape == (0, 2, 2, 3)
    assert native_ops.maxpool2d_backward(y, idx, x.shape, (2, 2), (2, 2)).shape == x.shape
    assert native_ops.global_avgpool_forward(x).shape == (0, 3)


# ---- PyTorch, where installed --------------------------------------------------------------
@pytest.mark.parametrize("pool, stride", [((2, 2), (2, 2)), ((3, 3), (1, 1)), ((2, 3), (3, 2))])
def test_max_and_average_pooling_match_pytorch(pool, stride):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(11)
    x = rng.standard_normal((3, 9, 10, 5))
    y, idx = native_ops.maxpool2d_forward(x, pool, stride)
    dy = rng.standard_normal(y.shape)
    xt = torch.from_numpy(x.transpose(0, 3, 1, 2).copy()).requires_grad_()
    yt, it = torch.nn.functional.max_pool2d(xt, pool, stride, return_indices=True)
    yt.backward(torch.from_numpy(dy.transpose(0, 3, 1, 2).copy()))
    np.testing.assert_array_equal(y, yt.detach().numpy().transpose(0, 2, 3, 1))
    # torch's indices are h*W + w in the image; ours p*pw + q in the window
    p, q = np.divmod(idx, pool[1])
    rows = np.arange(y.shape[1])[None, :, None, None] * stride[0] + p
    cols = np.arange(y.shape[2])[None, None, :, None] * stride[1] + q
    np.testing.assert_array_equal(rows * x.shape[2] + cols, it.numpy().transpose(0, 2, 3, 1))
    np.testing.assert_allclose(native_ops.maxpool2d_backward(dy, idx, x.shape, pool, stride),
                               xt.grad.numpy().transpose(0, 2, 3, 1), rtol=1e-13, atol=1e-13)
    xt.grad = None
    at = torch.nn.functional.avg_pool2d(xt, pool, stride)
    at.backward(torch.from_numpy(dy.transpose(0, 3, 1, 2).copy()))
    np.testing.assert_allclose(native_ops.avgpool2d_forward(x, pool, stride),
                               at.detach().numpy().transpose(0, 2, 3, 1), rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(native_ops.avgpool2d_backward(dy, x.shape, pool, stride),
                               xt.grad.numpy().transpose(0, 2, 3, 1), rtol=1e-13, atol=1e-13)


def test_benchmark_quick_smoke_run():
    script = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_pool.py"
    done = subprocess.run([sys.executable, str(script), "--quick", "--threads", "1"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "maxpool" in done.stdout and "avgpool" in done.stdout
