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
 */
enum rg_activation_kind {
    RG_ACT_RELU = 0,
    RG_ACT_LEAKY_RELU,      /* a = alpha */
    RG_ACT_SIGMOID,
    RG_ACT_TANH,
    RG_ACT_SOFTSIGN,
    RG_ACT_HARD_SIGMOID,
    RG_ACT_HARD_TANH,       /* a = min_val, b = max_val */
    RG_ACT_ELU,             /* a = alpha */
    RG_ACT_SELU,
    RG_ACT_GELU_ERF,
    RG_ACT_GELU_TANH,
    RG_ACT_GELU_SIGMOID,
    RG_ACT_SWISH,           /* a = beta */
    RG_ACT_COUNT
};

void rg_activation_forward_f32(float *y, const float *x, int64_t n,
                               int kind, double a, double b, int n_threads);
void rg_activation_forward_f64(double *y, const double *x, int64_t n,
                               int kind, double a, double b, int n_threads);
void rg_activation_backward_f32(float *dx, const float *dy, const float *x, const float *y,
                                int64_t n, int kind, double a, double b, int n_threads);
void rg_activation_backward_f64(double *dx, const double *dy, const double *x, const double *y,
                                int64_t n, int kind, double a, double b, int n_threads);

/* ---- activations with a per-element second input ------------------------
 * x, y, dx, dy, slopes, noise: contiguous arrays of n elements.
 *   rrelu      y = z if z > 0 else slopes[i] z;     dx = dy if z > 0 else slopes[i] dy
 *   noisy_relu y = max(0, z + noise[i] sqrt(sigmoid(z)))   (its backward is relu's)
 */
void rg_rrelu_forward_f32(float *y, const float *x, const float *slopes, int64_t n, int n_threads);
void rg_rrelu_forward_f64(double *y, const double *x, const double *slopes, int64_t n, int n_threads);
void rg_rrelu_backward_f32(float *dx, const float *dy, const float *x, const float *slopes,
                           int64_t n, int n_threads);
void rg_rrelu_backward_f64(double *dx, const double *dy, const double *x, const double *slopes,
                           int64_t n, int n_threads);
void rg_noisy_relu_forward_f32(float *y, const float *x, const float *noise, int64_t n,
                               int n_threads);
void rg_noisy_relu_forward_f64(double *y, const double *x, const double *noise, int64_t n,
                               int n_threads);

/* ---- PReLU ------------------------------------------------------------------
 * x, y, dx, dy viewed as (rows, channels) row-major; alpha, dalpha (channels,).
 * A single shared slope is channels = 1 (rows = number of elements).
 *   forward : y = z if z > 0 else alpha[c] z
 *   backward: dx = dy if z > 0 else alpha[c] dy;
 *             dalpha[c] = sum over rows of dy z where z <= 0 (double accumulation)
 * work: RG_REDUCE_GROUPS * channels doubles (per-group partial sums, added in group order,
 * so dalpha does not depend on n_threads).
 */
void rg_prelu_forward_f32(float *y, const float *x, const float *alpha, int64_t rows,
                          int64_t channels, int n_threads);
void rg_prelu_forward_f64(double *y, const double *x, const double *alpha, int64_t rows,
                          int64_t channels, int n_threads);
void rg_prelu_backward_f32(float *dx, float *dalpha, const float *dy, const float *x,
                           const float *alpha, double *work, int64_t rows, int64_t channels,
                           int n_threads);
void rg_prelu_backward_f64(double *dx, double *dalpha, const double *dy, const double *x,
                           const double *alpha, double *work, int64_t rows, int64_t channels,
                           int n_threads);

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
void rg_softmax_forward_f32(float *y, const float *x, int64_t rows, int64_t cols, int n_threads);
void rg_softmax_forward_f64(double *y, const double *x, int64_t rows, int64_t cols, int n_threads);
void rg_softmax_backward_f32(float *dx, const float *dy, const float *y, int64_t rows,
                             int64_t cols, int n_threads);
void rg_softmax_backward_f64(double *dx, const double *dy, const double *y, int64_t rows,
                             int64_t cols, int n_threads);
void rg_softmax_cross_entropy_f32(float *grad, double *loss, double *row_loss, const float *logits,
                                  const float *targets, int64_t rows, int64_t cols, int n_threads);
