"""Optimizers (API.md, "Optimizers").

``opt.step(params, grads)`` takes lists of groups, one group (a list of arrays)
per layer with parameters, exactly as ``model.params`` / ``model.grads`` give
them, and updates the parameter arrays in place, so the layers see the new
values without any copying back.  A single array works too: ``step([[x]], [[g]])``.

One step, for every optimizer:
  1. the arguments are checked (structure, shapes, dtypes, and against the
     state of earlier steps) before anything is modified;
  2. the learning rate of this step is read (a number, or a schedule of
     ``retrograd.schedules`` called with t - 1, the updates already made);
  3. copies of the gradients are clipped (``clipnorm``: the global L2 norm over
     all groups is scaled down to at most clipnorm; then ``clipvalue``: each
     element clipped to [-clipvalue, clipvalue]); the caller's arrays are only read;
  4. t (from 1 at the first update) is advanced and the step's scalars (bias
     corrections, Nadam's momentum products, RAdam's rectification) are
     computed once, in Python;
  5. one backend kernel ``ops.<method>_step`` per dtype updates all arrays of that
     dtype, so the native backend updates a whole model in one call.

State (velocities, moment estimates...) is allocated as zeros at the first
step, shaped like the parameters: ``opt.state[name]`` holds it in the same
groups as ``params``.  ``state_dict()`` / ``load_state_dict()`` save and restore
t, the hyper-parameters and the state as numbers and lists of arrays, so a run
can be checkpointed and resumed bit for bit.
"""
import math

import numpy as np

from ._validation import FLOAT_DTYPES, as_array, check_finite, fail
from .backend import ops
from .schedules import LearningRateSchedule, deserialize, serialize


