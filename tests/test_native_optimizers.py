"""Tests of the fused native optimizer kernels (native_ops.<name>_step).

Each kernel is checked over several steps against the update written out in
float64 NumPy here (the formulas of the kernel contract), against the NumPy
reference kernels, and against torch.optim where PyTorch is installed; for
independence from the thread count (a thread's block spanning several arrays),
lists of odd and empty arrays, non-contiguous and read-only gradients, and the
checks of the Cython wrapper.
"""
import inspect
import math

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

B1, B2 = 0.9, 0.999
TOL = {np.float32: dict(rtol=1e-5, atol=1e-6), np.float64: dict(rtol=1e-12, atol=1e-14)}


def nadam_scalars(t, lr=0.002, psi=0.004):
    mu = [B1 * (1 - 0.5 * 0.96 ** (k * psi)) for k in range(1, t + 2)]
    prod = math.prod(mu[:t])
    return dict(coef_g=lr * (1 - mu[t - 1]) / (1 - prod),
                coef_m=lr * mu[t] / (1 - prod * mu[t]), beta_1=B1, beta_2=B2,
                bc2=1 - B2 ** t, eps=1e-7)


def radam_rect(t):
    rho_inf = 2 / (1 - B2) - 1
    rho_t = rho_inf - 2 * t * B2 ** t / (1 - B2 ** t)
    if rho_t <= 5:
        return 0.0
    return math.sqrt((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t))


def adam_like(t, **extra):
    return dict(lr=0.01, beta_1=B1, beta_2=B2, eps=1e-7, bc1=1 - B1 ** t, bc2=1 - B2 ** t, **extra)


# name -> (state argument names, scalars of step t as the optimizer computes them)
OPTIMIZERS = {
    "sgd": ((), lambda t: dict(lr=0.1)),
    "momentum": (("velocity",), lambda t: dict(lr=0.05, momentum=0.9)),
    "nag": (("velocity",), lambda t: dict(lr=0.05, momentum=0.9)),
    "adagrad": (("accum",), lambda t: dict(lr=0.05, eps=1e-7)),
    "rmsprop": (("accum",), lambda t: dict(lr=0.01, rho=0.9, eps=1e-7)),
    "adam": (("m", "v"), adam_like),
    "adamax": (("m", "u"), lambda t: dict(lr_t=0.002 / (1 - B1 ** t), beta_1=B1, beta_2=B2,
                                          eps=1e-7)),
    "nadam": (("m", "v"), nadam_scalars),
    "adamw": (("m", "v"), lambda t: adam_like(t, weight_decay=0.1)),
    "radam": (("m", "v"), lambda t: adam_like(t, rect=radam_rect(t))),
    "lion": (("m",), lambda t: dict(lr=1e-3, beta_1=B1, beta_2=0.99, weight_decay=0.1)),
}
NAMES = list(OPTIMIZERS)


def reference(name, p, g, state, s):
    """One step of the contract's formula on float64 arrays, in place.  Returns |c| of
    Lion (where its sign is decided), else None."""
    if name == "sgd":
        p -= s["lr"] * g
    elif name in ("momentum", "nag"):
        v = state["velocity"]
        v[...] = s["momentum"] * v - s["lr"] * g
        p += v if name == "momentum" else s["momentum"] * v - s["lr"] * g
    elif name in ("adagrad", "rmsprop"):
        n = state["accum"]
        n[...] = n + g * g if name == "adagrad" else s["rho"] * n + (1 - s["rho"]) * g * g
        p -= s["lr"] * g / (np.sqrt(n) + s["eps"])
    elif name == "adamax":
        m, u = state["m"], state["u"]
        m[...] = s["beta_1"] * m + (1 - s["beta_1"]) * g
        u[...] = np.maximum(s["beta_2"] * u, np.abs(g))
        p -= s["lr_t"] * m / (u + s["eps"])
    elif name == "lion":
        m = state["m"]
        c = s["beta_1"] * m + (1 - s["beta_1"]) * g
        p -= s["lr"] * (np.sign(c) + s["weight_decay"] * p)
        m[...] = s["beta_2"] * m + (1 - s["beta_2"]) * g
        return np.abs(c)
    else:
        m, v = state["m"], state["v"]
        m[...] = s["beta_1"] * m + (1 - s["beta_1"]) * g
        v[...] = s["beta_2"] * v + (1 - s["beta_2"]) * g * g
        if name == "nadam":
            d = np.sqrt(v / s["bc2"]) + s["eps"]
            p -= s["coef_g"] * g / d + s["coef_m"] * m / d
            return None
        adam = (m / s["bc1"]) / (np.sqrt(v / s["bc2"]) + s["eps"])
        if name == "adam":
            p -= s["lr"] * adam
        elif name == "adamw":
            p -= s["lr"] * (adam + s["weight_decay"] * p)
        elif s["rect"] > 0:   # torch.optim.RAdam: eps on sqrt(v), then times sqrt(bc2)
            p -= s["lr"] * s["rect"] * (m / s["bc1"]) * np.sqrt(s["bc2"]) / (np.sqrt(v) + s["eps"])
        else:
            p -= s["lr"] * m / s["bc1"]
    return None


