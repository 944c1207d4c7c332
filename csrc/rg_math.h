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

/* The bits of 2^k for an integral float k in [-126, 127], or of 2^0 when k is NaN (a NaN
 * input then propagates through the polynomial instead): converting a NaN to an integer,
 * or shifting a negative one, would be undefined behaviour in C. */
RG_INLINE int32_t rg_exp2i_bits_f32(float k)
{
    int32_t ki = (int32_t)(k == k ? k : 0.0f);
    return (int32_t)((uint32_t)(ki + 127) << 23);
}

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
    s.i = rg_exp2i_bits_f32(k);
    return p * s.f;
}

RG_INLINE double rg_exp_f64(double x) { return exp(x); }

/* exp(x) flushed to 0 below the clamp of rg_exp_f32 (where the true float32 value is
 * subnormal or 0), so that a derivative such as ELU's a e^z is exactly 0 at z = -inf, as
 * NumPy's exp gives, instead of the clamp's floor 1.2e-38.  A NaN passes through. */
RG_INLINE float rg_exp_flushed_f32(float x)
{
    float e = rg_exp_f32(x);
    return x < -87.3f ? 0.0f : e;
}
RG_INLINE double rg_exp_flushed_f64(double x) { return exp(x); }

/* e^x - 1 for float32 without cancellation near 0: with x = k ln2 + r as in
 * rg_exp_f32, e^x - 1 = 2^k (e^r - 1) + (2^k - 1), where e^r - 1 is the
 * polynomial without its leading 1 and 2^k - 1 is exact.  For |x| < ln2/2
 * (k = 0) this is the polynomial alone, so the relative error stays ~1 ulp. */
