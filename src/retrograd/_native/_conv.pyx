"""Convolution kernels: thin typed wrappers over rg_conv2d_forward_*, rg_conv2d_backward_*
and rg_conv2d_workspace_size_* (csrc/conv.c).

The caller (retrograd.backend.native_ops) reorders the kernels into the matrices wm
(KH KW C, F) and wmt (F, KH KW C) and owns the workspace.  Every size is checked here
before the GIL is released (output sizes >= 1 and consistent with stride and padding,
every array's shape, the workspace length), so no input can make the C code read or write
out of bounds.
"""
from cython cimport floating
from libc.stdint cimport int64_t
from rg_capi cimport (rg_conv2d_workspace_size_f32, rg_conv2d_workspace_size_f64,
                      rg_conv2d_forward_f32, rg_conv2d_forward_f64, rg_conv2d_backward_f32,
                      rg_conv2d_backward_f64)


def output_size(Py_ssize_t H, Py_ssize_t W, Py_ssize_t KH, Py_ssize_t KW, tuple stride,
                tuple padding):
    """(OH, OW) after checking the geometry: images and kernels at least 1x1, strides
    >= 1, paddings >= 0, the kernel no larger than the padded input."""
    sh, sw = stride
    (pt, pb), (pl, pr) = padding
    if H < 1 or W < 1:
        raise ValueError(f"conv2d kernel: expected images of at least 1x1, got {(H, W)!r}")
    if sh < 1 or sw < 1:
        raise ValueError(f"conv2d kernel: expected strides >= 1, got {stride!r}")
    if min(pt, pb, pl, pr) < 0:
        raise ValueError(f"conv2d kernel: expected paddings >= 0, got {padding!r}")
    if KH < 1 or KW < 1 or H + pt + pb < KH or W + pl + pr < KW:
        raise ValueError(f"conv2d kernel: expected a kernel no larger than the padded input "
                         f"{(H + pt + pb, W + pl + pr)}, got {(KH, KW)!r}")
    return (H + pt + pb - KH) // sh + 1, (W + pl + pr - KW) // sw + 1


def workspace_size(Py_ssize_t H, Py_ssize_t W, Py_ssize_t C, Py_ssize_t F, Py_ssize_t KH,
                   Py_ssize_t KW, tuple stride, tuple padding, int n_threads,
                   bint double_precision):
    """Elements of the workspace a call with this geometry needs (the direct kernels of
    single-channel images size it from the image, the im2col tiles from the kernel)."""
    _check_positive(C, KH, KW, F, n_threads)
    OH, OW = output_size(H, W, KH, KW, stride, padding)
    cdef int64_t sh = stride[0], sw = stride[1], pt = padding[0][0], pl = padding[1][0]
    if double_precision:
        return rg_conv2d_workspace_size_f64(H, W, C, F, KH, KW, sh, sw, pt, pl, OH, OW,
                                            n_threads)
    return rg_conv2d_workspace_size_f32(H, W, C, F, KH, KW, sh, sw, pt, pl, OH, OW, n_threads)


cdef void _check_positive(Py_ssize_t C, Py_ssize_t KH, Py_ssize_t KW, Py_ssize_t F,
                          int n_threads) except *:
    if C < 1 or KH < 1 or KW < 1 or F < 1:
        raise ValueError(f"conv2d kernel: expected C, KH, KW, F >= 1, got "
                         f"{(C, KH, KW, F)!r}")
    if n_threads < 1:
        raise ValueError(f"conv2d kernel: expected n_threads >= 1, got {n_threads!r}")


cdef void _check_shape(str name, tuple got, tuple want) except *:
    if got != want:
        raise ValueError(f"conv2d kernel: expected {name} of shape {want}, got {got!r}")


cdef tuple _geometry(Py_ssize_t N, Py_ssize_t H, Py_ssize_t W, Py_ssize_t C, Py_ssize_t F,
                     Py_ssize_t KH, Py_ssize_t KW, tuple stride, tuple padding,
                     Py_ssize_t work_len, int n_threads, bint double_precision):
    """(OH, OW) after checking the sizes shared by forward and backward."""
    if N < 1:
        raise ValueError(f"conv2d kernel: expected a non-empty batch, got N={N!r}")
    OH, OW = output_size(H, W, KH, KW, stride, padding)
    need = workspace_size(H, W, C, F, KH, KW, stride, padding, n_threads, double_precision)
    if work_len < need:
        raise ValueError(f"conv2d kernel: expected a workspace of at least {need} elements, "
                         f"got {work_len!r}")
    return OH, OW


