"""Pooling layers (NHWC): max and average over windows, and over the whole image."""
import numpy as np

from .._validation import MAX_INDEX, check_bool, check_input, fail, shape_only, to_positive_pair
from ..backend import ops
from .base import Layer

_IMAGE = "(N, H, W, C)"


class _Pooling2D(Layer):
    """Shared by MaxPooling2D and AveragePooling2D: pool_size and stride (int or
    pair, stride defaulting to pool_size), no padding, so
    OH = floor((H - ph) / sh) + 1 and OW = floor((W - pw) / sw) + 1.  A window has
    at most 2**31 - 1 positions (max pooling keeps int32 positions)."""

    def __init__(self, pool_size=(2, 2), stride=None, dtype=np.float32, name=None):
        super().__init__(dtype, name)
        self.pool_size = to_positive_pair(pool_size, self.owner, "pool_size")
        if self.pool_size[0] * self.pool_size[1] > MAX_INDEX:
            fail(self.owner, f"pool_size with at most {MAX_INDEX} positions (int32 indices)",
                 pool_size)
        self.stride = (self.pool_size if stride is None
                       else to_positive_pair(stride, self.owner, "stride"))

    def _check(self, input_data):
        x = check_input(input_data, self.owner, self.dtype, ndim=4, shape_text=_IMAGE)
        self._output_hw(x.shape[1:3], x.shape)
        return x

    def _output_hw(self, hw, got):
        (ph, pw), (sh, sw) = self.pool_size, self.stride
        if hw[0] < ph or hw[1] < pw:
            fail(self.owner, f"an input at least as large as pool_size {self.pool_size} "
                            f"in height and width {_IMAGE}", got)
        return ((hw[0] - ph) // sh + 1, (hw[1] - pw) // sw + 1)

    def get_config(self):
        return {"pool_size": self.pool_size, "stride": self.stride, **super().get_config()}

    def output_shape(self, input_shape):
        shape = tuple(input_shape)
        if len(shape) != 3:
            fail(self.owner, "an input shape (H, W, C)", shape)
        return self._output_hw(shape[:2], shape) + (shape[2],)


class MaxPooling2D(_Pooling2D):
    """Max pooling: y[n, i, j, c] = max_{p < ph, q < pw} x[n, i*sh + p, j*sw + q, c].

    Derivative: dL/dx[n, i*sh + p, j*sw + q, c] += dL/dy[n, i, j, c] at the (p, q) of the
    first maximum of the window in row-major order (ties go to the first, as PyTorch),
    0 elsewhere; overlapping windows (stride < pool_size) add up.

    Args:
        pool_size: (ph, pw), or an int for both; default (2, 2).
        stride: (sh, sw), or an int; default pool_size (windows side by side).
        dtype: float32 (default) or float64.

    Shapes: input (N, H, W, C) -> output (N, OH, OW, C), OH = floor((H - ph) / sh) + 1.

    Example:
        >>> MaxPooling2D(2).forward(np.arange(16.0).reshape(1, 4, 4, 1)).ravel()
        array([ 5.,  7., 13., 15.], dtype=float32)
    """

    def forward(self, input_data):
        x = self._check(input_data)
        y, indices = ops.maxpool2d_forward(x, self.pool_size, self.stride)
        self._cache = (indices, x.shape)
        return y

    def backward(self, grad_output):
        indices, input_shape = self._require_forward(self._cache)
        grad = self._check_grad(grad_output, indices)
        return ops.maxpool2d_backward(grad, indices, input_shape, self.pool_size,
                                      self.stride), None


class AveragePooling2D(_Pooling2D):
    """Average pooling: y[n, i, j, c] = 1/(ph pw) sum_{p < ph, q < pw} x[n, i*sh + p, j*sw + q, c].

    Derivative: dL/dx[n, i*sh + p, j*sw + q, c] += dL/dy[n, i, j, c] / (ph pw) for every
    window containing the input (overlapping windows add up).

    Args:
        pool_size: (ph, pw), or an int for both; default (2, 2).
        stride: (sh, sw), or an int; default pool_size.
        dtype: float32 (default) or float64.

    Shapes: input (N, H, W, C) -> output (N, OH, OW, C), OH = floor((H - ph) / sh) + 1.

    Example:
        >>> AveragePooling2D(2).forward(np.arange(16.0).reshape(1, 4, 4, 1)).ravel()
        array([ 2.5,  4.5, 10.5, 12.5], dtype=float32)
    """

    def forward(self, input_data):
        x = self._check(input_data)
        y = ops.avgpool2d_forward(x, self.pool_size, self.stride)
        self._cache = (x.shape, y.shape)
        return y

    def backward(self, grad_output):
        input_shape, output_shape = self._require_forward(self._cache)
        grad = self._check_grad(grad_output, shape_only(output_shape))
        return ops.avgpool2d_backward(grad, input_shape, self.pool_size, self.stride), None


class _GlobalPooling2D(Layer):
    """Shared by the global poolings: one value per image and channel, (N, C), or
    (N, 1, 1, C) with keepdims."""

    def __init__(self, keepdims=False, dtype=np.float32, name=None):
        super().__init__(dtype, name)
        self.keepdims = check_bool(keepdims, self.owner, "keepdims")

    def _check(self, input_data):
        return check_input(input_data, self.owner, self.dtype, ndim=4, shape_text=_IMAGE)

    def _shape_output(self, y):
        return y[:, None, None, :] if self.keepdims else y

    def _flat_grad(self, grad_output, input_shape):
        """The upstream gradient, checked against the output shape, as (N, C)."""
        n, c = input_shape[0], input_shape[3]
        expected = (n,) + self.output_shape(input_shape[1:])
        return self._check_grad(grad_output, shape_only(expected)).reshape(n, c)

    def get_config(self):
        return {"keepdims": self.keepdims, **super().get_config()}

    def output_shape(self, input_shape):
        shape = tuple(input_shape)
        if len(shape) != 3:
            fail(self.owner, "an input shape (H, W, C)", shape)
        return (1, 1, shape[2]) if self.keepdims else (shape[2],)


class GlobalAveragePooling2D(_GlobalPooling2D):
    """Global average pooling: y[n, c] = 1/(H W) sum_{h, w} x[n, h, w, c].

    Derivative: dL/dx[n, h, w, c] = dL/dy[n, c] / (H W).

    Args:
        keepdims: False (default): output (N, C); True: (N, 1, 1, C).
        dtype: float32 (default) or float64.

    Shapes: input (N, H, W, C) -> output (N, C) or (N, 1, 1, C).

    Example:
        >>> GlobalAveragePooling2D().forward(np.arange(8.0).reshape(1, 2, 2, 2))
        array([[3., 4.]], dtype=float32)
    """

    def forward(self, input_data):
        x = self._check(input_data)
        self._cache = x.shape
        return self._shape_output(ops.global_avgpool_forward(x))

    def backward(self, grad_output):
        input_shape = self._require_forward(self._cache)
        grad = self._flat_grad(grad_output, input_shape)
        return ops.global_avgpool_backward(grad, input_shape), None


class GlobalMaxPooling2D(_GlobalPooling2D):
    """Global max pooling: y[n, c] = max_{h, w} x[n, h, w, c].

    Derivative: dL/dx[n, h, w, c] = dL/dy[n, c] at the first maximum in row-major
    (h, w) order, 0 elsewhere.

    Args:
        keepdims: False (default): output (N, C); True: (N, 1, 1, C).
        dtype: float32 (default) or float64.

    Shapes: input (N, H, W, C) -> output (N, C) or (N, 1, 1, C); H W <= 2**31 - 1
    (positions are kept as int32).

    Example:
        >>> GlobalMaxPooling2D().forward(np.arange(8.0).reshape(1, 2, 2, 2))
        array([[6., 7.]], dtype=float32)
    """

    def forward(self, input_data):
        x = self._check(input_data)
        if x.shape[1] * x.shape[2] > MAX_INDEX:
            fail(self.owner, f"at most {MAX_INDEX} positions H * W per image (int32 indices)",
                 x.shape)
        y, indices = ops.global_maxpool_forward(x)
        self._cache = (indices, x.shape)
        return self._shape_output(y)

    def backward(self, grad_output):
        indices, input_shape = self._require_forward(self._cache)
        grad = self._flat_grad(grad_output, input_shape)
        return ops.global_maxpool_backward(grad, indices, input_shape), None
