"""Low-level tests of the native activation and softmax kernels.

The C kernels are checked against independent float64 formulas (math.erfc,
numpy's float64 exp/tanh), in float32 ulps for the vectorised elementary
functions; against the NumPy reference kernels; for independence from the
thread count, read-only and non-contiguous inputs, odd sizes, huge inputs, and
for the size checks of the Cython wrappers.
"""
import inspect
import math
import subprocess
import sys
import warnings
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
    from retrograd._native import _activations, _softmax

HYPER = {"leaky_relu": (0.1,), "hard_tanh": (-0.5, 2.0), "elu": (1.3,), "swish": (0.7,)}
ELEMENTWISE = ["relu", "leaky_relu", "sigmoid", "tanh", "softsign", "hard_sigmoid", "hard_tanh",
               "elu", "selu", "gelu_erf", "gelu_tanh", "gelu_sigmoid", "swish"]
TOL = {np.float32: dict(rtol=1e-4, atol=1e-5), np.float64: dict(rtol=1e-7, atol=1e-12)}

# a dense float32 sweep over [-100, 100], finer near 0, plus the extremes
SWEEP = np.unique(np.concatenate([
    np.linspace(-100, 100, 400_001), np.linspace(-2, 2, 200_001),
    np.geomspace(1e-30, 1, 20_001), -np.geomspace(1e-30, 1, 20_001), [0.0, 1000.0, -1000.0],
]).astype(np.float32))


@pytest.fixture
def threads():
    """Restore the thread count a test changes."""
    before = retrograd.get_num_threads()
    yield retrograd.set_num_threads
    retrograd.set_num_threads(before)


def ulps(got, exact):
    """|got - exact| in units of the float32 spacing at the float32-rounded exact value."""
    exact32 = exact.astype(np.float32)
    return np.abs(got.astype(np.float64) - exact) / np.spacing(np.abs(exact32)).astype(np.float64)


def forward(name, x):
    return getattr(native_ops, f"{name}_forward")(x, *HYPER.get(name, ()))


def backward(name, dy, x, y):
    return getattr(native_ops, f"{name}_backward")(dy, x, y, *HYPER.get(name, ()))


# ---- accuracy of the vectorised float32 elementary functions --------------------------------
def test_sigmoid_f32_within_3_ulp():
    x = SWEEP[SWEEP > -87]   # below, the exact value is subnormal or 0
    xd = x.astype(np.float64)
    exact = np.where(xd >= 0, 1 / (1 + np.exp(-np.abs(xd))),
                     np.exp(-np.abs(xd)) / (1 + np.exp(-np.abs(xd))))
    assert ulps(native_ops.sigmoid_forward(x), exact).max() <= 3


def test_tanh_f32_within_2_ulp_including_near_zero():
    got = native_ops.tanh_forward(SWEEP)
    assert ulps(got, np.tanh(SWEEP.astype(np.float64))).max() <= 2
    tiny = np.float32([1e-30, -1e-20, 1e-8])
    np.testing.assert_array_equal(native_ops.tanh_forward(tiny), tiny)


def test_exp_and_expm1_f32_within_2_ulp():
    # ELU with alpha = 1: forward e^z - 1 and backward e^z for z <= 0
    x = SWEEP[(SWEEP <= 0) & (SWEEP > -87)]
    xd = x.astype(np.float64)
    assert ulps(native_ops.elu_forward(x, 1.0), np.expm1(xd)).max() <= 2
    assert ulps(native_ops.elu_backward(np.ones_like(x), x, x, 1.0), np.exp(xd)).max() <= 2


def test_normal_cdf_f32_through_gelu_erf():
    # GELU(z) = z Phi(z), Phi(z) = erfc(-z/sqrt 2)/2 built from the float32 erf/erfc pieces.
    # For z >= 0 (erf near 1) within 2 ulp; for z < 0 the relative error of the tail stays
    # within 8 ulp down to z = -5.5; beyond -4 sqrt 2 the tail is flushed to 0 (< 1e-7 absolute).
    x = SWEEP[SWEEP != 0]
    xd = x.astype(np.float64)
    exact = xd * 0.5 * np.array([math.erfc(-v / math.sqrt(2)) for v in xd])
    err = ulps(native_ops.gelu_erf_forward(x), exact)
    assert err[xd > 0].max() <= 2
    assert err[(xd > -5.5) & (xd < 0)].max() <= 8
    got = native_ops.gelu_erf_forward(x[xd <= -5.5])
    assert np.abs(got - exact[xd <= -5.5]).max() < 1e-7


