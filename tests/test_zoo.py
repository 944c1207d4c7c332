"""retrograd.zoo: every named network's shapes, parameter counts (computed by hand),
seeding, dtypes, both backends, and the PyTorch twins on the same weights."""
import numpy as np
import pytest

import retrograd
from retrograd import zoo

from conftest import BACKENDS, TOLERANCES

IMAGE_NETWORKS = [zoo.mlp, zoo.cnn, zoo.lenet, zoo.vgg_cifar, zoo.embedding_cnn]


def _n_params(model):
    return sum(p.size for group in model.params for p in group)


def _weights(model):
    return [p for group in model.params for p in group]


def _images(builder, shape, n=3, seed=0):
    x = np.random.default_rng(seed).random((n, *shape), np.float32)
    return x.reshape(n, -1) if builder is zoo.mlp else x


# ---- parameter counts, by hand: conv F*C*KH*KW + F, dense in*out + out ------------------------
COUNTS = [
    # 8x8x1 -> Dense 64->128, 128->10
    (zoo.mlp, (8, 8, 1), (64 * 128 + 128) + (128 * 10 + 10)),                     # 9,610
    # conv 1->32 3x3, 32->64 3x3; 8 -> 4 -> 2: Dense 64*2*2=256 -> 128 -> 10
    (zoo.cnn, (8, 8, 1), (32 * 9 + 32) + (64 * 32 * 9 + 64) + (256 * 128 + 128)
     + (128 * 10 + 10)),                                                            # 53,002
    # 28 -> 24 -> 12 -> 8 -> 4: Dense 16*4*4=256 -> 120 -> 84 -> 10
    (zoo.lenet, (28, 28, 1), (6 * 25 + 6) + (16 * 6 * 25 + 16) + (256 * 120 + 120)
     + (120 * 84 + 84) + (84 * 10 + 10)),                                           # 44,426
    # the paper's 32x32: 32 -> 28 -> 14 -> 10 -> 5: Dense 400 -> 120 (61,706, "60,000")
    (zoo.lenet, (32, 32, 1), (6 * 25 + 6) + (16 * 6 * 25 + 16) + (400 * 120 + 120)
     + (120 * 84 + 84) + (84 * 10 + 10)),
    # 32 -> 16 -> 8: Dense 64*8*8=4096 -> 256 -> 10
    (zoo.vgg_cifar, (32, 32, 3), (32 * 3 * 9 + 32) + (32 * 32 * 9 + 32) + (64 * 32 * 9 + 64)
     + (64 * 64 * 9 + 64) + (4096 * 256 + 256) + (256 * 10 + 10)),                 # 1,116,970
    # conv 1->16 3x3, 16->32 3x3; 8 -> 4 -> 2: Dense 32*2*2=128 -> 16
    (zoo.embedding_cnn, (8, 8, 1), (16 * 9 + 16) + (32 * 16 * 9 + 32) + (128 * 16 + 16)),  # 6,864
]


@pytest.mark.parametrize("builder, shape, count", COUNTS,
                         ids=[f"{b.__name__}-{'x'.join(map(str, s))}" for b, s, _ in COUNTS])
def test_parameter_counts_match_the_hand_computed_values(builder, shape, count):
    assert _n_params(builder(shape)) == count


def test_the_docstrings_quote_the_same_counts():
    assert "9,610 parameters" in zoo.mlp.__doc__
    assert "53,002" in zoo.cnn.__doc__
    assert "44,426 parameters" in zoo.lenet.__doc__
    assert "1,116,970" in zoo.vgg_cifar.__doc__
    assert "6,864 parameters" in zoo.embedding_cnn.__doc__


# ---- shapes -----------------------------------------------------------------------------------
@pytest.mark.parametrize("builder, shape", [
    (zoo.mlp, (8, 8, 1)), (zoo.mlp, (28, 28, 1)), (zoo.cnn, (8, 8, 1)), (zoo.cnn, (13, 6, 3)),
    (zoo.lenet, (28, 28, 1)), (zoo.lenet, (16, 21, 3)), (zoo.vgg_cifar, (32, 32, 3)),
    (zoo.vgg_cifar, (4, 9, 1))])
def test_ten_logits_per_image(builder, shape, backend):
    model = builder(shape, seed=1)
    model.eval()
    assert model.forward(_images(builder, shape)).shape == (3, 10)


@pytest.mark.parametrize("size", [2, 16, 33])
def test_embedding_cnn_gives_embedding_size_values_per_image(size, backend):
    model = zoo.embedding_cnn((12, 9, 2), embedding_size=size)
    assert model.forward(_images(zoo.embedding_cnn, (12, 9, 2))).shape == (3, size)
    with pytest.raises(ValueError, match="^embedding_cnn: expected embedding_size"):
        zoo.embedding_cnn(embedding_size=0)


