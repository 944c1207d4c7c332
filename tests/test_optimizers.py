"""Optimizers: each update against PyTorch or an independent transcription, on both
backends; in-place updates, dtype groups, clipping, schedules, state_dict round trips,
validation, and training the digits MLP."""
import json
import math

import numpy as np
import pytest

import retrograd
from retrograd import optimizers as opt_mod
from retrograd.backend import numpy_ops
from retrograd.datasets import load_digits, train_test_split
from retrograd.layers import Dense, ReLU
from retrograd.losses import SparseCategoricalCrossEntropy
from retrograd.optimizers import (SGD, AdaGrad, AdaMax, Adam, AdamW, Lion, Momentum, NAG, Nadam,
                                  NesterovAcceleratedGradient, Optimizer, RAdam, RMSProp)
from retrograd.schedules import CosineDecay, ExponentialDecay

SHAPES = [[(3, 4), (4,)], [(5,), (2, 3)]]
STEPS = 40


def _params(dtype=np.float64, seed=0):
    rng = np.random.default_rng(seed)
    return [[rng.normal(size=s).astype(dtype) for s in group] for group in SHAPES]


def _grad_sequence(steps=STEPS, dtype=np.float64, seed=1):
    rng = np.random.default_rng(seed)
    return [[[rng.normal(size=s).astype(dtype) for s in group] for group in SHAPES]
            for _ in range(steps)]


def _run(opt, params, grad_sequence):
    for grads in grad_sequence:
        opt.step(params, grads)
    return params


def _flat(groups):
    return [a for group in groups for a in group]


# ---- against PyTorch ---------------------------------------------------------------------
# (our optimizer, torch's with the same formula); hyper-parameters away from the defaults so
# that each one matters.
TORCH_CASES = {
    "SGD": (lambda: SGD(0.05), lambda t, p: t.optim.SGD(p, lr=0.05)),
    "Momentum": (lambda: Momentum(0.02, momentum=0.8),
                 lambda t, p: t.optim.SGD(p, lr=0.02, momentum=0.8)),
    "NAG": (lambda: NAG(0.02, momentum=0.85),
            lambda t, p: t.optim.SGD(p, lr=0.02, momentum=0.85, nesterov=True)),
    "AdaGrad": (lambda: AdaGrad(0.1, epsilon=1e-6),
                lambda t, p: t.optim.Adagrad(p, lr=0.1, eps=1e-6, initial_accumulator_value=0)),
    "RMSProp": (lambda: RMSProp(0.01, decay_rate=0.8, epsilon=1e-6),
                lambda t, p: t.optim.RMSprop(p, lr=0.01, alpha=0.8, eps=1e-6)),
    "Adam": (lambda: Adam(0.01, beta_1=0.8, beta_2=0.99, epsilon=1e-6),
             lambda t, p: t.optim.Adam(p, lr=0.01, betas=(0.8, 0.99), eps=1e-6)),
    "Nadam": (lambda: Nadam(0.01, beta_1=0.85, beta_2=0.99, epsilon=1e-6, momentum_decay=0.01),
              lambda t, p: t.optim.NAdam(p, lr=0.01, betas=(0.85, 0.99), eps=1e-6,
                                         momentum_decay=0.01)),
    "AdamW": (lambda: AdamW(0.01, beta_1=0.8, beta_2=0.99, epsilon=1e-6, weight_decay=0.1),
              lambda t, p: t.optim.AdamW(p, lr=0.01, betas=(0.8, 0.99), eps=1e-6,
                                         weight_decay=0.1)),
    # beta_2 = 0.999: rho_t passes 5 at t = 6, so both branches of RAdam run.
    "RAdam": (lambda: RAdam(0.01, beta_1=0.8, beta_2=0.999, epsilon=1e-8),
              lambda t, p: t.optim.RAdam(p, lr=0.01, betas=(0.8, 0.999), eps=1e-8)),
    # torch adds eps to sqrt(v) before the bias correction sqrt(1 - b2^t) (adaptive_lr =
    # sqrt(bc2) / (sqrt(v) + eps)); an eps as large as the gradients' scale makes any other
    # placement (such as sqrt(v / bc2) + eps) differ by far more than rtol.
    "RAdam-eps": (lambda: RAdam(0.01, beta_1=0.8, beta_2=0.999, epsilon=0.1),
                  lambda t, p: t.optim.RAdam(p, lr=0.01, betas=(0.8, 0.999), eps=0.1)),
}


