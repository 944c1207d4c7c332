"""Low-level tests of the native Dense kernels (native_ops.dense_forward/backward over
csrc/dense.c) and of the NumPy reference they replace.

Both backends are checked against a float64 oracle with a rounding bound, on a grid of
sizes around the micro-kernel's blocks (6 rows, 8/16 lanes, 256-row k blocks, 96-row A
blocks) and on hypothesis shapes, on one and on several threads; the native results are
the same bits for every thread count; input_grad=False skips dx on both backends; read-only
and non-contiguous inputs work; bad shapes are refused by native_ops and by the Cython
layer with a ValueError naming dense; and the kernels agree with PyTorch when it is
installed.
"""
import numpy as np
import pytest
from hypothesis import given, strategies as st

import retrograd
from retrograd.backend import numpy_ops

pytestmark = pytest.mark.skipif(not retrograd.native_available(),
                                reason="native kernels not built")
if retrograd.native_available():
    from retrograd.backend import native_ops
    from retrograd._native import _dense, _runtime

    GRAIN = _runtime.grains()["dense"]

BACKENDS = {"numpy": numpy_ops}
if retrograd.native_available():
    BACKENDS["native"] = native_ops


def make(rng, dtype, n, i, o):
    """x (n, i), W (i, o), b (o,), dy (n, o) of N(0, 1) values in ``dtype``."""
    return tuple(rng.standard_normal(shape).astype(dtype) for shape in ((n, i), (i, o), (o,),
                                                                        (n, o)))


def oracle(x, w, b, dy):
    """(y, dx, dW, db) in float64, each with the sum of the absolute values of its terms
    (the scale of its rounding error)."""
    x, w, b, dy = (a.astype(np.float64) for a in (x, w, b, dy))
    ax, aw, ady = np.abs(x), np.abs(w), np.abs(dy)
    return ((x @ w + b, ax @ aw + np.abs(b)), (dy @ w.T, ady @ aw.T), (x.T @ dy, ax.T @ ady),
            (dy.sum(axis=0), ady.sum(axis=0)))


def assert_within_rounding(got, want, scale, terms, dtype):
    """|got - want| <= 2 terms eps scale elementwise: the classical bound for a sum of
    `terms` products, rounded in ``dtype``, with a factor 2 of slack."""
    assert got.dtype == dtype and got.shape == want.shape
    bound = 2 * (terms + 1) * np.finfo(dtype).eps * scale + np.finfo(dtype).tiny
    excess = np.abs(got.astype(np.float64) - want) - bound
    assert excess.max() <= 0, f"off by {excess.max():.3g} beyond the rounding bound"


def check_backend(ops, x, w, b, dy):
    """One backend's (y, dx, dW, db) against the oracle; returns them."""
    n, i = x.shape
    o = w.shape[1]
    got = (ops.dense_forward(x, w, b), *ops.dense_backward(dy, x, w))
    for g, (want, scale), terms in zip(got, oracle(x, w, b, dy), (i, o, n, n)):
        assert_within_rounding(g, want, scale, terms, x.dtype)
    return got


def check_both(x, w, b, dy):
    """Native and NumPy each within rounding of the oracle (hence of each other)."""
    for ops in BACKENDS.values():
        check_backend(ops, x, w, b, dy)


GRID_ROWS = (1, 5, 6, 7, 13, 100)            # batch: around RG_MR = 6 and the 96-row blocks
GRID_IN = (1, 7, 16, 17, 84, 257)            # in: around lanes and the 256-row k blocks
GRID_OUT = (1, 8, 10, 16, 17, 33)            # out: one or two vectors per panel, remainders


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_grid_of_sizes_matches_the_oracle(dtype):
    rng = np.random.default_rng(0)
    for n in GRID_ROWS:
        for i in GRID_IN:
            for o in GRID_OUT:
                check_both(*make(rng, dtype, n, i, o))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n, i, o", [(300, 20, 9), (7, 300, 270), (97, 5, 300), (520, 97, 33)])
