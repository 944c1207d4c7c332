/*
 * rg_math.h -- branch-free, vectorisable elementary functions for the kernels.
 *
 * GCC does not vectorise calls to libm's expf/tanhf/erff without -ffast-math,
 * so the float32 kernels use these polynomial forms instead; inside an
 * `omp simd` loop they compile to straight SIMD code.  Accuracy targets:
 * float32 within a few ulp of the correctly rounded result over the whole
 * range; inputs are clamped so that no overflow, underflow trap or NaN is
 * produced for finite inputs.  float64 uses libm (correctly rounded to ~1 ulp);
 * its speed is not the point, its agreement with the NumPy reference is.
 */
#ifndef RG_MATH_H
#define RG_MATH_H

#include <math.h>
#include <stdint.h>
#include "rg_internal.h"

typedef union { float f; int32_t i; } rg_f32_bits;

/* exp(x) for float32, Cephes expf: x = k ln2 + r, |r| <= ln2/2,
 * exp(r) by a degree-7 minimax polynomial, 2^k assembled in the exponent bits.
 * Max error ~1 ulp; x is clamped to [-87.3, 88.7] (exp stays finite, normal). */
RG_INLINE float rg_exp_f32(float x)
{
    float t = x < -87.3f ? -87.3f : x;
    t = t > 88.7f ? 88.7f : t;
    float k = (t * 1.44269504088896341f + 12582912.0f) - 12582912.0f;   /* round(t/ln2) */
    float r = t - k * 0.693359375f;
    r = r - k * -2.12194440e-4f;
    float r2 = r * r;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r2 + r + 1.0f;
    rg_f32_bits s;
    s.i = ((int32_t)k + 127) << 23;
    return p * s.f;
}

RG_INLINE double rg_exp_f64(double x) { return exp(x); }

/* sigmoid(x) = 1 / (1 + e^-x); e^-x is clamped, so no overflow for any finite x. */
RG_INLINE float rg_sigmoid_f32(float x) { return 1.0f / (1.0f + rg_exp_f32(-x)); }
RG_INLINE double rg_sigmoid_f64(double x)
{
    /* both branches avoid overflow: e^-|x| <= 1 */
    double e = exp(-fabs(x));
    return x >= 0 ? 1.0 / (1.0 + e) : e / (1.0 + e);
}

#endif /* RG_MATH_H */
