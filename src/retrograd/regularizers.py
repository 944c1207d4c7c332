"""Weight regularizers (API.md, second part; textbook ch. 24, "regularização L1 e L2").

A regularizer adds a penalty on a layer's kernel to the training loss:

    penalty(W) = l1 sum |W| + l2 sum W^2,      d penalty / dW = l1 sign(W) + 2 l2 W

(sign(0) = 0, the subgradient PyTorch and Keras use).  ``Dense``, ``Conv2D`` and the
recurrent layers take ``kernel_regularizer=``; ``train_step`` and ``fit`` add every
penalty to the loss they report and its gradient to the kernel's gradient before the
optimizer step, as Keras does; ``evaluate`` reports the penalised loss too.  L2 with
``l2 = wd / 2`` is the weight decay of plain SGD.

Example:
    >>> Dense(64, 10, kernel_regularizer=L2(1e-4))
"""
import numpy as np

from ._validation import check_finite, fail

__all__ = ["Regularizer", "L1", "L2", "L1L2", "get"]


class Regularizer:
    """l1 sum |W| + l2 sum W^2 and its gradient l1 sign(W) + 2 l2 W.

    Args:
        l1, l2: the factors, finite and >= 0.
    """

    def __init__(self, l1=0.0, l2=0.0):
        self.l1 = check_finite(l1, type(self).__name__, "l1", low=0.0)
        self.l2 = check_finite(l2, type(self).__name__, "l2", low=0.0)

    def __call__(self, weights):
        return self.penalty(weights)

    def penalty(self, weights):
        """The penalty of ``weights`` (a float, summed in float64)."""
        total = 0.0
        if self.l1:
            total += self.l1 * float(np.sum(np.abs(weights), dtype=np.float64))
        if self.l2:
            total += self.l2 * float(np.sum(np.square(weights, dtype=np.float64)))
        return total

    def add_gradient(self, weights, grad):
        """grad += l1 sign(W) + 2 l2 W, in place, in grad's dtype."""
        if self.l1:
            grad += grad.dtype.type(self.l1) * np.sign(weights)
        if self.l2:
            grad += grad.dtype.type(2 * self.l2) * weights

    def get_config(self):
        return {"l1": self.l1, "l2": self.l2}

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class L1(Regularizer):
    """L1 penalty l1 sum |W| (default l1 = 0.01): drives weights to exactly zero."""

    def __init__(self, l1=0.01):
        super().__init__(l1=l1)

    def get_config(self):
        return {"l1": self.l1}


class L2(Regularizer):
    """L2 penalty l2 sum W^2 (default l2 = 0.01): weight decay."""

    def __init__(self, l2=0.01):
        super().__init__(l2=l2)

    def get_config(self):
        return {"l2": self.l2}


class L1L2(Regularizer):
    """Both penalties, l1 sum |W| + l2 sum W^2 (defaults 0.0 and 0.0)."""


_BY_NAME = {"l1": L1, "l2": L2, "l1_l2": L1L2, "L1": L1, "L2": L2, "L1L2": L1L2}


def get(value, owner):
    """A layer's ``kernel_regularizer=``: None, a Regularizer, a name ("l1", "l2",
    "l1_l2" with default factors) or a saved {"class_name", "config"} dict."""
    if value is None or isinstance(value, Regularizer):
        return value
    if isinstance(value, str) and value in _BY_NAME:
        return _BY_NAME[value]()
    if (isinstance(value, dict) and set(value) == {"class_name", "config"}
            and value["class_name"] in ("L1", "L2", "L1L2") and isinstance(value["config"], dict)):
        try:
            return _BY_NAME[value["class_name"]](**value["config"])
        except TypeError:
            fail(owner, "a kernel_regularizer configuration of L1, L2 or L1L2", value)
    fail(owner, "kernel_regularizer None, a retrograd.regularizers.Regularizer or one of "
         "'l1', 'l2', 'l1_l2'", value, TypeError)


def config_of(regularizer):
    """The JSON form ``get`` reads back."""
    if regularizer is None:
        return None
    return {"class_name": type(regularizer).__name__, "config": regularizer.get_config()}
