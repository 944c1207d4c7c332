"""Normalisation layers (textbook ch. 24; API.md, second part, "Normalisation and
regularisation")."""

import numpy as np

from .._validation import (as_float_array, check_allocation, check_finite, check_input,
                           check_positive_int, fail, shape_only)
from ..backend import ops
from .base import Layer


class _Normalization(Layer):
    """Shared by BatchNormalization and LayerNormalization: gamma and beta over the
    last axis, an input (N, ..., C) of rank >= 2, the kernels working on the
    (rows, C) view of it."""

    param_names = ("gamma", "beta")

    def _init_affine(self, size, epsilon):
        self.epsilon = check_finite(epsilon, self.owner, "epsilon", low=0.0, low_open=True)
        check_allocation((size,), self.dtype, self.owner, "gamma")
        self.gamma = np.ones(size, self.dtype)
        self.beta = np.zeros(size, self.dtype)
        self.params = [self.gamma, self.beta]
        self.grads = [np.zeros_like(self.gamma), np.zeros_like(self.beta)]

    def _rows(self, input_data):
        """The input as (rows, C), and its own shape."""
        x = as_float_array(input_data, self.owner, self.dtype)
        size = self.gamma.shape[0]
        text = f"(N, ..., {size})"
        if x.ndim < 2:
            fail(self.owner, f"input of shape {text}", x.shape)
        x = check_input(x, self.owner, self.dtype, x.ndim, last_dim=size, shape_text=text)
        return np.ascontiguousarray(x).reshape(-1, size), x.shape

    def _grad_rows(self, grad_output, shape):
        grad = self._check_grad(grad_output, shape_only(shape))
        return np.ascontiguousarray(grad).reshape(-1, shape[-1])

    def output_shape(self, input_shape):
        shape = tuple(input_shape)
        if not shape or shape[-1] != self.gamma.shape[0]:
            fail(self.owner, f"an input shape (..., {self.gamma.shape[0]})", shape)
        return shape


class BatchNormalization(_Normalization):
    """Batch normalisation (Ioffe & Szegedy 2015; textbook ch. 24) over the last axis C,
    statistics over every other axis (NHWC images, (N, C) rows, (N, T, C) sequences):

        training:  mu_B = mean x,  var_B = mean (x - mu_B)^2 (biased), per channel, over
                   the n = N*H*W values of that channel;
                   y = gamma (x - mu_B) / sqrt(var_B + eps) + beta;
                   moving_mean = momentum moving_mean + (1 - momentum) mu_B,
                   moving_var = momentum moving_var + (1 - momentum) var_B n / (n - 1)
        evaluation: y = gamma (x - moving_mean) / sqrt(moving_var + eps) + beta

    (torch.nn.BatchNorm2d with torch's momentum = 1 - momentum.)  Backward is the exact
    gradient of the formula in force; in training, with x_hat = (x - mu_B)/sqrt(var_B + eps):

        dL/dbeta = sum dy,   dL/dgamma = sum dy x_hat,
        dL/dx = gamma / (n sqrt(var_B + eps)) (n dy - dL/dbeta - x_hat dL/dgamma).

    Training needs n >= 2 values per channel (the unbiased variance of one value is
    undefined): a batch of one 1x1 image raises ValueError, as PyTorch does.

    Args:
        num_features: C, the size of the last axis.
        momentum: in [0, 1] (default 0.9): the weight of the old moving statistics.
        epsilon: > 0 (default 1e-5), added to the variance.
        dtype: float32 (default) or float64; name: the layer's name.

    Shapes: input (N, ..., C) -> same shape.  params [gamma (C,) = 1, beta (C,) = 0];
    state [moving_mean (C,) = 0, moving_var (C,) = 1].

    Example:
        >>> bn = BatchNormalization(16)
        >>> bn.forward(np.random.rand(8, 4, 4, 16)).shape
        (8, 4, 4, 16)
    """

    state_names = ("moving_mean", "moving_var")

    def __init__(self, num_features, momentum=0.9, epsilon=1e-5, dtype=np.float32, name=None):
        super().__init__(dtype, name)
        self.num_features = check_positive_int(num_features, self.owner, "num_features")
        self.momentum = check_finite(momentum, self.owner, "momentum", low=0.0, high=1.0)
        self._init_affine(self.num_features, epsilon)
        self.moving_mean = np.zeros(self.num_features, self.dtype)
        self.moving_var = np.ones(self.num_features, self.dtype)
        self.state = [self.moving_mean, self.moving_var]

    def forward(self, input_data):
        rows, shape = self._rows(input_data)
        n = rows.shape[0]
        if not self.training:
            y = ops.batch_norm_forward_eval(rows, self.gamma, self.beta, self.moving_mean,
                                            self.moving_var, self.epsilon)
            self._cache = (rows, shape, None, None)
            return y.reshape(shape)
        if n < 2:
            fail(self.owner, "more than 1 value per channel in training (N * H * W >= 2)",
                 shape)
        y, mean, var = ops.batch_norm_forward_train(rows, self.gamma, self.beta, self.epsilon)
        m = self.dtype.type(self.momentum)
        self.moving_mean[...] = m * self.moving_mean + (1 - m) * mean
        self.moving_var[...] = m * self.moving_var + (1 - m) * var * self.dtype.type(n / (n - 1))
        inv_std = (1 / np.sqrt(var.astype(np.float64) + self.epsilon)).astype(self.dtype)
        self._cache = (rows, shape, mean, inv_std)
        return y.reshape(shape)

    def backward(self, grad_output):
        rows, shape, mean, inv_std = self._require_forward(self._cache)
        dy = self._grad_rows(grad_output, shape)
        if mean is None:  # evaluation: y = x scale + shift with the moving statistics
            inv_std = (1 / np.sqrt(self.moving_var.astype(np.float64) + self.epsilon))
            mean, inv_std = self.moving_mean, inv_std.astype(self.dtype)
            dx, dgamma, dbeta = ops.batch_norm_backward_eval(dy, rows, mean, inv_std,
                                                             self.gamma)
        else:
            dx, dgamma, dbeta = ops.batch_norm_backward(dy, rows, mean, inv_std, self.gamma)
        self.grads[0][...] = dgamma
        self.grads[1][...] = dbeta
        return dx.reshape(shape), self.grads

    def get_config(self):
        return {"num_features": self.num_features, "momentum": self.momentum,
                "epsilon": self.epsilon, **super().get_config()}


