"""The NumPy reference kernels: clear, vectorised NumPy, one function per kernel.

Every function here has a twin of the same name and signature in
``native_ops``.  Each takes ``owner=``, the public name (layer, loss, optimizer) the native
twin's errors start with; the reference itself raises nothing of its own.  Conventions:
  * ``<f>_forward(x, *hyper) -> y`` and ``<f>_backward(dy, x, y, *hyper) -> dx``
    for element-wise activations (backward may use the input x, the output y or both);
  * PReLU, RReLU and NoisyReLU take their slopes / noise as arrays (the layer owns
    the parameter or the random draw); softmax works along the last axis;
  * inputs are never modified; outputs are new arrays of the input's dtype;
  * every function gives finite values without floating-point warnings for any
    |z| up to 1000 (no exponential of a positive argument).
"""
import functools
import math

import numpy as np

from . import _special


# ---- dense ---------------------------------------------------------------------------------
def dense_forward(x, weights, biases, *, owner="Dense"):
    """y = x W + b;  x (N, in), W (in, out), b (out,) -> y (N, out)."""
    return x @ weights + biases


def dense_backward(dy, x, weights, input_grad=True, *, owner="Dense"):
    """dL/dx = dy W^T,  dL/dW = x^T dy,  dL/db = sum_n dy  ->  (dx, dW, db); dx is None when
    ``input_grad`` is False (a network's first layer needs no input gradient)."""
    dx = dy @ weights.T if input_grad else None
    return dx, x.T @ dy, dy.sum(axis=0)


# ---- element-wise activations -------------------------------------------------------------
def _underflow_is_exact(kernel):
    """exp of a very negative argument rounds to 0 (or a subnormal number): that is the
    correctly rounded result, not a failure, so these kernels do not report underflow even
    under np.errstate(all="raise").  Overflow and invalid operations would still raise;
    every argument of exp below is kept <= 0 so that none happens."""
    @functools.wraps(kernel)
    def quiet(*args, **kwargs):
        with np.errstate(under="ignore"):
            return kernel(*args, **kwargs)
    return quiet


def relu_forward(x, *, owner="ReLU"):
    """s = max(0, z)."""
    return np.maximum(x, 0, dtype=x.dtype)


def relu_backward(dy, x, y, *, owner="ReLU"):
    """ds/dz = 1 where z > 0, else 0 (0 at z = 0)."""
    return np.where(x > 0, dy, 0).astype(x.dtype, copy=False)


def leaky_relu_forward(x, alpha, *, owner="LeakyReLU"):
    """s = z if z > 0 else alpha z."""
    return np.where(x > 0, x, x * x.dtype.type(alpha))


def leaky_relu_backward(dy, x, y, alpha, *, owner="LeakyReLU"):
    """ds/dz = 1 if z > 0 else alpha."""
    return np.where(x > 0, dy, dy * x.dtype.type(alpha))


@_underflow_is_exact
def sigmoid_forward(x, *, owner="Sigmoid"):
    """s = 1 / (1 + e^-z), evaluated as e^z / (1 + e^z) for z < 0 so that no
    exponential overflows."""
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype, copy=False)


def sigmoid_backward(dy, x, y, *, owner="Sigmoid"):
    """ds/dz = s (1 - s)."""
    return dy * y * (1 - y)


def tanh_forward(x, *, owner="Tanh"):
    """s = tanh z."""
    return np.tanh(x)


def tanh_backward(dy, x, y, *, owner="Tanh"):
    """ds/dz = 1 - s^2."""
    return dy * (1 - y * y)


def softsign_forward(x, *, owner="Softsign"):
    """s = z / (1 + |z|)."""
    return x / (1 + np.abs(x))


def softsign_backward(dy, x, y, *, owner="Softsign"):
    """ds/dz = 1 / (1 + |z|)^2."""
    d = 1 + np.abs(x)
    return dy / (d * d)


def hard_sigmoid_forward(x, *, owner="HardSigmoid"):
    """s = clip(z/6 + 1/2, 0, 1)."""
    return np.clip(x / 6 + 0.5, 0, 1)


