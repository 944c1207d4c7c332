"""Losses: hand-computed values, finite differences, PyTorch, both backends, stability
at |z| = 1000, dtypes and the table of bad inputs."""
import warnings

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import retrograd
from conftest import central_difference
from retrograd import losses
from retrograd.losses import (MSE, MAE, BinaryCrossEntropy, CategoricalCrossEntropy,
                              ContrastiveLoss, Hinge, Huber, MeanAbsoluteError,
                              MeanSquaredError, MultiLabelCrossEntropy,
                              SparseCategoricalCrossEntropy, TripletLoss)

BACKENDS = ["numpy"] + (["native"] if retrograd.native_available() else [])


def _numeric_grad(f, x):
    """Central differences of the scalar f() wrt every element of x (perturbed in place)."""
    return central_difference(lambda _: f(), x)


def _onehot(labels, c):
    return np.eye(c)[labels]


# ---- problems away from every kink, so central differences are exact to O(eps^2) ----------
def _regression(rng, shape=(4, 3)):
    y = rng.normal(size=shape)
    # |p - y| in [0.2, 2.2], never near 0 (MAE) nor near delta = 1 +- 0.1 (Huber).
    r = rng.uniform(0.2, 2.2, size=shape) * rng.choice([-1, 1], size=shape)
    r[np.abs(np.abs(r) - 1) < 0.1] += 0.3
    return y + r, y


def _binary_probabilities(rng, shape=(4, 3)):
    return rng.uniform(0.05, 0.95, size=shape), rng.uniform(0, 1, size=shape)


def _binary_logits(rng, shape=(4, 3)):
    return rng.normal(scale=3, size=shape), rng.uniform(0, 1, size=shape)


def _multilabel(rng, logits):
    p = rng.normal(scale=3, size=(4, 3)) if logits else rng.uniform(0.05, 0.95, size=(4, 3))
    return p, rng.integers(0, 2, size=(4, 3))


def _hinge(rng, shape=(5, 2)):
    y = rng.choice([-1, 1], size=shape)
    margin = rng.uniform(0.2, 1.5, size=shape) * rng.choice([-1, 1], size=shape)
    return (1 - margin) * y, y  # 1 - y f = margin, never near the kink


def _categorical(rng, logits):
    p = rng.normal(scale=2, size=(5, 4)) if logits else rng.uniform(0.05, 1, size=(5, 4))
    return p, _onehot(rng.integers(0, 4, size=5), 4)


ELEMENTWISE_CASES = [
    ("mse", MeanSquaredError(), _regression),
    ("mae", MeanAbsoluteError(), _regression),
    ("huber", Huber(), _regression),
    ("huber_delta_0.5", Huber(delta=0.5), lambda rng: _regression(rng, (6,))),
    ("bce_prob", BinaryCrossEntropy(), _binary_probabilities),
    ("bce_logits", BinaryCrossEntropy(from_logits=True), _binary_logits),
    ("bce_logits_3d", BinaryCrossEntropy(from_logits=True),
     lambda rng: _binary_logits(rng, (2, 3, 2))),
    ("multilabel_prob", MultiLabelCrossEntropy(), lambda rng: _multilabel(rng, False)),
    ("multilabel_logits", MultiLabelCrossEntropy(from_logits=True),
     lambda rng: _multilabel(rng, True)),
    ("hinge", Hinge(), _hinge),
    ("cce_prob", CategoricalCrossEntropy(), lambda rng: _categorical(rng, False)),
    ("cce_logits", CategoricalCrossEntropy(from_logits=True), lambda rng: _categorical(rng, True)),
    ("cce_soft_targets", CategoricalCrossEntropy(from_logits=True),
     lambda rng: (rng.normal(size=(3, 5)), rng.dirichlet(np.ones(5), size=3))),
]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("case", ELEMENTWISE_CASES, ids=[c[0] for c in ELEMENTWISE_CASES])
def test_backward_matches_finite_differences(case, backend):
    _, loss, make = case
    y_pred, y_true = make(np.random.default_rng(len(case[0])))
    with retrograd.use_backend(backend):
        grad = loss.backward(y_pred, y_true)
        x = y_pred.copy()
        numeric = _numeric_grad(lambda: loss.forward(x, y_true), x)
    assert grad.shape == y_pred.shape and grad.dtype == np.float64
    np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("from_logits", [False, True])
