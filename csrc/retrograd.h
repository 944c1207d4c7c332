/*
 * retrograd.h -- the public C API of retrograd's native kernels.
 *
 * Conventions (ARCHITECTURE.md):
 *   - names are rg_<family>_<op>_<f32|f64>;
 *   - arguments: outputs first, then const inputs, then sizes, then n_threads;
 *   - gradients are named d<name>; the caller allocates every buffer;
 *   - a backward kernel overwrites its outputs unless its name ends in _acc;
 *   - kernels trust their arguments: the Cython layer validates every size first.
 */
#ifndef RETROGRAD_H
#define RETROGRAD_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- runtime ------------------------------------------------------------- */
int rg_openmp_enabled(void);        /* 1 when built with OpenMP */
int rg_default_num_threads(void);   /* omp_get_max_threads() (honours OMP_NUM_THREADS), else 1 */
/* Threads OpenMP really starts for a kernel called with n_threads on a problem large enough
 * for all of them (fewer under OMP_THREAD_LIMIT or OMP_DYNAMIC); 1 without OpenMP. */
int rg_team_size(int n_threads);
int rg_simd_level(void);            /* RG_SIMD_* of the code paths this CPU runs */
const char *rg_compiler(void);      /* compiler id and version used for the kernels */

#define RG_SIMD_BASELINE 0          /* SSE2 (x86-64 baseline) or the target's default */
#define RG_SIMD_AVX2_FMA 1
#define RG_SIMD_AVX512   2          /* AVX-512 for the transcendental loops, AVX2+FMA elsewhere */

/* Work per thread below which a kernel does not start (more) threads: waking a
 * sleeping OpenMP thread costs tens of microseconds (retrograd runs with
 * OMP_WAIT_POLICY=PASSIVE), so a thread must get at least that much work.
 * Units: elements for element-wise loops and updates. */
#define RG_GRAIN_CHEAP     (1 << 18)   /* a few flops per element (ReLU, clip, SGD) */
#define RG_GRAIN_TRANSCEND (1 << 16)   /* exp/tanh/erf or sqrt/div per element */
/* Reductions across threads sum per-group partial results, the groups fixed by the
 * problem's size (at most this many), then add them in group order: the same bits for
 * any thread count.  Workspaces of partial sums are sized by it. */
#define RG_REDUCE_GROUPS 16

/* ---- element-wise activations ---------------------------------------------
 * One forward and one backward entry point per dtype; `kind` picks the function
 * (RG_ACT_*), `a` and `b` are its hyper-parameters (see the table in
 * activations.c).  Arrays are contiguous, n elements.
 *   forward : y[i]  = f(x[i])
 *   backward: dx[i] = dy[i] * f'(x[i]) computed from x and/or y (each kind reads
 *             only the arrays it needs; the others may be NULL).
 * enum rg_activation_kind (RG_ACT_RELU, ..., RG_ACT_COUNT) lists the kinds in the order of
 * the kernel table's ACTIVATIONS: relu, leaky_relu (a = alpha), sigmoid, tanh, softsign,
 * hard_sigmoid, hard_tanh (a = min_val, b = max_val), elu (a = alpha), selu, gelu_erf,
 * gelu_tanh, gelu_sigmoid, swish (a = beta).
 */

/* ---- activations with a per-element second input ------------------------
 * x, y, dx, dy, slopes, noise: contiguous arrays of n elements.
 *   rrelu      y = z if z > 0 else slopes[i] z;     dx = dy if z > 0 else slopes[i] dy
 *   noisy_relu y = max(0, z + noise[i] sqrt(sigmoid(z)))   (its backward is relu's)
 */

/* ---- PReLU ------------------------------------------------------------------
 * x, y, dx, dy viewed as (rows, channels) row-major; alpha, dalpha (channels,).
 * A single shared slope is channels = 1 (rows = number of elements).
 *   forward : y = z if z > 0 else alpha[c] z
 *   backward: dx = dy if z > 0 else alpha[c] dy;
 *             dalpha[c] = sum over rows of dy z where z <= 0 (double accumulation)
 * work: RG_REDUCE_GROUPS * channels doubles (per-group partial sums, added in group order,
 * so dalpha does not depend on n_threads).
 */