def hard_sigmoid_backward(dy, x, y, *, owner="HardSigmoid"):
    """ds/dz = 1/6 strictly inside -3 < z < 3, else 0."""
    return np.where((x > -3) & (x < 3), dy / 6, 0).astype(x.dtype, copy=False)


def hard_tanh_forward(x, min_val, max_val, *, owner="HardTanh"):
    """s = clip(z, min_val, max_val)."""
    return np.clip(x, x.dtype.type(min_val), x.dtype.type(max_val))


def hard_tanh_backward(dy, x, y, min_val, max_val, *, owner="HardTanh"):
    """ds/dz = 1 strictly inside min_val < z < max_val, else 0."""
    inside = (x > x.dtype.type(min_val)) & (x < x.dtype.type(max_val))
    return np.where(inside, dy, 0).astype(x.dtype, copy=False)


@_underflow_is_exact
def elu_forward(x, alpha, *, owner="ELU"):
    """s = z if z > 0 else alpha (e^z - 1); expm1 keeps small |z| accurate, and its
    argument is clipped to <= 0 because np.where evaluates both branches."""
    return np.where(x > 0, x, x.dtype.type(alpha) * np.expm1(np.minimum(x, 0)))


@_underflow_is_exact
def elu_backward(dy, x, y, alpha, *, owner="ELU"):
    """ds/dz = 1 if z > 0 else alpha e^z."""
    return np.where(x > 0, dy, dy * (x.dtype.type(alpha) * np.exp(np.minimum(x, 0))))


SELU_LAMBDA = 1.0507009873554805
SELU_ALPHA = 1.6732632423543772


@_underflow_is_exact
def selu_forward(x, *, owner="SELU"):
    """s = lambda z if z > 0 else lambda alpha (e^z - 1)."""
    neg = SELU_ALPHA * np.expm1(np.minimum(x, 0))
    return (SELU_LAMBDA * np.where(x > 0, x, neg)).astype(x.dtype, copy=False)


@_underflow_is_exact
def selu_backward(dy, x, y, *, owner="SELU"):
    """ds/dz = lambda if z > 0 else lambda alpha e^z."""
    slope = np.where(x > 0, SELU_LAMBDA, SELU_LAMBDA * SELU_ALPHA * np.exp(np.minimum(x, 0)))
    return (dy * slope).astype(x.dtype, copy=False)


_SQRT_HALF = math.sqrt(0.5)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_GELU_TANH_C = math.sqrt(2.0 / math.pi)
_GELU_TANH_K = 0.044715
_GELU_SIGMOID_K = 1.702


@_underflow_is_exact
def gelu_erf_forward(x, *, owner="GELU"):
    """s = z Phi(z), Phi(z) = erfc(-z/sqrt 2) / 2 the standard normal CDF.  erfc rather
    than 1 + erf(z/sqrt 2): no cancellation for negative z.  Evaluated in float64."""
    z = x.astype(np.float64)
    return (z * (0.5 * _special.erfc(-z * _SQRT_HALF))).astype(x.dtype)


@_underflow_is_exact
def gelu_erf_backward(dy, x, y, *, owner="GELU"):
    """ds/dz = Phi(z) + z phi(z), phi(z) = e^(-z^2/2) / sqrt(2 pi)."""
    z = x.astype(np.float64)
    slope = 0.5 * _special.erfc(-z * _SQRT_HALF) + z * (_INV_SQRT_2PI * np.exp(-0.5 * z * z))
    return (dy * slope).astype(x.dtype)


def gelu_tanh_forward(x, *, owner="GELU"):
    """s = z/2 (1 + tanh u), u = sqrt(2/pi) (z + 0.044715 z^3)."""
    t = np.tanh(_GELU_TANH_C * (x + _GELU_TANH_K * x * x * x))
    return 0.5 * x * (1 + t)


