/*
 * pool_impl.h -- the pooling kernels for one dtype.  Included by pool.c once
 * with RG_T=float, RG_SFX=f32 and once with RG_T=double, RG_SFX=f64.
 */
#define RG_F(name) RG_CAT(name, RG_CAT(_, RG_SFX))

/* Running maximum over window positions: position `pos` (values v) replaces the
 * current best b when v > b, or when v is NaN and b is not, so the first
 * maximum and the first NaN win, as in NumPy's argmax.  Integer & and | keep the
 * loop free of branches so it vectorises. */
#define RG_MAX_STEP(best, where, v, pos)                                  \
    do {                                                                  \
        const RG_T b_ = (best);                                           \
        const int take_ = ((v) > b_) | (((v) != (v)) & (b_ == b_));       \
        (best) = take_ ? (v) : b_;                                        \
        (where) = take_ ? (pos) : (where);                                \
    } while (0)

/* ---- bodies (compiled for the baseline and for AVX2+FMA) ------------------- */

/* Max pooling forward of output rows r = n*OH + i in [r0, r1). */
RG_INLINE void RG_CAT(RG_F(max_fwd_rows), _body)(RG_T *restrict y, int32_t *restrict ind,
                                                 const RG_T *restrict x, const rg_pool_geom *g,
                                                 int64_t r0, int64_t r1)
{
    const int64_t h = g->h, w = g->w, c = g->c, oh = g->oh, ow = g->ow;
    const int64_t ph = g->ph, pw = g->pw, sh = g->sh, sw = g->sw;
    for (int64_t r = r0; r < r1; ++r) {
        const RG_T *xr = x + ((r / oh) * h + (r % oh) * sh) * w * c;
        for (int64_t j = 0; j < ow; ++j) {
            const RG_T *xw = xr + j * sw * c;
            RG_T *yo = y + (r * ow + j) * c;
            int32_t *io = ind + (r * ow + j) * c;
            _Pragma("omp simd")
            for (int64_t k = 0; k < c; ++k) {
                yo[k] = xw[k];
                io[k] = 0;
            }
            for (int64_t p = 0; p < ph; ++p) {
                for (int64_t q = (p == 0); q < pw; ++q) {
                    const RG_T *xk = xw + (p * w + q) * c;
                    const int32_t pos = (int32_t)(p * pw + q);
                    _Pragma("omp simd")
                    for (int64_t k = 0; k < c; ++k) RG_MAX_STEP(yo[k], io[k], xk[k], pos);
                }
            }
        }
    }
}

/* Max pooling forward of output rows [r0, r1) for narrow images (C < RG_POOL_NARROW_C)
 * whose windows tile each row (sw == pw, ow pw c <= RG_POOL_ROW_MAX): the channel loop of
 * max_fwd_rows would run C < one vector per window, so here one loop runs over the whole
 * output row (ow c values) and reads each window position through an index table,
 * src[e] = j sw c + k for output e = j c + k (vector gathers with AVX2).  The same
 * RG_MAX_STEP in the same window order, so the same results. */
RG_INLINE void RG_CAT(RG_F(max_fwd_rows_narrow), _body)(RG_T *restrict y,
                                                        int32_t *restrict ind,
                                                        const RG_T *restrict x,
                                                        const rg_pool_geom *g, int64_t r0,
                                                        int64_t r1)
{
    const int64_t h = g->h, w = g->w, c = g->c, oh = g->oh, ow = g->ow;
    const int64_t ph = g->ph, pw = g->pw, sh = g->sh, len = ow * c;
    int32_t src[RG_POOL_ROW_MAX];
    for (int64_t e = 0; e < len; ++e) src[e] = (int32_t)((e / c) * pw * c + e % c);
    for (int64_t r = r0; r < r1; ++r) {
        const RG_T *xr = x + ((r / oh) * h + (r % oh) * sh) * w * c;
        RG_T *yo = y + r * len;
        int32_t *io = ind + r * len;
        _Pragma("omp simd")
        for (int64_t e = 0; e < len; ++e) {
            yo[e] = xr[src[e]];
            io[e] = 0;
        }
        for (int64_t p = 0; p < ph; ++p) {
            for (int64_t q = (p == 0); q < pw; ++q) {
                const RG_T *xk = xr + (p * w + q) * c;
                const int32_t pos = (int32_t)(p * pw + q);
                _Pragma("omp simd")
                for (int64_t e = 0; e < len; ++e) RG_MAX_STEP(yo[e], io[e], xk[src[e]], pos);
            }
        }
    }
}

