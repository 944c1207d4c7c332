"""Merge layers (issue 10): Add, Subtract, Multiply, Average, Concatenate.

Each formula against an independent NumPy computation, gradients against central
differences (Multiply with zeros in its inputs, Concatenate along the features and
along an image axis), the backward contract ``(list of input gradients, None)``,
``output_shape`` and symbolic calls, shape mismatches named with both shapes at
graph-build time and at run time, refused input counts and axes, and property tests
on random shapes (both backends give the same numbers).  Both backends throughout.
"""
import numpy as np
import pytest
from hypothesis import given, strategies as st

import retrograd
from retrograd import Input, Model
from retrograd.layers import Add, Average, Concatenate, Multiply, Subtract

from conftest import BACKENDS, central_difference


def _stack(xs):
    return np.stack([np.asarray(x, np.float64) for x in xs])


# name -> (factory(dtype), input shapes, NumPy reference of the output)
CASES = {
    "add2": (lambda dt: Add(dtype=dt), [(3, 4)] * 2, lambda xs: _stack(xs).sum(axis=0)),
    "add3_images": (lambda dt: Add(dtype=dt), [(2, 3, 3, 2)] * 3,
                    lambda xs: _stack(xs).sum(axis=0)),
    "subtract": (lambda dt: Subtract(dtype=dt), [(3, 5)] * 2,
                 lambda xs: np.subtract(*_stack(xs))),
    "multiply2": (lambda dt: Multiply(dtype=dt), [(3, 4)] * 2,
                  lambda xs: _stack(xs).prod(axis=0)),
    "multiply4": (lambda dt: Multiply(dtype=dt), [(2, 2, 3)] * 4,
                  lambda xs: _stack(xs).prod(axis=0)),
    "average2": (lambda dt: Average(dtype=dt), [(3, 4)] * 2, lambda xs: _stack(xs).mean(axis=0)),
    "average3_images": (lambda dt: Average(dtype=dt), [(2, 2, 3, 2)] * 3,
                        lambda xs: _stack(xs).mean(axis=0)),
    "concatenate_features": (lambda dt: Concatenate(dtype=dt), [(3, 2), (3, 5), (3, 1)],
                             lambda xs: np.concatenate(xs, axis=1)),
    "concatenate_channels": (lambda dt: Concatenate(axis=-1, dtype=dt),
                             [(2, 3, 3, 2), (2, 3, 3, 4)], lambda xs: np.concatenate(xs, axis=3)),
    "concatenate_axis1": (lambda dt: Concatenate(axis=1, dtype=dt),
                          [(2, 2, 3, 2), (2, 4, 3, 2), (2, 1, 3, 2)],
                          lambda xs: np.concatenate(xs, axis=1)),
    "concatenate_axis_minus2": (lambda dt: Concatenate(axis=-2, dtype=dt),
                                [(2, 3, 1, 2), (2, 3, 2, 2)], lambda xs: np.concatenate(xs, 2)),
}
IDS = list(CASES)


