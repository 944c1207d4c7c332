"""Shared validators.  Every message has one form:
``f"{owner}: expected {what}, got {value!r}"`` (ARCHITECTURE.md, "Errors").

Error types follow Python's convention: TypeError when an argument is not of a
usable kind at all (a string or None where a number is expected, a complex or
object array, a flag that is not a bool), ValueError when it is of the right
kind with an unusable value (NaN, out of range, wrong shape, too large).  Bools
count as numbers (Python's ``bool`` is an ``int``), so ``stride=True`` is a
ValueError.

Array policy (API.md, "Conventions"), shared by every layer, loss and model:
  * float arrays of any width (float16, float32, float64, longdouble) are cast
    to the dtype in use;
  * bool and integer *arrays* are refused (TypeError): their dtype says they
    hold labels, masks or raw pixels, and PyTorch refuses them in float layers
    too; cast explicitly (``x.astype(np.float32)``, dividing raw pixels first);
  * Python lists and tuples of numbers carry no dtype: they are converted, as
    Keras converts them (ints and bools become floats);
  * complex, object and string data are refused (TypeError), ragged nested
    lists too (ValueError);
  * no array may need more memory than the machine has (checked before
    allocating, ``check_allocation``).
"""
import functools
import math
import numbers
import os

import numpy as np

FLOAT_DTYPES = (np.float32, np.float64)
# Kernel sizes, strides, paddings and pool sizes are bounded by int32 indexing: max-pooling
# keeps int32 window positions, and no image has 2**31 rows.
MAX_INDEX = 2**31 - 1
_INT64_MAX = 2**63 - 1
# The memory assumed when the platform does not report it: 1 TiB.
_FALLBACK_MEMORY = 2**40


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


def as_array(x, owner, name="input"):
    """``np.asarray(x)``, with a ragged nested list refused in the house form."""
    try:
        return np.asarray(x)
    except ValueError:
        fail(owner, f"{name} a rectangular array (nested lists of equal lengths)",
             type(x).__name__)


def as_real_array(x, owner, name="input"):
    """``x`` as an ndarray of floats (any width), by the array policy of the module
    docstring: float arrays are returned as they are, lists and tuples of numbers
    become float64, everything else is refused."""
    arr = as_array(x, owner, name)
    if arr.dtype.kind == "f":
        return arr
    if isinstance(x, (list, tuple)) and arr.dtype.kind in "biu":
        return arr.astype(np.float64)
    fail(owner, f"a floating-point {name}", arr.dtype, TypeError)


def as_float_array(x, owner, dtype, name="input"):
    """``x`` as an ndarray of ``dtype`` (array policy of the module docstring): other
    float widths are cast, lists converted, non-float arrays refused (TypeError), and
    an array that would not fit in memory once cast refused before the cast."""
    arr = as_real_array(x, owner, name)
    check_allocation(arr.shape, dtype, owner, name)
    return arr.astype(dtype, copy=False)


def check_input(x, owner, dtype, ndim, last_dim=None, name="input", shape_text=None):
    """Validate a layer input: float dtype (cast to ``dtype``), rank ``ndim``,
    non-empty batch, no empty axis and, when given, size ``last_dim`` of the
    last axis."""
    arr = as_float_array(x, owner, dtype, name)
    expected = shape_text or _shape_text(ndim, last_dim)
    if arr.ndim != ndim:
        fail(owner, f"{name} of shape {expected}", arr.shape)
    if arr.shape[0] == 0:
        fail(owner, f"a non-empty batch of shape {expected}", arr.shape)
    if last_dim is not None and arr.shape[-1] != last_dim:
        fail(owner, f"{name} of shape {expected}", arr.shape)
    if 0 in arr.shape:
        fail(owner, f"{name} of shape {expected} with every size >= 1", arr.shape)
    return arr


def check_same_shape(grad, reference, owner, name="gradient"):
    """A gradient must match the shape of the array it differentiates."""
    grad = as_array(grad, owner, name)
    if grad.shape != reference.shape:
        fail(owner, f"{name} of shape {reference.shape}", grad.shape)
    return grad


