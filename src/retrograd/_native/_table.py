"""The native kernel table: the one place that lists retrograd's C kernels.

At build time ``_generate.py`` (run by CMake) expands the Tempita templates of this
folder from it into
  * ``rg_kernels.h``: the C prototypes of every kernel for float32 and float64 (the
    ``rg_<name>_f32`` / ``rg_<name>_f64`` pairs) and the kind enums, included by
    ``csrc/retrograd.h``;
  * ``rg_capi.pxd``: the same declarations for Cython, and one fused inline function
    ``rg_<name>`` per kernel that calls the f32 or f64 twin;
  * one Cython module per family (``_activations.pyx``, ``_pool.pyx``, ...): a typed
    wrapper per kernel that checks every size of every array against the shapes written
    below, and the checks listed, before it releases the GIL and calls C.
At run time ``backend/native_ops.py`` reads the kind lists and the ``ops`` adapters.

Every kernel is a dtype template: C defines rg_<name>_f32 and rg_<name>_f64.  A kernel
entry, ``Kernel(module, wrapper, name, params, ...)``:
  params   the C parameter list, outputs first, with ``T`` for the element type and,
           after each array, its shape in brackets: ``const T *x[n, h, w, c]``.  A bare
           name in a shape that is an ``int64_t`` parameter is read from the array's
           shape (the first array naming it, inputs before outputs in the wrapper's
           argument order, defines it; every other one is checked against it); an
           expression is checked.  ``T *dx[...]?``
           may be None (NULL: not computed).  ``double *loss`` without a shape is a
           scalar output the wrapper returns.  The other scalars (``int64_t ph``,
           ``double a``, ``int kind``) are arguments of the wrapper; ``int n_threads``
           is checked to be >= 1.
  args     the wrapper's argument order (default: the C order of its arguments);
           every wrapper also takes ``owner=``, the public name its errors start with.
  checks   conditions (Cython expressions over the sizes and scalars; ``is_double``
           is True for float64) that keep the C code within its buffers; a pair
           (condition, message) words the error (an f-string after "expected ").
  skip     a condition under which nothing is computed (empty arrays).
  returns  ``int64_t`` for kernels that return a count (the wrapper returns it).
  ops      for kernels whose native_ops function only flattens its inputs and
           allocates outputs like the first one: "f(in, ...) -> out, ..." makes
           ``native_ops.f`` without hand-written code.
  wrapper  None: declared only (a hand-written module wraps it).

Adding a native kernel: its NumPy reference (backend/numpy_ops.py), its C body
(csrc/), one entry here, and the layer that calls it.
"""
from collections import namedtuple

Kernel = namedtuple("Kernel", "module wrapper name params args checks skip returns owner ops",
                    defaults=(None, (), None, "void", None, None))

# enum rg_activation_kind: the element-wise activations of rg_activation_forward/backward,
# in kind order: (name, the public layer it serves (the owner named in errors), its
# hyper-parameters, passed to C as a and b).
ACTIVATIONS = (
    ("relu", "ReLU", ()), ("leaky_relu", "LeakyReLU", ("alpha",)), ("sigmoid", "Sigmoid", ()),
    ("tanh", "Tanh", ()), ("softsign", "Softsign", ()), ("hard_sigmoid", "HardSigmoid", ()),
    ("hard_tanh", "HardTanh", ("min_val", "max_val")), ("elu", "ELU", ("alpha",)),
    ("selu", "SELU", ()), ("gelu_erf", "GELU", ()), ("gelu_tanh", "GELU", ()),
    ("gelu_sigmoid", "GELU", ()), ("swish", "Swish", ("beta",)),
)

