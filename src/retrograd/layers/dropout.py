"""Dropout (inverted): random zeroing during training, identity in evaluation."""
import numbers

import numpy as np

from .._validation import as_float_array, check_seed, fail, shape_only
from ..backend import ops
from .base import Layer


class Dropout(Layer):
    """Inverted dropout (Srivastava et al. 2014, with the rescaling at training time):

        training:   y = x * m / (1 - rate),  m ~ Bernoulli(1 - rate) per element
        evaluation: y = x

    so E[y] = x in both modes and nothing changes at inference.  Derivative:
    dL/dx = dL/dy * m / (1 - rate) with the mask m of the forward pass (dL/dy in
    evaluation).

    Args:
        rate: probability of zeroing an element, a number with 0 <= rate < 1.
        seed: seed of the mask generator (same seed, same masks).
        dtype: float32 (default) or float64.

    Shapes: input (N, ...) -> output of the same shape.

    Example:
        >>> layer = Dropout(0.5, seed=0)
        >>> np.unique(layer.forward(np.ones((4, 4))))
        array([0., 2.], dtype=float32)
    """

    def __init__(self, rate, seed=None, dtype=np.float32, name=None):
        super().__init__(dtype, name)
        if not isinstance(rate, numbers.Real):
            fail(self.owner, "rate a number with 0 <= rate < 1", rate, TypeError)
        # NaN fails the comparison too.
        if isinstance(rate, bool) or not 0 <= rate < 1:
            fail(self.owner, "rate a number with 0 <= rate < 1", rate)
        self.rate = float(rate)
        self.seed = check_seed(seed, self.owner)
        self._rng = np.random.default_rng(seed)

    def forward(self, input_data):
        x = as_float_array(input_data, self.owner, self.dtype)
        if x.ndim < 1 or x.shape[0] == 0:
            fail(self.owner, "a non-empty batch (N, ...)", x.shape)
        if not self.training:
            self._cache = (x.shape, None)
            return x
        mask = self._rng.random(x.shape) >= self.rate
        self._cache = (x.shape, mask)
        return ops.dropout_forward(x, mask, 1.0 / (1.0 - self.rate))

    def backward(self, grad_output):
        shape, mask = self._require_forward(self._cache)
        grad = self._check_grad(grad_output, shape_only(shape))
        if mask is None:
            return grad, None
        return ops.dropout_backward(grad, mask, 1.0 / (1.0 - self.rate)), None

    def get_config(self):
        return {"rate": self.rate, "seed": self.seed, **super().get_config()}
