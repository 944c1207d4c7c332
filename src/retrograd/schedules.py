"""Learning-rate schedules: callables of the step, as in Keras.

A schedule maps ``step``, the number of updates already made (0 at the first
update, Keras's ``optimizer.iterations``), to the learning rate of the next
update.  An optimizer given a schedule as ``learning_rate`` calls
``schedule(t - 1)`` at its step t (t counts from 1), so the first update uses
``schedule(0)``.

Every schedule takes ``warmup_steps`` (default 0): for step < warmup_steps the
rate climbs linearly towards the initial rate,

    lr(step) = initial_learning_rate * (step + 1) / (warmup_steps + 1),

(so the very first update already moves the weights, unlike a ramp from 0),
and from then on the schedule's own decay runs on ``step - warmup_steps``, so
the decay starts from the initial rate where the warm-up ends.

``get_config()`` gives the constructor arguments; ``serialize`` /
``deserialize`` turn a schedule into ``{"class_name", "config"}`` and back,
building only the classes of this module.
"""
import math
import numbers

from ._validation import check_finite, check_positive_int, fail


class LearningRateSchedule:
    """Base class: validates the step, applies the linear warm-up and hands
    the rest to ``_decay(step)`` (step counted from the end of the warm-up).

    Args:
        initial_learning_rate: the rate at the end of the warm-up (or at step 0
            without one), a finite number > 0.
        warmup_steps: number of warm-up steps, an integer >= 0.
    """

    def __init__(self, initial_learning_rate, warmup_steps=0):
        self.initial_learning_rate = check_finite(initial_learning_rate, self.name,
                                                  "initial_learning_rate", low=0.0,
                                                  low_open=True)
        self.warmup_steps = _check_count(warmup_steps, self.name, "warmup_steps")

    @property
    def name(self):
        return type(self).__name__

    def __call__(self, step):
        step = _check_count(step, self.name, "step")
        if step < self.warmup_steps:
            return self.initial_learning_rate * (step + 1) / (self.warmup_steps + 1)
        return self._decay(step - self.warmup_steps)

    def _decay(self, step):
        raise NotImplementedError(f"{self.name} does not implement _decay")

    def get_config(self):
        """Constructor arguments that rebuild this schedule (JSON-serialisable)."""
        return {"initial_learning_rate": self.initial_learning_rate,
                "warmup_steps": self.warmup_steps}

    def __eq__(self, other):
        return type(other) is type(self) and other.get_config() == self.get_config()

    def __hash__(self):
        return hash((self.name, tuple(sorted(self.get_config().items()))))

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{self.name}({args})"


class ExponentialDecay(LearningRateSchedule):
    """lr(step) = initial_learning_rate * decay_rate ^ (step / decay_steps),
    with the exponent floored to an integer when ``staircase`` (the rate then
    drops by decay_rate every decay_steps steps).  After a warm-up, step counts
    from its end.

    Args:
        initial_learning_rate: lr at step 0, > 0.
        decay_steps: steps for one factor decay_rate, a positive integer.
        decay_rate: factor per decay_steps, a finite number > 0.
        staircase: floor step / decay_steps.
        warmup_steps: linear warm-up first (see the module docstring).

    Example:
        >>> schedule = ExponentialDecay(0.1, decay_steps=100, decay_rate=0.5)
        >>> opt = SGD(learning_rate=schedule)       # lr 0.05 at the 101st update
    """

    def __init__(self, initial_learning_rate, decay_steps, decay_rate, staircase=False,
                 warmup_steps=0):
        super().__init__(initial_learning_rate, warmup_steps)
        self.decay_steps = check_positive_int(decay_steps, self.name, "decay_steps")
        self.decay_rate = check_finite(decay_rate, self.name, "decay_rate", low=0.0,
                                       low_open=True)
        if not isinstance(staircase, bool):
            fail(self.name, "staircase True or False", staircase, TypeError)
        self.staircase = staircase

    def _decay(self, step):
        exponent = step / self.decay_steps
        if self.staircase:
            exponent = math.floor(exponent)
        return self.initial_learning_rate * self.decay_rate ** exponent

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "decay_rate": self.decay_rate,
                "staircase": self.staircase, "warmup_steps": self.warmup_steps}