/* ---- softmax along the last axis ----------------------------------------------
 * x, y, dx, dy, logits, targets, grad: (rows, cols) row-major, cols >= 1.
 *   forward : y[r, :] = e^{x[r, :] - m} / sum_c e^{x[r, c] - m},  m = max_c x[r, c]
 *   backward: dx = y (dy - sum_c dy y)   (row-wise Jacobian-vector product)
 *   cross_entropy: row_loss[r] = sum_c t[r, c] (lse_r - z[r, c]) with
 *             lse_r = m + log sum_c e^{z[r, c] - m};  *loss = mean_r row_loss[r]
 *             (summed in row order); grad = (softmax(z) - t) / rows.
 * Rows run in parallel, each row on one thread, so results do not depend on
 * the thread count.  Workspace: row_loss, rows doubles.
 */

/* ---- optimizers: one fused step over a list of parameter arrays -------------
 * rg_optim_step: `kind` (enum rg_optimizer_kind) picks the update; params, grads and
 * the state arrays s1, s2 (velocity, accum, m, v, u; NULL where the kind has fewer)
 * are arrays of n_arrays pointers; array a of each has sizes[a] contiguous elements.
 * params and state are updated in place, grads are read only; each element of each
 * array is read and written once.  The formulas are in optimizers.c; `scalars` are
 * those of the numpy_ops/native_ops <kind>_step function, in its order (the kernel
 * table's OPTIMIZERS).  Threads split the concatenated element range statically.
 * Workspace: none.
 */

/* ---- 2-D convolution (NHWC) ---------------------------------------------------
 * forward : y = b + sum_{c,p,q} xpad[n, i sh + p, j sw + q, c] K[f, c, p, q]
 * backward: dx, dwm = cols^T dy, db = sum of dy (overwritten); dx may be NULL (not computed).
 * x, dx (N, H, W, C); y, dy (N, OH, OW, F); wm, dwm (KH KW C, F) =
 * kernels.transpose(2, 3, 1, 0); wmt (F, KH KW C) = kernels.transpose(0, 2, 3, 1);
 * b, db (F,); work: rg_conv2d_workspace_size_<t>(H, W, C, F, KH, KW, sh, sw, pt, pl,
 * OH, OW, n_threads) elements.  Padding pt on top, pl on the left; OH, OW >= 1.  See conv.c.
 */

/* ---- pooling (NHWC) ------------------------------------------------------------
 * x, dx (N, H, W, C); y, dy, indices (int32) (N, OH, OW, C), windows ph x pw every sh
 * rows and sw columns; OH, OW are the caller's ((OH - 1) sh + ph <= H).  Global pooling
 * sees images as (N, HW, C): y, dy, indices (N, C).  The max backward kernels return the
 * number of indices outside the window.  Formulas, threading: pool.c.
 *
 * ---- dropout --------------------------------------------------------------------
 * y = x * mask * scale; y, x, mask (uint8) of n elements.  See dropout.c.
 */

/* ---- normalisation (BatchNormalization, LayerNormalization) -----------------------
 * x, y, dx, dy: (rows, C) row-major, the (N, ..., C) input's rows.  Batch kernels: gamma,
 * beta, mean, var, inv_std, moving_mean, moving_var, dgamma, dbeta (C,), statistics per
 * channel over the rows; layer kernels: gamma, beta, dgamma, dbeta (C,), mean and inv_std
 * (rows,), statistics per row.  Formulas: norm.c.
 *   batch_norm_forward_train   y, mean, biased var      (rows >= 1)
 *   batch_norm_forward_eval    y from the moving statistics
 *   batch_norm_backward        dx, dgamma, dbeta of the training formula
 *   batch_norm_backward_eval   dx, dgamma, dbeta of the evaluation formula
 *   layer_norm_forward         y, mean, inv_std;   layer_norm_backward  dx, dgamma, dbeta
 * work: RG_REDUCE_GROUPS x 2 C doubles (per-group partial sums, merged in group order:
 * no result depends on n_threads).
 */

/* ---- dense (fully connected) ---------------------------------------------------
 * forward : y = x W + b
 * backward: dx = dy W^T, dW = x^T dy, db = sum_n dy (overwritten); dx may be NULL (not
 *           computed: a network's first layer needs no input gradient).
 * x, dx (N, I); y, dy (N, O); w, dw (I, O); b, db (O,); all contiguous row-major.
 * work: rg_dense_workspace_size_<t>(N, I, O, n_threads) elements.  Every output element
 * is computed by one thread in a fixed order: results do not depend on n_threads.
 * See dense.c.
 */
#define RG_DENSE_GRAIN (1 << 18)   /* multiply-adds per thread below which fewer threads run */

/* The prototypes (rg_<family>_<op>_f32 and _f64 of every kernel above) and the kind enums,
 * generated from the kernel table src/retrograd/_native/_table.py at build time. */
#include "rg_kernels.h"

#ifdef __cplusplus
}
#endif
#endif /* RETROGRAD_H */