class Optimizer:
    """Base class: validation, clipping, learning-rate schedules, state and
    dispatch to the backend.  A subclass names its kernel (``kernel``), its
    state arrays (``slots``), its hyper-parameters (``hyper``, the constructor
    argument names besides learning_rate / clipnorm / clipvalue) and computes
    the scalars of step t in ``_scalars(lr)``: the kernel is then called as
    ``ops.<kernel>(params, grads, *state_lists, *scalars)``.

    Args:
        learning_rate: step size, a finite number > 0, or a LearningRateSchedule.
        clipnorm: if set (> 0), gradients are scaled by clipnorm / max(norm, clipnorm),
            norm the L2 norm of all gradients together.
        clipvalue: if set (> 0), each gradient element is clipped to [-clipvalue, clipvalue].
    """

    kernel = None
    slots = ()
    hyper = ()
    # Numbers (besides t) that a subclass carries from step to step; saved by state_dict.
    scalar_state = ()

    def __init__(self, learning_rate, clipnorm=None, clipvalue=None):
        if not isinstance(learning_rate, LearningRateSchedule):
            try:
                learning_rate = check_finite(learning_rate, self.name, "learning_rate",
                                             low=0.0, low_open=True)
            except (TypeError, ValueError) as exc:
                fail(self.name, "learning_rate a finite number > 0 or a LearningRateSchedule",
                     learning_rate, type(exc))
        self.learning_rate = learning_rate
        self.clipnorm = _optional_positive(clipnorm, self.name, "clipnorm")
        self.clipvalue = _optional_positive(clipvalue, self.name, "clipvalue")
        self.t = 0
        self.state = {}

    @property
    def name(self):
        return type(self).__name__

    # ---- one update ------------------------------------------------------------------------
    def step(self, params, grads):
        """Update every array of ``params`` in place with the matching array of
        ``grads``; both are lists of groups of the same structure."""
        pairs = self._pairs(params, grads)
        self._check_state(params)
        kernel = getattr(ops, self._kernel_name())
        lr = self._learning_rate_at(self.t + 1)
        flat_params = [p for p, _ in pairs]
        flat_grads = self._clip([g for _, g in pairs])
        if self.slots and not self.state:
            # C order whatever the parameter's layout: native kernels update state in place.
            self.state = {name: [[np.zeros(p.shape, p.dtype) for p in group] for group in params]
                          for name in self.slots}
        flat_state = [[s for group in self.state[name] for s in group] for name in self.slots]
        self.t += 1
        scalars = self._scalars(lr)
        # A non-contiguous parameter (a transposed view...) is updated through a contiguous
        # copy written back after the kernel, so both backends accept any layout.
        work = [np.ascontiguousarray(p) for p in flat_params]
        by_dtype = {}
        for k, p in enumerate(work):
            by_dtype.setdefault(p.dtype, []).append(k)
        for index in by_dtype.values():
            kernel([work[k] for k in index], [flat_grads[k] for k in index],
                   *[[arrays[k] for k in index] for arrays in flat_state], *scalars)
        for p, w in zip(flat_params, work):
            if w is not p:
                np.copyto(p, w)

    def _kernel_name(self):
        if self.kernel is None:
            raise NotImplementedError(f"{self.name} does not name an update kernel")
        return self.kernel

    def _scalars(self, lr):
        """The kernel's scalar arguments at step ``self.t`` with learning rate ``lr``."""
        raise NotImplementedError(f"{self.name} does not implement _scalars")

    def _learning_rate_at(self, t):
        if not isinstance(self.learning_rate, LearningRateSchedule):
            return self.learning_rate
        return check_finite(self.learning_rate(t - 1), self.name,
                            f"the schedule's learning rate at step {t}", low=0.0)

    def _clip(self, grads):
        """Clipped copies of ``grads`` (the same arrays when no clipping applies:
        kernels never write to grads)."""
        if self.clipnorm is not None:
            # Sum of squares in float64: a float32 sum over a large model would lose digits.
            norm = math.sqrt(sum(float(np.sum(np.square(g, dtype=np.float64))) for g in grads))
            if norm > self.clipnorm:
                scale = self.clipnorm / norm
                grads = [g * g.dtype.type(scale) for g in grads]
        if self.clipvalue is not None:
            grads = [np.clip(g, -self.clipvalue, self.clipvalue) for g in grads]
        return grads

    # ---- validation ------------------------------------------------------------------------
    def _pairs(self, params, grads):
        """Check that ``params`` and ``grads`` have the same structure (before
        anything is modified, so a bad call leaves the model untouched) and
        return the flat list of (param, grad cast to the param's dtype)."""
        for what, value in (("params", params), ("grads", grads)):
            if not isinstance(value, (list, tuple)) or not all(
                    isinstance(group, (list, tuple)) for group in value):
                fail(self.name, f"{what} as a list of groups (lists of arrays)",
                     type(value).__name__, TypeError)
        if len(params) != len(grads):
            fail(self.name, f"grads with {len(params)} groups (one per params group)",
                 f"{len(grads)} groups")
        pairs = []
        for i, (p_group, g_group) in enumerate(zip(params, grads)):
            if len(p_group) != len(g_group):
                fail(self.name, f"grads group {i} with {len(p_group)} arrays",
                     f"{len(g_group)} arrays")
            for j, (param, grad) in enumerate(zip(p_group, g_group)):
                if not isinstance(param, np.ndarray) or param.dtype not in FLOAT_DTYPES:
                    fail(self.name, f"params[{i}][{j}] a float32 or float64 ndarray",
                         type(param).__name__ if not isinstance(param, np.ndarray)
                         else f"dtype {param.dtype}", TypeError)
                if not param.flags.writeable:
                    fail(self.name, f"params[{i}][{j}] a writeable array", "a read-only array")
                grad = as_array(grad, self.name, f"grads[{i}][{j}]")
                if grad.shape != param.shape:
                    fail(self.name, f"grads[{i}][{j}] of shape {param.shape}",
                         f"shape {grad.shape}")
                if grad.dtype.kind != "f":
                    fail(self.name, f"grads[{i}][{j}] floating-point", f"dtype {grad.dtype}",
                         TypeError)
                pairs.append((param, grad.astype(param.dtype, copy=False)))
        return pairs

    def _check_state(self, params):
        """Once state exists, every step must bring arrays of the same shapes and
        dtypes in the same groups: an optimizer belongs to one model."""
        for name, groups in self.state.items():
            if len(groups) != len(params):
                fail(self.name, f"params with {len(groups)} groups, as the optimizer state",
                     f"{len(params)} groups")
            for i, (s_group, p_group) in enumerate(zip(groups, params)):
                if len(s_group) != len(p_group):
                    fail(self.name, f"params group {i} with {len(s_group)} arrays, as the "
                         "optimizer state", f"{len(p_group)} arrays")
                for j, (s, p) in enumerate(zip(s_group, p_group)):
                    if s.shape != p.shape or s.dtype != p.dtype:
                        fail(self.name, f"params[{i}][{j}] of shape {s.shape} and dtype "
                             f"{s.dtype}, as the optimizer's {name!r} state",
                             f"shape {p.shape}, dtype {p.dtype}")

    # ---- checkpoints -----------------------------------------------------------------------
    def get_config(self):
        """Hyper-parameters that rebuild this optimizer (numbers, None, and a
        schedule as {"class_name", "config"})."""
        lr = self.learning_rate
        config = {"learning_rate": serialize(lr) if isinstance(lr, LearningRateSchedule) else lr}
        config.update((name, getattr(self, name)) for name in self.hyper)
        config.update(clipnorm=self.clipnorm, clipvalue=self.clipvalue)
        return config

    def state_dict(self):
        """A plain dict: class name, t, hyper-parameters, the state arrays (copies,
        in the groups of params) and any running numbers (Nadam's product)."""
        data = {"class_name": self.name, "t": self.t, "config": self.get_config(),
                "state": {name: [[a.copy() for a in group] for group in groups]
                          for name, groups in self.state.items()}}
        data.update((name, getattr(self, name)) for name in self.scalar_state)
        return data

    def load_state_dict(self, state_dict):
        """Restore what ``state_dict`` returned (hyper-parameters included), so the
        next step continues the saved run exactly.  Everything is validated first:
        a bad dict raises and leaves this optimizer unchanged."""
        keys = {"class_name", "t", "config", "state", *self.scalar_state}
        if not isinstance(state_dict, dict) or set(state_dict) != keys:
            fail(self.name, f"a state_dict with keys {sorted(keys)}",
                 sorted(state_dict) if isinstance(state_dict, dict) else type(state_dict).__name__)
        if state_dict["class_name"] != self.name:
            fail(self.name, f"the state_dict of a {self.name}", state_dict["class_name"])
        t = state_dict["t"]
        if isinstance(t, bool) or not isinstance(t, (int, np.integer)) or t < 0:
            fail(self.name, "state_dict['t'] an integer >= 0", t)
        fresh = self._from_config(state_dict["config"])
        state = self._checked_state(state_dict["state"])
        scalars = {name: check_finite(state_dict[name], self.name, f"state_dict[{name!r}]")
                   for name in self.scalar_state}
        self.t = int(t)
        for name in ("learning_rate", *self.hyper, "clipnorm", "clipvalue"):
            setattr(self, name, getattr(fresh, name))
        self.state = state
        for name, value in scalars.items():
            setattr(self, name, value)

    def _from_config(self, config):
        """A new optimizer of this class from ``config`` (validating every value)."""
        expected = set(self.get_config())
        if not isinstance(config, dict) or set(config) != expected:
            fail(self.name, f"state_dict['config'] with keys {sorted(expected)}",
                 sorted(config) if isinstance(config, dict) else type(config).__name__)
        config = dict(config)
        lr = config["learning_rate"]
        if isinstance(lr, dict):
            current = self.learning_rate
            # A schedule of the user's own class cannot be rebuilt from numbers;
            # it is kept when this optimizer already holds the same one.
            if isinstance(current, LearningRateSchedule) and serialize(current) == lr:
                config["learning_rate"] = current
            else:
                config["learning_rate"] = deserialize(lr)
        return type(self)(**config)

    def _checked_state(self, state):
        """Copies of the saved state arrays after checking names, groups, shapes and dtypes."""
        if not isinstance(state, dict) or (state and set(state) != set(self.slots)):
            fail(self.name, f"state_dict['state'] with the arrays {list(self.slots)}",
                 sorted(state) if isinstance(state, dict) else type(state).__name__)
        copies = {}
        reference = None
        for name in self.slots if state else ():
            groups = state[name]
            if not isinstance(groups, (list, tuple)) or not all(
                    isinstance(group, (list, tuple)) for group in groups):
                fail(self.name, f"state_dict['state'][{name!r}] as a list of groups",
                     type(groups).__name__)
            layout = []
            for group in groups:
                for a in group:
                    if not isinstance(a, np.ndarray) or a.dtype not in FLOAT_DTYPES:
                        fail(self.name, f"state_dict['state'][{name!r}] of float32 or float64 "
                             "arrays", type(a).__name__ if not isinstance(a, np.ndarray)
                             else f"dtype {a.dtype}")
                layout.append([(a.shape, a.dtype) for a in group])
            if reference is not None and layout != reference:
                fail(self.name, f"state_dict['state'][{name!r}] with the shapes of "
                     f"{self.slots[0]!r}", layout)
            reference = layout
            copies[name] = [[np.array(a, order="C") for a in group] for group in groups]
        return copies

    def __repr__(self):
        args = ", ".join(f"{k}={getattr(self, k)!r}" for k in self.get_config())
        return f"{self.name}({args})"