def test_several_k_blocks_and_row_blocks(dtype, n, i, o):
    """Sums longer than one 256-row k block in each product (y over in, dx over out, dW
    over the batch) and more than one 96-row block of A."""
    check_both(*make(np.random.default_rng(n * i), dtype, n, i, o))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@given(n=st.integers(1, 40), i=st.integers(1, 70), o=st.integers(1, 40),
       seed=st.integers(0, 2**32 - 1))
def test_random_shapes_match_the_oracle(dtype, n, i, o, seed):
    check_both(*make(np.random.default_rng(seed), dtype, n, i, o))


@pytest.mark.usefixtures("restore_num_threads")
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@given(n=st.integers(100, 140), i=st.integers(90, 130), o=st.integers(90, 120),
       n_threads=st.integers(2, 3), seed=st.integers(0, 2**32 - 1))
def test_random_shapes_on_several_threads(dtype, n, i, o, n_threads, seed):
    """Sizes of at least 3 grains of multiply-adds, so the kernels really split the work."""
    assert n * i * o >= 3 * GRAIN
    retrograd.set_num_threads(n_threads)
    check_backend(native_ops, *make(np.random.default_rng(seed), dtype, n, i, o))


@pytest.mark.usefixtures("restore_num_threads")
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n, i, o", [(150, 131, 97), (1201, 67, 10), (20, 300, 300)])
def test_same_bits_for_every_thread_count(dtype, n, i, o):
    """y, dx, dW and db are the same bits for 1, 2 and 3 threads and on repeated calls
    (with another shape in between, which reuses the workspace): dW and db are each
    summed over the batch by one thread in batch order."""
    assert n * i * o >= 3 * GRAIN
    rng = np.random.default_rng(n + i + o)
    x, w, b, dy = make(rng, dtype, n, i, o)
    other = make(rng, dtype, 9, 5, 3)
    results = []
    for n_threads in (1, 2, 3, 1):
        retrograd.set_num_threads(n_threads)
        results.append((native_ops.dense_forward(x, w, b),
                        *native_ops.dense_backward(dy, x, w)))
        native_ops.dense_backward(other[3], other[0], other[1])
    for result in results[1:]:
        for got, first in zip(result, results[0]):
            np.testing.assert_array_equal(got, first)


@pytest.mark.usefixtures("restore_num_threads")
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("n_threads", [1, 3])
def test_without_the_input_gradient(backend, n_threads):
    """input_grad=False (a network's first layer): dx is None, dW and db unchanged."""
    retrograd.set_num_threads(n_threads)
    ops = BACKENDS[backend]
    x, w, _, dy = make(np.random.default_rng(7), np.float32, 200, 150, 33)
    _, dw, db = ops.dense_backward(dy, x, w)
    none, dw2, db2 = ops.dense_backward(dy, x, w, input_grad=False)
    assert none is None
    np.testing.assert_array_equal(dw2, dw)
    np.testing.assert_array_equal(db2, db)


def test_read_only_and_non_contiguous_inputs():
    rng = np.random.default_rng(8)
    x, w, b, dy = make(rng, np.float64, 11, 9, 13)
    want = (native_ops.dense_forward(x, w, b), *native_ops.dense_backward(dy, x, w))
    xs = np.zeros((11, 18))[:, ::2]
    xs[...] = x
    ws = np.asfortranarray(w)
    bs = np.zeros(26)[::2]
    bs[...] = b
    dys = np.asfortranarray(dy)
    for a in (x, w, b, dy, xs, ws, bs, dys):
        a.flags.writeable = False
    got = (native_ops.dense_forward(xs, ws, bs), *native_ops.dense_backward(dys, xs, ws))
    for g, v in zip(got, want):
        np.testing.assert_array_equal(g, v)


