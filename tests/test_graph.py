"""Models as graphs (issue 10): ``retrograd.Input`` and ``retrograd.Model``.

The executor against the same layers chained by hand; a residual block against torch
autograd; summed gradients at fan-out and over the calls of shared layers (a Dense at
two nodes, a Sequential encoder on two inputs) against central differences; frozen
layers; several outputs with per-output losses and weights; several inputs; the
multi-input losses (TripletLoss, ContrastiveLoss) in training and ``forward_backward``
of every loss; automatic names; Sequential as a Model.  Both backends throughout.
"""
import re

import numpy as np
import pytest

from retrograd import Input, Model, Sequential, load_model, losses, optimizers
from retrograd.layers import (GELU, Add, Average, Concatenate, Conv2D, Dense, Flatten, Layer,
                              MaxPooling2D, Multiply, ReLU, Subtract, Tanh)

from conftest import central_difference

F64 = np.float64


def _as_list(out):
    return out if isinstance(out, list) else [out]


def _copies(groups):
    return [a.copy() for group in groups for a in group]


def _assert_all_equal(got, expected):
    assert len(got) == len(expected)
    for a, b in zip(got, expected):
        np.testing.assert_array_equal(a, b)


# ---- the executor against hand-chained layers ----------------------------------------------------
def test_graph_equals_the_same_layers_chained_by_hand(backend, dtype):
    chain = [Conv2D(2, 4, 3, padding=1, seed=0, dtype=dtype), ReLU(dtype=dtype),
             MaxPooling2D(2, dtype=dtype), Flatten(dtype=dtype), Dense(36, 8, seed=1, dtype=dtype),
             Tanh(dtype=dtype), Dense(8, 3, seed=2, dtype=dtype)]
    x = Input((6, 6, 2), dtype=dtype)
    h = x
    for layer in chain:
        h = layer(h)
    model = Model(x, h)
    assert model.layers == chain
    rng = np.random.default_rng(0)
    xv = rng.normal(size=(4, 6, 6, 2)).astype(dtype)
    upstream = rng.normal(size=(4, 3)).astype(dtype)
    y = model.forward(xv)
    dx = model.backward(upstream)
    grads = _copies(model.grads)
    assert len(model.params) == 3 and len(grads) == 6
    h = xv
    for layer in chain:
        h = layer.forward(h)
    g = upstream
    for layer in reversed(chain):
        g, _ = layer.backward(g)
    np.testing.assert_array_equal(y, h)
    np.testing.assert_array_equal(dx, g)
    _assert_all_equal(grads, _copies(model.grads))
    np.testing.assert_array_equal(model(xv), y)
    # in batches of 3 and 1: BLAS may sum in another order for another row count
    np.testing.assert_allclose(model.predict(xv, batch_size=3), y, rtol=1e-5, atol=1e-6)


# ---- a residual block against torch autograd -----------------------------------------------------
def test_residual_block_matches_torch_autograd(backend):
    torch = pytest.importorskip("torch")
    fn = torch.nn.functional
    conv1 = Conv2D(3, 4, 3, padding="same", seed=1, dtype=F64)
    conv2 = Conv2D(4, 3, 3, padding="same", seed=2, dtype=F64)
    dense = Dense(6 * 6 * 3, 5, seed=3, dtype=F64)
    x = Input((6, 6, 3), dtype=F64)
    h = conv2(ReLU(dtype=F64)(conv1(x)))
    y = dense(Flatten(dtype=F64)(ReLU(dtype=F64)(Add(dtype=F64)([h, x]))))
    model = Model(x, y)
    rng = np.random.default_rng(0)
    for layer in (conv1, conv2, dense):
        layer.biases[...] = rng.normal(size=layer.biases.shape) * 0.1
    xv = rng.normal(size=(2, 6, 6, 3))
    upstream = rng.normal(size=(2, 5))
    out = model.forward(xv)
    dx = model.backward(upstream)

    tensors = {name: torch.tensor(a, requires_grad=True) for name, a in [
        ("x", xv), ("k1", conv1.kernels), ("b1", conv1.biases), ("k2", conv2.kernels),
        ("b2", conv2.biases), ("w", dense.weights), ("b", dense.biases)]}
    t = tensors
    nchw = t["x"].permute(0, 3, 1, 2)   # retrograd is NHWC, torch convolutions NCHW
    ht = fn.conv2d(fn.relu(fn.conv2d(nchw, t["k1"], t["b1"], padding=1)), t["k2"], t["b2"],
                   padding=1)
    flat = fn.relu(ht + nchw).permute(0, 2, 3, 1).reshape(2, -1)   # flattened in NHWC order
    out_t = flat @ t["w"] + t["b"]
    out_t.backward(torch.tensor(upstream))

    tol = {"rtol": 1e-9, "atol": 1e-11}
    np.testing.assert_allclose(out, out_t.detach().numpy(), **tol)
    np.testing.assert_allclose(dx, t["x"].grad.numpy(), **tol)
    expected = [t[k].grad.numpy() for k in ("k1", "b1", "k2", "b2", "w", "b")]
    got = _copies(model.grads)
    assert len(got) == len(expected)
    for a, b in zip(got, expected):
        np.testing.assert_allclose(a, b, **tol)