def _optional_positive(value, owner, name):
    if value is None:
        return None
    return check_finite(value, owner, name, low=0.0, low_open=True)


def _fraction(value, owner, name):
    """A decay factor in [0, 1) (betas, momentum, rho)."""
    value = check_finite(value, owner, name)
    if not 0.0 <= value < 1.0:
        fail(owner, f"{name} in [0, 1)", value)
    return value


def _positive(value, owner, name):
    return check_finite(value, owner, name, low=0.0, low_open=True)


def _non_negative(value, owner, name):
    return check_finite(value, owner, name, low=0.0)


class SGD(Optimizer):
    """Stochastic gradient descent.

        for t = 1, 2, ...:
            p <- p - lr g_t

    Args:
        learning_rate: step size lr > 0 or a schedule (default 0.01).
        clipnorm, clipvalue: gradient clipping (see Optimizer).

    Example:
        >>> opt = SGD(learning_rate=0.1)
        >>> opt.step(model.params, model.grads)   # after model.backward(...)
    """

    kernel = "sgd_step"

    def __init__(self, learning_rate=0.01, clipnorm=None, clipvalue=None):
        super().__init__(learning_rate, clipnorm, clipvalue)

    def _scalars(self, lr):
        return (lr,)


class _VelocityMethod(Optimizer):
    """Base of Momentum and NAG: one velocity per array, scalars (lr, momentum)."""

    slots = ("velocity",)
    hyper = ("momentum",)

    def _scalars(self, lr):
        return (lr, self.momentum)