def _shape_text(ndim, last_dim):
    dims = ["N"] + ["..."] * max(ndim - 2, 0)
    if ndim >= 2:
        dims.append(str(last_dim) if last_dim is not None else "features")
    return "(" + ", ".join(dims) + ")" if ndim != 1 else "(N,)"


def check_positive_int(value, owner, name):
    """An integer >= 1 (bools and integral floats refused: ValueError; non-numbers:
    TypeError)."""
    if not isinstance(value, numbers.Real):
        fail(owner, f"{name} a positive integer", value, TypeError)
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        fail(owner, f"{name} a positive integer", value)
    return int(value)


def check_finite(value, owner, name, low=None, high=None, low_open=False):
    """A finite real hyper-parameter, optionally within [low, high]
    ((low, high] with ``low_open``).  A non-number (a string, None, a complex)
    is a TypeError; NaN, an infinity, a bool or a value out of range a ValueError."""
    if not isinstance(value, numbers.Real):
        fail(owner, f"{name} a finite number", value, TypeError)
    if isinstance(value, bool) or not math.isfinite(value):
        fail(owner, f"{name} a finite number", value)
    value = float(value)
    if low is not None and (value <= low if low_open else value < low):
        fail(owner, f"{name} {'>' if low_open else '>='} {low}", value)
    if high is not None and value > high:
        fail(owner, f"{name} <= {high}", value)
    return value


def check_bool(value, owner, name):
    """A flag: True or False (a NumPy bool too); anything else is a TypeError, so
    that a string such as "False" is never taken as true."""
    if not isinstance(value, (bool, np.bool_)):
        fail(owner, f"{name} True or False", value, TypeError)
    return bool(value)


def check_seed(seed, owner):
    """None or an integer >= 0 (what ``np.random.SeedSequence`` takes)."""
    if seed is None:
        return None
    if not isinstance(seed, numbers.Real):
        fail(owner, "seed None or an integer >= 0", seed, TypeError)
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        fail(owner, "seed None or an integer >= 0", seed)
    return int(seed)


def to_pair(value, owner, name):
    """An int or a pair of ints, as a tuple (height, width), each within
    [-MAX_INDEX, MAX_INDEX]."""
    items = value if isinstance(value, (tuple, list)) else (value,)
    if not all(isinstance(v, numbers.Real) for v in items):
        fail(owner, f"{name} an int or a pair of ints", value, TypeError)
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        pair = (int(value), int(value))
    elif (isinstance(value, (tuple, list)) and len(value) == 2
            and all(isinstance(v, numbers.Integral) and not isinstance(v, bool) for v in value)):
        pair = (int(value[0]), int(value[1]))
    else:
        fail(owner, f"{name} an int or a pair of ints", value)
    if max(abs(v) for v in pair) > MAX_INDEX:
        fail(owner, f"{name} at most {MAX_INDEX} (2**31 - 1) in absolute value", value)
    return pair


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


@functools.lru_cache(maxsize=None)
def memory_limit():
    """The largest array, in bytes, that ``check_allocation`` lets through: the
    machine's physical memory (1 TiB where the platform does not report it)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return _FALLBACK_MEMORY


def check_allocation(shape, dtype, owner, what):
    """Refuse, before anything is allocated, an array of ``shape`` and ``dtype`` that
    could not exist: more elements than int64 indexing counts, or more bytes than
    the machine's memory.  ``what`` names the array in the message."""
    count = math.prod(int(s) for s in shape)
    itemsize = np.dtype(dtype).itemsize
    limit = memory_limit()
    if count > _INT64_MAX or count * itemsize > limit:
        fail(owner, f"{what} of at most {_bytes_text(limit)} (the machine's memory)",
             f"shape {tuple(int(s) for s in shape)} of {np.dtype(dtype).name}, "
             f"{_bytes_text(count * itemsize)}")


def _bytes_text(n):
    """A byte count for people: 512 B, 1.5 GiB, 364 TiB..."""
    if n < 1024:
        return f"{n} B"
    units = ("KiB", "MiB", "GiB", "TiB", "PiB", "EiB")
    power = min((int(n).bit_length() - 1) // 10, len(units))
    return f"{n / 1024 ** power:.3g} {units[power - 1]}"