@pytest.fixture
def torch64():
    """torch with float64 as its default dtype: NAdam keeps its momentum product in the
    default dtype, which would otherwise be float32."""
    torch = pytest.importorskip("torch")
    before = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield torch
    torch.set_default_dtype(before)


def _torch_run(torch, make_torch_opt, params, grad_sequence):
    tensors = [torch.nn.Parameter(torch.from_numpy(p.copy())) for p in _flat(params)]
    opt = make_torch_opt(torch, tensors)
    for grads in grad_sequence:
        for tensor, g in zip(tensors, _flat(grads)):
            tensor.grad = torch.from_numpy(g.copy())
        opt.step()
    return [t.detach().numpy() for t in tensors], opt


@pytest.mark.parametrize("case", list(TORCH_CASES))
def test_forty_steps_match_torch(case, backend, torch64):
    ours, theirs = TORCH_CASES[case]
    grads = _grad_sequence()
    want, _ = _torch_run(torch64, theirs, _params(), grads)
    got = _run(ours(), _params(), grads)
    for g, w in zip(_flat(got), want):
        np.testing.assert_allclose(g, w, rtol=1e-6, atol=1e-12)


@pytest.mark.parametrize("case, nesterov", [("Momentum", False), ("NAG", True)])
def test_velocity_is_minus_lr_times_torchs_momentum_buffer(case, nesterov, backend, torch64):
    grads = _grad_sequence(10)
    ours = TORCH_CASES[case][0]()
    _run(ours, _params(), grads)
    _, theirs = _torch_run(torch64, TORCH_CASES[case][1], _params(), grads)
    buffers = [theirs.state[p]["momentum_buffer"].numpy() for p in theirs.param_groups[0]["params"]]
    for v, b in zip(_flat(ours.state["velocity"]), buffers):
        np.testing.assert_allclose(v, -ours.learning_rate * b, rtol=1e-9, atol=1e-15)


# ---- against plain-Python transcriptions ---------------------------------------------------
def _adamax_reference(p, grads, lr, b1, b2, eps):
    m = [0.0] * len(p)
    u = [0.0] * len(p)
    for t, g in enumerate(grads, start=1):
        for i in range(len(p)):
            m[i] = b1 * m[i] + (1 - b1) * g[i]
            u[i] = max(b2 * u[i], abs(g[i]))
            p[i] -= lr / (1 - b1 ** t) * m[i] / (u[i] + eps)
    return p


def _lion_reference(p, grads, lr, b1, b2, wd):
    m = [0.0] * len(p)
    for g in grads:
        for i in range(len(p)):
            c = b1 * m[i] + (1 - b1) * g[i]
            p[i] -= lr * (math.copysign(1.0, c) * (c != 0) + wd * p[i])
            m[i] = b2 * m[i] + (1 - b2) * g[i]
    return p


@pytest.mark.parametrize("ours, reference", [
    (lambda: AdaMax(0.01, beta_1=0.8, beta_2=0.99, epsilon=1e-6),
     lambda p, gs: _adamax_reference(p, gs, 0.01, 0.8, 0.99, 1e-6)),
    (lambda: Lion(0.01, beta_1=0.85, beta_2=0.95, weight_decay=0.5),
     lambda p, gs: _lion_reference(p, gs, 0.01, 0.85, 0.95, 0.5)),
], ids=["AdaMax", "Lion"])
def test_forty_steps_match_a_plain_python_transcription(ours, reference, backend):
    grads = _grad_sequence()
    got = _run(ours(), _params(), grads)
    for k, (start, result) in enumerate(zip(_flat(_params()), _flat(got))):
        flat_grads = [_flat(step)[k].ravel().tolist() for step in grads]
        want = reference(start.ravel().tolist(), flat_grads)
        np.testing.assert_allclose(result.ravel(), want, rtol=1e-6, atol=1e-12)


