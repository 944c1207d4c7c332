"""The native kernels: same names and signatures as ``numpy_ops``, forwarding
to the compiled C/OpenMP code in ``retrograd._native``.

Arrays are made C-contiguous here (non-contiguous and read-only inputs work);
outputs are allocated here and filled by C.
"""
import numpy as np

from .._config import get_num_threads
from .._native import _activations, _softmax

# ---- dense ---------------------------------------------------------------------------------
# csrc/dense.c computes y = x W + b and its backward on retrograd's own OpenMP threads with
# the GEMM micro-kernel conv uses: NumPy's OpenBLAS runs on a second thread pool, and handing
# the cores back and forth between the two pools in every training step cost far more than
# the products themselves (dense.c says more).  The workspace is the scratch buffer the
# convolutions keep (_workspace_buffer, below): one per Python thread and dtype, grown on demand.
#
# No size hands the product back to NumPy.  Measured (CPU time, 1 thread, OpenBLAS held to 1
# thread, 2-core AMD EPYC, float32): LeNet-5's and the digits MLP's layers are within the
# per-call overhead of NumPy, batch 256 LeNet layers on par (0.9-1.15x), and the largest
# tried, 256 x 1024 -> 1024 and 1024 x 1024 -> 1024, 1.1-1.35x NumPy's time: no crossover
# beyond which NumPy wins by more than that.  Handing those to NumPy would bring the second
# thread pool back, run on OpenBLAS's thread count instead of set_num_threads, and give up
# results that do not depend on the thread count, for at most a third of the product's time.
from .._native import _dense  # noqa: E402


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
                                 x.dtype.char == "d")
    return x, weights, n_threads, _workspace_buffer(size, x.dtype)


def dense_forward(x, weights, biases):
    """Native Dense forward (C kernel rg_dense_forward): y = x W + b;
    x (N, in), W (in, out), b (out,) -> y (N, out)."""
    x, weights, n_threads, work = _dense_args("dense_forward", x, weights)
    biases = np.ascontiguousarray(biases, dtype=x.dtype)
    if biases.shape != (weights.shape[1],):
        raise ValueError(f"dense_forward: expected biases of shape ({weights.shape[1]},), "
                         f"got {biases.shape}")
    y = np.empty((x.shape[0], weights.shape[1]), dtype=x.dtype)
    _dense.forward(x, weights, biases, y, work, n_threads)
    return y


def dense_backward(dy, x, weights, input_grad=True):
    """Native Dense backward (C kernel rg_dense_backward) -> (dx, dW, db): dx = dy W^T,
    dW = x^T dy, db = sum_n dy, each element summed by one thread in a fixed order (no
    result depends on the thread count); dx is None when ``input_grad`` is False (a
    network's first layer needs no input gradient)."""
    x, weights, n_threads, work = _dense_args("dense_backward", x, weights)
    dy = np.ascontiguousarray(dy, dtype=x.dtype)
    if dy.shape != (x.shape[0], weights.shape[1]):
        raise ValueError(f"dense_backward: expected dy of shape "
                         f"{(x.shape[0], weights.shape[1])}, got {dy.shape}")
    dx = np.empty_like(x) if input_grad else None
    dw = np.empty_like(weights)
    db = np.empty(weights.shape[1], dtype=x.dtype)
    _dense.backward(dy, x, weights, dx, dw, db, work, n_threads)
    return dx, dw, db


# ---- element-wise activations -------------------------------------------------------------
# Kind numbers of csrc/retrograd.h, enum rg_activation_kind.
_ACTIVATION_KINDS = {
    "relu": 0, "leaky_relu": 1, "sigmoid": 2, "tanh": 3, "softsign": 4, "hard_sigmoid": 5,
    "hard_tanh": 6, "elu": 7, "selu": 8, "gelu_erf": 9, "gelu_tanh": 10, "gelu_sigmoid": 11,
    "swish": 12,
}
_RELU = _ACTIVATION_KINDS["relu"]


def _flat(a, dtype=None):
    """A C-contiguous 1-D view of ``a`` (a copy only when a is not contiguous or not ``dtype``)."""
    return np.ascontiguousarray(a, dtype=dtype).reshape(-1)


def _activation_forward(kind, x, a=0.0, b=0.0):
    x = np.ascontiguousarray(x)
    y = np.empty_like(x)
    _activations.forward(kind, x.reshape(-1), y.reshape(-1), a, b, get_num_threads())
    return y