def test_sparse_backward_matches_finite_differences(from_logits, backend):
    rng = np.random.default_rng(11)
    y_pred = rng.normal(size=(6, 3)) if from_logits else rng.uniform(0.05, 1, size=(6, 3))
    labels = rng.integers(0, 3, size=6)
    loss = SparseCategoricalCrossEntropy(from_logits=from_logits)
    with retrograd.use_backend(backend):
        grad = loss.backward(y_pred, labels)
        x = y_pred.copy()
        numeric = _numeric_grad(lambda: loss.forward(x, labels), x)
    np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-9)


def _triplet_problem(rng):
    a, p, n = (rng.normal(size=(6, 3)) for _ in range(3))
    loss = TripletLoss(margin=1.5)
    h = np.sum((a - p) ** 2, 1) - np.sum((a - n) ** 2, 1) + loss.margin
    keep = np.abs(h) > 0.1  # away from the hinge's kink
    return loss, a[keep], p[keep], n[keep], h[keep]


def test_triplet_matches_formula_and_finite_differences():
    loss, a, p, n, h = _triplet_problem(np.random.default_rng(5))
    assert (h > 0).any() and (h < 0).any()  # both branches are exercised
    assert loss.forward(a, p, n) == pytest.approx(np.mean(np.maximum(h, 0)), rel=1e-12)
    grads = loss.backward(a, p, n)
    arrays = [a.copy(), p.copy(), n.copy()]
    for grad, x in zip(grads, arrays):
        numeric = _numeric_grad(lambda: loss.forward(*arrays), x)
        np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-9)


def _contrastive_problem(rng):
    x1 = rng.normal(size=(8, 3))
    x2 = x1 + rng.normal(scale=0.7, size=(8, 3))
    d = np.linalg.norm(x1 - x2, axis=1)
    loss = ContrastiveLoss(margin=1.2)
    keep = np.abs(d - loss.margin) > 0.05  # away from the kink d = margin
    similar = rng.integers(0, 2, size=8)
    return loss, x1[keep], x2[keep], similar[keep], d[keep]