/* Average pooling forward of output rows r = n*OH + i in [r0, r1): the window
 * sum in row-major order, then one division (as NumPy's mean). */
RG_INLINE void RG_CAT(RG_F(avg_fwd_rows), _body)(RG_T *restrict y, const RG_T *restrict x,
                                                 const rg_pool_geom *g, int64_t r0, int64_t r1)
{
    const int64_t h = g->h, w = g->w, c = g->c, oh = g->oh, ow = g->ow;
    const int64_t ph = g->ph, pw = g->pw, sh = g->sh, sw = g->sw;
    const RG_T count = (RG_T)(ph * pw);
    for (int64_t r = r0; r < r1; ++r) {
        const RG_T *xr = x + ((r / oh) * h + (r % oh) * sh) * w * c;
        for (int64_t j = 0; j < ow; ++j) {
            const RG_T *xw = xr + j * sw * c;
            RG_T *yo = y + (r * ow + j) * c;
            _Pragma("omp simd")
            for (int64_t k = 0; k < c; ++k) yo[k] = xw[k];
            for (int64_t p = 0; p < ph; ++p) {
                for (int64_t q = (p == 0); q < pw; ++q) {
                    const RG_T *xk = xw + (p * w + q) * c;
                    _Pragma("omp simd")
                    for (int64_t k = 0; k < c; ++k) yo[k] += xk[k];
                }
            }
            _Pragma("omp simd")
            for (int64_t k = 0; k < c; ++k) yo[k] /= count;
        }
    }
}

/* Max pooling backward of the windows of image n in output rows [i0, i1), last
 * window first.  assign: the windows do not overlap, so each dx element they
 * cover is written (dy or 0) instead of added to.  *bad += out-of-range indices. */
RG_INLINE void RG_CAT(RG_F(max_bwd_rows), _body)(RG_T *restrict dx, const RG_T *restrict dy,
                                                 const int32_t *restrict ind,
                                                 const rg_pool_geom *g, int64_t n, int64_t i0,
                                                 int64_t i1, int assign, int64_t *bad)
{
    const int64_t h = g->h, w = g->w, c = g->c, oh = g->oh, ow = g->ow;
    const int64_t ph = g->ph, pw = g->pw, sh = g->sh, sw = g->sw;
    const uint32_t positions = (uint32_t)(ph * pw);
    int64_t nbad = 0;
    for (int64_t ii = i0; ii < i1; ++ii) {
        for (int64_t jj = 0; jj < ow; ++jj) {
            /* forward order streams best; adding windows need the reference's order */
            const int64_t i = assign ? ii : i0 + i1 - 1 - ii, j = assign ? jj : ow - 1 - jj;
            const int64_t o = ((n * oh + i) * ow + j) * c;
            const RG_T *go = dy + o;
            const int32_t *io = ind + o;
            RG_T *dw = dx + ((n * h + i * sh) * w + j * sw) * c;
            _Pragma("omp simd reduction(+:nbad)")
            for (int64_t k = 0; k < c; ++k) nbad += (uint32_t)io[k] >= positions;
            for (int64_t p = 0; p < ph; ++p) {
                for (int64_t q = 0; q < pw; ++q) {
                    RG_T *d = dw + (p * w + q) * c;
                    const int32_t pos = (int32_t)(p * pw + q);
                    if (assign) {
                        _Pragma("omp simd")
                        for (int64_t k = 0; k < c; ++k) d[k] = io[k] == pos ? go[k] : (RG_T)0;
                    } else {
                        _Pragma("omp simd")
                        for (int64_t k = 0; k < c; ++k) d[k] += io[k] == pos ? go[k] : (RG_T)0;
                    }
                }
            }
        }
    }
    *bad += nbad;
}