# ---- agreement with the NumPy reference -----------------------------------------------------
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", ELEMENTWISE)
def test_elementwise_matches_reference(name, dtype):
    rng = np.random.default_rng(0)
    x = (rng.standard_normal((64, 33)) * 3).astype(dtype)
    dy = rng.standard_normal(x.shape).astype(dtype)
    hyper = HYPER.get(name, ())
    y_ref = getattr(numpy_ops, f"{name}_forward")(x, *hyper)
    y = forward(name, x)
    assert y.dtype == dtype and y.shape == x.shape
    np.testing.assert_allclose(y, y_ref, **TOL[dtype])
    # the same y into both backwards, so only the derivative formulas are compared
    dx_ref = getattr(numpy_ops, f"{name}_backward")(dy, x, y_ref, *hyper)
    np.testing.assert_allclose(backward(name, dy, x, y_ref), dx_ref, **TOL[dtype])


@settings(max_examples=40, deadline=None)
@given(shape=st.lists(st.integers(1, 9), min_size=1, max_size=3),
       dtype=st.sampled_from([np.float32, np.float64]), seed=st.integers(0, 2**16),
       name=st.sampled_from(ELEMENTWISE))
def test_elementwise_random_shapes(shape, dtype, seed, name):
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal(shape) * 4).astype(dtype)
    y_ref = getattr(numpy_ops, f"{name}_forward")(x, *HYPER.get(name, ()))
    np.testing.assert_allclose(forward(name, x), y_ref, **TOL[dtype])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("channels", [1, 7])
def test_prelu_matches_reference(dtype, channels):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((5, 3, 7)).astype(dtype)
    dy = rng.standard_normal(x.shape).astype(dtype)
    alpha = rng.random(channels).astype(dtype)
    np.testing.assert_allclose(native_ops.prelu_forward(x, alpha),
                               numpy_ops.prelu_forward(x, alpha), **TOL[dtype])
    dx, dalpha = native_ops.prelu_backward(dy, x, alpha)
    dx_ref, dalpha_ref = numpy_ops.prelu_backward(dy, x, alpha)
    assert dalpha.shape == (channels,) and dalpha.dtype == dtype
    np.testing.assert_allclose(dx, dx_ref, **TOL[dtype])
    exact = np.where(x <= 0, dy.astype(np.float64) * x, 0).reshape(-1, channels).sum(axis=0)
    np.testing.assert_allclose(dalpha, exact, **TOL[dtype])
    np.testing.assert_allclose(dalpha, dalpha_ref, **TOL[dtype])


def test_prelu_rejects_alpha_of_wrong_length():
    with pytest.raises(ValueError, match=r"PReLU: expected alpha of shape \(1,\) or \(3,\)"):
        native_ops.prelu_forward(np.zeros((2, 3), np.float32), np.ones(2, np.float32))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_rrelu_and_noisy_relu_match_reference(dtype):
    rng = np.random.default_rng(2)
    x = rng.standard_normal((6, 11)).astype(dtype)
    dy = rng.standard_normal(x.shape).astype(dtype)
    w = rng.random(x.shape).astype(dtype)
    for name, args in (("rrelu_forward", (x, w)), ("rrelu_backward", (dy, x, w)),
                       ("noisy_relu_forward", (x, w - 0.5)), ("noisy_relu_backward", (dy, x))):
        np.testing.assert_allclose(getattr(native_ops, name)(*args),
                                   getattr(numpy_ops, name)(*args), **TOL[dtype], err_msg=name)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(1, 1), (4, 1), (3, 10), (2, 3, 17), (5, 1000)])
def test_softmax_matches_reference(dtype, shape):
    rng = np.random.default_rng(3)
    x = (rng.standard_normal(shape) * 5).astype(dtype)
    dy = rng.standard_normal(shape).astype(dtype)
    y = native_ops.softmax_forward(x)
    np.testing.assert_allclose(y, numpy_ops.softmax_forward(x), **TOL[dtype])
    np.testing.assert_allclose(y.sum(axis=-1), 1, rtol=1e-5 if dtype == np.float32 else 1e-12)
    np.testing.assert_allclose(native_ops.softmax_backward(dy, x, y),
                               numpy_ops.softmax_backward(dy, x, y), **TOL[dtype])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("soft", [False, True])