def _activation_backward(kind, dy, x, y, a=0.0, b=0.0):
    dy = np.ascontiguousarray(dy, dtype=x.dtype)
    dx = np.empty_like(dy)
    _activations.backward(kind, dy.reshape(-1), _flat(x), _flat(y, x.dtype), dx.reshape(-1), a, b,
                          get_num_threads())
    return dx


def _make_activation(name, kind):
    def forward(x, *hyper):
        return _activation_forward(kind, x, *hyper)

    def backward(dy, x, y, *hyper):
        return _activation_backward(kind, dy, x, y, *hyper)

    forward.__name__, backward.__name__ = f"{name}_forward", f"{name}_backward"
    forward.__doc__ = f"Native {name} forward (C kernel rg_activation_forward, kind {kind})."
    backward.__doc__ = f"Native {name} backward (C kernel rg_activation_backward, kind {kind})."
    return forward, backward


for _name, _kind in _ACTIVATION_KINDS.items():
    globals()[f"{_name}_forward"], globals()[f"{_name}_backward"] = _make_activation(_name, _kind)
del _name, _kind


# ---- activations with per-element or per-channel slopes -----------------------------------
def _prelu_view(x, alpha):
    """x as a C-contiguous (rows, channels) matrix: channels = alpha's length, which is 1
    (one shared slope: every element is a row) or x.shape[-1]."""
    p = alpha.shape[0] if alpha.ndim == 1 else -1
    if p != 1 and (x.ndim == 0 or x.shape[-1] != p):
        last = x.shape[-1] if x.ndim else 1
        raise ValueError(f"prelu kernel: expected alpha of shape (1,) or ({last},), "
                         f"got shape {alpha.shape}")
    return np.ascontiguousarray(x).reshape(-1, p)


def prelu_forward(x, alpha):
    """Native PReLU forward (C kernel rg_prelu_forward): y = z if z > 0 else alpha_c z."""
    alpha = np.ascontiguousarray(alpha, dtype=x.dtype)
    x2 = _prelu_view(x, alpha)
    y = np.empty_like(x2)
    _activations.prelu_forward(x2, alpha, y, get_num_threads())
    return y.reshape(np.shape(x))


def prelu_backward(dy, x, alpha):
    """Native PReLU backward (C kernel rg_prelu_backward) -> (dx, dalpha); dalpha is
    reduced per group of rows in double precision, then summed in group order (the groups
    do not depend on the thread count, so neither does dalpha)."""
    alpha = np.ascontiguousarray(alpha, dtype=x.dtype)
    x2 = _prelu_view(x, alpha)
    dy2 = np.ascontiguousarray(dy, dtype=x.dtype).reshape(x2.shape)
    dx = np.empty_like(x2)
    dalpha = np.empty_like(alpha)
    n_threads = get_num_threads()
    work = np.empty((_activations.REDUCE_GROUPS, alpha.shape[0]), dtype=np.float64)
    _activations.prelu_backward(dy2, x2, alpha, dx, dalpha, work, n_threads)
    return dx.reshape(np.shape(x)), dalpha


def rrelu_forward(x, slopes):
    """Native RReLU forward (C kernel rg_rrelu_forward): y = z if z > 0 else slope z."""
    x = np.ascontiguousarray(x)
    y = np.empty_like(x)
    _activations.rrelu_forward(x.reshape(-1), _flat(slopes, x.dtype), y.reshape(-1),
                               get_num_threads())
    return y


def rrelu_backward(dy, x, slopes):
    """Native RReLU backward (C kernel rg_rrelu_backward): dx = dy if z > 0 else slope dy."""
    dy = np.ascontiguousarray(dy, dtype=x.dtype)
    dx = np.empty_like(dy)
    _activations.rrelu_backward(dy.reshape(-1), _flat(x), _flat(slopes, x.dtype), dx.reshape(-1),
                                get_num_threads())
    return dx


def noisy_relu_forward(x, noise):
    """Native NoisyReLU forward (C kernel rg_noisy_relu_forward):
    y = max(0, z + noise sqrt(sigmoid(z)))."""
    x = np.ascontiguousarray(x)
    y = np.empty_like(x)
    _activations.noisy_relu_forward(x.reshape(-1), _flat(noise, x.dtype), y.reshape(-1),
                                    get_num_threads())
    return y


