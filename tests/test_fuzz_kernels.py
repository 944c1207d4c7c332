"""Property-based fuzzing of every native kernel against the NumPy reference (issue 6).

Hypothesis draws shapes (1 element, sizes off the SIMD widths 8 and 16, and now and then
enough elements to run on several threads, conftest.MULTI_THREAD_ELEMENTS), float32 or
float64, a thread count 1..4 and, for every input array, a memory layout (``Layout``):
contiguous, every other element, transposed (a Fortran-order copy seen through .T),
reversed along an axis (negative strides), or misaligned (one element into a larger
buffer, so the data pointer is off the 16/32/64-byte SIMD alignment), each optionally
read-only.  Every kernel is run through ``native_ops`` on those views and compared with
``numpy_ops`` on contiguous copies; every layer family is run through the public layers
(and optimizers, and the fused softmax cross-entropy loss) on both backends with the same
views.  Inputs must come back unchanged, byte for byte, buffer around the view included.

Results are compared with conftest.TOLERANCES.  Sums (convolution, average pooling,
PReLU's slope gradient, overlapping pooling windows) are compared with
atol + rtol * sum|terms| instead of atol + rtol * |result|: a sum that cancels to near zero
keeps only the absolute accuracy of its terms, whatever the order of the additions.

The hypothesis profile sets the number of examples: a few dozen per test by default,
thousands with ``pytest --slow`` (conftest.py).
"""
import contextlib
import inspect
from typing import NamedTuple

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import retrograd
from conftest import MULTI_THREAD_ELEMENTS, TOLERANCES, num_threads
from retrograd import layers, losses, optimizers
from retrograd.backend import numpy_ops
from test_native_norm import bn_backward_scales, inv_std_of, ln_backward_scales

pytestmark = pytest.mark.skipif(not retrograd.native_available(),
                                reason="native kernels not built")
if retrograd.native_available():
    from retrograd.backend import native_ops

# Examples per test under --slow for the heaviest families (element-wise, softmax and
# optimizer kernels, one test per kernel, each example now and then on ~10^6 elements):
# the whole file then runs in about a quarter of an hour on 2 cores.
SLOW_HEAVY_EXAMPLES = 1000


def fuzz(slow_max_examples=None):
    """The settings of a fuzz test: no deadline, and the loaded profile's max_examples
    ("fast" or "slow", conftest.py), at most ``slow_max_examples`` when given."""
    if slow_max_examples is not None and settings.default.max_examples > slow_max_examples:
        return settings(deadline=None, max_examples=slow_max_examples)
    return settings(deadline=None)


# ---- memory layouts ------------------------------------------------------------------------
class Layout(NamedTuple):
    """How an input array is laid out in memory (see the module docstring)."""
    kind: str
    readonly: bool
    axis: int

    def apply(self, a):
        """A new view holding ``a``'s values in this layout ("transposed" of a 1-D array
        is "strided": its transpose is itself)."""
        if self.kind == "strided" or (self.kind == "transposed" and a.ndim < 2):
            buf = np.full(a.shape[:-1] + (2 * a.shape[-1],), 7, dtype=a.dtype)
            view = buf[..., ::2]
        elif self.kind == "transposed":
            view = np.full(a.shape[::-1], 7, dtype=a.dtype).T
        elif self.kind == "negative":
            axis = self.axis % a.ndim
            view = np.flip(np.full(a.shape, 7, dtype=a.dtype), axis)
        elif self.kind == "misaligned":
            buf = np.full(a.size + 1, 7, dtype=a.dtype)
            view = buf[1:].reshape(a.shape)
            assert view.ctypes.data % 16 != 0
        else:
            view = np.full(a.shape, 7, dtype=a.dtype)
        view[...] = a
        if self.readonly:
            view.setflags(write=False)
        return view


LAYOUT_KINDS = ("contiguous", "strided", "transposed", "negative", "misaligned")
layouts = st.builds(Layout, st.sampled_from(LAYOUT_KINDS), st.booleans(), st.integers(0, 3))
# For arrays a kernel updates in place: contiguous and writeable.
writable_layouts = st.builds(Layout, st.sampled_from(("contiguous", "misaligned")),
                             st.just(False), st.just(0))


@contextlib.contextmanager
def unchanged(*views):
    """Checks on exit that no array (nor the rest of the buffer it views) was written."""
    owners = [v if v.base is None else v.base for v in views]
    before = [o.tobytes() for o in owners]
    yield
    for i, (owner, data) in enumerate(zip(owners, before)):
        assert owner.tobytes() == data, f"input {i} of the kernel was modified"


# ---- data ----------------------------------------------------------------------------------
dtypes = st.sampled_from([np.float32, np.float64])
thread_counts = st.integers(1, 4)
seeds = st.integers(0, 2**32 - 1)
# About one example in sixteen is large enough to run on several threads.
bigs = st.sampled_from((False,) * 15 + (True,))
# Sizes 1..19 (around the SIMD widths 8 and 16) and a few just off larger powers of two.
dims = st.one_of(st.integers(1, 19), st.sampled_from([31, 32, 33, 63, 65, 129]))
SPECIALS = (0.0, -0.0, 1.0, -1.0, 3.0, -3.0, 10.0, -10.0, 88.0, -88.0, 1000.0, -1000.0,
            1e-30, -1e-30)
# A NaN input must give NaN where the NumPy kernel gives NaN.
WITH_NAN = SPECIALS + (np.nan,)


def values(rng, shape, dtype, scale=1.0, specials=(), share=0.1):
    """Normal values times ``scale``, about ``share`` of them replaced by ``specials``."""
    a = rng.standard_normal(shape) * scale
    if specials and a.size:
        where = rng.random(shape) < share
        a[where] = rng.choice(np.asarray(specials, dtype=np.float64), size=int(where.sum()))
    return a.astype(dtype)


SMALL_ELEMENTS = 20_000


@st.composite
def small_shapes(draw, min_dims=1, max_dims=3):
    """A shape of ``dims``, each cut so that the whole has at most SMALL_ELEMENTS elements."""
    shape, room = [], SMALL_ELEMENTS
    for _ in range(draw(st.integers(min_dims, max_dims))):
        shape.append(min(draw(dims), room))
        room //= shape[-1]
    return tuple(shape)


