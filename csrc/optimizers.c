/*
 * optimizers.c -- fused optimizer steps: one call updates every parameter array
 * of a model (of one dtype) with its gradient and its state, in place.
 *
 * One entry point, rg_optim_step: `kind` (enum rg_optimizer_kind) picks the update,
 * `scalars` are its numbers in the order of the kernel table's OPTIMIZERS entry (those
 * of numpy_ops.<name>_step), s1 and s2 its state arrays (NULL where it has fewer).
 *
 * Updates (g gradient, p parameter; scalars are computed once per step by the
 * optimizer, e.g. bias corrections bc1 = 1 - b1^t, bc2 = 1 - b2^t):
 *   sgd       p -= lr g
 *   momentum  v = mu v - lr g;  p += v
 *   nag       v = mu v - lr g;  p += mu v - lr g
 *   adagrad   n += g^2;  p -= lr g / (sqrt(n) + eps)
 *   rmsprop   n = rho n + (1 - rho) g^2;  p -= lr g / (sqrt(n) + eps)
 *   adam      m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2;
 *             p -= (lr / bc1) m / (sqrt(v / bc2) + eps)
 *   adamax    m as adam;  u = max(b2 u, |g|);  p -= lr_t m / (u + eps)
 *   nadam     m, v as adam;  d = sqrt(v / bc2) + eps;  p -= (coef_g g + coef_m m) / d
 *   adamw     m, v as adam;  p = (1 - lr wd) p - (lr / bc1) m / (sqrt(v / bc2) + eps)
 *   radam     m, v as adam;  rect > 0: p -= (lr rect sqrt(bc2) / bc1) m / (sqrt(v) + eps)
 *                            else:     p -= (lr / bc1) m
 *   lion      c = b1 m + (1 - b1) g;  p -= lr (sign(c) + wd p);  m = b2 m + (1 - b2) g
 * The scalar factors (lr / bc1, 1 / bc2, 1 - b1, ...) are formed in double and
 * rounded once to the kernel's dtype, so the float32 loops hold no division by
 * a scalar; float32 state stays float32, as in the NumPy reference.
 *
 * Layout: params, grads and each state argument are arrays of n_arrays pointers;
 * array a of each holds sizes[a] contiguous elements (the same for all of them:
 * one parameter, its gradient and its state).  params and state are updated in
 * place, grads are only read.  Each element of every array is read once and
 * written once (grads: read once), with no temporaries.
 *
 * Threading: the arrays are seen as one concatenated range of sum(sizes)
 * elements, split statically by rg_parallel_for into one contiguous block per
 * thread, so a list of many small arrays (a LeNet-5) costs one parallel region,
 * and a thread's block may span several arrays (it walks them in order).  Each
 * element's update is independent, so results do not depend on the split.
 * Totals below two grains stay on the calling thread.  The per-block loop is
 * compiled for the x86-64 baseline and for AVX2+FMA.
 *
 * Workspace: none.
 */
#include <math.h>
#include "rg_internal.h"
#include "rg_math.h"

/* The update loops are those of the public kinds (enum rg_optimizer_kind) and one more:
 * RAdam before its rectification (rho_t <= 5) is momentum SGD on m / bc1, while
 * rectified RAdam runs Adam's loop. */
#define RG_OPT_RADAM_SGD RG_OPT_COUNT
#define RG_OPT_MAX_SCALARS 8

/* Updates with a square root and a division per element amortise a thread team on
 * fewer elements than the multiply-add-only ones. */
#define RG_OPT_GRAIN(kind)                                                        \
    ((kind) == RG_OPT_SGD || (kind) == RG_OPT_MOMENTUM || (kind) == RG_OPT_NAG || \
     (kind) == RG_OPT_LION || (kind) == RG_OPT_RADAM_SGD                          \
         ? RG_GRAIN_CHEAP : RG_GRAIN_TRANSCEND)

#define RG_TEMPLATE "optimizers_impl.h"
#include "rg_instantiate.h"