def noisy_relu_backward(dy, x):
    """Native NoisyReLU backward: the noise is a constant, so this is ReLU's backward
    (C kernel rg_activation_backward, kind relu, which reads only x)."""
    return _activation_backward(_RELU, dy, x, x)


# ---- softmax -------------------------------------------------------------------------------
def _rows(a, dtype=None):
    """``a`` as a C-contiguous (rows, last axis) matrix."""
    a = np.ascontiguousarray(a, dtype=dtype)
    return a.reshape(-1, a.shape[-1]) if a.ndim else a.reshape(1, 1)


def softmax_forward(x):
    """Native softmax along the last axis (C kernel rg_softmax_forward, rows in parallel)."""
    x2 = _rows(x)
    y = np.empty_like(x2)
    _softmax.forward(x2, y, get_num_threads())
    return y.reshape(np.shape(x))


def softmax_backward(dy, x, y):
    """Native softmax backward y (dy - sum(dy y, last axis)) (C kernel rg_softmax_backward)."""
    y2 = _rows(y, x.dtype)
    dx = np.empty_like(y2)
    _softmax.backward(_rows(dy, x.dtype), y2, dx, get_num_threads())
    return dx.reshape(np.shape(x))


def softmax_cross_entropy(logits, targets):
    """Native fused softmax cross-entropy (C kernel rg_softmax_cross_entropy) ->
    (mean loss as a Python float, grad = (softmax(logits) - targets) / N)."""
    logits = np.ascontiguousarray(logits)
    targets = np.ascontiguousarray(targets, dtype=logits.dtype)
    if logits.ndim != 2 or targets.shape != logits.shape:
        raise ValueError(f"softmax_cross_entropy: expected logits and targets of the same "
                         f"shape (N, C), got {logits.shape} and {targets.shape}")
    grad = np.empty_like(logits)
    row_loss = np.empty(logits.shape[0], dtype=np.float64)
    loss = _softmax.cross_entropy(logits, targets, grad, row_loss, get_num_threads())
    return float(loss), grad


# ---- optimizers ----------------------------------------------------------------------------
# One C call updates a whole list of arrays (every parameter of a model of one dtype), so a
# model of many small arrays costs one call and one parallel region.  params and state are
# updated in place, so they must already be C-contiguous (layers and optimizers allocate them
# so); grads are only read and may be any layout or float dtype (a contiguous copy in the
# dtype of its parameter is made where needed).
from .._native import _optimizers  # noqa: E402


def _step_grads(owner, params, grads):
    """grads as C-contiguous arrays of their parameter's dtype (the same objects where they
    already are)."""
    if len(grads) != len(params):
        raise ValueError(f"{owner}: expected grads with {len(params)} arrays (one per param), "
                         f"got {len(grads)!r}")
    return [np.ascontiguousarray(g, dtype=getattr(p, "dtype", None)) for p, g in zip(params, grads)]


def sgd_step(params, grads, lr):
    """Native SGD step (C kernel rg_optim_sgd): p -= lr g."""
    _optimizers.sgd(params, _step_grads("sgd_step", params, grads), lr, get_num_threads())


def momentum_step(params, grads, velocity, lr, momentum):
    """Native momentum step (C kernel rg_optim_momentum): v = mu v - lr g; p += v."""
    _optimizers.momentum(params, _step_grads("momentum_step", params, grads), velocity, lr,
                         momentum, get_num_threads())


def nag_step(params, grads, velocity, lr, momentum):
    """Native Nesterov step (C kernel rg_optim_nag): v = mu v - lr g; p += mu v - lr g."""
    _optimizers.nag(params, _step_grads("nag_step", params, grads), velocity, lr, momentum,
                    get_num_threads())


def adagrad_step(params, grads, accum, lr, eps):
    """Native AdaGrad step (C kernel rg_optim_adagrad): n += g^2; p -= lr g / (sqrt(n) + eps)."""
    _optimizers.adagrad(params, _step_grads("adagrad_step", params, grads), accum, lr, eps,
                        get_num_threads())


def rmsprop_step(params, grads, accum, lr, rho, eps):
    """Native RMSProp step (C kernel rg_optim_rmsprop):
    n = rho n + (1 - rho) g^2; p -= lr g / (sqrt(n) + eps)."""
    _optimizers.rmsprop(params, _step_grads("rmsprop_step", params, grads), accum, lr, rho, eps,
                        get_num_threads())