def make_problem(name, shapes, dtype, seed):
    """params, state (dict name -> list) and a gradient list per step, random but valid
    (non-negative second moments)."""
    rng = np.random.default_rng(seed)
    params = [rng.standard_normal(s).astype(dtype) for s in shapes]
    state = {k: [(np.abs(rng.standard_normal(s)) if k in ("accum", "v", "u")
                  else rng.standard_normal(s)).astype(dtype) for s in shapes]
             for k in OPTIMIZERS[name][0]}
    grads = [[rng.standard_normal(s).astype(dtype) for s in shapes] for _ in range(3)]
    return params, state, grads


def run_steps(module, name, params, state, grads, t0=1):
    for i, g in enumerate(grads):
        getattr(module, f"{name}_step")(params, g, **state, **OPTIMIZERS[name][1](t0 + i))


def run_reference(name, params, state, grads, t0=1):
    """The float64 reference trajectory; for Lion also a mask of the elements whose sign
    was decided by less than float32 rounding at some step."""
    p64 = [p.astype(np.float64) for p in params]
    s64 = {k: [a.astype(np.float64) for a in v] for k, v in state.items()}
    fragile = [np.zeros(p.shape, bool) for p in params]
    for i, g in enumerate(grads):
        scalars = OPTIMIZERS[name][1](t0 + i)
        for j, (p, gj) in enumerate(zip(p64, g)):
            c = reference(name, p, gj.astype(np.float64), {k: v[j] for k, v in s64.items()},
                          scalars)
            if c is not None:
                fragile[j] |= c < 1e-5
    return p64, s64, fragile


def assert_matches(got_params, got_state, ref_params, ref_state, fragile, dtype):
    for got, ref, bad in zip(got_params, ref_params, fragile):
        np.testing.assert_allclose(got[~bad], ref[~bad], **TOL[dtype])
    for k in got_state:
        for got, ref in zip(got_state[k], ref_state[k]):
            np.testing.assert_allclose(got, ref, **TOL[dtype])


shape_lists = st.lists(st.one_of(st.tuples(st.integers(0, 300)),
                                 st.tuples(st.integers(1, 9), st.integers(1, 40)),
                                 st.tuples(*[st.integers(1, 6)] * 4)), min_size=1, max_size=6)


@pytest.mark.parametrize("name", NAMES)
@settings(max_examples=30, deadline=None)
@given(shapes=shape_lists, dtype=st.sampled_from([np.float32, np.float64]),
       threads=st.integers(1, 3), t0=st.integers(1, 8), seed=st.integers(0, 2 ** 31))
def test_matches_the_formula(name, shapes, dtype, threads, t0, seed):
    params, state, grads = make_problem(name, shapes, dtype, seed)
    ref_params, ref_state, fragile = run_reference(name, params, state, grads, t0)
    before = retrograd.get_num_threads()
    try:
        retrograd.set_num_threads(threads)
        run_steps(native_ops, name, params, state, grads, t0)
    finally:
        retrograd.set_num_threads(before)
    assert all(p.dtype == dtype for p in params)
    assert_matches(params, state, ref_params, ref_state, fragile, dtype)


