"""The native kernels: same names and signatures as ``numpy_ops``, forwarding
to the compiled C/OpenMP code in ``retrograd._native``.

Arrays are made C-contiguous here (non-contiguous and read-only inputs work);
outputs are allocated here and filled by C.
"""
import numpy as np

from .._config import get_num_threads
from .._native import _activations

# ---- dense ---------------------------------------------------------------------------------
# The matrix products of a dense layer are already native code: NumPy hands them to its
# optimised BLAS (multithreaded, cache-blocked), which a hand-written GEMM here would only
# match.  So the native backend reuses the reference kernels for Dense.
from .numpy_ops import dense_forward, dense_backward  # noqa: E402,F401


# ---- element-wise activations -------------------------------------------------------------
# Kind numbers of csrc/retrograd.h, enum rg_activation_kind.
_ACTIVATION_KINDS = {
    "relu": 0, "leaky_relu": 1, "sigmoid": 2, "tanh": 3, "softsign": 4, "hard_sigmoid": 5,
    "hard_tanh": 6, "elu": 7, "selu": 8, "gelu_erf": 9, "gelu_tanh": 10, "gelu_sigmoid": 11,
    "swish": 12,
}


def _flat(a):
    return np.ascontiguousarray(a).reshape(-1)


def _activation_forward(kind, x, a=0.0, b=0.0):
    x = np.ascontiguousarray(x)
    y = np.empty_like(x)
    _activations.forward(kind, x.reshape(-1), y.reshape(-1), a, b, get_num_threads())
    return y


def _activation_backward(kind, dy, x, y, a=0.0, b=0.0):
    dy = np.ascontiguousarray(dy, dtype=x.dtype)
    dx = np.empty_like(dy)
    _activations.backward(kind, dy.reshape(-1), _flat(x), _flat(y), dx.reshape(-1), a, b,
                          get_num_threads())
    return dx


def _make_activation(name, kind):
    def forward(x, *hyper):
        return _activation_forward(kind, x, *hyper)

    def backward(dy, x, y, *hyper):
        return _activation_backward(kind, dy, x, y, *hyper)

    forward.__name__, backward.__name__ = f"{name}_forward", f"{name}_backward"
    forward.__doc__ = f"Native {name} forward (C kernel rg_activation_forward, kind {kind})."
    backward.__doc__ = f"Native {name} backward (C kernel rg_activation_backward, kind {kind})."
    return forward, backward


for _name, _kind in _ACTIVATION_KINDS.items():
    globals()[f"{_name}_forward"], globals()[f"{_name}_backward"] = _make_activation(_name, _kind)
del _name, _kind