def test_contrastive_matches_formula_and_finite_differences():
    loss, x1, x2, s, d = _contrastive_problem(np.random.default_rng(8))
    assert ((s == 0) & (d < loss.margin)).any() and ((s == 0) & (d > loss.margin)).any()
    expected = np.mean(0.5 * (s * d ** 2 + (1 - s) * np.maximum(0, loss.margin - d) ** 2))
    assert loss.forward(x1, x2, s) == pytest.approx(expected, rel=1e-12)
    g1, g2 = loss.backward(x1, x2, s)
    a, b = x1.copy(), x2.copy()
    np.testing.assert_allclose(g1, _numeric_grad(lambda: loss.forward(a, b, s), a),
                               rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(g2, _numeric_grad(lambda: loss.forward(a, b, s), b),
                               rtol=1e-6, atol=1e-9)


# ---- values by hand and by independent formulas --------------------------------------------
HAND_VALUES = [
    (MSE(), [[1.0, 3.0]], [[0.0, 1.0]], 2.5),
    (MAE(), [[1.0, 3.0]], [[0.0, 1.0]], 1.5),
    (Huber(), [[0.5, 3.0]], [[0.0, 0.0]], (0.125 + 2.5) / 2),
    (Huber(delta=2.0), [[-3.0]], [[0.0]], 2.0 * (3 - 1)),
    (BinaryCrossEntropy(), [[0.8, 0.25]], [[1, 0]], -(np.log(0.8) + np.log(0.75)) / 2),
    (BinaryCrossEntropy(from_logits=True), [[0.0, np.log(3)]], [[1, 1]],
     (np.log(2) + np.log(4 / 3)) / 2),
    (MultiLabelCrossEntropy(), [[0.8, 0.25], [0.5, 0.5]], [[1, 0], [0, 1]],
     -(np.log(0.8) + np.log(0.75) + 2 * np.log(0.5)) / 4),
    (Hinge(), [[0.5, 2.0, 1.0]], [[1, -1, 1]], (0.5 + 3.0 + 0.0) / 3),
    (CategoricalCrossEntropy(), [[0.2, 0.8], [0.6, 0.4]], [[0, 1], [0, 1]],
     -(np.log(0.8) + np.log(0.4)) / 2),
    (CategoricalCrossEntropy(from_logits=True), [[0.0, np.log(3)]], [[0, 1]], np.log(4 / 3)),
    (SparseCategoricalCrossEntropy(), [[0.2, 0.8], [0.6, 0.4]], [1, 0],
     -(np.log(0.8) + np.log(0.6)) / 2),
]


@pytest.mark.parametrize("loss,y_pred,y_true,expected", HAND_VALUES,
                         ids=[f"{c[0].name}{i}" for i, c in enumerate(HAND_VALUES)])
def test_forward_values_by_hand(loss, y_pred, y_true, expected):
    value = loss(np.array(y_pred, dtype=np.float64), np.array(y_true))
    assert isinstance(value, float)
    assert value == pytest.approx(expected, rel=1e-12)


def test_multilabel_gives_the_numbers_of_binary_cross_entropy():
    rng = np.random.default_rng(2)
    for logits in (False, True):
        y_pred, y_true = _multilabel(rng, logits)
        multi = MultiLabelCrossEntropy(from_logits=logits)
        binary = BinaryCrossEntropy(from_logits=logits)
        assert multi.forward(y_pred, y_true) == pytest.approx(binary.forward(y_pred, y_true))
        np.testing.assert_allclose(multi.backward(y_pred, y_true),
                                   binary.backward(y_pred, y_true), rtol=1e-12)


@pytest.mark.parametrize("from_logits", [False, True])
def test_sparse_equals_categorical_on_one_hot(from_logits):
    rng = np.random.default_rng(4)
    y_pred, _ = _categorical(rng, from_logits)
    labels = rng.integers(0, 4, size=5)
    sparse = SparseCategoricalCrossEntropy(from_logits=from_logits)
    dense = CategoricalCrossEntropy(from_logits=from_logits)
    assert sparse.forward(y_pred, labels) == dense.forward(y_pred, _onehot(labels, 4))
    np.testing.assert_array_equal(sparse.backward(y_pred, labels),
                                  dense.backward(y_pred, _onehot(labels, 4)))
    # integer-valued float labels are the same labels
    assert sparse.forward(y_pred, labels.astype(np.float32)) == sparse.forward(y_pred, labels)


def test_fused_logits_gradient_is_softmax_minus_targets_over_n():
    rng = np.random.default_rng(6)
    z, y = _categorical(rng, True)
    softmax = np.exp(z - z.max(1, keepdims=True))
    softmax /= softmax.sum(1, keepdims=True)
    for backend in BACKENDS:
        with retrograd.use_backend(backend):
            grad = CategoricalCrossEntropy(from_logits=True).backward(z, y)
        np.testing.assert_allclose(grad, (softmax - y) / len(z), rtol=1e-10, atol=1e-14)


# ---- subgradients at the kinks -------------------------------------------------------------
def test_subgradients_at_the_kinks_are_zero():
    p = np.array([[1.0, 2.0, -1.0]])
    np.testing.assert_array_equal(MAE().backward(p, np.array([[1.0, 0.0, 0.0]])),
                                  [[0.0, 1 / 3, -1 / 3]])
    # y f = 1 exactly: on the kink, no gradient
    np.testing.assert_array_equal(Hinge().backward(np.array([[1.0, -1.0]]), np.array([[1, -1]])),
                                  [[0.0, 0.0]])
    # h = 0 exactly: |a-p|^2 = 1, |a-n|^2 = 2, margin 1
    a, pos, neg = np.zeros((1, 2)), np.array([[1.0, 0.0]]), np.array([[1.0, 1.0]])
    for g in TripletLoss().backward(a, pos, neg):
        np.testing.assert_array_equal(g, np.zeros((1, 2)))


def test_contrastive_at_zero_distance_is_finite_and_silent():
    x = np.array([[1.0, -2.0], [0.5, 0.5]])
    with warnings.catch_warnings(), np.errstate(all="raise"):
        warnings.simplefilter("error")
        loss = ContrastiveLoss(margin=2.0)
        # a dissimilar pair at d = 0 costs margin^2 / 2 but has no defined direction: gradient 0
        assert loss.forward(x, x.copy(), [0, 1]) == pytest.approx((0.5 * 4 + 0) / 2)
        g1, g2 = loss.backward(x, x.copy(), [0, 1])
    np.testing.assert_array_equal(g1, np.zeros_like(x))
    np.testing.assert_array_equal(g2, np.zeros_like(x))


# ---- PyTorch -------------------------------------------------------------------------------
def _torch_value_and_grad(torch, fn, y_pred, *rest):
    t = torch.tensor(y_pred, requires_grad=True)
    value = fn(t, *rest)
    value.backward()
    return value.item(), t.grad.numpy()


def _torch_cases(torch):
    F = torch.nn.functional
    rng = np.random.default_rng(21)
    t = torch.tensor
    reg_p, reg_y = _regression(rng, (5, 4))
    bp, by = _binary_probabilities(rng, (5, 4))
    bz, bzy = _binary_logits(rng, (5, 4))
    hf, hy = _hinge(rng, (5, 4))
    cp, cy = _categorical(rng, False)
    cz, czy = _categorical(rng, True)
    labels = czy.argmax(1)
    return [
        (MSE(), reg_p, reg_y, lambda x: F.mse_loss(x, t(reg_y))),
        (MAE(), reg_p, reg_y, lambda x: F.l1_loss(x, t(reg_y))),
        (Huber(delta=0.7), reg_p, reg_y, lambda x: F.huber_loss(x, t(reg_y), delta=0.7)),
        (BinaryCrossEntropy(), bp, by, lambda x: F.binary_cross_entropy(x, t(by))),
        (BinaryCrossEntropy(from_logits=True), bz, bzy,
         lambda x: F.binary_cross_entropy_with_logits(x, t(bzy))),
        (MultiLabelCrossEntropy(from_logits=True), bz, (bzy > 0.5).astype(int),
         lambda x: F.binary_cross_entropy_with_logits(x, t((bzy > 0.5) * 1.0))),
        (Hinge(), hf, hy, lambda x: torch.clamp(1 - t(hy * 1.0) * x, min=0).mean()),
        (CategoricalCrossEntropy(), cp, cy,
         lambda x: -(t(cy) * torch.log(x)).sum(1).mean()),
        (CategoricalCrossEntropy(from_logits=True), cz, czy, lambda x: F.cross_entropy(x, t(czy))),
        (SparseCategoricalCrossEntropy(from_logits=True), cz, labels,
         lambda x: F.cross_entropy(x, t(labels))),
    ]


@pytest.mark.parametrize("backend", BACKENDS)
def test_matches_pytorch(backend):
    torch = pytest.importorskip("torch")
    for loss, y_pred, y_true, torch_fn in _torch_cases(torch):
        value, grad = _torch_value_and_grad(torch, torch_fn, y_pred)
        with retrograd.use_backend(backend):
            assert loss.forward(y_pred, y_true) == pytest.approx(value, rel=1e-10), loss
            np.testing.assert_allclose(loss.backward(y_pred, y_true), grad, rtol=1e-9,
                                       atol=1e-12, err_msg=repr(loss))


def test_triplet_and_contrastive_match_pytorch_autograd():
    torch = pytest.importorskip("torch")
    loss, a, p, n, _ = _triplet_problem(np.random.default_rng(9))
    ta, tp, tn = (torch.tensor(v, requires_grad=True) for v in (a, p, n))
    dp, dn = ((ta - tp) ** 2).sum(1), ((ta - tn) ** 2).sum(1)
    expected = torch.clamp(dp - dn + loss.margin, min=0).mean()
    expected.backward()
    assert loss.forward(a, p, n) == pytest.approx(expected.item(), rel=1e-12)
    for ours, theirs in zip(loss.backward(a, p, n), (ta.grad, tp.grad, tn.grad)):
        np.testing.assert_allclose(ours, theirs.numpy(), rtol=1e-10, atol=1e-14)

    loss, x1, x2, s, _ = _contrastive_problem(np.random.default_rng(10))
    t1, t2 = torch.tensor(x1, requires_grad=True), torch.tensor(x2, requires_grad=True)
    d = torch.linalg.vector_norm(t1 - t2, dim=1)
    ts = torch.tensor(s * 1.0)
    expected = (0.5 * (ts * d ** 2 + (1 - ts) * torch.clamp(loss.margin - d, min=0) ** 2)).mean()
    expected.backward()
    assert loss.forward(x1, x2, s) == pytest.approx(expected.item(), rel=1e-12)
    g1, g2 = loss.backward(x1, x2, s)
    np.testing.assert_allclose(g1, t1.grad.numpy(), rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(g2, t2.grad.numpy(), rtol=1e-10, atol=1e-14)


# ---- both backends -------------------------------------------------------------------------
@pytest.mark.skipif(not retrograd.native_available(), reason="native not built")
@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 9), c=st.integers(1, 12), scale=st.sampled_from([0.1, 3.0, 50.0]),
       dtype=st.sampled_from([np.float32, np.float64]), sparse=st.booleans(),
       seed=st.integers(0, 2**16))