# enum rg_optimizer_kind: the updates of rg_optim_step, in kind order: (name, the public
# optimizer, its state arrays, its scalars in the order of numpy_ops.<name>_step).
OPTIMIZERS = (
    ("sgd", "SGD", (), ("lr",)),
    ("momentum", "Momentum", ("velocity",), ("lr", "momentum")),
    ("nag", "NesterovAcceleratedGradient", ("velocity",), ("lr", "momentum")),
    ("adagrad", "AdaGrad", ("accum",), ("lr", "eps")),
    ("rmsprop", "RMSProp", ("accum",), ("lr", "rho", "eps")),
    ("adam", "Adam", ("m", "v"), ("lr", "beta_1", "beta_2", "eps", "bc1", "bc2")),
    ("adamax", "AdaMax", ("m", "u"), ("lr_t", "beta_1", "beta_2", "eps")),
    ("nadam", "Nadam", ("m", "v"), ("coef_g", "coef_m", "beta_1", "beta_2", "bc2", "eps")),
    ("adamw", "AdamW", ("m", "v"),
     ("lr", "beta_1", "beta_2", "eps", "weight_decay", "bc1", "bc2")),
    ("radam", "RAdam", ("m", "v"), ("lr", "beta_1", "beta_2", "eps", "bc1", "bc2", "rect")),
    ("lion", "Lion", ("m",), ("lr", "beta_1", "beta_2", "weight_decay")),
)
MAX_POSITIONS = 2**31 - 1   # int32 indices of max pooling

# The modules' docstrings.
MODULES = {
    "_activations": "Element-wise activations (csrc/activations.c).",
    "_softmax": "Softmax along the last axis and the fused softmax cross-entropy "
                "(csrc/softmax.c).",
    "_dropout": "Dropout's fused multiply (csrc/dropout.c).",
    "_pool": "Pooling of NHWC images (csrc/pool.c).  The max backward kernels only compare "
             "indices, never address memory with them, and return the number outside the "
             "window.",
    "_conv": "2-D convolution of NHWC images (csrc/conv.c).",
    "_dense": "Dense layers (csrc/dense.c).",
    "_norm": "Batch and layer normalisation of (rows, C) matrices (csrc/norm.c).",
}

_CONV_NEED = ("rg_conv2d_workspace_size(is_double, H, W, C, F, KH, KW, sh, sw, pt, pl, OH, OW, "
              "n_threads)")
_CONV_WORKSPACE = (f"ws >= {_CONV_NEED}",
                   f"a workspace of at least {{{_CONV_NEED}}} elements, got {{ws}}")
_DENSE_NEED = "rg_dense_workspace_size(is_double, N, I, O, n_threads)"
_DENSE_WORKSPACE = (f"ws >= {_DENSE_NEED}",
                    f"a workspace of at least {{{_DENSE_NEED}}} elements, got {{ws}}")
_WINDOW_SIZES = ("int64_t n, int64_t h, int64_t w, int64_t c, int64_t oh, int64_t ow, int64_t ph, "
                 "int64_t pw, int64_t sh, int64_t sw, int n_threads")
_WINDOW_CHECKS = ("ph >= 1", "pw >= 1", "sh >= 1", "sw >= 1", "oh >= 1", "ow >= 1",
                  "(oh - 1) * sh + ph <= h", "(ow - 1) * sw + pw <= w")
_INT32_WINDOW = ("ph * pw <= MAX_POSITIONS",)
_IMAGE_SIZES = "int64_t n, int64_t hw, int64_t c, int n_threads"
_NO_IMAGE = "n == 0 or hw == 0 or c == 0"
_CONV_SIZES = ("int64_t N, int64_t H, int64_t W, int64_t C, int64_t F, int64_t KH, int64_t KW, "
               "int64_t sh, int64_t sw, int64_t pt, int64_t pl, int64_t OH, int64_t OW, "
               "int n_threads")
_CONV_CHECKS = ("N >= 1", "H >= 1", "W >= 1", "C >= 1", "F >= 1", "KH >= 1", "KW >= 1",
                "sh >= 1", "sw >= 1", "pt >= 0", "pl >= 0", "OH >= 1", "OW >= 1", _CONV_WORKSPACE)
_NORM_SIZES = "int64_t rows, int64_t channels, int n_threads"
_REDUCE_WORK = "groups >= RG_REDUCE_GROUPS"
_NORM_BACKWARD = ("double *work[groups, 2 * channels], const T *dy[rows, channels], "
                  "const T *x[rows, channels], const T *mean[channels], "
                  "const T *inv_std[channels], const T *gamma[channels], " + _NORM_SIZES)
