"""Low-level tests of the native Conv2D kernels (native_ops.conv2d_forward/backward over
csrc/conv.c).

Checked against an independent float64 formula written inline (one einsum per kernel
offset on the zero-padded input), on random shapes and on edge shapes; with tiles that end
inside images and filter counts around the micro-kernel's register blocks; for the same
bits on repeated calls and for every thread count; for read-only and non-contiguous
inputs; against PyTorch when it is installed; and for the size checks of the Cython layer.
"""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import retrograd

pytestmark = pytest.mark.skipif(not retrograd.native_available(),
                                reason="native kernels not built")
if retrograd.native_available():
    from retrograd.backend import native_ops
    from retrograd._native import _conv


def reference(x, kernels, biases, dy, stride, padding):
    """(y, dx, dkernels, dbiases) in float64, straight from the definitions:
    y[n,i,j,f] = b[f] + sum_{c,p,q} xpad[n, i sh + p, j sw + q, c] K[f,c,p,q] and its
    adjoints, one kernel offset (p, q) at a time."""
    x, kernels, biases = (np.asarray(a, dtype=np.float64) for a in (x, kernels, biases))
    (sh, sw), ((top, bottom), (left, right)) = stride, padding
    _, h, w, _ = x.shape
    _, _, kh, kw = kernels.shape
    xpad = np.pad(x, ((0, 0), (top, bottom), (left, right), (0, 0)))
    oh, ow = (h + top + bottom - kh) // sh + 1, (w + left + right - kw) // sw + 1
    y = np.broadcast_to(biases, (x.shape[0], oh, ow, biases.shape[0])).copy()
    dxpad = np.zeros_like(xpad)
    dk = np.zeros_like(kernels)
    for p in range(kh):
        for q in range(kw):
            rows, cols = slice(p, p + sh * (oh - 1) + 1, sh), slice(q, q + sw * (ow - 1) + 1, sw)
            patch = xpad[:, rows, cols, :]
            y += np.einsum("nijc,fc->nijf", patch, kernels[:, :, p, q])
            if dy is not None:
                dk[:, :, p, q] = np.einsum("nijf,nijc->fc", dy, patch)
                dxpad[:, rows, cols, :] += np.einsum("nijf,fc->nijc", dy, kernels[:, :, p, q])
    if dy is None:
        return y
    dx = dxpad[:, top:top + h, left:left + w, :]
    return y, dx, dk, np.asarray(dy, dtype=np.float64).sum(axis=(0, 1, 2))


def tolerance(dtype, terms):
    """float32 sums of `terms` products of N(0, 1) values: rounding grows like sqrt(terms)."""
    if np.dtype(dtype) == np.float64:
        return dict(rtol=1e-10, atol=1e-10)
    return dict(rtol=1e-4, atol=2e-6 * np.sqrt(terms) * 4)


def make(rng, dtype, n, h, w, c, f, kh, kw, stride, padding):
    x = rng.standard_normal((n, h, w, c)).astype(dtype)
    k = rng.standard_normal((f, c, kh, kw)).astype(dtype)
    b = rng.standard_normal(f).astype(dtype)
    (sh, sw), ((top, bottom), (left, right)) = stride, padding
    oh, ow = (h + top + bottom - kh) // sh + 1, (w + left + right - kw) // sw + 1
    dy = rng.standard_normal((n, oh, ow, f)).astype(dtype)
    return x, k, b, dy


def check(x, k, b, dy, stride, padding):
    dtype = x.dtype
    y_ref, dx_ref, dk_ref, db_ref = reference(x, k, b, dy, stride, padding)
    y = native_ops.conv2d_forward(x, k, b, stride, padding)
    dx, dk, db = native_ops.conv2d_backward(dy, x, k, stride, padding)
    n, oh, ow, f = dy.shape
    c, kh, kw = k.shape[1:]
    for got, want, terms in ((y, y_ref, c * kh * kw), (dx, dx_ref, f * kh * kw),
                             (dk, dk_ref, n * oh * ow), (db, db_ref, n * oh * ow)):
        assert got.dtype == dtype and got.shape == want.shape
        np.testing.assert_allclose(got, want, **tolerance(dtype, terms))


