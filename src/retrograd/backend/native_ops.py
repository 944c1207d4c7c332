"""The native kernels: same names and signatures as ``numpy_ops``, forwarding
to the compiled C/OpenMP code in ``retrograd._native``.

Arrays are made C-contiguous here (non-contiguous and read-only inputs work);
outputs are allocated here and filled by C.  Every function takes ``owner=``, the
public name (layer, loss, optimizer) its errors start with, as ``numpy_ops`` does.
Kernels whose function only flattens its inputs and allocates outputs like the first
are made from the kernel table (``retrograd._native._table``, entries with ``ops``),
as are the element-wise activations and the optimizer steps.
"""
import importlib
import inspect
import re
import threading

import numpy as np

from .._config import get_num_threads
from .._native import _activations, _conv, _dense, _dropout, _norm, _optimizers, _pool, \
    _runtime, _softmax
from .._native._table import ACTIVATIONS, KERNELS, MAX_POSITIONS, OPTIMIZERS

# the wrapper modules the kernel table generates, by name
_MODULES = {m: importlib.import_module(f"{_runtime.__package__}.{m}")
            for m in sorted({k.module for k in KERNELS if k.module})}


def _bind(signature, args, kwargs):
    """The positional arguments of a call of a function with ``signature`` (a fast path
    for calls without keywords, as the layers and optimizers make them)."""
    if not kwargs and len(args) == len(signature.parameters) - 1:   # all but owner=
        return args
    return signature.bind(*args, **kwargs).args


def _make_signature(names, owner):
    kind = inspect.Parameter.POSITIONAL_OR_KEYWORD
    return inspect.Signature([inspect.Parameter(n, kind) for n in names]
                             + [inspect.Parameter("owner", inspect.Parameter.KEYWORD_ONLY,
                                                  default=owner)])


def _check_grad(owner, name, a, shape):
    """A gradient (or indices) of the shape the forward pass gave."""
    if a.shape != shape:
        raise ValueError(f"{owner}: expected {name} of shape {shape}, got {a.shape!r}")


# ---- workspaces ------------------------------------------------------------------------------
# Conv2D, Dense and the normalisation reductions keep their scratch buffer between calls: one
# per Python thread and dtype, grown on demand, so no call allocates a large scratch array.
_workspace = threading.local()


_ALIGN = 64   # bytes: a cache line, and the widest vector the kernels load