# ---- gradients against central differences -------------------------------------------------------
def _check_graph_gradients(model, x, seed=0):
    """dL/d input(s) and every parameter gradient of L = sum_k sum(output_k * R_k) against
    central differences (float64); R_k ~ N(0, 1) fixed."""
    xs = x if isinstance(x, list) else [x]
    rng = np.random.default_rng(seed)
    upstream = [rng.normal(size=o.shape) for o in _as_list(model.forward(x))]
    dx = model.backward(upstream if len(upstream) > 1 else upstream[0])
    dx = dx if isinstance(x, list) else [dx]
    listed = [p for group in model.params for p in group]
    analytic = _copies(model.grads)
    once = {id(p): k for k, p in reversed(list(enumerate(listed)))}
    params = [listed[k] for k in sorted(once.values())]
    analytic = [analytic[k] for k in sorted(once.values())]

    def loss(_):
        return sum(float(np.sum(o * r)) for o, r in zip(_as_list(model.forward(x)), upstream))

    for k, (a, g) in enumerate(zip(xs, dx)):
        np.testing.assert_allclose(g, central_difference(loss, a), rtol=1e-6, atol=1e-8,
                                   err_msg=f"input {k}")
    for k, (p, g) in enumerate(zip(params, analytic)):
        np.testing.assert_allclose(g, central_difference(loss, p), rtol=1e-6, atol=1e-8,
                                   err_msg=f"parameter {k}")
    assert params and len(listed) == len(params), "model.params lists an array more than once"


def _dense(n_in, n_out, seed, **kwargs):
    return Dense(n_in, n_out, seed=seed, dtype=F64, weight_init="glorot_uniform", **kwargs)


def _fan_out():
    """One tensor read by two layers and merged back; the input itself read three times."""
    x = Input((4,), dtype=F64)
    h = _dense(4, 5, 0)(x)
    merged = Add(dtype=F64)([Tanh(dtype=F64)(h), _dense(5, 5, 1)(h)])
    y = _dense(5, 3, 2)(Tanh(dtype=F64)(merged))
    return Model(x, Multiply(dtype=F64)([_dense(4, 3, 3)(x), y, _dense(4, 3, 4)(x)]))


def _same_tensor_twice():
    """One tensor given twice to one merge layer: y = h * h, then (y + h + h) / 3."""
    x = Input((4,), dtype=F64)
    h = _dense(4, 4, 0)(x)
    return Model(x, Average(dtype=F64)([Multiply(dtype=F64)([h, h]), h, h]))


def _shared_dense_chain():
    """The same Dense at two nodes of one path: each call must keep its own input."""
    d = _dense(4, 4, 0)
    x = Input((4,), dtype=F64)
    h1 = d(x)
    h2 = d(Tanh(dtype=F64)(h1))
    return Model(x, Subtract(dtype=F64)([h2, Tanh(dtype=F64)(h1)]))


def _shared_dense_two_inputs():
    d = _dense(4, 3, 0)
    x1, x2 = Input((4,), dtype=F64), Input((4,), dtype=F64)
    joined = Concatenate(dtype=F64)([d(x1), Tanh(dtype=F64)(d(x2))])
    return Model([x1, x2], _dense(6, 2, 1)(joined))