def _inputs(shapes, seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    return [rng.normal(size=shape).astype(dtype) for shape in shapes]


@pytest.mark.parametrize("name", IDS)
def test_forward_is_the_formula(name, backend, dtype):
    make, shapes, reference = CASES[name]
    xs = _inputs(shapes)
    y = make(dtype)(xs)
    assert y.dtype == dtype and y.shape == reference(xs).shape
    np.testing.assert_allclose(y, reference(xs), rtol=1e-6 if dtype == np.float32 else 1e-13,
                               atol=1e-6 if dtype == np.float32 else 1e-13)


@pytest.mark.parametrize("name", IDS)
def test_backward_returns_a_list_of_input_gradients_and_none(name, backend):
    make, shapes, _ = CASES[name]
    layer = make(np.float32)
    xs = _inputs(shapes, dtype=np.float32)
    y = layer(xs)
    grads, param_grads = layer.backward(np.ones_like(y))
    assert param_grads is None and layer.params == [] and layer.grads == []
    assert isinstance(grads, list) and len(grads) == len(xs)
    for g, x in zip(grads, xs):
        assert g.shape == x.shape and g.dtype == np.float32


def _check_gradients(layer, xs, seed=1):
    """Every input gradient of f = sum(layer(xs) * R) against central differences."""
    upstream = np.random.default_rng(seed).normal(size=layer(xs).shape)
    grads, _ = layer.backward(upstream)

    def f(_):
        return float(np.sum(layer(xs) * upstream))

    for x, g in zip(xs, grads):
        np.testing.assert_allclose(g, central_difference(f, x), rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("name", IDS)
def test_gradients_match_central_differences(name, backend):
    make, shapes, _ = CASES[name]
    _check_gradients(make(np.float64), _inputs(shapes))


@pytest.mark.parametrize("count", [2, 3, 4])
def test_multiply_gradients_with_zeros_in_the_inputs(count, backend):
    """Zeros in one input, and at the same places in two inputs: the gradient is the
    product of the others (never a division by zero), 0 where two factors are 0."""
    xs = _inputs([(3, 4)] * count, seed=count)
    xs[0][0, :] = 0.0
    xs[0][1, 1] = xs[1][1, 1] = 0.0
    xs[-1][2, 3] = 0.0
    layer = Multiply(dtype=np.float64)
    upstream = np.random.default_rng(5).normal(size=(3, 4))
    layer(xs)
    grads, _ = layer.backward(upstream)
    for i, g in enumerate(grads):
        others = _stack([x for j, x in enumerate(xs) if j != i]).prod(axis=0)
        np.testing.assert_allclose(g, upstream * others, rtol=1e-14, atol=0)
        assert np.isfinite(g).all()
    assert np.all(grads[0][1, 1] == 0) and np.all(grads[1][1, 1] == 0)
    _check_gradients(layer, xs)


def test_subtract_and_average_gradients_are_exact(backend):
    g = np.arange(6.0).reshape(2, 3)
    layer = Subtract(dtype=np.float64)
    layer([np.ones((2, 3)), np.zeros((2, 3))])
    (d1, d2), _ = layer.backward(g)
    np.testing.assert_array_equal(d1, g)
    np.testing.assert_array_equal(d2, -g)
    layer = Average(dtype=np.float64)
    layer([np.ones((2, 3))] * 4)
    for d in layer.backward(g)[0]:
        np.testing.assert_array_equal(d, g / 4)


def test_inputs_of_another_float_width_and_lists_are_cast(backend):
    x = np.array([[0.5, 1.25]])
    y = Add(dtype=np.float64)([x.astype(np.float16), x.tolist()])
    assert y.dtype == np.float64
    np.testing.assert_array_equal(y, 2 * x)


# ---- shapes --------------------------------------------------------------------------------------
OUTPUT_SHAPES = [
    (Add, {}, [(8, 8, 16)] * 2, (8, 8, 16)),
    (Subtract, {}, [(5,)] * 2, (5,)),
    (Multiply, {}, [(2, 3)] * 3, (2, 3)),
    (Average, {}, [(4, 4, 1)] * 4, (4, 4, 1)),
    (Concatenate, {}, [(8, 8, 16), (8, 8, 32)], (8, 8, 48)),
    (Concatenate, {"axis": 1}, [(2, 3, 4), (5, 3, 4)], (7, 3, 4)),
    (Concatenate, {"axis": 3}, [(2, 3, 4), (2, 3, 1), (2, 3, 2)], (2, 3, 7)),
    (Concatenate, {"axis": -3}, [(2, 3, 4), (1, 3, 4)], (3, 3, 4)),
]


@pytest.mark.parametrize("cls, kwargs, shapes, expected", OUTPUT_SHAPES)
def test_output_shape_and_symbolic_calls(cls, kwargs, shapes, expected, backend):
    assert cls(**kwargs).output_shape(shapes) == expected
    inputs = [Input(shape) for shape in shapes]
    out = cls(**kwargs)(inputs)
    assert out.shape == expected
    arrays = _inputs([(2,) + s for s in shapes])
    got = Model(inputs, out).forward(arrays)
    assert got.shape == (2,) + expected
    np.testing.assert_array_equal(got, cls(**kwargs)(arrays))


ELEMENTWISE = [Add, Subtract, Multiply, Average]


@pytest.mark.parametrize("cls", ELEMENTWISE, ids=lambda c: c.__name__)
def test_unequal_shapes_are_refused_at_graph_build_time(cls):
    a, b = Input((8, 8, 16)), Input((8, 8, 32))
    with pytest.raises(ValueError, match=rf"^{cls.__name__}: expected inputs of equal shapes, "
                                         r"got \(None, 8, 8, 16\) and \(None, 8, 8, 32\)"):
        cls()([a, b])
    with pytest.raises(ValueError, match=rf"^{cls.__name__}: expected inputs of equal shapes, "
                                         r"got \(None, 4\) and \(None, 2, 2\)"):
        cls()([Input((4,)), Input((2, 2))])


@pytest.mark.parametrize("cls", ELEMENTWISE, ids=lambda c: c.__name__)
def test_unequal_shapes_are_refused_at_run_time(cls, backend):
    cases = [((2, 8, 8, 16), (2, 8, 8, 32)), ((2, 3), (3, 3)), ((2, 4), (2, 2, 2))]
    for first, other in cases:
        text = [r"\(" + ", ".join(map(str, s)) + r"\)" for s in (first, other)]
        with pytest.raises(ValueError, match=rf"^{cls.__name__}: expected inputs of equal shapes, "
                                             rf"got {text[0]} and {text[1]}$"):
            cls()([np.ones(first), np.ones(other)])


def test_the_mismatched_input_is_named_whatever_its_position():
    a, b = Input((3,)), Input((4,))
    with pytest.raises(ValueError, match=r"^Add: expected .* got \(None, 3\) and \(None, 4\)"):
        Add()([a, a, b])
    with pytest.raises(ValueError, match=r"^Average: expected .* got \(2, 3\) and \(2, 4\)"):
        Average()([np.ones((2, 3)), np.ones((2, 3)), np.ones((2, 4))])


CONCAT_MISMATCHES = [
    (-1, (8, 8, 16), (8, 4, 16)),
    (1, (8, 8, 16), (4, 4, 16)),
    (-1, (8, 8, 16), (8, 16)),
]


@pytest.mark.parametrize("axis, first, other", CONCAT_MISMATCHES)
def test_concatenate_refuses_shapes_that_differ_off_its_axis(axis, first, other, backend):
    def text(shape, batch):
        return r"\(" + ", ".join(map(str, (batch,) + shape)) + r"\)"

    with pytest.raises(ValueError, match=rf"^Concatenate: expected inputs of equal shapes but "
                                         rf"along axis {axis}, got {text(first, 'None')} and "
                                         rf"{text(other, 'None')}"):
        Concatenate(axis=axis)([Input(first), Input(other)])
    with pytest.raises(ValueError, match=rf"^Concatenate: expected inputs of equal shapes but "
                                         rf"along axis {axis}, got {text(first, 2)} and "
                                         rf"{text(other, 2)}"):
        Concatenate(axis=axis)([np.ones((2,) + first), np.ones((2,) + other)])


def _symbolic_pair():
    return [Input((3, 4)), Input((3, 4))]


def _array_pair():
    return [np.ones((2, 3, 4)), np.ones((2, 3, 4))]


REFUSED_CALLS = [
    (lambda: Subtract()([np.ones((2, 3))] * 3), ValueError,
     "^Subtract: expected exactly 2 inputs, got '3 inputs'"),
    (lambda: Subtract()(_symbolic_pair() + [Input((3, 4))]), ValueError,
     "^Subtract: expected exactly 2 inputs, got '3 "),
    (lambda: Add()([np.ones((2, 3))]), ValueError,
     "^Add: expected a list of at least 2 inputs, got '1 inputs'"),
    (lambda: Multiply()([]), ValueError, "^Multiply: expected a list of at least 2 inputs"),
    (lambda: Average()([Input((3,))]), ValueError, "^Average: expected a list of at least 2"),
    (lambda: Add()(np.ones((2, 3))), TypeError,
     "^Add: expected a list of at least 2 inputs as a list, got 'ndarray'"),
    (lambda: Add()(Input((8, 8, 16))), TypeError,
     "^Add: expected a list of at least 2 inputs as a list, got 'SymbolicTensor'"),
    (lambda: Add()(*_symbolic_pair()), TypeError,
     "^Add: expected a list of at least 2 inputs as a list, got '2 separate arguments'"),
    (lambda: Add()(*_array_pair()), TypeError, "^Add: expected .* as a list, got '2 separate"),
    (lambda: Add().output_shape((8, 8, 16)), TypeError,
     r"^Add: expected a list of input shapes \(one tuple per input\)"),
    (lambda: Concatenate(axis=0), ValueError,
     "^Concatenate: expected axis other than 0 \\(the batch axis\\), got 0"),
    (lambda: Concatenate(axis=4)(_symbolic_pair()), ValueError,
     r"^Concatenate: expected axis in \[-2, -1\] or \[1, 2\] \(not the batch axis\)"),
    (lambda: Concatenate(axis=-3)(_array_pair()), ValueError,
     r"^Concatenate: expected axis in \[-2, -1\] or \[1, 2\]"),
    (lambda: Concatenate(axis=1.0), TypeError, "^Concatenate: expected axis an integer"),
    (lambda: Concatenate(axis=True), TypeError, "^Concatenate: expected axis an integer"),
    (lambda: Add()([Input((3, 4)), np.ones((2, 3, 4))]), TypeError,
     "^Add: expected every input symbolic .* got 'ndarray at position 1'"),
    (lambda: Concatenate()([np.ones((2, 3, 4)), Input((3, 4))]), TypeError,
     "^Concatenate: expected every input symbolic .* got 'ndarray at position 0'"),
    (lambda: Add()([np.ones((2, 3), int), np.ones((2, 3))]), TypeError,
     "^Add: expected a floating-point input 0"),
    (lambda: Add()([np.ones((0, 3)), np.ones((0, 3))]), ValueError,
     r"^Add: expected input 0 a non-empty batch \(N, ...\), got \(0, 3\)"),
    (lambda: Multiply()([np.float64(1), np.float64(2)]), ValueError,
     r"^Multiply: expected input 0 a non-empty batch \(N, ...\), got \(\)"),
]


@pytest.mark.parametrize("call, error, message", REFUSED_CALLS)
def test_refused_calls(call, error, message, backend):
    with pytest.raises(error, match=message):
        call()


@pytest.mark.parametrize("name", IDS)
def test_bad_upstream_gradients_are_refused(name, backend):
    make, shapes, _ = CASES[name]
    layer = make(np.float32)
    with pytest.raises(RuntimeError, match=r"^\w+: backward called before forward"):
        layer.backward(np.ones((1,)))
    y = layer(_inputs(shapes))
    wrong = y.shape[:-1] + (y.shape[-1] + 1,)
    with pytest.raises(ValueError, match=r"^\w+: expected grad_output of shape"):
        layer.backward(np.ones(wrong))
    with pytest.raises(TypeError, match=r"^\w+: expected a floating-point grad_output"):
        layer.backward(np.ones(y.shape, int))


# ---- properties on random shapes -----------------------------------------------------------------
MAKERS = {
    "Add": lambda k, axis: Add(dtype=np.float64),
    "Subtract": lambda k, axis: Subtract(dtype=np.float64),
    "Multiply": lambda k, axis: Multiply(dtype=np.float64),
    "Average": lambda k, axis: Average(dtype=np.float64),
    "Concatenate": lambda k, axis: Concatenate(axis=axis, dtype=np.float64),
}
REFERENCES = {
    "Add": lambda xs, axis: _stack(xs).sum(axis=0),
    "Subtract": lambda xs, axis: xs[0] - xs[1],
    "Multiply": lambda xs, axis: _stack(xs).prod(axis=0),
    "Average": lambda xs, axis: _stack(xs).mean(axis=0),
    "Concatenate": lambda xs, axis: np.concatenate(xs, axis=axis),
}


@st.composite
def merge_cases(draw):
    name = draw(st.sampled_from(sorted(MAKERS)))
    sample = draw(st.lists(st.integers(1, 4), min_size=1, max_size=3))
    batch = draw(st.integers(1, 3))
    k = 2 if name == "Subtract" else draw(st.integers(2, 4))
    axis = draw(st.integers(1, len(sample)))
    if draw(st.booleans()):
        axis -= len(sample) + 1   # the same axis counted from the end
    shapes = []
    for _ in range(k):
        shape = [batch] + sample
        if name == "Concatenate":
            shape[axis] = draw(st.integers(1, 4))
        shapes.append(tuple(shape))
    return name, shapes, axis, draw(st.integers(0, 2**32 - 1))


@given(merge_cases())
def test_random_shapes_match_numpy_on_both_backends(case):
    name, shapes, axis, seed = case
    xs = _inputs(shapes, seed)
    upstream = None
    results = []
    for backend_name in BACKENDS:
        with retrograd.use_backend(backend_name):
            layer = MAKERS[name](len(xs), axis)
            y = layer(xs)
            if upstream is None:
                upstream = np.random.default_rng(seed + 1).normal(size=y.shape)
            results.append((y, layer.backward(upstream)[0]))
            symbolic = layer([Input(s[1:], dtype=np.float64) for s in shapes])
            assert symbolic.shape == y.shape[1:]
    y, grads = results[0]
    np.testing.assert_allclose(y, REFERENCES[name](xs, axis), rtol=1e-13, atol=1e-13)
    # the gradient is the transpose of the (linear in each input) Jacobian:
    # <dL/dx_i, v_i> = <upstream, d y(x_i + t v_i)/dt>
    for i, (x, g) in enumerate(zip(xs, grads)):
        assert g.shape == x.shape
        v = np.random.default_rng(seed + 2 + i).normal(size=x.shape)
        bumped = [xx + v if j == i else xx for j, xx in enumerate(xs)]
        directional = np.sum(upstream * (REFERENCES[name](bumped, axis)
                                         - REFERENCES[name](xs, axis)))
        np.testing.assert_allclose(np.sum(g * v), directional, rtol=1e-9, atol=1e-9)
    for other_y, other_grads in results[1:]:
        np.testing.assert_array_equal(other_y, y)
        for a, b in zip(other_grads, grads):
            np.testing.assert_array_equal(a, b)