def _workspace_buffer(size, dtype):
    """A flat scratch array of at least ``size`` elements of ``dtype``, one per Python thread
    and dtype, kept between calls and grown on demand.  It starts on a 64-byte boundary:
    the kernels lay their tiles out at multiples of 64 bytes from its start, and a vector
    load that straddles two cache lines costs (LeNet's first convolution's backward took
    25% longer on an unlucky 16-byte-aligned buffer)."""
    buffers = _workspace.__dict__.setdefault("buffers", {})
    buf = buffers.get(dtype.char)
    if buf is None or buf.size < size:
        raw = np.empty(size + _ALIGN // dtype.itemsize, dtype=dtype)
        start = (-raw.ctypes.data % _ALIGN) // dtype.itemsize
        buf = buffers[dtype.char] = raw[start:start + size]
    return buf


# ---- dense ---------------------------------------------------------------------------------
# csrc/dense.c computes y = x W + b and its backward on retrograd's own OpenMP threads with
# the GEMM micro-kernel conv uses: NumPy's OpenBLAS runs on a second thread pool, and handing
# the cores back and forth between the two pools in every training step cost far more than
# the products themselves (dense.c says more).
#
# No size hands the product back to NumPy.  Measured (CPU time, 1 thread, OpenBLAS held to 1
# thread, 2-core AMD EPYC, float32): LeNet-5's and the digits MLP's layers are within the
# per-call overhead of NumPy, batch 256 LeNet layers on par (0.9-1.15x), and the largest
# tried, 256 x 1024 -> 1024 and 1024 x 1024 -> 1024, 1.1-1.35x NumPy's time: no crossover
# beyond which NumPy wins by more than that.  Handing those to NumPy would bring the second
# thread pool back, run on OpenBLAS's thread count instead of set_num_threads, and give up
# results that do not depend on the thread count, for at most a third of the product's time.
def _dense_args(owner, x, weights):
    """x and weights as C-contiguous arrays of x's float dtype, their shapes checked, the
    thread count and the workspace.  (Attribute checks rather than np.ndim/np.shape: a
    small layer's whole product takes a few microseconds.)"""
    x = np.ascontiguousarray(x)
    if x.dtype.char not in "fd":
        raise TypeError(f"{owner}: expected x of dtype float32 or float64, got dtype {x.dtype}")
    weights = np.ascontiguousarray(weights, dtype=x.dtype)
    if x.ndim != 2 or weights.ndim != 2 or x.shape[1] != weights.shape[0]:
        raise ValueError(f"{owner}: expected x (N, in) and weights (in, out) with the same in, "
                         f"got {x.shape} and {weights.shape}")
    n_threads = get_num_threads()
    size = _dense.workspace_size(x.shape[0], x.shape[1], weights.shape[1], n_threads,
                                 x.dtype.char == "d", owner=owner)
    return x, weights, n_threads, _workspace_buffer(size, x.dtype)


def dense_forward(x, weights, biases, *, owner="Dense"):
    """Native Dense forward (C kernel rg_dense_forward): y = x W + b;
    x (N, in), W (in, out), b (out,) -> y (N, out)."""
    x, weights, n_threads, work = _dense_args(owner, x, weights)
    biases = np.ascontiguousarray(biases, dtype=x.dtype)
    if biases.shape != (weights.shape[1],):
        raise ValueError(f"{owner}: expected biases of shape ({weights.shape[1]},), "
                         f"got {biases.shape}")
    y = np.empty((x.shape[0], weights.shape[1]), dtype=x.dtype)
    _dense.forward(x, weights, biases, y, work, n_threads, owner=owner)
    return y


def dense_backward(dy, x, weights, input_grad=True, *, owner="Dense"):
    """Native Dense backward (C kernel rg_dense_backward) -> (dx, dW, db): dx = dy W^T,
    dW = x^T dy, db = sum_n dy, each element summed by one thread in a fixed order (no
    result depends on the thread count); dx is None when ``input_grad`` is False (a
    network's first layer needs no input gradient)."""
    x, weights, n_threads, work = _dense_args(owner, x, weights)
    dy = np.ascontiguousarray(dy, dtype=x.dtype)
    if dy.shape != (x.shape[0], weights.shape[1]):
        raise ValueError(f"{owner}: expected dy of shape "
                         f"{(x.shape[0], weights.shape[1])}, got {dy.shape}")
    dx = np.empty_like(x) if input_grad else None
    dw = np.empty_like(weights)
    db = np.empty(weights.shape[1], dtype=x.dtype)
    _dense.backward(x, weights, dy, dx, dw, db, work, n_threads, owner=owner)
    return dx, dw, db


# ---- element-wise activations -------------------------------------------------------------
# Kind numbers of enum rg_activation_kind: the order of the kernel table's ACTIVATIONS.
_ACTIVATION_KINDS = {name: kind for kind, (name, _, _) in enumerate(ACTIVATIONS)}
_RELU = _ACTIVATION_KINDS["relu"]


def _flat(a, dtype=None):
    """A C-contiguous 1-D view of ``a`` (a copy only when a is not contiguous or not ``dtype``)."""
    return np.ascontiguousarray(a, dtype=dtype).reshape(-1)


def _activation_forward(kind, owner, x, a=0.0, b=0.0):
    x = np.ascontiguousarray(x)
    y = np.empty_like(x)
    _activations.forward(kind, x.reshape(-1), y.reshape(-1), a, b, get_num_threads(),
                         owner=owner)
    return y


def _activation_backward(kind, owner, dy, x, y, a=0.0, b=0.0):
    dy = np.ascontiguousarray(dy, dtype=x.dtype)
    dx = np.empty_like(dy)
    _activations.backward(kind, dy.reshape(-1), _flat(x), _flat(y, x.dtype), dx.reshape(-1), a, b,
                          get_num_threads(), owner=owner)
    return dx


def _make_activation(name, kind, default_owner, hyper):
    forward_signature = _make_signature(("x",) + hyper, default_owner)
    backward_signature = _make_signature(("dy", "x", "y") + hyper, default_owner)

    def forward(*args, owner=default_owner, **kwargs):
        return _activation_forward(kind, owner, *_bind(forward_signature, args, kwargs))

    def backward(*args, owner=default_owner, **kwargs):
        return _activation_backward(kind, owner, *_bind(backward_signature, args, kwargs))

    for f, signature, op in ((forward, forward_signature, "forward"),
                             (backward, backward_signature, "backward")):
        f.__name__ = f.__qualname__ = f"{name}_{op}"
        f.__signature__ = signature
        f.__doc__ = (f"Native {name} {op} (C kernel rg_activation_{op}, kind {kind}): "
                     f"numpy_ops.{name}_{op}'s formula.")
    return forward, backward


for _kind, (_name, _owner, _hyper) in enumerate(ACTIVATIONS):
    globals()[f"{_name}_forward"], globals()[f"{_name}_backward"] = _make_activation(
        _name, _kind, _owner, _hyper)
del _kind, _name, _owner, _hyper


# ---- kernels that flatten their inputs (the kernel table's `ops`) ----------------------
def _make_flat_kernel(kernel):
    """native_ops.<f> of a table entry with ops="f(a, b, ...) -> out, ...": every input
    flattened (a copy only where it is not contiguous or not of the first input's dtype),
    the outputs new arrays like the first input."""
    name, inputs, outputs = re.fullmatch(r"(\w+)\((.*)\)\s*->\s*(.*)", kernel.ops).groups()
    inputs = [a.strip() for a in inputs.split(",")]
    outputs = [a.strip() for a in outputs.split(",")]
    order = [a.strip() for a in kernel.args.split(",")]
    wrapper = getattr(_MODULES[kernel.module], kernel.wrapper)
    signature = _make_signature(inputs, kernel.owner)

    def f(*args, owner=kernel.owner, **kwargs):
        args = _bind(signature, args, kwargs)
        first = np.ascontiguousarray(args[0])
        named = {inputs[0]: first.reshape(-1), "n_threads": get_num_threads()}
        named.update((n, _flat(a, first.dtype)) for n, a in zip(inputs[1:], args[1:]))
        results = [np.empty_like(first) for _ in outputs]
        named.update((n, r.reshape(-1)) for n, r in zip(outputs, results))
        wrapper(*[named[a] for a in order], owner=owner)
        return results[0] if len(results) == 1 else tuple(results)

    f.__name__ = f.__qualname__ = name
    f.__signature__ = signature
    f.__doc__ = f"Native {name} (C kernel rg_{kernel.name}): numpy_ops.{name}'s formula."
    return name, f


for _kernel in KERNELS:
    if _kernel.ops:
        _name, globals()[_name] = _make_flat_kernel(_kernel)
        del _name
del _kernel


# ---- activations with per-element or per-channel slopes -----------------------------------
def _prelu_view(owner, x, alpha):
    """x as a C-contiguous (rows, channels) matrix: channels = alpha's length, which is 1
    (one shared slope: every element is a row) or x.shape[-1]."""
    p = alpha.shape[0] if alpha.ndim == 1 else -1
    if p != 1 and (x.ndim == 0 or x.shape[-1] != p):
        last = x.shape[-1] if x.ndim else 1
        raise ValueError(f"{owner}: expected alpha of shape (1,) or ({last},), "
                         f"got {alpha.shape!r}")
    return np.ascontiguousarray(x).reshape(-1, p)


def prelu_forward(x, alpha, *, owner="PReLU"):
    """Native PReLU forward (C kernel rg_prelu_forward): y = z if z > 0 else alpha_c z."""
    alpha = np.ascontiguousarray(alpha, dtype=x.dtype)
    x2 = _prelu_view(owner, x, alpha)
    y = np.empty_like(x2)
    _activations.prelu_forward(x2, alpha, y, get_num_threads(), owner=owner)
    return y.reshape(np.shape(x))


def prelu_backward(dy, x, alpha, *, owner="PReLU"):
    """Native PReLU backward (C kernel rg_prelu_backward) -> (dx, dalpha); dalpha is
    reduced per group of rows in double precision, then summed in group order (the groups
    do not depend on the thread count, so neither does dalpha)."""
    alpha = np.ascontiguousarray(alpha, dtype=x.dtype)
    x2 = _prelu_view(owner, x, alpha)
    dy2 = np.ascontiguousarray(dy, dtype=x.dtype).reshape(x2.shape)
    dx = np.empty_like(x2)
    dalpha = np.zeros_like(alpha)   # an empty batch adds nothing
    work = np.empty((_runtime.REDUCE_GROUPS, alpha.shape[0]), dtype=np.float64)
    _activations.prelu_backward(dy2, x2, alpha, dx, dalpha, work, get_num_threads(),
                                owner=owner)
    return dx.reshape(np.shape(x)), dalpha


def noisy_relu_backward(dy, x, *, owner="NoisyReLU"):
    """Native NoisyReLU backward: the noise is a constant, so this is ReLU's backward
    (C kernel rg_activation_backward, kind relu, which reads only x)."""
    return _activation_backward(_RELU, owner, dy, x, x)


# ---- softmax -------------------------------------------------------------------------------
def _rows(a, dtype=None):
    """``a`` as a C-contiguous (rows, last axis) matrix."""
    a = np.ascontiguousarray(a, dtype=dtype)
    return a.reshape(-1, a.shape[-1]) if a.ndim else a.reshape(1, 1)


def softmax_forward(x, *, owner="Softmax"):
    """Native softmax along the last axis (C kernel rg_softmax_forward, rows in parallel)."""
    x2 = _rows(x)
    y = np.empty_like(x2)
    _softmax.forward(x2, y, get_num_threads(), owner=owner)
    return y.reshape(np.shape(x))


def softmax_backward(dy, x, y, *, owner="Softmax"):
    """Native softmax backward y (dy - sum(dy y, last axis)) (C kernel rg_softmax_backward)."""
    y2 = _rows(y, x.dtype)
    dx = np.empty_like(y2)
    _softmax.backward(_rows(dy, x.dtype), y2, dx, get_num_threads(), owner=owner)
    return dx.reshape(np.shape(x))


def softmax_cross_entropy(logits, targets, *, owner="CategoricalCrossEntropy"):
    """Native fused softmax cross-entropy (C kernel rg_softmax_cross_entropy) ->
    (mean loss as a Python float, grad = (softmax(logits) - targets) / N)."""
    logits = np.ascontiguousarray(logits)
    targets = np.ascontiguousarray(targets, dtype=logits.dtype)
    if logits.ndim != 2 or targets.shape != logits.shape:
        raise ValueError(f"{owner}: expected logits and targets of the same shape (N, C), "
                         f"got {logits.shape} and {targets.shape}")
    grad = np.empty_like(logits)
    row_loss = np.empty(logits.shape[0], dtype=np.float64)
    loss = _softmax.cross_entropy(logits, targets, grad, row_loss, get_num_threads(),
                                  owner=owner)
    return float(loss), grad


# ---- optimizers ----------------------------------------------------------------------------
# One C call (rg_optim_step, whose `kind` picks the update) updates a whole list of arrays
# (every parameter of a model of one dtype), so a model of many small arrays costs one call
# and one parallel region.  params and state are updated in place, so they must already be
# C-contiguous (layers and optimizers allocate them so); grads are only read and may be any
# layout or float dtype (a contiguous copy in the dtype of its parameter is made where
# needed).  <name>_step(params, grads, *states, *scalars) for every entry of the kernel
# table's OPTIMIZERS, the arguments in the order of numpy_ops.<name>_step.
def _step_grads(owner, params, grads):
    """grads as C-contiguous arrays of their parameter's dtype (the same objects where they
    already are)."""
    if len(grads) != len(params):
        raise ValueError(f"{owner}: expected grads with {len(params)} arrays (one per param), "
                         f"got {len(grads)!r}")
    return [np.ascontiguousarray(g, dtype=getattr(p, "dtype", None)) for p, g in zip(params, grads)]


def _make_step(kind, name, default_owner, states, scalars):
    signature = _make_signature(("params", "grads") + states + scalars, default_owner)
    n_states = len(states)

    def step(*args, owner=default_owner, **kwargs):
        args = _bind(signature, args, kwargs)
        params = args[0]
        _optimizers.step(kind, params, _step_grads(owner, params, args[1]),
                         tuple(args[2:2 + n_states]), tuple(args[2 + n_states:]),
                         get_num_threads(), owner, states)

    step.__name__ = step.__qualname__ = f"{name}_step"
    step.__signature__ = signature
    step.__doc__ = (f"Native {default_owner} step (C kernel rg_optim_step, kind {kind}): "
                    f"numpy_ops.{name}_step's update.")
    return step


for _kind, (_name, _owner, _states, _scalars) in enumerate(OPTIMIZERS):
    globals()[f"{_name}_step"] = _make_step(_kind, _name, _owner, _states, _scalars)
del _kind, _name, _owner, _states, _scalars


# ---- convolution ---------------------------------------------------------------------------
# csrc/conv.c does the whole convolution in one OpenMP region: tiles of the im2col matrix,
# each multiplied by the kernel matrix with a register-blocked SIMD micro-kernel while it is
# in cache (conv.c says why this, and not NumPy's BLAS).  Here the geometry is computed
# (once: the C code takes OH, OW from the output's shape), the kernels are reordered into
# that matrix (F C KH KW values, a small copy) and the workspace is kept.
def _conv_args(owner, x, kernels, stride, padding):
    """x as a C-contiguous float array, kernels' shape checked against it, the geometry as
    plain ints (sh, sw, pt, pl), (OH, OW), the thread count and the workspace."""
    x = np.ascontiguousarray(x)
    if x.ndim != 4 or np.ndim(kernels) != 4 or x.shape[3] != np.shape(kernels)[1]:
        raise ValueError(f"{owner}: expected x (N, H, W, C) and kernels (F, C, KH, KW) with "
                         f"the same C, got {x.shape} and {np.shape(kernels)}")
    n, h, w, c = x.shape
    f, _, kh, kw = np.shape(kernels)
    sh, sw = (int(s) for s in stride)
    (pt, pb), (pl, pr) = ((int(p) for p in pair) for pair in padding)
    if n < 1 or h < 1 or w < 1:
        raise ValueError(f"{owner}: expected a non-empty batch of images of at least 1x1, "
                         f"got x of shape {x.shape}")
    if sh < 1 or sw < 1:
        raise ValueError(f"{owner}: expected strides >= 1, got {(sh, sw)!r}")
    if min(pt, pb, pl, pr) < 0:
        raise ValueError(f"{owner}: expected paddings >= 0, got {((pt, pb), (pl, pr))!r}")
    if kh < 1 or kw < 1 or h + pt + pb < kh or w + pl + pr < kw:
        raise ValueError(f"{owner}: expected a kernel no larger than the padded input "
                         f"{(h + pt + pb, w + pl + pr)}, got {(kh, kw)!r}")
    oh, ow = (h + pt + pb - kh) // sh + 1, (w + pl + pr - kw) // sw + 1
    n_threads = get_num_threads()
    size = _conv.workspace_size(h, w, c, f, kh, kw, sh, sw, pt, pl, oh, ow, n_threads,
                                x.dtype == np.float64, owner=owner)
    return x, (sh, sw, pt, pl), (oh, ow), n_threads, _workspace_buffer(size, x.dtype)


def conv2d_forward(x, kernels, biases, stride, padding, *, owner="Conv2D"):
    """Native Conv2D forward (C kernel rg_conv2d_forward):
    y[n, i, j, f] = b[f] + sum_{c,p,q} xpad[n, i sh + p, j sw + q, c] K[f, c, p, q]."""
    x, geometry, (oh, ow), n_threads, work = _conv_args(owner, x, kernels, stride, padding)
    f, c, kh, kw = kernels.shape
    wm = np.ascontiguousarray(kernels.transpose(2, 3, 1, 0), dtype=x.dtype).reshape(-1, f)
    b = np.ascontiguousarray(biases, dtype=x.dtype).reshape(-1)
    y = np.empty((x.shape[0], oh, ow, f), dtype=x.dtype)
    _conv.forward(x, wm, b, kh, kw, *geometry, y, work, n_threads, owner=owner)
    return y


def conv2d_backward(dy, x, kernels, stride, padding, input_grad=True, *, owner="Conv2D"):
    """Native Conv2D backward (C kernel rg_conv2d_backward) -> (dx, dkernels, dbiases):
    dK = cols^T dy, db = sum of dy (partial sums per group of images, added in group order,
    so no result depends on the thread count), dx = col2im(dy wm^T), or None when
    ``input_grad`` is False (a network's first layer needs no input gradient)."""
    x, geometry, (oh, ow), n_threads, work = _conv_args(owner, x, kernels, stride, padding)
    f, c, kh, kw = kernels.shape
    dy = np.ascontiguousarray(dy, dtype=x.dtype)
    _check_grad(owner, "dy", dy, (x.shape[0], oh, ow, f))
    wmt = np.ascontiguousarray(kernels.transpose(0, 2, 3, 1), dtype=x.dtype).reshape(f, -1)
    dx = np.empty_like(x) if input_grad else None
    dwm = np.empty((kh * kw * c, f), dtype=x.dtype)
    db = np.empty(f, dtype=x.dtype)
    _conv.backward(x, wmt, dy, kh, kw, *geometry, dx, dwm, db, work, n_threads, owner=owner)
    dkernels = np.ascontiguousarray(dwm.reshape(kh, kw, c, f).transpose(3, 2, 0, 1))
    return dx, dkernels, db


# ---- pooling -------------------------------------------------------------------------------
# C kernels of csrc/pool.c, vectorised over the contiguous channel axis of NHWC images.
# The geometry (OH, OW) is computed here, once, and reaches C through the output's shape.
# Outputs are new arrays of the input's dtype; indices are int32.  The windowed backward
# kernels write every element of dx (zeroing first only where windows leave gaps or
# overlap), so dx is allocated uninitialised.
def _images(owner, a, dtype=None):
    """``a`` as a C-contiguous (N, H, W, C) array."""
    a = np.ascontiguousarray(a, dtype=dtype)
    if a.ndim != 4:
        raise ValueError(f"{owner}: expected an image batch (N, H, W, C), got shape {a.shape}")
    return a


def _input_shape(owner, input_shape):
    shape = tuple(int(s) for s in input_shape)
    if len(shape) != 4 or min(shape) < 0:
        raise ValueError(f"{owner}: expected input_shape (N, H, W, C), got {input_shape!r}")
    return shape


def _pool_geometry(owner, shape, pool, stride):
    """(ph, pw, sh, sw) as ints and (OH, OW) of pooling images of ``shape`` (N, H, W, C):
    OH = (H - ph) // sh + 1, OW likewise.  Raises ValueError for anything the C kernels
    cannot take."""
    pool, stride = tuple(pool), tuple(stride)
    for name, pair in (("pool", pool), ("stride", stride)):
        if len(pair) != 2 or any(int(v) != v or v < 1 for v in pair):
            raise ValueError(f"{owner}: expected {name} as two ints >= 1, got {pair!r}")
    (ph, pw), (sh, sw) = (int(v) for v in pool), (int(v) for v in stride)
    h, w = shape[1], shape[2]
    if ph > h or pw > w:
        raise ValueError(f"{owner}: expected a pool window within the image {(h, w)}, "
                         f"got {pool!r}")
    if ph * pw > MAX_POSITIONS:
        raise ValueError(f"{owner}: expected fewer than 2**31 window positions, got {pool!r}")
    return (ph, pw, sh, sw), ((h - ph) // sh + 1, (w - pw) // sw + 1)


def _check_indices(owner, bad, positions):
    if bad:
        raise ValueError(f"{owner}: expected indices in [0, {positions}), got {bad} outside it")


def maxpool2d_forward(x, pool, stride, *, owner="MaxPooling2D"):
    """Native max pooling (C kernel rg_pool_max2d_forward) -> (y, indices):
    y[n, i, j, c] = max_{p,q} x[n, i*sh + p, j*sw + q, c]; indices = p*pw + q of the first
    maximum in row-major window order (a NaN counts as the largest, as in NumPy's argmax)."""
    x = _images(owner, x)
    window, (oh, ow) = _pool_geometry(owner, x.shape, pool, stride)
    y = np.empty((x.shape[0], oh, ow, x.shape[3]), dtype=x.dtype)
    indices = np.empty(y.shape, dtype=np.int32)
    _pool.max2d_forward(x, y, indices, *window, get_num_threads(), owner=owner)
    return y, indices


def maxpool2d_backward(dy, indices, input_shape, pool, stride, *, owner="MaxPooling2D"):
    """Native max pooling backward (C kernel rg_pool_max2d_backward): each dy goes to the
    input its window took; overlapping windows add up.  Indices outside [0, ph*pw) raise."""
    dy = _images(owner, dy)
    dx = np.empty(_input_shape(owner, input_shape), dtype=dy.dtype)
    window, (oh, ow) = _pool_geometry(owner, dx.shape, pool, stride)
    _check_grad(owner, "dy", dy, (dx.shape[0], oh, ow, dx.shape[3]))
    indices = np.ascontiguousarray(indices, dtype=np.int32)
    _check_grad(owner, "indices", indices, dy.shape)
    bad = _pool.max2d_backward(dy, indices, dx, *window, get_num_threads(), owner=owner)
    _check_indices(owner, bad, window[0] * window[1])
    return dx


def avgpool2d_forward(x, pool, stride, *, owner="AveragePooling2D"):
    """Native average pooling (C kernel rg_pool_avg2d_forward):
    y[n, i, j, c] = sum_{p,q} x[n, i*sh + p, j*sw + q, c] / (ph pw)."""
    x = _images(owner, x)
    window, (oh, ow) = _pool_geometry(owner, x.shape, pool, stride)
    y = np.empty((x.shape[0], oh, ow, x.shape[3]), dtype=x.dtype)
    _pool.avg2d_forward(x, y, *window, get_num_threads(), owner=owner)
    return y


def avgpool2d_backward(dy, input_shape, pool, stride, *, owner="AveragePooling2D"):
    """Native average pooling backward (C kernel rg_pool_avg2d_backward): dy / (ph pw) to
    every element of its window; overlapping windows add up."""
    dy = _images(owner, dy)
    dx = np.empty(_input_shape(owner, input_shape), dtype=dy.dtype)
    window, (oh, ow) = _pool_geometry(owner, dx.shape, pool, stride)
    _check_grad(owner, "dy", dy, (dx.shape[0], oh, ow, dx.shape[3]))
    _pool.avg2d_backward(dy, dx, *window, get_num_threads(), owner=owner)
    return dx


def _positions(a):
    """An image batch (N, H, W, C) seen as (N, H W, C), as the global kernels take it."""
    return a.reshape(a.shape[0], a.shape[1] * a.shape[2], a.shape[3])


def global_avgpool_forward(x, *, owner="GlobalAveragePooling2D"):
    """Native global average pooling (C kernel rg_pool_global_avg_forward):
    y[n, c] = sum_{h,w} x[n, h, w, c] / (H W)  ->  (N, C)."""
    x = _images(owner, x)
    y = np.empty((x.shape[0], x.shape[3]), dtype=x.dtype)
    _pool.global_avg_forward(_positions(x), y, get_num_threads(), owner=owner)
    return y


def global_avgpool_backward(dy, input_shape, *, owner="GlobalAveragePooling2D"):
    """Native global average pooling backward (C kernel rg_pool_global_avg_backward):
    dx[n, h, w, c] = dy[n, c] / (H W)."""
    dy = np.ascontiguousarray(dy)
    dx = np.empty(_input_shape(owner, input_shape), dtype=dy.dtype)
    _check_grad(owner, "dy", dy, (dx.shape[0], dx.shape[3]))
    _pool.global_avg_backward(dy, _positions(dx), get_num_threads(), owner=owner)
    return dx


def global_maxpool_forward(x, *, owner="GlobalMaxPooling2D"):
    """Native global max pooling (C kernel rg_pool_global_max_forward) -> (y (N, C),
    indices int32 (N, C) = h*W + w of the first maximum)."""
    x = _images(owner, x)
    y = np.empty((x.shape[0], x.shape[3]), dtype=x.dtype)
    indices = np.empty(y.shape, dtype=np.int32)
    _pool.global_max_forward(_positions(x), y, indices, get_num_threads(), owner=owner)
    return y, indices


def global_maxpool_backward(dy, indices, input_shape, *, owner="GlobalMaxPooling2D"):
    """Native global max pooling backward (C kernel rg_pool_global_max_backward):
    dx[n, h, w, c] = dy[n, c] at h*W + w = indices[n, c], else 0."""
    dy = np.ascontiguousarray(dy)
    dx = np.empty(_input_shape(owner, input_shape), dtype=dy.dtype)
    _check_grad(owner, "dy", dy, (dx.shape[0], dx.shape[3]))
    indices = np.ascontiguousarray(indices, dtype=np.int32)
    _check_grad(owner, "indices", indices, dy.shape)
    bad = _pool.global_max_backward(dy, indices, _positions(dx), get_num_threads(),
                                    owner=owner)
    _check_indices(owner, bad, dx.shape[1] * dx.shape[2])
    return dx


# ---- dropout -------------------------------------------------------------------------------
def _mask_bytes(owner, mask, shape):
    """The dropout mask (bool or uint8, exactly ``shape``) as a flat uint8 view."""
    mask = np.ascontiguousarray(mask)
    if mask.dtype not in (np.bool_, np.uint8):
        raise TypeError(f"{owner}: expected a bool or uint8 mask, got dtype {mask.dtype}")
    if mask.shape != shape:
        raise ValueError(f"{owner}: expected a mask of shape {shape}, got {mask.shape}")
    return mask.reshape(-1).view(np.uint8)


def _dropout_apply(owner, x, mask, scale):
    x = np.ascontiguousarray(x)
    y = np.empty_like(x)
    _dropout.apply(x.reshape(-1), _mask_bytes(owner, mask, x.shape), y.reshape(-1),
                   float(scale), get_num_threads(), owner=owner)
    return y


def dropout_forward(x, mask, scale, *, owner="Dropout"):
    """Native inverted dropout (C kernel rg_dropout_apply): y = x * mask * scale."""
    return _dropout_apply(owner, x, mask, scale)


def dropout_backward(dy, mask, scale, *, owner="Dropout"):
    """Native dropout backward (C kernel rg_dropout_apply): dx = dy * mask * scale."""
    return _dropout_apply(owner, dy, mask, scale)


# ---- normalisation -------------------------------------------------------------------------
# C kernels of csrc/norm.c on the (rows, C) view the layers pass (x must be 2-D here, as in
# the NumPy reference).  Sums over the rows are reduced per group of rows into a float64
# workspace and merged in group order, so no result depends on the thread count.
def _norm_rows(owner, x):
    """x as a C-contiguous float (rows, C) matrix."""
    x = np.ascontiguousarray(x)
    if x.dtype.char not in "fd":
        raise TypeError(f"{owner}: expected x of dtype float32 or float64, got dtype {x.dtype}")
    if x.ndim != 2:
        raise ValueError(f"{owner}: expected x of shape (rows, C), got {x.shape!r}")
    return x


def _norm_vectors(dtype, *arrays):
    """Per-channel (or per-row) arrays as C-contiguous arrays of ``dtype``."""
    return [np.ascontiguousarray(a, dtype=dtype) for a in arrays]


def _reduce_work(size):
    """The (RG_REDUCE_GROUPS, 2 size) float64 workspace of the reductions over rows."""
    groups = _runtime.REDUCE_GROUPS
    return _workspace_buffer(groups * 2 * size, np.dtype(np.float64))[:groups * 2 * size] \
        .reshape(groups, 2 * size)


def batch_norm_forward_train(x, gamma, beta, epsilon, *, owner="BatchNormalization"):
    """Native BatchNormalization training forward (C kernel rg_batch_norm_forward_train) ->
    (y, mean (C,), biased var (C,)): statistics and y in two passes over x."""
    x = _norm_rows(owner, x)
    gamma, beta = _norm_vectors(x.dtype, gamma, beta)
    c = x.shape[1]
    y = np.empty_like(x)
    mean, var = np.empty(c, x.dtype), np.empty(c, x.dtype)
    _norm.batch_forward_train(x, gamma, beta, y, mean, var, _reduce_work(c), float(epsilon),
                              get_num_threads(), owner=owner)
    return y, mean, var


def batch_norm_forward_eval(x, gamma, beta, moving_mean, moving_var, epsilon, *,
                            owner="BatchNormalization"):
    """Native BatchNormalization evaluation forward (C kernel rg_batch_norm_forward_eval):
    y = x scale + shift, one pass."""
    x = _norm_rows(owner, x)
    vectors = _norm_vectors(x.dtype, gamma, beta, moving_mean, moving_var)
    y = np.empty_like(x)
    _norm.batch_forward_eval(x, *vectors, y, float(epsilon), get_num_threads(), owner=owner)
    return y


def _norm_backward(wrapper, owner, dy, x, mean, inv_std, gamma):
    x = _norm_rows(owner, x)
    dy = np.ascontiguousarray(dy, dtype=x.dtype)
    _check_grad(owner, "dy", dy, x.shape)
    mean, inv_std, gamma = _norm_vectors(x.dtype, mean, inv_std, gamma)
    dx = np.empty_like(x)
    dgamma, dbeta = np.zeros(x.shape[1], x.dtype), np.zeros(x.shape[1], x.dtype)
    wrapper(dy, x, mean, inv_std, gamma, dx, dgamma, dbeta, _reduce_work(x.shape[1]),
            get_num_threads(), owner=owner)
    return dx, dgamma, dbeta


def batch_norm_backward(dy, x, mean, inv_std, gamma, *, owner="BatchNormalization"):
    """Native BatchNormalization training backward (C kernel rg_batch_norm_backward) ->
    (dx, dgamma, dbeta): sum dy and sum dy x_hat in one pass, dx in a second."""
    return _norm_backward(_norm.batch_backward, owner, dy, x, mean, inv_std, gamma)


def batch_norm_backward_eval(dy, x, mean, inv_std, gamma, *, owner="BatchNormalization"):
    """Native BatchNormalization evaluation backward (C kernel rg_batch_norm_backward_eval)
    -> (dx, dgamma, dbeta) in one pass."""
    return _norm_backward(_norm.batch_backward_eval, owner, dy, x, mean, inv_std, gamma)


def layer_norm_forward(x, gamma, beta, epsilon, *, owner="LayerNormalization"):
    """Native LayerNormalization forward (C kernel rg_layer_norm_forward) -> (y,
    mean (rows,), inv_std (rows,)): rows in parallel, statistics in double."""
    x = _norm_rows(owner, x)
    gamma, beta = _norm_vectors(x.dtype, gamma, beta)
    y = np.empty_like(x)
    mean, inv_std = np.empty(x.shape[0], x.dtype), np.empty(x.shape[0], x.dtype)
    _norm.layer_forward(x, gamma, beta, y, mean, inv_std, float(epsilon), get_num_threads(),
                        owner=owner)
    return y, mean, inv_std


def layer_norm_backward(dy, x, mean, inv_std, gamma, *, owner="LayerNormalization"):
    """Native LayerNormalization backward (C kernel rg_layer_norm_backward) -> (dx, dgamma,
    dbeta): one pass over dy and x per row."""
    return _norm_backward(_norm.layer_backward, owner, dy, x, mean, inv_std, gamma)
