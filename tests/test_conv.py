"""Conv2D and the conv2d kernels: the NumPy reference against a naive loop oracle and
finite differences, native against NumPy (a grid and hypothesis-drawn shapes, both
dtypes, 1 and 2 threads), PyTorch, odd memory layouts, and bad input."""
import doctest

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import retrograd
from retrograd.backend import native_ops, numpy_ops
from retrograd.layers import Conv2D, Convolution2D
from retrograd.layers import conv as conv_module

from conftest import BACKENDS, DTYPES, central_difference

needs_native = pytest.mark.skipif(not retrograd.native_available(),
                                  reason="native kernels not built")


# ---- the textbook's naive convolution: the test oracle -----------------------------------
def naive_conv2d(x, kernels, biases, stride, padding):
    """Four loops (batch, output row, output column, filter), one window product each."""
    (sh, sw), (kh, kw) = stride, kernels.shape[2:]
    xpad = np.pad(x, ((0, 0), padding[0], padding[1], (0, 0)))
    n, hp, wp, _ = xpad.shape
    oh, ow = (hp - kh) // sh + 1, (wp - kw) // sw + 1
    y = np.zeros((n, oh, ow, kernels.shape[0]))
    for b in range(n):
        for i in range(oh):
            for j in range(ow):
                for f in range(kernels.shape[0]):
                    window = xpad[b, i * sh:i * sh + kh, j * sw:j * sw + kw, :]
                    y[b, i, j, f] = biases[f] + np.sum(window * kernels[f].transpose(1, 2, 0))
    return y


def naive_conv2d_backward(dy, x, kernels, stride, padding):
    """The same four loops, each output spreading its gradient over its window."""
    (sh, sw), (kh, kw) = stride, kernels.shape[2:]
    (top, _), (left, _) = padding
    xpad = np.pad(x, ((0, 0), padding[0], padding[1], (0, 0)))
    dxpad, dk = np.zeros_like(xpad), np.zeros_like(kernels)
    n, oh, ow, nf = dy.shape
    for b in range(n):
        for i in range(oh):
            for j in range(ow):
                for f in range(nf):
                    rows, cols = slice(i * sh, i * sh + kh), slice(j * sw, j * sw + kw)
                    g = dy[b, i, j, f]
                    dxpad[b, rows, cols, :] += g * kernels[f].transpose(1, 2, 0)
                    dk[f] += g * xpad[b, rows, cols, :].transpose(2, 0, 1)
    dx = dxpad[:, top:top + x.shape[1], left:left + x.shape[2]]
    return dx, dk, dy.sum(axis=(0, 1, 2))


# ---- the grid of geometries ----------------------------------------------------------------
# (N, H, W, C, F, kernel_size, stride, padding): every padding form, 1x1 images, kernels
# equal to the (padded) input, stride > kernel, batch 1, one channel, odd and non-square sizes.
GRID = [
    (2, 5, 5, 2, 3, 3, 1, 0),
    (2, 5, 5, 2, 3, 3, 1, 1),
    (1, 5, 6, 2, 2, 3, 2, "valid"),
    (2, 5, 5, 2, 3, 3, 2, "same"),
    (2, 6, 6, 1, 2, 3, 2, "same"),         # total pad 1: the extra row/column bottom/right
    (1, 8, 7, 2, 2, 3, 3, "same"),
    (2, 6, 7, 3, 2, (2, 3), (1, 2), "same"),
    (1, 7, 5, 1, 2, (3, 2), (2, 3), (1, 2)),
    (2, 5, 5, 2, 2, 2, 3, 0),              # stride > kernel: some inputs are never read
    (1, 1, 1, 1, 1, 1, 1, 0),              # 1x1 image, 1x1 kernel
    (2, 1, 1, 2, 3, 3, 1, "same"),         # 1x1 image, padded to 3x3
    (2, 1, 1, 1, 2, 3, 2, 1),              # 1x1 image, kernel = padded input
    (1, 3, 3, 2, 2, 3, 1, "valid"),        # kernel = input
    (2, 4, 4, 2, 2, 6, 1, 1),              # kernel = padded input
    (2, 4, 5, 1, 1, (4, 1), (1, 2), (0, 2)),
]
GRID_IDS = ["-".join(map(str, case)).replace(" ", "") for case in GRID]


def _layer(case, dtype=np.float64, seed=0):
    _, _, _, c, f, k, s, p = case
    layer = Conv2D(c, f, k, stride=s, padding=p, dtype=dtype, seed=seed)
    layer.biases[...] = np.random.default_rng(seed + 1).normal(size=f)
    return layer


