"""Dense (fully connected) layer."""
import numpy as np

from .._validation import check_allocation, check_input, check_positive_int, check_seed
from ..backend import ops
from ..initializers import initialize
from .base import Layer


class Dense(Layer):
    """Fully connected layer: y = x W + b.

    Derivatives (lecture on backpropagation):
        dL/dx = dL/dy W^T,   dL/dW = x^T dL/dy,   dL/db = sum over the batch of dL/dy.

    Args:
        input_size: features per sample (in).
        output_size: units (out).
        weight_init: "he_uniform" (default), "he_normal", "glorot_uniform",
            "glorot_normal", "lecun_normal" or "zeros"; biases start at zero.
        seed: seed of the initialiser (same seed, same weights).
        dtype: float32 (default) or float64.

    Shapes: input (N, in) -> output (N, out); params [weights (in, out), biases (out,)].
    The input may be any float array or a list of numbers (see Layer for the dtype policy).

    Example:
        >>> layer = Dense(64, 10, seed=0)
        >>> layer.forward(np.zeros((5, 64), np.float32)).shape
        (5, 10)
    """

    def __init__(self, input_size, output_size, weight_init="he_uniform", dtype=np.float32,
                 seed=None):
        super().__init__(dtype)
        self.input_size = check_positive_int(input_size, self.name, "input_size")
        self.output_size = check_positive_int(output_size, self.name, "output_size")
        self.weight_init = weight_init
        self.seed = check_seed(seed, self.name)
        check_allocation((self.input_size, self.output_size), self.dtype, self.name, "weights")
        self.weights = initialize(weight_init, (self.input_size, self.output_size),
                                  self.input_size, self.output_size, self.dtype, seed, self.name)
        self.biases = np.zeros(self.output_size, dtype=self.dtype)
        self.params = [self.weights, self.biases]
        self.grads = [np.zeros_like(self.weights), np.zeros_like(self.biases)]
        self._input = None

    def forward(self, input_data):
        x = check_input(input_data, self.name, self.dtype, ndim=2, last_dim=self.input_size,
                        shape_text=f"(N, {self.input_size})")
        check_allocation((x.shape[0], self.output_size), self.dtype, self.name, "an output")
        self._input = x
        return ops.dense_forward(x, self.weights, self.biases)

    def backward(self, grad_output):
        return self._backward(grad_output, True)

    def _backward(self, grad_output, input_grad):
        x = self._require_forward(self._input)
        grad = self._check_grad(grad_output, np.empty((x.shape[0], self.output_size), bool))
        dx, dw, db = ops.dense_backward(grad, x, self.weights, input_grad=input_grad)
        self.grads[0][...] = dw
        self.grads[1][...] = db
        return dx, self.grads

    def get_config(self):
        return {"input_size": self.input_size, "output_size": self.output_size,
                "weight_init": self.weight_init, **super().get_config()}

    def output_shape(self, input_shape):
        return (self.output_size,)
