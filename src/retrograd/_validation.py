"""Shared validators.  Every message has one form:
``f"{owner}: expected {what}, got {value!r}"`` (ARCHITECTURE.md, "Errors")."""
import math
import numbers

import numpy as np

FLOAT_DTYPES = (np.float32, np.float64)


def fail(owner, what, got, error=ValueError):
    """Raise ``error(f"{owner}: expected {what}, got {got!r}")``."""
    raise error(f"{owner}: expected {what}, got {got!r}")


def as_dtype(dtype, owner):
    """The numpy dtype of a layer's ``dtype=`` argument (float32 or float64)."""
    try:
        dt = np.dtype(dtype)
    except TypeError:
        fail(owner, "dtype float32 or float64", dtype, TypeError)
    if dt not in FLOAT_DTYPES:
        fail(owner, "dtype float32 or float64", dtype, TypeError)
    return dt


def as_float_array(x, owner, dtype, name="input"):
    """``x`` as an ndarray of ``dtype``.  Float arrays of another precision are
    cast; bool, integer, complex and object arrays are refused (TypeError)."""
    arr = np.asarray(x)
    if arr.dtype.kind != "f":
        fail(owner, f"a floating-point {name}", arr.dtype, TypeError)
    return arr.astype(dtype, copy=False)


def check_input(x, owner, dtype, ndim, last_dim=None, name="input", shape_text=None):
    """Validate a layer input: float dtype (cast to ``dtype``), rank ``ndim``,
    non-empty batch and, when given, size ``last_dim`` of the last axis."""
    arr = as_float_array(x, owner, dtype, name)
    expected = shape_text or _shape_text(ndim, last_dim)
    if arr.ndim != ndim:
        fail(owner, f"{name} of shape {expected}", arr.shape)
    if arr.shape[0] == 0:
        fail(owner, f"a non-empty batch of shape {expected}", arr.shape)
    if last_dim is not None and arr.shape[-1] != last_dim:
        fail(owner, f"{name} of shape {expected}", arr.shape)
    return arr


def check_same_shape(grad, reference, owner, name="gradient"):
    """A gradient must match the shape of the array it differentiates."""
    grad = np.asarray(grad)
    if grad.shape != reference.shape:
        fail(owner, f"{name} of shape {reference.shape}", grad.shape)
    return grad


def _shape_text(ndim, last_dim):
    dims = ["N"] + ["..."] * max(ndim - 2, 0)
    if ndim >= 2:
        dims.append(str(last_dim) if last_dim is not None else "features")
    return "(" + ", ".join(dims) + ")" if ndim != 1 else "(N,)"


def check_positive_int(value, owner, name):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        fail(owner, f"{name} a positive integer", value)
    return int(value)


def check_finite(value, owner, name, low=None, high=None, low_open=False):
    """A finite real hyper-parameter, optionally within [low, high]
    ((low, high] with ``low_open``)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        fail(owner, f"{name} a finite number", value)
    value = float(value)
    if low is not None and (value <= low if low_open else value < low):
        fail(owner, f"{name} {'>' if low_open else '>='} {low}", value)
    if high is not None and value > high:
        fail(owner, f"{name} <= {high}", value)
    return value


def to_pair(value, owner, name):
    """An int or a pair of ints, as a tuple (height, width)."""
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return (int(value), int(value))
    if (isinstance(value, (tuple, list)) and len(value) == 2
            and all(isinstance(v, numbers.Integral) and not isinstance(v, bool) for v in value)):
        return (int(value[0]), int(value[1]))
    fail(owner, f"{name} an int or a pair of ints", value)


def to_positive_pair(value, owner, name):
    """``to_pair`` whose two ints are both >= 1 (kernel sizes, strides, pool sizes)."""
    pair = to_pair(value, owner, name)
    if min(pair) < 1:
        fail(owner, f"{name} positive (an int or a pair of ints >= 1)", value)
    return pair


def shape_only(shape):
    """A read-only boolean array of ``shape`` that takes no memory: the reference of
    ``check_same_shape`` for a layer that kept only the shape of its output."""
    return np.broadcast_to(np.False_, shape)
