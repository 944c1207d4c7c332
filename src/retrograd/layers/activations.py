"""Activation layers.  Each docstring gives the function and its derivative.

Element-wise activations share one mechanism (``ElementwiseActivation``): the
layer validates its input, keeps the input z and output s, and calls the
kernels ``ops.<kernel>_forward(z, *hyper)`` and
``ops.<kernel>_backward(g, z, s, *hyper)``.  PReLU (a learned slope), RReLU and
NoisyReLU (random draws kept for backward) and Softmax (along an axis) have
kernels of their own shape and override forward/backward.
"""
import numbers

import numpy as np

from .._validation import (as_float_array, check_allocation, check_finite, check_positive_int,
                           check_seed, fail)
from ..backend import ops
from .base import Layer


def _check_batch(layer, input_data):
    """A float input (cast to the layer's dtype) with a non-empty batch axis."""
    x = as_float_array(input_data, layer.owner, layer.dtype)
    if x.ndim < 1 or x.shape[0] == 0:
        fail(layer.owner, "a non-empty batch (N, ...)", x.shape)
    return x


class ElementwiseActivation(Layer):
    """Base of element-wise activations: any input shape with a batch axis.

    Shapes: input (N, ...) -> output of the same shape.
    """

    kernel = None  # name of the ops kernel pair

    def hyper(self):
        """Hyper-parameters passed to the kernels, in kernel order."""
        return ()

    def _check(self, input_data):
        return _check_batch(self, input_data)

    def forward(self, input_data):
        if self.kernel is None:
            raise NotImplementedError(f"{self.owner} names no kernel: use a subclass")
        x = self._check(input_data)
        y = getattr(ops, f"{self.kernel}_forward")(x, *self.hyper())
        self._cache = (x, y)
        return y

    def backward(self, grad_output):
        x, y = self._require_forward(self._cache)
        grad = self._check_grad(grad_output, x)
        return getattr(ops, f"{self.kernel}_backward")(grad, x, y, *self.hyper()), None


class Sigmoid(ElementwiseActivation):
    """Logistic sigmoid: s = 1 / (1 + e^-z);  ds/dz = s (1 - s).

    Evaluated without overflow for any finite z (e^-|z| only).

    Shapes: input (N, ...) -> output of the same shape.

    Example:
        >>> Sigmoid().forward(np.array([[0.0]]))
        array([[0.5]], dtype=float32)
    """

    kernel = "sigmoid"


class Tanh(ElementwiseActivation):
    """Hyperbolic tangent: s = tanh z = (e^z - e^-z) / (e^z + e^-z);  ds/dz = 1 - s^2.

    Shapes: input (N, ...) -> output of the same shape.

    Example:
        >>> Tanh().forward(np.array([[0.0, 100.0]]))
        array([[0., 1.]], dtype=float32)
    """

    kernel = "tanh"


class Softsign(ElementwiseActivation):
    """s = z / (1 + |z|);  ds/dz = 1 / (1 + |z|)^2.

    Shapes: input (N, ...) -> output of the same shape.

    Example:
        >>> Softsign().forward(np.array([[-1.0, 3.0]]))
        array([[-0.5 ,  0.75]], dtype=float32)
    """

    kernel = "softsign"


class HardSigmoid(ElementwiseActivation):
    """Piecewise-linear sigmoid: s = clip(z/6 + 1/2, 0, 1);
    ds/dz = 1/6 for -3 < z < 3, else 0 (0 at the corners, as PyTorch).

    Shapes: input (N, ...) -> output of the same shape.

    Example:
        >>> HardSigmoid().forward(np.array([[-6.0, 0.0, 1.5]]))
        array([[0.  , 0.5 , 0.75]], dtype=float32)
    """

    kernel = "hard_sigmoid"


class HardTanh(ElementwiseActivation):
    """s = clip(z, min_val, max_val);  ds/dz = 1 for min_val < z < max_val, else 0.

    Args:
        min_val, max_val: the clipping range, finite with min_val < max_val.
        dtype: float32 (default) or float64.

    Shapes: input (N, ...) -> output of the same shape.

    Example:
        >>> HardTanh(min_val=-1.0, max_val=2.0).forward(np.array([[-3.0, 0.5, 3.0]]))
        array([[-1. ,  0.5,  2. ]], dtype=float32)
    """

    kernel = "hard_tanh"

    def __init__(self, min_val=-1.0, max_val=1.0, dtype=np.float32, name=None):
        super().__init__(dtype, name)
        self.min_val = check_finite(min_val, self.owner, "min_val")
        self.max_val = check_finite(max_val, self.owner, "max_val")
        if not self.min_val < self.max_val:
            fail(self.owner, f"min_val < max_val (max_val={self.max_val})", self.min_val)

    def hyper(self):
        return (self.min_val, self.max_val)

    def get_config(self):
        return {"min_val": self.min_val, "max_val": self.max_val, **super().get_config()}


