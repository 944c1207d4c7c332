"""Optimizer kernels: thin typed wrappers over rg_optim_<name>_<f32|f64>.

Each function takes LISTS of arrays (params, state..., grads; one array per
parameter, the lists in step) and updates params and state in place with one C
call for the whole list.  Every array is checked here before the GIL is
released: a C-contiguous float32 or float64 buffer, one dtype for all, the
shape of its parameter, writeable where the kernel writes it; so no input can
make the C code read or write out of bounds.  The buffers stay held (and so
alive and unresized) until the call returns.
"""
from cpython.buffer cimport (PyObject_GetBuffer, PyBuffer_Release, PyBUF_C_CONTIGUOUS,
                             PyBUF_FORMAT, PyBUF_WRITABLE)
from libc.stdint cimport int64_t
from libc.stdlib cimport calloc, free
from rg_capi cimport (rg_optim_sgd_f32, rg_optim_sgd_f64, rg_optim_momentum_f32,
                      rg_optim_momentum_f64, rg_optim_nag_f32, rg_optim_nag_f64,
                      rg_optim_adagrad_f32, rg_optim_adagrad_f64, rg_optim_rmsprop_f32,
                      rg_optim_rmsprop_f64, rg_optim_adam_f32, rg_optim_adam_f64,
                      rg_optim_adamax_f32, rg_optim_adamax_f64, rg_optim_nadam_f32,
                      rg_optim_nadam_f64, rg_optim_adamw_f32, rg_optim_adamw_f64,
                      rg_optim_radam_f32, rg_optim_radam_f64, rg_optim_lion_f32,
                      rg_optim_lion_f64)


def _refuse(owner, name, int i, obj, bint writable):
    """Raise the error that says why obj could not be taken as the buffer name[i]."""
    where = f"{name}[{i}]"
    dtype = getattr(obj, "dtype", None)
    if dtype is None or not hasattr(obj, "flags"):
        raise TypeError(f"{owner}: expected {where} a float32 or float64 ndarray, "
                        f"got {type(obj).__name__!r}")
    if not obj.flags.c_contiguous:
        raise ValueError(f"{owner}: expected {where} C-contiguous, got a non-contiguous array "
                         f"of shape {obj.shape}")
    if writable and not obj.flags.writeable:
        raise ValueError(f"{owner}: expected {where} writeable, got a read-only array")
    raise TypeError(f"{owner}: expected {where} a float32 or float64 ndarray, got dtype "
                    f"{str(dtype)!r}")