def test_softmax_cross_entropy_matches_formula(dtype, soft):
    rng = np.random.default_rng(4)
    z = (rng.standard_normal((9, 6)) * 3).astype(dtype)
    if soft:
        t = numpy_ops.softmax_forward(rng.standard_normal(z.shape)).astype(dtype)
    else:
        t = np.eye(6, dtype=dtype)[rng.integers(0, 6, 9)]
    loss, grad = native_ops.softmax_cross_entropy(z, t)
    zd = z.astype(np.float64)
    lse = np.log(np.exp(zd).sum(axis=1, keepdims=True))
    assert isinstance(loss, float)
    assert loss == pytest.approx(float(-(t * (zd - lse)).sum() / 9), rel=1e-6)
    np.testing.assert_allclose(grad, (np.exp(zd - lse) - t) / 9, **TOL[dtype])
    assert grad.dtype == dtype


# ---- robustness ----------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_huge_inputs_are_finite_and_quiet(dtype):
    x = np.array([[-1000.0, 1000.0, -88.5, 88.5, 0.0, -1e30, 1e30]], dtype=dtype)
    dy = np.ones_like(x)
    with warnings.catch_warnings(), np.errstate(all="raise"):
        warnings.simplefilter("error")
        outputs = []
        for name in ELEMENTWISE:
            y = forward(name, x)
            outputs += [y, backward(name, dy, x, y)]
        outputs += [native_ops.prelu_forward(x, np.float32([0.2])),
                    *native_ops.prelu_backward(dy, x, np.float32([0.2])),
                    native_ops.rrelu_forward(x, dy * 0.2), native_ops.noisy_relu_forward(x, dy),
                    native_ops.softmax_forward(x),
                    native_ops.softmax_backward(dy, x, native_ops.softmax_forward(x))]
        loss, grad = native_ops.softmax_cross_entropy(x, native_ops.softmax_forward(x[:, ::-1]))
        outputs += [np.array(loss), grad]
    for out in outputs:
        assert np.isfinite(out).all()
    np.testing.assert_array_equal(native_ops.gelu_erf_forward(x)[0, :2], [0, 1000])
    np.testing.assert_array_equal(native_ops.sigmoid_forward(x)[0, :2], [0, 1])