class _OneParameterActivation(ElementwiseActivation):
    """An element-wise activation with one finite hyper-parameter named ``parameter``
    (at least ``low`` when that is set), passed to the kernels and stored in the config."""

    parameter = None
    low = None

    def __init__(self, value, dtype=np.float32, name=None):
        super().__init__(dtype, name)
        setattr(self, self.parameter, check_finite(value, self.owner, self.parameter,
                                                   low=self.low))

    def hyper(self):
        return (getattr(self, self.parameter),)

    def get_config(self):
        return {self.parameter: getattr(self, self.parameter), **super().get_config()}


class ReLU(ElementwiseActivation):
    """Rectified linear unit: s = max(0, z);  ds/dz = 1 if z > 0 else 0 (0 at z = 0).

    Shapes: input (N, ...) -> output of the same shape.

    Example:
        >>> ReLU().forward(np.array([[-1.0, 2.0]]))
        array([[0., 2.]], dtype=float32)
    """

    kernel = "relu"


class LeakyReLU(_OneParameterActivation):
    """s = z if z > 0 else alpha z;  ds/dz = 1 if z > 0 else alpha (alpha at z = 0).

    Args:
        alpha: the slope for z <= 0, finite and >= 0 (as Keras requires; default 0.01).
        dtype: float32 (default) or float64.

    Shapes: input (N, ...) -> output of the same shape.

    Example:
        >>> LeakyReLU(alpha=0.1).forward(np.array([[-1.0, 2.0]]))
        array([[-0.1,  2. ]], dtype=float32)
    """

    kernel = "leaky_relu"
    parameter = "alpha"
    low = 0.0

    def __init__(self, alpha=0.01, dtype=np.float32, name=None):
        super().__init__(alpha, dtype, name)


class PReLU(ElementwiseActivation):
    """Parametric ReLU (He et al. 2015): a leaky ReLU whose slope is learned.

        s = z if z > 0 else alpha_c z
        ds/dz = 1 if z > 0 else alpha_c
        dL/dalpha_c = sum of g z over the elements of channel c with z <= 0

    Args:
        num_parameters: 1 (one slope shared by every element) or the number of
            channels, the size of the input's last axis (one slope each).
        init: initial value of every slope, finite (any sign: the slopes are learned).
        dtype: float32 (default) or float64.

    Shapes: input (N, ...) -> same shape; with num_parameters = C > 1 the input is
    (N, ..., C).  params [alpha (num_parameters,)].

    Example:
        >>> PReLU(num_parameters=2, init=0.5).forward(np.array([[-2.0, -4.0]]))
        array([[-1., -2.]], dtype=float32)
    """

    param_names = ("alpha",)

    def __init__(self, num_parameters=1, init=0.25, dtype=np.float32, name=None):
        super().__init__(dtype, name)
        self.num_parameters = check_positive_int(num_parameters, self.owner, "num_parameters")
        self.init = check_finite(init, self.owner, "init")
        check_allocation((self.num_parameters,), self.dtype, self.owner, "slopes alpha")
        self.alpha = np.full(self.num_parameters, self.init, dtype=self.dtype)
        self.params = [self.alpha]
        self.grads = [np.zeros_like(self.alpha)]

    def _check(self, input_data):
        x = super()._check(input_data)
        channels = self.num_parameters
        if channels > 1 and (x.ndim < 2 or x.shape[-1] != channels):
            fail(self.owner, f"input of shape (N, ..., {channels})", x.shape)
        return x

    def forward(self, input_data):
        x = self._check(input_data)
        y = ops.prelu_forward(x, self.alpha)
        self._cache = (x, y)
        return y

    def backward(self, grad_output):
        x, _ = self._require_forward(self._cache)
        grad = self._check_grad(grad_output, x)
        dx, dalpha = ops.prelu_backward(grad, x, self.alpha)
        self.grads[0][...] = dalpha
        return dx, self.grads

    def output_shape(self, input_shape):
        shape = tuple(input_shape)
        if self.num_parameters > 1 and (not shape or shape[-1] != self.num_parameters):
            fail(self.owner, f"an input shape (..., {self.num_parameters})", shape)
        return shape

    def get_config(self):
        return {"num_parameters": self.num_parameters, "init": self.init,
                **super().get_config()}