@st.composite
def shapes(draw, min_dims=1, max_dims=3):
    """A small shape, or (rows, cols) of at least MULTI_THREAD_ELEMENTS elements."""
    if draw(bigs):
        rows = draw(st.integers(1, 8))
        return (rows, -(-MULTI_THREAD_ELEMENTS // rows) + draw(st.integers(0, 17)))
    return draw(small_shapes(min_dims, max_dims))


# ---- comparisons ---------------------------------------------------------------------------
def assert_close(got, want, dtype, scale=None, what="result"):
    """got == want within TOLERANCES[dtype]: |got - want| <= atol + rtol * |want|, or with
    ``scale`` (sum of |terms| of a sum) |got - want| <= atol + rtol * scale.  Same shape and
    dtype; NaN matches NaN."""
    got, want = np.asarray(got), np.asarray(want)
    assert got.shape == want.shape, f"{what}: shape {got.shape}, expected {want.shape}"
    assert got.dtype == want.dtype == dtype, f"{what}: dtype {got.dtype}, expected {want.dtype}"
    tol = TOLERANCES[np.dtype(dtype)]
    if scale is None:
        np.testing.assert_allclose(got, want, err_msg=what, **tol)
        return
    err = np.abs(got.astype(np.float64) - want.astype(np.float64))
    bound = tol["atol"] + tol["rtol"] * np.asarray(scale, dtype=np.float64)
    ok = (err <= bound) | (got == want) | (np.isnan(got) & np.isnan(want))
    if not ok.all():
        i = np.unravel_index(np.argmin(ok), ok.shape)
        raise AssertionError(f"{what}: {np.count_nonzero(~ok)} of {ok.size} elements beyond "
                             f"atol + rtol * sum|terms|; first at {i}: got {got[i]!r}, "
                             f"want {want[i]!r}, bound {bound[i]!r}")


def f64abs(a):
    return np.abs(np.asarray(a, dtype=np.float64))


# ---- element-wise activations (ops) --------------------------------------------------------
ELEMENTWISE = ["relu", "leaky_relu", "sigmoid", "tanh", "softsign", "hard_sigmoid", "hard_tanh",
               "elu", "selu", "gelu_erf", "gelu_tanh", "gelu_sigmoid", "swish"]
moderate = st.floats(-2.0, 2.0, allow_nan=False, width=32)


@st.composite
def hypers(draw, name):
    """The hyper-parameters of an element-wise kernel (in kernel order)."""
    if name == "hard_tanh":
        low = draw(st.floats(-3.0, 1.0, width=32))
        return (low, low + draw(st.floats(0.125, 4.0, width=32)))
    if name in ("leaky_relu", "swish"):
        return (draw(moderate),)
    if name == "elu":
        return (draw(st.floats(0.0, 3.0, width=32)),)
    return ()


@st.composite
def elementwise_cases(draw, name):
    return dict(hyper=draw(hypers(name)), shape=draw(shapes()), dtype=draw(dtypes),
                scale=draw(st.sampled_from([0.5, 3.0, 30.0])), x=draw(layouts), dy=draw(layouts),
                y=draw(layouts), threads=draw(thread_counts), seed=draw(seeds))


@pytest.mark.parametrize("name", ELEMENTWISE)
@fuzz(SLOW_HEAVY_EXAMPLES)
@given(data=st.data())
def test_elementwise_ops(name, data):
    case = data.draw(elementwise_cases(name), label="case")
    hyper, dtype = case["hyper"], case["dtype"]
    rng = np.random.default_rng(case["seed"])
    x = values(rng, case["shape"], dtype, case["scale"], WITH_NAN + hyper)
    dy = values(rng, x.shape, dtype)
    y_ref = getattr(numpy_ops, f"{name}_forward")(x, *hyper)
    # the reference's y into both backwards: only the derivatives are compared there
    dx_ref = getattr(numpy_ops, f"{name}_backward")(dy, x, y_ref, *hyper)
    xv, dyv, yv = case["x"].apply(x), case["dy"].apply(dy), case["y"].apply(y_ref)
    with unchanged(xv, dyv, yv), num_threads(case["threads"]):
        y = getattr(native_ops, f"{name}_forward")(xv, *hyper)
        dx = getattr(native_ops, f"{name}_backward")(dyv, xv, yv, *hyper)
    assert_close(y, y_ref, dtype, what=f"{name} forward")
    assert_close(dx, dx_ref, dtype, what=f"{name} backward")


# ---- PReLU, RReLU, NoisyReLU (ops) ---------------------------------------------------------
slope_cases = st.fixed_dictionaries(dict(
    shape=shapes(), dtype=dtypes, x=layouts, dy=layouts, aux=layouts, threads=thread_counts,
    seed=seeds))


@pytest.mark.parametrize("kind", ["prelu_shared", "prelu_channels", "rrelu", "noisy_relu"])
@fuzz(SLOW_HEAVY_EXAMPLES)
@given(case=slope_cases)
def test_slope_activation_ops(kind, case):
    dtype = case["dtype"]
    rng = np.random.default_rng(case["seed"])
    x = values(rng, case["shape"], dtype, 3.0, WITH_NAN)
    dy = values(rng, x.shape, dtype)
    xv, dyv = case["x"].apply(x), case["dy"].apply(dy)
    if kind.startswith("prelu"):
        alpha = values(rng, (x.shape[-1] if kind == "prelu_channels" else 1,), dtype)
        av = case["aux"].apply(alpha)
        with unchanged(xv, dyv, av), num_threads(case["threads"]):
            y = native_ops.prelu_forward(xv, av)
            dx, dalpha = native_ops.prelu_backward(dyv, xv, av)
        dx_ref, dalpha_ref = numpy_ops.prelu_backward(dy, x, alpha)
        assert_close(y, numpy_ops.prelu_forward(x, alpha), dtype, what="prelu forward")
        assert_close(dx, dx_ref, dtype, what="prelu backward dx")
        # sum over x <= 0 of |dy x|: dalpha of |dy| is minus that, term by term
        scale = -numpy_ops.prelu_backward(f64abs(dy), x.astype(np.float64), alpha)[1]
        assert_close(dalpha, dalpha_ref, dtype, scale, what="prelu backward dalpha")
        return
    if kind == "rrelu":
        aux = rng.uniform(-0.5, 1.5, x.shape).astype(dtype)
        forward, backward = native_ops.rrelu_forward, native_ops.rrelu_backward
        y_ref, dx_ref = numpy_ops.rrelu_forward(x, aux), numpy_ops.rrelu_backward(dy, x, aux)
    else:
        aux = values(rng, x.shape, dtype)
        forward, backward = native_ops.noisy_relu_forward, native_ops.noisy_relu_backward
        y_ref, dx_ref = numpy_ops.noisy_relu_forward(x, aux), numpy_ops.noisy_relu_backward(dy, x)
    av = case["aux"].apply(aux)
    with unchanged(xv, dyv, av), num_threads(case["threads"]):
        y = forward(xv, av)
        dx = backward(dyv, xv, av) if kind == "rrelu" else backward(dyv, xv)
    assert_close(y, y_ref, dtype, what=f"{kind} forward")
    assert_close(dx, dx_ref, dtype, what=f"{kind} backward")


# ---- softmax and the fused softmax cross-entropy (ops) -------------------------------------
@st.composite
def softmax_cases(draw):
    return dict(shape=draw(shapes()), dtype=draw(dtypes), scale=draw(st.sampled_from([1.0, 30.0])),
                one_hot=draw(st.booleans()), x=draw(layouts), dy=draw(layouts), y=draw(layouts),
                t=draw(layouts), threads=draw(thread_counts), seed=draw(seeds))


def targets_for(rng, shape, dtype, one_hot):
    """(N, C) probability rows: one-hot, or soft (Dirichlet)."""
    n, c = shape
    if one_hot:
        t = np.zeros(shape, dtype=dtype)
        t[np.arange(n), rng.integers(0, c, n)] = 1
        return t
    return rng.dirichlet(np.ones(c), n).astype(dtype)


@fuzz(SLOW_HEAVY_EXAMPLES)
@given(case=softmax_cases())
def test_softmax_ops(case):
    dtype = case["dtype"]
    rng = np.random.default_rng(case["seed"])
    x = values(rng, case["shape"], dtype, case["scale"], WITH_NAN, share=0.02)
    dy = values(rng, x.shape, dtype)
    y_ref = numpy_ops.softmax_forward(x)
    dx_ref = numpy_ops.softmax_backward(dy, x, y_ref)
    logits = x.reshape(-1, x.shape[-1])
    t = targets_for(rng, logits.shape, dtype, case["one_hot"])
    loss_ref, grad_ref = numpy_ops.softmax_cross_entropy(logits, t)
    xv, dyv, yv = case["x"].apply(x), case["dy"].apply(dy), case["y"].apply(y_ref)
    lv, tv = case["x"].apply(logits), case["t"].apply(t)
    with unchanged(xv, dyv, yv, lv, tv), num_threads(case["threads"]):
        y = native_ops.softmax_forward(xv)
        dx = native_ops.softmax_backward(dyv, xv, yv)
        loss, grad = native_ops.softmax_cross_entropy(lv, tv)
    assert_close(y, y_ref, dtype, what="softmax forward")
    assert_close(dx, dx_ref, dtype, what="softmax backward")
    assert isinstance(loss, float)
    assert_close(np.asarray(loss, dtype), np.asarray(loss_ref, dtype), dtype,
                 what="softmax cross-entropy loss")
    assert_close(grad, grad_ref, dtype, what="softmax cross-entropy gradient")


# ---- optimizer updates (ops: one step of every kernel, arbitrary state) ---------------------
OPTIMIZER_KERNELS = ["sgd", "momentum", "nag", "adagrad", "rmsprop", "adam", "adamax", "nadam",
                     "adamw", "radam", "lion"]
STATE_NAMES = {"velocity", "accum", "m", "v", "u"}
NON_NEGATIVE_STATE = {"accum", "v", "u"}    # running sums of squares and maxima of |g|
fraction = st.floats(0.0, 0.999)
SCALARS = {
    "lr": st.floats(1e-4, 0.1), "lr_t": st.floats(1e-4, 0.1), "coef_g": st.floats(1e-4, 0.1),
    "coef_m": st.floats(1e-4, 0.1), "momentum": fraction, "rho": fraction, "beta_1": fraction,
    "beta_2": fraction, "eps": st.sampled_from([1e-8, 1e-7, 1e-3]),
    "bc1": st.floats(0.01, 1.0), "bc2": st.floats(0.01, 1.0),
    "weight_decay": st.floats(0.0, 0.1), "rect": st.one_of(st.just(0.0), st.floats(0.1, 1.0)),
}

BIG_VECTOR = (MULTI_THREAD_ELEMENTS + 7,)    # one large array in a list of small ones


def lion_untie(g, m, beta_1):
    """g with the sign flipped where c = b1 m + (1 - b1) g lies within 0.1 % of its terms'
    size of zero: there sign(c) depends on the rounding of the two products (a fused
    multiply-add or not), not on the kernel.  Flipped, c is far from zero."""
    a, b = beta_1 * m.astype(np.float64), (1 - beta_1) * g.astype(np.float64)
    tie = np.abs(a + b) <= 1e-3 * (np.abs(a) + np.abs(b))
    return np.where(tie & (g != 0), -g, g).astype(g.dtype)


def kernel_arguments(name):
    """(state names, scalar names) of ``numpy_ops.<name>_step`` in signature order (its
    positional parameters after params and grads; owner= is keyword-only)."""
    params = [p.name for p in inspect.signature(getattr(numpy_ops, f"{name}_step")).parameters
              .values() if p.kind == p.POSITIONAL_OR_KEYWORD][2:]
    return ([p for p in params if p in STATE_NAMES], [p for p in params if p not in STATE_NAMES])


@st.composite
def optimizer_kernel_cases(draw, name):
    """A list of 1..3 small arrays and, now and then, a large one (the kernel sees them
    as one range split between threads), random state and the kernel's scalars."""
    state_names, scalar_names = kernel_arguments(name)
    array_shapes = [draw(small_shapes()) for _ in range(draw(st.integers(1, 3)))]
    if draw(bigs):
        array_shapes.insert(draw(st.integers(0, len(array_shapes))), BIG_VECTOR)
    count = len(array_shapes)
    return dict(scalars={s: draw(SCALARS[s]) for s in scalar_names},
                shapes=array_shapes, dtype=draw(dtypes),
                params=[draw(writable_layouts) for _ in range(count)],
                state=[[draw(writable_layouts) for _ in state_names] for _ in range(count)],
                grads=[draw(layouts) for _ in range(count)], threads=draw(thread_counts),
                seed=draw(seeds))


@pytest.mark.parametrize("name", OPTIMIZER_KERNELS)
@fuzz(SLOW_HEAVY_EXAMPLES)
@given(data=st.data())
def test_optimizer_step_ops(name, data):
    case = data.draw(optimizer_kernel_cases(name), label="case")
    dtype = case["dtype"]
    state_names, _ = kernel_arguments(name)
    rng = np.random.default_rng(case["seed"])
    params = [values(rng, s, dtype) for s in case["shapes"]]
    grads = [values(rng, s, dtype, specials=(0.0,)) for s in case["shapes"]]
    state = [[np.abs(values(rng, s, dtype, 0.1)) if n in NON_NEGATIVE_STATE
              else values(rng, s, dtype, 0.1) for n in state_names] for s in case["shapes"]]
    if name == "lion":
        grads = [lion_untie(g, m[0], case["scalars"]["beta_1"]) for g, m in zip(grads, state)]
    p_ref, s_ref = [p.copy() for p in params], [[a.copy() for a in group] for group in state]
    getattr(numpy_ops, f"{name}_step")(p_ref, grads, *zip(*s_ref), **case["scalars"])
    p_nat = [lay.apply(p) for lay, p in zip(case["params"], params)]
    s_nat = [[lay.apply(a) for lay, a in zip(lays, group)]
             for lays, group in zip(case["state"], state)]
    g_nat = [lay.apply(g) for lay, g in zip(case["grads"], grads)]
    with unchanged(*g_nat), num_threads(case["threads"]):
        getattr(native_ops, f"{name}_step")(p_nat, g_nat, *map(list, zip(*s_nat)),
                                            **case["scalars"])
    for i, (got, want) in enumerate(zip(p_nat, p_ref)):
        assert_close(got, want, dtype, what=f"{name} params[{i}]")
    for i, (got, want) in enumerate(zip(s_nat, s_ref)):
        for state_name, a, b in zip(state_names, got, want):
            assert_close(a, b, dtype, what=f"{name} {state_name}[{i}]")


# ---- optimizers (public: several steps of every class) -------------------------------------
second_moment = st.floats(0.5, 0.999)
OPTIMIZER_CLASSES = {
    "SGD": {}, "Momentum": {"momentum": fraction}, "NAG": {"momentum": fraction},
    "AdaGrad": {"epsilon": SCALARS["eps"]},
    "RMSProp": {"decay_rate": fraction, "epsilon": SCALARS["eps"]},
    # beta_2 >= 0.5: with beta_2 = 0 a zero gradient leaves v = 0 and the step m / eps
    # amplifies m's rounding (after a cancellation, 1e-4 relative) by 1 / eps
    "Adam": {"beta_1": fraction, "beta_2": second_moment, "epsilon": SCALARS["eps"]},
    "AdaMax": {"beta_1": fraction, "beta_2": second_moment, "epsilon": SCALARS["eps"]},
    "Nadam": {"beta_1": fraction, "beta_2": second_moment, "epsilon": SCALARS["eps"],
              "momentum_decay": st.floats(0.0, 0.01)},
    "AdamW": {"beta_1": fraction, "beta_2": second_moment, "epsilon": SCALARS["eps"],
              "weight_decay": SCALARS["weight_decay"]},
    # up to 6 steps: with these beta_2 RAdam's rectified branch starts at step 6
    "RAdam": {"beta_1": fraction, "beta_2": st.sampled_from([0.9, 0.99, 0.999]),
              "epsilon": SCALARS["eps"]},
    "Lion": {"beta_1": fraction, "beta_2": fraction, "weight_decay": SCALARS["weight_decay"]},
}
MAX_PARAMS = 7    # up to 3 groups of 1..2 small arrays, and one large array now and then


@st.composite
def optimizer_cases(draw, name):
    kwargs = {k: draw(v) for k, v in OPTIMIZER_CLASSES[name].items()}
    groups = [[draw(small_shapes()) for _ in range(draw(st.integers(1, 2)))]
              for _ in range(draw(st.integers(1, 3)))]
    if draw(bigs):
        groups.insert(draw(st.integers(0, len(groups))), [BIG_VECTOR])
    return dict(kwargs=dict(kwargs, learning_rate=draw(st.floats(1e-4, 0.1))), groups=groups,
                steps=draw(st.integers(1, 6)), dtype=draw(dtypes),
                params=draw(st.lists(layouts.map(lambda lay: lay._replace(readonly=False)),
                                     min_size=MAX_PARAMS, max_size=MAX_PARAMS)),
                grads=draw(st.lists(layouts, min_size=MAX_PARAMS, max_size=MAX_PARAMS)),
                threads=draw(thread_counts), seed=draw(seeds))


@pytest.mark.parametrize("name", sorted(OPTIMIZER_CLASSES))
@fuzz(SLOW_HEAVY_EXAMPLES)
@given(data=st.data())
def test_optimizer_classes(name, data):
    """Steps of the public optimizer on a model-like list of groups of parameters in any
    layout (non-contiguous ones are updated through a contiguous copy), on both backends."""
    case = data.draw(optimizer_cases(name), label="case")
    dtype = case["dtype"]
    rng = np.random.default_rng(case["seed"])
    start = [[values(rng, s, dtype) for s in group] for group in case["groups"]]
    runs = {}
    for backend in ("numpy", "native"):
        with retrograd.use_backend(backend):
            opt = getattr(optimizers, name)(**case["kwargs"])
        flat_layouts = iter(case["params"])
        runs[backend] = (opt, [[next(flat_layouts).apply(p) for p in group] for group in start])
    (opt_ref, params_ref), (opt_nat, params_nat) = runs["numpy"], runs["native"]
    for step in range(1, case["steps"] + 1):
        grads = [[values(rng, p.shape, dtype, specials=(0.0,)) for p in group]
                 for group in start]
        if name == "Lion" and opt_ref.state:
            grads = [[lion_untie(g, m, opt_ref.beta_1) for g, m in zip(gs, ms)]
                     for gs, ms in zip(grads, opt_ref.state["m"])]
        flat_layouts = iter(case["grads"])
        views = [[next(flat_layouts).apply(g) for g in group] for group in grads]
        for backend, (opt, params) in runs.items():
            with retrograd.use_backend(backend), num_threads(case["threads"]), \
                    unchanged(*(g for group in views for g in group)):
                opt.step(params, views)
        for i, (got, want) in enumerate(zip(sum(params_nat, []), sum(params_ref, []))):
            assert_close(got, want, dtype, what=f"{name} step {step} params[{i}]")
        for slot, groups in opt_ref.state.items():
            for i, (got, want) in enumerate(zip(sum(opt_nat.state[slot], []), sum(groups, []))):
                assert_close(got, want, dtype, what=f"{name} step {step} {slot}[{i}]")


# ---- pooling (ops) -------------------------------------------------------------------------
@st.composite
def image_shapes(draw, max_side=12):
    """(N, H, W, C): small, or at least MULTI_THREAD_ELEMENTS elements over 2..4 images."""
    if draw(bigs):
        n, c = draw(st.integers(2, 4)), draw(st.integers(16, 33))
        side = int(np.ceil(np.sqrt(MULTI_THREAD_ELEMENTS / (n * c))))
        return (n, side + draw(st.integers(0, 3)), side + draw(st.integers(0, 3)), c)
    return (draw(st.integers(1, 3)), draw(st.integers(1, max_side)),
            draw(st.integers(1, max_side)), draw(dims))


@st.composite
def pool_cases(draw):
    shape = draw(image_shapes())
    limit = 3 if shape[1] * shape[2] > 1000 else 5    # keeps NumPy's window copies small
    ph, pw = (draw(st.integers(1, min(side, limit))) for side in shape[1:3])
    return dict(shape=shape, pool=(ph, pw),
                stride=(draw(st.integers(1, ph + 2)), draw(st.integers(1, pw + 2))),
                values=draw(st.sampled_from(["normal", "ties", "nan"])), dtype=draw(dtypes),
                x=draw(layouts), dy=draw(layouts), ind=draw(layouts),
                threads=draw(thread_counts), seed=draw(seeds))


def pool_input(rng, case):
    """Normal values; small integers (many ties: the first maximum must win); or a few
    NaN (which count as the largest value, as in NumPy's argmax)."""
    shape, dtype = case["shape"], case["dtype"]
    if case["values"] == "ties":
        return rng.integers(-2, 3, shape).astype(dtype)
    x = values(rng, shape, dtype)
    if case["values"] == "nan":
        x[rng.random(shape) < 0.05] = np.nan
    return x


@fuzz()
@given(case=pool_cases())
def test_max_pool_ops(case):
    dtype, pool, stride = case["dtype"], case["pool"], case["stride"]
    rng = np.random.default_rng(case["seed"])
    x = pool_input(rng, case)
    y_ref, ind_ref = numpy_ops.maxpool2d_forward(x, pool, stride)
    dy = values(rng, y_ref.shape, dtype)
    dx_ref = numpy_ops.maxpool2d_backward(dy, ind_ref, x.shape, pool, stride)
    xv, dyv, iv = case["x"].apply(x), case["dy"].apply(dy), case["ind"].apply(ind_ref)
    with unchanged(xv, dyv, iv), num_threads(case["threads"]):
        y, ind = native_ops.maxpool2d_forward(xv, pool, stride)
        dx = native_ops.maxpool2d_backward(dyv, iv, x.shape, pool, stride)
    np.testing.assert_array_equal(ind, ind_ref)
    assert ind.dtype == np.int32 and y.dtype == dtype
    np.testing.assert_array_equal(y, y_ref)
    scale = numpy_ops.maxpool2d_backward(f64abs(dy), ind_ref, x.shape, pool, stride)
    assert_close(dx, dx_ref, dtype, scale, what="max pool backward")


@fuzz()
@given(case=pool_cases())
def test_average_pool_ops(case):
    dtype, pool, stride = case["dtype"], case["pool"], case["stride"]
    rng = np.random.default_rng(case["seed"])
    x = pool_input(rng, case)
    y_ref = numpy_ops.avgpool2d_forward(x, pool, stride)
    dy = values(rng, y_ref.shape, dtype)
    dx_ref = numpy_ops.avgpool2d_backward(dy, x.shape, pool, stride)
    xv, dyv = case["x"].apply(x), case["dy"].apply(dy)
    with unchanged(xv, dyv), num_threads(case["threads"]):
        y = native_ops.avgpool2d_forward(xv, pool, stride)
        dx = native_ops.avgpool2d_backward(dyv, x.shape, pool, stride)
    assert_close(y, y_ref, dtype, numpy_ops.avgpool2d_forward(f64abs(x), pool, stride),
                 what="average pool forward")
    assert_close(dx, dx_ref, dtype,
                 numpy_ops.avgpool2d_backward(f64abs(dy), x.shape, pool, stride),
                 what="average pool backward")


@fuzz()
@given(case=pool_cases())
def test_global_pool_ops(case):
    dtype = case["dtype"]
    rng = np.random.default_rng(case["seed"])
    x = pool_input(rng, case)
    n, c = x.shape[0], x.shape[3]
    dy = values(rng, (n, c), dtype)
    ymax_ref, ind_ref = numpy_ops.global_maxpool_forward(x)
    xv, dyv, iv = case["x"].apply(x), case["dy"].apply(dy), case["ind"].apply(ind_ref)
    with unchanged(xv, dyv, iv), num_threads(case["threads"]):
        yavg = native_ops.global_avgpool_forward(xv)
        dxavg = native_ops.global_avgpool_backward(dyv, x.shape)
        ymax, ind = native_ops.global_maxpool_forward(xv)
        dxmax = native_ops.global_maxpool_backward(dyv, iv, x.shape)
    assert_close(yavg, numpy_ops.global_avgpool_forward(x), dtype,
                 numpy_ops.global_avgpool_forward(f64abs(x)), what="global average forward")
    assert_close(dxavg, numpy_ops.global_avgpool_backward(dy, x.shape), dtype,
                 what="global average backward")
    np.testing.assert_array_equal(ind, ind_ref)
    np.testing.assert_array_equal(ymax, ymax_ref)
    assert ind.dtype == np.int32 and ymax.dtype == dtype
    np.testing.assert_array_equal(dxmax, numpy_ops.global_maxpool_backward(dy, ind_ref, x.shape))


# ---- dropout (ops) -------------------------------------------------------------------------
@st.composite
def dropout_cases(draw):
    return dict(shape=draw(shapes()), dtype=draw(dtypes), rate=draw(st.floats(0.0, 0.95)),
                mask_dtype=draw(st.sampled_from([np.bool_, np.uint8])), x=draw(layouts),
                mask=draw(layouts), threads=draw(thread_counts), seed=draw(seeds))


@fuzz()
@given(case=dropout_cases())
def test_dropout_ops(case):
    """Both backends compute (x * mask) * scale in x's dtype (dropout.c): the same bits,
    a dropped inf or NaN included."""
    dtype = case["dtype"]
    rng = np.random.default_rng(case["seed"])
    x = values(rng, case["shape"], dtype, 3.0, SPECIALS + (np.inf, -np.inf, np.nan), 0.02)
    mask = (rng.random(x.shape) >= case["rate"]).astype(case["mask_dtype"])
    scale = 1.0 / (1.0 - case["rate"])
    xv, mv = case["x"].apply(x), case["mask"].apply(mask)
    with unchanged(xv, mv), num_threads(case["threads"]):
        y = native_ops.dropout_forward(xv, mv, scale)
        dx = native_ops.dropout_backward(xv, mv, scale)
    with np.errstate(invalid="ignore"):    # a dropped inf: inf * 0 is NaN
        wants = (numpy_ops.dropout_forward(x, mask, scale),
                 numpy_ops.dropout_backward(x, mask, scale))
    for got, want in zip((y, dx), wants):
        assert got.dtype == want.dtype == dtype
        np.testing.assert_array_equal(got, want)


# ---- convolution (ops) ---------------------------------------------------------------------
@st.composite
def conv_cases(draw):
    """Geometry and layouts of a convolution; one case in four has one input channel and
    stride 1, which conv.c computes with its direct kernels instead of im2col tiles."""
    channels = st.one_of(st.integers(1, 5), st.sampled_from([8, 9, 16, 17]))
    direct = draw(st.sampled_from((False, False, False, True)))
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    padding = tuple((draw(st.integers(0, 2)), draw(st.integers(0, 2))) for _ in range(2))
    if draw(bigs):    # enough multiply-adds for several threads
        n, c = draw(st.integers(2, 4)), 1 if direct else draw(st.integers(6, 9))
        f = draw(st.integers(12, 17) if direct else st.integers(6, 9))
        h, w = (draw(st.integers(48, 64) if direct else st.integers(14, 20)) for _ in "hw")
    else:
        n, c, f = draw(st.integers(1, 3)), 1 if direct else draw(channels), draw(channels)
        h = draw(st.integers(max(1, kh - sum(padding[0])), 10))
        w = draw(st.integers(max(1, kw - sum(padding[1])), 10))
    stride = (1, 1) if direct else (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    return dict(x_shape=(n, h, w, c), k_shape=(f, c, kh, kw), stride=stride, padding=padding,
                input_grad=draw(st.booleans()), dtype=draw(dtypes), x=draw(layouts),
                k=draw(layouts), b=draw(layouts), dy=draw(layouts), threads=draw(thread_counts),
                seed=draw(seeds))


@fuzz()
@given(case=conv_cases())
def test_conv2d_ops(case):
    dtype, stride, padding = case["dtype"], case["stride"], case["padding"]
    rng = np.random.default_rng(case["seed"])
    x = values(rng, case["x_shape"], dtype)
    k = values(rng, case["k_shape"], dtype, 1 / np.sqrt(np.prod(case["k_shape"][1:])))
    b = values(rng, case["k_shape"][:1], dtype)
    y_ref = numpy_ops.conv2d_forward(x, k, b, stride, padding)
    dy = values(rng, y_ref.shape, dtype)
    dx_ref, dk_ref, db_ref = numpy_ops.conv2d_backward(dy, x, k, stride, padding)
    xv, kv, bv, dyv = (case[name].apply(a) for name, a in (("x", x), ("k", k), ("b", b),
                                                           ("dy", dy)))
    with unchanged(xv, kv, bv, dyv), num_threads(case["threads"]):
        y = native_ops.conv2d_forward(xv, kv, bv, stride, padding)
        dx, dk, db = native_ops.conv2d_backward(dyv, xv, kv, stride, padding,
                                                input_grad=case["input_grad"])
    # the same sums over |terms|, as scales of the rounding error
    scale_y = numpy_ops.conv2d_forward(f64abs(x), f64abs(k), f64abs(b), stride, padding)
    scales = numpy_ops.conv2d_backward(f64abs(dy), f64abs(x), f64abs(k), stride, padding)
    assert_close(y, y_ref, dtype, scale_y, what="conv2d forward")
    if not case["input_grad"]:
        assert dx is None
        dx = dx_ref
    for what, got, want, scale in zip(("dx", "dkernels", "dbiases"), (dx, dk, db),
                                      (dx_ref, dk_ref, db_ref), scales):
        assert_close(got, want, dtype, scale, what=f"conv2d backward {what}")


# ---- dense (ops) ---------------------------------------------------------------------------
@st.composite
def dense_cases(draw):
    if draw(bigs):    # enough multiply-adds for several threads
        n = draw(st.integers(64, 96))
        i, o = draw(st.integers(120, 150)), draw(st.integers(120, 150))
    else:
        n, i, o = draw(dims), draw(dims), draw(dims)
    return dict(n=n, i=i, o=o, input_grad=draw(st.booleans()), dtype=draw(dtypes),
                x=draw(layouts), w=draw(layouts), b=draw(layouts), dy=draw(layouts),
                threads=draw(thread_counts), seed=draw(seeds))


def dense_data(case):
    """x (N, in), W (in, out) scaled by 1/sqrt(in) as an initialiser would, b (out,)."""
    rng = np.random.default_rng(case["seed"])
    dtype, n, i, o = case["dtype"], case["n"], case["i"], case["o"]
    return (values(rng, (n, i), dtype), values(rng, (i, o), dtype, 1 / np.sqrt(i)),
            values(rng, (o,), dtype), values(rng, (n, o), dtype))


@fuzz()
@given(case=dense_cases())
def test_dense_ops(case):
    dtype = case["dtype"]
    x, w, b, dy = dense_data(case)
    xv, wv, bv, dyv = (case[name].apply(a) for name, a in (("x", x), ("w", w), ("b", b),
                                                           ("dy", dy)))
    with unchanged(xv, wv, bv, dyv), num_threads(case["threads"]):
        y = native_ops.dense_forward(xv, wv, bv)
        dx, dw, db = native_ops.dense_backward(dyv, xv, wv, input_grad=case["input_grad"])
    assert_close(y, numpy_ops.dense_forward(x, w, b), dtype,
                 numpy_ops.dense_forward(f64abs(x), f64abs(w), f64abs(b)), what="dense forward")
    want = numpy_ops.dense_backward(dy, x, w)
    if not case["input_grad"]:
        assert dx is None
        dx = want[0]
    for what, got, want, scale in zip(("dx", "dW", "db"), (dx, dw, db), want,
                                      numpy_ops.dense_backward(f64abs(dy), f64abs(x), f64abs(w))):
        assert_close(got, want, dtype, scale, what=f"dense backward {what}")


# ---- public layers on both backends --------------------------------------------------------
def run_layer(make, x, dy_for, threads):
    """forward(x) and backward(dy) of a fresh ``make()`` layer on each backend ->
    {backend: (y, dx, param grads)}; ``dy_for(y_shape)`` gives the same dy view each time."""
    out = {}
    for backend in ("numpy", "native"):
        with retrograd.use_backend(backend), num_threads(threads):
            layer = make()
            with unchanged(x):
                y = np.array(layer.forward(x))
            dy = dy_for(y.shape)
            with unchanged(x, dy):
                dx, grads = layer.backward(dy)
        out[backend] = (y, dx, [g.copy() for g in grads or []])
    return out


def dy_maker(seed, dtype, layout):
    """dy_for(shape): the same normal values (a stream of their own) in ``layout``."""
    def dy_for(shape):
        return layout.apply(values(np.random.default_rng([seed, 1]), shape, dtype))
    return dy_for


def magnitude_scales(make, x, dy_for):
    """The ``scales`` of assert_layers_agree for a layer whose outputs and gradients are sums
    of products (Conv2D, Dense): the same layer in float64 on the NumPy backend with every
    parameter, x and dy replaced by its absolute value, so each result is sum |terms|."""
    with retrograd.use_backend("numpy"):
        layer = make(np.float64)
        for param in layer.params:
            param[...] = np.abs(param)
        y_abs = layer.forward(f64abs(x))
        dx_abs, grads_abs = layer.backward(f64abs(dy_for(y_abs.shape)))
    return [y_abs, dx_abs, *grads_abs]


def assert_layers_agree(out, dtype, scales=None, what="layer"):
    """Native y, dx and parameter gradients against the NumPy backend's; ``scales``
    (y, dx, grads...) where they are sums."""
    scales = scales or [None] * (2 + len(out["numpy"][2]))
    got = [out["native"][0], out["native"][1], *out["native"][2]]
    want = [out["numpy"][0], out["numpy"][1], *out["numpy"][2]]
    names = ["forward", "backward dx"] + [f"grads[{i}]" for i in range(len(want) - 2)]
    for name, g, w, s in zip(names, got, want, scales):
        assert_close(g, w, dtype, s, what=f"{what} {name}")


@st.composite
def activation_layer_cases(draw):
    name = draw(st.sampled_from(["Sigmoid", "Tanh", "Softsign", "HardSigmoid", "HardTanh",
                                 "ReLU", "LeakyReLU", "PReLU", "RReLU", "ELU", "SELU",
                                 "NoisyReLU", "GELU", "Swish", "Softmax"]))
    shape = draw(shapes(min_dims=2 if name == "PReLU" else 1, max_dims=4))
    kwargs = {}
    if name == "HardTanh":
        kwargs["min_val"], kwargs["max_val"] = draw(hypers("hard_tanh"))
    elif name in ("LeakyReLU", "ELU"):
        kwargs["alpha"] = draw(st.floats(0.0, 3.0))
    elif name == "Swish":
        kwargs["beta"] = draw(moderate)
    elif name == "GELU":
        kwargs["approximate"] = draw(st.sampled_from(["none", "tanh", "sigmoid"]))
    elif name == "PReLU":
        kwargs["num_parameters"] = draw(st.sampled_from([1, shape[-1]]))
        kwargs["init"] = draw(moderate)
    elif name == "RReLU":
        kwargs["lower"] = draw(st.floats(0.0, 0.5))
        kwargs["upper"] = kwargs["lower"] + draw(st.floats(0.0, 0.5))
    elif name == "Softmax":
        kwargs["axis"] = draw(st.integers(-len(shape), len(shape) - 1))
    if name in ("RReLU", "NoisyReLU"):
        kwargs["seed"] = draw(st.integers(0, 2**16))
    return dict(name=name, kwargs=kwargs, training=draw(st.booleans()), shape=shape,
                dtype=draw(dtypes), x=draw(layouts), dy=draw(layouts),
                threads=draw(thread_counts), seed=draw(seeds))


@fuzz()
@given(case=activation_layer_cases())
def test_activation_layers(case):
    dtype, name = case["dtype"], case["name"]
    rng = np.random.default_rng(case["seed"])
    x = case["x"].apply(values(rng, case["shape"], dtype, 3.0, SPECIALS))

    def make():
        layer = getattr(layers, name)(dtype=dtype, **case["kwargs"])
        layer.training = case["training"]
        return layer

    out = run_layer(make, x, dy_maker(case["seed"], dtype, case["dy"]), case["threads"])
    scales = None
    if name == "PReLU":    # the slope gradient is a sum over the batch
        alpha = np.full(case["kwargs"]["num_parameters"], case["kwargs"]["init"])
        dy = dy_maker(case["seed"], dtype, case["dy"])(x.shape)
        scales = [None, None, -numpy_ops.prelu_backward(f64abs(dy), x.astype(np.float64),
                                                        alpha)[1]]
    assert_layers_agree(out, dtype, scales, what=name)


@st.composite
def pool_layer_cases(draw):
    case = draw(pool_cases())
    case["name"] = draw(st.sampled_from(["MaxPooling2D", "AveragePooling2D",
                                         "GlobalAveragePooling2D", "GlobalMaxPooling2D"]))
    case["keepdims"] = draw(st.booleans())
    return case


@fuzz()
@given(case=pool_layer_cases())
def test_pooling_layers(case):
    dtype, name = case["dtype"], case["name"]
    rng = np.random.default_rng(case["seed"])
    x = pool_input(rng, case)

    def make(layer_dtype=dtype):
        cls = getattr(layers, name)
        if name.startswith("Global"):
            return cls(keepdims=case["keepdims"], dtype=layer_dtype)
        return cls(case["pool"], case["stride"], dtype=layer_dtype)

    dy_for = dy_maker(case["seed"], dtype, case["dy"])
    out = run_layer(make, case["x"].apply(x), dy_for, case["threads"])
    # Sums of |terms| from the NumPy layer in float64 (the same windows and maxima).
    with retrograd.use_backend("numpy"):
        layer = make(np.float64)
        y_abs = layer.forward(np.abs(x) if "Average" in name else x)
        dx_abs, _ = layer.backward(f64abs(dy_for(y_abs.shape)))
    assert_layers_agree(out, dtype, [f64abs(y_abs) if "Average" in name else None, dx_abs],
                        what=name)


@fuzz()
@given(case=conv_cases(), padding=st.sampled_from(["valid", "same", 0, 1, (2, 1)]))
def test_conv2d_layer(case, padding):
    dtype, (f, c, kh, kw) = case["dtype"], case["k_shape"]
    rng = np.random.default_rng(case["seed"])
    x = values(rng, case["x_shape"], dtype)
    if padding != "same":   # the padded image must cover the kernel: add rows and columns
        rows, cols = (0, 0) if padding == "valid" else np.broadcast_to(padding, 2) * 2
        x = np.pad(x, ((0, 0), (0, max(0, kh - rows - x.shape[1])),
                       (0, max(0, kw - cols - x.shape[2])), (0, 0)))
    b = values(rng, (f,), dtype)

    def make(layer_dtype=dtype):
        layer = layers.Conv2D(c, f, (kh, kw), case["stride"], padding, dtype=layer_dtype,
                              seed=case["seed"] % 2**16)
        layer.biases[...] = b
        return layer

    dy_for = dy_maker(case["seed"], dtype, case["dy"])
    out = run_layer(make, case["x"].apply(x), dy_for, case["threads"])
    assert_layers_agree(out, dtype, magnitude_scales(make, x, dy_for), what="Conv2D")


@fuzz()
@given(case=dropout_cases(), training=st.booleans())
def test_dropout_layer(case, training):
    """The mask comes from the layer's seeded generator, so both backends drop the same
    elements and give the same bits."""
    dtype = case["dtype"]
    rng = np.random.default_rng(case["seed"])
    x = case["x"].apply(values(rng, case["shape"], dtype, 3.0, SPECIALS))

    def make():
        layer = layers.Dropout(min(case["rate"], 0.9), seed=case["seed"] % 2**16, dtype=dtype)
        layer.training = training
        return layer

    out = run_layer(make, x, dy_maker(case["seed"], dtype, case["mask"]), case["threads"])
    for got, want in zip(out["native"][:2], out["numpy"][:2]):
        assert got.dtype == want.dtype == dtype
        np.testing.assert_array_equal(got, want)


@fuzz()
@given(case=softmax_cases(), sparse=st.booleans())
def test_cross_entropy_from_logits(case, sparse):
    """The losses that call the fused softmax cross-entropy kernel, on both backends."""
    dtype = case["dtype"]
    rng = np.random.default_rng(case["seed"])
    shape = case["shape"] if len(case["shape"]) == 2 else (1, int(np.prod(case["shape"])))
    logits = case["x"].apply(values(rng, shape, dtype, case["scale"], SPECIALS))
    if sparse:
        loss_cls = losses.SparseCategoricalCrossEntropy
        t = case["t"].apply(rng.integers(0, shape[1], shape[0]))
    else:
        loss_cls = losses.CategoricalCrossEntropy
        t = case["t"].apply(targets_for(rng, shape, dtype, case["one_hot"]))
    results = {}
    for backend in ("numpy", "native"):
        with retrograd.use_backend(backend), num_threads(case["threads"]), \
                unchanged(logits, t):
            loss = loss_cls(from_logits=True)
            results[backend] = (loss.forward(logits, t), loss.backward(logits, t))
    (loss_nat, grad_nat), (loss_ref, grad_ref) = results["native"], results["numpy"]
    assert_close(np.asarray(loss_nat, dtype), np.asarray(loss_ref, dtype), dtype, what="loss")
    assert_close(grad_nat, grad_ref, dtype, what="gradient")


@fuzz()
@given(case=dense_cases())
def test_dense_layer(case):
    dtype = case["dtype"]
    x, _, b, _ = dense_data(case)

    def make(layer_dtype=dtype):
        layer = layers.Dense(case["i"], case["o"], dtype=layer_dtype, seed=case["seed"] % 2**16)
        layer.biases[...] = b
        return layer

    dy_for = dy_maker(case["seed"], dtype, case["dy"])
    out = run_layer(make, case["x"].apply(x), dy_for, case["threads"])
    assert_layers_agree(out, dtype, magnitude_scales(make, x, dy_for), what="Dense")


# ---- normalisation (ops and layers) ----------------------------------------------------------
@st.composite
def norm_matrix_shapes(draw):
    """(rows, C): small, or about one in sixteen of at least MULTI_THREAD_ELEMENTS elements
    (many rows of a few channels, or a few rows of many)."""
    if draw(bigs):
        c = draw(dims)
        rows = -(-MULTI_THREAD_ELEMENTS // c) + draw(st.integers(0, 17))
        return (rows, c) if draw(st.booleans()) else (draw(st.integers(1, 8)), rows)
    return draw(small_shapes(2, 2))


@st.composite
def norm_cases(draw):
    return dict(shape=draw(norm_matrix_shapes()), dtype=draw(dtypes),
                offset=draw(st.sampled_from([0.0, 5.0, -100.0])),
                spread=draw(st.sampled_from([1.0, 0.05, 30.0])), nan=draw(bigs),
                x=draw(layouts), dy=draw(layouts), gamma=draw(layouts), beta=draw(layouts),
                stats=draw(layouts), threads=draw(thread_counts), seed=draw(seeds))


def norm_data(rng, case):
    """x around the case's offset (a few NaN now and then: they spread over their channel or
    row on both backends), dy, gamma, beta and moving statistics."""
    shape, dtype = case["shape"], case["dtype"]
    x = (case["offset"] + case["spread"] * rng.standard_normal(shape)).astype(dtype)
    if case["nan"]:
        x[rng.random(shape) < 0.01] = np.nan
    c = shape[1]
    return (x, values(rng, shape, dtype), values(rng, (c,), dtype, 2.0), values(rng, (c,), dtype),
            (case["offset"] + rng.standard_normal(c)).astype(dtype),
            rng.uniform(0.1, 3.0, c).astype(dtype))


@fuzz()
@given(case=norm_cases())
def test_normalization_ops(case):
    dtype = case["dtype"]
    rng = np.random.default_rng(case["seed"])
    x, dy, gamma, beta, mm, mv = norm_data(rng, case)
    bn_ref = numpy_ops.batch_norm_forward_train(x, gamma, beta, 1e-5)
    inv_bn, inv_mv = inv_std_of(bn_ref[2], dtype), inv_std_of(mv, dtype)
    ln_ref = numpy_ops.layer_norm_forward(x, gamma, beta, 1e-5)
    xv, dyv = case["x"].apply(x), case["dy"].apply(dy)
    gv, bv = case["gamma"].apply(gamma), case["beta"].apply(beta)
    mmv, mvv = case["stats"].apply(mm), case["stats"].apply(mv)
    bn_mean, bn_inv = case["stats"].apply(bn_ref[1]), case["stats"].apply(inv_bn)
    ln_mean, ln_inv = case["stats"].apply(ln_ref[1]), case["stats"].apply(ln_ref[2])
    with unchanged(xv, dyv, gv, bv, mmv, mvv, bn_mean, bn_inv, ln_mean, ln_inv), \
            num_threads(case["threads"]):
        bn = native_ops.batch_norm_forward_train(xv, gv, bv, 1e-5)
        bn_back = native_ops.batch_norm_backward(dyv, xv, bn_mean, bn_inv, gv)
        bn_eval = native_ops.batch_norm_forward_eval(xv, gv, bv, mmv, mvv, 1e-5)
        bn_eval_back = native_ops.batch_norm_backward_eval(dyv, xv, mmv, inv_mv, gv)
        ln = native_ops.layer_norm_forward(xv, gv, bv, 1e-5)
        ln_back = native_ops.layer_norm_backward(dyv, xv, ln_mean, ln_inv, gv)
    with np.errstate(invalid="ignore"):
        scales = bn_backward_scales(dy, x, bn_ref[1], inv_bn, gamma)
        eval_scales = bn_backward_scales(dy, x, mm, inv_mv, gamma)
        ln_scales = ln_backward_scales(dy, x, ln_ref[1], ln_ref[2], gamma)
        y_scale = f64abs(bn_ref[0]) + f64abs(beta)
        eval_scale = (f64abs(x) + f64abs(mm)) * f64abs(gamma) / np.sqrt(mv.astype(np.float64))
    for what, got, want, scale in [
            ("bn forward y", bn[0], bn_ref[0], y_scale),
            ("bn mean", bn[1], bn_ref[1], f64abs(bn_ref[1]) + np.sqrt(f64abs(bn_ref[2]))),
            ("bn var", bn[2], bn_ref[2], f64abs(bn_ref[2])),
            *[(f"bn backward {n}", g, w, s) for n, g, w, s in zip(
                ("dx", "dgamma", "dbeta"), bn_back,
                numpy_ops.batch_norm_backward(dy, x, bn_ref[1], inv_bn, gamma), scales)],
            ("bn eval forward", bn_eval, numpy_ops.batch_norm_forward_eval(
                x, gamma, beta, mm, mv, 1e-5), eval_scale + f64abs(beta)),
            *[(f"bn eval backward {n}", g, w, s) for n, g, w, s in zip(
                ("dx", "dgamma", "dbeta"), bn_eval_back,
                numpy_ops.batch_norm_backward_eval(dy, x, mm, inv_mv, gamma), eval_scales)],
            ("ln forward y", ln[0], ln_ref[0], f64abs(ln_ref[0]) + f64abs(beta)),
            ("ln mean", ln[1], ln_ref[1], f64abs(ln_ref[1]) + 1 / f64abs(ln_ref[2])),
            ("ln inv_std", ln[2], ln_ref[2], f64abs(ln_ref[2])),
            *[(f"ln backward {n}", g, w, s) for n, g, w, s in zip(
                ("dx", "dgamma", "dbeta"), ln_back,
                numpy_ops.layer_norm_backward(dy, x, ln_ref[1], ln_ref[2], gamma), ln_scales)]]:
        assert_close(got, want, dtype, scale, what=what)


@st.composite
def norm_layer_cases(draw):
    """An input (N, ..., C) of rank 2 to 4 (small, or large enough for several threads)."""
    name = draw(st.sampled_from(["BatchNormalization", "LayerNormalization"]))
    training = draw(st.booleans())
    shape = draw(shapes(min_dims=2, max_dims=4))
    if name == "BatchNormalization" and training and np.prod(shape[:-1]) < 2:
        shape = (2,) + shape[1:]    # training needs two values per channel
    return dict(name=name, training=training, shape=shape, dtype=draw(dtypes),
                offset=draw(st.sampled_from([0.0, 5.0])), momentum=draw(st.floats(0.0, 1.0)),
                x=draw(layouts), dy=draw(layouts), threads=draw(thread_counts), seed=draw(seeds))


@fuzz()
@given(case=norm_layer_cases())
def test_normalization_layers(case):
    """Forward, backward, parameter gradients and moving statistics of the public layers on
    both backends, with the same random gamma, beta and moving statistics."""
    dtype, shape = case["dtype"], case["shape"]
    rng = np.random.default_rng(case["seed"])
    c = shape[-1]
    x = (case["offset"] + values(rng, shape, dtype)).astype(dtype)
    gamma, beta = values(rng, (c,), dtype, 2.0), values(rng, (c,), dtype)
    moving = [values(rng, (c,), dtype), rng.uniform(0.1, 3.0, c).astype(dtype)]
    dy_for = dy_maker(case["seed"], dtype, case["dy"])
    out = {}
    for backend in ("numpy", "native"):
        with retrograd.use_backend(backend), num_threads(case["threads"]):
            if case["name"] == "BatchNormalization":
                layer = layers.BatchNormalization(c, momentum=case["momentum"], dtype=dtype)
                layer.moving_mean[...], layer.moving_var[...] = moving
            else:
                layer = layers.LayerNormalization(c, dtype=dtype)
            layer.gamma[...], layer.beta[...] = gamma, beta
            layer.training = case["training"]
            xv = case["x"].apply(x)
            with unchanged(xv):
                y = np.array(layer.forward(xv))
            dy = dy_for(y.shape)
            with unchanged(xv, dy):
                dx, grads = layer.backward(dy)
            out[backend] = [y, dx, *[g.copy() for g in grads], *[s.copy() for s in layer.state]]
    # scales of the rounding error: the NumPy layer's statistics in float64
    rows, dys = x.reshape(-1, c).astype(np.float64), dy_for(shape).reshape(-1, c)
    if case["name"] == "BatchNormalization" and case["training"]:
        mean, var = rows.mean(0), rows.var(0)
        scales = bn_backward_scales(dys, rows, mean, 1 / np.sqrt(var + 1e-5), gamma)
        state = [f64abs(moving[0]) + f64abs(mean), f64abs(moving[1]) + 2 * var]
    elif case["name"] == "BatchNormalization":
        scales = bn_backward_scales(dys, rows, moving[0], 1 / np.sqrt(moving[1] + 1e-5), gamma)
        state = [f64abs(moving[0]), f64abs(moving[1])]
    else:
        mean = rows.mean(1)
        scales = ln_backward_scales(dys, rows, mean, 1 / np.sqrt(rows.var(1) + 1e-5), gamma)
        state = []
    y_scale = f64abs(out["numpy"][0]) + f64abs(beta)
    names = ["forward", "backward dx", "dgamma", "dbeta", "moving_mean", "moving_var"]
    for name, got, want, scale in zip(names, out["native"], out["numpy"],
                                      [y_scale, scales[0].reshape(shape), *scales[1:], *state]):
        assert_close(got, want, dtype, scale, what=f"{case['name']} {name}")
