"""Pooling kernels: thin typed wrappers over rg_pool_* (csrc/pool.c).

The caller (retrograd.backend.native_ops) passes C-contiguous NHWC arrays and
allocates the outputs with the sizes ``geometry`` gives.  Every size is
checked here again before the GIL is released, so no input can make the C code
read or write out of bounds.  The max backward kernels only compare indices,
never address memory with them, and report those outside the window, which
are raised here as ValueError.
"""
from cython cimport floating
from libc.stdint cimport int32_t, int64_t
from rg_capi cimport (rg_pool_max2d_forward_f32, rg_pool_max2d_forward_f64,
                      rg_pool_max2d_backward_f32, rg_pool_max2d_backward_f64,
                      rg_pool_avg2d_forward_f32, rg_pool_avg2d_forward_f64,
                      rg_pool_avg2d_backward_f32, rg_pool_avg2d_backward_f64,
                      rg_pool_global_max_forward_f32, rg_pool_global_max_forward_f64,
                      rg_pool_global_max_backward_f32, rg_pool_global_max_backward_f64,
                      rg_pool_global_avg_forward_f32, rg_pool_global_avg_forward_f64,
                      rg_pool_global_avg_backward_f32, rg_pool_global_avg_backward_f64)

# indices are int32: a window (or image) must have fewer positions
_MAX_POSITIONS = 2**31 - 1


def geometry(str kernel, tuple shape, tuple pool, tuple stride):
    """(OH, OW) of pooling an image batch of ``shape`` (N, H, W, C) with windows
    ``pool`` (ph, pw) every ``stride`` (sh, sw): OH = (H - ph) // sh + 1, OW likewise.
    Raises ValueError for anything the C kernels cannot take."""
    if len(shape) != 4 or any(not isinstance(s, int) or s < 0 for s in shape):
        raise ValueError(f"{kernel}: expected an image shape (N, H, W, C), got {shape!r}")
    for name, pair in (("pool", pool), ("stride", stride)):
        if len(pair) != 2 or any(not isinstance(v, int) or v < 1 for v in pair):
            raise ValueError(f"{kernel}: expected {name} as two ints >= 1, got {pair!r}")
    n, h, w, c = shape
    (ph, pw), (sh, sw) = pool, stride
    if ph > h or pw > w:
        raise ValueError(f"{kernel}: expected a pool window within the image {(h, w)}, "
                         f"got {pool!r}")
    if ph * pw > _MAX_POSITIONS:
        raise ValueError(f"{kernel}: expected fewer than 2**31 window positions, got {pool!r}")
    return (h - ph) // sh + 1, (w - pw) // sw + 1


cdef inline void _check_shape(str kernel, str name, tuple expected, tuple got) except *:
    if got != expected:
        raise ValueError(f"{kernel}: expected {name} of shape {expected}, got {got!r}")


cdef inline tuple _shape4(const floating[:, :, :, ::1] a):
    return (a.shape[0], a.shape[1], a.shape[2], a.shape[3])


cdef inline tuple _ishape4(const int32_t[:, :, :, ::1] a):
    return (a.shape[0], a.shape[1], a.shape[2], a.shape[3])


cdef inline void _check_bad(str kernel, int64_t bad, int64_t positions) except *:
    if bad:
        raise ValueError(f"{kernel}: expected indices in [0, {positions}), "
                         f"got {bad} outside it")


def max2d_forward(const floating[:, :, :, ::1] x, floating[:, :, :, ::1] y,
                  int32_t[:, :, :, ::1] indices, tuple pool, tuple stride, int n_threads):
    """y = max over each window; indices = p*pw + q of its first maximum."""
    shape = _shape4(x)
    oh, ow = geometry("maxpool2d_forward", shape, pool, stride)
    out = (shape[0], oh, ow, shape[3])
    _check_shape("maxpool2d_forward", "y", out, _shape4(y))
    _check_shape("maxpool2d_forward", "indices", out, _ishape4(indices))
    if y.size == 0:
        return
    cdef int64_t n = shape[0], h = shape[1], w = shape[2], c = shape[3]
    cdef int64_t ph = pool[0], pw = pool[1], sh = stride[0], sw = stride[1]
    with nogil:
        if floating is float:
            rg_pool_max2d_forward_f32(&y[0, 0, 0, 0], &indices[0, 0, 0, 0], &x[0, 0, 0, 0],
                                      n, h, w, c, ph, pw, sh, sw, n_threads)
        else:
            rg_pool_max2d_forward_f64(&y[0, 0, 0, 0], &indices[0, 0, 0, 0], &x[0, 0, 0, 0],
                                      n, h, w, c, ph, pw, sh, sw, n_threads)