class RReLU(ElementwiseActivation):
    """Randomised leaky ReLU (Xu et al. 2015).

    Training: each element draws its own slope a ~ U(lower, upper), kept for the
    backward pass of that forward;  s = z if z > 0 else a z;  ds/dz = 1 if z > 0 else a.
    Evaluation (training False): the fixed slope a = (lower + upper) / 2, i.e. a
    LeakyReLU.

    Args:
        lower, upper: range of the slopes, finite with 0 <= lower <= upper.
        seed: seed of the slope generator (same seed, same slopes).
        dtype: float32 (default) or float64.

    Shapes: input (N, ...) -> output of the same shape.

    Example:
        >>> layer = RReLU(lower=0.2, upper=0.2, seed=0)
        >>> layer.forward(np.array([[-1.0, 2.0]]))
        array([[-0.2,  2. ]], dtype=float32)
    """

    def __init__(self, lower=1 / 8, upper=1 / 3, seed=None, dtype=np.float32, name=None):
        super().__init__(dtype, name)
        self.lower = check_finite(lower, self.owner, "lower", low=0.0)
        self.upper = check_finite(upper, self.owner, "upper")
        if self.lower > self.upper:
            fail(self.owner, f"lower <= upper (upper={self.upper})", self.lower)
        self.seed = check_seed(seed, self.owner)
        self._rng = np.random.default_rng(seed)

    @property
    def eval_slope(self):
        """The slope used when not training: the mean of U(lower, upper)."""
        return (self.lower + self.upper) / 2

    def forward(self, input_data):
        x = self._check(input_data)
        if self.training:
            slopes = self._rng.uniform(self.lower, self.upper, size=x.shape).astype(self.dtype)
            y = ops.rrelu_forward(x, slopes)
        else:
            slopes = None
            y = ops.leaky_relu_forward(x, self.eval_slope)
        self._cache = (x, y, slopes)
        return y

    def backward(self, grad_output):
        x, y, slopes = self._require_forward(self._cache)
        grad = self._check_grad(grad_output, x)
        if slopes is None:
            return ops.leaky_relu_backward(grad, x, y, self.eval_slope), None
        return ops.rrelu_backward(grad, x, slopes), None

    def get_config(self):
        return {"lower": self.lower, "upper": self.upper, "seed": self.seed,
                **super().get_config()}


class ELU(_OneParameterActivation):
    """Exponential linear unit: s = z if z > 0 else alpha (e^z - 1);
    ds/dz = 1 if z > 0 else alpha e^z (= s + alpha).

    Args:
        alpha: the saturation value -alpha for z -> -inf, finite and >= 0 (Clevert et
            al. take alpha > 0; 0 gives a ReLU; default 1.0).
        dtype: float32 (default) or float64.

    Shapes: input (N, ...) -> output of the same shape.

    Example:
        >>> ELU(alpha=1.0).forward(np.array([[0.0, 2.0]]))
        array([[0., 2.]], dtype=float32)
    """

    kernel = "elu"
    parameter = "alpha"
    low = 0.0

    def __init__(self, alpha=1.0, dtype=np.float32, name=None):
        super().__init__(alpha, dtype, name)


class SELU(ElementwiseActivation):
    """Scaled ELU (Klambauer et al. 2017), self-normalising:
        s = lambda z if z > 0 else lambda alpha (e^z - 1)
        ds/dz = lambda if z > 0 else lambda alpha e^z
    with lambda = 1.0507009873554805 and alpha = 1.6732632423543772.

    Shapes: input (N, ...) -> output of the same shape.

    Example:
        >>> SELU().forward(np.array([[0.0, 1.0]])).round(4)
        array([[0.    , 1.0507]], dtype=float32)
    """

    kernel = "selu"


class NoisyReLU(ElementwiseActivation):
    """Noisy ReLU (Nair & Hinton 2010).

    Training: s = max(0, z + n sqrt(sigmoid(z))), n ~ N(0, 1), i.e. Gaussian noise of
    variance sigmoid(z);  ds/dz = 1 where z > 0, else 0 (the noise is a constant).
    Evaluation (training False): s = max(0, z), a ReLU.

    Args:
        seed: seed of the noise generator (same seed, same noise).
        dtype: float32 (default) or float64.

    Shapes: input (N, ...) -> output of the same shape.

    Example:
        >>> layer = NoisyReLU(seed=0); layer.training = False
        >>> layer.forward(np.array([[-1.0, 2.0]]))
        array([[0., 2.]], dtype=float32)
    """

    def __init__(self, seed=None, dtype=np.float32, name=None):
        super().__init__(dtype, name)
        self.seed = check_seed(seed, self.owner)
        self._rng = np.random.default_rng(seed)

    def forward(self, input_data):
        x = self._check(input_data)
        if self.training:
            noise = self._rng.standard_normal(x.shape, dtype=self.dtype)
            y = ops.noisy_relu_forward(x, noise)
        else:
            y = ops.relu_forward(x)
        self._cache = (x, y)
        return y

    def backward(self, grad_output):
        x, _ = self._require_forward(self._cache)
        grad = self._check_grad(grad_output, x)
        return ops.noisy_relu_backward(grad, x), None

    def get_config(self):
        return {"seed": self.seed, **super().get_config()}


