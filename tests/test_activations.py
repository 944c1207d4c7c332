"""Activation layers and kernels: finite differences, PyTorch, native vs NumPy,
thread-count independence, odd memory layouts, stability at |z| = 1000,
seeded randomness, eval mode, bad input; and the erf behind GELU."""
import doctest
import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import retrograd
from retrograd.backend import native_ops, numpy_ops
from retrograd.backend._special import erf, erfc
from retrograd.layers import (ELU, GELU, SELU, HardSigmoid, HardTanh, LeakyReLU, NoisyReLU,
                              PReLU, ReLU, RReLU, Sigmoid, Softmax, Softsign, Swish, Tanh)
from retrograd.layers import activations as activations_module

from conftest import MULTI_THREAD_ELEMENTS, DTYPES, TOLERANCES

needs_native = pytest.mark.skipif(not retrograd.native_available(),
                                  reason="native kernels not built")
CHANNELS = 4  # feature count of the PReLU-per-channel case


def _prelu_channels(dtype):
    layer = PReLU(num_parameters=CHANNELS, dtype=dtype)
    layer.alpha[...] = [0.1, -0.2, 0.3, 1.5]
    return layer


# name -> (factory(dtype), torch function(F, t) or None).  Random layers appear twice:
# training (seeded) and eval.
SPECS = {
    "Sigmoid": (lambda dt: Sigmoid(dtype=dt), lambda F, t: F.sigmoid(t)),
    "Tanh": (lambda dt: Tanh(dtype=dt), lambda F, t: F.tanh(t)),
    "Softsign": (lambda dt: Softsign(dtype=dt), lambda F, t: F.softsign(t)),
    "HardSigmoid": (lambda dt: HardSigmoid(dtype=dt), lambda F, t: F.hardsigmoid(t)),
    "HardTanh": (lambda dt: HardTanh(-0.5, 1.5, dtype=dt), lambda F, t: F.hardtanh(t, -0.5, 1.5)),
    "ReLU": (lambda dt: ReLU(dtype=dt), lambda F, t: F.relu(t)),
    "LeakyReLU": (lambda dt: LeakyReLU(0.1, dtype=dt), lambda F, t: F.leaky_relu(t, 0.1)),
    "PReLU": (lambda dt: PReLU(init=0.3, dtype=dt), None),
    "PReLU-channels": (_prelu_channels, None),
    "RReLU": (lambda dt: RReLU(0.1, 0.4, seed=5, dtype=dt), None),
    "RReLU-eval": (lambda dt: _eval(RReLU(0.1, 0.4, seed=5, dtype=dt)),
                   lambda F, t: F.rrelu(t, 0.1, 0.4, training=False)),
    "ELU": (lambda dt: ELU(0.7, dtype=dt), lambda F, t: F.elu(t, 0.7)),
    "SELU": (lambda dt: SELU(dtype=dt), lambda F, t: F.selu(t)),
    "NoisyReLU": (lambda dt: NoisyReLU(seed=7, dtype=dt), None),
    "NoisyReLU-eval": (lambda dt: _eval(NoisyReLU(seed=7, dtype=dt)), lambda F, t: F.relu(t)),
    "GELU-none": (lambda dt: GELU(dtype=dt), lambda F, t: F.gelu(t)),
    "GELU-tanh": (lambda dt: GELU("tanh", dtype=dt), lambda F, t: F.gelu(t, approximate="tanh")),
    "GELU-sigmoid": (lambda dt: GELU("sigmoid", dtype=dt),
                     lambda F, t: t * F.sigmoid(1.702 * t)),
    "Swish": (lambda dt: Swish(dtype=dt), lambda F, t: F.silu(t)),
    "Swish-beta": (lambda dt: Swish(beta=1.7, dtype=dt), lambda F, t: t * F.sigmoid(1.7 * t)),
    "Softmax": (lambda dt: Softmax(dtype=dt), lambda F, t: F.softmax(t, dim=-1)),
    "Softmax-axis0": (lambda dt: Softmax(axis=0, dtype=dt), lambda F, t: F.softmax(t, dim=0)),
}
# Deterministic (same output on every forward), so finite differences apply.
DETERMINISTIC = [name for name in SPECS if name not in ("RReLU", "NoisyReLU")]
TORCH_SPECS = [name for name in SPECS if SPECS[name][1] is not None]
# Points where a derivative jumps (ReLU family at 0, HardSigmoid at +-3, HardTanh at
# -0.5 and 1.5): finite differences stay away from them; backend comparisons hit them.
KINKS = np.array([0.0, -3.0, 3.0, -0.5, 1.5])


