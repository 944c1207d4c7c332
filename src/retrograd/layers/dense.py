"""Dense (fully connected) layer."""
import numpy as np

from .._validation import (as_float_array, check_allocation, check_input, check_positive_int,
                           check_seed, fail, shape_only)
from .. import regularizers
from ..backend import ops
from ..initializers import initialize
from .base import Layer


class Dense(Layer):
    """Fully connected layer: y = x W + b (on the last axis of an input of any rank >= 2).

    Derivatives (lecture on backpropagation):
        dL/dx = dL/dy W^T,   dL/dW = x^T dL/dy,   dL/db = sum over the batch of dL/dy.

    Args:
        input_size: features per sample (in).
        output_size: units (out).
        weight_init: "he_uniform" (default), "he_normal", "glorot_uniform",
            "glorot_normal", "lecun_normal" or "zeros"; biases start at zero.
        seed: seed of the initialiser (same seed, same weights).
        kernel_regularizer: None (default), a ``retrograd.regularizers`` L1 / L2 / L1L2 or
            "l1", "l2", "l1_l2": a penalty on the weights added to the training loss.
        name: the layer's name (default: an automatic unique one).
        dtype: float32 (default) or float64.

    Shapes: input (N, in) -> output (N, out), or (N, ..., in) -> (N, ..., out) (a sequence
    (N, T, in) is one row per time step); params [weights (in, out), biases (out,)].
    The input may be any float array or a list of numbers (see Layer for the dtype policy).

    Example:
        >>> layer = Dense(64, 10, seed=0)
        >>> layer.forward(np.zeros((5, 64), np.float32)).shape
        (5, 10)
    """

    param_names = ("weights", "biases")

    def __init__(self, input_size, output_size, weight_init="he_uniform", dtype=np.float32,
                 seed=None, kernel_regularizer=None, name=None):
        super().__init__(dtype, name)
        self.kernel_regularizer = regularizers.get(kernel_regularizer, self.owner)
        self.input_size = check_positive_int(input_size, self.owner, "input_size")
        self.output_size = check_positive_int(output_size, self.owner, "output_size")
        self.weight_init = weight_init
        self.seed = check_seed(seed, self.owner)
        check_allocation((self.input_size, self.output_size), self.dtype, self.owner, "weights")
        self.weights = initialize(weight_init, (self.input_size, self.output_size),
                                  self.input_size, self.output_size, self.dtype, seed, self.owner)
        self.biases = np.zeros(self.output_size, dtype=self.dtype)
        self.params = [self.weights, self.biases]
        self.grads = [np.zeros_like(self.weights), np.zeros_like(self.biases)]

    def forward(self, input_data):
        x = as_float_array(input_data, self.owner, self.dtype)
        rank = max(x.ndim, 2)
        x = check_input(x, self.owner, self.dtype, ndim=rank, last_dim=self.input_size,
                        shape_text=f"(N, {self.input_size})" if rank == 2
                        else f"(N, ..., {self.input_size})")
        out_shape = x.shape[:-1] + (self.output_size,)
        check_allocation(out_shape, self.dtype, self.owner, "an output")
        self._cache = x
        rows = x.reshape(-1, self.input_size)
        return ops.dense_forward(rows, self.weights, self.biases).reshape(out_shape)

    def backward(self, grad_output):
        return self._backward(grad_output, True)

    def _backward(self, grad_output, input_grad):
        x = self._require_forward(self._cache)
        grad = self._check_grad(grad_output, shape_only(x.shape[:-1] + (self.output_size,)))
        dx, dw, db = ops.dense_backward(grad.reshape(-1, self.output_size),
                                        x.reshape(-1, self.input_size), self.weights,
                                        input_grad=input_grad)
        self.grads[0][...] = dw
        self.grads[1][...] = db
        return (dx.reshape(x.shape) if dx is not None else None), self.grads

    def get_config(self):
        return {"input_size": self.input_size, "output_size": self.output_size,
                "weight_init": self.weight_init, **super().get_config()}

    def output_shape(self, input_shape):
        shape = tuple(input_shape)
        if not shape or shape[-1] != self.input_size:
            fail(self.owner, f"an input shape (..., {self.input_size})", shape)
        return shape[:-1] + (self.output_size,)