def max2d_backward(const floating[:, :, :, ::1] dy, const int32_t[:, :, :, ::1] indices,
                   floating[:, :, :, ::1] dx, tuple pool, tuple stride, int n_threads):
    """dx = dy routed to each window's maximum; overlapping windows add up."""
    shape = _shape4(dx)
    oh, ow = geometry("maxpool2d_backward", shape, pool, stride)
    out = (shape[0], oh, ow, shape[3])
    _check_shape("maxpool2d_backward", "dy", out, _shape4(dy))
    _check_shape("maxpool2d_backward", "indices", out, _ishape4(indices))
    if dx.size == 0:
        return
    cdef int64_t n = shape[0], h = shape[1], w = shape[2], c = shape[3]
    cdef int64_t ph = pool[0], pw = pool[1], sh = stride[0], sw = stride[1], bad
    with nogil:
        if floating is float:
            bad = rg_pool_max2d_backward_f32(&dx[0, 0, 0, 0], &dy[0, 0, 0, 0],
                                             &indices[0, 0, 0, 0], n, h, w, c, ph, pw, sh, sw,
                                             n_threads)
        else:
            bad = rg_pool_max2d_backward_f64(&dx[0, 0, 0, 0], &dy[0, 0, 0, 0],
                                             &indices[0, 0, 0, 0], n, h, w, c, ph, pw, sh, sw,
                                             n_threads)
    _check_bad("maxpool2d_backward", bad, ph * pw)


def avg2d_forward(const floating[:, :, :, ::1] x, floating[:, :, :, ::1] y, tuple pool,
                  tuple stride, int n_threads):
    """y = mean over each window."""
    shape = _shape4(x)
    oh, ow = geometry("avgpool2d_forward", shape, pool, stride)
    _check_shape("avgpool2d_forward", "y", (shape[0], oh, ow, shape[3]), _shape4(y))
    if y.size == 0:
        return
    cdef int64_t n = shape[0], h = shape[1], w = shape[2], c = shape[3]
    cdef int64_t ph = pool[0], pw = pool[1], sh = stride[0], sw = stride[1]
    with nogil:
        if floating is float:
            rg_pool_avg2d_forward_f32(&y[0, 0, 0, 0], &x[0, 0, 0, 0], n, h, w, c, ph, pw, sh,
                                      sw, n_threads)
        else:
            rg_pool_avg2d_forward_f64(&y[0, 0, 0, 0], &x[0, 0, 0, 0], n, h, w, c, ph, pw, sh,
                                      sw, n_threads)


def avg2d_backward(const floating[:, :, :, ::1] dy, floating[:, :, :, ::1] dx, tuple pool,
                   tuple stride, int n_threads):
    """dx = dy / (ph pw) spread over each window; overlapping windows add up."""
    shape = _shape4(dx)
    oh, ow = geometry("avgpool2d_backward", shape, pool, stride)
    _check_shape("avgpool2d_backward", "dy", (shape[0], oh, ow, shape[3]), _shape4(dy))
    if dx.size == 0:
        return
    cdef int64_t n = shape[0], h = shape[1], w = shape[2], c = shape[3]
    cdef int64_t ph = pool[0], pw = pool[1], sh = stride[0], sw = stride[1]
    with nogil:
        if floating is float:
            rg_pool_avg2d_backward_f32(&dx[0, 0, 0, 0], &dy[0, 0, 0, 0], n, h, w, c, ph, pw, sh,
                                       sw, n_threads)
        else:
            rg_pool_avg2d_backward_f64(&dx[0, 0, 0, 0], &dy[0, 0, 0, 0], n, h, w, c, ph, pw, sh,
                                       sw, n_threads)


