/*
 * activations.c -- element-wise activation functions, forward and backward.
 *
 * Formulas (z input, s output, g upstream gradient, a/b hyper-parameters):
 *   relu         s = max(0, z)                 ds/dz = [z > 0]
 *   leaky_relu   s = z if z > 0 else a z       ds/dz = 1 if z > 0 else a
 *   sigmoid      s = 1/(1+e^-z)                ds/dz = s (1 - s)
 *
 * Layout: x, y, dx, dy are contiguous arrays of n elements.
 * Threading: rg_parallel_range over elements (static contiguous blocks); the
 * per-block loop is compiled for the x86-64 baseline and for AVX2+FMA.
 * Workspace: none.  Each kernel makes one pass over memory.
 */
#include "rg_internal.h"
#include "rg_math.h"

#define RG_T float
#define RG_SFX f32
#include "activations_impl.h"
#undef RG_T
#undef RG_SFX

#define RG_T double
#define RG_SFX f64
#include "activations_impl.h"
#undef RG_T
#undef RG_SFX