/* max_bwd_rows in assign mode for the narrow images of max_fwd_rows_narrow, over output
 * rows r = n OH + i in [r0, r1) (the tables are built once per call): one loop
 * over the covered part of each input row (ow pw c values, written once each), reading
 * the window's index and gradient through tables: input e = (j pw + q) c + k takes
 * dy[j c + k] where the index is p pw + q. */
RG_INLINE void RG_CAT(RG_F(max_bwd_rows_narrow), _body)(RG_T *restrict dx,
                                                        const RG_T *restrict dy,
                                                        const int32_t *restrict ind,
                                                        const rg_pool_geom *g, int64_t r0,
                                                        int64_t r1, int64_t *bad)
{
    const int64_t h = g->h, w = g->w, c = g->c, oh = g->oh, ow = g->ow;
    const int64_t ph = g->ph, pw = g->pw, sh = g->sh, len = ow * c, covered = ow * pw * c;
    const uint32_t positions = (uint32_t)(ph * pw);
    int32_t src[RG_POOL_ROW_MAX], col[RG_POOL_ROW_MAX];
    for (int64_t e = 0; e < covered; ++e) {
        const int64_t wq = e / c, k = e % c;
        src[e] = (int32_t)((wq / pw) * c + k);
        col[e] = (int32_t)(wq % pw);
    }
    int64_t nbad = 0;
    for (int64_t r = r0; r < r1; ++r) {   /* output rows r = n OH + i */
        const int64_t n = r / oh, i = r % oh, o = r * len;
        const RG_T *go = dy + o;
        const int32_t *io = ind + o;
        _Pragma("omp simd reduction(+:nbad)")
        for (int64_t e = 0; e < len; ++e) nbad += (uint32_t)io[e] >= positions;
        for (int64_t p = 0; p < ph; ++p) {
            RG_T *d = dx + ((n * h + i * sh + p) * w) * c;
            const int32_t row = (int32_t)(p * pw);
            _Pragma("omp simd")
            for (int64_t e = 0; e < covered; ++e) {
                const RG_T gv = go[src[e]];   /* loaded unconditionally: a select, not a branch */
                d[e] = io[src[e]] == row + col[e] ? gv : (RG_T)0;
            }
        }
    }
    *bad += nbad;
}

/* Average pooling backward of the windows of image n in output rows [i0, i1),
 * last window first; assign as in max_bwd_rows.  dy / (ph pw) is computed once
 * per window into a stack buffer, channel block by channel block. */
RG_INLINE void RG_CAT(RG_F(avg_bwd_rows), _body)(RG_T *restrict dx, const RG_T *restrict dy,
                                                 const rg_pool_geom *g, int64_t n, int64_t i0,
                                                 int64_t i1, int assign)
{
    const int64_t h = g->h, w = g->w, c = g->c, oh = g->oh, ow = g->ow;
    const int64_t ph = g->ph, pw = g->pw, sh = g->sh, sw = g->sw;
    const RG_T count = (RG_T)(ph * pw);
    RG_T share[RG_POOL_CHUNK];
    for (int64_t ii = i0; ii < i1; ++ii) {
        for (int64_t jj = 0; jj < ow; ++jj) {
            const int64_t i = assign ? ii : i0 + i1 - 1 - ii, j = assign ? jj : ow - 1 - jj;
            const RG_T *go = dy + ((n * oh + i) * ow + j) * c;
            RG_T *dw = dx + ((n * h + i * sh) * w + j * sw) * c;
            for (int64_t k0 = 0; k0 < c; k0 += RG_POOL_CHUNK) {
                const int64_t kn = c - k0 < RG_POOL_CHUNK ? c - k0 : RG_POOL_CHUNK;
                _Pragma("omp simd")
                for (int64_t k = 0; k < kn; ++k) share[k] = go[k0 + k] / count;
                for (int64_t p = 0; p < ph; ++p) {
                    for (int64_t q = 0; q < pw; ++q) {
                        RG_T *d = dw + (p * w + q) * c + k0;
                        if (assign) {
                            _Pragma("omp simd")
                            for (int64_t k = 0; k < kn; ++k) d[k] = share[k];
                        } else {
                            _Pragma("omp simd")
                            for (int64_t k = 0; k < kn; ++k) d[k] += share[k];
                        }
                    }
                }
            }
        }
    }
}