@pytest.mark.parametrize("name", ["elu", "selu"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_elu_and_selu_backward_vanish_at_minus_infinity(name, dtype):
    # the slope a e^z is exactly 0 where e^z underflows, as NumPy's exp gives; a float32
    # exp clamped at its smallest normal value would leave 1.2e-38 there
    x = np.array([-np.inf, -1e30, -1000.0, -800.0, -np.inf], dtype)
    dy = np.array([1.0, 1.0, -3.0, 2.0, np.inf], dtype)
    with np.errstate(invalid="ignore"):
        got = backward(name, dy, x, forward(name, x))
        want = getattr(numpy_ops, f"{name}_backward")(dy, x, x, *HYPER.get(name, ()))
    np.testing.assert_array_equal(got[:4], 0.0)
    np.testing.assert_array_equal(got, want)   # inf * 0: NaN on both backends
    assert np.isnan(got[4])


@pytest.mark.parametrize("n", [1, 15, 17, 1_000_003])
def test_odd_sizes(n):
    rng = np.random.default_rng(n)
    x = (rng.standard_normal(n) * 3).astype(np.float32)
    dy = rng.standard_normal(n).astype(np.float32)
    for name in ("relu", "sigmoid", "tanh", "gelu_erf", "gelu_tanh"):
        y = forward(name, x)
        np.testing.assert_allclose(y, getattr(numpy_ops, f"{name}_forward")(x), **TOL[np.float32])
        np.testing.assert_allclose(backward(name, dy, x, y),
                                   getattr(numpy_ops, f"{name}_backward")(dy, x, y),
                                   **TOL[np.float32])
    np.testing.assert_allclose(native_ops.softmax_forward(x), numpy_ops.softmax_forward(x),
                               **TOL[np.float32])


def _all_kernels(x, dy, alpha):
    """Every kernel's outputs on (x, dy), as a flat list."""
    out = []
    for name in ELEMENTWISE:
        y = forward(name, x)
        out += [y, backward(name, dy, x, y)]
    out += [native_ops.prelu_forward(x, alpha), *native_ops.prelu_backward(dy, x, alpha),
            native_ops.softmax_forward(x), native_ops.softmax_backward(dy, x, x),
            native_ops.softmax_cross_entropy(x.reshape(-1, x.shape[-1]),
                                             np.abs(dy).reshape(-1, x.shape[-1]))[1]]
    return out


def test_thread_count_independence(threads):
    rng = np.random.default_rng(5)
    x = (rng.standard_normal((MULTI_THREAD_ELEMENTS // 64, 64)) * 3).astype(np.float32)
    dy = rng.standard_normal(x.shape).astype(np.float32)
    alpha = rng.random(64).astype(np.float32)
    results = {}
    for n in (1, 2, 4):
        threads(n)
        results[n] = _all_kernels(x, dy, alpha)
        for a, b in zip(results[n], _all_kernels(x, dy, alpha)):
            np.testing.assert_array_equal(a, b)
    # and any thread count the same bits, PReLU's dalpha (a reduction) included
    for n in (2, 4):
        for a, b in zip(results[1], results[n]):
            np.testing.assert_array_equal(a, b)


def test_prelu_shared_slope_reduction_over_threads(threads):
    rng = np.random.default_rng(6)
    x = rng.standard_normal(1_000_003).astype(np.float32)
    dy = rng.standard_normal(x.shape).astype(np.float32)
    exact = float(np.where(x <= 0, dy.astype(np.float64) * x, 0).sum())
    sums = set()
    for n in (1, 2, 4):
        threads(n)
        _, dalpha = native_ops.prelu_backward(dy, x, np.float32([0.25]))
        assert float(dalpha[0]) == pytest.approx(exact, rel=1e-6)
        sums.add(float(dalpha[0]))
    assert len(sums) == 1


def test_read_only_and_non_contiguous_inputs():
    rng = np.random.default_rng(7)
    base = rng.standard_normal((40, 30)).astype(np.float32)
    x = base[::2, ::3]
    dy = np.asfortranarray(rng.standard_normal(x.shape).astype(np.float32))
    for a in (base, dy):
        a.setflags(write=False)
    alpha = np.full(x.shape[-1], 0.1, np.float32)
    alpha.setflags(write=False)
    for got, want in zip(_all_kernels(x, dy, alpha), _all_kernels(x.copy(), dy.copy(), alpha.copy())):
        np.testing.assert_array_equal(got, want)


# ---- the Cython wrappers refuse mismatched sizes ------------------------------------------
def test_wrappers_check_lengths():
    f = np.zeros(8, np.float32)
    short = np.zeros(7, np.float32)
    m = np.zeros((2, 4), np.float32)
    # (the default owner of each wrapper is the public class it serves)
    cases = [
        (lambda: _activations.forward(0, f, short, 0.0, 0.0, 1),
         r"ElementwiseActivation: expected y of shape \(8,\), got \(7,\)"),
        (lambda: _activations.forward(99, f, f, 0.0, 0.0, 1),
         r"ElementwiseActivation: expected 0 <= kind < RG_ACT_COUNT, got kind=99"),
        (lambda: _activations.backward(2, f, f, short, f, 0.0, 0.0, 1, owner="Sigmoid"),
         r"Sigmoid: expected y of shape \(8,\), got \(7,\)"),
        (lambda: _activations.rrelu_forward(f, short, f, 1), r"RReLU: expected slopes of shape \(8,\)"),
        (lambda: _activations.rrelu_backward(f, f, f, short, 1), r"RReLU: expected dx of shape \(8,\)"),
        (lambda: _activations.noisy_relu_forward(f, short, f, 1),
         r"NoisyReLU: expected noise of shape \(8,\)"),
        (lambda: _activations.prelu_forward(m, short, m, 1), r"PReLU: expected alpha of shape \(4,\)"),
        (lambda: _activations.prelu_backward(m, m, f[:4], m, f[:4], np.zeros((1, 4)), 2),
         r"PReLU: expected groups >= RG_REDUCE_GROUPS, got groups=1"),
        (lambda: _softmax.forward(m, np.zeros((4, 2), np.float32), 1),
         r"Softmax: expected y of shape \(2, 4\), got \(4, 2\)"),
        (lambda: _softmax.cross_entropy(m, m, m, np.zeros(3), 1),
         r"CategoricalCrossEntropy: expected row_loss of shape \(2,\), got \(3,\)"),
        (lambda: _softmax.forward(m, m, 0), r"Softmax: expected n_threads >= 1, got 0"),
    ]
    for call, message in cases:
        with pytest.raises(ValueError, match=message):
            call()


def test_benchmark_quick_smoke_run():
    script = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_activations.py"
    done = subprocess.run([sys.executable, str(script), "--quick", "--threads", "1"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    rows = [line.split()[0] for line in done.stdout.splitlines()[4:]]
    assert rows == ELEMENTWISE + ["softmax"]


ELEMENTWISE_HYPER = {"relu": (), "leaky_relu": (0.01,), "sigmoid": (), "tanh": (), "softsign": (),
                     "hard_sigmoid": (), "hard_tanh": (-1.0, 1.0), "elu": (1.0,), "selu": (),
                     "gelu_erf": (), "gelu_tanh": (), "gelu_sigmoid": (), "swish": (1.0,)}


@pytest.mark.parametrize("name", sorted(ELEMENTWISE_HYPER))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_nan_propagates_like_the_reference(name, dtype):
    # NaN in the data must stay visible (TerminateOnNaN relies on it), on both backends.
    x = np.array([np.nan, 1.0, -1.0, np.nan], dtype)
    hyper = ELEMENTWISE_HYPER[name]
    with np.errstate(invalid="ignore"):
        native = getattr(native_ops, f"{name}_forward")(x, *hyper)
        reference = getattr(numpy_ops, f"{name}_forward")(x, *hyper)
    np.testing.assert_array_equal(np.isnan(native), np.isnan(reference))
    assert np.isnan(native[[0, 3]]).all()


# ---- one signature on both backends; errors name the public owner ------------------------
def _public_functions(module):
    return {name: f for name, f in vars(module).items()
            if callable(f) and not name.startswith("_") and not inspect.isclass(f)
            and not inspect.ismodule(f) and getattr(f, "__module__", None) == module.__name__}


def test_native_ops_has_the_signatures_of_numpy_ops():
    # layers call ops.<kernel>(...) on either backend: the same names, the same parameters
    reference, native = _public_functions(numpy_ops), _public_functions(native_ops)
    assert sorted(reference) == sorted(native)
    for name, f in reference.items():
        assert inspect.signature(native[name]) == inspect.signature(f), name


def test_default_owners_are_the_public_classes_users_call():
    from retrograd import layers, losses, optimizers
    from retrograd._native._table import KERNELS
    public = {n for m in (layers, losses, optimizers) for n in dir(m) if n[:1].isupper()}
    for name, f in _public_functions(native_ops).items():
        assert inspect.signature(f).parameters["owner"].default in public, name
    for kernel in KERNELS:
        assert kernel.owner is None or kernel.owner in public, kernel.name


@pytest.mark.parametrize("call", [
    lambda owner: native_ops.elu_backward(np.zeros(3), np.zeros(3), np.zeros(2), 1.0,
                                          owner=owner),
    lambda owner: native_ops.rrelu_forward(np.zeros(3), np.zeros(4), owner=owner),
    lambda owner: native_ops.prelu_forward(np.zeros((2, 3)), np.ones(2), owner=owner),
    lambda owner: native_ops.softmax_cross_entropy(np.zeros((2, 3)), np.zeros((3, 2)),
                                                   owner=owner),
    lambda owner: native_ops.dense_forward(np.zeros((2, 3)), np.zeros((4, 2)), np.zeros(2),
                                           owner=owner),
    lambda owner: native_ops.maxpool2d_backward(np.zeros((1, 1, 1, 1)),
                                                np.zeros((1, 1, 1, 1), np.int32),
                                                (1, 4, 4, 1), (2, 2), (2, 2), owner=owner),
    lambda owner: native_ops.dropout_forward(np.zeros(3), np.ones(2, bool), 2.0, owner=owner),
    lambda owner: native_ops.adam_step([np.zeros(2)], [np.zeros(3)], [np.zeros(2)],
                                       [np.zeros(2)], 0.1, 0.9, 0.99, 1e-8, 0.1, 0.01,
                                       owner=owner),
])
def test_errors_start_with_the_owner_passed_down(call):
    with pytest.raises(ValueError, match=r"^Mine: expected .*, got "):
        call("Mine")