def test_lenet_and_vgg_layer_shapes():
    lenet = zoo.lenet()
    assert [p.shape for p in _weights(lenet)] == [
        (6, 1, 5, 5), (6,), (16, 6, 5, 5), (16,), (256, 120), (120,), (120, 84), (84,),
        (84, 10), (10,)]
    vgg = zoo.vgg_cifar()
    assert [p.shape for p in _weights(vgg)][::2] == [
        (32, 3, 3, 3), (32, 32, 3, 3), (64, 32, 3, 3), (64, 64, 3, 3), (4096, 256), (256, 10)]


@pytest.mark.parametrize("builder, side", [(zoo.cnn, 4), (zoo.lenet, 16), (zoo.vgg_cifar, 4),
                                           (zoo.embedding_cnn, 4)])
def test_too_small_images_are_refused_naming_the_network(builder, side):
    assert zoo.MIN_IMAGE_SIDE[builder.__name__] == side
    builder((side, side, 1))
    for shape in [(side - 1, side, 1), (side, side - 1, 1)]:
        with pytest.raises(ValueError, match=rf"^{builder.__name__}: expected images of at "
                                             rf"least {side}x{side}, got {shape[0]}x{shape[1]}$"):
            builder(shape)


@pytest.mark.parametrize("builder", IMAGE_NETWORKS)
@pytest.mark.parametrize("shape, error", [((28, 28), ValueError), ((28, 28, 0), ValueError),
                                          ((28, 28.0, 1), ValueError), ("28x28", TypeError),
                                          ((28, 28, "1"), TypeError)])
def test_bad_image_shapes_are_refused_naming_the_network(builder, shape, error):
    with pytest.raises(error, match=rf"^{builder.__name__}: expected image_shape"):
        builder(shape)


@pytest.mark.parametrize("builder", IMAGE_NETWORKS)
def test_bad_seed_and_dtype_are_refused(builder):
    with pytest.raises(ValueError, match=rf"^{builder.__name__}: expected seed"):
        builder(seed=-1)
    with pytest.raises(TypeError, match=rf"^{builder.__name__}: expected dtype"):
        builder(dtype=np.int32)


# ---- seeds and dtypes -------------------------------------------------------------------------
@pytest.mark.parametrize("builder", IMAGE_NETWORKS)
def test_same_seed_same_weights_other_seed_other_weights(builder):
    a, b, c = builder(seed=3), builder(seed=3), builder(seed=4)
    for wa, wb in zip(_weights(a), _weights(b)):
        np.testing.assert_array_equal(wa, wb)
    kernels = [(wa, wc) for wa, wc in zip(_weights(a), _weights(c)) if wa.ndim > 1]
    assert kernels and all(not np.array_equal(wa, wc) for wa, wc in kernels)
    # each layer gets its own seed: no two kernels of one network start alike
    firsts = [w.ravel()[:4] for w in _weights(a) if w.ndim > 1]
    assert len({tuple(f) for f in firsts}) == len(firsts)


@pytest.mark.parametrize("builder", IMAGE_NETWORKS)
def test_seed_none_draws_fresh_weights(builder):
    a, b = builder(seed=None), builder(seed=None)
    assert not np.array_equal(_weights(a)[0], _weights(b)[0])


@pytest.mark.parametrize("builder", IMAGE_NETWORKS)
def test_dtype_reaches_every_layer_and_parameter(builder, dtype):
    model = builder(dtype=dtype)
    assert all(layer.dtype == dtype for layer in model.layers)
    assert all(w.dtype == dtype for w in _weights(model))


def test_the_weights_do_not_depend_on_the_backend():
    built = {}
    for name in BACKENDS:
        with retrograd.use_backend(name):
            built[name] = _weights(zoo.lenet(seed=7))
    for other in built.values():
        for a, b in zip(built["numpy"], other):
            np.testing.assert_array_equal(a, b)


# ---- both backends ----------------------------------------------------------------------------
@pytest.mark.skipif(len(BACKENDS) < 2, reason="native backend not built")
@pytest.mark.parametrize("builder", IMAGE_NETWORKS)
def test_both_backends_give_the_same_logits(builder, dtype):
    shape = {zoo.vgg_cifar: (32, 32, 3), zoo.lenet: (28, 28, 1)}.get(builder, (8, 8, 1))
    x = _images(builder, shape, n=4).astype(dtype)
    out = {}
    for name in BACKENDS:
        with retrograd.use_backend(name):
            model = builder(shape, seed=2, dtype=dtype)
            model.eval()
            out[name] = model.forward(x)
    np.testing.assert_allclose(out["native"], out["numpy"], **TOLERANCES[np.dtype(dtype)])