def test_backends_agree_on_categorical_logits(n, c, scale, dtype, sparse, seed):
    rng = np.random.default_rng(seed)
    z = (rng.normal(size=(n, c)) * scale).astype(dtype)
    labels = rng.integers(0, c, size=n)
    if sparse:
        loss, y = SparseCategoricalCrossEntropy(from_logits=True), labels
    else:
        loss, y = CategoricalCrossEntropy(from_logits=True), _onehot(labels, c)
    results = {}
    for backend in ("numpy", "native"):
        with retrograd.use_backend(backend):
            results[backend] = (loss.forward(z, y), loss.backward(z, y))
    (v_np, g_np), (v_nat, g_nat) = results["numpy"], results["native"]
    rtol, atol = (1e-4, 1e-5) if dtype == np.float32 else (1e-10, 1e-12)
    assert v_nat == pytest.approx(v_np, rel=rtol, abs=atol)
    assert g_np.dtype == g_nat.dtype == dtype
    np.testing.assert_allclose(g_nat, g_np, rtol=rtol, atol=atol)


# ---- stability -----------------------------------------------------------------------------
LOGIT_LOSSES = [
    (BinaryCrossEntropy(from_logits=True), lambda z: np.array([[1.0, 0.0, 1.0, 0.0]])),
    (MultiLabelCrossEntropy(from_logits=True), lambda z: np.array([[1, 0, 1, 0]])),
    (CategoricalCrossEntropy(from_logits=True), lambda z: np.array([[0, 1, 0, 0]])),
    (SparseCategoricalCrossEntropy(from_logits=True), lambda z: np.array([1])),
]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("loss,targets", LOGIT_LOSSES, ids=[c[0].name for c in LOGIT_LOSSES])
def test_logit_forms_are_finite_and_silent_at_1000(loss, targets, dtype, backend):
    z = np.array([[1000.0, 1000.0, -1000.0, -1000.0]], dtype=dtype)
    y = targets(z)
    with retrograd.use_backend(backend), warnings.catch_warnings(), np.errstate(all="raise"):
        warnings.simplefilter("error")
        value = loss.forward(z, y)
        grad = loss.backward(z, y)
    assert np.isfinite(value) and np.all(np.isfinite(grad)) and grad.dtype == dtype
    # the confidently wrong logits cost about 1000 each, the right ones nothing
    if isinstance(loss, CategoricalCrossEntropy):
        assert value == pytest.approx(np.log(2), rel=1e-4)
    else:
        assert value == pytest.approx(1000 / 2, rel=1e-4)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_probability_forms_never_take_log_of_zero(dtype):
    p = np.array([[0.0, 1.0, 0.0, 1.0]], dtype=dtype)
    cases = [
        (BinaryCrossEntropy(), np.array([[1, 0, 0, 1]])),
        # 1 - eps rounds to 1 in float32: the upper clip must still stay below 1
        (BinaryCrossEntropy(epsilon=1e-12), np.array([[1, 0, 0, 1]])),
        (MultiLabelCrossEntropy(), np.array([[1, 0, 0, 1]])),
        (CategoricalCrossEntropy(), np.array([[0.5, 0, 0.5, 0]])),
        (SparseCategoricalCrossEntropy(), np.array([0])),
    ]
    with warnings.catch_warnings(), np.errstate(all="raise"):
        warnings.simplefilter("error")
        for loss, y in cases:
            value, grad = loss.forward(p, y), loss.backward(p, y)
            assert np.isfinite(value) and value > 0 and np.all(np.isfinite(grad)), loss
            assert grad.dtype == dtype