/* Global max forward of images [n0, n1): x viewed as (N, HW, C). */
RG_INLINE void RG_CAT(RG_F(gmax_fwd_images), _body)(RG_T *restrict y, int32_t *restrict ind,
                                                    const RG_T *restrict x, int64_t hw, int64_t c,
                                                    int64_t n0, int64_t n1)
{
    for (int64_t n = n0; n < n1; ++n) {
        const RG_T *xn = x + n * hw * c;
        RG_T *yn = y + n * c;
        int32_t *in = ind + n * c;
        _Pragma("omp simd")
        for (int64_t k = 0; k < c; ++k) {
            yn[k] = xn[k];
            in[k] = 0;
        }
        for (int64_t s = 1; s < hw; ++s) {
            const RG_T *xs = xn + s * c;
            const int32_t pos = (int32_t)s;
            _Pragma("omp simd")
            for (int64_t k = 0; k < c; ++k) RG_MAX_STEP(yn[k], in[k], xs[k], pos);
        }
    }
}

/* Global average forward of images [n0, n1): the sum over positions in order,
 * then one division. */
RG_INLINE void RG_CAT(RG_F(gavg_fwd_images), _body)(RG_T *restrict y, const RG_T *restrict x,
                                                    int64_t hw, int64_t c, int64_t n0, int64_t n1)
{
    const RG_T count = (RG_T)hw;
    for (int64_t n = n0; n < n1; ++n) {
        const RG_T *xn = x + n * hw * c;
        RG_T *yn = y + n * c;
        _Pragma("omp simd")
        for (int64_t k = 0; k < c; ++k) yn[k] = xn[k];
        for (int64_t s = 1; s < hw; ++s) {
            const RG_T *xs = xn + s * c;
            _Pragma("omp simd")
            for (int64_t k = 0; k < c; ++k) yn[k] += xs[k];
        }
        _Pragma("omp simd")
        for (int64_t k = 0; k < c; ++k) yn[k] /= count;
    }
}

/* Global max backward of input rows r = n*HW + s in [r0, r1): each is written
 * once, dy where the image's index is s, else 0. */
RG_INLINE void RG_CAT(RG_F(gmax_bwd_rows), _body)(RG_T *restrict dx, const RG_T *restrict dy,
                                                  const int32_t *restrict ind, int64_t hw,
                                                  int64_t c, int64_t r0, int64_t r1)
{
    for (int64_t r = r0; r < r1; ++r) {
        const RG_T *gn = dy + (r / hw) * c;
        const int32_t *in = ind + (r / hw) * c;
        const int32_t pos = (int32_t)(r % hw);
        RG_T *d = dx + r * c;
        _Pragma("omp simd")
        for (int64_t k = 0; k < c; ++k) d[k] = in[k] == pos ? gn[k] : (RG_T)0;
    }
}

/* Global average backward of input rows r = n*HW + s in [r0, r1): dy / HW. */
RG_INLINE void RG_CAT(RG_F(gavg_bwd_rows), _body)(RG_T *restrict dx, const RG_T *restrict dy,
                                                  int64_t hw, int64_t c, int64_t r0, int64_t r1)
{
    const RG_T count = (RG_T)hw;
    for (int64_t r = r0; r < r1; ++r) {
        const RG_T *gn = dy + (r / hw) * c;
        RG_T *d = dx + r * c;
        _Pragma("omp simd")
        for (int64_t k = 0; k < c; ++k) d[k] = gn[k] / count;
    }
}

RG_MULTIVERSION(RG_F(max_fwd_rows),
                (RG_T *restrict y, int32_t *restrict ind, const RG_T *restrict x,
                 const rg_pool_geom *g, int64_t r0, int64_t r1),
                (y, ind, x, g, r0, r1))