def adam_step(params, grads, m, v, lr, beta_1, beta_2, eps, bc1, bc2):
    """Native Adam step (C kernel rg_optim_adam): m = b1 m + (1 - b1) g;
    v = b2 v + (1 - b2) g^2; p -= lr (m / bc1) / (sqrt(v / bc2) + eps)."""
    _optimizers.adam(params, _step_grads("adam_step", params, grads), m, v, lr, beta_1, beta_2,
                     eps, bc1, bc2, get_num_threads())


def adamax_step(params, grads, m, u, lr_t, beta_1, beta_2, eps):
    """Native AdaMax step (C kernel rg_optim_adamax): m = b1 m + (1 - b1) g;
    u = max(b2 u, |g|); p -= lr_t m / (u + eps)."""
    _optimizers.adamax(params, _step_grads("adamax_step", params, grads), m, u, lr_t, beta_1,
                       beta_2, eps, get_num_threads())


def nadam_step(params, grads, m, v, coef_g, coef_m, beta_1, beta_2, bc2, eps):
    """Native Nadam step (C kernel rg_optim_nadam): m, v as Adam; d = sqrt(v / bc2) + eps;
    p -= coef_g g / d + coef_m m / d."""
    _optimizers.nadam(params, _step_grads("nadam_step", params, grads), m, v, coef_g, coef_m,
                      beta_1, beta_2, bc2, eps, get_num_threads())


def adamw_step(params, grads, m, v, lr, beta_1, beta_2, eps, weight_decay, bc1, bc2):
    """Native AdamW step (C kernel rg_optim_adamw): m, v as Adam;
    p -= lr ((m / bc1) / (sqrt(v / bc2) + eps) + wd p)."""
    _optimizers.adamw(params, _step_grads("adamw_step", params, grads), m, v, lr, beta_1, beta_2,
                      eps, weight_decay, bc1, bc2, get_num_threads())


def radam_step(params, grads, m, v, lr, beta_1, beta_2, eps, bc1, bc2, rect):
    """Native RAdam step (C kernel rg_optim_radam): m, v as Adam; if rect > 0
    p -= lr rect (m / bc1) sqrt(bc2) / (sqrt(v) + eps), else p -= lr m / bc1."""
    _optimizers.radam(params, _step_grads("radam_step", params, grads), m, v, lr, beta_1, beta_2,
                      eps, bc1, bc2, rect, get_num_threads())


def lion_step(params, grads, m, lr, beta_1, beta_2, weight_decay):
    """Native Lion step (C kernel rg_optim_lion): c = b1 m + (1 - b1) g;
    p -= lr (sign(c) + wd p); m = b2 m + (1 - b2) g."""
    _optimizers.lion(params, _step_grads("lion_step", params, grads), m, lr, beta_1, beta_2,
                     weight_decay, get_num_threads())


# ---- convolution ---------------------------------------------------------------------------
# csrc/conv.c does the whole convolution in one OpenMP region: tiles of the im2col matrix,
# each multiplied by the kernel matrix with a register-blocked SIMD micro-kernel while it is
# in cache (conv.c says why this, and not NumPy's BLAS).  Here the kernels are reordered
# into that matrix (F C KH KW values, a small copy) and the workspace is kept: one buffer per
# Python thread and dtype, grown on demand, so no call allocates a large scratch array.
import threading  # noqa: E402

from .._native import _conv  # noqa: E402

_workspace = threading.local()


def _workspace_buffer(size, dtype):
    """A flat scratch array of at least ``size`` elements of ``dtype``, one per Python thread
    and dtype, kept between calls and grown on demand."""
    buffers = _workspace.__dict__.setdefault("buffers", {})
    buf = buffers.get(dtype.char)
    if buf is None or buf.size < size:
        buf = buffers[dtype.char] = np.empty(size, dtype=dtype)
    return buf