void rg_softmax_cross_entropy_f64(double *grad, double *loss, double *row_loss,
                                  const double *logits, const double *targets, int64_t rows,
                                  int64_t cols, int n_threads);

/* ---- optimizers: one fused step over a list of parameter arrays -------------
 * params, grads and every state argument (velocity, accum, m, v, u) are arrays of
 * n_arrays pointers; array a of each has sizes[a] contiguous elements.  params
 * and state are updated in place, grads are read only; each element of each
 * array is read and written once.  The formulas are in optimizers.c; the
 * scalars are those of the numpy_ops/native_ops *_step functions of that name.
 * Threads split the concatenated element range statically.  Workspace: none.
 */
void rg_optim_sgd_f32(float *const *params, const float *const *grads, const int64_t *sizes,
                      int64_t n_arrays, double lr, int n_threads);
void rg_optim_sgd_f64(double *const *params, const double *const *grads, const int64_t *sizes,
                      int64_t n_arrays, double lr, int n_threads);
void rg_optim_momentum_f32(float *const *params, float *const *velocity,
                           const float *const *grads, const int64_t *sizes, int64_t n_arrays,
                           double lr, double momentum, int n_threads);
void rg_optim_momentum_f64(double *const *params, double *const *velocity,
                           const double *const *grads, const int64_t *sizes, int64_t n_arrays,
                           double lr, double momentum, int n_threads);
void rg_optim_nag_f32(float *const *params, float *const *velocity, const float *const *grads,
                      const int64_t *sizes, int64_t n_arrays, double lr, double momentum,
                      int n_threads);
void rg_optim_nag_f64(double *const *params, double *const *velocity,
                      const double *const *grads, const int64_t *sizes, int64_t n_arrays,
                      double lr, double momentum, int n_threads);
void rg_optim_adagrad_f32(float *const *params, float *const *accum, const float *const *grads,
                          const int64_t *sizes, int64_t n_arrays, double lr, double eps,
                          int n_threads);
void rg_optim_adagrad_f64(double *const *params, double *const *accum,
                          const double *const *grads, const int64_t *sizes, int64_t n_arrays,
                          double lr, double eps, int n_threads);
void rg_optim_rmsprop_f32(float *const *params, float *const *accum, const float *const *grads,
                          const int64_t *sizes, int64_t n_arrays, double lr, double rho,
                          double eps, int n_threads);
void rg_optim_rmsprop_f64(double *const *params, double *const *accum,
                          const double *const *grads, const int64_t *sizes, int64_t n_arrays,
                          double lr, double rho, double eps, int n_threads);
void rg_optim_adam_f32(float *const *params, float *const *m, float *const *v,
                       const float *const *grads, const int64_t *sizes, int64_t n_arrays,
                       double lr, double beta_1, double beta_2, double eps, double bc1,
                       double bc2, int n_threads);
void rg_optim_adam_f64(double *const *params, double *const *m, double *const *v,
                       const double *const *grads, const int64_t *sizes, int64_t n_arrays,
                       double lr, double beta_1, double beta_2, double eps, double bc1,
                       double bc2, int n_threads);
void rg_optim_adamax_f32(float *const *params, float *const *m, float *const *u,
                         const float *const *grads, const int64_t *sizes, int64_t n_arrays,
                         double lr_t, double beta_1, double beta_2, double eps, int n_threads);
void rg_optim_adamax_f64(double *const *params, double *const *m, double *const *u,
                         const double *const *grads, const int64_t *sizes, int64_t n_arrays,
                         double lr_t, double beta_1, double beta_2, double eps, int n_threads);
void rg_optim_nadam_f32(float *const *params, float *const *m, float *const *v,
                        const float *const *grads, const int64_t *sizes, int64_t n_arrays,
                        double coef_g, double coef_m, double beta_1, double beta_2, double bc2,
                        double eps, int n_threads);
void rg_optim_nadam_f64(double *const *params, double *const *m, double *const *v,
                        const double *const *grads, const int64_t *sizes, int64_t n_arrays,
                        double coef_g, double coef_m, double beta_1, double beta_2, double bc2,
                        double eps, int n_threads);
void rg_optim_adamw_f32(float *const *params, float *const *m, float *const *v,
                        const float *const *grads, const int64_t *sizes, int64_t n_arrays,
                        double lr, double beta_1, double beta_2, double eps, double weight_decay,
                        double bc1, double bc2, int n_threads);
