"""The NumPy reference kernels: clear, vectorised NumPy, one function per kernel.

Every function here has a twin of the same name and signature in
``native_ops``.  Conventions:
  * ``<f>_forward(x, *hyper) -> y`` and ``<f>_backward(dy, x, y, *hyper) -> dx``
    for element-wise activations (backward may use the input x, the output y or both);
  * inputs are never modified; outputs are new arrays of the input's dtype.
"""
import numpy as np


# ---- dense ---------------------------------------------------------------------------------
def dense_forward(x, weights, biases):
    """y = x W + b;  x (N, in), W (in, out), b (out,) -> y (N, out)."""
    return x @ weights + biases


def dense_backward(dy, x, weights):
    """dL/dx = dy W^T,  dL/dW = x^T dy,  dL/db = sum_n dy  ->  (dx, dW, db)."""
    return dy @ weights.T, x.T @ dy, dy.sum(axis=0)


# ---- element-wise activations -------------------------------------------------------------
def relu_forward(x):
    """s = max(0, z)."""
    return np.maximum(x, 0, dtype=x.dtype)


def relu_backward(dy, x, y):
    """ds/dz = 1 where z > 0, else 0 (0 at z = 0)."""
    return np.where(x > 0, dy, 0).astype(x.dtype, copy=False)


def leaky_relu_forward(x, alpha):
    """s = z if z > 0 else alpha z."""
    return np.where(x > 0, x, x * x.dtype.type(alpha))


def leaky_relu_backward(dy, x, y, alpha):
    """ds/dz = 1 if z > 0 else alpha."""
    return np.where(x > 0, dy, dy * x.dtype.type(alpha))


def sigmoid_forward(x):
    """s = 1 / (1 + e^-z), evaluated as e^z / (1 + e^z) for z < 0 so that no
    exponential overflows."""
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype, copy=False)


def sigmoid_backward(dy, x, y):
    """ds/dz = s (1 - s)."""
    return dy * y * (1 - y)