def _conv_args(owner, x, kernels, stride, padding):
    """x as a C-contiguous float array, kernels' shape checked against it, the geometry as
    plain int tuples, (OH, OW), the thread count and the workspace."""
    x = np.ascontiguousarray(x)
    if x.ndim != 4 or np.ndim(kernels) != 4 or x.shape[3] != np.shape(kernels)[1]:
        raise ValueError(f"{owner}: expected x (N, H, W, C) and kernels (F, C, KH, KW) with "
                         f"the same C, got {x.shape} and {np.shape(kernels)}")
    stride = tuple(int(s) for s in stride)
    padding = tuple(tuple(int(p) for p in pair) for pair in padding)
    f, c, kh, kw = np.shape(kernels)
    oh, ow = _conv.output_size(x.shape[1], x.shape[2], kh, kw, stride, padding)
    n_threads = get_num_threads()
    work = _workspace_buffer(_conv.workspace_size(x.shape[1], x.shape[2], c, f, kh, kw, stride,
                                                padding, n_threads, x.dtype == np.float64),
                           x.dtype)
    return x, stride, padding, (oh, ow), n_threads, work


def conv2d_forward(x, kernels, biases, stride, padding):
    """Native Conv2D forward (C kernel rg_conv2d_forward):
    y[n, i, j, f] = b[f] + sum_{c,p,q} xpad[n, i sh + p, j sw + q, c] K[f, c, p, q]."""
    x, stride, padding, (oh, ow), n_threads, work = _conv_args("conv2d_forward", x, kernels,
                                                               stride, padding)
    f, c, kh, kw = kernels.shape
    wm = np.ascontiguousarray(kernels.transpose(2, 3, 1, 0), dtype=x.dtype).reshape(-1, f)
    b = np.ascontiguousarray(biases, dtype=x.dtype).reshape(-1)
    y = np.empty((x.shape[0], oh, ow, f), dtype=x.dtype)
    _conv.forward(x, wm, b, kh, kw, stride, padding, y, work, n_threads)
    return y


def conv2d_backward(dy, x, kernels, stride, padding, input_grad=True):
    """Native Conv2D backward (C kernel rg_conv2d_backward) -> (dx, dkernels, dbiases):
    dK = cols^T dy, db = sum of dy (partial sums per group of images, added in group order,
    so no result depends on the thread count), dx = col2im(dy wm^T), or None when
    ``input_grad`` is False (a network's first layer needs no input gradient)."""
    x, stride, padding, _, n_threads, work = _conv_args("conv2d_backward", x, kernels, stride,
                                                        padding)
    f, c, kh, kw = kernels.shape
    dy = np.ascontiguousarray(dy, dtype=x.dtype)
    wmt = np.ascontiguousarray(kernels.transpose(0, 2, 3, 1), dtype=x.dtype).reshape(f, -1)
    dx = np.empty_like(x) if input_grad else None
    dwm = np.empty((kh * kw * c, f), dtype=x.dtype)
    db = np.empty(f, dtype=x.dtype)
    _conv.backward(dy, x, wmt, kh, kw, stride, padding, dx, dwm, db, work, n_threads)
    dkernels = np.ascontiguousarray(dwm.reshape(kh, kw, c, f).transpose(3, 2, 0, 1))
    return dx, dkernels, db


# ---- pooling and dropout -------------------------------------------------------------------
# C kernels of csrc/pool.c and csrc/dropout.c, vectorised over the contiguous channel axis of
# NHWC images.  Outputs are new arrays of the input's dtype; indices are int32.  The windowed
# backward kernels write every element of dx (zeroing first only where windows leave gaps or
# overlap), so dx is allocated uninitialised.
from .._native import _dropout, _pool  # noqa: E402


def _images(owner, a, dtype=None):
    """``a`` as a C-contiguous (N, H, W, C) array."""
    a = np.ascontiguousarray(a, dtype=dtype)
    if a.ndim != 4:
        raise ValueError(f"{owner}: expected an image batch (N, H, W, C), got shape {a.shape}")
    return a


def _pairs(pool, stride):
    return tuple(int(v) for v in pool), tuple(int(v) for v in stride)


def _input_shape(owner, input_shape):
    shape = tuple(int(s) for s in input_shape)
    if len(shape) != 4:
        raise ValueError(f"{owner}: expected input_shape (N, H, W, C), got {input_shape!r}")
    return shape


def maxpool2d_forward(x, pool, stride):
    """Native max pooling (C kernel rg_pool_max2d_forward) -> (y, indices):
    y[n, i, j, c] = max_{p,q} x[n, i*sh + p, j*sw + q, c]; indices = p*pw + q of the first
    maximum in row-major window order (a NaN counts as the largest, as in NumPy's argmax)."""
    x = _images("maxpool2d_forward", x)
    pool, stride = _pairs(pool, stride)
    oh, ow = _pool.geometry("maxpool2d_forward", x.shape, pool, stride)
    y = np.empty((x.shape[0], oh, ow, x.shape[3]), dtype=x.dtype)
    indices = np.empty(y.shape, dtype=np.int32)
    _pool.max2d_forward(x, y, indices, pool, stride, get_num_threads())
    return y, indices