RG_MULTIVERSION(RG_F(avg_fwd_rows),
                (RG_T *restrict y, const RG_T *restrict x, const rg_pool_geom *g, int64_t r0,
                 int64_t r1),
                (y, x, g, r0, r1))
RG_MULTIVERSION(RG_F(max_bwd_rows),
                (RG_T *restrict dx, const RG_T *restrict dy, const int32_t *restrict ind,
                 const rg_pool_geom *g, int64_t n, int64_t i0, int64_t i1, int assign,
                 int64_t *bad),
                (dx, dy, ind, g, n, i0, i1, assign, bad))
RG_MULTIVERSION(RG_F(avg_bwd_rows),
                (RG_T *restrict dx, const RG_T *restrict dy, const rg_pool_geom *g, int64_t n,
                 int64_t i0, int64_t i1, int assign),
                (dx, dy, g, n, i0, i1, assign))
RG_MULTIVERSION(RG_F(gmax_fwd_images),
                (RG_T *restrict y, int32_t *restrict ind, const RG_T *restrict x, int64_t hw,
                 int64_t c, int64_t n0, int64_t n1),
                (y, ind, x, hw, c, n0, n1))
RG_MULTIVERSION(RG_F(gavg_fwd_images),
                (RG_T *restrict y, const RG_T *restrict x, int64_t hw, int64_t c, int64_t n0,
                 int64_t n1),
                (y, x, hw, c, n0, n1))
RG_MULTIVERSION(RG_F(max_fwd_rows_narrow),
                (RG_T *restrict y, int32_t *restrict ind, const RG_T *restrict x,
                 const rg_pool_geom *g, int64_t r0, int64_t r1),
                (y, ind, x, g, r0, r1))
RG_MULTIVERSION(RG_F(max_bwd_rows_narrow),
                (RG_T *restrict dx, const RG_T *restrict dy, const int32_t *restrict ind,
                 const rg_pool_geom *g, int64_t r0, int64_t r1, int64_t *bad),
                (dx, dy, ind, g, r0, r1, bad))
RG_MULTIVERSION(RG_F(gmax_bwd_rows),
                (RG_T *restrict dx, const RG_T *restrict dy, const int32_t *restrict ind,
                 int64_t hw, int64_t c, int64_t r0, int64_t r1),
                (dx, dy, ind, hw, c, r0, r1))
RG_MULTIVERSION(RG_F(gavg_bwd_rows),
                (RG_T *restrict dx, const RG_T *restrict dy, int64_t hw, int64_t c, int64_t r0,
                 int64_t r1),
                (dx, dy, hw, c, r0, r1))

/* ---- work items for rg_pool_run -------------------------------------------- */
typedef struct {
    rg_pool_geom g;
    RG_T *out;              /* y or dx */
    int32_t *ind_out;       /* max forward: the indices it writes */
    const RG_T *in;         /* x or dy */
    const int32_t *ind;     /* max backward: the indices it reads */
    int is_max;             /* backward: max (else average) pooling */
    int zero;               /* backward: dx needs zeroing before the windows write it */
    int assign;             /* backward: windows do not overlap along rows */
    int64_t bad;            /* max backward: out-of-range indices seen */
} RG_F(pool_ctx);

static void RG_F(max_fwd_range)(void *p, int64_t r0, int64_t r1, int thread)
{
    RG_F(pool_ctx) *t = p;
    if (rg_pool_narrow(&t->g))
        RG_F(max_fwd_rows_narrow)(t->out, t->ind_out, t->in, &t->g, r0, r1);
    else
        RG_F(max_fwd_rows)(t->out, t->ind_out, t->in, &t->g, r0, r1);
}

static void RG_F(avg_fwd_range)(void *p, int64_t r0, int64_t r1, int thread)
{
    RG_F(pool_ctx) *t = p;
    RG_F(avg_fwd_rows)(t->out, t->in, &t->g, r0, r1);
}

/* Output rows r = n*OH + i of [r0, r1) (sh >= ph): row i owns the input rows
 * [i*sh, (i+1)*sh) (the last one up to H), which no other output row touches. */
