"""Finite-difference check of a layer's backward pass (API.md, "Other")."""
import numpy as np

from ._validation import check_finite, fail
from .layers import Layer


def gradcheck(layer, x, eps=1e-6, seed=0):
    """Largest relative error between a layer's analytic gradients and central
    differences, over the input gradient and every parameter gradient.

    The check runs on a float64 copy of the layer (rebuilt from its class and
    ``get_config()`` with dtype float64, parameters copied and upcast), so a
    float32 layer is checked in double precision and the layer itself is never
    modified.  The scalar differentiated is

        f = sum(forward(x) * R),   R ~ N(0, 1) drawn with ``seed``,

    a random projection of the output, so df/d(output) = R and every output
    element takes part.  Each input / parameter element u gets

        df/du ~ (f(u + eps) - f(u - eps)) / (2 eps)

    and each array's error is ||analytic - numeric|| / max(||analytic||, ||numeric||)
    (0 when both are exactly zero).  It costs two forward passes per element:
    use small shapes.  Layers that draw random numbers in training mode
    (Dropout, RReLU, NoisyReLU) should be checked with ``training = False``.

    Example:
        >>> x = np.random.default_rng(0).normal(size=(5, 4))
        >>> retrograd.gradcheck(Dense(4, 3, seed=0), x) < 1e-6
        True
    """
    if not isinstance(layer, Layer):
        fail("gradcheck", "a Layer", type(layer).__name__, TypeError)
    eps = check_finite(eps, "gradcheck", "eps", low=0.0, low_open=True)
    x = np.array(x, dtype=np.float64)  # a private copy: its elements get perturbed
    copy = _float64_copy(layer)
    weights = np.random.default_rng(seed).normal(size=copy.forward(x).shape)

    def objective():
        return float(np.sum(copy.forward(x) * weights))

    copy.forward(x)
    dx, param_grads = copy.backward(weights)
    analytic = [np.array(dx)] + [np.array(g) for g in (param_grads or [])]
    numeric = [_central_differences(objective, arr, eps) for arr in [x] + copy.params]
    return max(_relative_error(a, n) for a, n in zip(analytic, numeric))


def _float64_copy(layer):
    copy = type(layer)(**{**layer.get_config(), "dtype": "float64"})
    if len(copy.params) != len(layer.params):
        fail("gradcheck", f"get_config() of {layer.name} to rebuild its {len(layer.params)} "
             "parameter arrays", f"{len(copy.params)} arrays")
    for mine, theirs in zip(copy.params, layer.params):
        mine[...] = theirs
    copy.training = layer.training
    return copy


def _central_differences(objective, arr, eps):
    grad = np.empty(arr.shape)
    for index in np.ndindex(arr.shape):
        saved = arr[index]
        arr[index] = saved + eps
        plus = objective()
        arr[index] = saved - eps
        minus = objective()
        arr[index] = saved
        grad[index] = (plus - minus) / (2 * eps)
    return grad


def _relative_error(analytic, numeric):
    if analytic.shape != numeric.shape:
        fail("gradcheck", f"a gradient of shape {numeric.shape}", f"shape {analytic.shape}")
    scale = max(np.linalg.norm(analytic), np.linalg.norm(numeric))
    return float(np.linalg.norm(analytic - numeric) / scale) if scale > 0 else 0.0