def _eval(layer):
    layer.training = False
    return layer


def _make(name, dtype):
    return SPECS[name][0](dtype)


def _inputs(shape, seed, kinks=False):
    """Values ~ N(0, 2^2); with ``kinks`` about a tenth are set exactly to a kink."""
    rng = np.random.default_rng(seed)
    x = rng.normal(0.0, 2.0, size=shape)
    if kinks:
        pick = rng.random(shape) < 0.1
        x[pick] = rng.choice(KINKS, size=int(pick.sum()))
    else:
        near = np.abs(x[..., None] - KINKS).min(axis=-1) < 0.05
        x[near] += 0.1
    return x


def _run(layer, x, g):
    y = layer.forward(x)
    dx, param_grads = layer.backward(g)
    return y, dx, [p.copy() for p in (param_grads or [])]


# ---- the NumPy reference against finite differences --------------------------------------
@pytest.mark.parametrize("name", DETERMINISTIC)
def test_gradients_match_central_differences(name, backend, numeric_grad):
    layer = _make(name, np.float64)
    x = _inputs((3, CHANNELS), seed=1)
    g = np.random.default_rng(2).normal(size=x.shape)
    _, dx, param_grads = _run(layer, x, g)
    np.testing.assert_allclose(dx, numeric_grad(lambda v: np.sum(layer.forward(v) * g), x),
                               rtol=1e-6, atol=1e-8)
    for p, grad in zip(layer.params, param_grads):
        numeric = numeric_grad(lambda v: np.sum(layer.forward(x) * g), p)
        np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("kernel", ["rrelu", "noisy_relu"])
def test_training_kernels_with_fixed_draws(kernel, backend, numeric_grad):
    ops = numpy_ops if backend == "numpy" else native_ops
    x = _inputs((3, 5), seed=3)
    g = np.random.default_rng(4).normal(size=x.shape)
    if kernel == "rrelu":
        slopes = np.random.default_rng(5).uniform(0.1, 0.4, size=x.shape)
        numeric = numeric_grad(lambda v: np.sum(ops.rrelu_forward(v, slopes) * g), x)
        np.testing.assert_allclose(ops.rrelu_backward(g, x, slopes), numeric, rtol=1e-6)
    else:
        # The noise is treated as a constant of the pass: the gradient is ReLU's mask.
        noise = np.random.default_rng(5).normal(size=x.shape)
        y = ops.noisy_relu_forward(x, noise)
        np.testing.assert_allclose(y, np.maximum(0, x + noise * np.sqrt(1 / (1 + np.exp(-x)))),
                                   rtol=1e-12)
        np.testing.assert_array_equal(ops.noisy_relu_backward(g, x), np.where(x > 0, g, 0))


# ---- against PyTorch ----------------------------------------------------------------------
# PyTorch's hardsigmoid backward multiplies by 1/6 rounded to float32, even in float64.
TORCH_GRAD_RTOL = {"HardSigmoid": 1e-7}


