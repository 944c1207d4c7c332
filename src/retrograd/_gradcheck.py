"""Finite-difference check of a layer's backward pass (API.md, "Other")."""
import numpy as np

from ._validation import check_finite, fail
from .layers import Layer
from .models import Model
from .models.saving import _build_model, _model_spec


def gradcheck(layer, x, eps=1e-6, seed=0):
    """Largest relative error between a layer's (or a whole model's) analytic
    gradients and central differences, over the input gradient(s) and every
    parameter gradient.

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

    A ``Model`` (or ``Sequential``) is checked through its graph: x is a list of
    arrays for several inputs, every output gets its own projection R_k, and the
    parameters are those of every layer, frozen ones included, each shared layer once.

    Example:
        >>> x = np.random.default_rng(0).normal(size=(5, 4))
        >>> retrograd.gradcheck(Dense(4, 3, seed=0), x) < 1e-6
        True
    """
    if not isinstance(layer, Layer):
        fail("gradcheck", "a Layer or a Model", type(layer).__name__, TypeError)
    eps = check_finite(eps, "gradcheck", "eps", low=0.0, low_open=True)
    is_model = isinstance(layer, Model)
    several = is_model and not layer._single_input
    if several and (not isinstance(x, (list, tuple)) or len(x) != layer._n_inputs):
        fail("gradcheck", f"x as a list of {layer._n_inputs} arrays (one per input)",
             type(x).__name__, TypeError)
    # private copies: their elements get perturbed
    xs = [np.array(a, dtype=np.float64) for a in (x if several else [x])]
    copy = _float64_model(layer) if is_model else _float64_copy(layer)
    params = ([p for leaf in copy._leaves for p in leaf.params] if is_model else copy.params)

    def outputs():
        out = copy.forward(xs if several else xs[0])
        return out if isinstance(out, list) else [out]

    rng = np.random.default_rng(seed)
    weights = [rng.normal(size=out.shape) for out in outputs()]

    def objective():
        return float(sum(np.sum(out * w) for out, w in zip(outputs(), weights)))

    outputs()
    if is_model:
        for leaf in copy._leaves:
            leaf.trainable = True  # frozen layers are checked too
        copy.trainable = True
        dx = copy.backward(weights if len(weights) > 1 else weights[0])
        param_grads = [g for leaf in copy._leaves for g in leaf.grads]
    else:
        dx, param_grads = copy.backward(weights[0])
    analytic = [np.array(d) for d in (dx if several else [dx])]
    analytic += [np.array(g) for g in (param_grads or [])]
    numeric = [_central_differences(objective, arr, eps) for arr in xs + params]
    return max(_relative_error(a, n) for a, n in zip(analytic, numeric))


def _float64_model(model):
    """A float64 copy of a model: its file description with every dtype set to
    float64, rebuilt, with params and state copied."""
    spec = _model_spec(model)

    def widen(item):
        for entry in item.get("inputs", []):
            entry["dtype"] = "float64"
        for child in item["layers"]:
            if "config" in child:
                child["config"]["dtype"] = "float64"
            else:
                widen(child)
    widen(spec)
    copy = _build_model(spec, "gradcheck")
    for mine, theirs in zip(copy._leaves, model._leaves):
        for a, b in zip([*mine.params, *mine.state], [*theirs.params, *theirs.state]):
            a[...] = b
        mine.training = theirs.training
    return copy


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