def _input(case, dtype=np.float64, seed=0):
    n, h, w, c = case[:4]
    return np.random.default_rng(seed).normal(size=(n, h, w, c)).astype(dtype)


def _kernel_args(case, dtype=np.float64, seed=0):
    """(x, kernels, biases, stride, padding) with the padding resolved by the layer."""
    layer = _layer(case, dtype, seed)
    x = _input(case, dtype, seed)
    padding, _ = layer._geometry(x.shape[1], x.shape[2], x.shape)
    return x, layer.kernels, layer.biases, layer.stride, padding


@pytest.mark.parametrize("case", GRID, ids=GRID_IDS)
def test_numpy_forward_and_backward_match_the_naive_oracle(case):
    x, k, b, stride, padding = _kernel_args(case)
    y = numpy_ops.conv2d_forward(x, k, b, stride, padding)
    np.testing.assert_allclose(y, naive_conv2d(x, k, b, stride, padding), rtol=1e-12, atol=1e-12)
    dy = np.random.default_rng(9).normal(size=y.shape)
    for got, expected in zip(numpy_ops.conv2d_backward(dy, x, k, stride, padding),
                             naive_conv2d_backward(dy, x, k, stride, padding)):
        assert got.shape == expected.shape and got.dtype == np.float64
        np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("case", GRID, ids=GRID_IDS)