cdef class _Batch:
    """The buffers of one kernel call: n_lists lists of n arrays each, list 0 being
    params.  ptrs[l * n + a] points at array a of list l; sizes[a] is the element
    count of params[a].  The call's thread count is checked first (>= 1)."""
    cdef Py_buffer *views
    cdef void **ptrs
    cdef int64_t *sizes
    cdef Py_ssize_t n, n_lists, n_held
    cdef bint is_double

    def __cinit__(self, str owner, tuple lists, tuple names, int n_written, int n_threads):
        if n_threads < 1:
            raise ValueError(f"{owner}: expected n_threads >= 1, got {n_threads!r}")
        self.n_lists = len(lists)
        self.n = len(lists[0])
        cdef Py_ssize_t l, a, k, count = self.n_lists * self.n
        for l in range(1, self.n_lists):
            if len(lists[l]) != self.n:
                raise ValueError(f"{owner}: expected {names[l]} with {self.n} arrays "
                                 f"(one per param), got {len(lists[l])!r}")
        self.views = <Py_buffer *>calloc(max(count, 1), sizeof(Py_buffer))
        self.ptrs = <void **>calloc(max(count, 1), sizeof(void *))
        self.sizes = <int64_t *>calloc(max(self.n, 1), sizeof(int64_t))
        if self.views == NULL or self.ptrs == NULL or self.sizes == NULL:
            raise MemoryError()
        cdef Py_buffer *view
        cdef Py_buffer *ref
        cdef int flags
        cdef char kind = 0
        cdef bint same
        for l in range(self.n_lists):
            flags = PyBUF_C_CONTIGUOUS | PyBUF_FORMAT | (PyBUF_WRITABLE if l < n_written else 0)
            for a in range(self.n):
                obj = lists[l][a]
                view = &self.views[self.n_held]
                try:
                    PyObject_GetBuffer(obj, view, flags)
                except (BufferError, ValueError, TypeError):
                    _refuse(owner, names[l], a, obj, l < n_written)
                self.n_held += 1
                if (view.format == NULL or (view.format[0] != c'f' and view.format[0] != c'd')
                        or view.format[1] != 0):
                    _refuse(owner, names[l], a, obj, False)
                if kind == 0:
                    kind = view.format[0]
                    self.is_double = kind == c'd'
                elif view.format[0] != kind:
                    raise TypeError(f"{owner}: expected {names[l]}[{a}] of dtype "
                                    f"{'float64' if self.is_double else 'float32'} (that of "
                                    f"params[0]), got dtype {getattr(obj, 'dtype', '?')!s}")
                if l == 0:
                    self.sizes[a] = view.len // view.itemsize
                else:
                    ref = &self.views[a]
                    same = view.ndim == ref.ndim
                    for k in range(view.ndim if same else 0):
                        same = same and view.shape[k] == ref.shape[k]
                    if not same:
                        raise ValueError(
                            f"{owner}: expected {names[l]}[{a}] of shape "
                            f"{tuple(ref.shape[k] for k in range(ref.ndim))} (that of "
                            f"params[{a}]), got shape "
                            f"{tuple(view.shape[k] for k in range(view.ndim))}")
                self.ptrs[l * self.n + a] = view.buf

    def __dealloc__(self):
        cdef Py_ssize_t i
        for i in range(self.n_held):
            PyBuffer_Release(&self.views[i])
        free(self.views)
        free(self.ptrs)
        free(self.sizes)


def sgd(params, grads, double lr, int n_threads):
    """p -= lr g, for every (p, g) of the lists."""
    cdef _Batch b = _Batch("sgd_step", (params, grads), ("params", "grads"), 1, n_threads)
    cdef void **P = b.ptrs
    cdef void **G = b.ptrs + b.n
    with nogil:
        if b.is_double:
            rg_optim_sgd_f64(<double **>P, <const double **>G, b.sizes, b.n, lr, n_threads)
        else:
            rg_optim_sgd_f32(<float **>P, <const float **>G, b.sizes, b.n, lr, n_threads)


def momentum(params, grads, velocity, double lr, double momentum, int n_threads):
    """v = mu v - lr g;  p += v."""
    cdef _Batch b = _Batch("momentum_step", (params, velocity, grads),
                           ("params", "velocity", "grads"), 2, n_threads)
    cdef void **P = b.ptrs
    cdef void **S = b.ptrs + b.n
    cdef void **G = b.ptrs + 2 * b.n
    with nogil:
        if b.is_double:
            rg_optim_momentum_f64(<double **>P, <double **>S, <const double **>G, b.sizes, b.n,
                                  lr, momentum, n_threads)
        else:
            rg_optim_momentum_f32(<float **>P, <float **>S, <const float **>G, b.sizes, b.n,
                                  lr, momentum, n_threads)


def nag(params, grads, velocity, double lr, double momentum, int n_threads):
    """v = mu v - lr g;  p += mu v - lr g."""
    cdef _Batch b = _Batch("nag_step", (params, velocity, grads),
                           ("params", "velocity", "grads"), 2, n_threads)
    cdef void **P = b.ptrs
    cdef void **S = b.ptrs + b.n
    cdef void **G = b.ptrs + 2 * b.n
    with nogil:
        if b.is_double:
            rg_optim_nag_f64(<double **>P, <double **>S, <const double **>G, b.sizes, b.n,
                             lr, momentum, n_threads)
        else:
            rg_optim_nag_f32(<float **>P, <float **>S, <const float **>G, b.sizes, b.n,
                             lr, momentum, n_threads)


