"""Optimizer base and SGD: the update formula, in-place updates, step counting, validation."""
import numpy as np
import pytest

import retrograd
from retrograd.layers import Dense, ReLU
from retrograd.optimizers import SGD, Optimizer


def _groups(dtype=np.float32, seed=0):
    rng = np.random.default_rng(seed)
    params = [[rng.normal(size=(3, 2)).astype(dtype), rng.normal(size=2).astype(dtype)],
              [rng.normal(size=(4,)).astype(dtype)]]
    grads = [[rng.normal(size=p.shape).astype(dtype) for p in group] for group in params]
    return params, grads


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sgd_update_is_p_minus_lr_g_exactly_and_in_place(dtype):
    params, grads = _groups(dtype)
    expected = [[p - dtype(0.05) * g for p, g in zip(pg, gg)] for pg, gg in zip(params, grads)]
    arrays = [p for group in params for p in group]
    SGD(learning_rate=0.05).step(params, grads)
    for got, want, same in zip([p for g in params for p in g],
                               [p for g in expected for p in g], arrays):
        assert got is same and got.dtype == dtype
        np.testing.assert_array_equal(got, want)


def test_sgd_default_learning_rate_and_step_counter():
    opt = SGD()
    assert opt.learning_rate == 0.01 and opt.t == 0
    params, grads = _groups()
    opt.step(params, grads)
    opt.step(params, grads)
    assert opt.t == 2
    assert repr(opt) == "SGD(learning_rate=0.01)"


def test_sgd_updates_a_models_layers_through_model_params():
    model = retrograd.Sequential([Dense(3, 4, seed=0), ReLU(), Dense(4, 2, seed=1)])
    before = [p.copy() for group in model.params for p in group]
    model.forward(np.ones((5, 3), np.float32))
    model.backward(np.ones((5, 2), np.float32))
    SGD(0.1).step(model.params, model.grads)
    after = [model.layers[0].weights, model.layers[0].biases,
             model.layers[2].weights, model.layers[2].biases]
    grads = [g for group in model.grads for g in group]
    for old, new, g in zip(before, after, grads):
        np.testing.assert_array_equal(new, old - np.float32(0.1) * g)


def test_float64_grads_are_cast_to_the_parameter_dtype():
    p = np.ones(3, np.float32)
    SGD(0.5).step([[p]], [[np.full(3, 2.0)]])
    assert p.dtype == np.float32
    np.testing.assert_array_equal(p, [0.0, 0.0, 0.0])


class _Counting(Optimizer):
    """A stateful optimizer: counts its updates per array, to test the state keying."""

    def _update(self, param, grad, state):
        state["count"] = state.get("count", 0) + 1
        state["t_seen"] = self.t


def test_base_keeps_state_per_array_position_and_t_from_one():
    opt = _Counting(learning_rate=1.0)
    params, grads = _groups()
    opt.step(params, grads)
    assert set(opt.state) == {(0, 0), (0, 1), (1, 0)}
    assert all(s == {"count": 1, "t_seen": 1} for s in opt.state.values())
    opt.step(params, grads)
    assert all(s == {"count": 2, "t_seen": 2} for s in opt.state.values())


def test_base_update_must_be_written_by_a_subclass():
    with pytest.raises(NotImplementedError, match="Optimizer does not implement _update"):
        Optimizer(0.1).step([[np.zeros(1)]], [[np.zeros(1)]])


@pytest.mark.parametrize("lr", [0, -0.1, float("nan"), float("inf"), "0.1", None, True])
def test_learning_rate_must_be_finite_and_positive(lr):
    with pytest.raises(ValueError, match=r"SGD: expected learning_rate"):
        SGD(learning_rate=lr)


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
         r"expected params\[0\]\[0\] a floating-point ndarray, got 'dtype int64'"),
        ([[[0.0, 1.0]]], [[np.zeros(2)]], TypeError, r"expected params\[0\]\[0\] a floating-point ndarray, got 'list'"),
    ]


@pytest.mark.parametrize("params, grads, error, message", _bad_structures())
def test_mismatched_structures_are_refused_before_any_update(params, grads, error, message):
    saved = [np.array(p, copy=True) for group in params for p in group]
    opt = SGD(0.1)
    with pytest.raises(error, match="SGD: " + message):
        opt.step(params, grads)
    assert opt.t == 0
    for old, new in zip(saved, [p for group in params for p in group]):
        np.testing.assert_array_equal(old, new)


def test_read_only_parameters_are_refused():
    p = np.zeros(2)
    p.flags.writeable = False
    with pytest.raises(ValueError, match="SGD: expected params\\[0\\]\\[0\\] a writeable array"):
        SGD(0.1).step([[p]], [[np.ones(2)]])