_NORM_BACKWARD_ARGS = "dy, x, mean, inv_std, gamma, dx, dgamma, dbeta, work, n_threads"
K = Kernel
KERNELS = (
    # ---- element-wise activations (csrc/activations.c) --------------------------------
    K("_activations", "forward", "activation_forward",
      "T *y[n], const T *x[n], int64_t n, int kind, double a, double b, int n_threads",
      args="kind, x, y, a, b, n_threads", checks=("0 <= kind < RG_ACT_COUNT",), skip="n == 0",
      owner="ElementwiseActivation"),
    K("_activations", "backward", "activation_backward",
      "T *dx[n], const T *dy[n], const T *x[n], const T *y[n], int64_t n, int kind, double a, "
      "double b, int n_threads",
      args="kind, dy, x, y, dx, a, b, n_threads", checks=("0 <= kind < RG_ACT_COUNT",),
      skip="n == 0", owner="ElementwiseActivation"),
    K("_activations", "rrelu_forward", "rrelu_forward",
      "T *y[n], const T *x[n], const T *slopes[n], int64_t n, int n_threads",
      args="x, slopes, y, n_threads", skip="n == 0", owner="RReLU",
      ops="rrelu_forward(x, slopes) -> y"),
    K("_activations", "rrelu_backward", "rrelu_backward",
      "T *dx[n], const T *dy[n], const T *x[n], const T *slopes[n], int64_t n, int n_threads",
      args="dy, x, slopes, dx, n_threads", skip="n == 0", owner="RReLU",
      ops="rrelu_backward(dy, x, slopes) -> dx"),
    K("_activations", "noisy_relu_forward", "noisy_relu_forward",
      "T *y[n], const T *x[n], const T *noise[n], int64_t n, int n_threads",
      args="x, noise, y, n_threads", skip="n == 0", owner="NoisyReLU",
      ops="noisy_relu_forward(x, noise) -> y"),
    K("_activations", "prelu_forward", "prelu_forward",
      "T *y[rows, channels], const T *x[rows, channels], const T *alpha[channels], "
      "int64_t rows, int64_t channels, int n_threads",
      args="x, alpha, y, n_threads", skip="rows == 0 or channels == 0", owner="PReLU"),
    K("_activations", "prelu_backward", "prelu_backward",
      "T *dx[rows, channels], T *dalpha[channels], const T *dy[rows, channels], "
      "const T *x[rows, channels], const T *alpha[channels], double *work[groups, channels], "
      "int64_t rows, int64_t channels, int n_threads",
      args="dy, x, alpha, dx, dalpha, work, n_threads", checks=(_REDUCE_WORK,),
      skip="rows == 0 or channels == 0", owner="PReLU"),

    # ---- softmax (csrc/softmax.c) ----------------------------------------------------------
    K("_softmax", "forward", "softmax_forward",
      "T *y[rows, cols], const T *x[rows, cols], int64_t rows, int64_t cols, int n_threads",
      args="x, y, n_threads", skip="rows == 0 or cols == 0", owner="Softmax"),
    K("_softmax", "backward", "softmax_backward",
      "T *dx[rows, cols], const T *dy[rows, cols], const T *y[rows, cols], int64_t rows, "
      "int64_t cols, int n_threads",
      args="dy, y, dx, n_threads", skip="rows == 0 or cols == 0", owner="Softmax"),
    K("_softmax", "cross_entropy", "softmax_cross_entropy",
      "T *grad[rows, cols], double *loss, double *row_loss[rows], const T *logits[rows, cols], "
      "const T *targets[rows, cols], int64_t rows, int64_t cols, int n_threads",
      args="logits, targets, grad, row_loss, n_threads", checks=("rows >= 1", "cols >= 1"),
      owner="CategoricalCrossEntropy"),

    # ---- dropout (csrc/dropout.c) ----------------------------------------------------------
    K("_dropout", "apply", "dropout_apply",
      "T *y[n], const T *x[n], const uint8_t *mask[n], double scale, int64_t n, int n_threads",
      args="x, mask, y, scale, n_threads", skip="n == 0", owner="Dropout"),

    # ---- pooling (csrc/pool.c): geometry (oh, ow) from the output's shape --------------
    K("_pool", "max2d_forward", "pool_max2d_forward",
      "T *y[n, oh, ow, c], int32_t *indices[n, oh, ow, c], const T *x[n, h, w, c], "
      + _WINDOW_SIZES,
      args="x, y, indices, ph, pw, sh, sw, n_threads", checks=_WINDOW_CHECKS + _INT32_WINDOW,
      skip="n == 0 or c == 0", owner="MaxPooling2D"),
    K("_pool", "max2d_backward", "pool_max2d_backward",
      "T *dx[n, h, w, c], const T *dy[n, oh, ow, c], const int32_t *indices[n, oh, ow, c], "
      + _WINDOW_SIZES,
      args="dy, indices, dx, ph, pw, sh, sw, n_threads", returns="int64_t",
      checks=_WINDOW_CHECKS + _INT32_WINDOW, skip="n == 0 or c == 0", owner="MaxPooling2D"),
    K("_pool", "avg2d_forward", "pool_avg2d_forward",
      "T *y[n, oh, ow, c], const T *x[n, h, w, c], " + _WINDOW_SIZES,
      args="x, y, ph, pw, sh, sw, n_threads", checks=_WINDOW_CHECKS, skip="n == 0 or c == 0",
      owner="AveragePooling2D"),
    K("_pool", "avg2d_backward", "pool_avg2d_backward",
      "T *dx[n, h, w, c], const T *dy[n, oh, ow, c], " + _WINDOW_SIZES,
      args="dy, dx, ph, pw, sh, sw, n_threads", checks=_WINDOW_CHECKS, skip="n == 0 or c == 0",
      owner="AveragePooling2D"),
    # the global kernels see images as (N, H W, C)
    K("_pool", "global_max_forward", "pool_global_max_forward",
      "T *y[n, c], int32_t *indices[n, c], const T *x[n, hw, c], " + _IMAGE_SIZES,
      args="x, y, indices, n_threads", checks=("hw <= MAX_POSITIONS",), skip=_NO_IMAGE,
      owner="GlobalMaxPooling2D"),
    K("_pool", "global_max_backward", "pool_global_max_backward",
      "T *dx[n, hw, c], const T *dy[n, c], const int32_t *indices[n, c], " + _IMAGE_SIZES,
      args="dy, indices, dx, n_threads", returns="int64_t", checks=("hw <= MAX_POSITIONS",),
      skip=_NO_IMAGE, owner="GlobalMaxPooling2D"),
    K("_pool", "global_avg_forward", "pool_global_avg_forward",
      "T *y[n, c], const T *x[n, hw, c], " + _IMAGE_SIZES,
      args="x, y, n_threads", skip=_NO_IMAGE, owner="GlobalAveragePooling2D"),
    K("_pool", "global_avg_backward", "pool_global_avg_backward",
      "T *dx[n, hw, c], const T *dy[n, c], " + _IMAGE_SIZES,
      args="dy, dx, n_threads", skip=_NO_IMAGE, owner="GlobalAveragePooling2D"),

    # ---- convolution (csrc/conv.c): geometry (OH, OW) from the output's shape ------------
    K("_conv", "workspace_size", "conv2d_workspace_size",
      "int64_t H, int64_t W, int64_t C, int64_t F, int64_t KH, int64_t KW, int64_t sh, "
      "int64_t sw, int64_t pt, int64_t pl, int64_t OH, int64_t OW, int n_threads",
      returns="int64_t", checks=_CONV_CHECKS[1:-1], owner="Conv2D"),
    K("_conv", "forward", "conv2d_forward",
      "T *y[N, OH, OW, F], T *work[ws], const T *x[N, H, W, C], const T *wm[KH * KW * C, F], "
      "const T *b[F], " + _CONV_SIZES,
      args="x, wm, b, KH, KW, sh, sw, pt, pl, y, work, n_threads", checks=_CONV_CHECKS,
      owner="Conv2D"),
    K("_conv", "backward", "conv2d_backward",
      "T *dx[N, H, W, C]?, T *dwm[KH * KW * C, F], T *db[F], T *work[ws], "
      "const T *dy[N, OH, OW, F], const T *x[N, H, W, C], const T *wmt[F, KH * KW * C], "
      + _CONV_SIZES,
      args="x, wmt, dy, KH, KW, sh, sw, pt, pl, dx, dwm, db, work, n_threads",
      checks=_CONV_CHECKS, owner="Conv2D"),

    # ---- dense (csrc/dense.c) --------------------------------------------------------------
    K("_dense", "workspace_size", "dense_workspace_size",
      "int64_t N, int64_t I, int64_t O, int n_threads", returns="int64_t",
      checks=("N >= 1", "I >= 1", "O >= 1"), owner="Dense"),
    K("_dense", "forward", "dense_forward",
      "T *y[N, O], T *work[ws], const T *x[N, I], const T *w[I, O], const T *b[O], int64_t N, "
      "int64_t I, int64_t O, int n_threads",
      args="x, w, b, y, work, n_threads",
      checks=("N >= 1", "I >= 1", "O >= 1",
              _DENSE_WORKSPACE), owner="Dense"),
    K("_dense", "backward", "dense_backward",
      "T *dx[N, I]?, T *dw[I, O], T *db[O], T *work[ws], const T *dy[N, O], const T *x[N, I], "
      "const T *w[I, O], int64_t N, int64_t I, int64_t O, int n_threads",
      args="x, w, dy, dx, dw, db, work, n_threads",
      checks=("N >= 1", "I >= 1", "O >= 1",
              _DENSE_WORKSPACE), owner="Dense"),

    # ---- normalisation (csrc/norm.c): (rows, C) views; work holds per-group partial sums --
    K("_norm", "batch_forward_train", "batch_norm_forward_train",
      "T *y[rows, channels], T *mean[channels], T *var[channels], "
      "double *work[groups, 2 * channels], const T *x[rows, channels], const T *gamma[channels], "
      "const T *beta[channels], double epsilon, " + _NORM_SIZES,
      args="x, gamma, beta, y, mean, var, work, epsilon, n_threads",
      checks=("rows >= 1", _REDUCE_WORK), skip="channels == 0", owner="BatchNormalization"),
    K("_norm", "batch_forward_eval", "batch_norm_forward_eval",
      "T *y[rows, channels], const T *x[rows, channels], const T *gamma[channels], "
      "const T *beta[channels], const T *moving_mean[channels], const T *moving_var[channels], "
      "double epsilon, " + _NORM_SIZES,
      args="x, gamma, beta, moving_mean, moving_var, y, epsilon, n_threads",
      skip="rows == 0 or channels == 0", owner="BatchNormalization"),
    K("_norm", "batch_backward", "batch_norm_backward",
      "T *dx[rows, channels], T *dgamma[channels], T *dbeta[channels], " + _NORM_BACKWARD,
      args=_NORM_BACKWARD_ARGS, checks=(_REDUCE_WORK,), skip="rows == 0 or channels == 0",
      owner="BatchNormalization"),
    K("_norm", "batch_backward_eval", "batch_norm_backward_eval",
      "T *dx[rows, channels], T *dgamma[channels], T *dbeta[channels], " + _NORM_BACKWARD,
      args=_NORM_BACKWARD_ARGS, checks=(_REDUCE_WORK,), skip="rows == 0 or channels == 0",
      owner="BatchNormalization"),
    K("_norm", "layer_forward", "layer_norm_forward",
      "T *y[rows, channels], T *mean[rows], T *inv_std[rows], const T *x[rows, channels], "
      "const T *gamma[channels], const T *beta[channels], double epsilon, " + _NORM_SIZES,
      args="x, gamma, beta, y, mean, inv_std, epsilon, n_threads",
      skip="rows == 0 or channels == 0", owner="LayerNormalization"),
    K("_norm", "layer_backward", "layer_norm_backward",
      "T *dx[rows, channels], T *dgamma[channels], T *dbeta[channels], "
      "double *work[groups, 2 * channels], const T *dy[rows, channels], "
      "const T *x[rows, channels], const T *mean[rows], const T *inv_std[rows], "
      "const T *gamma[channels], " + _NORM_SIZES,
      args=_NORM_BACKWARD_ARGS, checks=(_REDUCE_WORK,), skip="rows == 0 or channels == 0",
      owner="LayerNormalization"),

    # ---- optimizers (csrc/optimizers.c): one entry point, `kind` picks the update --------
    # (wrapped by the hand-written _optimizers.pyx: lists of arrays; scalars in the order
    # of OPTIMIZERS above)
    K(None, None, "optim_step",
      "T *const *params, T *const *s1, T *const *s2, const T *const *grads, "
      "const int64_t *sizes, int64_t n_arrays, int kind, const double *scalars, int n_threads"),
)