def adagrad(params, grads, accum, double lr, double eps, int n_threads):
    """n += g^2;  p -= lr g / (sqrt(n) + eps)."""
    cdef _Batch b = _Batch("adagrad_step", (params, accum, grads), ("params", "accum", "grads"), 2,
                           n_threads)
    cdef void **P = b.ptrs
    cdef void **S = b.ptrs + b.n
    cdef void **G = b.ptrs + 2 * b.n
    with nogil:
        if b.is_double:
            rg_optim_adagrad_f64(<double **>P, <double **>S, <const double **>G, b.sizes, b.n,
                                 lr, eps, n_threads)
        else:
            rg_optim_adagrad_f32(<float **>P, <float **>S, <const float **>G, b.sizes, b.n,
                                 lr, eps, n_threads)


def rmsprop(params, grads, accum, double lr, double rho, double eps, int n_threads):
    """n = rho n + (1 - rho) g^2;  p -= lr g / (sqrt(n) + eps)."""
    cdef _Batch b = _Batch("rmsprop_step", (params, accum, grads), ("params", "accum", "grads"), 2,
                           n_threads)
    cdef void **P = b.ptrs
    cdef void **S = b.ptrs + b.n
    cdef void **G = b.ptrs + 2 * b.n
    with nogil:
        if b.is_double:
            rg_optim_rmsprop_f64(<double **>P, <double **>S, <const double **>G, b.sizes, b.n,
                                 lr, rho, eps, n_threads)
        else:
            rg_optim_rmsprop_f32(<float **>P, <float **>S, <const float **>G, b.sizes, b.n,
                                 lr, rho, eps, n_threads)


cdef _Batch _two_moments(str owner, params, grads, m, v, str v_name, int n_threads):
    return _Batch(owner, (params, m, v, grads), ("params", "m", v_name, "grads"), 3, n_threads)


def adam(params, grads, m, v, double lr, double beta_1, double beta_2, double eps, double bc1,
         double bc2, int n_threads):
    """m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g^2;  p -= lr (m/bc1) / (sqrt(v/bc2) + eps)."""
    cdef _Batch b = _two_moments("adam_step", params, grads, m, v, "v", n_threads)
    cdef void **P = b.ptrs
    cdef void **M = b.ptrs + b.n
    cdef void **V = b.ptrs + 2 * b.n
    cdef void **G = b.ptrs + 3 * b.n
    with nogil:
        if b.is_double:
            rg_optim_adam_f64(<double **>P, <double **>M, <double **>V, <const double **>G,
                              b.sizes, b.n, lr, beta_1, beta_2, eps, bc1, bc2, n_threads)
        else:
            rg_optim_adam_f32(<float **>P, <float **>M, <float **>V, <const float **>G,
                              b.sizes, b.n, lr, beta_1, beta_2, eps, bc1, bc2, n_threads)


def adamax(params, grads, m, u, double lr_t, double beta_1, double beta_2, double eps,
           int n_threads):
    """m = b1 m + (1-b1) g;  u = max(b2 u, |g|);  p -= lr_t m / (u + eps)."""
    cdef _Batch b = _two_moments("adamax_step", params, grads, m, u, "u", n_threads)
    cdef void **P = b.ptrs
    cdef void **M = b.ptrs + b.n
    cdef void **U = b.ptrs + 2 * b.n
    cdef void **G = b.ptrs + 3 * b.n
    with nogil:
        if b.is_double:
            rg_optim_adamax_f64(<double **>P, <double **>M, <double **>U, <const double **>G,
                                b.sizes, b.n, lr_t, beta_1, beta_2, eps, n_threads)
        else:
            rg_optim_adamax_f32(<float **>P, <float **>M, <float **>U, <const float **>G,
                                b.sizes, b.n, lr_t, beta_1, beta_2, eps, n_threads)