# Sizes around two grains (RG_GRAIN_TRANSCEND = 8192, RG_GRAIN_CHEAP = 65536 per thread),
# with thread blocks that start and end inside arrays and an empty array in between.
BIG_SHAPES = [(MULTI_THREAD_ELEMENTS + 1,), (3,), (0,), (300, 301), (17,)]


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_same_bits_for_any_thread_count(name, dtype, restore_num_threads):
    results = []
    for threads in (1, 2, 3):
        retrograd.set_num_threads(threads)
        params, state, grads = make_problem(name, BIG_SHAPES, dtype, seed=7)
        run_steps(native_ops, name, params, state, grads)
        results.append((params, state))
    for params, state in results[1:]:
        for a, b in zip(params + sum(state.values(), []),
                        results[0][0] + sum(results[0][1].values(), [])):
            np.testing.assert_array_equal(a, b)
    params, state, grads = make_problem(name, BIG_SHAPES, dtype, seed=7)
    assert_matches(*results[0], *run_reference(name, params, state, grads), dtype)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_matches_numpy_reference(name, dtype):
    if not hasattr(numpy_ops, f"{name}_step"):
        pytest.skip(f"numpy_ops.{name}_step is not there yet")
    shapes = [(6, 1, 5, 5), (6,), (257, 3), (1,)]
    native = make_problem(name, shapes, dtype, seed=3)
    ref = make_problem(name, shapes, dtype, seed=3)
    run_steps(native_ops, name, native[0], native[1], native[2])
    run_steps(numpy_ops, name, ref[0], ref[1], ref[2])
    for a, b in zip(native[0] + sum(native[1].values(), []), ref[0] + sum(ref[1].values(), [])):
        assert a.dtype == b.dtype == dtype
        np.testing.assert_allclose(a, b, **TOL[dtype])


def test_lion_sign_of_zero_is_zero():
    p, m = [np.array([2.0, -1.0, 0.5])], [np.zeros(3)]
    native_ops.lion_step(p, [np.zeros(3)], m, lr=0.1, beta_1=0.9, beta_2=0.99, weight_decay=0.5)
    np.testing.assert_allclose(p[0], np.array([2.0, -1.0, 0.5]) * (1 - 0.1 * 0.5), rtol=1e-15)
    np.testing.assert_array_equal(m[0], 0.0)


def test_radam_switches_on_rect():
    p = [np.array([1.0, 1.0])]
    state = dict(m=[np.zeros(2)], v=[np.zeros(2)])
    g = [np.array([1.0, -2.0])]
    native_ops.radam_step(p, g, **state, **adam_like(1, rect=0.0))
    # unrectified first step: p -= lr m / bc1 = lr g
    np.testing.assert_allclose(p[0], [1 - 0.01, 1 + 0.02], rtol=1e-14)
    native_ops.radam_step(p, g, **state, **adam_like(2, rect=0.5))
    m, v = 0.19 * np.array([1.0, -2.0]), 0.001999 * np.array([1.0, 4.0])
    step = 0.01 * 0.5 * (m / (1 - B1 ** 2)) * np.sqrt(1 - B2 ** 2) / (np.sqrt(v) + 1e-7)
    np.testing.assert_allclose(p[0], [0.99, 1.02] - step, rtol=1e-14)


def test_grads_any_layout_read_only_and_untouched():
    rng = np.random.default_rng(1)
    params = [rng.standard_normal((5, 7)), rng.standard_normal(4)]
    expected = [p.copy() for p in params]
    big = rng.standard_normal((7, 10))
    grads = [big[:, ::2].T, rng.standard_normal(4).astype(np.float32)]
    grads[1].setflags(write=False)
    kept = [g.copy() for g in grads]
    m, v = [np.zeros_like(p) for p in params], [np.zeros_like(p) for p in params]
    native_ops.adam_step(params, grads, m, v, **adam_like(1))
    for p, g in zip(expected, grads):
        reference("adam", p, g.astype(np.float64),
                  dict(m=np.zeros_like(p), v=np.zeros_like(p)), adam_like(1))
    for got, want in zip(params, expected):
        np.testing.assert_allclose(got, want, rtol=1e-12)
    for g, k in zip(grads, kept):
        np.testing.assert_array_equal(g, k)


def test_empty_lists_and_empty_arrays():
    native_ops.adam_step([], [], [], [], **adam_like(1))
    p = [np.zeros((0, 3), np.float32)]
    native_ops.momentum_step(p, [np.zeros((0, 3), np.float32)], [np.zeros((0, 3), np.float32)],
                             lr=0.1, momentum=0.9)
    assert p[0].shape == (0, 3)


