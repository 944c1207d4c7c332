"""2-D convolution layer (NHWC)."""
import numpy as np

from .._validation import (check_allocation, check_input, check_positive_int, check_seed, fail,
                           shape_only, to_pair, to_positive_pair)
from .. import regularizers
from ..backend import ops
from ..initializers import initialize
from .base import Layer

_PADDING_WORDS = ("valid", "same")


def _same_padding(size, kernel, stride):
    """(before, after) zero padding of "same": out = ceil(size / stride), and the
    total max((out - 1) stride + kernel - size, 0) split with the odd one after
    (bottom / right), as TensorFlow and Keras do."""
    out = -(-size // stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return (total // 2, total - total // 2)


class Conv2D(Layer):
    """2-D convolution (cross-correlation, no kernel flip, as every DL library) of NHWC
    images with F filters:

        y[n, i, j, f] = b[f] + sum_{c, p, q} xpad[n, i*sh + p, j*sw + q, c] K[f, c, p, q]

    where xpad is x with zero padding.  Derivatives, with g = dL/dy:
        dL/dK[f, c, p, q] = sum_{n, i, j} g[n, i, j, f] xpad[n, i*sh + p, j*sw + q, c]
        dL/db[f]          = sum_{n, i, j} g[n, i, j, f]
        dL/dxpad[n, i*sh + p, j*sw + q, c] += sum_f g[n, i, j, f] K[f, c, p, q]
    (the gradient of x is that of xpad with the padding cut off).

    Args:
        input_channels: channels C of the input.
        num_filters: filters F, the channels of the output.
        kernel_size: KH = KW as an int, or (KH, KW).
        stride: sh = sw as an int, or (sh, sw); default 1.
        padding: zero rows/columns added on each side: an int, a pair (rows, columns),
            "valid" (none, the default 0) or "same" (out = ceil(H / sh), the odd extra
            row/column at the bottom/right).  Otherwise OH = floor((H + 2 p - KH) / sh) + 1,
            OW likewise.
        weight_init: "he_uniform" (default), "glorot_uniform" or another initialiser name,
            with fan_in = C*KH*KW and fan_out = F*KH*KW; biases start at zero.
        dtype: float32 (default) or float64.
        seed: seed of the initialiser (same seed, same kernels).
        kernel_regularizer: None (default), a ``retrograd.regularizers`` L1 / L2 / L1L2 or
            "l1", "l2", "l1_l2": a penalty on the kernels added to the training loss.
        name: the layer's name (default: an automatic unique one).

    Shapes: input (N, H, W, C) -> output (N, OH, OW, F);
    params [kernels (F, C, KH, KW), biases (F,)].  The input may be any float array
    or a list of numbers (see Layer for the dtype policy); sizes, strides and
    paddings are at most 2**31 - 1.

    Example:
        >>> layer = Conv2D(1, 8, 3, padding="same", seed=0)
        >>> layer.forward(np.zeros((2, 8, 8, 1), np.float32)).shape
        (2, 8, 8, 8)
    """

    param_names = ("kernels", "biases")

    def __init__(self, input_channels, num_filters, kernel_size, stride=1, padding=0,
                 weight_init="he_uniform", dtype=np.float32, seed=None,
                 kernel_regularizer=None, name=None):
        super().__init__(dtype, name)
        self.kernel_regularizer = regularizers.get(kernel_regularizer, self.owner)
        self.input_channels = check_positive_int(input_channels, self.owner, "input_channels")
        self.num_filters = check_positive_int(num_filters, self.owner, "num_filters")
        self.kernel_size = to_positive_pair(kernel_size, self.owner, "kernel_size")
        self.stride = to_positive_pair(stride, self.owner, "stride")
        self.padding = self._check_padding(padding)
        self.weight_init = weight_init
        self.seed = check_seed(seed, self.owner)
        kh, kw = self.kernel_size
        shape = (self.num_filters, self.input_channels, kh, kw)
        check_allocation(shape, self.dtype, self.owner, "kernels")
        self.kernels = initialize(weight_init, shape, self.input_channels * kh * kw,
                                  self.num_filters * kh * kw, self.dtype, seed, self.owner)
        self.biases = np.zeros(self.num_filters, dtype=self.dtype)
        self.params = [self.kernels, self.biases]
        self.grads = [np.zeros_like(self.kernels), np.zeros_like(self.biases)]

    def _check_padding(self, padding):
        if isinstance(padding, str):
            if padding.lower() not in _PADDING_WORDS:
                fail(self.owner, 'padding an int, a pair of ints, "valid" or "same"', padding)
            return padding.lower()
        pair = to_pair(padding, self.owner, "padding")
        if min(pair) < 0:
            fail(self.owner, "padding >= 0 (an int or a pair of ints)", padding)
        return pair

    def _geometry(self, height, width, got):
        """((top, bottom), (left, right)) padding and (OH, OW) for an H x W image;
        ``got`` is what an error message shows."""
        (kh, kw), (sh, sw) = self.kernel_size, self.stride
        if self.padding == "same":
            padding = (_same_padding(height, kh, sh), _same_padding(width, kw, sw))
        elif self.padding == "valid":
            padding = ((0, 0), (0, 0))
        else:
            padding = ((self.padding[0],) * 2, (self.padding[1],) * 2)
        rows, cols = sum(padding[0]), sum(padding[1])
        if height + rows < kh or width + cols < kw:
            fail(self.owner, f"an input whose padded height and width (H + {rows}, W + {cols}) "
                            f"are at least kernel_size {self.kernel_size}", got)
        return padding, ((height + rows - kh) // sh + 1, (width + cols - kw) // sw + 1)

    def forward(self, input_data):
        x = check_input(input_data, self.owner, self.dtype, ndim=4, last_dim=self.input_channels,
                        shape_text=f"(N, H, W, {self.input_channels})")
        padding, (oh, ow) = self._geometry(x.shape[1], x.shape[2], x.shape)
        (top, bottom), (left, right) = padding
        n, height, width, channels = x.shape
        check_allocation((n, height + top + bottom, width + left + right, channels), self.dtype,
                         self.owner, "a padded input")
        check_allocation((n, oh, ow, self.num_filters), self.dtype, self.owner, "an output")
        self._cache = (x, padding)
        return ops.conv2d_forward(x, self.kernels, self.biases, self.stride, padding)

    def backward(self, grad_output):
        return self._backward(grad_output, True)

    def _backward(self, grad_output, input_grad):
        x, padding = self._require_forward(self._cache)
        _, (oh, ow) = self._geometry(x.shape[1], x.shape[2], x.shape)
        grad = self._check_grad(grad_output, shape_only((x.shape[0], oh, ow, self.num_filters)))
        dx, dkernels, dbiases = ops.conv2d_backward(grad, x, self.kernels, self.stride, padding,
                                                    input_grad=input_grad)
        self.grads[0][...] = dkernels
        self.grads[1][...] = dbiases
        return dx, self.grads

    def get_config(self):
        return {"input_channels": self.input_channels, "num_filters": self.num_filters,
                "kernel_size": self.kernel_size, "stride": self.stride, "padding": self.padding,
                "weight_init": self.weight_init, "seed": self.seed, **super().get_config()}

    def output_shape(self, input_shape):
        shape = tuple(input_shape)
        if len(shape) != 3 or shape[2] != self.input_channels:
            fail(self.owner, f"an input shape (H, W, {self.input_channels})", shape)
        _, (oh, ow) = self._geometry(shape[0], shape[1], shape)
        return (oh, ow, self.num_filters)


Convolution2D = Conv2D