def _siamese_encoder():
    """A shared Sequential on two inputs; two outputs, one also read by a later layer."""
    encoder = Sequential([_dense(4, 5, 0), Tanh(dtype=F64), _dense(5, 3, 1)])
    x1, x2 = Input((4,), dtype=F64), Input((4,), dtype=F64)
    e1, e2 = encoder(x1), encoder(x2)
    product = Multiply(dtype=F64)([e1, Tanh(dtype=F64)(e2)])
    return Model([x1, x2], [_dense(3, 1, 2)(product), e2])


def _output_read_again():
    x = Input((3,), dtype=F64)
    h = Tanh(dtype=F64)(_dense(3, 4, 0)(x))
    return Model(x, [h, _dense(4, 2, 1)(h)])


def _convolutions_fan_out():
    x = Input((4, 4, 2), dtype=F64)
    c = Conv2D(2, 3, 3, padding="same", seed=0, dtype=F64)(x)
    branch = Conv2D(3, 3, 1, seed=1, dtype=F64)(c)
    joined = Concatenate(dtype=F64)([branch, Tanh(dtype=F64)(c), x])
    return Model(x, _dense(4 * 4 * 8, 2, 2)(Flatten(dtype=F64)(joined)))


def _layer_shared_with_a_nested_model():
    """A Dense called directly and again inside a Sequential node of the same graph."""
    d = _dense(3, 3, 0)
    x = Input((3,), dtype=F64)
    return Model(x, Sequential([Tanh(dtype=F64), d])(d(x)))


GRAPHS = {
    "fan_out": (_fan_out, [(5, 4)]),
    "same_tensor_twice": (_same_tensor_twice, [(5, 4)]),
    "shared_dense_chain": (_shared_dense_chain, [(5, 4)]),
    "shared_dense_two_inputs": (_shared_dense_two_inputs, [(5, 4), (5, 4)]),
    "siamese_encoder": (_siamese_encoder, [(5, 4), (5, 4)]),
    "output_read_again": (_output_read_again, [(4, 3)]),
    "convolutions_fan_out": (_convolutions_fan_out, [(2, 4, 4, 2)]),
    "layer_shared_with_a_nested_model": (_layer_shared_with_a_nested_model, [(4, 3)]),
}


@pytest.mark.parametrize("name", list(GRAPHS))
def test_gradients_match_central_differences(name, backend):
    build, shapes = GRAPHS[name]
    rng = np.random.default_rng(1)
    xs = [rng.normal(size=shape) for shape in shapes]
    model = build()
    for group in model.params:   # non-zero biases, so every term shows
        if len(group) == 2:
            group[1][...] = rng.normal(size=group[1].shape) * 0.1
    _check_graph_gradients(model, xs if len(xs) > 1 else xs[0])


def test_a_shared_layer_keeps_each_calls_saved_input(backend):
    """y = (x W + b) W + b: dW = x^T (g W^T) + h^T g needs x at the first call's backward
    and h at the second's."""
    d = _dense(3, 3, 0)
    d.biases[...] = [0.1, -0.2, 0.3]
    x = Input((3,), dtype=F64)
    model = Model(x, d(d(x)))
    assert len(model.params) == 1 and model.layers == [d]
    rng = np.random.default_rng(0)
    xv, g = rng.normal(size=(4, 3)), rng.normal(size=(4, 3))
    w, b = d.weights.copy(), d.biases.copy()
    h = xv @ w + b
    np.testing.assert_allclose(model.forward(xv), h @ w + b, rtol=1e-13)
    dx = model.backward(g)
    g1 = g @ w.T
    np.testing.assert_allclose(dx, g1 @ w.T, rtol=1e-12)
    np.testing.assert_allclose(d.grads[0], xv.T @ g1 + h.T @ g, rtol=1e-12)
    np.testing.assert_allclose(d.grads[1], g1.sum(axis=0) + g.sum(axis=0), rtol=1e-12)


# ---- frozen layers -------------------------------------------------------------------------------
class _Offset(Layer):
    """y = x + offset (a parameter), and one state array counting training calls."""

    def __init__(self, size, dtype=F64, name=None):
        super().__init__(dtype, name)
        self.params = [np.linspace(-0.5, 0.5, size).astype(dtype)]
        self.grads = [np.zeros(size, dtype)]
        self.state = [np.zeros(1, dtype)]

    def forward(self, x):
        self._cache = True
        if self.training:
            self.state[0] += 1
        return np.asarray(x, self.dtype) + self.params[0]

    def backward(self, grad_output):
        self.grads[0][...] = grad_output.sum(axis=0)
        return grad_output, self.grads