def _adam(params, grads=None, m=None, v=None):
    like = [np.zeros(np.shape(p), np.float32) for p in params]
    native_ops.adam_step(params, like if grads is None else grads, like if m is None else m,
                         [np.zeros(np.shape(p), np.float32) for p in params] if v is None else v,
                         **adam_like(1))


def _read_only(a):
    a.setflags(write=False)
    return a


BAD_CALLS = [
    (lambda: _adam([np.zeros((4, 3), np.float32).T]), ValueError,
     r"Adam: expected params\[0\] C-contiguous, got a non-contiguous array"),
    (lambda: _adam([_read_only(np.zeros(3, np.float32))]), ValueError,
     r"Adam: expected params\[0\] writeable, got a read-only array"),
    (lambda: _adam([np.zeros(3, np.float32)], m=[_read_only(np.zeros(3, np.float32))]),
     ValueError, r"Adam: expected m\[0\] writeable"),
    (lambda: _adam([np.zeros(3, np.float32)], v=[np.zeros(6, np.float32)[::2]]), ValueError,
     r"Adam: expected v\[0\] C-contiguous"),
    (lambda: _adam([np.zeros(3, np.float32)], m=[np.zeros(3)]), TypeError,
     r"Adam: expected m\[0\] of dtype float32 \(that of params\[0\]\), got dtype float64"),
    (lambda: _adam([np.zeros(3, np.float32), np.zeros(2)]), TypeError,
     r"Adam: expected params\[1\] of dtype float32"),
    (lambda: _adam([np.zeros(3, np.int64)], m=[np.zeros(3, np.int64)]), TypeError,
     r"Adam: expected params\[0\] a float32 or float64 ndarray, got dtype 'int64'"),
    (lambda: _adam([[0.0, 1.0]]), TypeError,
     r"Adam: expected params\[0\] a float32 or float64 ndarray, got 'list'"),
    (lambda: _adam([np.zeros(3, np.float32)], m=[np.zeros(4, np.float32)]), ValueError,
     r"Adam: expected m\[0\] of shape \(3,\) \(that of params\[0\]\), got shape \(4,\)"),
    (lambda: _adam([np.zeros((2, 3), np.float32)], v=[np.zeros((3, 2), np.float32)]), ValueError,
     r"Adam: expected v\[0\] of shape \(2, 3\)"),
    (lambda: _adam([np.zeros(3, np.float32)], grads=[]), ValueError,
     r"Adam: expected grads with 1 arrays \(one per param\), got 0"),
    (lambda: _adam([np.zeros(3, np.float32)], m=[]), ValueError,
     r"Adam: expected m with 1 arrays \(one per param\), got 0"),
]


@pytest.mark.parametrize("call, error, message", BAD_CALLS)
def test_bad_arrays_are_refused(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_refused_call_changes_nothing():
    p = [np.ones(3, np.float32), np.ones(2, np.float32)]
    m = [np.zeros(3, np.float32), np.zeros(3, np.float32)]
    with pytest.raises(ValueError):
        native_ops.momentum_step(p, [np.ones(3, np.float32), np.ones(2, np.float32)], m,
                                 lr=0.1, momentum=0.9)
    np.testing.assert_array_equal(p[0], 1.0)
    np.testing.assert_array_equal(m[0], 0.0)


def test_thread_count_is_checked():
    from retrograd._native import _optimizers
    with pytest.raises(ValueError, match="SGD: expected n_threads >= 1, got 0"):
        _optimizers.step(0, [np.zeros(2)], [np.zeros(2)], (), (0.1,), 0, "SGD")


@pytest.mark.parametrize("kind, states, scalars, message", [
    (-1, (), (0.1,), r"expected an optimizer kind in \[0, 11\), got -1"),
    (11, (), (0.1,), r"expected an optimizer kind in \[0, 11\), got 11"),
    (0, ([np.zeros(2)],), (0.1,), r"expected 0 state lists, got 1"),
    (5, ([np.zeros(2)],), (0.1,) * 6, r"expected 2 state lists, got 1"),
    (0, (), (), r"expected 1 scalars, got 0"),
    (5, ([np.zeros(2)], [np.zeros(2)]), (0.1,) * 7, r"expected 6 scalars, got 7"),
])
def test_the_one_entry_point_checks_kind_states_and_scalars(kind, states, scalars, message):
    # one wrapper serves every optimizer: the kind must exist, and the state lists and
    # scalars must be as many as the C update of that kind reads
    from retrograd._native import _optimizers
    p = [np.ones(2)]
    with pytest.raises(ValueError, match="Opt: " + message):
        _optimizers.step(kind, p, [np.ones(2)], states, scalars, 1, "Opt")
    np.testing.assert_array_equal(p[0], 1.0)


@pytest.mark.parametrize("name", NAMES)
def test_each_step_is_the_kind_of_the_table(name):
    # native_ops.<name>_step forwards to the entry point with the kind of the kernel table;
    # called by keywords, positionally, or with a caller's owner, it does the same update
    params, state, grads = make_problem(name, [(5,)], np.float64, seed=2)
    by_keywords = make_problem(name, [(5,)], np.float64, seed=2)
    scalars = OPTIMIZERS[name][1](1)
    order = list(inspect.signature(getattr(numpy_ops, f"{name}_step")).parameters)
    positional = [state[k] if k in state else scalars[k] for k in order[2:-1]]   # not owner
    getattr(native_ops, f"{name}_step")(params, grads[0], *positional, owner="Mine")
    getattr(native_ops, f"{name}_step")(by_keywords[0], by_keywords[2][0], **by_keywords[1],
                                        **scalars)
    for a, b in zip(params, by_keywords[0]):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="^Mine: expected grads with 1 arrays"):
        getattr(native_ops, f"{name}_step")(params, [], *positional, owner="Mine")