void rg_optim_adamw_f64(double *const *params, double *const *m, double *const *v,
                        const double *const *grads, const int64_t *sizes, int64_t n_arrays,
                        double lr, double beta_1, double beta_2, double eps, double weight_decay,
                        double bc1, double bc2, int n_threads);
void rg_optim_radam_f32(float *const *params, float *const *m, float *const *v,
                        const float *const *grads, const int64_t *sizes, int64_t n_arrays,
                        double lr, double beta_1, double beta_2, double eps, double bc1,
                        double bc2, double rect, int n_threads);
void rg_optim_radam_f64(double *const *params, double *const *m, double *const *v,
                        const double *const *grads, const int64_t *sizes, int64_t n_arrays,
                        double lr, double beta_1, double beta_2, double eps, double bc1,
                        double bc2, double rect, int n_threads);
void rg_optim_lion_f32(float *const *params, float *const *m, const float *const *grads,
                       const int64_t *sizes, int64_t n_arrays, double lr, double beta_1,
                       double beta_2, double weight_decay, int n_threads);
void rg_optim_lion_f64(double *const *params, double *const *m, const double *const *grads,
                       const int64_t *sizes, int64_t n_arrays, double lr, double beta_1,
                       double beta_2, double weight_decay, int n_threads);

/* ---- 2-D convolution (NHWC) ---------------------------------------------------
 * forward : y = b + sum_{c,p,q} xpad[n, i sh + p, j sw + q, c] K[f, c, p, q]
 * backward: dx, dwm = cols^T dy, db = sum of dy (overwritten); dx may be NULL (not computed).
 * x, dx (N, H, W, C); y, dy (N, OH, OW, F); wm, dwm (KH KW C, F) =
 * kernels.transpose(2, 3, 1, 0); wmt (F, KH KW C) = kernels.transpose(0, 2, 3, 1);
 * b, db (F,); work: rg_conv2d_workspace_size_<t>(H, W, C, F, KH, KW, sh, sw, pt, pl,
 * OH, OW, n_threads) elements.  Padding pt on top, pl on the left; OH, OW >= 1.  See conv.c.
 */
int64_t rg_conv2d_workspace_size_f32(int64_t H, int64_t W, int64_t C, int64_t F, int64_t KH,
                                     int64_t KW, int64_t sh, int64_t sw, int64_t pt, int64_t pl,
                                     int64_t OH, int64_t OW, int n_threads);
int64_t rg_conv2d_workspace_size_f64(int64_t H, int64_t W, int64_t C, int64_t F, int64_t KH,
                                     int64_t KW, int64_t sh, int64_t sw, int64_t pt, int64_t pl,
                                     int64_t OH, int64_t OW, int n_threads);
void rg_conv2d_forward_f32(float *y, float *work, const float *x, const float *wm, const float *b,
                           int64_t N, int64_t H, int64_t W, int64_t C, int64_t F, int64_t KH,
                           int64_t KW, int64_t sh, int64_t sw, int64_t pt, int64_t pl,
                           int64_t OH, int64_t OW, int n_threads);
void rg_conv2d_forward_f64(double *y, double *work, const double *x, const double *wm,
                           const double *b, int64_t N, int64_t H, int64_t W, int64_t C,
                           int64_t F, int64_t KH, int64_t KW, int64_t sh, int64_t sw, int64_t pt,
                           int64_t pl, int64_t OH, int64_t OW, int n_threads);
void rg_conv2d_backward_f32(float *dx, float *dwm, float *db, float *work, const float *dy,
                            const float *x, const float *wmt, int64_t N, int64_t H, int64_t W,
                            int64_t C, int64_t F, int64_t KH, int64_t KW, int64_t sh, int64_t sw,
                            int64_t pt, int64_t pl, int64_t OH, int64_t OW, int n_threads);
void rg_conv2d_backward_f64(double *dx, double *dwm, double *db, double *work, const double *dy,
                            const double *x, const double *wmt, int64_t N, int64_t H, int64_t W,
                            int64_t C, int64_t F, int64_t KH, int64_t KW, int64_t sh, int64_t sw,
                            int64_t pt, int64_t pl, int64_t OH, int64_t OW, int n_threads);

/* ---- pooling (NHWC) and dropout: see csrc/pool.c and csrc/dropout.c ----------
 * (declarations restored from those files' definitions) */