@pytest.mark.parametrize("name", TORCH_SPECS + ["PReLU", "PReLU-channels"])
def test_matches_pytorch_float64(name, backend):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    layer = _make(name, np.float64)
    x = _inputs((5, CHANNELS), seed=6, kinks=True)
    g = np.random.default_rng(7).normal(size=x.shape)
    y, dx, param_grads = _run(layer, x, g)
    t = torch.tensor(x, requires_grad=True)
    if name.startswith("PReLU"):
        weight = torch.tensor(layer.alpha.copy(), requires_grad=True)
        out = F.prelu(t, weight)
    else:
        out = SPECS[name][1](F, t)
    out.backward(torch.tensor(g))
    np.testing.assert_allclose(y, out.detach().numpy(), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(dx, t.grad.numpy(), rtol=TORCH_GRAD_RTOL.get(name, 1e-10),
                               atol=1e-14)
    if name.startswith("PReLU"):
        np.testing.assert_allclose(param_grads[0], weight.grad.numpy(), rtol=1e-10)


def test_softmax_on_a_middle_axis_matches_pytorch(backend):
    torch = pytest.importorskip("torch")
    x = _inputs((2, 3, 4, 5), seed=8)
    g = np.random.default_rng(9).normal(size=x.shape)
    y, dx, _ = _run(Softmax(axis=1, dtype=np.float64), x, g)
    t = torch.tensor(x, requires_grad=True)
    out = torch.softmax(t, dim=1)
    out.backward(torch.tensor(g))
    np.testing.assert_allclose(y, out.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(dx, t.grad.numpy(), rtol=1e-10, atol=1e-15)
    assert y.flags.c_contiguous and dx.flags.c_contiguous


# ---- native against NumPy -----------------------------------------------------------------
def _both_backends(name, dtype, x, g):
    results = []
    for backend in ("numpy", "native"):
        with retrograd.use_backend(backend):
            results.append(_run(_make(name, dtype), x, g))
    return results


def _assert_same(reference, native, dtype):
    tol = TOLERANCES[np.dtype(dtype)]
    for ref, nat in zip(reference[:2], native[:2]):
        assert nat.dtype == dtype and nat.shape == ref.shape
        np.testing.assert_allclose(nat, ref, **tol)
    for ref, nat in zip(reference[2], native[2]):
        # a parameter gradient sums over the batch: scale the tolerance by its magnitude
        np.testing.assert_allclose(nat, ref, rtol=tol["rtol"] * 10, atol=tol["atol"] * 100)


def _fit_shape(name, shape):
    if name == "PReLU-channels":
        return tuple(shape[:-1]) + (CHANNELS,) if len(shape) > 1 else (shape[0], CHANNELS)
    return tuple(shape)


@needs_native
@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
@pytest.mark.parametrize("name", list(SPECS))
@settings(max_examples=30, deadline=None)
@given(shape=st.lists(st.integers(1, 9), min_size=1, max_size=4), seed=st.integers(0, 2**16))
def test_native_matches_numpy(name, dtype, shape, seed):
    shape = _fit_shape(name, shape)
    x = _inputs(shape, seed, kinks=True).astype(dtype)
    g = np.random.default_rng(seed + 1).normal(size=shape).astype(dtype)
    reference, native = _both_backends(name, dtype, x, g)
    _assert_same(reference, native, dtype)


@needs_native
@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 9), c=st.integers(1, 12), seed=st.integers(0, 2**16),
       soft=st.booleans())
def test_native_softmax_cross_entropy_matches_numpy(dtype, n, c, seed, soft):
    logits, targets = _logits_and_targets(n, c, seed, soft, dtype)
    loss_ref, grad_ref = numpy_ops.softmax_cross_entropy(logits, targets)
    loss_nat, grad_nat = native_ops.softmax_cross_entropy(logits, targets)
    tol = TOLERANCES[np.dtype(dtype)]
    assert isinstance(loss_nat, float) and grad_nat.dtype == dtype
    np.testing.assert_allclose(loss_nat, loss_ref, **tol)
    np.testing.assert_allclose(grad_nat, grad_ref, **tol)