# ---- every optimizer, generic properties ---------------------------------------------------
ALL = {
    "SGD": lambda **kw: SGD(0.05, **kw), "Momentum": lambda **kw: Momentum(0.02, **kw),
    "NAG": lambda **kw: NAG(0.02, **kw), "AdaGrad": lambda **kw: AdaGrad(0.1, **kw),
    "RMSProp": lambda **kw: RMSProp(0.01, **kw), "Adam": lambda **kw: Adam(0.01, **kw),
    "AdaMax": lambda **kw: AdaMax(0.01, **kw), "Nadam": lambda **kw: Nadam(0.01, **kw),
    "AdamW": lambda **kw: AdamW(0.01, weight_decay=0.1, **kw),
    "RAdam": lambda **kw: RAdam(0.01, **kw),
    "Lion": lambda **kw: Lion(0.003, weight_decay=0.1, **kw),
}


@pytest.mark.parametrize("name", list(ALL))
def test_float32_follows_the_float64_run_and_stays_float32(name, backend):
    grads64 = _grad_sequence(10)
    grads32 = [[[g.astype(np.float32) for g in group] for group in step] for step in grads64]
    with retrograd.use_backend("numpy"):
        want = _run(ALL[name](), _params(), grads64)
    params = _params(np.float32)
    arrays = _flat(params)
    _run(ALL[name](), params, grads32)
    for got, same, w in zip(_flat(params), arrays, _flat(want)):
        assert got is same and got.dtype == np.float32
        np.testing.assert_allclose(got, w, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name", list(ALL))
def test_state_dict_round_trip_resumes_bit_for_bit(name, backend):
    def make(**kw):
        return ALL[name](clipnorm=4.0, **kw)

    grads = _grad_sequence()
    straight = _run(make(), _params(), grads)

    first = make()
    params = _run(first, _params(), grads[:20])
    saved = first.state_dict()
    json.dumps(saved["config"])  # hyper-parameters are plain numbers
    _run(first, params, grads[20:21])  # later steps must not reach into the saved copy
    params = _run(make(), _params(), grads[:20])
    resumed = type(first)()
    resumed.load_state_dict(saved)
    assert resumed.t == 20 and resumed.get_config() == first.get_config()
    _run(resumed, params, grads[20:])
    for got, want in zip(_flat(params), _flat(straight)):
        np.testing.assert_array_equal(got, want)


def test_state_dict_restores_a_schedule_and_nadams_product():
    schedule = CosineDecay(0.01, decay_steps=30, warmup_steps=5)
    grads = _grad_sequence()
    straight = _run(Nadam(schedule), _params(), grads)
    first = Nadam(schedule)
    params = _run(first, _params(), grads[:20])
    saved = first.state_dict()
    assert saved["config"]["learning_rate"] == {"class_name": "CosineDecay",
                                                "config": schedule.get_config()}
    assert saved["mu_product"] == first.mu_product < 1.0
    resumed = Nadam()
    resumed.load_state_dict(saved)
    assert resumed.learning_rate == schedule and resumed.mu_product == first.mu_product
    _run(resumed, params, grads[20:])
    for got, want in zip(_flat(params), _flat(straight)):
        np.testing.assert_array_equal(got, want)


def _saved_adam():
    opt = Adam(0.01)
    _run(opt, _params(), _grad_sequence(3))
    return opt.state_dict()


def _bad_state_dicts():
    def edit(change):
        saved = _saved_adam()
        change(saved)
        return saved

    return [
        (edit(lambda s: s.update(class_name="SGD")), "expected the state_dict of a Adam, got 'SGD'"),
        (edit(lambda s: s.pop("t")), "expected a state_dict with keys"),
        (edit(lambda s: s.update(t=-1)), r"expected state_dict\['t'\] an integer >= 0"),
        (edit(lambda s: s["config"].update(beta_1=1.5)), r"expected beta_1 in \[0, 1\)"),
        (edit(lambda s: s["config"].pop("epsilon")), r"expected state_dict\['config'\] with keys"),
        (edit(lambda s: s["state"].pop("v")), r"expected state_dict\['state'\] with the arrays"),
        (edit(lambda s: s["state"]["v"][1].pop()), r"expected state_dict\['state'\]\['v'\] with "
                                                   r"the shapes of 'm'"),
        (edit(lambda s: s["state"]["v"][0].__setitem__(0, np.zeros((4, 3)))),
         r"expected state_dict\['state'\]\['v'\] with the shapes of 'm'"),
        (edit(lambda s: s["state"]["m"][0].__setitem__(0, [1.0])),
         r"expected state_dict\['state'\]\['m'\] of float32 or float64 arrays, got 'list'"),
        ([1, 2], "expected a state_dict with keys"),
    ]


@pytest.mark.parametrize("saved, message", _bad_state_dicts())
def test_bad_state_dicts_are_refused_and_change_nothing(saved, message):
    opt = Adam(0.5)
    with pytest.raises(ValueError, match="Adam: " + message):
        opt.load_state_dict(saved)
    assert opt.t == 0 and opt.state == {} and opt.learning_rate == 0.5


def test_loaded_state_of_other_shapes_is_refused_at_the_next_step():
    opt = Adam()
    opt.load_state_dict(_saved_adam())
    params = [[np.zeros((4, 3)), np.zeros(4)], [np.zeros(5), np.zeros((2, 3))]]
    grads = [[np.ones_like(p) for p in group] for group in params]
    with pytest.raises(ValueError, match=r"Adam: expected params\[0\]\[0\] of shape \(3, 4\) "
                                         r"and dtype float64, as the optimizer's 'm' state"):
        opt.step(params, grads)
    assert opt.t == 3 and not any(p.any() for p in _flat(params))
    with pytest.raises(ValueError, match="Adam: expected params with 2 groups"):
        opt.step(params[:1], grads[:1])


def test_one_kernel_call_per_dtype_group(monkeypatch):
    calls = []
    real = numpy_ops.adam_step

    def spy(params, grads, *rest):
        calls.append([p.dtype for p in params])
        real(params, grads, *rest)

    monkeypatch.setattr(numpy_ops, "adam_step", spy)
    params = [[np.ones(3, np.float32), np.ones(2)], [np.ones(4, np.float32)]]
    grads = [[np.ones(3, np.float32), np.ones(2)], [np.ones(4)]]
    with retrograd.use_backend("numpy"):
        Adam().step(params, grads)
    assert calls == [[np.float32, np.float32], [np.float64]]
    assert params[1][0].dtype == np.float32


@pytest.mark.parametrize("name", ["SGD", "Adam", "Lion"])
def test_non_contiguous_parameters_are_updated_in_place(name, backend):
    grads = _grad_sequence(5)
    want = _run(ALL[name](), _params(), grads)
    views = [[np.asfortranarray(p) for p in group] for group in _params()]
    assert not views[0][0].flags.c_contiguous and not views[1][1].flags.c_contiguous
    arrays = _flat(views)
    _run(ALL[name](), views, grads)
    for got, same, w in zip(_flat(views), arrays, _flat(want)):
        assert got is same
        np.testing.assert_allclose(got, w, rtol=1e-12)


def test_a_vector_alone_can_be_minimised():
    x = np.array([3.0, -2.0])
    opt = Adam(0.1)
    for _ in range(500):
        opt.step([[x]], [[2 * x]])
    np.testing.assert_allclose(x, 0.0, atol=1e-3)


# ---- clipping and schedules ----------------------------------------------------------------
def _sgd_delta(opt, grads):
    params = [[np.zeros_like(g) for g in group] for group in grads]
    copies = [[g.copy() for g in group] for group in grads]
    opt.step(params, grads)
    for group, copy in zip(grads, copies):
        for g, c in zip(group, copy):
            np.testing.assert_array_equal(g, c)  # the caller's gradients are left alone
    return [-p for p in _flat(params)]


def test_clipnorm_scales_the_global_norm_over_all_groups(backend):
    grads = [[np.array([3.0, 0.0])], [np.array([4.0])]]  # global norm 5
    for clipnorm, want in [(1.0, [[0.6, 0.0], [0.8]]), (10.0, [[3.0, 0.0], [4.0]])]:
        delta = _sgd_delta(SGD(1.0, clipnorm=clipnorm), grads)
        for got, w in zip(delta, want):
            np.testing.assert_allclose(got, w, rtol=1e-15)


def test_clipvalue_clips_each_element_after_clipnorm(backend):
    grads = [[np.array([-3.0, 0.5, 2.0], np.float32)]]
    d = _sgd_delta(SGD(1.0, clipvalue=1.0), grads)
    np.testing.assert_array_equal(d[0], np.float32([-1.0, 0.5, 1.0]))
    # norm 3.6401; clipnorm 1.82 halves it to [-1.5, 0.25, 1.0], then clipvalue 1.2
    d = _sgd_delta(SGD(1.0, clipnorm=math.sqrt(13.25) / 2, clipvalue=1.2), grads)
    np.testing.assert_allclose(d[0], [-1.2, 0.25, 1.0], rtol=1e-6)


def test_a_schedule_sets_the_rate_of_each_step_from_t_minus_one(backend):
    schedule = ExponentialDecay(0.1, decay_steps=2, decay_rate=0.5, warmup_steps=2)
    opt = SGD(schedule)
    x = np.zeros(1)
    steps = []
    for _ in range(5):
        before = x.copy()
        opt.step([[x]], [[np.ones(1)]])
        steps.append(float(before[0] - x[0]))
    # warm-up 0.1/3, 0.2/3; then 0.1 * 0.5^(s/2) for s = 0, 1, 2
    np.testing.assert_allclose(steps, [0.1 / 3, 0.2 / 3, 0.1, 0.1 * 0.5 ** 0.5, 0.05],
                               rtol=1e-12)


# ---- validation ----------------------------------------------------------------------------
BAD_HYPER = [
    (SGD, {"learning_rate": 0}, r"learning_rate a finite number > 0 or a LearningRateSchedule",
     ValueError),
    (SGD, {"learning_rate": "0.1"}, r"learning_rate a finite number > 0", TypeError),
    (SGD, {"clipnorm": 0.0}, r"clipnorm > 0.0, got 0.0", ValueError),
    (SGD, {"clipvalue": float("inf")}, r"clipvalue a finite number, got inf", ValueError),
    (Momentum, {"momentum": 1.0}, r"momentum in \[0, 1\), got 1.0", ValueError),
    (NesterovAcceleratedGradient, {"momentum": -0.1}, r"momentum in \[0, 1\), got -0.1",
     ValueError),
    (AdaGrad, {"epsilon": 0.0}, r"epsilon > 0.0, got 0.0", ValueError),
    (RMSProp, {"decay_rate": 1.2}, r"decay_rate in \[0, 1\), got 1.2", ValueError),
    (Adam, {"beta_1": float("nan")}, r"beta_1 a finite number, got nan", ValueError),
    (Adam, {"beta_2": 1.0}, r"beta_2 in \[0, 1\), got 1.0", ValueError),
    (AdaMax, {"epsilon": -1e-7}, r"epsilon > 0.0, got -1e-07", ValueError),
    (Nadam, {"momentum_decay": -0.004}, r"momentum_decay >= 0.0, got -0.004", ValueError),
    (AdamW, {"weight_decay": -0.01}, r"weight_decay >= 0.0, got -0.01", ValueError),
    (RAdam, {"beta_1": True}, r"beta_1 a finite number, got True", ValueError),
    (Lion, {"beta_2": 1.0}, r"beta_2 in \[0, 1\), got 1.0", ValueError),
    (Lion, {"weight_decay": None}, r"weight_decay a finite number, got None", TypeError),
]


@pytest.mark.parametrize("cls, kwargs, message, error", BAD_HYPER)
def test_bad_hyper_parameters_are_refused(cls, kwargs, message, error):
    with pytest.raises(error, match=f"{cls.__name__}: expected {message}"):
        cls(**kwargs)


def test_defaults_and_aliases_follow_the_contract():
    assert opt_mod.GradientDescentWithMomentum is Momentum
    assert opt_mod.NAG is NesterovAcceleratedGradient
    expected = {
        SGD: {"learning_rate": 0.01},
        Momentum: {"learning_rate": 0.001, "momentum": 0.9},
        NAG: {"learning_rate": 0.001, "momentum": 0.9},
        AdaGrad: {"learning_rate": 0.01, "epsilon": 1e-7},
        RMSProp: {"learning_rate": 0.001, "decay_rate": 0.9, "epsilon": 1e-7},
        Adam: {"learning_rate": 0.001, "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7},
        AdaMax: {"learning_rate": 0.002, "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7},
        Nadam: {"learning_rate": 0.002, "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7,
                "momentum_decay": 0.004},
        AdamW: {"learning_rate": 0.001, "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-8,
                "weight_decay": 0.01},
        RAdam: {"learning_rate": 0.001, "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-8},
        Lion: {"learning_rate": 1e-4, "beta_1": 0.9, "beta_2": 0.99, "weight_decay": 0.0},
    }
    for cls, config in expected.items():
        assert cls().get_config() == {**config, "clipnorm": None, "clipvalue": None}


def test_sgd_update_is_p_minus_lr_g_exactly_and_in_place(dtype):
    params, grads = _params(dtype), _grad_sequence(1, dtype)[0]
    expected = [p - dtype(0.05) * g for p, g in zip(_flat(params), _flat(grads))]
    arrays = _flat(params)
    with retrograd.use_backend("numpy"):
        SGD(learning_rate=0.05).step(params, grads)
    for got, want, same in zip(_flat(params), expected, arrays):
        assert got is same and got.dtype == dtype
        np.testing.assert_array_equal(got, want)


def test_repr_and_step_counter():
    opt = SGD()
    opt.step([[np.zeros(2)]], [[np.ones(2)]])
    opt.step([[np.zeros(2)]], [[np.ones(2)]])
    assert opt.t == 2
    assert repr(opt) == "SGD(learning_rate=0.01, clipnorm=None, clipvalue=None)"
    assert repr(Momentum(CosineDecay(0.1, 10))) == (
        "Momentum(learning_rate=CosineDecay(initial_learning_rate=0.1, decay_steps=10, "
        "alpha=0.0, warmup_steps=0), momentum=0.9, clipnorm=None, clipvalue=None)")


def test_float64_grads_are_cast_to_the_parameter_dtype(backend):
    p = np.ones(3, np.float32)
    SGD(0.5).step([[p]], [[np.full(3, 2.0)]])
    assert p.dtype == np.float32
    np.testing.assert_array_equal(p, [0.0, 0.0, 0.0])


def test_the_base_class_needs_a_kernel():
    with pytest.raises(NotImplementedError, match="Optimizer does not name an update kernel"):
        Optimizer(0.1).step([[np.zeros(1)]], [[np.zeros(1)]])


def _bad_structures():
    p = [[np.zeros((2, 2)), np.zeros(2)]]
    g = [[np.zeros((2, 2)), np.zeros(2)]]
    return [
        (p, g + [[np.zeros(1)]], ValueError, r"expected grads with 1 groups .*got '2 groups'"),
        (p, [[np.zeros((2, 2))]], ValueError, r"expected grads group 0 with 2 arrays"),
        (p, [[np.zeros((2, 2)), np.zeros(3)]], ValueError,
         r"expected grads\[0\]\[1\] of shape \(2,\), got 'shape \(3,\)'"),
        (p, [[np.zeros((2, 2)), np.zeros(2, int)]], TypeError, r"expected grads\[0\]\[1\] floating-point"),
        ([np.zeros(2)], [np.zeros(2)], TypeError, r"expected params as a list of groups"),
        (p, np.zeros(2), TypeError, r"expected grads as a list of groups"),
        ([[np.zeros(2, int)]], [[np.zeros(2)]], TypeError,
         r"expected params\[0\]\[0\] a float32 or float64 ndarray, got 'dtype int64'"),
        ([[np.zeros(2, np.float16)]], [[np.zeros(2)]], TypeError,
         r"expected params\[0\]\[0\] a float32 or float64 ndarray, got 'dtype float16'"),
        ([[[0.0, 1.0]]], [[np.zeros(2)]], TypeError,
         r"expected params\[0\]\[0\] a float32 or float64 ndarray, got 'list'"),
    ]


@pytest.mark.parametrize("cls", [SGD, Adam])
@pytest.mark.parametrize("params, grads, error, message", _bad_structures())
def test_mismatched_structures_are_refused_before_any_update(cls, params, grads, error, message):
    saved = [np.array(p, copy=True) for group in params for p in group]
    opt = cls(0.1)
    with pytest.raises(error, match=f"{cls.__name__}: " + message):
        opt.step(params, grads)
    assert opt.t == 0 and opt.state == {}
    for old, new in zip(saved, [p for group in params for p in group]):
        np.testing.assert_array_equal(old, new)


def test_read_only_parameters_are_refused():
    p = np.zeros(2)
    p.flags.writeable = False
    with pytest.raises(ValueError, match="SGD: expected params\\[0\\]\\[0\\] a writeable array"):
        SGD(0.1).step([[p]], [[np.ones(2)]])


def test_sgd_updates_a_models_layers_through_model_params():
    model = retrograd.Sequential([Dense(3, 4, seed=0), ReLU(), Dense(4, 2, seed=1)])
    before = [p.copy() for group in model.params for p in group]
    model.forward(np.ones((5, 3), np.float32))
    model.backward(np.ones((5, 2), np.float32))
    with retrograd.use_backend("numpy"):
        SGD(0.1).step(model.params, model.grads)
    after = [model.layers[0].weights, model.layers[0].biases,
             model.layers[2].weights, model.layers[2].biases]
    for old, new, g in zip(before, after, _flat(model.grads)):
        np.testing.assert_array_equal(new, old - np.float32(0.1) * g)


# ---- training ------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def digits():
    x, y = load_digits()
    x = x.reshape(len(x), -1)
    return train_test_split(x, y, stratify=y, seed=0)


# A sensible learning rate per optimizer: each reaches >= 94% here (measured), the
# whole table trains in about 2 s per backend.
DIGITS_RATES = {SGD: 0.2, Momentum: 0.03, NAG: 0.03, AdaGrad: 0.05, RMSProp: 0.002,
                Adam: 0.003, AdaMax: 0.005, Nadam: 0.003, AdamW: 0.003, RAdam: 0.005, Lion: 1e-3}


@pytest.mark.parametrize("cls", list(DIGITS_RATES), ids=lambda cls: cls.__name__)
def test_each_optimizer_trains_the_digits_mlp(cls, backend, digits):
    x_train, x_test, y_train, y_test = digits
    model = retrograd.Sequential([Dense(64, 128, seed=0), ReLU(), Dense(128, 10, seed=1)])
    model.compile(SparseCategoricalCrossEntropy(from_logits=True), cls(DIGITS_RATES[cls]))
    model.fit(x_train, y_train, epochs=10, batch_size=32, seed=0, verbose=0)
    accuracy = model.evaluate(x_test, y_test)["accuracy"]
    assert accuracy >= 0.93, f"{cls.__name__}: test accuracy {accuracy:.3f}"