def maxpool2d_backward(dy, indices, input_shape, pool, stride):
    """Native max pooling backward (C kernel rg_pool_max2d_backward): each dy goes to the
    input its window took; overlapping windows add up.  Indices outside [0, ph*pw) raise."""
    dy = _images("maxpool2d_backward", dy)
    pool, stride = _pairs(pool, stride)
    dx = np.empty(_input_shape("maxpool2d_backward", input_shape), dtype=dy.dtype)
    _pool.max2d_backward(dy, np.ascontiguousarray(indices, dtype=np.int32), dx, pool, stride,
                         get_num_threads())
    return dx


def avgpool2d_forward(x, pool, stride):
    """Native average pooling (C kernel rg_pool_avg2d_forward):
    y[n, i, j, c] = sum_{p,q} x[n, i*sh + p, j*sw + q, c] / (ph pw)."""
    x = _images("avgpool2d_forward", x)
    pool, stride = _pairs(pool, stride)
    oh, ow = _pool.geometry("avgpool2d_forward", x.shape, pool, stride)
    y = np.empty((x.shape[0], oh, ow, x.shape[3]), dtype=x.dtype)
    _pool.avg2d_forward(x, y, pool, stride, get_num_threads())
    return y


def avgpool2d_backward(dy, input_shape, pool, stride):
    """Native average pooling backward (C kernel rg_pool_avg2d_backward): dy / (ph pw) to
    every element of its window; overlapping windows add up."""
    dy = _images("avgpool2d_backward", dy)
    pool, stride = _pairs(pool, stride)
    dx = np.empty(_input_shape("avgpool2d_backward", input_shape), dtype=dy.dtype)
    _pool.avg2d_backward(dy, dx, pool, stride, get_num_threads())
    return dx


def global_avgpool_forward(x):
    """Native global average pooling (C kernel rg_pool_global_avg_forward):
    y[n, c] = sum_{h,w} x[n, h, w, c] / (H W)  ->  (N, C)."""
    x = _images("global_avgpool_forward", x)
    y = np.empty((x.shape[0], x.shape[3]), dtype=x.dtype)
    _pool.global_avg_forward(x, y, get_num_threads())
    return y


def global_avgpool_backward(dy, input_shape):
    """Native global average pooling backward (C kernel rg_pool_global_avg_backward):
    dx[n, h, w, c] = dy[n, c] / (H W)."""
    dy = np.ascontiguousarray(dy)
    dx = np.empty(_input_shape("global_avgpool_backward", input_shape), dtype=dy.dtype)
    _pool.global_avg_backward(dy, dx, get_num_threads())
    return dx


def global_maxpool_forward(x):
    """Native global max pooling (C kernel rg_pool_global_max_forward) -> (y (N, C),
    indices int32 (N, C) = h*W + w of the first maximum)."""
    x = _images("global_maxpool_forward", x)
    y = np.empty((x.shape[0], x.shape[3]), dtype=x.dtype)
    indices = np.empty(y.shape, dtype=np.int32)
    _pool.global_max_forward(x, y, indices, get_num_threads())
    return y, indices


def global_maxpool_backward(dy, indices, input_shape):
    """Native global max pooling backward (C kernel rg_pool_global_max_backward):
    dx[n, h, w, c] = dy[n, c] at h*W + w = indices[n, c], else 0."""
    dy = np.ascontiguousarray(dy)
    dx = np.empty(_input_shape("global_maxpool_backward", input_shape), dtype=dy.dtype)
    _pool.global_max_backward(dy, np.ascontiguousarray(indices, dtype=np.int32), dx,
                              get_num_threads())
    return dx


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
                   float(scale), get_num_threads())
    return y


def dropout_forward(x, mask, scale):
    """Native inverted dropout (C kernel rg_dropout_apply): y = x * mask * scale."""
    return _dropout_apply("dropout_forward", x, mask, scale)


def dropout_backward(dy, mask, scale):
    """Native dropout backward (C kernel rg_dropout_apply): dx = dy * mask * scale."""
    return _dropout_apply("dropout_backward", dy, mask, scale)