RG_INLINE float rg_expm1_f32(float x)
{
    float t = x < -87.3f ? -87.3f : x;
    t = t > 88.7f ? 88.7f : t;
    float k = (t * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
    float r = t - k * 0.693359375f;
    r = r - k * -2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    float em1 = p * (r * r) + r;   /* e^r - 1 */
    rg_f32_bits s;
    s.i = rg_exp2i_bits_f32(k);
    return s.f * em1 + (s.f - 1.0f);
}

RG_INLINE double rg_expm1_f64(double x) { return expm1(x); }

/* sigmoid(x) = 1 / (1 + e^-x).  e^-x is clamped, so no overflow for any finite
 * x; below -88 (where the true value is under 6e-39) the result is flushed to
 * 0 rather than left at the clamp's floor, so x * sigmoid(x) -> 0 as x -> -inf. */
RG_INLINE float rg_sigmoid_f32(float x)
{
    float s = 1.0f / (1.0f + rg_exp_f32(-x));
    return x < -88.0f ? 0.0f : s;
}
RG_INLINE double rg_sigmoid_f64(double x)
{
    /* both branches avoid overflow: e^-|x| <= 1 */
    double e = exp(-fabs(x));
    return x >= 0 ? 1.0 / (1.0 + e) : e / (1.0 + e);
}

/* tanh(x) for float32.  For |x| < 0.625, Cephes tanhf's odd polynomial
 * x + x^3 P(x^2), which keeps the relative error ~1 ulp near 0 where the
 * exponential form cancels; otherwise 1 - 2 / (e^{2|x|} + 1) with the sign of
 * x (e^{2|x|} is clamped, so the result is exactly +-1 for |x| > 44).  Both are
 * computed and one is selected, which keeps the loop branch-free. */
RG_INLINE float rg_tanh_f32(float x)
{
    float a = fabsf(x);
    float z = x * x;
    float p = -5.70498872745e-3f;
    p = p * z + 2.06390887954e-2f;
    p = p * z - 5.37397155531e-2f;
    p = p * z + 1.33314422036e-1f;
    p = p * z - 3.33332819422e-1f;
    float small = p * z * x + x;
    float big = 1.0f - 2.0f / (rg_exp_f32(a + a) + 1.0f);
    big = copysignf(big, x);
    return a < 0.625f ? small : big;
}

RG_INLINE double rg_tanh_f64(double x) { return tanh(x); }

/* The pieces of erf and erfc for float32 (coefficients fitted to the float64
 * functions by iteratively reweighted least squares on Chebyshev nodes):
 *   |x| < 0.921875:  erf(x) = x P(x^2), P of degree 6 (relative error < 1e-9
 *                    before rounding, so ~1 ulp, also near 0);
 *   otherwise:       erfc(|x|) = e^{-x^2} R(|x| - 2.5), R of degree 10 fitted to
 *                    erfc(x) e^{x^2} on [0.921875, 4] (relative error < 3e-7);
 *                    erf(|x|) = 1 - erfc(|x|) is then within ~1 ulp since
 *                    erfc <= 0.19 there.  Beyond |x| = 4 erf rounds to 1 in float32
 *                    and erfc is taken as 0 (an absolute error below 1.6e-8).
 * Callers compute both pieces and select one, which keeps loops branch-free. */
RG_INLINE float rg_erf_small_f32(float x)
{
    float z = x * x;
    float p = 8.437471025e-05f;
    p = p * z - 8.160423957e-04f;
    p = p * z + 5.202797373e-03f;
    p = p * z - 2.686022168e-02f;
    p = p * z + 1.128371337e-01f;
    p = p * z - 3.761263525e-01f;
    p = p * z + 1.128379167e+00f;
    return x * p;
}

/* R(u) = erfc(x) e^{x^2} with u = x - 2.5, for 0.921875 <= x <= 4. */
RG_INLINE float rg_erfc_poly_f32(float u)
{
    float q = 1.707965445e-06f;
    q = q * u - 6.540952507e-06f;
    q = q * u + 1.428147573e-05f;
    q = q * u - 5.288892924e-05f;
    q = q * u + 2.128354532e-04f;
    q = q * u - 7.400095512e-04f;
    q = q * u + 2.466329948e-03f;
    q = q * u - 7.998826435e-03f;
    q = q * u + 2.493803690e-02f;
    q = q * u - 7.434766769e-02f;
    return q * u + 2.108063681e-01f;
}

/* The standard normal CDF Phi(z) = erfc(-z/sqrt2) / 2 for float32, and its
 * density phi(z) = e^{-z^2/2} / sqrt(2 pi) in *pdf (GELU's derivative needs
 * both and they share the exponential).  The exponent -z^2/2 is formed from z
 * itself, with the rounding error of z*z recovered by Veltkamp/Dekker
 * splitting (z = hi + lo, hi with 12 bits, so hi*hi is exact):
 * e^{-z^2/2} = e^{-p/2} (1 - e/2) with p = fl(z*z), e = z*z - p.  Rounding
 * z/sqrt2 first would cost up to ~30 ulp of relative accuracy at z = -5.5.
 * phi is flushed to 0 where e^{-z^2/2} would underflow (z^2/2 > 87), so the
 * clamp of rg_exp_f32 leaves no floor. */
RG_INLINE float rg_ncdf_pdf_f32(float z, float *pdf)
{
    float u = z * 0.70710678118654752f;
    float a = fabsf(u);
    float p = z * z;
    float t = z * 4097.0f;
    float hi = t - (t - z);
    float lo = z - hi;
    float e = ((hi * hi - p) + 2.0f * hi * lo) + lo * lo;
    float g = rg_exp_f32(-0.5f * p) * (1.0f - 0.5f * e);   /* e^{-z^2/2} */
    *pdf = p < 174.0f ? g * 0.39894228040143267794f : 0.0f;
    float c = a > 4.0f ? 4.0f : a;
    float tail = a > 4.0f ? 0.0f : 0.5f * g * rg_erfc_poly_f32(c - 2.5f);   /* erfc(|u|) / 2 */
    float big = u > 0 ? 1.0f - tail : tail;
    return a < 0.921875f ? 0.5f + 0.5f * rg_erf_small_f32(u) : big;
}

RG_INLINE double rg_ncdf_pdf_f64(double z, double *pdf)
{
    *pdf = exp(-0.5 * z * z) * 0.39894228040143267794;
    return 0.5 * erfc(-z * 0.70710678118654752440);
}

RG_INLINE float rg_sqrt_f32(float x) { return sqrtf(x); }
RG_INLINE double rg_sqrt_f64(double x) { return sqrt(x); }

#endif /* RG_MATH_H */
