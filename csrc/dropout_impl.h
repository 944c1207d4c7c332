/*
 * dropout_impl.h -- dropout's fused multiply for one dtype.  Included by dropout.c
 * once with RG_T=float, RG_SFX=f32 and once with RG_T=double, RG_SFX=f64.
 */
#define RG_F(name) RG_CAT(name, RG_CAT(_, RG_SFX))

RG_INLINE void RG_CAT(RG_F(dropout_chunk), _body)(RG_T *restrict y, const RG_T *restrict x,
                                                  const uint8_t *restrict mask, RG_T scale,
                                                  int64_t n)
{
    _Pragma("omp simd")
    for (int64_t i = 0; i < n; ++i) y[i] = x[i] * (RG_T)mask[i] * scale;
}

RG_MULTIVERSION(RG_F(dropout_chunk),
                (RG_T *restrict y, const RG_T *restrict x, const uint8_t *restrict mask,
                 RG_T scale, int64_t n),
                (y, x, mask, scale, n))

typedef struct {
    RG_T *y;
    const RG_T *x;
    const uint8_t *mask;
    RG_T scale;
} RG_F(dropout_ctx);

static void RG_F(dropout_range)(void *p, int64_t begin, int64_t end, int t)
{
    const RG_F(dropout_ctx) *c = p;
    RG_F(dropout_chunk)(c->y + begin, c->x + begin, c->mask + begin, c->scale, end - begin);
}

void RG_F(rg_dropout_apply)(RG_T *y, const RG_T *x, const uint8_t *mask, double scale, int64_t n,
                            int n_threads)
{
    RG_F(dropout_ctx) c = { y, x, mask, (RG_T)scale };
    rg_parallel_for(n, 16, rg_threads_for(n, RG_GRAIN_CHEAP, n_threads), RG_F(dropout_range), &c);
}

#undef RG_F
