"""retrograd.zoo.resnet (issue 11): He et al.'s CIFAR ResNet as a graph.  Parameter counts
by hand, the block layout and the feature-map sizes, depth and argument checks, seeds and
dtypes, and ResNet-20's forward and backward (input gradient, every parameter gradient,
moving statistics) against ``zoo.torch_resnet`` with copied weights, in training and in
evaluation mode, float64."""
import re

import numpy as np
import pytest

import retrograd
from retrograd import zoo

from conftest import BACKENDS


def _n_params(model):
    return sum(p.size for group in model.params for p in group)


def _n_state(model):
    return sum(s.size for layer in model.layers for s in layer.state)


# ---- parameter counts, by hand ------------------------------------------------------------------
def _conv(cin, cout, k):
    return cout * cin * k * k + cout


def _bn(c):
    return 2 * c


def _hand_count(depth, channels, classes):
    """Stem, n blocks per stage (two 3x3 conv + BN each; a 1x1 conv + BN projection at the
    first block of stages 2 and 3), Dense 64 -> classes."""
    n = (depth - 2) // 6
    total = _conv(channels, 16, 3) + _bn(16)
    cin = 16
    for width in (16, 32, 64):
        for _ in range(n):
            total += _conv(cin, width, 3) + _bn(width) + _conv(width, width, 3) + _bn(width)
            if cin != width:
                total += _conv(cin, width, 1) + _bn(width)
            cin = width
    return total + 64 * classes + classes


def test_resnet20_on_cifar_has_273258_parameters():
    # stem 3*16*9+16 + 32 = 480; stage 1: 6 x (16*16*9+16 + 32) = 14,112;
    # stage 2: (16*32*9+32) + (32*32*9+32)*5 + 6*64 + projection (16*32+32) + 64 = 51,872;
    # stage 3: (32*64*9+64) + (64*64*9+64)*5 + 6*128 + projection (32*64+64) + 128 = 206,144;
    # Dense 64*10+10 = 650.  480 + 14,112 + 51,872 + 206,144 + 650 = 273,258 ("0.27M").
    assert 480 + 14_112 + 51_872 + 206_144 + 650 == 273_258
    model = zoo.resnet()
    assert _n_params(model) == 273_258 == _hand_count(20, 3, 10)
    assert "273,258 parameters" in zoo.resnet.__doc__
    # moving mean and variance of 16 + 6*16 + 7*32 + 7*64 = 784 channels
    assert _n_state(model) == 2 * 784 == 1_568
    assert "1,568 values of state" in zoo.resnet.__doc__


@pytest.mark.parametrize("depth, shape, classes", [(32, (32, 32, 3), 10), (56, (32, 32, 3), 10),
                                                   (20, (8, 8, 1), 10), (8, (9, 7, 2), 3),
                                                   (14, (28, 28, 1), 100)])
def test_parameter_counts_of_other_depths_shapes_and_classes(depth, shape, classes):
    assert _n_params(zoo.resnet(depth, shape, classes)) == _hand_count(depth, shape[2], classes)


def test_torch_twin_has_as_many_parameters():
    torch = pytest.importorskip("torch")
    module = zoo.torch_resnet(20)
    assert sum(p.numel() for p in module.parameters()) == 273_258
    assert isinstance(module.stage3_block1.shortcut_bn, torch.nn.BatchNorm2d)


# ---- layout and sizes ---------------------------------------------------------------------------
def _summary_shapes(model):
    """{layer name: output shape text} from the model's summary."""
    return dict(re.findall(r"^(\S+) \(\w+\)\s+(\(None[^)]*\))", model.summary(), re.M))


@pytest.mark.parametrize("shape, sides", [((32, 32, 3), (32, 16, 8)), ((8, 8, 1), (8, 4, 2)),
                                          ((7, 5, 2), ((7, 5), (4, 3), (2, 2))),
                                          ((1, 1, 4), (1, 1, 1))])
def test_stages_halve_the_feature_maps(shape, sides):
    model = zoo.resnet(20, shape, seed=0)
    shapes = _summary_shapes(model)
    for stage, side, width in zip((1, 2, 3), sides, (16, 32, 64)):
        h, w = side if isinstance(side, tuple) else (side, side)
        for block in (1, 2, 3):
            assert shapes[f"stage{stage}_block{block}_relu2"] == f"(None, {h}, {w}, {width})"
    assert shapes["logits"] == "(None, 10)"
    with retrograd.use_backend("numpy"):
        model.eval()
        assert model.forward(np.zeros((2, *shape), np.float32)).shape == (2, 10)