def test_output_size_follows_the_formulas(case):
    n, h, w, _, f, k, s, p = case
    layer = _layer(case)
    (kh, kw), (sh, sw) = layer.kernel_size, layer.stride
    if p == "same":
        expected = (-(-h // sh), -(-w // sw))
    else:
        ph, pw = (0, 0) if p == "valid" else layer.padding
        expected = ((h + 2 * ph - kh) // sh + 1, (w + 2 * pw - kw) // sw + 1)
    assert layer.forward(_input(case)).shape == (n,) + expected + (f,)
    assert layer.output_shape((h, w, case[3])) == expected + (f,)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("case", GRID, ids=GRID_IDS)
def test_gradients_match_finite_differences(case, backend):
    layer = _layer(case)
    x = _input(case)
    with retrograd.use_backend(backend):
        upstream = np.random.default_rng(4).normal(size=layer.forward(x).shape)
        dx, grads = layer.backward(upstream)

        def objective(_):
            return float(np.sum(layer.forward(x) * upstream))

        np.testing.assert_allclose(dx, central_difference(objective, x), rtol=1e-6, atol=1e-8)
        for analytic, param in zip(grads, layer.params):
            np.testing.assert_allclose(analytic, central_difference(objective, param),
                                       rtol=1e-6, atol=1e-8)
    assert grads is layer.grads


def test_same_padding_puts_the_odd_row_and_column_at_the_bottom_right():
    layer = Conv2D(1, 1, 2, stride=2, padding="same", dtype=np.float64)
    layer.kernels[...] = 1.0
    x = np.arange(1.0, 10.0).reshape(1, 3, 3, 1)            # out = ceil(3/2) = 2, pad (0, 1)
    with retrograd.use_backend("numpy"):
        y = layer.forward(x)[0, :, :, 0]
    np.testing.assert_array_equal(y, [[1 + 2 + 4 + 5, 3 + 6], [7 + 8, 9]])


# ---- native against NumPy --------------------------------------------------------------
def _tolerance(dtype, terms):
    """Backends may add a sum of ``terms`` products in another order: float32 rounding
    grows like sqrt(terms), so atol scales with it (values here are O(1))."""
    if np.dtype(dtype) == np.float32:
        return {"rtol": 1e-4, "atol": 1e-5 * max(1.0, np.sqrt(terms))}
    return {"rtol": 1e-10, "atol": 1e-10 * max(1.0, np.sqrt(terms))}


def _compare_backends(x, k, b, stride, padding):
    dtype = x.dtype
    kh, kw = k.shape[2:]
    y = native_ops.conv2d_forward(x, k, b, stride, padding)
    y_ref = numpy_ops.conv2d_forward(x, k, b, stride, padding)
    assert y.dtype == dtype and y.shape == y_ref.shape
    np.testing.assert_allclose(y, y_ref, **_tolerance(dtype, k.shape[1] * kh * kw))
    dy = np.random.default_rng(2).normal(size=y.shape).astype(dtype)
    got = native_ops.conv2d_backward(dy, x, k, stride, padding)
    ref = numpy_ops.conv2d_backward(dy, x, k, stride, padding)
    n, oh, ow, f = y.shape
    terms = (k.shape[0] * kh * kw, n * oh * ow, n * oh * ow)       # dx, dkernels, dbiases
    for name, g, r, t in zip(("dx", "dkernels", "dbiases"), got, ref, terms):
        assert g.dtype == dtype and g.shape == r.shape, name
        np.testing.assert_allclose(g, r, **_tolerance(dtype, t), err_msg=name)


@needs_native
@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
@pytest.mark.parametrize("case", GRID, ids=GRID_IDS)
def test_native_matches_numpy_on_the_grid(case, dtype):
    _compare_backends(*_kernel_args(case, dtype))


@st.composite
def conv_cases(draw):
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    padding = draw(st.sampled_from([0, 1, 2, (0, 1), (2, 0), "valid", "same"]))
    pad_h, pad_w = ((0, 0) if isinstance(padding, str)
                    else (padding, padding) if isinstance(padding, int) else padding)
    lo_h, lo_w = (1, 1) if padding == "same" else (max(kh - 2 * pad_h, 1), max(kw - 2 * pad_w, 1))
    return (draw(st.integers(1, 3)), draw(st.integers(lo_h, lo_h + 6)),
            draw(st.integers(lo_w, lo_w + 6)), draw(st.integers(1, 5)), draw(st.integers(1, 5)),
            (kh, kw), (draw(st.integers(1, 3)), draw(st.integers(1, 3))), padding)


@needs_native
@settings(max_examples=40, deadline=None)
@given(case=conv_cases(), dtype=st.sampled_from(DTYPES), seed=st.integers(0, 2**16))
def test_native_matches_numpy_on_random_shapes(case, dtype, seed):
    _compare_backends(*_kernel_args(case, dtype, seed))


@needs_native
def test_native_does_not_depend_on_the_thread_count(restore_num_threads):
    # large enough for the kernels to split the work between threads
    case = (8, 12, 12, 8, 16, 3, 1, "same")
    x, k, b, stride, padding = _kernel_args(case, np.float32)
    dy = np.random.default_rng(1).normal(size=(8, 12, 12, 16)).astype(np.float32)
    results = []
    for n_threads in (1, 2):
        retrograd.set_num_threads(n_threads)
        results.append((native_ops.conv2d_forward(x, k, b, stride, padding),
                        *native_ops.conv2d_backward(dy, x, k, stride, padding)))
    for one, two in zip(*results):
        np.testing.assert_array_equal(one, two)


@pytest.mark.parametrize("backend", BACKENDS)
def test_read_only_and_non_contiguous_inputs_work_and_are_not_modified(backend):
    layer = _layer((2, 6, 5, 3, 4, 3, 2, "same"))
    base = np.random.default_rng(0).normal(size=(2, 3, 5, 6))
    x = base.transpose(0, 3, 2, 1)                              # (2, 6, 5, 3), not contiguous
    x.flags.writeable = False
    kept = x.copy()
    dy = np.random.default_rng(1).normal(size=(2, 3, 3, 4))[:, :, ::-1]
    with retrograd.use_backend(backend):
        y = layer.forward(x)
        dx, (dk, db) = layer.backward(dy)
    padding, _ = layer._geometry(6, 5, None)                  # ((0, 1), (1, 1))
    np.testing.assert_allclose(y, naive_conv2d(kept, layer.kernels, layer.biases, (2, 2),
                                               padding), rtol=1e-10)
    for got, expected in zip((dx, dk, db), naive_conv2d_backward(dy, kept, layer.kernels,
                                                                 (2, 2), padding)):
        np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12)
    np.testing.assert_array_equal(x, kept)


# ---- PyTorch -----------------------------------------------------------------------------
TORCH_CASES = [case for case in GRID if case[7] != "same"] + [
    (2, 7, 6, 2, 3, (3, 2), (2, 1), "same"), (2, 6, 6, 1, 2, 3, 2, "same")]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("case", TORCH_CASES,
                         ids=["-".join(map(str, c)).replace(" ", "") for c in TORCH_CASES])
def test_matches_pytorch_conv2d_with_autograd(case, backend):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    layer = _layer(case)
    x = _input(case)
    padding, _ = layer._geometry(x.shape[1], x.shape[2], x.shape)
    with retrograd.use_backend(backend):
        y = layer.forward(x)
        g = np.random.default_rng(5).normal(size=y.shape)
        dx, (dk, db) = layer.backward(g)
    tx = torch.tensor(x.transpose(0, 3, 1, 2).copy(), requires_grad=True)   # NCHW
    tk = torch.tensor(layer.kernels.copy(), requires_grad=True)              # (F, C, KH, KW)
    tb = torch.tensor(layer.biases.copy(), requires_grad=True)
    (top, bottom), (left, right) = padding
    # F.pad handles the asymmetric "same" padding that conv2d's own argument cannot express
    ty = F.conv2d(F.pad(tx, (left, right, top, bottom)), tk, tb, stride=layer.stride)
    ty.backward(torch.tensor(g.transpose(0, 3, 1, 2).copy()))
    np.testing.assert_allclose(y, ty.detach().numpy().transpose(0, 2, 3, 1), rtol=1e-10,
                               atol=1e-12)
    np.testing.assert_allclose(dx, tx.grad.numpy().transpose(0, 2, 3, 1), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(dk, tk.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(db, tb.grad.numpy(), rtol=1e-10, atol=1e-12)


# ---- the layer ---------------------------------------------------------------------------
def test_params_grads_dtype_and_alias():
    assert Convolution2D is Conv2D
    layer = Conv2D(3, 5, (2, 4))
    k, b = layer.params
    assert k is layer.kernels and b is layer.biases
    assert k.shape == (5, 3, 2, 4) and b.shape == (5,) and k.dtype == b.dtype == np.float32
    assert [g.shape for g in layer.grads] == [(5, 3, 2, 4), (5,)]
    y = layer.forward(np.ones((2, 4, 4, 3), dtype=np.float64))
    assert y.dtype == np.float32
    assert Conv2D(1, 1, 1, dtype=np.float64).forward(np.ones((1, 1, 1, 1), np.float32)).dtype \
        == np.float64


def test_he_uniform_by_default_glorot_available_and_seeded():
    a, b = Conv2D(4, 6, 3, seed=3), Conv2D(4, 6, 3, seed=3)
    np.testing.assert_array_equal(a.kernels, b.kernels)
    assert not np.array_equal(a.kernels, Conv2D(4, 6, 3, seed=4).kernels)
    fan_in, fan_out = 4 * 9, 6 * 9
    assert np.abs(a.kernels).max() <= np.sqrt(6 / fan_in)
    assert np.abs(a.kernels).max() > 0.9 * np.sqrt(6 / fan_in)
    glorot = Conv2D(4, 6, 3, weight_init="glorot_uniform", seed=3).kernels
    assert np.abs(glorot).max() <= np.sqrt(6 / (fan_in + fan_out))
    assert np.all(a.biases == 0)


def test_get_config_rebuilds_the_layer():
    layer = Conv2D(2, 3, (3, 1), stride=(2, 1), padding="same", weight_init="glorot_uniform",
                   dtype=np.float64, seed=5)
    config = layer.get_config()
    assert config == {"input_channels": 2, "num_filters": 3, "kernel_size": (3, 1),
                      "stride": (2, 1), "padding": "same", "weight_init": "glorot_uniform",
                      "seed": 5, "dtype": "float64"}
    rebuilt = Conv2D(**config)
    np.testing.assert_array_equal(rebuilt.kernels, layer.kernels)
    assert Conv2D(1, 1, 3, padding=(1, 2)).get_config()["padding"] == (1, 2)
    assert Conv2D(1, 1, 3, padding="VALID").padding == "valid"


def test_save_and_load_a_small_cnn(tmp_path, backend):
    from retrograd.layers import Flatten, MaxPooling2D, ReLU
    model = retrograd.Sequential([Conv2D(1, 2, 3, padding="same", seed=0), ReLU(),
                                  MaxPooling2D(2), Flatten()])
    x = np.random.default_rng(0).random((3, 4, 4, 1)).astype(np.float32)
    model.save(tmp_path / "cnn.npz")
    loaded = retrograd.load_model(tmp_path / "cnn.npz")
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))
    assert "(N, 4, 4, 2)" in model.summary(input_shape=(4, 4, 1))
    assert "(N, 8)" in model.summary(input_shape=(4, 4, 1))


def test_backward_before_forward_is_an_error():
    with pytest.raises(RuntimeError, match="Conv2D: backward called before forward"):
        Conv2D(1, 1, 1).backward(np.ones((1, 1, 1, 1)))


def test_docstring_examples(backend):
    failures, tried = doctest.testmod(conv_module, extraglobs={"np": np})[:2]
    assert tried > 0 and failures == 0


# ---- bad input ---------------------------------------------------------------------------
BAD_CONSTRUCTORS = [
    (dict(input_channels=0), ValueError, "Conv2D: expected input_channels a positive integer, "
                                         "got 0"),
    (dict(num_filters=2.5), ValueError, "expected num_filters a positive integer, got 2.5"),
    (dict(kernel_size=0), ValueError, r"expected kernel_size positive .*, got 0"),
    (dict(kernel_size=(3, -1)), ValueError, r"expected kernel_size positive .*, got \(3, -1\)"),
    (dict(kernel_size=(3, 3, 3)), ValueError, r"expected kernel_size an int or a pair of ints"),
    (dict(stride=0), ValueError, r"expected stride positive .*, got 0"),
    (dict(stride=(1, 0)), ValueError, r"expected stride positive .*, got \(1, 0\)"),
    (dict(stride=True), ValueError, r"expected stride an int or a pair of ints, got True"),
    (dict(padding=-1), ValueError, r"expected padding >= 0 .*, got -1"),
    (dict(padding=(0, -2)), ValueError, r"expected padding >= 0 .*, got \(0, -2\)"),
    (dict(padding="full"), ValueError, "expected padding an int, a pair of ints, \"valid\" or "
                                       "\"same\", got 'full'"),
    (dict(padding=1.5), ValueError, r"expected padding an int or a pair of ints, got 1.5"),
    (dict(weight_init="orthogonal"), ValueError, "expected weight_init one of"),
    (dict(dtype=np.int32), TypeError, "Conv2D: expected dtype float32 or float64"),
]


@pytest.mark.parametrize("kwargs, error, message", BAD_CONSTRUCTORS,
                         ids=[str(k) for k, _, _ in BAD_CONSTRUCTORS])
def test_bad_constructor_arguments(kwargs, error, message):
    args = {"input_channels": 2, "num_filters": 3, "kernel_size": 3, **kwargs}
    with pytest.raises(error, match=message):
        Conv2D(**args)


BAD_INPUTS = [
    (np.ones((4, 4, 2)), ValueError, r"Conv2D: expected input of shape \(N, H, W, 2\), "
                                     r"got \(4, 4, 2\)"),
    (np.ones((1, 4, 4, 2, 1)), ValueError, r"expected input of shape \(N, H, W, 2\)"),
    (np.ones((1, 4, 4, 3)), ValueError, r"expected input of shape \(N, H, W, 2\), "
                                        r"got \(1, 4, 4, 3\)"),
    (np.ones((0, 4, 4, 2)), ValueError, r"expected a non-empty batch of shape \(N, H, W, 2\), "
                                        r"got \(0, 4, 4, 2\)"),
    (np.ones((1, 2, 4, 2)), ValueError, r"Conv2D: expected an input whose padded height and "
                                        r"width \(H \+ 0, W \+ 0\) are at least kernel_size "
                                        r"\(3, 3\), got \(1, 2, 4, 2\)"),
    (np.ones((1, 4, 4, 2), dtype=np.int64), TypeError,
     "Conv2D: expected a floating-point input, got dtype..int64"),
    (np.ones((1, 4, 4, 2), dtype=bool), TypeError, "expected a floating-point input"),
]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("x, error, message", BAD_INPUTS,
                         ids=[f"{x.dtype}{x.shape}" for x, _, _ in BAD_INPUTS])
def test_bad_inputs_name_the_layer(x, error, message, backend):
    with pytest.raises(error, match=message):
        Conv2D(2, 3, 3).forward(x)


def test_kernel_larger_than_the_padded_input_counts_the_padding():
    layer = Conv2D(1, 1, 5, padding=1)
    assert layer.forward(np.ones((1, 3, 3, 1))).shape == (1, 1, 1, 1)
    with pytest.raises(ValueError, match=r"\(H \+ 2, W \+ 2\) are at least kernel_size "
                                         r"\(5, 5\), got \(1, 2, 3, 1\)"):
        layer.forward(np.ones((1, 2, 3, 1)))
    with pytest.raises(ValueError, match=r"got \(2, 3, 1\)"):
        layer.output_shape((2, 3, 1))


def test_gradient_of_the_wrong_shape_is_refused():
    layer = Conv2D(1, 2, 3)
    layer.forward(np.ones((2, 5, 5, 1)))
    with pytest.raises(ValueError, match=r"Conv2D: expected grad_output of shape "
                                         r"\(2, 3, 3, 2\), got \(2, 3, 3, 1\)"):
        layer.backward(np.ones((2, 3, 3, 1)))
