"""Activation kernels: thin typed wrappers over rg_activation_*, rg_rrelu_*,
rg_noisy_relu_* and rg_prelu_*.

The caller (retrograd.backend.native_ops) passes C-contiguous 1-D views of
equal length (PReLU: (rows, channels) views); they are checked here again
before the GIL is released, so no input can make the C code read or write out
of bounds.
"""
from cython cimport floating
from libc.stdint cimport int64_t
from rg_capi cimport (RG_ACT_COUNT, RG_REDUCE_GROUPS, rg_activation_forward_f32, rg_activation_forward_f64,
                      rg_activation_backward_f32, rg_activation_backward_f64,
                      rg_rrelu_forward_f32, rg_rrelu_forward_f64, rg_rrelu_backward_f32,
                      rg_rrelu_backward_f64, rg_noisy_relu_forward_f32, rg_noisy_relu_forward_f64,
                      rg_prelu_forward_f32, rg_prelu_forward_f64, rg_prelu_backward_f32,
                      rg_prelu_backward_f64)


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


cdef inline void _check_lengths(int64_t n, tuple named) except *:
    for name, length in named:
        if length != n:
            raise ValueError(f"activation kernel: expected {name} of length {n}, got {length!r}")


def rrelu_forward(const floating[::1] x, const floating[::1] slopes, floating[::1] y,
                  int n_threads):
    """y = x where x > 0, else slopes * x."""
    cdef int64_t n = x.shape[0]
    _check_lengths(n, (("slopes", slopes.shape[0]), ("y", y.shape[0])))
    if n == 0:
        return
    with nogil:
        if floating is float:
            rg_rrelu_forward_f32(&y[0], &x[0], &slopes[0], n, n_threads)
        else:
            rg_rrelu_forward_f64(&y[0], &x[0], &slopes[0], n, n_threads)


def rrelu_backward(const floating[::1] dy, const floating[::1] x, const floating[::1] slopes,
                   floating[::1] dx, int n_threads):
    """dx = dy where x > 0, else slopes * dy."""
    cdef int64_t n = dy.shape[0]
    _check_lengths(n, (("x", x.shape[0]), ("slopes", slopes.shape[0]), ("dx", dx.shape[0])))
    if n == 0:
        return
    with nogil:
        if floating is float:
            rg_rrelu_backward_f32(&dx[0], &dy[0], &x[0], &slopes[0], n, n_threads)
        else:
            rg_rrelu_backward_f64(&dx[0], &dy[0], &x[0], &slopes[0], n, n_threads)


def noisy_relu_forward(const floating[::1] x, const floating[::1] noise, floating[::1] y,
                       int n_threads):
    """y = max(0, x + noise * sqrt(sigmoid(x)))."""
    cdef int64_t n = x.shape[0]
    _check_lengths(n, (("noise", noise.shape[0]), ("y", y.shape[0])))
    if n == 0:
        return
    with nogil:
        if floating is float:
            rg_noisy_relu_forward_f32(&y[0], &x[0], &noise[0], n, n_threads)
        else:
            rg_noisy_relu_forward_f64(&y[0], &x[0], &noise[0], n, n_threads)


cdef inline void _check_prelu(tuple named, Py_ssize_t rows, Py_ssize_t channels,
                              Py_ssize_t n_alpha) except *:
    if n_alpha != channels:
        raise ValueError(f"prelu kernel: expected alpha of length {channels}, got {n_alpha!r}")
    for name, shape in named:
        if shape != (rows, channels):
            raise ValueError(f"prelu kernel: expected {name} of shape {(rows, channels)}, "
                             f"got {shape!r}")


def prelu_forward(const floating[:, ::1] x, const floating[::1] alpha, floating[:, ::1] y,
                  int n_threads):
    """y = x where x > 0, else alpha[c] * x;  x, y (rows, channels), alpha (channels,)."""
    cdef int64_t rows = x.shape[0], channels = x.shape[1]
    _check_prelu((("y", (y.shape[0], y.shape[1])),), rows, channels, alpha.shape[0])
    if rows == 0 or channels == 0:
        return
    with nogil:
        if floating is float:
            rg_prelu_forward_f32(&y[0, 0], &x[0, 0], &alpha[0], rows, channels, n_threads)
        else:
            rg_prelu_forward_f64(&y[0, 0], &x[0, 0], &alpha[0], rows, channels, n_threads)


def prelu_backward(const floating[:, ::1] dy, const floating[:, ::1] x,
                   const floating[::1] alpha, floating[:, ::1] dx, floating[::1] dalpha,
                   double[:, ::1] work, int n_threads):
    """dx = dy where x > 0, else alpha[c] * dy;  dalpha[c] = sum of dy * x where x <= 0.

    work: (RG_REDUCE_GROUPS, channels) float64 scratch for the per-group partial sums."""
    cdef int64_t rows = dy.shape[0], channels = dy.shape[1]
    _check_prelu((("x", (x.shape[0], x.shape[1])), ("dx", (dx.shape[0], dx.shape[1]))),
                 rows, channels, alpha.shape[0])
    if dalpha.shape[0] != channels:
        raise ValueError(f"prelu kernel: expected dalpha of length {channels}, "
                         f"got {dalpha.shape[0]!r}")
    if work.shape[0] < RG_REDUCE_GROUPS or work.shape[1] != channels:
        raise ValueError(f"prelu kernel: expected work of shape {(RG_REDUCE_GROUPS, channels)}, "
                         f"got {(work.shape[0], work.shape[1])!r}")
    if channels == 0:
        return
    if rows == 0:
        dalpha[:] = 0
        return
    with nogil:
        if floating is float:
            rg_prelu_backward_f32(&dx[0, 0], &dalpha[0], &dy[0, 0], &x[0, 0], &alpha[0],
                                  &work[0, 0], rows, channels, n_threads)
        else:
            rg_prelu_backward_f64(&dx[0, 0], &dalpha[0], &dy[0, 0], &x[0, 0], &alpha[0],
                                  &work[0, 0], rows, channels, n_threads)


REDUCE_GROUPS = RG_REDUCE_GROUPS   # rows of prelu_backward's work