@st.composite
def conv_cases(draw):
    kh, kw = draw(st.integers(1, 5)), draw(st.integers(1, 5))
    top, bottom, left, right = (draw(st.integers(0, 3)) for _ in range(4))
    h = draw(st.integers(max(1, kh - top - bottom), 12))
    w = draw(st.integers(max(1, kw - left - right), 12))
    return dict(n=draw(st.integers(1, 3)), h=h, w=w, c=draw(st.integers(1, 7)),
                f=draw(st.integers(1, 9)), kh=kh, kw=kw,
                stride=(draw(st.integers(1, 4)), draw(st.integers(1, 4))),
                padding=((top, bottom), (left, right)), seed=draw(st.integers(0, 2**31)))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@settings(max_examples=40, deadline=None)
@given(case=conv_cases())
def test_random_shapes_match_the_formula(dtype, case):
    rng = np.random.default_rng(case.pop("seed"))
    stride, padding = case.pop("stride"), case.pop("padding")
    check(*make(rng, dtype, **case, stride=stride, padding=padding), stride, padding)


@st.composite
def direct_cases(draw):
    """Single-channel images at stride 1 (the direct kernels of csrc/conv_direct_impl.h):
    widths across several 2-vector blocks of output and input pixels, filter counts around
    the 6-filter register block."""
    kh, kw = draw(st.integers(1, 6)), draw(st.integers(1, 6))
    top, bottom, left, right = (draw(st.integers(0, 3)) for _ in range(4))
    h = draw(st.integers(max(1, kh - top - bottom), 12))
    w = draw(st.integers(max(1, kw - left - right), 40))
    return dict(n=draw(st.integers(1, 5)), h=h, w=w, c=1, f=draw(st.integers(1, 13)), kh=kh,
                kw=kw, stride=(1, 1), padding=((top, bottom), (left, right)),
                seed=draw(st.integers(0, 2**31)))


@pytest.mark.usefixtures("restore_num_threads")
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@settings(max_examples=40, deadline=None)
@given(case=direct_cases(), n_threads=st.integers(1, 3))
def test_single_channel_direct_kernels_match_the_formula(dtype, case, n_threads):
    retrograd.set_num_threads(n_threads)
    rng = np.random.default_rng(case.pop("seed"))
    stride, padding = case.pop("stride"), case.pop("padding")
    check(*make(rng, dtype, **case, stride=stride, padding=padding), stride, padding)


@pytest.mark.parametrize("c, stride", [(1, (1, 1)), (1, (2, 1)), (3, (1, 1))])
def test_without_the_input_gradient(c, stride):
    """input_grad=False (a network's first layer): dx is None, dK and db unchanged."""
    rng = np.random.default_rng(c)
    padding = ((1, 0), (2, 1))
    x, k, b, dy = make(rng, np.float32, 3, 11, 13, c, 6, 5, 5, stride, padding)
    dx, dk, db = native_ops.conv2d_backward(dy, x, k, stride, padding)
    none, dk2, db2 = native_ops.conv2d_backward(dy, x, k, stride, padding, input_grad=False)
    assert none is None
    np.testing.assert_array_equal(dk2, dk)
    np.testing.assert_array_equal(db2, db)


def test_infinite_pixels_reach_only_the_kernel_gradients_they_touch():
    """An infinite pixel in the last column of a single-channel image enters dK[:, :, :, q]
    only for the q that reach it: the direct kernel's vector lanes past the output width
    must not multiply it by zero into a NaN."""
    x = np.zeros((1, 4, 12, 1), np.float32)
    x[0, 1, 11, 0] = np.inf
    k = np.ones((6, 1, 3, 3), np.float32)
    dy = np.ones((1, 2, 10, 6), np.float32)
    _, dk, _ = native_ops.conv2d_backward(dy, x, k, (1, 1), ((0, 0), (0, 0)))
    assert np.isinf(dk[:, :, :2, 2]).all()
    assert not np.isnan(dk[:, :, :, :2]).any() and (dk[:, :, :, :2] == 0).all()