# ---- dtypes, aliases, configuration --------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", ELEMENTWISE_CASES, ids=[c[0] for c in ELEMENTWISE_CASES])
def test_gradient_has_the_prediction_dtype(case, dtype):
    _, loss, make = case
    y_pred, y_true = make(np.random.default_rng(3))
    grad = loss.backward(y_pred.astype(dtype), y_true)
    assert grad.dtype == dtype and grad.shape == y_pred.shape
    assert isinstance(loss.forward(y_pred.astype(dtype), y_true), float)
    np.testing.assert_allclose(grad, loss.backward(y_pred, y_true), rtol=1e-4, atol=1e-6)


def test_pair_losses_keep_the_first_inputs_dtype():
    rng = np.random.default_rng(0)
    a, p, n = (rng.normal(size=(3, 2)).astype(np.float32) for _ in range(3))
    assert all(g.dtype == np.float32 for g in TripletLoss().backward(a, p, n.astype(np.float64)))
    g1, g2 = ContrastiveLoss().backward(a, p, np.array([True, False, True]))
    assert g1.dtype == g2.dtype == np.float32


def test_aliases_call_and_config():
    assert MSE is MeanSquaredError and MAE is MeanAbsoluteError
    assert retrograd.losses is losses
    loss = BinaryCrossEntropy(from_logits=True, epsilon=1e-6)
    assert loss.get_config() == {"from_logits": True, "epsilon": 1e-6}
    assert repr(loss) == "BinaryCrossEntropy(from_logits=True, epsilon=1e-06)"
    assert type(loss)(**loss.get_config()).get_config() == loss.get_config()
    assert Huber(delta=2).get_config() == {"delta": 2.0} and MSE().get_config() == {}
    assert TripletLoss(margin=0.5).get_config() == {"margin": 0.5}
    assert MSE().name == "MeanSquaredError"
    x = np.array([[1.0, 2.0]])
    assert MSE()(x, 2 * x) == MSE().forward(x, 2 * x)


