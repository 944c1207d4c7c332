"""Dense-layer kernels: thin typed wrappers over rg_dense_forward_*, rg_dense_backward_* and
rg_dense_workspace_size_* (csrc/dense.c).

The caller (retrograd.backend.native_ops) makes every array C-contiguous in one dtype and
owns the workspace.  Every size is checked here before the GIL is released (N, in, out >= 1,
every array's shape against x and W, the workspace length), so no input can make the C code
read or write out of bounds.
"""
from cython cimport floating
from libc.stdint cimport int64_t
from rg_capi cimport (RG_DENSE_GRAIN, rg_dense_workspace_size_f32, rg_dense_workspace_size_f64,
                      rg_dense_forward_f32, rg_dense_forward_f64, rg_dense_backward_f32,
                      rg_dense_backward_f64)


def grain():
    """Multiply-adds per thread below which the dense kernels use fewer threads."""
    return RG_DENSE_GRAIN


def workspace_size(Py_ssize_t N, Py_ssize_t I, Py_ssize_t O, int n_threads,
                   bint double_precision):
    """Elements of the workspace a call with a batch of N, I inputs and O outputs needs."""
    if N < 1 or I < 1 or O < 1:
        raise ValueError(f"dense kernel: expected N, in, out >= 1, got {(N, I, O)!r}")
    if n_threads < 1:
        raise ValueError(f"dense kernel: expected n_threads >= 1, got {n_threads!r}")
    if double_precision:
        return rg_dense_workspace_size_f64(N, I, O, n_threads)
    return rg_dense_workspace_size_f32(N, I, O, n_threads)


cdef void _check_shape(str name, tuple got, tuple want) except *:
    if got != want:
        raise ValueError(f"dense kernel: expected {name} of shape {want}, got {got!r}")


cdef void _check_work(Py_ssize_t N, Py_ssize_t I, Py_ssize_t O, Py_ssize_t work_len,
                      int n_threads, bint double_precision) except *:
    need = workspace_size(N, I, O, n_threads, double_precision)
    if work_len < need:
        raise ValueError(f"dense kernel: expected a workspace of at least {need} elements, "
                         f"got {work_len!r}")


def forward(const floating[:, ::1] x, const floating[:, ::1] w, const floating[::1] b,
            floating[:, ::1] y, floating[::1] work, int n_threads):
    """y[n, o] = b[o] + sum_i x[n, i] w[i, o]."""
    cdef Py_ssize_t N = x.shape[0], I = x.shape[1], O = w.shape[1]
    _check_work(N, I, O, work.shape[0], n_threads, floating is double)
    _check_shape("w", (w.shape[0], w.shape[1]), (I, O))
    _check_shape("b", (b.shape[0],), (O,))
    _check_shape("y", (y.shape[0], y.shape[1]), (N, O))
    with nogil:
        if floating is float:
            rg_dense_forward_f32(&y[0, 0], &work[0], &x[0, 0], &w[0, 0], &b[0], N, I, O,
                                 n_threads)
        else:
            rg_dense_forward_f64(&y[0, 0], &work[0], &x[0, 0], &w[0, 0], &b[0], N, I, O,
                                 n_threads)


def backward(const floating[:, ::1] dy, const floating[:, ::1] x, const floating[:, ::1] w,
             floating[:, ::1] dx, floating[:, ::1] dw, floating[::1] db, floating[::1] work,
             int n_threads):
    """dx = dy w^T, dw = x^T dy, db = sum of dy over the batch; dx None: the input gradient
    is not computed (a network's first layer)."""
    cdef Py_ssize_t N = x.shape[0], I = x.shape[1], O = w.shape[1]
    _check_work(N, I, O, work.shape[0], n_threads, floating is double)
    _check_shape("w", (w.shape[0], w.shape[1]), (I, O))
    _check_shape("dy", (dy.shape[0], dy.shape[1]), (N, O))
    cdef floating *dx_ptr = NULL
    if dx is not None:
        _check_shape("dx", (dx.shape[0], dx.shape[1]), (N, I))
        dx_ptr = &dx[0, 0]
    _check_shape("dw", (dw.shape[0], dw.shape[1]), (I, O))
    _check_shape("db", (db.shape[0],), (O,))
    with nogil:
        if floating is float:
            rg_dense_backward_f32(dx_ptr, &dw[0, 0], &db[0], &work[0], &dy[0, 0], &x[0, 0],
                                  &w[0, 0], N, I, O, n_threads)
        else:
            rg_dense_backward_f64(dx_ptr, &dw[0, 0], &db[0], &work[0], &dy[0, 0], &x[0, 0],
                                  &w[0, 0], N, I, O, n_threads)