EDGES = {
    "1x1 image, 1x1 kernel": (1, 1, 1, 1, 1, 1, 1, (1, 1), ((0, 0), (0, 0))),
    "kernel = input": (2, 5, 4, 3, 2, 5, 4, (1, 1), ((0, 0), (0, 0))),
    "stride > kernel": (2, 9, 10, 2, 3, 2, 2, (4, 3), ((0, 0), (0, 0))),
    "batch 1, channels 1": (1, 8, 8, 1, 1, 3, 3, (1, 1), ((1, 1), (1, 1))),
    "padding wider than the image": (2, 2, 3, 2, 2, 3, 3, (1, 1), ((3, 2), (3, 3))),
    "1x1 image, big padding": (1, 1, 1, 2, 3, 3, 3, (2, 2), ((2, 2), (2, 2))),
    "lenet conv1": (4, 28, 28, 1, 6, 5, 5, (1, 1), ((0, 0), (0, 0))),
    "same 3x3, 64 -> 64": (2, 8, 8, 64, 64, 3, 3, (1, 1), ((1, 1), (1, 1))),
}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", EDGES.values(), ids=EDGES.keys())
def test_edge_shapes(dtype, case):
    n, h, w, c, f, kh, kw, stride, padding = case
    rng = np.random.default_rng(sum(case[:7]))
    check(*make(rng, dtype, n, h, w, c, f, kh, kw, stride, padding), stride, padding)


@pytest.mark.parametrize("c, f", [(200, 37), (64, 1), (7, 8), (9, 9), (3, 17), (1, 33)])
def test_tiles_and_register_blocks_with_remainders(c, f):
    """Patch lengths K = 9 C from 9 to 1800 (tiles of 3 to 4096 pixels, so tiles end inside
    images) and filter counts around the micro-kernel's 1 and 2 vector widths."""
    rng = np.random.default_rng(c * 100 + f)
    stride, padding = (1, 2), ((1, 1), (0, 2))
    check(*make(rng, np.float64, 3, 7, 9, c, f, 3, 3, stride, padding), stride, padding)


@pytest.mark.usefixtures("restore_num_threads")
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_thread_counts(dtype):
    """Every result is the same bits on every call and for every thread count: the
    kernel-gradient reduction runs over image groups fixed by the batch size alone."""
    rng = np.random.default_rng(3)
    stride, padding = (1, 1), ((1, 1), (1, 1))
    x, k, b, dy = make(rng, dtype, 37, 16, 16, 8, 16, 3, 3, stride, padding)
    results = []
    for n_threads in (1, 2, 4, 1):
        retrograd.set_num_threads(n_threads)
        results.append((native_ops.conv2d_forward(x, k, b, stride, padding),
                        *native_ops.conv2d_backward(dy, x, k, stride, padding)))
    for other in results[1:]:
        for a, c in zip(results[0], other):
            np.testing.assert_array_equal(a, c)


def test_read_only_and_non_contiguous_inputs():
    rng = np.random.default_rng(4)
    stride, padding = (1, 2), ((0, 1), (1, 0))
    x, k, b, dy = make(rng, np.float64, 2, 7, 8, 3, 5, 3, 2, stride, padding)
    want = (native_ops.conv2d_forward(x, k, b, stride, padding),
            *native_ops.conv2d_backward(dy, x, k, stride, padding))
    # Fortran-ordered and strided views with the same values, all read-only
    xs = np.asfortranarray(x)
    ks = np.zeros((5, 3, 3, 4))[:, :, :, ::2]
    ks[...] = k
    dys = np.zeros(dy.shape[:-1] + (2 * dy.shape[-1],))[..., ::2]
    dys[...] = dy
    for a in (x, k, b, dy, xs, ks, dys):
        a.flags.writeable = False
    for xi, ki, dyi in ((x, k, dy), (xs, ks, dys)):
        got = (native_ops.conv2d_forward(xi, ki, b, stride, padding),
               *native_ops.conv2d_backward(dyi, xi, ki, stride, padding))
        for g, w in zip(got, want):
            np.testing.assert_array_equal(g, w)