def test_block_layout_and_projection_shortcuts():
    model = zoo.resnet(32)
    names = [layer.name for layer in model.layers]
    # (32 - 2) / 6 = 5 blocks per stage, projections only where the shape changes
    assert [n for n in names if n.endswith("_add")] == [
        f"stage{s}_block{b}_add" for s in (1, 2, 3) for b in range(1, 6)]
    assert [n for n in names if "shortcut_conv" in n] == ["stage2_block1_shortcut_conv",
                                                          "stage3_block1_shortcut_conv"]
    convs = [layer for layer in model.layers if isinstance(layer, retrograd.layers.Conv2D)]
    assert len(convs) == 1 + 2 * 15 + 2
    # 31 convolutions of 3x3 + Dense = 32 layers with weights: the depth
    assert sum(layer.kernel_size == (3, 3) for layer in convs) + 1 == 32
    strided = [layer.name for layer in convs if layer.stride == (2, 2)]
    assert strided == ["stage2_block1_conv1", "stage2_block1_shortcut_conv",
                       "stage3_block1_conv1", "stage3_block1_shortcut_conv"]
    assert all(layer.padding == (1, 1) for layer in convs if layer.kernel_size == (3, 3))
    assert all(layer.padding == (0, 0) for layer in convs if layer.kernel_size == (1, 1))
    bns = [layer for layer in model.layers
           if isinstance(layer, retrograd.layers.BatchNormalization)]
    assert len(bns) == 1 + 2 * 15 + 2
    assert all(b.momentum == 0.9 and b.epsilon == 1e-5 for b in bns)


# ---- argument checks ----------------------------------------------------------------------------
@pytest.mark.parametrize("depth", [21, 19, 2, 0, -4, 7, 9, 18])
@pytest.mark.parametrize("builder", [zoo.resnet, zoo.torch_resnet])
def test_depth_must_be_6n_plus_2(builder, depth):
    if builder is zoo.torch_resnet:
        pytest.importorskip("torch")
    with pytest.raises(ValueError, match=rf"^{builder.__name__}: expected depth 6n \+ 2 with "
                                         rf"n >= 1 \(8, 14, 20, 32, 44, 56, 110...\), got "
                                         rf"{depth}$"):
        builder(depth)


@pytest.mark.parametrize("depth", [20.0, "20", None, True])
def test_depth_must_be_an_integer(depth):
    with pytest.raises(TypeError, match="^resnet: expected depth an integer 6n \\+ 2"):
        zoo.resnet(depth)


@pytest.mark.parametrize("depth", zoo.RESNET_DEPTHS)
def test_the_papers_depths_build(depth):
    assert len([layer for layer in zoo.resnet(depth).layers if layer.params
                and not layer.name.endswith(("_bn", "_bn1", "_bn2", "shortcut_conv"))]) == depth


def test_bad_shapes_classes_seed_and_dtype_are_refused():
    with pytest.raises(ValueError, match="^resnet: expected image_shape"):
        zoo.resnet(20, (32, 32))
    with pytest.raises(ValueError, match="^resnet: expected num_classes a positive integer"):
        zoo.resnet(20, num_classes=0)
    with pytest.raises(ValueError, match="^resnet: expected seed"):
        zoo.resnet(seed=-1)
    with pytest.raises(TypeError, match="^resnet: expected dtype"):
        zoo.resnet(dtype=np.int32)


# ---- seeds and dtypes ---------------------------------------------------------------------------
def _weights(model):
    return [p for group in model.params for p in group]


def test_same_seed_same_weights_each_layer_its_own_seed():
    a, b, c = zoo.resnet(seed=3), zoo.resnet(seed=3), zoo.resnet(seed=4)
    for wa, wb in zip(_weights(a), _weights(b)):
        np.testing.assert_array_equal(wa, wb)
    kernels = [(wa, wc) for wa, wc in zip(_weights(a), _weights(c)) if wa.ndim > 1]
    assert len(kernels) == 1 + 18 + 2 + 1 and all(not np.array_equal(wa, wc) for wa, wc in kernels)
    firsts = [w.ravel()[:4] for w in _weights(a) if w.ndim > 1]
    assert len({tuple(f) for f in firsts}) == len(firsts)
    d, e = zoo.resnet(seed=None), zoo.resnet(seed=None)
    assert not np.array_equal(_weights(d)[0], _weights(e)[0])


def test_dtype_reaches_every_layer_parameter_and_state(dtype):
    model = zoo.resnet(8, (8, 8, 1), dtype=dtype)
    assert all(layer.dtype == dtype for layer in model.layers)
    assert all(w.dtype == dtype for w in model.get_weights())


def test_save_and_load_keep_weights_and_moving_statistics(tmp_path):
    model = zoo.resnet(8, (8, 8, 1), seed=0)
    x = np.random.default_rng(0).random((4, 8, 8, 1), np.float32)
    with retrograd.use_backend("numpy"):
        model.forward(x)  # training mode: moves the statistics away from 0 and 1
        model.save(tmp_path / "resnet.npz")
        loaded = retrograd.load_model(tmp_path / "resnet.npz")
        for a, b in zip(model.get_weights(), loaded.get_weights()):
            np.testing.assert_array_equal(a, b)
        model.eval()
        loaded.eval()
        np.testing.assert_array_equal(loaded.forward(x), model.forward(x))


# ---- ResNet-20 against torch --------------------------------------------------------------------
TOL = {"rtol": 1e-8, "atol": 1e-10}