static void RG_F(bwd_band_range)(void *p, int64_t r0, int64_t r1, int thread)
{
    RG_F(pool_ctx) *t = p;
    const rg_pool_geom *g = &t->g;
    const int narrow = t->is_max && t->assign && rg_pool_narrow(g);
    int64_t bad = 0;
    for (int64_t r = r0; r < r1; ++r) {
        const int64_t n = r / g->oh, i = r % g->oh;
        if (t->zero) {
            const int64_t top = i * g->sh, bottom = i == g->oh - 1 ? g->h : top + g->sh;
            memset(t->out + (n * g->h + top) * g->w * g->c, 0,
                   (size_t)((bottom - top) * g->w * g->c) * sizeof(RG_T));
        }
        if (narrow)
            continue;
        if (t->is_max)
            RG_F(max_bwd_rows)(t->out, t->in, t->ind, g, n, i, i + 1, t->assign, &bad);
        else
            RG_F(avg_bwd_rows)(t->out, t->in, g, n, i, i + 1, t->assign);
    }
    if (narrow) RG_F(max_bwd_rows_narrow)(t->out, t->in, t->ind, g, r0, r1, &bad);
    rg_pool_add_bad(&t->bad, bad);
}

/* Whole images [n0, n1) (sh < ph: windows overlap along rows). */
static void RG_F(bwd_image_range)(void *p, int64_t n0, int64_t n1, int thread)
{
    RG_F(pool_ctx) *t = p;
    const rg_pool_geom *g = &t->g;
    const int64_t image = g->h * g->w * g->c;
    int64_t bad = 0;
    for (int64_t n = n0; n < n1; ++n) {
        memset(t->out + n * image, 0, (size_t)image * sizeof(RG_T));
        if (t->is_max)
            RG_F(max_bwd_rows)(t->out, t->in, t->ind, g, n, 0, g->oh, 0, &bad);
        else
            RG_F(avg_bwd_rows)(t->out, t->in, g, n, 0, g->oh, 0);
    }
    rg_pool_add_bad(&t->bad, bad);
}

static void RG_F(gmax_fwd_range)(void *p, int64_t n0, int64_t n1, int thread)
{
    RG_F(pool_ctx) *t = p;
    RG_F(gmax_fwd_images)(t->out, t->ind_out, t->in, t->g.h * t->g.w, t->g.c, n0, n1);
}

static void RG_F(gavg_fwd_range)(void *p, int64_t n0, int64_t n1, int thread)
{
    RG_F(pool_ctx) *t = p;
    RG_F(gavg_fwd_images)(t->out, t->in, t->g.h * t->g.w, t->g.c, n0, n1);
}

static void RG_F(gmax_bwd_range)(void *p, int64_t r0, int64_t r1, int thread)
{
    RG_F(pool_ctx) *t = p;
    RG_F(gmax_bwd_rows)(t->out, t->in, t->ind, t->g.h * t->g.w, t->g.c, r0, r1);
}

static void RG_F(gavg_bwd_range)(void *p, int64_t r0, int64_t r1, int thread)
{
    RG_F(pool_ctx) *t = p;
    RG_F(gavg_bwd_rows)(t->out, t->in, t->g.h * t->g.w, t->g.c, r0, r1);
}

/* Shared driver of the two windowed backward kernels. */
static int64_t RG_F(pool_backward)(RG_F(pool_ctx) *t, int n_threads)
{
    const rg_pool_geom *g = &t->g;
    const int64_t work = g->n * (g->h * g->w + g->oh * g->ow * g->ph * g->pw) * g->c;
    if (g->sh >= g->ph) {
        t->zero = !rg_pool_tiles(g);
        t->assign = g->sw >= g->pw;
        rg_pool_run(g->n * g->oh, work, n_threads, RG_F(bwd_band_range), t);
    } else {
        rg_pool_run(g->n, work, n_threads, RG_F(bwd_image_range), t);
    }
    return t->bad;
}

/* ---- public entry points ----------------------------------------------------- */
#define RG_POOL_GEOM { n, h, w, c, oh, ow, ph, pw, sh, sw }
#define RG_GLOBAL_GEOM { n, hw, 1, c, 1, 1, hw, 1, 1, 1 }