def _frozen_model():
    a, off = _dense(4, 6, 0), _Offset(6)
    b, c = _dense(6, 6, 1), _dense(6, 3, 2)
    x = Input((4,), dtype=F64)
    y = c(Tanh(dtype=F64)(b(off(Tanh(dtype=F64)(a(x))))))
    b.trainable = False
    return Model(x, y), (a, off, b, c)


def _blobs(n=48, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, size=n)
    return rng.normal(size=(n, 4)) * 0.3 + np.eye(4)[y] * 2, y


def test_a_frozen_layer_is_left_out_of_params_and_keeps_its_grads(backend):
    model, (a, off, b, c) = _frozen_model()
    assert [g for group in model.params for g in group] == [*a.params, *off.params, *c.params]
    assert all(p is q for p, q in zip(model.params[0], a.params))
    assert all(p is q for p, q in zip(model.grads[2], c.grads))
    for g in b.grads:
        g[...] = 7.0
    xv = np.random.default_rng(0).normal(size=(5, 4))
    upstream = np.ones((5, 3))
    model.forward(xv)
    dx_frozen = model.backward(upstream)
    assert all(np.all(g == 7.0) for g in b.grads)
    assert np.abs(a.grads[0]).sum() > 0 and np.abs(dx_frozen).sum() > 0
    frozen_grads = _copies(model.grads)
    b.trainable = True   # the same numbers flow through it either way
    assert len(model.params) == 4
    np.testing.assert_array_equal(model.backward(upstream), dx_frozen)
    _assert_all_equal([*a.grads, *off.grads, *c.grads], frozen_grads)


def test_fit_leaves_a_frozen_layer_bit_identical_and_trains_the_layers_before_it(backend):
    model, (a, off, b, c) = _frozen_model()
    before = {layer.name: [p.copy() for p in layer.params] for layer in (a, off, b, c)}
    x, y = _blobs()
    model.compile(losses.SparseCategoricalCrossEntropy(from_logits=True), optimizers.Adam(0.01))
    history = model.fit(x, y, epochs=3, batch_size=16, seed=0, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    _assert_all_equal(b.params, before[b.name])
    for layer in (a, off, c):
        for p, old in zip(layer.params, before[layer.name]):
            assert not np.array_equal(p, old), f"{layer.name} did not change"
    assert off.state[0][0] == 3 * 3   # three epochs of three batches, never optimised


def test_get_weights_lists_params_then_state_per_layer_frozen_included(backend):
    model, (a, off, b, c) = _frozen_model()
    expected = [*a.params, *off.params, *off.state, *b.params, *c.params]
    weights = model.get_weights()
    _assert_all_equal(weights, expected)
    assert not any(w is p for w, p in zip(weights, expected))
    new = [np.random.default_rng(k).normal(size=w.shape) for k, w in enumerate(weights)]
    model.set_weights(new)
    _assert_all_equal(model.get_weights(), new)
    _assert_all_equal(expected, new)   # written into the layers' own arrays
    other, _ = _frozen_model()
    other.set_weights(model.get_weights())
    xv = np.ones((2, 4))
    np.testing.assert_array_equal(other.predict(xv), model.predict(xv))
    with pytest.raises(TypeError, match=r"^Model.set_weights: expected a list of 8 arrays"):
        model.set_weights(new[:-1])
    with pytest.raises(ValueError, match=r"^Model.set_weights: expected weights\[7\] a float "
                                         r"array of shape \(3,\)"):
        model.set_weights(new[:-1] + [np.ones(4)])
    _assert_all_equal(model.get_weights(), new)


# ---- several outputs, several inputs -------------------------------------------------------------
def _two_heads(loss_weights=(0.3, 2.0), lr=0.1):
    x = Input((4,), dtype=F64)
    trunk = Tanh(dtype=F64)(_dense(4, 8, 0)(x))
    model = Model(x, [_dense(8, 3, 1, name="cls")(trunk), _dense(8, 2, 2, name="reg")(trunk)])
    model.compile([losses.SparseCategoricalCrossEntropy(from_logits=True), losses.MSE()],
                  optimizers.SGD(lr), metrics=(), loss_weights=list(loss_weights))
    return model


def _two_head_data(n=12):
    x, labels = _blobs(n)
    return x, [labels, np.random.default_rng(3).normal(size=(n, 2))]


def test_several_outputs_report_the_weighted_sum_of_named_per_output_losses(backend):
    model = _two_heads()
    x, (labels, targets) = _two_head_data()
    logits, values = model.predict(x)
    assert logits.shape == (12, 3) and values.shape == (12, 2)
    cls = losses.SparseCategoricalCrossEntropy(from_logits=True).forward(logits, labels)
    reg = losses.MSE().forward(values, targets)
    result = model.evaluate(x, [labels, targets])
    assert set(result) == {"loss", "cls_loss", "reg_loss"}
    assert result["cls_loss"] == pytest.approx(cls, rel=1e-12)
    assert result["reg_loss"] == pytest.approx(reg, rel=1e-12)
    assert result["loss"] == pytest.approx(0.3 * cls + 2.0 * reg, rel=1e-12)
    assert model.train_step(x, [labels, targets]) == pytest.approx(result["loss"], rel=1e-12)
    history = model.fit(x, [labels, targets], epochs=2, batch_size=4, verbose=0, seed=0,
                        validation_data=(x, [labels, targets]))
    assert set(history.history) == {"loss", "cls_loss", "reg_loss", "val_loss", "val_cls_loss",
                                    "val_reg_loss"}


def test_loss_weights_scale_the_gradients(backend):
    model = _two_heads()
    x, (labels, targets) = _two_head_data()
    logits, values = model.forward(x)
    d_cls = losses.SparseCategoricalCrossEntropy(from_logits=True).backward(logits, labels)
    d_reg = losses.MSE().backward(values, targets)
    model.backward([0.3 * d_cls, 2.0 * d_reg])
    expected = _copies(model.grads)
    model.train_step(x, [labels, targets])   # leaves its gradients in model.grads
    for got, want in zip(_copies(model.grads), expected):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15)
    # a zero weight removes that output's loss from the gradient entirely
    reference, weighted = _two_heads(loss_weights=(1.0, 0.0)), _two_heads(loss_weights=(1.0, 0.0))
    reference.forward(x)
    reference.backward([d_cls, np.zeros_like(d_reg)])
    weighted.train_step(x, [labels, targets])
    _assert_all_equal(_copies(weighted.grads), _copies(reference.grads))