def test_inputs_are_not_modified():
    data = make(np.random.default_rng(9), np.float32, 20, 30, 17)
    copies = [a.copy() for a in data]
    native_ops.dense_forward(*data[:3])
    native_ops.dense_backward(data[3], data[0], data[1])
    for a, c in zip(data, copies):
        np.testing.assert_array_equal(a, c)


def test_weights_of_another_float_dtype_are_cast_to_the_input_dtype():
    x, w, b, dy = make(np.random.default_rng(10), np.float32, 4, 3, 5)
    y = native_ops.dense_forward(x, w.astype(np.float64), b.astype(np.float64))
    dx, dw, db = native_ops.dense_backward(dy.astype(np.float64), x, w.astype(np.float64))
    assert {a.dtype for a in (y, dx, dw, db)} == {np.dtype(np.float32)}
    np.testing.assert_array_equal(y, native_ops.dense_forward(x, w, b))


# ---- bad input: native_ops names the layer, the Cython layer checks every size -----------
def _f32(*shape):
    return np.ones(shape, np.float32)


OPS_BAD = {
    "x 1-D": (lambda: native_ops.dense_forward(_f32(4), _f32(4, 3), _f32(3)), ValueError,
              r"Dense: expected x \(N, in\) and weights \(in, out\)"),
    "in mismatch": (lambda: native_ops.dense_forward(_f32(2, 5), _f32(4, 3), _f32(3)),
                    ValueError, r"Dense: expected x \(N, in\) .* got \(2, 5\) and \(4, 3\)"),
    "weights 3-D": (lambda: native_ops.dense_backward(_f32(2, 3), _f32(2, 4), _f32(4, 3, 1)),
                    ValueError, r"Dense: expected x \(N, in\) and weights"),
    "biases 2-D": (lambda: native_ops.dense_forward(_f32(2, 4), _f32(4, 3), _f32(1, 3)),
                   ValueError, r"Dense: expected biases of shape \(3,\), got \(1, 3\)"),
    "dy shape": (lambda: native_ops.dense_backward(_f32(2, 4), _f32(2, 4), _f32(4, 3)),
                 ValueError, r"Dense: expected dy of shape \(2, 3\), got \(2, 4\)"),
    "empty batch": (lambda: native_ops.dense_forward(_f32(0, 4), _f32(4, 3), _f32(3)),
                    ValueError, r"Dense: expected N >= 1, got N=0"),
    "no outputs": (lambda: native_ops.dense_backward(_f32(2, 0), _f32(2, 4), _f32(4, 0)),
                   ValueError, r"Dense: expected O >= 1, got O=0"),
    "int x": (lambda: native_ops.dense_forward(np.ones((2, 4), np.int64), _f32(4, 3), _f32(3)),
              TypeError, r"Dense: expected x of dtype float32 or float64, got dtype int64"),
}


@pytest.mark.parametrize("call, error, message", OPS_BAD.values(), ids=OPS_BAD.keys())
def test_native_ops_refuse_bad_shapes(call, error, message):
    with pytest.raises(error, match=message):
        call()


def _work(n, i, o, n_threads=1):
    return np.empty(_dense.workspace_size(n, i, o, n_threads, False), np.float32)