def nadam(params, grads, m, v, double coef_g, double coef_m, double beta_1, double beta_2,
          double bc2, double eps, int n_threads):
    """m, v as Adam;  d = sqrt(v/bc2) + eps;  p -= coef_g g/d + coef_m m/d."""
    cdef _Batch b = _two_moments("nadam_step", params, grads, m, v, "v", n_threads)
    cdef void **P = b.ptrs
    cdef void **M = b.ptrs + b.n
    cdef void **V = b.ptrs + 2 * b.n
    cdef void **G = b.ptrs + 3 * b.n
    with nogil:
        if b.is_double:
            rg_optim_nadam_f64(<double **>P, <double **>M, <double **>V, <const double **>G,
                               b.sizes, b.n, coef_g, coef_m, beta_1, beta_2, bc2, eps, n_threads)
        else:
            rg_optim_nadam_f32(<float **>P, <float **>M, <float **>V, <const float **>G,
                               b.sizes, b.n, coef_g, coef_m, beta_1, beta_2, bc2, eps, n_threads)


def adamw(params, grads, m, v, double lr, double beta_1, double beta_2, double eps,
          double weight_decay, double bc1, double bc2, int n_threads):
    """m, v as Adam;  p -= lr ((m/bc1) / (sqrt(v/bc2) + eps) + wd p)."""
    cdef _Batch b = _two_moments("adamw_step", params, grads, m, v, "v", n_threads)
    cdef void **P = b.ptrs
    cdef void **M = b.ptrs + b.n
    cdef void **V = b.ptrs + 2 * b.n
    cdef void **G = b.ptrs + 3 * b.n
    with nogil:
        if b.is_double:
            rg_optim_adamw_f64(<double **>P, <double **>M, <double **>V, <const double **>G,
                               b.sizes, b.n, lr, beta_1, beta_2, eps, weight_decay, bc1, bc2,
                               n_threads)
        else:
            rg_optim_adamw_f32(<float **>P, <float **>M, <float **>V, <const float **>G,
                               b.sizes, b.n, lr, beta_1, beta_2, eps, weight_decay, bc1, bc2,
                               n_threads)


def radam(params, grads, m, v, double lr, double beta_1, double beta_2, double eps, double bc1,
          double bc2, double rect, int n_threads):
    """m, v as Adam;  rect > 0: p -= lr rect (m/bc1) sqrt(bc2) / (sqrt(v) + eps), else
    p -= lr m/bc1."""
    cdef _Batch b = _two_moments("radam_step", params, grads, m, v, "v", n_threads)
    cdef void **P = b.ptrs
    cdef void **M = b.ptrs + b.n
    cdef void **V = b.ptrs + 2 * b.n
    cdef void **G = b.ptrs + 3 * b.n
    with nogil:
        if b.is_double:
            rg_optim_radam_f64(<double **>P, <double **>M, <double **>V, <const double **>G,
                               b.sizes, b.n, lr, beta_1, beta_2, eps, bc1, bc2, rect, n_threads)
        else:
            rg_optim_radam_f32(<float **>P, <float **>M, <float **>V, <const float **>G,
                               b.sizes, b.n, lr, beta_1, beta_2, eps, bc1, bc2, rect, n_threads)


def lion(params, grads, m, double lr, double beta_1, double beta_2, double weight_decay,
         int n_threads):
    """c = b1 m + (1-b1) g;  p -= lr (sign(c) + wd p);  m = b2 m + (1-b2) g."""
    cdef _Batch b = _Batch("lion_step", (params, m, grads), ("params", "m", "grads"), 2, n_threads)
    cdef void **P = b.ptrs
    cdef void **M = b.ptrs + b.n
    cdef void **G = b.ptrs + 2 * b.n
    with nogil:
        if b.is_double:
            rg_optim_lion_f64(<double **>P, <double **>M, <const double **>G, b.sizes, b.n,
                              lr, beta_1, beta_2, weight_decay, n_threads)
        else:
            rg_optim_lion_f32(<float **>P, <float **>M, <const float **>G, b.sizes, b.n,
                              lr, beta_1, beta_2, weight_decay, n_threads)