def test_inputs_are_not_modified():
    rng = np.random.default_rng(5)
    stride, padding = (1, 1), ((2, 2), (2, 2))
    data = make(rng, np.float32, 2, 6, 6, 2, 3, 5, 5, stride, padding)
    copies = [a.copy() for a in data]
    native_ops.conv2d_forward(*data[:3], stride, padding)
    native_ops.conv2d_backward(data[3], data[0], data[1], stride, padding)
    for a, c in zip(data, copies):
        np.testing.assert_array_equal(a, c)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_against_pytorch(dtype):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(6)
    stride, padding = (2, 1), ((1, 1), (2, 2))
    x, k, b, dy = make(rng, dtype, 3, 11, 9, 4, 6, 3, 5, stride, padding)
    xt = torch.tensor(x.transpose(0, 3, 1, 2), requires_grad=True)
    kt = torch.tensor(k, requires_grad=True)
    bt = torch.tensor(b, requires_grad=True)
    yt = torch.nn.functional.conv2d(xt, kt, bt, stride=stride, padding=(1, 2))
    yt.backward(torch.tensor(dy.transpose(0, 3, 1, 2)))
    y = native_ops.conv2d_forward(x, k, b, stride, padding)
    dx, dk, db = native_ops.conv2d_backward(dy, x, k, stride, padding)
    tol = tolerance(dtype, 100)
    np.testing.assert_allclose(y, yt.detach().numpy().transpose(0, 2, 3, 1), **tol)
    np.testing.assert_allclose(dx, xt.grad.numpy().transpose(0, 2, 3, 1), **tol)
    np.testing.assert_allclose(dk, kt.grad.numpy(), **tol)
    np.testing.assert_allclose(db, bt.grad.numpy(), **tol)


_WORK = dict(H=5, W=5, C=3, F=4, KH=3, KW=3, sh=1, sw=1, pt=0, pl=0, OH=3, OW=3, n_threads=1,
             double_precision=True)


def _forward_args(**change):
    args = dict(x=np.zeros((2, 5, 5, 3)), wm=np.zeros((27, 4)), b=np.zeros(4), KH=3, KW=3,
                sh=1, sw=1, pt=0, pl=0, y=np.zeros((2, 3, 3, 4)),
                work=np.zeros(_conv.workspace_size(**_WORK)), n_threads=1)
    args.update(change)
    return args


def _backward_args(**change):
    args = dict(x=np.zeros((2, 5, 5, 3)), wmt=np.zeros((4, 27)), dy=np.zeros((2, 3, 3, 4)),
                KH=3, KW=3, sh=1, sw=1, pt=0, pl=0, dx=np.zeros((2, 5, 5, 3)),
                dwm=np.zeros((27, 4)), db=np.zeros(4),
                work=np.zeros(_conv.workspace_size(**_WORK)), n_threads=1)
    args.update(change)
    return args