class Momentum(_VelocityMethod):
    """Gradient descent with momentum (Polyak's heavy ball).

        v_0 = 0
        for t = 1, 2, ...:
            v <- mu v - lr g_t
            p <- p + v

    With a constant lr this is torch's SGD(momentum=mu): there b <- mu b + g,
    p <- p - lr b, and v = -lr b.

    Args:
        learning_rate: lr > 0 or a schedule (default 0.001).
        momentum: mu in [0, 1) (default 0.9).
        clipnorm, clipvalue: gradient clipping (see Optimizer).

    Example:
        >>> opt = Momentum(learning_rate=0.01, momentum=0.9)
        >>> opt.step(model.params, model.grads)
    """

    kernel = "momentum_step"

    def __init__(self, learning_rate=0.001, momentum=0.9, clipnorm=None, clipvalue=None):
        super().__init__(learning_rate, clipnorm, clipvalue)
        self.momentum = _fraction(momentum, self.name, "momentum")


GradientDescentWithMomentum = Momentum


class NesterovAcceleratedGradient(_VelocityMethod):
    """Nesterov's accelerated gradient, in the form of Sutskever et al. (the
    gradient is the one at the current point; the look-ahead moves into p).

        v_0 = 0
        for t = 1, 2, ...:
            v <- mu v - lr g_t
            p <- p + mu v - lr g_t

    With a constant lr this is torch's SGD(momentum=mu, nesterov=True).

    Args:
        learning_rate: lr > 0 or a schedule (default 0.001).
        momentum: mu in [0, 1) (default 0.9).
        clipnorm, clipvalue: gradient clipping (see Optimizer).

    Example:
        >>> opt = NAG(learning_rate=0.01, momentum=0.9)
        >>> opt.step(model.params, model.grads)
    """

    kernel = "nag_step"

    def __init__(self, learning_rate=0.001, momentum=0.9, clipnorm=None, clipvalue=None):
        super().__init__(learning_rate, clipnorm, clipvalue)
        self.momentum = _fraction(momentum, self.name, "momentum")