def gelu_tanh_backward(dy, x, y, *, owner="GELU"):
    """ds/dz = (1 + tanh u)/2 + z/2 (1 - tanh^2 u) sqrt(2/pi) (1 + 3 * 0.044715 z^2).
    z is clipped to [-10, 10] first: beyond it tanh u is exactly +-1 in both precisions (the
    derivative's limits 1 and 0), and z^2 of a huge z would overflow into inf * 0 = NaN."""
    x = np.clip(x, -10, 10)
    x2 = x * x
    t = np.tanh(_GELU_TANH_C * (x + _GELU_TANH_K * x2 * x))
    du = _GELU_TANH_C * (1 + 3 * _GELU_TANH_K * x2)
    return dy * (0.5 * (1 + t) + 0.5 * x * (1 - t * t) * du)


def gelu_sigmoid_forward(x, *, owner="GELU"):
    """s = z sigmoid(1.702 z)."""
    return x * sigmoid_forward(_GELU_SIGMOID_K * x)


def gelu_sigmoid_backward(dy, x, y, *, owner="GELU"):
    """ds/dz = sigma + 1.702 z sigma (1 - sigma), sigma = sigmoid(1.702 z)."""
    sig = sigmoid_forward(_GELU_SIGMOID_K * x)
    return dy * (sig + _GELU_SIGMOID_K * x * sig * (1 - sig))


def swish_forward(x, beta, *, owner="Swish"):
    """s = z sigmoid(beta z)."""
    return x * sigmoid_forward(x * x.dtype.type(beta))


def swish_backward(dy, x, y, beta, *, owner="Swish"):
    """ds/dz = sigma + beta z sigma (1 - sigma), sigma = sigmoid(beta z)."""
    beta = x.dtype.type(beta)
    sig = sigmoid_forward(x * beta)
    return dy * (sig + beta * x * sig * (1 - sig))


# ---- activations with per-element or per-channel slopes -----------------------------------
def prelu_forward(x, alpha, *, owner="PReLU"):
    """s = z if z > 0 else alpha_c z;  alpha (P,), P = 1 (shared) or P = x.shape[-1]
    (one slope per channel of the last axis), so it broadcasts against x."""
    return np.where(x > 0, x, alpha * x)


def prelu_backward(dy, x, alpha, *, owner="PReLU"):
    """dx = dy if z > 0 else alpha_c dy;  dalpha_c = sum of dy z over the elements of
    channel c that are not > 0 (all elements when P = 1)  ->  (dx, dalpha).  A NaN z is
    "not > 0", as in the forward: alpha dy, and a NaN in dalpha."""
    positive = x > 0
    dx = np.where(positive, dy, alpha * dy)
    dalpha = np.where(positive, 0, dy * x).reshape(-1, alpha.shape[0]).sum(axis=0)
    return dx, dalpha.astype(x.dtype, copy=False)


def rrelu_forward(x, slopes, *, owner="RReLU"):
    """s = z if z > 0 else a z, with a = slopes (x's shape, drawn ~ U(lower, upper))."""
    return np.where(x > 0, x, slopes * x)


def rrelu_backward(dy, x, slopes, *, owner="RReLU"):
    """ds/dz = 1 if z > 0 else a."""
    return np.where(x > 0, dy, slopes * dy)


def noisy_relu_forward(x, noise, *, owner="NoisyReLU"):
    """s = max(0, z + noise sqrt(sigmoid(z))), noise ~ N(0, 1) of x's shape: the
    noise has variance sigmoid(z) (Nair & Hinton)."""
    return np.maximum(x + noise * np.sqrt(sigmoid_forward(x)), 0).astype(x.dtype, copy=False)


def noisy_relu_backward(dy, x, *, owner="NoisyReLU"):
    """ds/dz = 1 where z > 0, else 0: the noise is treated as a constant."""
    return np.where(x > 0, dy, 0).astype(x.dtype, copy=False)


# ---- softmax -------------------------------------------------------------------------------
@_underflow_is_exact
def softmax_forward(x, *, owner="Softmax"):
    """s_i = e^(z_i - m) / sum_j e^(z_j - m) along the last axis, m = max_j z_j: every
    exponent is <= 0, so nothing overflows."""
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def softmax_backward(dy, x, y, *, owner="Softmax"):
    """Jacobian-vector product along the last axis: dz = s (dy - sum_j dy_j s_j)."""
    return y * (dy - (dy * y).sum(axis=-1, keepdims=True))