# Direct calls of the Cython layer with buffers that disagree: every one must raise before
# the GIL is released (a missed check would read or write out of bounds, or crash).
CYTHON_BAD = {
    "w rows": (lambda: _dense.forward(_f32(2, 4), _f32(5, 3), _f32(3), _f32(2, 3), _work(2, 4, 3),
                                      1), r"expected w of shape \(4, 3\), got \(5, 3\)"),
    "b length": (lambda: _dense.forward(_f32(2, 4), _f32(4, 3), _f32(4), _f32(2, 3),
                                        _work(2, 4, 3), 1), r"expected b of shape \(3,\), got \(4,\)"),
    "y rows": (lambda: _dense.forward(_f32(2, 4), _f32(4, 3), _f32(3), _f32(1, 3), _work(2, 4, 3),
                                      1), r"expected y of shape \(2, 3\), got \(1, 3\)"),
    "forward workspace": (lambda: _dense.forward(_f32(2, 4), _f32(4, 3), _f32(3), _f32(2, 3),
                                                 _f32(10), 1),
                          r"expected a workspace of at least \d+ elements, got 10"),
    "workspace for fewer threads": (lambda: _dense.forward(_f32(2, 4), _f32(4, 3), _f32(3),
                                                           _f32(2, 3), _work(2, 4, 3), 4),
                                    r"expected a workspace of at least"),
    "no threads": (lambda: _dense.forward(_f32(2, 4), _f32(4, 3), _f32(3), _f32(2, 3),
                                          _work(2, 4, 3), 0), r"expected n_threads >= 1, got 0"),
    "dy rows": (lambda: _dense.backward(_f32(2, 4), _f32(4, 3), _f32(3, 3), _f32(2, 4),
                                        _f32(4, 3), _f32(3), _work(2, 4, 3), 1),
                r"expected dy of shape \(2, 3\), got \(3, 3\)"),
    "dx shape": (lambda: _dense.backward(_f32(2, 4), _f32(4, 3), _f32(2, 3), _f32(2, 3),
                                         _f32(4, 3), _f32(3), _work(2, 4, 3), 1),
                 r"expected dx of shape \(2, 4\), got \(2, 3\)"),
    "dw shape": (lambda: _dense.backward(_f32(2, 4), _f32(4, 3), _f32(2, 3), None, _f32(3, 4),
                                         _f32(3), _work(2, 4, 3), 1),
                 r"expected dw of shape \(4, 3\), got \(3, 4\)"),
    "db length": (lambda: _dense.backward(_f32(2, 4), _f32(4, 3), _f32(2, 3), None, _f32(4, 3),
                                          _f32(2), _work(2, 4, 3), 1),
                  r"expected db of shape \(3,\), got \(2,\)"),
    "backward workspace": (lambda: _dense.backward(_f32(2, 4), _f32(4, 3), _f32(2, 3), None,
                                                   _f32(4, 3), _f32(3), _f32(1), 1),
                           r"expected a workspace of at least"),
    "empty batch": (lambda: _dense.backward(_f32(0, 4), _f32(4, 3), _f32(0, 3), None, _f32(4, 3),
                                            _f32(3), _f32(100), 1), r"expected N >= 1, got N=0"),
}


@pytest.mark.parametrize("call, message", CYTHON_BAD.values(), ids=CYTHON_BAD.keys())
def test_cython_layer_checks_every_size(call, message):
    with pytest.raises(ValueError, match="Dense: " + message):
        call()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n, i, o", [(6, 5, 4), (33, 120, 84)])
def test_against_pytorch(dtype, n, i, o):
    torch = pytest.importorskip("torch")
    x, w, b, dy = make(np.random.default_rng(n), dtype, n, i, o)
    xt = torch.tensor(x, requires_grad=True)
    wt = torch.tensor(w.T.copy(), requires_grad=True)   # torch stores (out, in)
    bt = torch.tensor(b, requires_grad=True)
    yt = torch.nn.functional.linear(xt, wt, bt)
    yt.backward(torch.tensor(dy))
    torch_results = (yt.detach().numpy(), xt.grad.numpy(), wt.grad.numpy().T, bt.grad.numpy())
    native_results = (native_ops.dense_forward(x, w, b), *native_ops.dense_backward(dy, x, w))
    for got, want, (_, scale), terms in zip(native_results, torch_results, oracle(x, w, b, dy),
                                           (i, o, n, n)):
        # both within the rounding bound of the exact result, so within twice it of each other
        assert_within_rounding(got, want.astype(np.float64), 2 * scale, terms, dtype)