void RG_F(rg_pool_max2d_forward)(RG_T *y, int32_t *indices, const RG_T *x, int64_t n, int64_t h,
                                 int64_t w, int64_t c, int64_t oh, int64_t ow, int64_t ph,
                                 int64_t pw, int64_t sh, int64_t sw, int n_threads)
{
    RG_F(pool_ctx) t = { .g = RG_POOL_GEOM, .out = y, .ind_out = indices, .in = x };
    rg_pool_run(n * oh, n * oh * ow * c * ph * pw, n_threads, RG_F(max_fwd_range), &t);
}

int64_t RG_F(rg_pool_max2d_backward)(RG_T *dx, const RG_T *dy, const int32_t *indices,
                                     int64_t n, int64_t h, int64_t w, int64_t c, int64_t oh,
                                     int64_t ow, int64_t ph, int64_t pw, int64_t sh, int64_t sw,
                                     int n_threads)
{
    RG_F(pool_ctx) t = { .g = RG_POOL_GEOM, .out = dx, .in = dy, .ind = indices, .is_max = 1 };
    return RG_F(pool_backward)(&t, n_threads);
}

void RG_F(rg_pool_avg2d_forward)(RG_T *y, const RG_T *x, int64_t n, int64_t h, int64_t w,
                                 int64_t c, int64_t oh, int64_t ow, int64_t ph, int64_t pw,
                                 int64_t sh, int64_t sw, int n_threads)
{
    RG_F(pool_ctx) t = { .g = RG_POOL_GEOM, .out = y, .in = x };
    rg_pool_run(n * oh, n * oh * ow * c * ph * pw, n_threads, RG_F(avg_fwd_range), &t);
}

void RG_F(rg_pool_avg2d_backward)(RG_T *dx, const RG_T *dy, int64_t n, int64_t h, int64_t w,
                                  int64_t c, int64_t oh, int64_t ow, int64_t ph, int64_t pw,
                                  int64_t sh, int64_t sw, int n_threads)
{
    RG_F(pool_ctx) t = { .g = RG_POOL_GEOM, .out = dx, .in = dy };
    RG_F(pool_backward)(&t, n_threads);
}

void RG_F(rg_pool_global_max_forward)(RG_T *y, int32_t *indices, const RG_T *x, int64_t n,
                                      int64_t hw, int64_t c, int n_threads)
{
    RG_F(pool_ctx) t = { .g = RG_GLOBAL_GEOM, .out = y, .ind_out = indices, .in = x };
    rg_pool_run(n, n * hw * c, n_threads, RG_F(gmax_fwd_range), &t);
}

int64_t RG_F(rg_pool_global_max_backward)(RG_T *dx, const RG_T *dy, const int32_t *indices,
                                          int64_t n, int64_t hw, int64_t c, int n_threads)
{
    RG_F(pool_ctx) t = { .g = RG_GLOBAL_GEOM, .out = dx, .in = dy, .ind = indices };
    int64_t bad = 0;
    for (int64_t k = 0; k < n * c; ++k) bad += (uint64_t)(uint32_t)indices[k] >= (uint64_t)hw;
    rg_pool_run(n * hw, n * hw * c, n_threads, RG_F(gmax_bwd_range), &t);
    return bad;
}

void RG_F(rg_pool_global_avg_forward)(RG_T *y, const RG_T *x, int64_t n, int64_t hw, int64_t c,
                                      int n_threads)
{
    RG_F(pool_ctx) t = { .g = RG_GLOBAL_GEOM, .out = y, .in = x };
    rg_pool_run(n, n * hw * c, n_threads, RG_F(gavg_fwd_range), &t);
}

void RG_F(rg_pool_global_avg_backward)(RG_T *dx, const RG_T *dy, int64_t n, int64_t hw, int64_t c,
                                       int n_threads)
{
    RG_F(pool_ctx) t = { .g = RG_GLOBAL_GEOM, .out = dx, .in = dy };
    rg_pool_run(n * hw, n * hw * c, n_threads, RG_F(gavg_bwd_range), &t);
}

#undef RG_POOL_GEOM
#undef RG_GLOBAL_GEOM
#undef RG_F
