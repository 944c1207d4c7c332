"""BatchNormalization and LayerNormalization: against PyTorch (BatchNorm2d on NHWC
permuted, BatchNorm1d, LayerNorm), finite differences, moving statistics, evaluation,
saving, bad input; on both backends."""
import numpy as np
import pytest

import retrograd
from retrograd import Input, Model
from retrograd.layers import BatchNormalization, Conv2D, LayerNormalization, ReLU

BACKENDS = ["numpy"] + (["native"] if retrograd.native_available() else [])


@pytest.fixture(params=BACKENDS)
def backend(request):
    with retrograd.use_backend(request.param):
        yield request.param


def _torch():
    return pytest.importorskip("torch")


def _to_torch(x, channels_last):
    torch = _torch()
    t = torch.tensor(x)
    return t.permute(0, 3, 1, 2) if channels_last else t


def _from_torch(t, channels_last):
    a = t.detach()
    return (a.permute(0, 2, 3, 1) if channels_last else a).numpy()


@pytest.mark.parametrize("shape", [(4, 3, 3, 5), (6, 5), (3, 4, 5)],
                         ids=["images", "rows", "sequences"])
def test_batch_norm_matches_torch_over_several_steps_and_in_evaluation(backend, shape):
    torch = _torch()
    rng = np.random.default_rng(0)
    c = shape[-1]
    layer = BatchNormalization(c, momentum=0.8, epsilon=1e-3, dtype=np.float64)
    layer.gamma[...] = rng.normal(size=c)
    layer.beta[...] = rng.normal(size=c)
    if len(shape) == 4:
        ref = torch.nn.BatchNorm2d(c, eps=1e-3, momentum=0.2).double()
    else:
        ref = torch.nn.BatchNorm1d(c, eps=1e-3, momentum=0.2).double()
    ref.weight.data = torch.tensor(layer.gamma.copy())
    ref.bias.data = torch.tensor(layer.beta.copy())

    def torch_layout(x):  # BatchNorm1d takes (N, C) or (N, C, T)
        t = torch.tensor(x)
        return t.permute(0, 3, 1, 2) if t.ndim == 4 else t.transpose(1, 2) if t.ndim == 3 else t

    def back(t):
        t = t.detach()
        return (t.permute(0, 2, 3, 1) if t.ndim == 4 else t.transpose(1, 2) if t.ndim == 3
                else t).numpy()

    for step in range(3):
        x = rng.normal(size=shape) * 3 + step
        g = rng.normal(size=shape)
        xt = torch_layout(x).requires_grad_()
        yt = ref(xt)
        yt.backward(torch_layout(g))
        y = layer.forward(x)
        dx, (dgamma, dbeta) = layer.backward(g)
        np.testing.assert_allclose(y, back(yt), rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(dx, back(xt.grad), rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(dgamma, ref.weight.grad.numpy(), rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(dbeta, ref.bias.grad.numpy(), rtol=1e-10, atol=1e-12)
        ref.weight.grad = ref.bias.grad = None
    np.testing.assert_allclose(layer.moving_mean, ref.running_mean.numpy(), rtol=1e-12)
    np.testing.assert_allclose(layer.moving_var, ref.running_var.numpy(), rtol=1e-12)
    layer.training = False
    ref.eval()
    x = rng.normal(size=shape)
    xt = torch_layout(x).requires_grad_()
    yt = ref(xt)
    g = rng.normal(size=shape)
    yt.backward(torch_layout(g))
    np.testing.assert_allclose(layer.forward(x), back(yt), rtol=1e-10, atol=1e-12)
    dx, (dgamma, _) = layer.backward(g)
    np.testing.assert_allclose(dx, back(xt.grad), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(dgamma, ref.weight.grad.numpy(), rtol=1e-9, atol=1e-12)


def test_layer_norm_matches_torch(backend):
    torch = _torch()
    rng = np.random.default_rng(1)
    layer = LayerNormalization(7, epsilon=1e-4, dtype=np.float64)
    layer.gamma[...] = rng.normal(size=7)
    layer.beta[...] = rng.normal(size=7)
    ref = torch.nn.LayerNorm(7, eps=1e-4).double()
    ref.weight.data = torch.tensor(layer.gamma.copy())
    ref.bias.data = torch.tensor(layer.beta.copy())
    x, g = rng.normal(size=(3, 5, 7)) * 4 - 2, rng.normal(size=(3, 5, 7))
    xt = torch.tensor(x).requires_grad_()
    yt = ref(xt)
    yt.backward(torch.tensor(g))
    np.testing.assert_allclose(layer.forward(x), yt.detach().numpy(), rtol=1e-10, atol=1e-12)
    dx, (dgamma, dbeta) = layer.backward(g)
    np.testing.assert_allclose(dx, xt.grad.numpy(), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(dgamma, ref.weight.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(dbeta, ref.bias.grad.numpy(), rtol=1e-10, atol=1e-12)
    layer.training = False  # the same formula in both modes
    np.testing.assert_allclose(layer.forward(x), yt.detach().numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("make, shape, training", [
    (lambda: BatchNormalization(3), (4, 2, 2, 3), True),
    (lambda: BatchNormalization(3), (4, 2, 2, 3), False),
    (lambda: BatchNormalization(2), (5, 2), True),
    (lambda: LayerNormalization(4), (3, 2, 4), True),
])
def test_gradients_pass_central_differences(backend, make, shape, training):
    layer = make()
    rng = np.random.default_rng(2)
    layer.gamma[...] = rng.normal(size=layer.gamma.shape)
    layer.beta[...] = rng.normal(size=layer.beta.shape)
    if isinstance(layer, BatchNormalization):
        layer.moving_mean[...] = rng.normal(size=layer.moving_mean.shape)
        layer.moving_var[...] = rng.uniform(0.5, 2, size=layer.moving_var.shape)
    layer.training = training
    assert retrograd.gradcheck(layer, rng.normal(size=shape) * 2 + 1) < 1e-6


def test_one_value_per_channel_in_training_is_refused_and_changes_nothing(backend):
    layer = BatchNormalization(3)
    with pytest.raises(ValueError, match=r"^BatchNormalization: expected more than 1 value "
                                         r"per channel in training .*got \(1, 1, 1, 3\)"):
        layer.forward(np.ones((1, 1, 1, 3), np.float32))
    np.testing.assert_array_equal(layer.moving_mean, 0)
    np.testing.assert_array_equal(layer.moving_var, 1)
    layer.training = False  # evaluation needs no batch statistics
    assert np.isfinite(layer.forward(np.ones((1, 1, 1, 3), np.float32))).all()
    layer.training = True   # two values per channel: the unbiased variance exists
    layer.forward(np.array([[1.0, 2, 3], [3, 2, 1]], np.float32))
    assert np.isfinite(layer.moving_var).all()


def test_large_mean_small_spread_keeps_its_precision(backend):
    """|mean| >> std: float32 statistics computed naively (E[x^2] - E[x]^2) lose them all."""
    rng = np.random.default_rng(3)
    x = (1e4 + rng.normal(size=(64, 4, 4, 8))).astype(np.float32)
    layer = BatchNormalization(8)
    y = layer.forward(x)
    x64 = x.astype(np.float64)
    expected = (x64 - x64.mean(axis=(0, 1, 2))) / np.sqrt(x64.var(axis=(0, 1, 2)) + 1e-5)
    np.testing.assert_allclose(y, expected, atol=2e-3)
    ln = LayerNormalization(8)
    expected = (x64 - x64.mean(-1, keepdims=True)) / np.sqrt(x64.var(-1, keepdims=True) + 1e-5)
    np.testing.assert_allclose(ln.forward(x), expected, atol=2e-3)


def test_both_backends_give_the_same_numbers():
    if "native" not in BACKENDS:
        pytest.skip("native backend not built")
    rng = np.random.default_rng(4)
    x, g = rng.normal(size=(8, 5, 5, 6)).astype(np.float32), rng.normal(
        size=(8, 5, 5, 6)).astype(np.float32)
    results = {}
    for backend in BACKENDS:
        with retrograd.use_backend(backend):
            bn, ln = BatchNormalization(6), LayerNormalization(6)
            results[backend] = [bn.forward(x), *bn.backward(g)[0:1], *bn.grads,
                                bn.moving_mean.copy(), bn.moving_var.copy(),
                                ln.forward(x), ln.backward(g)[0], *ln.grads]
    for a, b in zip(results["numpy"], results["native"]):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


def test_state_is_saved_and_never_stepped(backend, tmp_path):
    """Moving statistics live in layer.state: saved and loaded, outside model.params, so no
    optimizer touches them; a frozen BatchNormalization keeps gamma and beta."""
    rng = np.random.default_rng(5)
    x = Input((4, 4, 2))
    bn = BatchNormalization(3)
    model = Model(x, ReLU()(bn(Conv2D(2, 3, 3, padding="same", seed=0)(x))))
    assert all(bn.moving_mean is not p for group in model.params for p in group)
    from retrograd.losses import MSE
    from retrograd.optimizers import SGD
    model.compile(MSE(), SGD(0.1), metrics=())
    xs, ys = rng.normal(size=(6, 4, 4, 2)), rng.normal(size=(6, 4, 4, 3))
    model.fit(xs, ys, epochs=2, batch_size=3, verbose=0)
    assert not np.allclose(bn.moving_mean, 0)
    model.save(tmp_path / "m.npz")
    loaded = retrograd.load_model(tmp_path / "m.npz")
    np.testing.assert_array_equal(loaded.get_weights()[-2], bn.moving_mean)
    np.testing.assert_array_equal(loaded.get_weights()[-1], bn.moving_var)
    np.testing.assert_allclose(loaded.predict(xs), model.predict(xs), rtol=1e-6)
    bn.trainable = False
    gamma = bn.gamma.copy()
    model.compile(MSE(), SGD(0.1), metrics=())
    model.fit(xs, ys, epochs=1, batch_size=3, verbose=0)
    np.testing.assert_array_equal(bn.gamma, gamma)


@pytest.mark.parametrize("make, error, message", [
    (lambda: BatchNormalization(0), ValueError, "BatchNormalization: expected num_features"),
    (lambda: BatchNormalization(4, momentum=1.5), ValueError,
     "BatchNormalization: expected momentum <= 1.0, got 1.5"),
    (lambda: BatchNormalization(4, momentum=-0.1), ValueError,
     "BatchNormalization: expected momentum >= 0.0, got -0.1"),
    (lambda: BatchNormalization(4, epsilon=0), ValueError,
     "BatchNormalization: expected epsilon > 0.0, got 0"),
    (lambda: LayerNormalization(4, epsilon=-1e-5), ValueError,
     "LayerNormalization: expected epsilon > 0.0"),
    (lambda: LayerNormalization(2.5), ValueError, "LayerNormalization: expected normalized_size"),
    (lambda: BatchNormalization(4).forward(np.ones((2, 3, 3, 5), np.float32)), ValueError,
     r"BatchNormalization: expected input of shape \(N, \.\.\., 4\), got \(2, 3, 3, 5\)"),
    (lambda: BatchNormalization(4).forward(np.ones(4, np.float32)), ValueError,
     r"BatchNormalization: expected input of shape \(N, \.\.\., 4\), got \(4,\)"),
    (lambda: LayerNormalization(4)(Input((3, 5))), ValueError,
     r"LayerNormalization: expected an input shape \(\.\.\., 4\), got \(3, 5\)"),
])
def test_bad_arguments_and_inputs_are_refused(backend, make, error, message):
    with pytest.raises(error, match=message):
        make()