NAG = NesterovAcceleratedGradient


class AdaGrad(Optimizer):
    """AdaGrad (Duchi, Hazan & Singer): per-element rates shrinking with the
    sum of the squared gradients seen so far.

        n_0 = 0
        for t = 1, 2, ...:
            n <- n + g_t^2
            p <- p - lr g_t / (sqrt(n) + eps)

    Args:
        learning_rate: lr > 0 or a schedule (default 0.01).
        epsilon: eps > 0 (default 1e-7).
        clipnorm, clipvalue: gradient clipping (see Optimizer).

    Example:
        >>> opt = AdaGrad(learning_rate=0.05)
        >>> opt.step(model.params, model.grads)
    """

    kernel = "adagrad_step"
    slots = ("accum",)
    hyper = ("epsilon",)

    def __init__(self, learning_rate=0.01, epsilon=1e-7, clipnorm=None, clipvalue=None):
        super().__init__(learning_rate, clipnorm, clipvalue)
        self.epsilon = _positive(epsilon, self.name, "epsilon")

    def _scalars(self, lr):
        return (lr, self.epsilon)


class RMSProp(Optimizer):
    """RMSProp (Hinton): AdaGrad with an exponential moving average of g^2.

        n_0 = 0
        for t = 1, 2, ...:
            n <- rho n + (1 - rho) g_t^2
            p <- p - lr g_t / (sqrt(n) + eps)

    Args:
        learning_rate: lr > 0 or a schedule (default 0.001).
        decay_rate: rho in [0, 1) (default 0.9).
        epsilon: eps > 0 (default 1e-7).
        clipnorm, clipvalue: gradient clipping (see Optimizer).

    Example:
        >>> opt = RMSProp(learning_rate=0.001, decay_rate=0.9)
        >>> opt.step(model.params, model.grads)
    """

    kernel = "rmsprop_step"
    slots = ("accum",)
    hyper = ("decay_rate", "epsilon")

    def __init__(self, learning_rate=0.001, decay_rate=0.9, epsilon=1e-7, clipnorm=None,
                 clipvalue=None):
        super().__init__(learning_rate, clipnorm, clipvalue)
        self.decay_rate = _fraction(decay_rate, self.name, "decay_rate")
        self.epsilon = _positive(epsilon, self.name, "epsilon")

    def _scalars(self, lr):
        return (lr, self.decay_rate, self.epsilon)