# The wrappers take (OH, OW) from the output's (forward) or dy's (backward) shape: native_ops
# computes them once, from the padding; the wrappers check every array against them.
BAD_FORWARD = {
    "empty batch": (dict(x=np.zeros((0, 5, 5, 3)), y=np.zeros((0, 3, 3, 4))),
                    "N >= 1, got N=0"),
    "kernel of no rows": (dict(KH=0, wm=np.zeros((0, 4))), "KH >= 1, got KH=0"),
    "zero stride": (dict(sh=0), "sh >= 1, got sh=0"),
    "negative padding": (dict(pl=-1), "pl >= 0, got pl=-1"),
    "no threads": (dict(n_threads=0), "n_threads >= 1"),
    "workspace too short": (dict(work=np.zeros(10)), r"workspace of at least \d+ elements, got 10"),
    "workspace for fewer threads": (dict(n_threads=64), "workspace of at least"),
    "wm of another C": (dict(wm=np.zeros((18, 4))), r"wm of shape \(27, 4\)"),
    "biases too short": (dict(b=np.zeros(3)), r"b of shape \(4,\)"),
    "y of other filters": (dict(y=np.zeros((2, 3, 3, 5))), r"y of shape \(2, 3, 3, 4\)"),
    "y of another batch": (dict(y=np.zeros((1, 3, 3, 4))), r"y of shape \(2, 3, 3, 4\)"),
    "y of no rows": (dict(y=np.zeros((2, 0, 3, 4))), "OH >= 1, got OH=0"),
}
BAD_BACKWARD = {
    "dy of the wrong size": (dict(dy=np.zeros((2, 3, 3, 5))), r"dy of shape \(2, 3, 3, 4\)"),
    "dx of the wrong size": (dict(dx=np.zeros((2, 5, 4, 3))), r"dx of shape \(2, 5, 5, 3\)"),
    "dwm of the wrong size": (dict(dwm=np.zeros((27, 3))), r"dwm of shape \(27, 4\)"),
    "db of the wrong size": (dict(db=np.zeros(5)), r"db of shape \(4,\)"),
    "wmt of another K": (dict(wmt=np.zeros((4, 26))), r"wmt of shape \(4, 27\)"),
    "workspace too short": (dict(work=np.zeros(10)), "workspace of at least"),
}


@pytest.mark.parametrize("change, match", BAD_FORWARD.values(), ids=BAD_FORWARD.keys())
def test_forward_wrapper_checks_every_size(change, match):
    with pytest.raises(ValueError, match="^Conv2D: expected .*" + match):
        _conv.forward(**_forward_args(**change))


@pytest.mark.parametrize("change, match", BAD_BACKWARD.values(), ids=BAD_BACKWARD.keys())
def test_backward_wrapper_checks_every_size(change, match):
    with pytest.raises(ValueError, match="^Conv2D: expected .*" + match):
        _conv.backward(**_backward_args(**change))


@pytest.mark.parametrize("kernels, stride, padding, match", [
    (np.zeros((4, 3, 6, 3)), (1, 1), ((0, 0), (0, 0)),
     r"expected a kernel no larger than the padded input \(5, 5\), got \(6, 3\)"),
    (np.zeros((4, 3, 3, 3)), (0, 1), ((0, 0), (0, 0)), r"expected strides >= 1, got \(0, 1\)"),
    (np.zeros((4, 3, 3, 3)), (1, 1), ((0, -1), (0, 0)), r"expected paddings >= 0"),
])
def test_native_ops_computes_and_checks_the_geometry(kernels, stride, padding, match):
    x = np.zeros((2, 5, 5, 3))
    for call in (lambda: native_ops.conv2d_forward(x, kernels, np.zeros(4), stride, padding),
                 lambda: native_ops.conv2d_backward(np.zeros((2, 3, 3, 4)), x, kernels, stride,
                                                    padding)):
        with pytest.raises(ValueError, match="^Conv2D: " + match):
            call()
    with pytest.raises(ValueError, match="^Mine: " + match):
        native_ops.conv2d_forward(x, kernels, np.zeros(4), stride, padding, owner="Mine")


def test_wrappers_refuse_read_only_outputs_and_mixed_dtypes():
    y = np.zeros((2, 3, 3, 4))
    y.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        _conv.forward(**_forward_args(y=y))
    with pytest.raises((TypeError, ValueError)):
        _conv.forward(**_forward_args(y=np.zeros((2, 3, 3, 4), dtype=np.float32)))


def test_kernel_gradient_channel_mismatch_is_refused():
    x = np.zeros((1, 4, 4, 2))
    with pytest.raises(ValueError, match="Conv2D: expected x .* the same C"):
        native_ops.conv2d_forward(x, np.zeros((3, 5, 2, 2)), np.zeros(3), (1, 1),
                                  ((0, 0), (0, 0)))
    with pytest.raises(ValueError, match="Conv2D: expected dy of shape"):
        native_ops.conv2d_backward(np.zeros((1, 2, 2, 3)), x, np.zeros((3, 2, 2, 2)), (1, 1),
                                   ((0, 0), (0, 0)))
