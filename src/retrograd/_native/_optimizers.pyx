"""Optimizer kernels: one typed wrapper, ``step``, over rg_optim_step_<f32|f64>, whose
``kind`` picks the update (the kernel table's OPTIMIZERS).

It takes LISTS of arrays (params, state..., grads; one array per parameter, the lists in
step) and updates params and state in place with one C call for the whole list.  Every
array is checked here before the GIL is released: a C-contiguous float32 or float64
buffer, one dtype for all, the shape of its parameter, writeable where the kernel writes
it; so no input can make the C code read or write out of bounds.  The buffers stay held
(and so alive and unresized) until the call returns.
"""
from cpython.buffer cimport (PyObject_GetBuffer, PyBuffer_Release, PyBUF_C_CONTIGUOUS,
                             PyBUF_FORMAT, PyBUF_WRITABLE)
from libc.stdint cimport int64_t
from libc.stdlib cimport calloc, free
from rg_capi cimport RG_OPT_COUNT, rg_optim_n_scalars, rg_optim_n_states, rg_optim_step

cdef enum:
    MAX_SCALARS = 16   # more than any kind of the kernel table's OPTIMIZERS takes


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


def step(int kind, params, grads, tuple states, tuple scalars, int n_threads, str owner,
         tuple state_names=()):
    """One fused update of every (param, grad, state...) of the lists: rg_optim_step of
    ``kind`` (enum rg_optimizer_kind, the kernel table's OPTIMIZERS order).  ``states``
    holds the kind's state lists (params and states are updated in place), ``scalars`` its
    numbers in the table's order; ``state_names`` name the state lists in errors."""
    if not 0 <= kind < RG_OPT_COUNT:
        raise ValueError(f"{owner}: expected an optimizer kind in [0, {RG_OPT_COUNT}), "
                         f"got {kind!r}")
    cdef int n_states = rg_optim_n_states(kind), n_scalars = rg_optim_n_scalars(kind)
    if len(states) != n_states:
        raise ValueError(f"{owner}: expected {n_states} state lists, got {len(states)!r}")
    if len(scalars) != n_scalars or n_scalars > MAX_SCALARS:
        raise ValueError(f"{owner}: expected {n_scalars} scalars, got {len(scalars)!r}")
    names = ("params",) + (tuple(state_names) if len(state_names) == n_states
                           else tuple(f"state{i}" for i in range(n_states))) + ("grads",)
    cdef _Batch b = _Batch(owner, (params,) + states + (grads,), names, 1 + n_states, n_threads)
    cdef double values[MAX_SCALARS]
    cdef int i
    for i in range(n_scalars):
        values[i] = scalars[i]
    cdef void **S1 = b.ptrs + b.n if n_states >= 1 else NULL
    cdef void **S2 = b.ptrs + 2 * b.n if n_states >= 2 else NULL
    cdef void **G = b.ptrs + (1 + n_states) * b.n
    with nogil:
        rg_optim_step(b.is_double, b.ptrs, S1, S2, <const void **>G, b.sizes, b.n, kind, values,
                      n_threads)