class _AdamFamily(Optimizer):
    """beta_1, beta_2 and epsilon, validated once for the Adam variants."""

    slots = ("m", "v")
    hyper = ("beta_1", "beta_2", "epsilon")

    def __init__(self, learning_rate, beta_1, beta_2, epsilon, clipnorm, clipvalue):
        super().__init__(learning_rate, clipnorm, clipvalue)
        self.beta_1 = _fraction(beta_1, self.name, "beta_1")
        self.beta_2 = _fraction(beta_2, self.name, "beta_2")
        self.epsilon = _positive(epsilon, self.name, "epsilon")

    def _bias_corrections(self):
        return 1.0 - self.beta_1 ** self.t, 1.0 - self.beta_2 ** self.t


class Adam(_AdamFamily):
    """Adam (Kingma & Ba): momentum on g and an RMSProp denominator, both
    bias-corrected for their zero start.

        m_0 = 0, v_0 = 0
        for t = 1, 2, ...:
            m <- b1 m + (1 - b1) g_t
            v <- b2 v + (1 - b2) g_t^2
            m_hat = m / (1 - b1^t),  v_hat = v / (1 - b2^t)
            p <- p - lr m_hat / (sqrt(v_hat) + eps)

    Args:
        learning_rate: lr > 0 or a schedule (default 0.001).
        beta_1, beta_2: b1, b2 in [0, 1) (defaults 0.9, 0.999).
        epsilon: eps > 0 (default 1e-7).
        clipnorm, clipvalue: gradient clipping (see Optimizer).

    Example:
        >>> opt = Adam(learning_rate=1e-3)
        >>> opt.step(model.params, model.grads)
    """

    kernel = "adam_step"

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                 clipnorm=None, clipvalue=None):
        super().__init__(learning_rate, beta_1, beta_2, epsilon, clipnorm, clipvalue)

    def _scalars(self, lr):
        return (lr, self.beta_1, self.beta_2, self.epsilon, *self._bias_corrections())


class AdaMax(_AdamFamily):
    """AdaMax (Kingma & Ba, section 7.1): Adam with the infinity norm in place
    of the L2 norm; u needs no bias correction.

        m_0 = 0, u_0 = 0
        for t = 1, 2, ...:
            m <- b1 m + (1 - b1) g_t
            u <- max(b2 u, |g_t|)
            p <- p - lr / (1 - b1^t) * m / (u + eps)

    Args:
        learning_rate: lr > 0 or a schedule (default 0.002).
        beta_1, beta_2: b1, b2 in [0, 1) (defaults 0.9, 0.999).
        epsilon: eps > 0 (default 1e-7).
        clipnorm, clipvalue: gradient clipping (see Optimizer).

    Example:
        >>> opt = AdaMax(learning_rate=0.002)
        >>> opt.step(model.params, model.grads)
    """

    kernel = "adamax_step"
    slots = ("m", "u")

    def __init__(self, learning_rate=0.002, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                 clipnorm=None, clipvalue=None):
        super().__init__(learning_rate, beta_1, beta_2, epsilon, clipnorm, clipvalue)

    def _scalars(self, lr):
        lr_t = lr / (1.0 - self.beta_1 ** self.t)
        return (lr_t, self.beta_1, self.beta_2, self.epsilon)