@_underflow_is_exact
def softmax_cross_entropy(logits, targets, *, owner="CategoricalCrossEntropy"):
    """Softmax followed by cross-entropy, fused.  logits, targets (N, C); targets are
    probability rows (one-hot or soft).

        log p = z - m - log sum_j e^(z_j - m)          (log-sum-exp, m = max_j z_j)
        loss  = -(1/N) sum_n sum_c t_nc log p_nc       (a Python float)
        dL/dz = (p - t) / N

    -> (loss, grad of logits' shape and dtype)."""
    shifted = logits - logits.max(axis=-1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
    n = logits.shape[0]
    loss = -float((targets * log_p).sum()) / n
    grad = (np.exp(log_p) - targets) / n
    return loss, grad.astype(logits.dtype, copy=False)


# ---- optimizer updates ---------------------------------------------------------------------
# Every argument named params, grads or after a state (velocity, accum, m, v, u) is a list of
# arrays of one dtype, pairwise of the same shape: one call updates a whole model.  params and
# state arrays are updated in place, grads are only read; the scalars (bias corrections...)
# are Python floats the optimizer computes once per step.  Each loop body is the algorithm
# box of the method; params and state are updated with in-place operators, so only the
# element-wise temporaries of the right-hand sides are allocated.
def sgd_step(params, grads, lr, *, owner="SGD"):
    """p <- p - lr g."""
    for p, g in zip(params, grads):
        p -= lr * g


def momentum_step(params, grads, velocity, lr, momentum, *, owner="Momentum"):
    """v <- mu v - lr g;  p <- p + v."""
    for p, g, v in zip(params, grads, velocity):
        v *= momentum
        v -= lr * g
        p += v


def nag_step(params, grads, velocity, lr, momentum, *, owner="NesterovAcceleratedGradient"):
    """v <- mu v - lr g;  p <- p + mu v - lr g   (the look-ahead of Nesterov's
    momentum, written at the current point as in Sutskever et al.)."""
    for p, g, v in zip(params, grads, velocity):
        v *= momentum
        step = lr * g
        v -= step
        p -= step
        p += momentum * v


def adagrad_step(params, grads, accum, lr, eps, *, owner="AdaGrad"):
    """n <- n + g^2;  p <- p - lr g / (sqrt(n) + eps)."""
    for p, g, n in zip(params, grads, accum):
        n += g * g
        denom = np.sqrt(n)
        denom += eps
        p -= lr * g / denom


def rmsprop_step(params, grads, accum, lr, rho, eps, *, owner="RMSProp"):
    """n <- rho n + (1 - rho) g^2;  p <- p - lr g / (sqrt(n) + eps)."""
    for p, g, n in zip(params, grads, accum):
        n *= rho
        n += (1 - rho) * (g * g)
        denom = np.sqrt(n)
        denom += eps
        p -= lr * g / denom


def _moments(g, m, v, beta_1, beta_2):
    """m <- b1 m + (1 - b1) g;  v <- b2 v + (1 - b2) g^2, in place."""
    m *= beta_1
    m += (1 - beta_1) * g
    v *= beta_2
    v += (1 - beta_2) * (g * g)


def adam_step(params, grads, m, v, lr, beta_1, beta_2, eps, bc1, bc2, *, owner="Adam"):
    """m <- b1 m + (1 - b1) g;  v <- b2 v + (1 - b2) g^2;
    p <- p - lr (m / bc1) / (sqrt(v / bc2) + eps),  bc1 = 1 - b1^t, bc2 = 1 - b2^t."""
    for p, g, m_, v_ in zip(params, grads, m, v):
        _moments(g, m_, v_, beta_1, beta_2)
        denom = np.sqrt(v_ / bc2)
        denom += eps
        p -= lr * (m_ / bc1) / denom


def adamax_step(params, grads, m, u, lr_t, beta_1, beta_2, eps, *, owner="AdaMax"):
    """m <- b1 m + (1 - b1) g;  u <- max(b2 u, |g|);  p <- p - lr_t m / (u + eps),
    lr_t = lr / (1 - b1^t)."""
    for p, g, m_, u_ in zip(params, grads, m, u):
        m_ *= beta_1
        m_ += (1 - beta_1) * g
        u_ *= beta_2
        np.maximum(u_, np.abs(g), out=u_)
        p -= lr_t * m_ / (u_ + eps)


def nadam_step(params, grads, m, v, coef_g, coef_m, beta_1, beta_2, bc2, eps, *, owner="Nadam"):
    """m <- b1 m + (1 - b1) g;  v <- b2 v + (1 - b2) g^2;  d = sqrt(v / bc2) + eps;
    p <- p - coef_g g / d - coef_m m / d, with coef_g = lr (1 - mu_t) / (1 - P_t) and
    coef_m = lr mu_{t+1} / (1 - P_t mu_{t+1})  (torch.optim.NAdam's form)."""
    for p, g, m_, v_ in zip(params, grads, m, v):
        _moments(g, m_, v_, beta_1, beta_2)
        denom = np.sqrt(v_ / bc2)
        denom += eps
        p -= (coef_g * g + coef_m * m_) / denom


def adamw_step(params, grads, m, v, lr, beta_1, beta_2, eps, weight_decay, bc1, bc2, *,
               owner="AdamW"):
    """Adam's moments, then p <- p - lr ((m / bc1) / (sqrt(v / bc2) + eps) + wd p):
    the decay uses the parameter before this step and is not scaled by the
    adaptive denominator (decoupled weight decay, Loshchilov & Hutter)."""
    for p, g, m_, v_ in zip(params, grads, m, v):
        _moments(g, m_, v_, beta_1, beta_2)
        denom = np.sqrt(v_ / bc2)
        denom += eps
        update = (m_ / bc1) / denom
        update += weight_decay * p
        p -= lr * update


def radam_step(params, grads, m, v, lr, beta_1, beta_2, eps, bc1, bc2, rect, *, owner="RAdam"):
    """Adam's moments, then p <- p - lr rect (m / bc1) sqrt(bc2) / (sqrt(v) + eps) when
    rect > 0 (the variance of the adaptive rate is tractable), else the un-adapted
    momentum step p <- p - lr m / bc1.  torch.optim.RAdam's form: epsilon is added to
    sqrt(v), not to sqrt(v / bc2) as in Adam."""
    for p, g, m_, v_ in zip(params, grads, m, v):
        _moments(g, m_, v_, beta_1, beta_2)
        if rect > 0:
            denom = np.sqrt(v_)
            denom += eps
            p -= (lr * rect * math.sqrt(bc2) / bc1) * m_ / denom
        else:
            p -= lr * (m_ / bc1)


def lion_step(params, grads, m, lr, beta_1, beta_2, weight_decay, *, owner="Lion"):
    """c = b1 m + (1 - b1) g;  p <- p - lr (sign(c) + wd p);  m <- b2 m + (1 - b2) g."""
    for p, g, m_ in zip(params, grads, m):
        update = np.sign(beta_1 * m_ + (1 - beta_1) * g)
        update += weight_decay * p
        p -= lr * update
        m_ *= beta_2
        m_ += (1 - beta_2) * g


# ---- convolution and pooling (images NHWC) -------------------------------------------------
# The layer validates and resolves every size: stride (sh, sw) >= 1, padding
# ((top, bottom), (left, right)) >= 0, pool (ph, pw), windows that fit the (padded) image.
# Windows are strided views (sliding_window_view), so im2col costs one copy, made by the
# matrix product itself; the backward scatters loop over the KH x KW (or ph x pw) window
# offsets, each adding one strided slice for the whole batch, never over pixels.
def _pad_image(x, padding):
    """x (N, H, W, C) with zero rows on top/bottom and zero columns left/right."""
    (top, bottom), (left, right) = padding
    if top == bottom == left == right == 0:
        return x
    return np.pad(x, ((0, 0), (top, bottom), (left, right), (0, 0)))


def _windows(x, window, stride):
    """The strided view (N, OH, OW, C, wh, ww) of every window of x (N, H, W, C):
    entry [n, i, j, c, p, q] is x[n, i*sh + p, j*sw + q, c]; OH = (H - wh) // sh + 1."""
    (wh, ww), (sh, sw) = window, stride
    return np.lib.stride_tricks.sliding_window_view(x, (wh, ww), axis=(1, 2))[:, ::sh, ::sw]


def _offset_slice(start, stride, count):
    """Rows start, start + stride, ..., (count items): where window offset ``start``
    lands for each of ``count`` outputs."""
    return slice(start, start + stride * (count - 1) + 1, stride)


def conv2d_forward(x, kernels, biases, stride, padding, *, owner="Conv2D"):
    """y[n, i, j, f] = b[f] + sum_{c,p,q} xpad[n, i*sh + p, j*sw + q, c] K[f, c, p, q]
    (cross-correlation, no kernel flip): one matrix product of the im2col matrix
    (N*OH*OW, C*KH*KW) with the kernels (F, C*KH*KW)^T.

    x (N, H, W, C); kernels (F, C, KH, KW); biases (F,) -> y (N, OH, OW, F),
    OH = (H + top + bottom - KH) // sh + 1, OW likewise."""
    cols = _windows(_pad_image(x, padding), kernels.shape[2:], stride)
    return np.tensordot(cols, kernels, axes=([3, 4, 5], [1, 2, 3])) + biases


def conv2d_backward(dy, x, kernels, stride, padding, input_grad=True, *, owner="Conv2D"):
    """dK[f, c, p, q] = sum_{n,i,j} dy[n, i, j, f] xpad[n, i*sh + p, j*sw + q, c]
    (the im2col matrix transposed times dy);  db[f] = sum_{n,i,j} dy[n, i, j, f];
    dxpad[n, i*sh + p, j*sw + q, c] += sum_f dy[n, i, j, f] K[f, c, p, q] for each kernel
    offset (p, q), then the padding is cut off.

    dy (N, OH, OW, F) -> (dx like x, dkernels like kernels, dbiases (F,)); dx is None when
    ``input_grad`` is False (a network's first layer needs no input gradient)."""
    n, oh, ow, _ = dy.shape
    (sh, sw), (kh, kw) = stride, kernels.shape[2:]
    (top, bottom), (left, right) = padding
    xpad = _pad_image(x, padding)
    dkernels = np.tensordot(dy, _windows(xpad, (kh, kw), stride), axes=([0, 1, 2], [0, 1, 2]))
    if not input_grad:
        return None, dkernels, dy.sum(axis=(0, 1, 2))
    dxpad = np.zeros(xpad.shape, dtype=x.dtype)
    for p in range(kh):
        for q in range(kw):
            dxpad[:, _offset_slice(p, sh, oh), _offset_slice(q, sw, ow)] += dy @ kernels[:, :, p, q]
    dx = dxpad[:, top:top + x.shape[1], left:left + x.shape[2]]
    return np.ascontiguousarray(dx), dkernels, dy.sum(axis=(0, 1, 2))


def _pool_windows(x, pool, stride):
    """The (N, OH, OW, C, ph, pw) windows of x.  When they tile the image (stride ==
    pool) this is a reshape of x (rows and columns past the last full window dropped);
    otherwise (overlapping, or gaps between windows) a strided sliding-window view."""
    if tuple(pool) != tuple(stride):
        return _windows(x, pool, stride)
    n, h, w, c = x.shape
    (ph, pw) = pool
    oh, ow = h // ph, w // pw
    tiles = x[:, :oh * ph, :ow * pw].reshape(n, oh, ph, ow, pw, c)
    return tiles.transpose(0, 1, 3, 5, 2, 4)


def maxpool2d_forward(x, pool, stride, *, owner="MaxPooling2D"):
    """y[n, i, j, c] = max_{p,q} x[n, i*sh + p, j*sw + q, c], OH = (H - ph) // sh + 1;
    indices[n, i, j, c] = p*pw + q of the first maximum in row-major window order (ties
    go to the first, as in PyTorch).  -> (y (N, OH, OW, C), indices int32 of y's shape)."""
    windows = _pool_windows(x, pool, stride)
    flat = windows.reshape(windows.shape[:4] + (-1,))
    indices = flat.argmax(axis=-1)
    y = np.take_along_axis(flat, indices[..., None], axis=-1)[..., 0]
    return y, indices.astype(np.int32)


def maxpool2d_backward(dy, indices, input_shape, pool, stride, *, owner="MaxPooling2D"):
    """dx[n, i*sh + p, j*sw + q, c] += dy[n, i, j, c] where indices[n, i, j, c] == p*pw + q:
    each output's gradient goes to the input it took; overlapping windows add up."""
    _, oh, ow, _ = dy.shape
    (ph, pw), (sh, sw) = pool, stride
    dx = np.zeros(input_shape, dtype=dy.dtype)
    zero = dy.dtype.type(0)
    for p in range(ph):
        for q in range(pw):
            dx[:, _offset_slice(p, sh, oh), _offset_slice(q, sw, ow)] += np.where(
                indices == p * pw + q, dy, zero)
    return dx


def avgpool2d_forward(x, pool, stride, *, owner="AveragePooling2D"):
    """y[n, i, j, c] = 1/(ph pw) sum_{p,q} x[n, i*sh + p, j*sw + q, c]."""
    return _pool_windows(x, pool, stride).mean(axis=(4, 5))


def avgpool2d_backward(dy, input_shape, pool, stride, *, owner="AveragePooling2D"):
    """dx[n, i*sh + p, j*sw + q, c] += dy[n, i, j, c] / (ph pw) for every window offset."""
    _, oh, ow, _ = dy.shape
    (ph, pw), (sh, sw) = pool, stride
    share = dy / dy.dtype.type(ph * pw)
    dx = np.zeros(input_shape, dtype=dy.dtype)
    for p in range(ph):
        for q in range(pw):
            dx[:, _offset_slice(p, sh, oh), _offset_slice(q, sw, ow)] += share
    return dx


def global_avgpool_forward(x, *, owner="GlobalAveragePooling2D"):
    """y[n, c] = 1/(H W) sum_{h,w} x[n, h, w, c]  ->  (N, C)."""
    return x.mean(axis=(1, 2))


def global_avgpool_backward(dy, input_shape, *, owner="GlobalAveragePooling2D"):
    """dx[n, h, w, c] = dy[n, c] / (H W)."""
    n, h, w, c = input_shape
    share = dy / dy.dtype.type(h * w)
    return np.ascontiguousarray(np.broadcast_to(share[:, None, None, :], input_shape))


def global_maxpool_forward(x, *, owner="GlobalMaxPooling2D"):
    """y[n, c] = max_{h,w} x[n, h, w, c];  indices[n, c] = h*W + w of the first maximum
    -> (y (N, C), indices int32 (N, C))."""
    n, h, w, c = x.shape
    flat = x.reshape(n, h * w, c)
    indices = flat.argmax(axis=1)
    return np.take_along_axis(flat, indices[:, None, :], axis=1)[:, 0], indices.astype(np.int32)


def global_maxpool_backward(dy, indices, input_shape, *, owner="GlobalMaxPooling2D"):
    """dx[n, h, w, c] = dy[n, c] at the position h*W + w = indices[n, c], else 0."""
    n, h, w, c = input_shape
    dx = np.zeros((n, h * w, c), dtype=dy.dtype)
    np.put_along_axis(dx, indices[:, None, :].astype(np.intp), dy[:, None, :], axis=1)
    return dx.reshape(input_shape)


def dropout_forward(x, mask, scale, *, owner="Dropout"):
    """y = x * mask * scale: inverted dropout, mask (x's shape, bool or uint8) keeps an
    element with probability 1 - rate and scale = 1 / (1 - rate) keeps E[y] = x."""
    return x * mask * x.dtype.type(scale)


def dropout_backward(dy, mask, scale, *, owner="Dropout"):
    """dx = dy * mask * scale."""
    return dy * mask * dy.dtype.type(scale)


# ---- normalisation (textbook ch. 24) ---------------------------------------------------------
# x is the (rows, C) view of an (N, ..., C) input; statistics are accumulated in float64 and
# returned in x's dtype.
def batch_norm_forward_train(x, gamma, beta, epsilon, *, owner="BatchNormalization"):
    """Per channel c over the rows: mean, biased var, y = gamma (x - mean)/sqrt(var + eps)
    + beta  ->  (y, mean (C,), var (C,))."""
    mean = np.mean(x, axis=0, dtype=np.float64)
    var = np.mean(np.square(x - mean), axis=0)  # two passes: no cancellation at |mean| >> std
    scale = gamma / np.sqrt(var + epsilon)
    y = ((x - mean) * scale + beta).astype(x.dtype)
    return y, mean.astype(x.dtype), var.astype(x.dtype)


def batch_norm_forward_eval(x, gamma, beta, moving_mean, moving_var, epsilon, *,
                            owner="BatchNormalization"):
    """y = x scale + shift with scale = gamma / sqrt(moving_var + eps), shift = beta -
    moving_mean scale (one fused pass)."""
    scale = gamma.astype(np.float64) / np.sqrt(moving_var.astype(np.float64) + epsilon)
    shift = beta - moving_mean * scale
    return (x * scale.astype(x.dtype) + shift.astype(x.dtype)).astype(x.dtype)


def batch_norm_backward(dy, x, mean, inv_std, gamma, *, owner="BatchNormalization"):
    """Gradient of the training formula, x_hat = (x - mean) inv_std, n rows:
    dbeta = sum dy, dgamma = sum dy x_hat, dx = gamma inv_std / n (n dy - dbeta - x_hat dgamma)
    ->  (dx, dgamma, dbeta)."""
    n = x.shape[0]
    x_hat = (x - mean.astype(np.float64)) * inv_std
    dbeta = np.sum(dy, axis=0, dtype=np.float64)
    dgamma = np.sum(dy * x_hat, axis=0)
    dx = (gamma * inv_std / n) * (n * dy - dbeta - x_hat * dgamma)
    return dx.astype(x.dtype), dgamma.astype(x.dtype), dbeta.astype(x.dtype)


def batch_norm_backward_eval(dy, x, mean, inv_std, gamma, *, owner="BatchNormalization"):
    """Gradient of the evaluation formula (fixed statistics): dx = dy gamma inv_std,
    dgamma = sum dy (x - mean) inv_std, dbeta = sum dy  ->  (dx, dgamma, dbeta)."""
    x_hat = (x - mean.astype(np.float64)) * inv_std
    dgamma = np.sum(dy * x_hat, axis=0)
    dbeta = np.sum(dy, axis=0, dtype=np.float64)
    dx = dy * (gamma * inv_std).astype(x.dtype)
    return dx.astype(x.dtype), dgamma.astype(x.dtype), dbeta.astype(x.dtype)


def layer_norm_forward(x, gamma, beta, epsilon, *, owner="LayerNormalization"):
    """Per row: mean, biased var over the D columns, y = gamma (x - mean) inv_std + beta
    with inv_std = 1/sqrt(var + eps)  ->  (y, mean (rows,), inv_std (rows,))."""
    mean = np.mean(x, axis=1, dtype=np.float64)[:, None]
    var = np.mean(np.square(x - mean), axis=1)[:, None]
    inv_std = 1 / np.sqrt(var + epsilon)
    y = ((x - mean) * inv_std * gamma + beta).astype(x.dtype)
    return y, mean[:, 0].astype(x.dtype), inv_std[:, 0].astype(x.dtype)


def layer_norm_backward(dy, x, mean, inv_std, gamma, *, owner="LayerNormalization"):
    """With x_hat = (x - mean) inv_std and g = dy gamma, per row of D columns:
    dx = inv_std / D (D g - sum g - x_hat sum g x_hat); dgamma = sum over rows of dy x_hat,
    dbeta = sum over rows of dy  ->  (dx, dgamma, dbeta)."""
    d = x.shape[1]
    inv = inv_std.astype(np.float64)[:, None]
    x_hat = (x - mean.astype(np.float64)[:, None]) * inv
    g = dy * gamma.astype(np.float64)
    dx = inv / d * (d * g - g.sum(axis=1, keepdims=True)
                    - x_hat * np.sum(g * x_hat, axis=1, keepdims=True))
    dgamma = np.sum(dy * x_hat, axis=0)
    dbeta = np.sum(dy, axis=0, dtype=np.float64)
    return dx.astype(x.dtype), dgamma.astype(x.dtype), dbeta.astype(x.dtype)
