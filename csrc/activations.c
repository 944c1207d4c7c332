/*
 * activations.c -- element-wise activation functions, forward and backward.
 *
 * rg_activation_forward / rg_activation_backward, by kind (z input, s output,
 * g upstream gradient, a/b hyper-parameters; backward returns g ds/dz):
 *   relu          s = max(0, z)                        ds/dz = [z > 0]            (from z)
 *   leaky_relu    s = z if z > 0 else a z              ds/dz = 1 if z > 0 else a  (from z)
 *   sigmoid       s = 1/(1+e^-z)                       ds/dz = s (1 - s)          (from s)
 *   tanh          s = tanh z                           ds/dz = 1 - s^2            (from s)
 *   softsign      s = z/(1+|z|)                        ds/dz = 1/(1+|z|)^2        (from z)
 *   hard_sigmoid  s = clip(z/6 + 1/2, 0, 1)            ds/dz = 1/6 if -3 < z < 3 else 0
 *   hard_tanh     s = clip(z, a, b)                    ds/dz = 1 if a < z < b else 0
 *   elu           s = z if z > 0 else a (e^z - 1)      ds/dz = 1 if z > 0 else a e^z
 *   selu          s = L (z if z > 0 else A (e^z - 1))  ds/dz = L if z > 0 else L A e^z
 *                 (L = 1.0507009873554805, A = 1.6732632423543772)
 *   gelu_erf      s = z Phi(z)                         ds/dz = Phi(z) + z phi(z)
 *   gelu_tanh     s = z (1 + t)/2, t = tanh(u), u = k (z + c z^3), k = sqrt(2/pi), c = 0.044715
 *                 ds/dz = (1 + t)/2 + z (1 - t^2) k (1 + 3 c z^2) / 2
 *   gelu_sigmoid  s = z sigmoid(1.702 z)               ds/dz = q + 1.702 z q (1 - q), q = sigmoid(1.702 z)
 *   swish         s = z sigmoid(a z)                   ds/dz = q + a z q (1 - q),     q = sigmoid(a z)
 * Arrays with a per-element second input:
 *   rrelu         s = z if z > 0 else w z              ds/dz = 1 if z > 0 else w   (w: drawn slopes)
 *   noisy_relu    s = max(0, z + w sqrt(sigmoid(z)))   (w: N(0,1) noise; backward is relu's)
 * And prelu, s = z if z > 0 else alpha[c] z, with its slope gradient (below).
 *
 * Layout: x, y, dx, dy (and w) are contiguous arrays of n elements.
 * Threading: rg_parallel_for over elements (static contiguous blocks of whole
 * 16-element groups; every element is computed alone, so no result depends on the
 * thread count); the per-block loop is compiled for the x86-64 baseline and for
 * AVX2+FMA.  Cheap kinds use RG_GRAIN_CHEAP, the transcendental ones
 * RG_GRAIN_TRANSCEND.
 * Workspace: none, except prelu's backward (see its comment).  Each kernel
 * makes one pass over memory and no temporaries.
 */
#include "rg_internal.h"
#include "rg_math.h"

#define RG_GELU_K 0.79788456080286535588             /* sqrt(2/pi) */
#define RG_GELU_C 0.044715
#define RG_GELU_SIGMOID_K 1.702
#define RG_SELU_LAMBDA 1.0507009873554805
#define RG_SELU_ALPHA 1.6732632423543772

/* Operations of the kernels with a per-element second array. */
enum { RG_AUX_RRELU_FWD, RG_AUX_RRELU_BWD, RG_AUX_NOISY_FWD };

#define RG_TEMPLATE "activations_impl.h"
#include "rg_instantiate.h"