def test_inputs_are_not_modified():
    rng = np.random.default_rng(1)
    p, y = _binary_probabilities(rng)
    p[0, 0] = 0.0  # clipped inside the loss, never in the caller's array
    p_copy, y_copy = p.copy(), y.copy()
    BinaryCrossEntropy().forward(p, y)
    BinaryCrossEntropy().backward(p, y)
    np.testing.assert_array_equal(p, p_copy)
    np.testing.assert_array_equal(y, y_copy)


# ---- bad input -----------------------------------------------------------------------------
F2 = np.zeros((2, 3))
ONEHOT = np.eye(3)[[0, 1]]

BAD_INPUTS = [
    # (callable, exception, message pattern)
    (lambda: MSE().forward(F2, np.zeros((2, 1))), ValueError,
     r"MeanSquaredError: expected y_true of shape \(2, 3\), got \(2, 1\)"),
    (lambda: MAE().backward(np.zeros(3), np.zeros((3, 1))), ValueError,
     r"MeanAbsoluteError: expected y_true of shape \(3,\), got \(3, 1\)"),
    (lambda: MSE().forward(np.zeros((2, 3), dtype=int), F2), TypeError,
     r"MeanSquaredError: expected a floating-point y_pred, got dtype\('int64'\)"),
    (lambda: Huber().forward(np.ones((2, 3), dtype=bool), F2), TypeError,
     r"Huber: expected a floating-point y_pred, got dtype\('bool'\)"),
    (lambda: MSE().forward(F2, np.array([["a"] * 3] * 2)), TypeError,
     r"MeanSquaredError: expected a numeric y_true"),
    (lambda: MSE().forward(np.zeros((0, 3)), np.zeros((0, 3))), ValueError,
     r"MeanSquaredError: expected a non-empty y_pred, got \(0, 3\)"),
    (lambda: MSE().forward(np.float64(1.0), 1.0), ValueError,
     r"MeanSquaredError: expected y_pred with a batch axis \(N, \.\.\.\), got \(\)"),
    (lambda: Huber(delta=0), ValueError, r"Huber: expected delta > 0.0, got 0.0"),
    (lambda: Huber(delta=float("nan")), ValueError,
     r"Huber: expected delta a finite number, got nan"),
    (lambda: BinaryCrossEntropy(epsilon=-1e-7), ValueError,
     r"BinaryCrossEntropy: expected epsilon > 0.0, got -1e-07"),
    (lambda: BinaryCrossEntropy(epsilon=float("inf")), ValueError,
     r"BinaryCrossEntropy: expected epsilon a finite number, got inf"),
    (lambda: BinaryCrossEntropy(epsilon=0.5), ValueError,
     r"BinaryCrossEntropy: expected epsilon < 0.5, got 0.5"),
    (lambda: BinaryCrossEntropy().forward(F2 + 0.5, np.full((2, 3), 1.5)), ValueError,
     r"BinaryCrossEntropy: expected y_true values in \[0, 1\], got 1.5"),
    (lambda: BinaryCrossEntropy(from_logits=True).backward(F2, np.full((2, 3), -1)), ValueError,
     r"BinaryCrossEntropy: expected y_true values in \[0, 1\], got -1.0"),
    (lambda: MultiLabelCrossEntropy().forward(np.zeros(3) + 0.5, np.zeros(3)), ValueError,
     r"MultiLabelCrossEntropy: expected y_pred of shape \(N, C\), got \(3,\)"),
    (lambda: MultiLabelCrossEntropy().forward(F2 + 0.5, np.full((2, 3), 0.5)), ValueError,
     r"MultiLabelCrossEntropy: expected y_true values in \{0, 1\}, got 0.5"),
    (lambda: Hinge().forward(F2, np.zeros((2, 3))), ValueError,
     r"Hinge: expected y_true values in \{-1, \+1\}, got 0.0"),
    (lambda: Hinge().backward(F2, np.ones((3, 2))), ValueError,
     r"Hinge: expected y_true of shape \(2, 3\), got \(3, 2\)"),
    (lambda: CategoricalCrossEntropy().forward(np.zeros(3), np.eye(3)[0]), ValueError,
     r"CategoricalCrossEntropy: expected y_pred of shape \(N, C\), got \(3,\)"),
    (lambda: CategoricalCrossEntropy(from_logits=True).forward(F2, np.ones((2, 3))), ValueError,
     r"CategoricalCrossEntropy: expected y_true rows summing to 1 \(one-hot\), got 3.0"),
    (lambda: CategoricalCrossEntropy().backward(F2, np.array([[1.0, 0.5, -0.5]] * 2)), ValueError,
     r"CategoricalCrossEntropy: expected y_true values in \[0, 1\], got -0.5"),
    (lambda: CategoricalCrossEntropy().forward(F2, np.array([0, 1])), ValueError,
     r"CategoricalCrossEntropy: expected y_true of shape \(2, 3\), got \(2,\)"),
    (lambda: CategoricalCrossEntropy().forward(np.zeros((0, 3)), np.zeros((0, 3))), ValueError,
     r"CategoricalCrossEntropy: expected a non-empty y_pred, got \(0, 3\)"),
    (lambda: CategoricalCrossEntropy().forward(F2.astype(np.int32), ONEHOT), TypeError,
     r"CategoricalCrossEntropy: expected a floating-point y_pred, got dtype\('int32'\)"),
    (lambda: SparseCategoricalCrossEntropy().forward(F2, np.array([0, 3])), ValueError,
     r"SparseCategoricalCrossEntropy: expected class labels in \[0, 3\), got 3"),
    (lambda: SparseCategoricalCrossEntropy().forward(F2, np.array([-1, 0])), ValueError,
     r"SparseCategoricalCrossEntropy: expected class labels in \[0, 3\), got -1"),
    (lambda: SparseCategoricalCrossEntropy().forward(F2, np.array([0.5, 1.0])), ValueError,
     r"SparseCategoricalCrossEntropy: expected integer class labels y_true, got 0.5"),
    (lambda: SparseCategoricalCrossEntropy().forward(F2, np.array([True, False])), TypeError,
     r"SparseCategoricalCrossEntropy: expected integer class labels y_true, got dtype\('bool'\)"),
    (lambda: SparseCategoricalCrossEntropy().backward(F2, ONEHOT), ValueError,
     r"SparseCategoricalCrossEntropy: expected y_true of shape \(2,\), got \(2, 3\)"),
    (lambda: SparseCategoricalCrossEntropy().forward(F2, np.array([0, 1, 2])), ValueError,
     r"SparseCategoricalCrossEntropy: expected y_true of shape \(2,\), got \(3,\)"),
    (lambda: TripletLoss(margin=0.0), ValueError, r"TripletLoss: expected margin > 0.0, got 0.0"),
    (lambda: TripletLoss(margin="1"), TypeError,
     r"TripletLoss: expected margin a finite number, got '1'"),
    (lambda: TripletLoss().forward(F2, F2, np.zeros((2, 4))), ValueError,
     r"TripletLoss: expected negative of shape \(2, 3\), got \(2, 4\)"),
    (lambda: TripletLoss().backward(F2, np.zeros((1, 3)), F2), ValueError,
     r"TripletLoss: expected positive of shape \(2, 3\), got \(1, 3\)"),
    (lambda: TripletLoss().forward(np.zeros(3), np.zeros(3), np.zeros(3)), ValueError,
     r"TripletLoss: expected anchor of shape \(N, D\), got \(3,\)"),
    (lambda: TripletLoss().forward(F2, F2.astype(int), F2), TypeError,
     r"TripletLoss: expected a floating-point positive, got dtype\('int64'\)"),
    (lambda: ContrastiveLoss(margin=-1), ValueError,
     r"ContrastiveLoss: expected margin > 0.0, got -1.0"),
    (lambda: ContrastiveLoss().forward(F2, F2, np.array([0, 2])), ValueError,
     r"ContrastiveLoss: expected similar values in \{0, 1\}, got 2.0"),
    (lambda: ContrastiveLoss().backward(F2, F2, np.array([[0], [1]])), ValueError,
     r"ContrastiveLoss: expected similar of shape \(2,\), got \(2, 1\)"),
    (lambda: ContrastiveLoss().forward(F2, np.zeros((2, 2)), np.array([0, 1])), ValueError,
     r"ContrastiveLoss: expected x2 of shape \(2, 3\), got \(2, 2\)"),
    (lambda: ContrastiveLoss().forward(np.zeros((2, 3, 1)), np.zeros((2, 3, 1)), [0, 1]),
     ValueError,
     r"ContrastiveLoss: expected x1 of shape \(N, D\), got \(2, 3, 1\)"),
    (lambda: ContrastiveLoss().forward(np.zeros((0, 3)), np.zeros((0, 3)), np.zeros(0)), ValueError,
     r"ContrastiveLoss: expected a non-empty x1, got \(0, 3\)"),
]


@pytest.mark.parametrize("call,error,pattern", BAD_INPUTS,
                         ids=[f"bad{i}" for i in range(len(BAD_INPUTS))])
def test_bad_input_is_refused_with_a_clear_message(call, error, pattern):
    with pytest.raises(error, match=pattern):
        call()
