"""Learning-rate schedules: values against hand-computed ones, warm-up, configs and
(de)serialisation, validation."""
import math

import pytest

from retrograd.schedules import (CosineDecay, ExponentialDecay, StepDecay, deserialize,
                                 serialize)


def test_exponential_decay_continuous_and_staircase():
    s = ExponentialDecay(0.1, decay_steps=10, decay_rate=0.5)
    assert [s(k) for k in (0, 5, 10, 25)] == pytest.approx(
        [0.1, 0.1 * 0.5 ** 0.5, 0.05, 0.1 * 0.5 ** 2.5], rel=1e-15)
    s = ExponentialDecay(0.1, decay_steps=10, decay_rate=0.5, staircase=True)
    assert [s(k) for k in (0, 9, 10, 19, 20)] == pytest.approx(
        [0.1, 0.1, 0.05, 0.05, 0.025], rel=1e-15)


def test_step_decay_drops_by_gamma_every_step_size_steps():
    s = StepDecay(1.0, step_size=3)
    assert [s(k) for k in range(7)] == pytest.approx([1, 1, 1, 0.1, 0.1, 0.1, 0.01], rel=1e-15)
    s = StepDecay(0.5, step_size=2, gamma=0.5)
    assert [s(k) for k in range(5)] == pytest.approx([0.5, 0.5, 0.25, 0.25, 0.125], rel=1e-15)


def test_cosine_decay_reaches_alpha_and_stays():
    s = CosineDecay(1.0, decay_steps=4, alpha=0.2)
    want = [1.0, 0.2 + 0.8 * (1 + math.cos(math.pi / 4)) / 2, 0.6,
            0.2 + 0.8 * (1 + math.cos(3 * math.pi / 4)) / 2, 0.2, 0.2]
    assert [s(k) for k in range(6)] == pytest.approx(want, rel=1e-15)
    assert CosineDecay(2.0, decay_steps=10)(5) == pytest.approx(1.0, rel=1e-15)


@pytest.mark.parametrize("schedule", [
    ExponentialDecay(0.4, decay_steps=2, decay_rate=0.5, warmup_steps=4),
    StepDecay(0.4, step_size=2, gamma=0.5, warmup_steps=4),
    CosineDecay(0.4, decay_steps=4, warmup_steps=4),
], ids=["exponential", "step", "cosine"])
def test_warm_up_climbs_linearly_then_the_decay_starts(schedule):
    assert [schedule(k) for k in range(5)] == pytest.approx([0.08, 0.16, 0.24, 0.32, 0.4],
                                                            rel=1e-15)
    # two steps after the warm-up each decay is at its own step 2, where all three halve
    assert schedule(6) == pytest.approx(0.2, rel=1e-15)


@pytest.mark.parametrize("schedule", [
    ExponentialDecay(0.1, 100, 0.9, staircase=True, warmup_steps=5),
    StepDecay(0.1, 30, gamma=0.2),
    CosineDecay(0.01, 1000, alpha=0.1, warmup_steps=50),
], ids=["exponential", "step", "cosine"])
def test_config_rebuilds_an_equal_schedule(schedule):
    again = type(schedule)(**schedule.get_config())
    assert again == schedule and again.get_config() == schedule.get_config()
    data = serialize(schedule)
    assert data == {"class_name": type(schedule).__name__, "config": schedule.get_config()}
    rebuilt = deserialize(data)
    assert rebuilt == schedule and [rebuilt(k) for k in range(0, 200, 7)] == [
        schedule(k) for k in range(0, 200, 7)]


BAD = [
    (ExponentialDecay, {"initial_learning_rate": 0.0, "decay_steps": 1, "decay_rate": 0.5},
     r"initial_learning_rate > 0.0, got 0.0"),
    (ExponentialDecay, {"initial_learning_rate": 0.1, "decay_steps": 0, "decay_rate": 0.5},
     r"decay_steps a positive integer, got 0"),
    (ExponentialDecay, {"initial_learning_rate": 0.1, "decay_steps": 1, "decay_rate": -0.5},
     r"decay_rate > 0.0, got -0.5"),
    (ExponentialDecay, {"initial_learning_rate": 0.1, "decay_steps": 1, "decay_rate": 0.5,
                        "warmup_steps": -1}, r"warmup_steps an integer >= 0, got -1"),
    (StepDecay, {"initial_learning_rate": float("inf"), "step_size": 1},
     r"initial_learning_rate a finite number, got inf"),
    (StepDecay, {"initial_learning_rate": 0.1, "step_size": 2.5},
     r"step_size a positive integer, got 2.5"),
    (StepDecay, {"initial_learning_rate": 0.1, "step_size": 2, "gamma": 0.0},
     r"gamma > 0.0, got 0.0"),
    (CosineDecay, {"initial_learning_rate": 0.1, "decay_steps": 10, "alpha": 1.5},
     r"alpha <= 1.0, got 1.5"),
    (CosineDecay, {"initial_learning_rate": 0.1, "decay_steps": True},
     r"decay_steps a positive integer, got True"),
]


@pytest.mark.parametrize("cls, kwargs, message", BAD)
def test_bad_arguments_are_refused(cls, kwargs, message):
    with pytest.raises(ValueError, match=f"{cls.__name__}: expected {message}"):
        cls(**kwargs)


def test_staircase_must_be_a_bool():
    with pytest.raises(TypeError, match="ExponentialDecay: expected staircase True or False"):
        ExponentialDecay(0.1, 10, 0.5, staircase="yes")


@pytest.mark.parametrize("step", [-1, 1.5, None])
def test_step_must_be_a_count(step):
    with pytest.raises(ValueError, match=f"StepDecay: expected step an integer >= 0, got {step!r}"):
        StepDecay(0.1, 10)(step)


@pytest.mark.parametrize("data, message", [
    ({"class_name": "Lambda", "config": {}}, r"expected class_name one of \['CosineDecay', "),
    ({"class_name": "StepDecay"}, r"expected a dict with keys 'class_name' and 'config'"),
    ("StepDecay", r"expected a dict with keys"),
])
def test_deserialize_builds_only_this_modules_schedules(data, message):
    with pytest.raises(ValueError, match="schedules.deserialize: " + message):
        deserialize(data)