class Nadam(_AdamFamily):
    """Nadam (Dozat): Adam with Nesterov momentum, with the momentum schedule
    mu_t of torch.optim.NAdam.

        m_0 = 0, v_0 = 0, P_0 = 1
        for t = 1, 2, ...:
            mu_t     = b1 (1 - 0.5 * 0.96^(t * momentum_decay))
            mu_{t+1} = b1 (1 - 0.5 * 0.96^((t + 1) * momentum_decay))
            P_t      = P_{t-1} mu_t
            m <- b1 m + (1 - b1) g_t
            v <- b2 v + (1 - b2) g_t^2
            d = sqrt(v / (1 - b2^t)) + eps
            p <- p - lr (1 - mu_t) / (1 - P_t) g_t / d
                   - lr mu_{t+1} / (1 - P_t mu_{t+1}) m / d

    P_t is carried from step to step (``mu_product``, saved by state_dict).

    Args:
        learning_rate: lr > 0 or a schedule (default 0.002).
        beta_1, beta_2: b1, b2 in [0, 1) (defaults 0.9, 0.999).
        epsilon: eps > 0 (default 1e-7).
        momentum_decay: >= 0 (default 0.004).
        clipnorm, clipvalue: gradient clipping (see Optimizer).

    Example:
        >>> opt = Nadam(learning_rate=0.002)
        >>> opt.step(model.params, model.grads)
    """

    kernel = "nadam_step"
    hyper = ("beta_1", "beta_2", "epsilon", "momentum_decay")
    scalar_state = ("mu_product",)

    def __init__(self, learning_rate=0.002, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                 momentum_decay=0.004, clipnorm=None, clipvalue=None):
        super().__init__(learning_rate, beta_1, beta_2, epsilon, clipnorm, clipvalue)
        self.momentum_decay = _non_negative(momentum_decay, self.name, "momentum_decay")
        self.mu_product = 1.0

    def _mu(self, t):
        return self.beta_1 * (1.0 - 0.5 * 0.96 ** (t * self.momentum_decay))

    def _scalars(self, lr):
        mu, mu_next = self._mu(self.t), self._mu(self.t + 1)
        self.mu_product *= mu
        coef_g = lr * (1.0 - mu) / (1.0 - self.mu_product)
        coef_m = lr * mu_next / (1.0 - self.mu_product * mu_next)
        bc2 = 1.0 - self.beta_2 ** self.t
        return (coef_g, coef_m, self.beta_1, self.beta_2, bc2, self.epsilon)


class AdamW(_AdamFamily):
    """AdamW (Loshchilov & Hutter): Adam with decoupled weight decay; the decay
    shrinks p directly instead of entering the gradient and its moments.

        m_0 = 0, v_0 = 0
        for t = 1, 2, ...:
            m <- b1 m + (1 - b1) g_t
            v <- b2 v + (1 - b2) g_t^2
            m_hat = m / (1 - b1^t),  v_hat = v / (1 - b2^t)
            p <- p - lr (m_hat / (sqrt(v_hat) + eps) + wd p)

    Args:
        learning_rate: lr > 0 or a schedule (default 0.001).
        beta_1, beta_2: b1, b2 in [0, 1) (defaults 0.9, 0.999).
        epsilon: eps > 0 (default 1e-8).
        weight_decay: wd >= 0 (default 0.01).
        clipnorm, clipvalue: gradient clipping (see Optimizer).

    Example:
        >>> opt = AdamW(learning_rate=1e-3, weight_decay=0.01)
        >>> opt.step(model.params, model.grads)
    """

    kernel = "adamw_step"
    hyper = ("beta_1", "beta_2", "epsilon", "weight_decay")

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-8,
                 weight_decay=0.01, clipnorm=None, clipvalue=None):
        super().__init__(learning_rate, beta_1, beta_2, epsilon, clipnorm, clipvalue)
        self.weight_decay = _non_negative(weight_decay, self.name, "weight_decay")

    def _scalars(self, lr):
        bc1, bc2 = self._bias_corrections()
        return (lr, self.beta_1, self.beta_2, self.epsilon, self.weight_decay, bc1, bc2)