@needs_native
@pytest.mark.parametrize("name", list(SPECS))
def test_native_does_not_depend_on_the_thread_count(name, restore_num_threads):
    # large enough for the kernels to split the work between threads
    x = _inputs((MULTI_THREAD_ELEMENTS // CHANNELS, CHANNELS), seed=10,
                kinks=True).astype(np.float32)
    g = np.random.default_rng(11).normal(size=x.shape).astype(np.float32)
    results = []
    for n_threads in (1, 2):
        retrograd.set_num_threads(n_threads)
        with retrograd.use_backend("native"):
            results.append(_run(_make(name, np.float32), x, g))
    one, two = results
    for a, b in zip([*one[:2], *one[2]], [*two[:2], *two[2]]):
        np.testing.assert_array_equal(a, b)


# ---- memory layouts, dtypes, stability ----------------------------------------------------
LAYOUTS = {
    "read-only": lambda a: _read_only(a.copy()),
    "strided": lambda a: np.repeat(a, 2, axis=1)[:, ::2],
    "transposed": lambda a: np.ascontiguousarray(a.T).T,
}


def _read_only(a):
    a.setflags(write=False)
    return a


@pytest.mark.parametrize("layout", list(LAYOUTS))
@pytest.mark.parametrize("name", list(SPECS))
def test_read_only_and_non_contiguous_inputs(name, layout, backend, dtype):
    x = _inputs((6, CHANNELS), seed=12, kinks=True).astype(dtype)
    g = np.random.default_rng(13).normal(size=x.shape).astype(dtype)
    x_odd, g_odd = LAYOUTS[layout](x), LAYOUTS[layout](g)
    assert layout == "read-only" or not x_odd.flags.c_contiguous
    expected = _run(_make(name, dtype), x, g)
    got = _run(_make(name, dtype), x_odd, g_odd)
    for a, b in zip([*expected[:2], *expected[2]], [*got[:2], *got[2]]):
        np.testing.assert_array_equal(a, b)
    assert np.array_equal(x_odd, x), "the input was modified"


@pytest.mark.parametrize("name", list(SPECS))
def test_float64_input_to_a_float32_layer_is_cast(name, backend):
    y, dx, _ = _run(_make(name, np.float32), _inputs((2, CHANNELS), 14), np.ones((2, CHANNELS)))
    assert y.dtype == np.float32 and dx.dtype == np.float32


@pytest.mark.parametrize("name", list(SPECS))
def test_large_inputs_are_finite_without_warnings(name, backend, dtype):
    x = np.array([[-1000.0, -88.0, -1.0, 0.0], [1e-3, 1.0, 88.0, 1000.0]], dtype=dtype)
    with warnings.catch_warnings(), np.errstate(all="raise"):
        warnings.simplefilter("error")
        y, dx, param_grads = _run(_make(name, dtype), x, np.ones_like(x))
    for a in [y, dx] + param_grads:
        assert np.all(np.isfinite(a))


def test_saturating_values_at_1000(backend):
    x = np.array([[-1000.0, 1000.0]])
    np.testing.assert_array_equal(Sigmoid(dtype=np.float64).forward(x), [[0.0, 1.0]])
    np.testing.assert_array_equal(GELU(dtype=np.float64).forward(x), [[0.0, 1000.0]])
    np.testing.assert_array_equal(Swish(dtype=np.float64).forward(x), [[0.0, 1000.0]])
    np.testing.assert_allclose(ELU(dtype=np.float64).forward(x), [[-1.0, 1000.0]])
    np.testing.assert_array_equal(Softmax(dtype=np.float64).forward(x), [[0.0, 1.0]])


# ---- fused softmax cross-entropy ----------------------------------------------------------
def _logits_and_targets(n, c, seed, soft, dtype=np.float64):
    rng = np.random.default_rng(seed)
    logits = rng.normal(0.0, 3.0, size=(n, c)).astype(dtype)
    if soft:
        targets = rng.random((n, c)) + 1e-3
        targets /= targets.sum(axis=1, keepdims=True)
    else:
        targets = np.eye(c)[rng.integers(0, c, size=n)]
    return logits, targets.astype(dtype)


@pytest.mark.parametrize("soft", [False, True], ids=["one-hot", "soft"])
def test_softmax_cross_entropy_against_formula_and_differences(soft, numeric_grad):
    logits, targets = _logits_and_targets(4, 5, 15, soft)
    loss, grad = numpy_ops.softmax_cross_entropy(logits, targets)
    p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    assert isinstance(loss, float)
    np.testing.assert_allclose(loss, -np.mean(np.sum(targets * np.log(p), axis=1)), rtol=1e-12)
    np.testing.assert_allclose(grad, (p - targets) / 4, rtol=1e-12)
    numeric = numeric_grad(lambda z: numpy_ops.softmax_cross_entropy(z, targets)[0], logits)
    np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("soft", [False, True], ids=["one-hot", "soft"])
def test_softmax_cross_entropy_matches_pytorch(soft):
    torch = pytest.importorskip("torch")
    logits, targets = _logits_and_targets(6, 3, 16, soft)
    loss, grad = numpy_ops.softmax_cross_entropy(logits, targets)
    t = torch.tensor(logits, requires_grad=True)
    expected = torch.nn.functional.cross_entropy(t, torch.tensor(targets))
    expected.backward()
    np.testing.assert_allclose(loss, expected.item(), rtol=1e-12)
    np.testing.assert_allclose(grad, t.grad.numpy(), rtol=1e-10, atol=1e-16)


@pytest.mark.parametrize("backend_name", ["numpy", pytest.param("native", marks=needs_native)])
@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
def test_softmax_cross_entropy_is_stable_at_1000(backend_name, dtype):
    ops = numpy_ops if backend_name == "numpy" else native_ops
    logits = np.array([[1000.0, -1000.0, 0.0], [-1000.0, -1000.0, 1000.0]], dtype=dtype)
    targets = np.array([[0.0, 1.0, 0.0], [0.5, 0.0, 0.5]], dtype=dtype)
    with warnings.catch_warnings(), np.errstate(all="raise"):
        warnings.simplefilter("error")
        loss, grad = ops.softmax_cross_entropy(logits, targets)
    # -log p: 2000 for the first row; 0.5 * 2000 + 0.5 * 0 for the second
    np.testing.assert_allclose(loss, (2000.0 + 1000.0) / 2, rtol=1e-6)
    np.testing.assert_allclose(grad, (np.array([[1, 0, 0], [0, 0, 1]]) - targets) / 2,
                               atol=1e-7)


@pytest.mark.parametrize("make", [lambda dt: ELU(0.7, dtype=dt), lambda dt: SELU(dtype=dt)],
                         ids=["ELU", "SELU"])
@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
def test_elu_and_selu_gradient_is_exactly_zero_at_minus_infinity(make, dtype, backend):
    layer = make(dtype)
    x = np.array([[-np.inf, -1e30, -1000.0, 0.5]], dtype=dtype)
    y = layer.forward(x)
    dx, _ = layer.backward(np.ones_like(x))
    np.testing.assert_array_equal(dx[0, :3], 0.0)
    assert np.isfinite(y).all() and dx[0, 3] > 0


# ---- randomness: seeds, fresh draws, eval mode --------------------------------------------
@pytest.mark.parametrize("cls", [RReLU, NoisyReLU])
def test_seeded_layers_reproduce(cls, backend):
    x = _inputs((8, 6), seed=17)
    first = [cls(seed=3).forward(x) for _ in range(2)]
    np.testing.assert_array_equal(first[0], first[1])
    layer = cls(seed=3)
    assert not np.array_equal(layer.forward(x), layer.forward(x)), "no fresh draw per forward"
    assert not np.array_equal(cls(seed=4).forward(x), first[0])


def test_rrelu_training_slopes_are_uniform_and_kept_for_backward(backend):
    x = -np.abs(_inputs((50, 40), seed=18)) - 0.1
    layer = RReLU(lower=0.2, upper=0.3, seed=0, dtype=np.float64)
    slopes = layer.forward(x) / x
    assert slopes.min() >= 0.2 and slopes.max() <= 0.3
    assert abs(slopes.mean() - 0.25) < 0.005 and slopes.std() > 0.02
    dx, _ = layer.backward(np.ones_like(x))
    np.testing.assert_allclose(dx, slopes, rtol=1e-12)


def test_rrelu_eval_is_a_leaky_relu_with_the_mean_slope(backend):
    x = _inputs((5, 6), seed=19, kinks=True)
    g = np.random.default_rng(20).normal(size=x.shape)
    layer = _eval(RReLU(lower=0.1, upper=0.5, seed=0, dtype=np.float64))
    expected = _run(LeakyReLU(alpha=0.3, dtype=np.float64), x, g)
    for _ in range(2):
        y, dx, _ = _run(layer, x, g)
        np.testing.assert_allclose(y, expected[0], rtol=1e-15)
        np.testing.assert_allclose(dx, expected[1], rtol=1e-15)


def test_noisy_relu_noise_has_variance_sigmoid(backend):
    # at z = 0 the noise is N(0, 1/2), so E[max(0, noise)] = sqrt(1/2) / sqrt(2 pi);
    # a standard deviation of sigmoid(0) = 1/2 instead would give 0.1995
    y = NoisyReLU(seed=0, dtype=np.float64).forward(np.zeros((200, 250)))
    assert abs(y.mean() - math.sqrt(0.5) / math.sqrt(2 * math.pi)) < 0.005
    assert (y == 0).mean() == pytest.approx(0.5, abs=0.01)


def test_noisy_relu_eval_is_relu(backend):
    x = _inputs((5, 6), seed=21, kinks=True)
    g = np.random.default_rng(22).normal(size=x.shape)
    layer = _eval(NoisyReLU(seed=0, dtype=np.float64))
    y, dx, _ = _run(layer, x, g)
    np.testing.assert_array_equal(y, np.maximum(x, 0))
    np.testing.assert_array_equal(dx, np.where(x > 0, g, 0))


def test_prelu_parameters_and_grads(backend):
    layer = PReLU(num_parameters=3, init=0.2)
    assert [p.shape for p in layer.params] == [(3,)] and layer.alpha.dtype == np.float32
    np.testing.assert_array_equal(layer.alpha, np.float32(0.2))
    x = np.array([[[-1.0, -2.0, 3.0], [-1.0, 4.0, 0.0]]])
    y, dx, (dalpha,) = _run(layer, x, np.ones_like(x))
    np.testing.assert_allclose(y, [[[-0.2, -0.4, 3.0], [-0.2, 4.0, 0.0]]], rtol=1e-6)
    np.testing.assert_allclose(dalpha, [-2.0, -2.0, 0.0])


# ---- configuration, documentation ---------------------------------------------------------
@pytest.mark.parametrize("name", list(SPECS))
def test_get_config_rebuilds_the_layer(name):
    layer = _make(name, np.float64)
    config = layer.get_config()
    clone = type(layer)(**config)
    assert clone.get_config() == config and clone.dtype == np.float64


def test_defaults_follow_the_contract():
    assert LeakyReLU().alpha == 0.01 and ELU().alpha == 1.0 and Swish().beta == 1.0
    assert (HardTanh().min_val, HardTanh().max_val) == (-1.0, 1.0)
    assert (RReLU().lower, RReLU().upper) == (1 / 8, 1 / 3)
    assert PReLU().num_parameters == 1 and PReLU().init == 0.25
    assert GELU().approximate == "none" and Softmax().axis == -1
    assert Sigmoid().dtype == np.float32


def test_docstring_examples(backend):
    failures, tried = doctest.testmod(activations_module, extraglobs={"np": np})[:2]
    assert tried > 0 and failures == 0


# ---- bad input ----------------------------------------------------------------------------
BAD_INPUTS = [
    (np.ones((2, CHANNELS), dtype=np.int64), TypeError, "expected a floating-point input, .*int64"),
    (np.ones((2, CHANNELS), dtype=bool), TypeError, "expected a floating-point input, .*bool"),
    (np.zeros((0, CHANNELS)), ValueError, r"expected a non-empty batch .*got \(0, 4\)"),
    (np.float64(1.0), ValueError, r"expected a non-empty batch .*got \(\)"),
]


@pytest.mark.parametrize("x, error, message", BAD_INPUTS, ids=["int", "bool", "empty", "0-d"])
@pytest.mark.parametrize("name", list(SPECS))
def test_bad_inputs_are_refused(name, x, error, message, backend):
    layer = _make(name, np.float32)
    with pytest.raises(error, match=f"^{type(layer).__name__}: {message}"):
        layer.forward(x)


@pytest.mark.parametrize("name", list(SPECS))
def test_bad_grad_output_and_order(name, backend):
    layer = _make(name, np.float32)
    with pytest.raises(RuntimeError, match=f"{type(layer).__name__}: backward called before"):
        layer.backward(np.ones((2, CHANNELS)))
    layer.forward(np.ones((2, CHANNELS)))
    with pytest.raises(ValueError, match=r"expected grad_output of shape \(2, 4\), got \(2, 5\)"):
        layer.backward(np.ones((2, CHANNELS + 1)))
    with pytest.raises(TypeError, match="expected a floating-point grad_output"):
        layer.backward(np.ones((2, CHANNELS), dtype=np.int32))


@pytest.mark.parametrize("shape", [(2, 3), (6,), (2, 4, 5)])
def test_prelu_channel_count_must_match(shape, backend):
    with pytest.raises(ValueError, match=r"^PReLU: expected input of shape \(N, \.\.\., 4\), "
                                         rf"got \({shape[0]},"):
        PReLU(num_parameters=4).forward(np.ones(shape))


@pytest.mark.parametrize("axis, shape", [(2, (3, 4)), (-3, (3, 4)), (1, (3, 0))])
def test_softmax_axis_must_exist_and_be_non_empty(axis, shape):
    with pytest.raises(ValueError, match="^Softmax: expected (axis in|a non-empty axis)"):
        Softmax(axis=axis).forward(np.ones(shape))


BAD_HYPER = [
    (lambda: LeakyReLU(alpha=float("nan")), "LeakyReLU: expected alpha a finite number"),
    (lambda: ELU(alpha=float("inf")), "ELU: expected alpha a finite number"),
    (lambda: Swish(beta=float("-inf")), "Swish: expected beta a finite number"),
    (lambda: HardTanh(min_val=1.0, max_val=-1.0), r"HardTanh: expected min_val < max_val"),
    (lambda: HardTanh(min_val=1.0, max_val=1.0), r"HardTanh: expected min_val < max_val"),
    (lambda: HardTanh(max_val=float("inf")), "HardTanh: expected max_val a finite number"),
    (lambda: RReLU(lower=0.5, upper=0.1), r"RReLU: expected lower <= upper \(upper=0.1\), "
                                          "got 0.5"),
    (lambda: RReLU(upper=float("nan")), "RReLU: expected upper a finite number"),
    (lambda: GELU(approximate="erf"), r"GELU: expected approximate one of \('none', 'tanh', "
                                      r"'sigmoid'\), got 'erf'"),
    (lambda: GELU(approximate=None), "GELU: expected approximate one of"),
    (lambda: PReLU(num_parameters=0), "PReLU: expected num_parameters a positive integer"),
    (lambda: PReLU(num_parameters=2.0), "PReLU: expected num_parameters a positive integer"),
    (lambda: PReLU(init=float("nan")), "PReLU: expected init a finite number"),
    (lambda: Softmax(axis=1.0), "Softmax: expected axis an integer, got 1.0"),
    (lambda: Softmax(axis=True), "Softmax: expected axis an integer, got True"),
]


@pytest.mark.parametrize("make, message", BAD_HYPER, ids=[m for _, m in BAD_HYPER])
def test_bad_hyper_parameters_are_refused(make, message):
    with pytest.raises(ValueError, match=f"^{message}"):
        make()


def test_non_float_dtype_is_refused():
    with pytest.raises(TypeError, match="^GELU: expected dtype float32 or float64"):
        GELU(dtype=np.int32)


# ---- erf (NumPy has none; GELU's exact form needs it) -------------------------------------
def _erf_sweep():
    return np.concatenate([np.linspace(-8.0, 8.0, 32001), np.geomspace(1e-300, 30.0, 4001),
                           -np.geomspace(1e-300, 30.0, 4001), [0.46875, 4.0, -4.0]])


def test_erf_is_correct_to_float64_rounding():
    x = _erf_sweep()
    expected = np.array([math.erf(v) for v in x])
    np.testing.assert_allclose(erf(x), expected, rtol=1e-15, atol=0)


def test_erfc_is_correct_to_float64_rounding():
    x = _erf_sweep()
    x = x[np.abs(x) < 26.0]
    expected = np.array([math.erfc(v) for v in x])
    np.testing.assert_allclose(erfc(x), expected, rtol=2e-15, atol=0)


def test_erf_special_values_without_warnings():
    x = np.array([0.0, -0.0, np.inf, -np.inf, 1e300, -1e300, 27.0, -27.0, np.nan])
    with np.errstate(all="raise"):
        e, c = erf(x), erfc(x)
    np.testing.assert_array_equal(e, [0, 0, 1, -1, 1, -1, 1, -1, np.nan])
    assert math.copysign(1.0, e[1]) == -1.0
    np.testing.assert_array_equal(c, [1, 1, 0, 2, 0, 2, 0, 2, np.nan])


def test_erf_matches_pytorch():
    torch = pytest.importorskip("torch")
    x = _erf_sweep()
    np.testing.assert_allclose(erf(x), torch.special.erf(torch.tensor(x)).numpy(), rtol=1e-15)
    np.testing.assert_allclose(erfc(x), torch.special.erfc(torch.tensor(x)).numpy(),
                               rtol=1e-14)