def test_one_loss_serves_every_output(backend):
    x = Input((4,), dtype=F64)
    model = Model(x, [_dense(4, 2, 0, name="first")(x), _dense(4, 2, 1, name="second")(x)])
    model.compile(losses.MSE(), optimizers.SGD(0.1), metrics=())
    xv = np.ones((3, 4))
    ys = [np.zeros((3, 2)), np.ones((3, 2))]
    out = model.predict(xv)
    result = model.evaluate(xv, ys)
    assert result["first_loss"] == pytest.approx(np.mean(out[0] ** 2), rel=1e-12)
    assert result["second_loss"] == pytest.approx(np.mean((out[1] - 1) ** 2), rel=1e-12)
    assert result["loss"] == pytest.approx(result["first_loss"] + result["second_loss"])


def test_several_inputs_take_a_list_everywhere(backend):
    x1, x2 = Input((4,), dtype=F64), Input((2,), dtype=F64)
    joined = Concatenate(dtype=F64)([Tanh(dtype=F64)(_dense(4, 3, 0)(x1)), x2])
    model = Model([x1, x2], _dense(5, 3, 1)(joined))
    x, y = _blobs(20)
    second = np.random.default_rng(1).normal(size=(20, 2))
    out = model.forward([x, second])
    np.testing.assert_array_equal(model.predict([x, second], batch_size=7), out)
    np.testing.assert_array_equal(model([x, second]), out)
    dx = model.backward(np.ones_like(out))
    assert isinstance(dx, list) and [d.shape for d in dx] == [(20, 4), (20, 2)]
    model.compile(losses.SparseCategoricalCrossEntropy(from_logits=True), optimizers.SGD(0.1))
    history = model.fit([x, second], y, epochs=3, batch_size=5, seed=0, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert set(model.evaluate([x, second], y)) == {"loss", "accuracy"}


# ---- multi-input losses --------------------------------------------------------------------------
def _pairs(n=64, seed=0):
    """Two classes in 4-D: (anchor, positive of its class, negative of the other), labels."""
    rng = np.random.default_rng(seed)
    centres = np.array([[1.5, 0, 0, 0], [0, 1.5, 0, 0]])

    def draw(labels):
        return centres[labels] + rng.normal(size=(len(labels), 4)) * 0.4

    labels = rng.integers(0, 2, size=n)
    return draw(labels), draw(labels), draw(1 - labels), labels


def _encoder():
    return Sequential([_dense(4, 8, 0), Tanh(dtype=F64), _dense(8, 2, 1)])


def test_triplet_loss_trains_a_three_output_model_with_y_none(backend):
    anchor, positive, negative, _ = _pairs()
    encoder = _encoder()
    inputs = [Input((4,), dtype=F64) for _ in range(3)]
    model = Model(inputs, [encoder(t) for t in inputs])
    model.compile(losses.TripletLoss(margin=1.0), optimizers.Adam(0.02))
    data = [anchor, positive, negative]
    first = model.evaluate(data, None)
    assert set(first) == {"loss"}
    assert first["loss"] == pytest.approx(losses.TripletLoss(1.0).forward(*model.predict(data)))
    history = model.fit(data, None, epochs=6, batch_size=16, seed=0, verbose=0)
    assert history.history["loss"][-1] < 0.5 * history.history["loss"][0]
    assert model.evaluate(data, None)["loss"] < 0.5 * first["loss"]
    with pytest.raises(TypeError, match=r"^Model.fit: expected y=None for TripletLoss"):
        model.fit(data, np.zeros(64), verbose=0)


def test_contrastive_loss_trains_a_two_output_model_with_y_similar(backend):
    anchor, positive, negative, _ = _pairs()
    left = np.concatenate([anchor, anchor])
    right = np.concatenate([positive, negative])
    similar = np.concatenate([np.ones(64), np.zeros(64)])
    encoder = _encoder()
    inputs = [Input((4,), dtype=F64) for _ in range(2)]
    model = Model(inputs, [encoder(t) for t in inputs])
    model.compile(losses.ContrastiveLoss(margin=1.0), optimizers.Adam(0.02))
    first = model.evaluate([left, right], similar)["loss"]
    assert first == pytest.approx(losses.ContrastiveLoss(1.0).forward(
        *model.predict([left, right]), similar))
    history = model.fit([left, right], similar, epochs=6, batch_size=16, seed=0, verbose=0)
    assert history.history["loss"][-1] < 0.5 * history.history["loss"][0]
    assert model.evaluate([left, right], similar)["loss"] < 0.5 * first


def _loss_arguments(seed=0):
    """name -> (loss, arguments): 5 samples, 4 columns."""
    rng = np.random.default_rng(seed)
    scores = rng.normal(size=(5, 4))
    probs = np.exp(scores) / np.exp(scores).sum(axis=1, keepdims=True)
    labels = rng.integers(0, 4, size=5)
    bits = (rng.random((5, 4)) > 0.5).astype(float)
    return {
        "MeanSquaredError": (losses.MeanSquaredError(), (scores, probs)),
        "MeanAbsoluteError": (losses.MeanAbsoluteError(), (scores, probs)),
        "Huber": (losses.Huber(0.5), (scores, probs * 3)),
        "BinaryCrossEntropy": (losses.BinaryCrossEntropy(), (probs, bits)),
        "BinaryCrossEntropy_logits": (losses.BinaryCrossEntropy(True), (scores, bits)),
        "MultiLabelCrossEntropy": (losses.MultiLabelCrossEntropy(True), (scores, bits)),
        "Hinge": (losses.Hinge(), (scores, 2 * bits - 1)),
        "CategoricalCrossEntropy": (losses.CategoricalCrossEntropy(), (probs, np.eye(4)[labels])),
        "CategoricalCrossEntropy_logits": (losses.CategoricalCrossEntropy(True),
                                           (scores, np.eye(4)[labels])),
        "SparseCategoricalCrossEntropy": (losses.SparseCategoricalCrossEntropy(True),
                                          (scores, labels)),
        "TripletLoss": (losses.TripletLoss(2.0), (scores, probs, scores[::-1] * 0.5)),
        "ContrastiveLoss": (losses.ContrastiveLoss(2.0), (scores, probs, [1, 0, 0, 1, 0])),
    }


def test_every_loss_is_in_the_forward_backward_table():
    public = {getattr(losses, name) for name in losses.__all__} - {losses.Loss}
    assert {type(loss) for loss, _ in _loss_arguments().values()} == public


@pytest.mark.parametrize("name", list(_loss_arguments()))
def test_forward_backward_equals_forward_and_backward(name, backend, dtype):
    loss, (pred, *rest) = _loss_arguments()[name]
    pred = pred.astype(dtype)
    if name in ("TripletLoss", "ContrastiveLoss"):   # every prediction in the dtype
        rest = [np.asarray(rest[0], dtype)] + rest[1:]
    value, grad = loss.forward_backward(pred, *rest)
    assert isinstance(value, float) and value == loss.forward(pred, *rest)
    expected = loss.backward(pred, *rest)
    if isinstance(expected, tuple):
        assert isinstance(grad, tuple) and len(grad) == len(expected)
    for a, b in zip(_as_list(list(grad) if isinstance(grad, tuple) else grad),
                    _as_list(list(expected) if isinstance(expected, tuple) else expected)):
        assert a.dtype == b.dtype == dtype
        np.testing.assert_array_equal(a, b)


# ---- names, state, Sequential as a Model, saving -------------------------------------------------
class NamingProbe(Layer):
    def forward(self, x):
        return x


def test_automatic_names_are_unique_and_given_names_are_kept():
    assert [NamingProbe().name for _ in range(3)] == ["naming_probe", "naming_probe_1",
                                                     "naming_probe_2"]
    assert NamingProbe(name="mine").name == "mine"
    names = [Dense(2, 2).name, Dense(2, 2).name, MaxPooling2D().name, GELU().name]
    assert re.fullmatch(r"dense(_\d+)?", names[0]) and re.fullmatch(r"dense_\d+", names[1])
    assert int(names[1][6:]) == int(names[0][6:] or 0) + 1
    assert re.fullmatch(r"max_pooling2d(_\d+)?", names[2]) and re.fullmatch(r"gelu(_\d+)?",
                                                                            names[3])
    x = Input((2,))
    assert Model(x, Dense(2, 2)(x)).name.startswith("model")
    with pytest.raises(ValueError, match="^Dense: expected name a non-empty string"):
        Dense(2, 2, name="")
    with pytest.raises(TypeError, match="^Dense: expected name a non-empty string"):
        Dense(2, 2, name=3)


def test_sequential_is_a_model_and_keeps_its_api(backend):
    model = Sequential([_dense(4, 5, 0), Tanh(dtype=F64), _dense(5, 3, 1)])
    assert isinstance(model, Model) and model.layers[1].state == []
    for method in ("forward", "backward", "train", "eval", "compile", "train_step", "fit",
                   "evaluate", "predict", "summary", "get_weights", "set_weights", "save"):
        assert callable(getattr(model, method))
    assert model.summary().splitlines()[0].split() == ["Layer", "Output", "shape", "Params"]
    x, y = _blobs(16)
    model.compile(losses.SparseCategoricalCrossEntropy(from_logits=True), optimizers.SGD(0.1))
    assert isinstance(model.train_step(x, y), float)
    assert model.predict(x).shape == (16, 3) and set(model.evaluate(x, y)) == {"loss", "accuracy"}
    # as one node of a larger graph, it computes what it computes alone
    inp = Input((4,), dtype=F64)
    outer = Model(inp, Tanh(dtype=F64)(model(inp)))
    np.testing.assert_allclose(outer.predict(x), np.tanh(model.predict(x)), rtol=1e-14)


def test_save_and_load_a_graph_with_shared_frozen_and_merge_layers(tmp_path, backend):
    model = _siamese_encoder()
    model.layers[-1].trainable = False
    xs = [np.random.default_rng(k).normal(size=(3, 4)) for k in range(2)]
    expected = model.predict(xs)
    model.save(tmp_path / "graph.npz")
    loaded = load_model(tmp_path / "graph.npz")
    for a, b in zip(loaded.predict(xs), expected):
        np.testing.assert_array_equal(a, b)
    assert [layer.name for layer in loaded.layers] == [layer.name for layer in model.layers]
    assert [layer.trainable for layer in loaded.layers] == [
        layer.trainable for layer in model.layers]
    assert len(loaded.params) == len(model.params)