# ---- against torch.optim: the same trajectories (float64) ------------------------------------
def _torch_optimizer(torch, name, tensors):
    o = torch.optim
    table = {
        "sgd": lambda: o.SGD(tensors, lr=0.1),
        "momentum": lambda: o.SGD(tensors, lr=0.05, momentum=0.9),
        "nag": lambda: o.SGD(tensors, lr=0.05, momentum=0.9, nesterov=True),
        "adagrad": lambda: o.Adagrad(tensors, lr=0.05, eps=1e-7),
        "rmsprop": lambda: o.RMSprop(tensors, lr=0.01, alpha=0.9, eps=1e-7),
        "adam": lambda: o.Adam(tensors, lr=0.01, betas=(B1, B2), eps=1e-7),
        "adamw": lambda: o.AdamW(tensors, lr=0.01, betas=(B1, B2), eps=1e-7, weight_decay=0.1),
        "nadam": lambda: o.NAdam(tensors, lr=0.002, betas=(B1, B2), eps=1e-7),
        # torch adds eps to |g| inside AdaMax's max; with eps = 0 the updates coincide
        "adamax": lambda: o.Adamax(tensors, lr=0.002, betas=(B1, B2), eps=0.0),
        "radam": lambda: o.RAdam(tensors, lr=0.01, betas=(B1, B2), eps=1e-7),
    }
    return table[name]()


@pytest.mark.parametrize("name", [n for n in NAMES if n != "lion"])
def test_matches_torch_optim(name):
    torch = pytest.importorskip("torch")
    # torch keeps NAdam's running product of mu in its default dtype: make that float64
    before = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        _compare_with_torch(torch, name)
    finally:
        torch.set_default_dtype(before)


def _compare_with_torch(torch, name):
    rng = np.random.default_rng(5)
    shapes = [(6, 1, 5, 5), (6,), (40, 12)]
    params = [rng.standard_normal(s) for s in shapes]
    tensors = [torch.tensor(p, requires_grad=True) for p in params]
    opt = _torch_optimizer(torch, name, tensors)
    state = {k: [np.zeros(s) for s in shapes] for k in OPTIMIZERS[name][0]}
    for t in range(1, 9):   # RAdam rectifies from t = 6 on
        grads = [rng.standard_normal(s) for s in shapes]
        scalars = OPTIMIZERS[name][1](t)
        if name == "adamax":
            scalars["eps"] = 0.0
        getattr(native_ops, f"{name}_step")(params, grads, **state, **scalars)
        for tensor, g in zip(tensors, grads):
            tensor.grad = torch.tensor(g)
        opt.step()
        for p, tensor in zip(params, tensors):
            np.testing.assert_allclose(p, tensor.detach().numpy(), rtol=1e-11, atol=1e-13)