class RAdam(_AdamFamily):
    """Rectified Adam (Liu et al.): plain momentum while the variance of the
    adaptive rate is intractable (early steps), then Adam with a rectification
    factor r_t.  The form of torch.optim.RAdam:

        m_0 = 0, v_0 = 0, rho_inf = 2 / (1 - b2) - 1
        for t = 1, 2, ...:
            m <- b1 m + (1 - b1) g_t
            v <- b2 v + (1 - b2) g_t^2
            m_hat = m / (1 - b1^t)
            rho_t = rho_inf - 2 t b2^t / (1 - b2^t)
            if rho_t > 5:
                r_t = sqrt((rho_t - 4)(rho_t - 2) rho_inf / ((rho_inf - 4)(rho_inf - 2) rho_t))
                p <- p - lr r_t m_hat sqrt(1 - b2^t) / (sqrt(v) + eps)

    (epsilon is added to sqrt(v) before the bias correction sqrt(1 - b2^t), as torch
    does, not to sqrt(v_hat) as in Adam.)
            else:
                p <- p - lr m_hat

    Args:
        learning_rate: lr > 0 or a schedule (default 0.001).
        beta_1, beta_2: b1, b2 in [0, 1) (defaults 0.9, 0.999).
        epsilon: eps > 0 (default 1e-8).
        clipnorm, clipvalue: gradient clipping (see Optimizer).

    Example:
        >>> opt = RAdam(learning_rate=1e-3)
        >>> opt.step(model.params, model.grads)
    """

    kernel = "radam_step"

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-8,
                 clipnorm=None, clipvalue=None):
        super().__init__(learning_rate, beta_1, beta_2, epsilon, clipnorm, clipvalue)

    def _scalars(self, lr):
        bc1, bc2 = self._bias_corrections()
        b2, t = self.beta_2, self.t
        rho_inf = 2.0 / (1.0 - b2) - 1.0
        rho_t = rho_inf - 2.0 * t * b2 ** t / bc2
        rect = 0.0
        if rho_t > 5.0:
            rect = math.sqrt((rho_t - 4.0) * (rho_t - 2.0) * rho_inf
                             / ((rho_inf - 4.0) * (rho_inf - 2.0) * rho_t))
        return (lr, self.beta_1, self.beta_2, self.epsilon, bc1, bc2, rect)


class Lion(Optimizer):
    """Lion (Chen et al., "Symbolic Discovery of Optimization Algorithms"): the
    sign of an interpolated momentum, so every element moves by exactly lr
    (plus the decoupled weight decay).

        m_0 = 0
        for t = 1, 2, ...:
            c = b1 m + (1 - b1) g_t
            p <- p - lr (sign(c) + wd p)
            m <- b2 m + (1 - b2) g_t

    Args:
        learning_rate: lr > 0 or a schedule (default 1e-4; typically 3-10x
            smaller than Adam's).
        beta_1, beta_2: b1, b2 in [0, 1) (defaults 0.9, 0.99).
        weight_decay: wd >= 0 (default 0.0).
        clipnorm, clipvalue: gradient clipping (see Optimizer).

    Example:
        >>> opt = Lion(learning_rate=1e-4, weight_decay=0.1)
        >>> opt.step(model.params, model.grads)
    """

    kernel = "lion_step"
    slots = ("m",)
    hyper = ("beta_1", "beta_2", "weight_decay")

    def __init__(self, learning_rate=1e-4, beta_1=0.9, beta_2=0.99, weight_decay=0.0,
                 clipnorm=None, clipvalue=None):
        super().__init__(learning_rate, clipnorm, clipvalue)
        self.beta_1 = _fraction(beta_1, self.name, "beta_1")
        self.beta_2 = _fraction(beta_2, self.name, "beta_2")
        self.weight_decay = _non_negative(weight_decay, self.name, "weight_decay")

    def _scalars(self, lr):
        return (lr, self.beta_1, self.beta_2, self.weight_decay)


__all__ = ["Optimizer", "SGD", "Momentum", "GradientDescentWithMomentum",
           "NesterovAcceleratedGradient", "NAG", "AdaGrad", "RMSProp", "Adam", "AdaMax",
           "Nadam", "AdamW", "RAdam", "Lion"]