def forward(const floating[:, :, :, ::1] x, const floating[:, ::1] wm, const floating[::1] b,
            Py_ssize_t KH, Py_ssize_t KW, tuple stride, tuple padding, floating[:, :, :, ::1] y,
            floating[::1] work, int n_threads):
    """y[n, i, j, f] = b[f] + sum_{(p, q, c)} xpad[n, i sh + p, j sw + q, c] wm[(p, q, c), f]."""
    cdef Py_ssize_t N = x.shape[0], H = x.shape[1], W = x.shape[2], C = x.shape[3]
    cdef Py_ssize_t F = wm.shape[1]
    OH, OW = _geometry(N, H, W, C, F, KH, KW, stride, padding, work.shape[0], n_threads,
                       floating is double)
    _check_shape("wm", (wm.shape[0], wm.shape[1]), (KH * KW * C, F))
    _check_shape("b", (b.shape[0],), (F,))
    _check_shape("y", (y.shape[0], y.shape[1], y.shape[2], y.shape[3]), (N, OH, OW, F))
    cdef int64_t n = N, h = H, w = W, c = C, f = F, kh = KH, kw = KW, oh = OH, ow = OW
    cdef int64_t sh = stride[0], sw = stride[1], pt = padding[0][0], pl = padding[1][0]
    with nogil:
        if floating is float:
            rg_conv2d_forward_f32(&y[0, 0, 0, 0], &work[0], &x[0, 0, 0, 0], &wm[0, 0], &b[0],
                                  n, h, w, c, f, kh, kw, sh, sw, pt, pl, oh, ow, n_threads)
        else:
            rg_conv2d_forward_f64(&y[0, 0, 0, 0], &work[0], &x[0, 0, 0, 0], &wm[0, 0], &b[0],
                                  n, h, w, c, f, kh, kw, sh, sw, pt, pl, oh, ow, n_threads)


def backward(const floating[:, :, :, ::1] dy, const floating[:, :, :, ::1] x,
             const floating[:, ::1] wmt, Py_ssize_t KH, Py_ssize_t KW, tuple stride,
             tuple padding, floating[:, :, :, ::1] dx, floating[:, ::1] dwm, floating[::1] db,
             floating[::1] work, int n_threads):
    """dx = col2im(dy wm^T), dwm = cols^T dy, db = sum of dy over N, OH, OW; dx None:
    the input gradient is not computed (a network's first layer)."""
    cdef Py_ssize_t N = x.shape[0], H = x.shape[1], W = x.shape[2], C = x.shape[3]
    cdef Py_ssize_t F = wmt.shape[0]
    OH, OW = _geometry(N, H, W, C, F, KH, KW, stride, padding, work.shape[0], n_threads,
                       floating is double)
    _check_shape("wmt", (wmt.shape[0], wmt.shape[1]), (F, KH * KW * C))
    _check_shape("dy", (dy.shape[0], dy.shape[1], dy.shape[2], dy.shape[3]), (N, OH, OW, F))
    cdef floating *dx_ptr = NULL
    if dx is not None:
        _check_shape("dx", (dx.shape[0], dx.shape[1], dx.shape[2], dx.shape[3]), (N, H, W, C))
        dx_ptr = &dx[0, 0, 0, 0]
    _check_shape("dwm", (dwm.shape[0], dwm.shape[1]), (KH * KW * C, F))
    _check_shape("db", (db.shape[0],), (F,))
    cdef int64_t n = N, h = H, w = W, c = C, f = F, kh = KH, kw = KW, oh = OH, ow = OW
    cdef int64_t sh = stride[0], sw = stride[1], pt = padding[0][0], pl = padding[1][0]
    with nogil:
        if floating is float:
            rg_conv2d_backward_f32(dx_ptr, &dwm[0, 0], &db[0], &work[0],
                                   &dy[0, 0, 0, 0], &x[0, 0, 0, 0], &wmt[0, 0], n, h, w, c, f,
                                   kh, kw, sh, sw, pt, pl, oh, ow, n_threads)
        else:
            rg_conv2d_backward_f64(dx_ptr, &dwm[0, 0], &db[0], &work[0],
                                   &dy[0, 0, 0, 0], &x[0, 0, 0, 0], &wmt[0, 0], n, h, w, c, f,
                                   kh, kw, sh, sw, pt, pl, oh, ow, n_threads)
