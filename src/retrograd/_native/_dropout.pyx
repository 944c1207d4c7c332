"""Dropout's fused multiply: a thin typed wrapper over rg_dropout_apply (csrc/dropout.c).

The caller (retrograd.backend.native_ops) passes C-contiguous 1-D views of equal
length (the mask as bytes); they are checked here again before the GIL is released.
"""
from cython cimport floating
from libc.stdint cimport int64_t, uint8_t
from rg_capi cimport rg_dropout_apply_f32, rg_dropout_apply_f64


def apply(const floating[::1] x, const uint8_t[::1] mask, floating[::1] y, double scale,
          int n_threads):
    """y = x * mask * scale (forward with x, backward with dy)."""
    cdef int64_t n = x.shape[0]
    if mask.shape[0] != n or y.shape[0] != n:
        raise ValueError(f"dropout kernel: expected mask and output of length {n}, "
                         f"got {mask.shape[0]} and {y.shape[0]}")
    if n == 0:
        return
    with nogil:
        if floating is float:
            rg_dropout_apply_f32(&y[0], &x[0], &mask[0], scale, n, n_threads)
        else:
            rg_dropout_apply_f64(&y[0], &x[0], &mask[0], scale, n, n_threads)
