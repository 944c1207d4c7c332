"""Softmax kernels: thin typed wrappers over rg_softmax_*.

The caller (retrograd.backend.native_ops) passes C-contiguous (rows, cols)
views; every shape is checked here before the GIL is released, so no input
can make the C code read or write out of bounds.
"""
from cython cimport floating
from libc.stdint cimport int64_t
from rg_capi cimport (rg_softmax_forward_f32, rg_softmax_forward_f64, rg_softmax_backward_f32,
                      rg_softmax_backward_f64, rg_softmax_cross_entropy_f32,
                      rg_softmax_cross_entropy_f64)


cdef inline void _check_shapes(Py_ssize_t rows, Py_ssize_t cols, tuple named) except *:
    for name, shape in named:
        if shape != (rows, cols):
            raise ValueError(f"softmax kernel: expected {name} of shape {(rows, cols)}, "
                             f"got {shape!r}")


def forward(const floating[:, ::1] x, floating[:, ::1] y, int n_threads):
    """y = softmax(x) along the last axis (max-subtracted)."""
    cdef int64_t rows = x.shape[0], cols = x.shape[1]
    _check_shapes(rows, cols, (("y", (y.shape[0], y.shape[1])),))
    if rows == 0 or cols == 0:
        return
    with nogil:
        if floating is float:
            rg_softmax_forward_f32(&y[0, 0], &x[0, 0], rows, cols, n_threads)
        else:
            rg_softmax_forward_f64(&y[0, 0], &x[0, 0], rows, cols, n_threads)


def backward(const floating[:, ::1] dy, const floating[:, ::1] y, floating[:, ::1] dx,
             int n_threads):
    """dx = y * (dy - sum(dy * y, last axis))."""
    cdef int64_t rows = dy.shape[0], cols = dy.shape[1]
    _check_shapes(rows, cols, (("y", (y.shape[0], y.shape[1])), ("dx", (dx.shape[0], dx.shape[1]))))
    if rows == 0 or cols == 0:
        return
    with nogil:
        if floating is float:
            rg_softmax_backward_f32(&dx[0, 0], &dy[0, 0], &y[0, 0], rows, cols, n_threads)
        else:
            rg_softmax_backward_f64(&dx[0, 0], &dy[0, 0], &y[0, 0], rows, cols, n_threads)


def cross_entropy(const floating[:, ::1] logits, const floating[:, ::1] targets,
                  floating[:, ::1] grad, double[::1] row_loss, int n_threads):
    """Fills grad = (softmax(logits) - targets) / rows and returns the mean over rows of
    -sum(targets * log_softmax(logits)).  row_loss: (rows,) float64 scratch."""
    cdef int64_t rows = logits.shape[0], cols = logits.shape[1]
    cdef double loss = 0.0
    _check_shapes(rows, cols, (("targets", (targets.shape[0], targets.shape[1])),
                               ("grad", (grad.shape[0], grad.shape[1]))))
    if row_loss.shape[0] != rows:
        raise ValueError(f"softmax kernel: expected row_loss of length {rows}, "
                         f"got {row_loss.shape[0]!r}")
    if rows == 0 or cols == 0:
        raise ValueError(f"softmax kernel: expected a non-empty (rows, cols) matrix, "
                         f"got {(rows, cols)!r}")
    with nogil:
        if floating is float:
            rg_softmax_cross_entropy_f32(&grad[0, 0], &loss, &row_loss[0], &logits[0, 0],
                                         &targets[0, 0], rows, cols, n_threads)
        else:
            rg_softmax_cross_entropy_f64(&grad[0, 0], &loss, &row_loss[0], &logits[0, 0],
                                         &targets[0, 0], rows, cols, n_threads)
    return loss
