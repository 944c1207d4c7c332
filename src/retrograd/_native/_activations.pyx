"""Element-wise activation kernels: thin typed wrappers over rg_activation_*.

The caller (retrograd.backend.native_ops) passes C-contiguous 1-D views of
equal length; they are checked here again before the GIL is released, so no
input can make the C code read or write out of bounds.
"""
from cython cimport floating
from libc.stdint cimport int64_t
from rg_capi cimport (RG_ACT_COUNT, rg_activation_forward_f32, rg_activation_forward_f64,
                      rg_activation_backward_f32, rg_activation_backward_f64)


cdef inline void _check_kind(int kind) except *:
    if kind < 0 or kind >= RG_ACT_COUNT:
        raise ValueError(f"activation kernel: expected kind in [0, {RG_ACT_COUNT}), got {kind!r}")


def forward(int kind, const floating[::1] x, floating[::1] y, double a, double b, int n_threads):
    """y = f(x) element-wise."""
    _check_kind(kind)
    if y.shape[0] != x.shape[0]:
        raise ValueError(f"activation kernel: expected output of length {x.shape[0]}, "
                         f"got {y.shape[0]}")
    cdef int64_t n = x.shape[0]
    if n == 0:
        return
    with nogil:
        if floating is float:
            rg_activation_forward_f32(&y[0], &x[0], n, kind, a, b, n_threads)
        else:
            rg_activation_forward_f64(&y[0], &x[0], n, kind, a, b, n_threads)


def backward(int kind, const floating[::1] dy, const floating[::1] x, const floating[::1] y,
             floating[::1] dx, double a, double b, int n_threads):
    """dx = dy * f'(x), from whichever of x and y the kind needs."""
    _check_kind(kind)
    cdef int64_t n = dy.shape[0]
    if x.shape[0] != n or y.shape[0] != n or dx.shape[0] != n:
        raise ValueError(f"activation kernel: expected arrays of length {n}, got "
                         f"x {x.shape[0]}, y {y.shape[0]}, dx {dx.shape[0]}")
    if n == 0:
        return
    with nogil:
        if floating is float:
            rg_activation_backward_f32(&dx[0], &dy[0], &x[0], &y[0], n, kind, a, b, n_threads)
        else:
            rg_activation_backward_f64(&dx[0], &dy[0], &x[0], &y[0], n, kind, a, b, n_threads)