@pytest.mark.skipif(len(BACKENDS) < 2, reason="native backend not built")
def test_both_backends_train_lenet_alike():
    x = _images(zoo.lenet, (28, 28, 1), n=8)
    y = np.arange(8) % 10
    losses = {}
    for name in BACKENDS:
        with retrograd.use_backend(name):
            model = zoo.lenet(seed=0).compile(
                retrograd.losses.SparseCategoricalCrossEntropy(from_logits=True),
                retrograd.optimizers.SGD(0.05))
            losses[name] = [model.train_step(x, y) for _ in range(3)]
    np.testing.assert_allclose(losses["native"], losses["numpy"], rtol=1e-4)
    assert losses["numpy"][2] < losses["numpy"][0]


# ---- the lecture's 2-2-1 network --------------------------------------------------------------
@pytest.mark.parametrize("hidden", zoo.BACKPROP_221_HIDDEN)
def test_backprop_221_has_the_lectures_weights(hidden):
    model = zoo.backprop_221(hidden)
    w = zoo.BACKPROP_221_WEIGHTS
    expected = [w["W1"], w["b1"], w["W2"], w["b2"]]
    assert _n_params(model) == 9
    for param, value in zip(_weights(model), expected):
        assert param.dtype == np.float64
        np.testing.assert_array_equal(param, value)
    assert type(model.layers[1]).__name__.lower() == hidden


def test_backprop_221_forward_is_the_lectures_number(backend):
    y_hat = zoo.backprop_221().forward(np.array([[0.05, 0.10]]))
    assert round(float(y_hat[0, 0]), 4) == 0.7514


def test_backprop_221_refuses_an_unknown_hidden_activation():
    with pytest.raises(ValueError, match="^backprop_221: expected hidden one of sigmoid, tanh, "
                                         "relu, got 'gelu'"):
        zoo.backprop_221("gelu")


# ---- the PyTorch twins ------------------------------------------------------------------------
def _copy_to_torch(model, module, feature_hw):
    """Our weights into the PyTorch twin (same order of layers); the first Linear after
    Flatten gets its columns permuted from our (H, W, C) order to torch's (C, H, W)."""
    torch = pytest.importorskip("torch")
    ours = [layer for layer in model.layers if layer.params]
    theirs = [m for m in module if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear))]
    assert len(ours) == len(theirs)
    first_linear = True
    with torch.no_grad():
        for layer, m in zip(ours, theirs):
            weight, bias = layer.params
            if isinstance(m, torch.nn.Conv2d):
                m.weight.copy_(torch.from_numpy(weight))
                channels = weight.shape[0]
            elif first_linear:
                first_linear = False
                h, w = feature_hw
                chw = weight.reshape(h, w, channels, -1).transpose(2, 0, 1, 3)
                m.weight.copy_(torch.from_numpy(chw.reshape(weight.shape[0], -1).T.copy()))
            else:
                m.weight.copy_(torch.from_numpy(weight.T.copy()))
            m.bias.copy_(torch.from_numpy(bias))


@pytest.mark.parametrize("name, shape, feature_hw", [("lenet", (28, 28, 1), (4, 4)),
                                                     ("lenet", (32, 20, 2), (5, 2)),
                                                     ("vgg_cifar", (32, 32, 3), (8, 8)),
                                                     ("vgg_cifar", (12, 8, 1), (3, 2))])
def test_the_torch_twins_compute_the_same_logits(name, shape, feature_hw):
    torch = pytest.importorskip("torch")
    model = getattr(zoo, name)(shape, seed=0, dtype=np.float64)
    model.eval()
    module = getattr(zoo, f"torch_{name}")(shape, dtype=np.float64)
    _copy_to_torch(model, module, feature_hw)
    x = _images(zoo.lenet, shape, n=3).astype(np.float64)
    with retrograd.use_backend("numpy"):
        ours = model.forward(x)
    theirs = module(torch.from_numpy(x).permute(0, 3, 1, 2)).detach().numpy()
    np.testing.assert_allclose(theirs, ours, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", ["torch_lenet", "torch_vgg_cifar"])
def test_the_torch_twins_seed_their_weights_without_touching_the_global_generator(name):
    torch = pytest.importorskip("torch")
    build = getattr(zoo, name)
    state = torch.random.get_rng_state()
    a, b, c = build(seed=1), build(seed=1), build(seed=2)
    assert torch.equal(torch.random.get_rng_state(), state)
    pa, pb, pc = (list(m.parameters()) for m in (a, b, c))
    assert all(torch.equal(u, v) for u, v in zip(pa, pb))
    assert not torch.equal(pa[0], pc[0])
    assert next(build(dtype=np.float64).parameters()).dtype == torch.float64
    assert build()[0].weight.is_contiguous(memory_format=torch.channels_last)