class StepDecay(LearningRateSchedule):
    """lr(step) = initial_learning_rate * gamma ^ floor(step / step_size): the
    rate is multiplied by gamma every step_size steps (torch's StepLR, counted
    in updates).  After a warm-up, step counts from its end.

    Args:
        initial_learning_rate: lr at step 0, > 0.
        step_size: steps between two drops, a positive integer.
        gamma: factor of each drop, a finite number > 0.
        warmup_steps: linear warm-up first (see the module docstring).

    Example:
        >>> schedule = StepDecay(0.1, step_size=1000, gamma=0.1)
        >>> opt = Momentum(learning_rate=schedule)  # 0.1, then 0.01 from update 1001
    """

    def __init__(self, initial_learning_rate, step_size, gamma=0.1, warmup_steps=0):
        super().__init__(initial_learning_rate, warmup_steps)
        self.step_size = check_positive_int(step_size, self.name, "step_size")
        self.gamma = check_finite(gamma, self.name, "gamma", low=0.0, low_open=True)

    def _decay(self, step):
        return self.initial_learning_rate * self.gamma ** (step // self.step_size)

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate,
                "step_size": self.step_size, "gamma": self.gamma,
                "warmup_steps": self.warmup_steps}


class CosineDecay(LearningRateSchedule):
    """Cosine annealing (Loshchilov & Hutter), as Keras's CosineDecay:

        s = min(step, decay_steps)
        lr(step) = initial_learning_rate * ((1 - alpha) * (1 + cos(pi s / decay_steps)) / 2 + alpha)

    so the rate falls from initial_learning_rate to alpha * initial_learning_rate
    over decay_steps steps and stays there.  After a warm-up, step counts from
    its end.

    Args:
        initial_learning_rate: lr at step 0, > 0.
        decay_steps: length of the decay, a positive integer.
        alpha: final rate as a fraction of the initial one, in [0, 1].
        warmup_steps: linear warm-up first (see the module docstring).

    Example:
        >>> schedule = CosineDecay(1e-3, decay_steps=10_000, warmup_steps=500)
        >>> opt = AdamW(learning_rate=schedule)
    """

    def __init__(self, initial_learning_rate, decay_steps, alpha=0.0, warmup_steps=0):
        super().__init__(initial_learning_rate, warmup_steps)
        self.decay_steps = check_positive_int(decay_steps, self.name, "decay_steps")
        self.alpha = check_finite(alpha, self.name, "alpha", low=0.0, high=1.0)

    def _decay(self, step):
        fraction = min(step, self.decay_steps) / self.decay_steps
        cosine = 0.5 * (1.0 + math.cos(math.pi * fraction))
        return self.initial_learning_rate * ((1.0 - self.alpha) * cosine + self.alpha)

    def get_config(self):
        return {"initial_learning_rate": self.initial_learning_rate,
                "decay_steps": self.decay_steps, "alpha": self.alpha,
                "warmup_steps": self.warmup_steps}


_SCHEDULES = {cls.__name__: cls for cls in (ExponentialDecay, StepDecay, CosineDecay)}


def serialize(schedule):
    """``{"class_name": ..., "config": schedule.get_config()}``: numbers only."""
    return {"class_name": type(schedule).__name__, "config": schedule.get_config()}


def deserialize(data):
    """The schedule described by ``serialize``'s dict; only this module's
    classes can be built."""
    if (not isinstance(data, dict) or set(data) != {"class_name", "config"}
            or not isinstance(data["config"], dict)):
        fail("schedules.deserialize", "a dict with keys 'class_name' and 'config'", data)
    if data["class_name"] not in _SCHEDULES:
        fail("schedules.deserialize", f"class_name one of {sorted(_SCHEDULES)}",
             data["class_name"])
    return _SCHEDULES[data["class_name"]](**data["config"])


def _check_count(value, owner, name):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
        fail(owner, f"{name} an integer >= 0", value)
    return int(value)


__all__ = ["LearningRateSchedule", "ExponentialDecay", "StepDecay", "CosineDecay",
           "serialize", "deserialize"]