def _torch_pair(shape, seed=0):
    torch = pytest.importorskip("torch")
    model = zoo.resnet(20, shape, seed=seed, dtype=np.float64)
    module = zoo.torch_resnet(20, shape, dtype=np.float64)
    rng = np.random.default_rng(seed)
    # moving statistics and affine parameters away from their initial 0 / 1, biases away
    # from 0, so that copying each of them is checked
    for layer in model.layers:
        if isinstance(layer, retrograd.layers.BatchNormalization):
            c = layer.num_features
            layer.gamma[...] = rng.uniform(0.5, 1.5, c)
            layer.beta[...] = rng.normal(0, 0.1, c)
            layer.moving_mean[...] = rng.normal(0, 0.1, c)
            layer.moving_var[...] = rng.uniform(0.5, 2.0, c)
        elif layer.params:
            layer.params[1][...] = rng.normal(0, 0.1, layer.params[1].shape)
    pairs = zoo.copy_resnet_to_torch(model, module)
    return torch, model, module, pairs


def _compare(torch, model, module, pairs, x, upstream):
    xt = torch.from_numpy(x).permute(0, 3, 1, 2).requires_grad_(True)
    theirs = module(xt)
    theirs.backward(torch.from_numpy(upstream))
    ours = model.forward(x)
    dx = model.backward(upstream)
    np.testing.assert_allclose(ours, theirs.detach().numpy(), **TOL)
    np.testing.assert_allclose(dx, xt.grad.permute(0, 2, 3, 1).numpy(), **TOL)
    grads = [g for group in model.grads for g in group]
    expected = []
    for layer, m in pairs:
        weight = m.weight.grad.numpy()
        expected += [weight.T if isinstance(m, torch.nn.Linear) else weight, m.bias.grad.numpy()]
    assert len(grads) == len(expected) == 2 * 43
    for k, (g, e) in enumerate(zip(grads, expected)):
        np.testing.assert_allclose(g, e, **TOL, err_msg=f"gradient {k} ({pairs[k // 2][0].name})")


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("shape", [(32, 32, 3), (8, 8, 1), (7, 10, 2)])
def test_resnet20_training_mode_matches_torch(backend, shape):
    torch, model, module, pairs = _torch_pair(shape)
    rng = np.random.default_rng(1)
    n = 3
    with retrograd.use_backend(backend):
        model.train()
        module.train()
        for step in range(2):  # two steps: the moving statistics move twice
            x = rng.normal(0.5, 1.0, (n, *shape))
            upstream = rng.normal(size=(n, 10))
            module.zero_grad()
            _compare(torch, model, module, pairs, x, upstream)
        for layer, m in pairs:
            if isinstance(m, torch.nn.BatchNorm2d):
                np.testing.assert_allclose(layer.moving_mean, m.running_mean.numpy(), **TOL)
                np.testing.assert_allclose(layer.moving_var, m.running_var.numpy(), **TOL)


@pytest.mark.parametrize("backend", BACKENDS)
def test_resnet20_eval_mode_matches_torch(backend):
    torch, model, module, pairs = _torch_pair((8, 8, 3), seed=2)
    rng = np.random.default_rng(3)
    x = rng.normal(0.5, 1.0, (4, 8, 8, 3))
    upstream = rng.normal(size=(4, 10))
    with retrograd.use_backend(backend):
        model.eval()
        module.eval()
        before = [s.copy() for layer in model.layers for s in layer.state]
        _compare(torch, model, module, pairs, x, upstream)
        # evaluation leaves the moving statistics alone
        for a, b in zip(before, [s for layer in model.layers for s in layer.state]):
            np.testing.assert_array_equal(a, b)


def test_copy_refuses_a_torch_net_of_another_architecture():
    pytest.importorskip("torch")
    with pytest.raises(ValueError, match="^copy_resnet_to_torch: expected a torch_resnet of the "
                                         "same architecture"):
        zoo.copy_resnet_to_torch(zoo.resnet(20), zoo.torch_resnet(32))


def test_torch_twin_seeds_without_touching_the_global_generator():
    torch = pytest.importorskip("torch")
    state = torch.random.get_rng_state()
    a, b, c = (zoo.torch_resnet(8, seed=s) for s in (1, 1, 2))
    assert torch.equal(torch.random.get_rng_state(), state)
    pa, pb, pc = (list(m.parameters()) for m in (a, b, c))
    assert all(torch.equal(u, v) for u, v in zip(pa, pb))
    assert not torch.equal(pa[0], pc[0])
    assert a.stem_conv.weight.is_contiguous(memory_format=torch.channels_last)
    assert next(zoo.torch_resnet(8, dtype=np.float64).parameters()).dtype == torch.float64


def test_resnet_trains_on_a_few_digits():
    x, y = retrograd.datasets.load_digits()
    x, y = x[:64], y[:64]
    with retrograd.use_backend("numpy"):
        model = zoo.resnet(8, x.shape[1:], seed=0).compile(
            retrograd.losses.SparseCategoricalCrossEntropy(from_logits=True),
            retrograd.optimizers.Adam(0.01))
        losses = [model.train_step(x, y) for _ in range(8)]
    assert losses[-1] < 0.5 * losses[0]
