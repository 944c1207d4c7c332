/*
 * norm.c -- batch and layer normalisation, forward and backward.
 *
 * Every array is a contiguous row-major (rows, C) matrix: the (N, ..., C) input seen as
 * rows of C values (NHWC images: one row per pixel, the channel axis contiguous).
 *
 * BatchNormalization, per channel c over the n = rows values of its column:
 *   train forward  mean_c = sum x / n,  var_c = sum (x - mean_c)^2 / n (biased),
 *                  y = (x - mean_c) s_c + beta_c,  s_c = gamma_c / sqrt(var_c + eps);
 *                  outputs mean and var (the layer derives inv_std and the moving statistics)
 *   eval forward   y = x scale_c + shift_c,  scale_c = gamma_c / sqrt(moving_var_c + eps),
 *                  shift_c = beta_c - moving_mean_c scale_c (both in double, then rounded
 *                  to the element type, as the NumPy reference does)
 *   train backward with x_hat = (x - mean_c) inv_std_c:  dbeta_c = sum dy,
 *                  dgamma_c = sum dy x_hat,
 *                  dx = gamma_c inv_std_c / n (n dy - dbeta_c - x_hat dgamma_c)
 *   eval backward  dx = dy (gamma_c inv_std_c),  dgamma_c, dbeta_c as above
 * LayerNormalization, per row r over its D = C values:
 *   forward        mean_r, inv_std_r = 1 / sqrt(sum (x - mean_r)^2 / D + eps),
 *                  y = (x - mean_r) inv_std_r gamma + beta;  outputs mean and inv_std
 *   backward       x_hat = (x - mean_r) inv_std_r,  g = dy gamma:
 *                  dx = inv_std_r / D (D g - sum g - x_hat sum g x_hat),
 *                  dgamma = sum over rows of dy x_hat,  dbeta = sum over rows of dy
 *
 * Precision: every sum is accumulated in double (float32 included), and statistics are
 * taken about a shift k, a value of the data (the first row for a batch, a row's first
 * value for a layer): x - k is exact in double for float32 data, and exact (Sterbenz) for
 * float64 data near the mean, so the mean is kept as k + o with a small o and |mean| >> std
 * costs no digits, whatever the offset.  A layer row is short (in L1): o = mean of x - k,
 * then the sum of ((x - k) - o)^2, two passes over the row.  A batch column is long: each
 * reduction group keeps (count, o, M2) per channel and takes its rows RG_NORM_BLOCK at a
 * time, summing d = (x - k) - o (o: the running mean before the block; at first the group's
 * first row) and d^2 over the block, then updating with Chan, Golub and LeVeque's pairwise
 * formula (n' = n + b: o += S1 / n', M2 += S2 - S1^2 / n'); the groups are merged with the
 * same formula in group order.  One pass over x, no cancellation beyond the NumPy
 * reference's two passes.  y is computed as ((x - k) - o) s + beta in the element type:
 * only the reference's own roundings remain.
 *
 * Passes over memory: batch train forward two (statistics; y), batch train backward two
 * (sum dy and sum dy (x - mean) fused; dx), batch eval forward and backward one each;
 * LayerNormalization one per direction (a row stays in L1 between its passes).
 *
 * Threading (rg_internal.h): the reductions over rows (batch statistics and sums, the
 * layer backward's dgamma and dbeta) take the rows in rg_groups(rows) contiguous groups
 * fixed by the size alone, one thread per group, partial results in `work` and merged in
 * group order: every result is the same bits for any thread count.  The batch train kernels
 * run as one team (rg_parallel): groups, a barrier, the merge of a block of channels per
 * thread, a barrier, then a block of rows per thread for y or dx.  Element-wise passes take
 * static blocks of rows.  Problems below 2 * RG_GRAIN_CHEAP elements stay on the calling
 * thread.  Vectorised over the contiguous axis (omp simd; x86-64 baseline and AVX2+FMA
 * builds chosen at run time).
 * Workspace: work, RG_REDUCE_GROUPS x 2 C doubles (the batch train kernels and both
 * backward kernels); per thread, stack tiles of RG_NORM_TILE per-channel coefficients.
 */
#include <math.h>
#include "rg_internal.h"

#define RG_NORM_BLOCK 16    /* rows per update of a group's running (count, mean, M2) */
#define RG_NORM_TILE 256    /* channels per stack tile of block sums or coefficients */

/* The sums over the groups, in group order, of channel c's two partial sums in work (group g:
 * work[2 g C + c] and work[(2 g + 1) C + c]). */
static void rg_norm_totals(const double *work, int64_t groups, int64_t ch, int64_t c,
                           double *first, double *second)
{
    double a = 0.0, b = 0.0;
    for (int64_t g = 0; g < groups; ++g) {
        a += work[2 * g * ch + c];
        b += work[(2 * g + 1) * ch + c];
    }
    *first = a;
    *second = b;
}

#define RG_TEMPLATE "norm_impl.h"
#include "rg_instantiate.h"
