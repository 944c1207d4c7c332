"""Flatten: images (or any batch of arrays) to rows of features."""
import math

import numpy as np

from .._validation import as_float_array, fail, shape_only
from .base import Layer


class Flatten(Layer):
    """Flattens every sample into one row, in NHWC (C-order) order:

        y[n, (h W + w) C + c] = x[n, h, w, c]      (any rank >= 2 likewise)

    Derivative: dL/dx is dL/dy reshaped back to x's shape (a permutation of
    entries, so the Jacobian is a permutation matrix).

    Args:
        dtype: float32 (default) or float64.

    Shapes: input (N, d1, ..., dk), k >= 1 -> output (N, d1 * ... * dk).

    Example:
        >>> Flatten().forward(np.zeros((2, 4, 4, 3))).shape
        (2, 48)
    """

    def forward(self, input_data):
        x = as_float_array(input_data, self.owner, self.dtype)
        if x.ndim < 2 or x.shape[0] == 0:
            fail(self.owner, "a non-empty batch of rank >= 2 (N, ...)", x.shape)
        self._cache = x.shape
        return x.reshape(x.shape[0], -1)

    def backward(self, grad_output):
        input_shape = self._require_forward(self._cache)
        n = input_shape[0]
        expected = shape_only((n, math.prod(input_shape[1:])))
        return self._check_grad(grad_output, expected).reshape(input_shape), None

    def output_shape(self, input_shape):
        shape = tuple(input_shape)
        if not shape:
            fail(self.owner, "an input shape with at least one axis", shape)
        return (math.prod(shape),)