GELU_APPROXIMATIONS = {"none": "gelu_erf", "tanh": "gelu_tanh", "sigmoid": "gelu_sigmoid"}


class GELU(ElementwiseActivation):
    """Gaussian error linear unit (Hendrycks & Gimpel 2016), s = z Phi(z).

    approximate="none":    s = z Phi(z),  Phi(z) = (1 + erf(z / sqrt 2)) / 2
                           ds/dz = Phi(z) + z phi(z),  phi(z) = e^(-z^2/2) / sqrt(2 pi)
    approximate="tanh":    s = z/2 (1 + tanh u),  u = sqrt(2/pi) (z + 0.044715 z^3)
                           ds/dz = (1 + tanh u)/2 + z/2 (1 - tanh^2 u) sqrt(2/pi) (1 + 0.134145 z^2)
    approximate="sigmoid": s = z sigma(1.702 z)
                           ds/dz = sigma + 1.702 z sigma (1 - sigma),  sigma = sigmoid(1.702 z)

    Shapes: input (N, ...) -> output of the same shape.

    Example:
        >>> GELU().forward(np.array([[0.0, 1.0]])).round(4)
        array([[0.    , 0.8413]], dtype=float32)
    """

    def __init__(self, approximate="none", dtype=np.float32, name=None):
        super().__init__(dtype, name)
        if not isinstance(approximate, str) or approximate not in GELU_APPROXIMATIONS:
            fail(self.owner, f"approximate one of {tuple(GELU_APPROXIMATIONS)}", approximate)
        self.approximate = approximate
        self.kernel = GELU_APPROXIMATIONS[approximate]

    def get_config(self):
        return {"approximate": self.approximate, **super().get_config()}


class Swish(_OneParameterActivation):
    """Swish (Ramachandran et al. 2017; SiLU when beta = 1): s = z sigma(beta z);
    ds/dz = sigma + beta z sigma (1 - sigma),  sigma = sigmoid(beta z).

    Shapes: input (N, ...) -> output of the same shape.

    Example:
        >>> Swish(beta=1.0).forward(np.array([[0.0, 1.0]])).round(4)
        array([[0.    , 0.7311]], dtype=float32)
    """

    kernel = "swish"
    parameter = "beta"

    def __init__(self, beta=1.0, dtype=np.float32, name=None):
        super().__init__(beta, dtype, name)


class Softmax(Layer):
    """Softmax along an axis: s_i = e^(z_i) / sum_j e^(z_j), computed as e^(z_i - max z)
    (stable for any finite z).

    Derivative: ds_i/dz_k = s_i ([i = k] - s_k), so backward is the Jacobian-vector
    product  dL/dz = s (g - sum_j g_j s_j)  along the same axis.

    Args:
        axis: the axis normalised (default -1, the last).
        dtype: float32 (default) or float64.

    Shapes: input (N, ...) -> output of the same shape; slices along ``axis`` sum to 1.

    Example:
        >>> Softmax().forward(np.array([[0.0, 0.0]]))
        array([[0.5, 0.5]], dtype=float32)
    """

    def __init__(self, axis=-1, dtype=np.float32, name=None):
        super().__init__(dtype, name)
        if isinstance(axis, bool) or not isinstance(axis, numbers.Integral):
            fail(self.owner, "axis an integer", axis)
        self.axis = int(axis)

    def forward(self, input_data):
        x = _check_batch(self, input_data)
        if not -x.ndim <= self.axis < x.ndim:
            fail(self.owner, f"axis in [{-x.ndim}, {x.ndim}) for an input of shape {x.shape}",
                 self.axis)
        if x.shape[self.axis] == 0:
            fail(self.owner, f"a non-empty axis {self.axis}", x.shape)
        # The kernels work along the last axis; another axis is moved there and back.
        x_last = np.moveaxis(x, self.axis, -1)
        y_last = ops.softmax_forward(x_last)
        self._cache = (x, x_last, y_last)
        return np.ascontiguousarray(np.moveaxis(y_last, -1, self.axis))

    def backward(self, grad_output):
        x, x_last, y_last = self._require_forward(self._cache)
        grad = np.moveaxis(self._check_grad(grad_output, x), self.axis, -1)
        dx = ops.softmax_backward(grad, x_last, y_last)
        return np.ascontiguousarray(np.moveaxis(dx, -1, self.axis)), None

    def output_shape(self, input_shape):
        shape = tuple(input_shape)
        # the batch axis counts: axis 0 is the batch, never a class axis
        if not -(len(shape) + 1) <= self.axis < len(shape) + 1:
            fail(self.owner, f"axis in [{-len(shape) - 1}, {len(shape) + 1}) for an input "
                 f"shape (N, {', '.join(map(str, shape))})", self.axis)
        return shape

    def get_config(self):
        return {"axis": self.axis, **super().get_config()}