class LayerNormalization(_Normalization):
    """Layer normalisation (Ba, Kiros & Hinton 2016; textbook ch. 24): each sample's last
    axis is normalised on its own, so training and evaluation compute the same:

        mu = mean_j x_j,  var = mean_j (x_j - mu)^2 (biased),  x_hat = (x - mu)/sqrt(var + eps)
        y = gamma x_hat + beta
        dL/dx = inv_std / D (D g - sum_j g_j - x_hat sum_j g_j x_hat_j),  g = dy gamma,
        dL/dgamma = sum over rows of dy x_hat,  dL/dbeta = sum over rows of dy

    (torch.nn.LayerNorm(normalized_size, eps=epsilon)).

    Args:
        normalized_size: D, the size of the last axis.
        epsilon: > 0 (default 1e-5).
        dtype: float32 (default) or float64; name: the layer's name.

    Shapes: input (N, ..., D) -> same shape; params [gamma (D,) = 1, beta (D,) = 0].

    Example:
        >>> LayerNormalization(8).forward(np.random.rand(2, 5, 8)).shape
        (2, 5, 8)
    """

    def __init__(self, normalized_size, epsilon=1e-5, dtype=np.float32, name=None):
        super().__init__(dtype, name)
        self.normalized_size = check_positive_int(normalized_size, self.owner,
                                                  "normalized_size")
        self._init_affine(self.normalized_size, epsilon)

    def forward(self, input_data):
        rows, shape = self._rows(input_data)
        y, mean, inv_std = ops.layer_norm_forward(rows, self.gamma, self.beta, self.epsilon)
        self._cache = (rows, shape, mean, inv_std)
        return y.reshape(shape)

    def backward(self, grad_output):
        rows, shape, mean, inv_std = self._require_forward(self._cache)
        dy = self._grad_rows(grad_output, shape)
        dx, dgamma, dbeta = ops.layer_norm_backward(dy, rows, mean, inv_std, self.gamma)
        self.grads[0][...] = dgamma
        self.grads[1][...] = dbeta
        return dx.reshape(shape), self.grads

    def get_config(self):
        return {"normalized_size": self.normalized_size, "epsilon": self.epsilon,
                **super().get_config()}
