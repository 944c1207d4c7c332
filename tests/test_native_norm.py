"""Low-level tests of the native normalisation kernels (csrc/norm.c): BatchNormalization's
training and evaluation forward and backward, LayerNormalization's forward and backward.

Each kernel is checked against the NumPy reference kernels on hypothesis-drawn (rows, C)
shapes (one row, one channel, channel counts off the vector widths and past the kernels'
256-channel tiles, row counts off their 16-row blocks, now and then enough elements for
several threads), in float32 and float64; against float64 / long double formulas where
|mean| >> std (values 1e4 + N(0, 1)), where the naive E[x^2] - E[x]^2 loses every digit;
for bit-identical results on 1 to 4 threads; for non-contiguous and read-only inputs; and
for the checks of the Cython wrappers and of native_ops.

Comparisons: a result that is a sum (or cancels like one) is compared with
atol + rtol * (the same expression over |terms|), as in test_fuzz_kernels.py.
"""
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import retrograd
from conftest import MULTI_THREAD_ELEMENTS, TOLERANCES, num_threads
from retrograd.backend import numpy_ops

pytestmark = pytest.mark.skipif(not retrograd.native_available(),
                                reason="native kernels not built")
if retrograd.native_available():
    from retrograd.backend import native_ops
    from retrograd._native import _norm, _runtime

DTYPES = [np.float32, np.float64]
EPS = 1e-5


def f64(a):
    return np.asarray(a, dtype=np.float64)


def assert_within(got, want, dtype, scale, what):
    """|got - want| <= atol + rtol * scale elementwise (TOLERANCES[dtype]); same shape and
    dtype."""
    got, want = np.asarray(got), np.asarray(want)
    assert got.shape == want.shape, f"{what}: shape {got.shape}, expected {want.shape}"
    assert got.dtype == want.dtype == dtype, f"{what}: dtype {got.dtype}, expected {want.dtype}"
    tol = TOLERANCES[np.dtype(dtype)]
    err = np.abs(f64(got) - f64(want))
    bound = tol["atol"] + tol["rtol"] * np.broadcast_to(f64(scale), err.shape)
    bad = ~(err <= bound)
    if bad.any():
        i = np.unravel_index(np.argmax(bad), bad.shape)
        raise AssertionError(f"{what}: {np.count_nonzero(bad)} of {bad.size} beyond the bound; "
                             f"first at {i}: got {got[i]!r}, want {want[i]!r}, "
                             f"bound {bound[i]!r}")


def make_case(seed, shape, dtype, offset=0.0, spread=1.0):
    """x, dy, gamma, beta and a pair of moving statistics of (rows, C)."""
    rng = np.random.default_rng(seed)
    c = shape[1]
    x = (offset + spread * rng.standard_normal(shape)).astype(dtype)
    dy = rng.standard_normal(shape).astype(dtype)
    gamma = rng.uniform(0.5, 2.0, c).astype(dtype) * rng.choice([-1, 1], c).astype(dtype)
    beta = rng.standard_normal(c).astype(dtype)
    moving_mean = (offset + rng.standard_normal(c)).astype(dtype)
    moving_var = rng.uniform(0.5, 2.0, c).astype(dtype)
    return x, dy, gamma, beta, moving_mean, moving_var


def inv_std_of(var, dtype):
    """The layer's inv_std from a variance (BatchNormalization.forward)."""
    return (1 / np.sqrt(f64(var) + EPS)).astype(dtype)


def bn_backward_scales(dy, x, mean, inv_std, gamma):
    """Sums over |terms| of dx, dgamma, dbeta of the training backward."""
    n = x.shape[0]
    k = f64(inv_std)
    x_hat = np.abs((f64(x) - f64(mean)) * k)
    sdy, sdyx = np.abs(f64(dy)).sum(0), (np.abs(f64(dy)) * x_hat).sum(0)
    dx = np.abs(f64(gamma) * k) * (np.abs(f64(dy)) + sdy / n + x_hat * sdyx / n)
    return dx, sdyx, sdy