void rg_pool_max2d_forward_f32(float *y, int32_t *indices, const float *x, int64_t n, int64_t h,
                               int64_t w, int64_t c, int64_t ph, int64_t pw, int64_t sh,
                               int64_t sw, int n_threads);
int64_t rg_pool_max2d_backward_f32(float *dx, const float *dy, const int32_t *indices, int64_t n,
                                   int64_t h, int64_t w, int64_t c, int64_t ph, int64_t pw,
                                   int64_t sh, int64_t sw, int n_threads);
void rg_pool_avg2d_forward_f32(float *y, const float *x, int64_t n, int64_t h, int64_t w, int64_t c,
                               int64_t ph, int64_t pw, int64_t sh, int64_t sw, int n_threads);
void rg_pool_avg2d_backward_f32(float *dx, const float *dy, int64_t n, int64_t h, int64_t w,
                                int64_t c, int64_t ph, int64_t pw, int64_t sh, int64_t sw,
                                int n_threads);
void rg_pool_global_max_forward_f32(float *y, int32_t *indices, const float *x, int64_t n,
                                    int64_t hw, int64_t c, int n_threads);
int64_t rg_pool_global_max_backward_f32(float *dx, const float *dy, const int32_t *indices,
                                        int64_t n, int64_t hw, int64_t c, int n_threads);
void rg_pool_global_avg_forward_f32(float *y, const float *x, int64_t n, int64_t hw, int64_t c,
                                    int n_threads);
void rg_pool_global_avg_backward_f32(float *dx, const float *dy, int64_t n, int64_t hw, int64_t c,
                                     int n_threads);
void rg_pool_max2d_forward_f64(double *y, int32_t *indices, const double *x, int64_t n, int64_t h,
                               int64_t w, int64_t c, int64_t ph, int64_t pw, int64_t sh,
                               int64_t sw, int n_threads);
int64_t rg_pool_max2d_backward_f64(double *dx, const double *dy, const int32_t *indices, int64_t n,
                                   int64_t h, int64_t w, int64_t c, int64_t ph, int64_t pw,
                                   int64_t sh, int64_t sw, int n_threads);
void rg_pool_avg2d_forward_f64(double *y, const double *x, int64_t n, int64_t h, int64_t w, int64_t c,
                               int64_t ph, int64_t pw, int64_t sh, int64_t sw, int n_threads);
void rg_pool_avg2d_backward_f64(double *dx, const double *dy, int64_t n, int64_t h, int64_t w,
                                int64_t c, int64_t ph, int64_t pw, int64_t sh, int64_t sw,
                                int n_threads);
void rg_pool_global_max_forward_f64(double *y, int32_t *indices, const double *x, int64_t n,
                                    int64_t hw, int64_t c, int n_threads);
int64_t rg_pool_global_max_backward_f64(double *dx, const double *dy, const int32_t *indices,
                                        int64_t n, int64_t hw, int64_t c, int n_threads);
void rg_pool_global_avg_forward_f64(double *y, const double *x, int64_t n, int64_t hw, int64_t c,
                                    int n_threads);
void rg_pool_global_avg_backward_f64(double *dx, const double *dy, int64_t n, int64_t hw, int64_t c,
                                     int n_threads);
void rg_dropout_apply_f32(float *y, const float *x, const uint8_t *mask, double scale,
                          int64_t n, int n_threads);
void rg_dropout_apply_f64(double *y, const double *x, const uint8_t *mask, double scale,
                          int64_t n, int n_threads);

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
int64_t rg_dense_workspace_size_f32(int64_t N, int64_t I, int64_t O, int n_threads);
int64_t rg_dense_workspace_size_f64(int64_t N, int64_t I, int64_t O, int n_threads);
void rg_dense_forward_f32(float *y, float *work, const float *x, const float *w, const float *b,
                          int64_t N, int64_t I, int64_t O, int n_threads);
void rg_dense_forward_f64(double *y, double *work, const double *x, const double *w,
                          const double *b, int64_t N, int64_t I, int64_t O, int n_threads);
void rg_dense_backward_f32(float *dx, float *dw, float *db, float *work, const float *dy,
                           const float *x, const float *w, int64_t N, int64_t I, int64_t O,
                           int n_threads);
void rg_dense_backward_f64(double *dx, double *dw, double *db, double *work, const double *dy,
                           const double *x, const double *w, int64_t N, int64_t I, int64_t O,
                           int n_threads);

#ifdef __cplusplus
}
#endif
#endif /* RETROGRAD_H */