cdef inline int64_t _positions(str kernel, tuple shape) except -1:
    """H*W of an image batch shape, which int32 indices must be able to count."""
    if shape[1] * shape[2] > _MAX_POSITIONS:
        raise ValueError(f"{kernel}: expected fewer than 2**31 positions per image, "
                         f"got {shape[1] * shape[2]}")
    return shape[1] * shape[2]


def global_max_forward(const floating[:, :, :, ::1] x, floating[:, ::1] y,
                       int32_t[:, ::1] indices, int n_threads):
    """y[n, c] = max over the image; indices[n, c] = h*W + w of the first maximum."""
    shape = _shape4(x)
    cdef int64_t hw = _positions("global_maxpool_forward", shape)
    out = (shape[0], shape[3])
    _check_shape("global_maxpool_forward", "y", out, (y.shape[0], y.shape[1]))
    _check_shape("global_maxpool_forward", "indices", out, (indices.shape[0], indices.shape[1]))
    if x.size == 0:
        return
    cdef int64_t n = shape[0], c = shape[3]
    with nogil:
        if floating is float:
            rg_pool_global_max_forward_f32(&y[0, 0], &indices[0, 0], &x[0, 0, 0, 0], n, hw, c,
                                           n_threads)
        else:
            rg_pool_global_max_forward_f64(&y[0, 0], &indices[0, 0], &x[0, 0, 0, 0], n, hw, c,
                                           n_threads)


def global_max_backward(const floating[:, ::1] dy, const int32_t[:, ::1] indices,
                        floating[:, :, :, ::1] dx, int n_threads):
    """dx[n, h, w, c] = dy[n, c] where h*W + w == indices[n, c], else 0."""
    shape = _shape4(dx)
    cdef int64_t hw = _positions("global_maxpool_backward", shape)
    out = (shape[0], shape[3])
    _check_shape("global_maxpool_backward", "dy", out, (dy.shape[0], dy.shape[1]))
    _check_shape("global_maxpool_backward", "indices", out, (indices.shape[0], indices.shape[1]))
    if dx.size == 0:
        return
    cdef int64_t n = shape[0], c = shape[3], bad
    with nogil:
        if floating is float:
            bad = rg_pool_global_max_backward_f32(&dx[0, 0, 0, 0], &dy[0, 0], &indices[0, 0], n,
                                                  hw, c, n_threads)
        else:
            bad = rg_pool_global_max_backward_f64(&dx[0, 0, 0, 0], &dy[0, 0], &indices[0, 0], n,
                                                  hw, c, n_threads)
    _check_bad("global_maxpool_backward", bad, hw)


def global_avg_forward(const floating[:, :, :, ::1] x, floating[:, ::1] y, int n_threads):
    """y[n, c] = mean over the image."""
    shape = _shape4(x)
    cdef int64_t hw = _positions("global_avgpool_forward", shape)
    _check_shape("global_avgpool_forward", "y", (shape[0], shape[3]), (y.shape[0], y.shape[1]))
    if x.size == 0:
        return
    cdef int64_t n = shape[0], c = shape[3]
    with nogil:
        if floating is float:
            rg_pool_global_avg_forward_f32(&y[0, 0], &x[0, 0, 0, 0], n, hw, c, n_threads)
        else:
            rg_pool_global_avg_forward_f64(&y[0, 0], &x[0, 0, 0, 0], n, hw, c, n_threads)


def global_avg_backward(const floating[:, ::1] dy, floating[:, :, :, ::1] dx, int n_threads):
    """dx[n, h, w, c] = dy[n, c] / (H W)."""
    shape = _shape4(dx)
    cdef int64_t hw = _positions("global_avgpool_backward", shape)
    _check_shape("global_avgpool_backward", "dy", (shape[0], shape[3]),
                 (dy.shape[0], dy.shape[1]))
    if dx.size == 0:
        return
    cdef int64_t n = shape[0], c = shape[3]
    with nogil:
        if floating is float:
            rg_pool_global_avg_backward_f32(&dx[0, 0, 0, 0], &dy[0, 0], n, hw, c, n_threads)
        else:
            rg_pool_global_avg_backward_f64(&dx[0, 0, 0, 0], &dy[0, 0], n, hw, c, n_threads)
