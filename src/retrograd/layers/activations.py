"""Activation layers.  Each docstring gives the function and its derivative.

Element-wise activations share one mechanism (``ElementwiseActivation``): the
layer validates its input, keeps the input z and output s, and calls the
kernels ``ops.<kernel>_forward(z, *hyper)`` and
``ops.<kernel>_backward(g, z, s, *hyper)``.
"""
import numpy as np

from .._validation import as_float_array, check_finite, fail
from ..backend import ops
from .base import Layer


class ElementwiseActivation(Layer):
    """Base of element-wise activations: any input shape with a batch axis."""

    kernel = None  # name of the ops kernel pair

    def __init__(self, dtype=np.float32):
        super().__init__(dtype)
        self._cache = None

    def hyper(self):
        """Hyper-parameters passed to the kernels, in kernel order."""
        return ()

    def _check(self, input_data):
        x = as_float_array(input_data, self.name, self.dtype)
        if x.ndim < 1 or x.shape[0] == 0:
            fail(self.name, "a non-empty batch (N, ...)", f"shape {x.shape}")
        return x

    def forward(self, input_data):
        x = self._check(input_data)
        y = getattr(ops, f"{self.kernel}_forward")(x, *self.hyper())
        self._cache = (x, y)
        return y

    def backward(self, grad_output):
        x, y = self._require_forward(self._cache)
        grad = self._check_grad(grad_output, x)
        return getattr(ops, f"{self.kernel}_backward")(grad, x, y, *self.hyper()), None


class ReLU(ElementwiseActivation):
    """Rectified linear unit: s = max(0, z);  ds/dz = 1 if z > 0 else 0 (0 at z = 0).

    Example:
        >>> ReLU().forward(np.array([[-1.0, 2.0]]))
        array([[0., 2.]], dtype=float32)
    """

    kernel = "relu"


class LeakyReLU(ElementwiseActivation):
    """s = z if z > 0 else alpha z;  ds/dz = 1 if z > 0 else alpha (alpha at z = 0).

    Example:
        >>> LeakyReLU(alpha=0.1).forward(np.array([[-1.0, 2.0]]))
        array([[-0.1,  2. ]], dtype=float32)
    """

    kernel = "leaky_relu"

    def __init__(self, alpha=0.01, dtype=np.float32):
        super().__init__(dtype)
        self.alpha = check_finite(alpha, self.name, "alpha")

    def hyper(self):
        return (self.alpha,)

    def get_config(self):
        return {"alpha": self.alpha, **super().get_config()}


class Sigmoid(ElementwiseActivation):
    """Logistic sigmoid: s = 1 / (1 + e^-z);  ds/dz = s (1 - s).

    Evaluated without overflow for any finite z (e^-|z| only).

    Example:
        >>> Sigmoid().forward(np.array([[0.0]]))
        array([[0.5]], dtype=float32)
    """

    kernel = "sigmoid"
