"""Optimizers (API.md, "Optimizers").

``opt.step(params, grads)`` takes lists of groups, one group (a list of arrays)
per layer with parameters, exactly as ``model.params`` / ``model.grads`` give
them, and updates the parameter arrays in place, so the layers see the new
values without any copying back.

State (velocities, moment estimates...) lives per array, keyed by its position
(group index, index in the group): positions stay valid while the model is the
same, whereas ids of temporary arrays can be reused by Python.  ``t`` counts
the steps taken, from 1 at the first update.
"""
import numpy as np

from ._validation import check_finite, fail


class Optimizer:
    """Base class: validates the ``step`` arguments, counts steps and keeps the
    per-array state; a subclass writes the update of one array in
    ``_update(param, grad, state)``.

    Args:
        learning_rate: step size, a finite number > 0.

    A subclass with state fills ``state`` (a dict, empty at the first step of
    that array) with arrays shaped like the parameter, e.g.
    ``state.setdefault("velocity", np.zeros_like(param))``.
    """

    def __init__(self, learning_rate):
        self.learning_rate = check_finite(learning_rate, self.name, "learning_rate", low=0.0,
                                          low_open=True)
        self.t = 0
        self.state = {}

    @property
    def name(self):
        return type(self).__name__

    def step(self, params, grads):
        """Update every array of ``params`` in place with the matching array of
        ``grads``; both are lists of groups of the same structure."""
        pairs = self._pairs(params, grads)
        self.t += 1
        for key, param, grad in pairs:
            self._update(param, grad, self.state.setdefault(key, {}))

    def _update(self, param, grad, state):
        raise NotImplementedError(f"{self.name} does not implement _update")

    def _pairs(self, params, grads):
        """Check that ``params`` and ``grads`` have the same structure (before
        anything is modified, so a bad call leaves the model untouched)."""
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
                if not isinstance(param, np.ndarray) or param.dtype.kind != "f":
                    fail(self.name, f"params[{i}][{j}] a floating-point ndarray",
                         type(param).__name__ if not isinstance(param, np.ndarray)
                         else f"dtype {param.dtype}", TypeError)
                if not param.flags.writeable:
                    fail(self.name, f"params[{i}][{j}] a writeable array", "a read-only array")
                grad = np.asarray(grad)
                if grad.shape != param.shape:
                    fail(self.name, f"grads[{i}][{j}] of shape {param.shape}",
                         f"shape {grad.shape}")
                if grad.dtype.kind != "f":
                    fail(self.name, f"grads[{i}][{j}] floating-point", f"dtype {grad.dtype}",
                         TypeError)
                pairs.append(((i, j), param, grad.astype(param.dtype, copy=False)))
        return pairs

    def get_config(self):
        """Hyper-parameters that rebuild this optimizer (JSON-serialisable)."""
        return {"learning_rate": self.learning_rate}

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{self.name}({args})"


class SGD(Optimizer):
    """Stochastic gradient descent: p <- p - lr g.

    Args:
        learning_rate: step size lr > 0 (default 0.01).

    Example:
        >>> opt = SGD(learning_rate=0.1)
        >>> opt.step(model.params, model.grads)   # after model.backward(...)
    """

    def __init__(self, learning_rate=0.01):
        super().__init__(learning_rate)

    def _update(self, param, grad, state):
        # lr in the parameter's dtype, so a float32 model stays float32 and the
        # result is exactly p - lr * g computed in that dtype.
        param -= param.dtype.type(self.learning_rate) * grad