def ln_backward_scales(dy, x, mean, inv_std, gamma):
    d = x.shape[1]
    k = f64(inv_std)[:, None]
    x_hat = np.abs((f64(x) - f64(mean)[:, None]) * k)
    g = np.abs(f64(dy) * f64(gamma))
    dx = k * (g + g.sum(1, keepdims=True) / d + x_hat * (g * x_hat).sum(1, keepdims=True) / d)
    return dx, (np.abs(f64(dy)) * x_hat).sum(0), np.abs(f64(dy)).sum(0)


# ---- against the NumPy reference on drawn shapes -------------------------------------------
channel_counts = st.one_of(st.integers(1, 19), st.sampled_from([31, 32, 33, 63, 64, 65, 255,
                                                                256, 257, 300, 513]))
row_counts = st.one_of(st.integers(1, 40), st.sampled_from([63, 64, 65, 255, 256, 257]))


@st.composite
def norm_shapes(draw):
    """(rows, C): small, or about one in eight of at least MULTI_THREAD_ELEMENTS elements."""
    c = draw(channel_counts)
    if draw(st.sampled_from((False,) * 7 + (True,))):
        return (-(-MULTI_THREAD_ELEMENTS // c) + draw(st.integers(0, 17)), c)
    return (draw(row_counts), c)


norm_cases = st.fixed_dictionaries(dict(
    shape=norm_shapes(), dtype=st.sampled_from(DTYPES), offset=st.sampled_from([0.0, 3.0, -50.0]),
    spread=st.sampled_from([1.0, 0.01, 20.0]), threads=st.integers(1, 4),
    seed=st.integers(0, 2**32 - 1)))


@settings(deadline=None)
@given(case=norm_cases)
def test_batch_norm_kernels_match_the_reference(case):
    with num_threads(case["threads"]):
        check_batch_norm_kernels(case)


def check_batch_norm_kernels(case):
    dtype = case["dtype"]
    x, dy, gamma, beta, mm, mv = make_case(case["seed"], case["shape"], dtype, case["offset"],
                                           case["spread"])
    y, mean, var = native_ops.batch_norm_forward_train(x, gamma, beta, EPS)
    y_ref, mean_ref, var_ref = numpy_ops.batch_norm_forward_train(x, gamma, beta, EPS)
    assert_within(y, y_ref, dtype, np.abs(f64(y_ref)) + np.abs(f64(beta)), "train forward y")
    assert_within(mean, mean_ref, dtype, np.abs(f64(mean_ref)) + np.sqrt(f64(var_ref)), "mean")
    assert_within(var, var_ref, dtype, f64(var_ref), "var")
    inv_std = inv_std_of(var_ref, dtype)
    scales = bn_backward_scales(dy, x, mean_ref, inv_std, gamma)
    got = native_ops.batch_norm_backward(dy, x, mean_ref, inv_std, gamma)
    want = numpy_ops.batch_norm_backward(dy, x, mean_ref, inv_std, gamma)
    for what, g, w, s in zip(("dx", "dgamma", "dbeta"), got, want, scales):
        assert_within(g, w, dtype, s, f"train backward {what}")
    assert_within(native_ops.batch_norm_forward_eval(x, gamma, beta, mm, mv, EPS),
                  numpy_ops.batch_norm_forward_eval(x, gamma, beta, mm, mv, EPS), dtype,
                  np.abs(f64(x) * f64(gamma) / np.sqrt(f64(mv))) + np.abs(f64(beta))
                  + np.abs(f64(mm) * f64(gamma) / np.sqrt(f64(mv))), "eval forward")
    inv_mv = inv_std_of(mv, dtype)
    got = native_ops.batch_norm_backward_eval(dy, x, mm, inv_mv, gamma)
    want = numpy_ops.batch_norm_backward_eval(dy, x, mm, inv_mv, gamma)
    np.testing.assert_array_equal(got[0], want[0])    # dy (gamma inv_std): the same products
    _, sdyx, sdy = bn_backward_scales(dy, x, mm, inv_mv, gamma)
    assert_within(got[1], want[1], dtype, sdyx, "eval backward dgamma")
    assert_within(got[2], want[2], dtype, sdy, "eval backward dbeta")


@settings(deadline=None)
@given(case=norm_cases)
def test_layer_norm_kernels_match_the_reference(case):
    with num_threads(case["threads"]):
        check_layer_norm_kernels(case)


def check_layer_norm_kernels(case):
    dtype = case["dtype"]
    x, dy, gamma, beta, _, _ = make_case(case["seed"], case["shape"], dtype, case["offset"],
                                         case["spread"])
    y, mean, inv_std = native_ops.layer_norm_forward(x, gamma, beta, EPS)
    y_ref, mean_ref, inv_ref = numpy_ops.layer_norm_forward(x, gamma, beta, EPS)
    assert_within(y, y_ref, dtype, np.abs(f64(y_ref)) + np.abs(f64(beta)), "forward y")
    std = 1 / f64(inv_ref)
    assert_within(mean, mean_ref, dtype, np.abs(f64(mean_ref)) + std, "mean")
    assert_within(inv_std, inv_ref, dtype, f64(inv_ref), "inv_std")
    scales = ln_backward_scales(dy, x, mean_ref, inv_ref, gamma)
    got = native_ops.layer_norm_backward(dy, x, mean_ref, inv_ref, gamma)
    want = numpy_ops.layer_norm_backward(dy, x, mean_ref, inv_ref, gamma)
    for what, g, w, s in zip(("dx", "dgamma", "dbeta"), got, want, scales):
        assert_within(g, w, dtype, s, f"backward {what}")


# ---- |mean| >> std ---------------------------------------------------------------------------
def exact_stats(x, axis):
    """Mean and biased variance by two passes in long double."""
    xl = x.astype(np.longdouble)
    mean = xl.mean(axis=axis, keepdims=True)
    return mean, ((xl - mean) ** 2).mean(axis=axis, keepdims=True)


@pytest.mark.parametrize("dtype, offset, rtol", [(np.float32, 1e4, 1e-6), (np.float64, 1e4, 1e-11),
                                                  (np.float64, 1e8, 1e-8)])
@pytest.mark.parametrize("rows", [3, 17, 4099, MULTI_THREAD_ELEMENTS // 8 + 5])
def test_statistics_keep_their_precision_when_the_mean_dwarfs_the_spread(dtype, offset, rtol,
                                                                         rows):
    rng = np.random.default_rng(rows)
    x = (offset + rng.standard_normal((rows, 8))).astype(dtype)
    if rows > 3:
        x[0] += 50.0   # a first row far from the others: the running shift must move on
    gamma, beta = np.ones(8, dtype), np.zeros(8, dtype)
    mean_x, var_x = exact_stats(x, 0)
    y, mean, var = native_ops.batch_norm_forward_train(x, gamma, beta, EPS)
    eps = np.finfo(dtype).eps
    # y against the exact formula: y's own rounding, and in float64 the rounding of the mean
    # (|offset| eps, the data's own condition); float32 y is computed from a double mean
    atol = 32 * eps + 8 * np.finfo(np.float64).eps * offset
    np.testing.assert_allclose(f64(mean), f64(mean_x[0]), rtol=4 * eps)
    np.testing.assert_allclose(f64(var), f64(var_x[0]), rtol=rtol)
    y_exact = f64((x - mean_x) / np.sqrt(var_x + EPS))
    np.testing.assert_allclose(y, y_exact, rtol=0, atol=atol)
    # LayerNormalization on the transposed problem (rows of `rows` values)
    xt = np.ascontiguousarray(x.T)
    y, mean, inv_std = native_ops.layer_norm_forward(xt, np.ones(rows, dtype),
                                                     np.zeros(rows, dtype), EPS)
    mean_r, var_r = exact_stats(xt, 1)
    np.testing.assert_allclose(f64(mean), f64(mean_r[:, 0]), rtol=4 * eps)
    np.testing.assert_allclose(f64(inv_std), f64(1 / np.sqrt(var_r[:, 0] + EPS)), rtol=rtol)
    np.testing.assert_allclose(y, f64((xt - mean_r) / np.sqrt(var_r + EPS)), rtol=0, atol=atol)


def test_naive_one_pass_statistics_would_fail_this_data():
    """The data above defeats E[x^2] - E[x]^2 even in float64 accumulation (so the test
    above is a test of the kernels' guard)."""
    x = (1e8 + np.random.default_rng(0).standard_normal(4099)).astype(np.float64)
    naive = np.mean(x * x) - np.mean(x) ** 2
    assert abs(naive - np.var(x)) > 0.5 * np.var(x)


# ---- edge sizes --------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", DTYPES)
def test_one_row_and_one_value_per_row(dtype):
    x, dy, gamma, beta, _, _ = make_case(1, (1, 5), dtype)
    y, mean, var = native_ops.batch_norm_forward_train(x, gamma, beta, EPS)
    np.testing.assert_array_equal(mean, x[0])
    np.testing.assert_array_equal(var, np.zeros(5, dtype))
    np.testing.assert_array_equal(y, beta[None])
    dx, dgamma, dbeta = native_ops.batch_norm_backward(dy, x, mean, inv_std_of(var, dtype), gamma)
    np.testing.assert_allclose(dx, 0, atol=4 * np.finfo(dtype).eps * np.abs(dy * gamma).max()
                               / np.sqrt(EPS))
    np.testing.assert_array_equal(dbeta, dy[0])
    np.testing.assert_array_equal(dgamma, np.zeros(5, dtype))
    # one value per row: y = beta, inv_std = 1 / sqrt(eps), dx = 0
    xs = np.ascontiguousarray(x.T)
    y, mean, inv_std = native_ops.layer_norm_forward(xs, gamma[:1], beta[:1], EPS)
    np.testing.assert_array_equal(y, np.broadcast_to(beta[:1], (5, 1)))
    np.testing.assert_array_equal(mean, x[0])
    np.testing.assert_allclose(inv_std, 1 / np.sqrt(EPS), rtol=np.finfo(dtype).eps)
    dx, _, dbeta = native_ops.layer_norm_backward(np.ascontiguousarray(dy.T), xs, mean, inv_std,
                                                  gamma[:1])
    # (g - mean g) cancels exactly up to the rounding of g = dy gamma
    np.testing.assert_allclose(dx, 0, atol=4 * np.finfo(dtype).eps / np.sqrt(EPS)
                               * np.abs(dy * gamma[:1]).max())
    np.testing.assert_allclose(dbeta, [dy.sum(dtype=np.float64)], rtol=np.finfo(dtype).eps)


@pytest.mark.parametrize("dtype", DTYPES)
def test_empty_batches_give_empty_results_and_zero_sums(dtype):
    x = np.zeros((0, 3), dtype)
    ones, zeros = np.ones(3, dtype), np.zeros(3, dtype)
    assert native_ops.batch_norm_forward_eval(x, ones, zeros, zeros, ones, EPS).shape == (0, 3)
    for f in (native_ops.batch_norm_backward, native_ops.batch_norm_backward_eval,
              native_ops.layer_norm_backward):
        mean = np.zeros(0 if f is native_ops.layer_norm_backward else 3, dtype)
        dx, dgamma, dbeta = f(x, x, mean, mean + 1, ones)
        assert dx.shape == (0, 3)
        np.testing.assert_array_equal(dgamma, zeros)
        np.testing.assert_array_equal(dbeta, zeros)
    y, mean, inv_std = native_ops.layer_norm_forward(x, ones, zeros, EPS)
    assert y.shape == (0, 3) and mean.shape == inv_std.shape == (0,)


# ---- threads, layouts --------------------------------------------------------------------------
def all_kernels(x, dy, gamma, beta, mm, mv):
    """Every output of the six kernels on one problem (the backward kernels fed with the
    forward's statistics)."""
    dtype = x.dtype
    y, mean, var = native_ops.batch_norm_forward_train(x, gamma, beta, EPS)
    inv_std = inv_std_of(var, dtype)
    out = [y, mean, var, *native_ops.batch_norm_backward(dy, x, mean, inv_std, gamma),
           native_ops.batch_norm_forward_eval(x, gamma, beta, mm, mv, EPS),
           *native_ops.batch_norm_backward_eval(dy, x, mm, inv_std_of(mv, dtype), gamma)]
    y, mean, inv_std = native_ops.layer_norm_forward(x, gamma, beta, EPS)
    return out + [y, mean, inv_std, *native_ops.layer_norm_backward(dy, x, mean, inv_std, gamma)]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("channels", [64, 3, 300])
def test_results_do_not_depend_on_the_thread_count(dtype, channels, restore_num_threads):
    case = make_case(7, (MULTI_THREAD_ELEMENTS // channels + 13, channels), dtype, offset=2.0)
    results = {}
    for n in (1, 2, 3, 4):
        retrograd.set_num_threads(n)
        results[n] = all_kernels(*case)
    for n in (2, 3, 4):
        for i, (a, b) in enumerate(zip(results[1], results[n])):
            np.testing.assert_array_equal(a, b, err_msg=f"output {i}, {n} threads")


def test_several_threads_really_run_for_these_sizes():
    # rg_threads_for: a thread per RG_GRAIN_CHEAP elements; the test above has three grains
    assert MULTI_THREAD_ELEMENTS >= 3 * _runtime.grains()["cheap"]


@pytest.mark.parametrize("dtype", DTYPES)
def test_non_contiguous_and_read_only_inputs(dtype):
    x, dy, gamma, beta, mm, mv = make_case(9, (50, 12), dtype, offset=1.0)

    def views(a):
        wide = np.zeros(a.shape[:-1] + (2 * a.shape[-1],), dtype)
        wide[..., ::2] = a
        out = [wide[..., ::2], np.asfortranarray(a), np.flip(np.flip(a, 0).copy(), 0)]
        for v in out:
            v.setflags(write=False)
        return out

    want = all_kernels(x, dy, gamma, beta, mm, mv)
    for k in range(3):
        args = [views(a)[k] for a in (x, dy, gamma[None], beta[None], mm[None], mv[None])]
        args[2:] = [a[0] for a in args[2:]]
        for i, (g, w) in enumerate(zip(all_kernels(*args), want)):
            np.testing.assert_array_equal(g, w, err_msg=f"layout {k}, output {i}")


# ---- the checks of the wrappers and of native_ops ---------------------------------------------
def test_wrappers_refuse_bad_sizes():
    m = np.zeros((4, 3), np.float32)
    v, w = np.zeros(3, np.float32), np.zeros((_runtime.REDUCE_GROUPS, 6))
    short = np.zeros(2, np.float32)
    cases = [
        (lambda: _norm.batch_forward_train(m, short, v, m, v, v, w, EPS, 1),
         r"BatchNormalization: expected gamma of shape \(3,\), got \(2,\)"),
        (lambda: _norm.batch_forward_train(m, v, v, m.T.copy(), v, v, w, EPS, 1),
         r"BatchNormalization: expected y of shape \(4, 3\), got \(3, 4\)"),
        (lambda: _norm.batch_forward_train(m, v, v, m, v, short, w, EPS, 1),
         r"BatchNormalization: expected var of shape \(3,\)"),
        (lambda: _norm.batch_forward_train(m[:0], v, v, m[:0], v, v, w, EPS, 1),
         r"BatchNormalization: expected rows >= 1, got rows=0"),
        (lambda: _norm.batch_forward_train(m, v, v, m, v, v, w[:1], EPS, 1),
         r"BatchNormalization: expected groups >= RG_REDUCE_GROUPS, got groups=1"),
        (lambda: _norm.batch_forward_train(m, v, v, m, v, v, np.zeros((16, 5)), EPS, 1),
         r"BatchNormalization: expected work of shape \(16, 6\), got \(16, 5\)"),
        (lambda: _norm.batch_forward_eval(m, v, v, v, short, m, EPS, 1),
         r"BatchNormalization: expected moving_var of shape \(3,\)"),
        (lambda: _norm.batch_backward(m, m[:3], v, v, v, m, v, v, w, 1),
         r"BatchNormalization: expected x of shape \(4, 3\), got \(3, 3\)"),
        (lambda: _norm.batch_backward_eval(m, m, v, short, v, m, v, v, w, 1),
         r"BatchNormalization: expected inv_std of shape \(3,\)"),
        (lambda: _norm.batch_backward(m, m, v, v, v, m, v, short, w, 1),
         r"BatchNormalization: expected dbeta of shape \(3,\)"),
        (lambda: _norm.layer_forward(m, v, v, m, v, np.zeros(4, np.float32), EPS, 1),
         r"LayerNormalization: expected mean of shape \(4,\), got \(3,\)"),
        (lambda: _norm.layer_backward(m, m, v, np.zeros(4, np.float32), v, m, v, v, w, 1),
         r"LayerNormalization: expected mean of shape \(4,\), got \(3,\)"),
        (lambda: _norm.layer_backward(m, m, np.zeros(4, np.float32), np.zeros(4, np.float32), v,
                                      m, v, v, w[:2], 1),
         r"LayerNormalization: expected groups >= RG_REDUCE_GROUPS"),
        (lambda: _norm.layer_forward(m, v, v, m, v, v, EPS, 0, owner="Mine"),
         r"Mine: expected n_threads >= 1, got 0"),
    ]
    for call, message in cases:
        with pytest.raises(ValueError, match=message):
            call()


@pytest.mark.parametrize("name", ["batch_norm_forward_train", "batch_norm_forward_eval",
                                  "batch_norm_backward", "batch_norm_backward_eval",
                                  "layer_norm_forward", "layer_norm_backward"])
def test_native_ops_refuse_what_the_kernels_cannot_take(name):
    f = getattr(native_ops, name)
    v = np.ones(3)
    forward = "forward" in name

    def call(x, dy=None, gamma=v, **kw):
        if forward:
            extra = (v, v) if name == "batch_norm_forward_eval" else ()
            return f(x, gamma, v, *extra, EPS, **kw)
        rows = np.ones(x.shape[0] if x.ndim else 1) if name.startswith("layer") else v
        return f(x if dy is None else dy, x, rows * 0, rows, gamma, **kw)

    with pytest.raises(ValueError, match=r"^Mine: expected x of shape \(rows, C\)"):
        call(np.zeros((2, 2, 3)), owner="Mine")
    with pytest.raises(ValueError, match=r"expected x of shape \(rows, C\), got \(3,\)"):
        call(np.zeros(3))
    with pytest.raises(TypeError, match=r"expected x of dtype float32 or float64, got dtype int64"):
        call(np.zeros((2, 3), np.int64))
    with pytest.raises(ValueError, match=r"expected gamma of shape \(3,\), got \(4,\)"):
        call(np.zeros((2, 3)), gamma=np.ones(4))
    if not forward:
        with pytest.raises(ValueError, match=r"expected dy of shape \(2, 3\), got \(3, 2\)"):
            call(np.zeros((2, 3)), dy=np.zeros((3, 2)))


@pytest.mark.parametrize("dtype", DTYPES)
def test_outputs_take_the_dtype_of_x(dtype):
    other = np.float64 if dtype == np.float32 else np.float32
    x, dy, gamma, beta, mm, mv = make_case(3, (6, 4), dtype)
    for out in all_kernels(x, dy, gamma.astype(other), beta.astype(other), mm.astype(other),
                           mv.astype(other)):
        assert out.dtype == dtype


def test_benchmark_quick_smoke_run():
    script = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_norm.py"
    done = subprocess.run([sys.executable, str(script), "--quick", "--threads", "1"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "BatchNormalization" in done.stdout and "LayerNormalization" in done.stdout
