/*
 * dropout.c -- inverted dropout's fused multiply, y = x * mask * scale.
 *
 * The layer draws the mask (1 keeps an element, 0 drops it) and passes
 * scale = 1 / (1 - rate); forward applies it to x, backward to dy (the same
 * formula: dy/dx = mask * scale).  The product is taken as (x * mask) * scale,
 * the NumPy reference's order, so both backends give the same bits (a dropped
 * inf or NaN stays NaN in both).
 * Layout: y, x, mask contiguous, n elements; mask bytes (NumPy bool or uint8).
 * Threading: rg_parallel_range over elements, RG_GRAIN_CHEAP.  Workspace: none.
 */
#include "rg_internal.h"

#define RG_DROPOUT_DEFINE(T, SFX)                                                          \
    RG_INLINE void RG_CAT(dropout_chunk_, RG_CAT(SFX, _body))(                             \
        T *restrict y, const T *restrict x, const uint8_t *restrict mask, T scale, int64_t n) \
    {                                                                                      \
        _Pragma("omp simd")                                                                \
        for (int64_t i = 0; i < n; ++i) y[i] = x[i] * (T)mask[i] * scale;                  \
    }                                                                                      \
    RG_MULTIVERSION(RG_CAT(dropout_chunk_, SFX),                                           \
                    (T *restrict y, const T *restrict x, const uint8_t *restrict mask,     \
                     T scale, int64_t n),                                                  \
                    (y, x, mask, scale, n))                                                \
    typedef struct {                                                                       \
        T *y;                                                                              \
        const T *x;                                                                        \
        const uint8_t *mask;                                                               \
        T scale;                                                                           \
    } RG_CAT(dropout_ctx_, SFX);                                                           \
    static void RG_CAT(dropout_range_, SFX)(void *p, int64_t begin, int64_t end)           \
    {                                                                                      \
        const RG_CAT(dropout_ctx_, SFX) *c = p;                                            \
        RG_CAT(dropout_chunk_, SFX)(c->y + begin, c->x + begin, c->mask + begin, c->scale, \
                                    end - begin);                                          \
    }                                                                                      \
    void RG_CAT(rg_dropout_apply_, SFX)(T *y, const T *x, const uint8_t *mask, double scale, \
                                        int64_t n, int n_threads)                          \
    {                                                                                      \
        RG_CAT(dropout_ctx_, SFX) c = { y, x, mask, (T)scale };                            \
        rg_parallel_range(n, RG_GRAIN_CHEAP, n_threads, RG_CAT(dropout_range_, SFX), &c);  \
    }

RG_DROPOUT_DEFINE(float, f32)
RG_DROPOUT_DEFINE(double, f64)
