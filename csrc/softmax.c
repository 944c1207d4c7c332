/*
 * softmax.c -- softmax along the last axis, its backward, and the fused
 * softmax cross-entropy.
 *
 *   softmax:        y_c = e^{z_c - m} / sum_k e^{z_k - m},  m = max_k z_k (no overflow:
 *                   every exponent is <= 0 and the largest term is 1)
 *   backward:       dx = y (dy - sum_k dy_k y_k)
 *   cross-entropy:  L_r = sum_c t_c (lse - z_c),  lse = m + log sum_k e^{z_k - m};
 *                   loss = mean_r L_r;  dL/dz = (softmax(z) - t) / rows
 *
 * Layout: every matrix is (rows, cols) row-major and contiguous.
 * Threading: rows in parallel (rg_parallel_for), one static contiguous block of rows per thread;
 * a row is always reduced by one thread in one order, so results do not depend
 * on the thread count.  Small problems (rows * cols < 2 * RG_GRAIN_TRANSCEND)
 * stay on the calling thread.  Row sums are accumulated in double.
 * Workspace: the cross-entropy's row_loss (rows doubles).
 */
#include "rg_internal.h"
#include "rg_math.h"

#define RG_TEMPLATE "softmax_impl.h"
#include "rg_instantiate.h"
