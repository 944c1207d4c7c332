/*
 * conv_impl.h -- the body of conv.c for one element type.  Included twice by
 * conv.c with RG_T = float, RG_SFX = f32 and RG_T = double, RG_SFX = f64.
 * The equations, layouts, threading and workspace are described in conv.c.
 */
#define RG_F(name) RG_CAT(RG_CAT(name, _), RG_SFX)
#define RG_VL ((int64_t)(RG_VEC_BYTES / sizeof(RG_T)))   /* lanes of one vector */

typedef RG_T RG_F(vec) __attribute__((vector_size(RG_VEC_BYTES), aligned(sizeof(RG_T))));
/* integer lanes of the same width (bit masks of RG_F(vec)) */
typedef RG_CAT(rg_lane_int_, RG_SFX) RG_F(ivec) __attribute__((vector_size(RG_VEC_BYTES)));

/* Copy a run of n values: runs are short (KW C: 5 values for LeNet's first layer), where a
 * library memcpy call costs more than the copy, or long (3x3x64: 192).  GCC would turn the
 * short loop back into a memmove call, hence no-tree-loop-distribute-patterns on the
 * function that inlines it (measured: im2col 2x faster for LeNet's first layer). */
RG_INLINE void RG_F(copy_run)(RG_T *restrict dst, const RG_T *restrict src, int64_t n)
{
    if (n >= 64) {
        memcpy(dst, src, (size_t)n * sizeof(RG_T));
        return;
    }
    int64_t e = 0;
    for (; e + RG_VL <= n; e += RG_VL) *(RG_F(vec) *)(dst + e) = *(const RG_F(vec) *)(src + e);
    for (; e < n; ++e) dst[e] = src[e];
}

RG_INLINE void RG_F(zero_run)(RG_T *dst, int64_t n)
{
    for (int64_t e = 0; e < n; ++e) dst[e] = 0;
}

/* Cols rows of the output pixels m in [m0, m1) (m = (n OH + i) OW + j), written
 * to cols[(m - m0) K ...]: the patch xpad[n, i sh + p, j sw + q, c] in (p, q, c)
 * order, zeros where the window hangs over the padding.  For a fixed p the
 * valid q form one run and x[n, h, w:w+len, :] is contiguous in NHWC, so each
 * patch row is one copy and at most two zero fills. */
__attribute__((optimize("no-tree-loop-distribute-patterns")))
static void RG_F(im2col_pixels)(RG_T *cols, const RG_T *x, const rg_conv_geom *g, int64_t m0,
                                int64_t m1)
{
    const int64_t C = g->C, KW = g->KW, K = g->KH * KW * C, row_len = KW * C;
    /* (n, i, j) of pixel m0, then stepped: no divisions in the pixel loop */
    int64_t j = m0 % g->OW, i = (m0 / g->OW) % g->OH, n = m0 / g->OW / g->OH;
    for (int64_t m = m0; m < m1; ++m) {
        const RG_T *xn = x + n * g->H * g->W * C;
        RG_T *dst = cols + (m - m0) * K;
        const int64_t w0 = j * g->sw - g->pl;
        const int64_t q_lo = w0 < 0 ? -w0 : 0;
        const int64_t q_hi = w0 + KW > g->W ? g->W - w0 : KW;   /* q in [q_lo, q_hi) valid */
        for (int64_t p = 0; p < g->KH; ++p, dst += row_len) {
            const int64_t h = i * g->sh + p - g->pt;
            if (h < 0 || h >= g->H || q_hi <= q_lo) {
                RG_F(zero_run)(dst, row_len);
                continue;
            }
            RG_F(zero_run)(dst, q_lo * C);
            RG_F(copy_run)(dst + q_lo * C, xn + (h * g->W + w0 + q_lo) * C, (q_hi - q_lo) * C);
            RG_F(zero_run)(dst + q_hi * C, (KW - q_hi) * C);
        }
        if (++j == g->OW) {
            j = 0;
            if (++i == g->OH) { i = 0; ++n; }
        }
    }
}

/* The same patches transposed, for layers whose patch rows are short (KW C < RG_SHORT_RUN,
 * LeNet's first layer: 5 values): colsT[k ld + (m - m0)], k = (p, q, c).  For a fixed k
 * the pixels of one output row read x at a constant stride (sw C; 1 for C = 1, stride 1),
 * so the copy runs over up to OW pixels instead of KW C values. */
RG_INLINE void RG_CAT(RG_F(im2colT_pixels), _body)(RG_T *restrict colsT, int64_t ld,
                                                   const RG_T *restrict x, const rg_conv_geom *g,
                                                   int64_t m0, int64_t m1)
{
    const int64_t C = g->C, KW = g->KW, sw = g->sw;
    int64_t j = m0 % g->OW, i = (m0 / g->OW) % g->OH, n = m0 / g->OW / g->OH;
    for (int64_t m = m0; m < m1;) {
        const int64_t seg = g->OW - j < m1 - m ? g->OW - j : m1 - m;
        const RG_T *xn = x + n * g->H * g->W * C;
        for (int64_t p = 0; p < g->KH; ++p) {
            const int64_t h = i * g->sh + p - g->pt;
            for (int64_t q = 0; q < KW; ++q) {
                const int64_t w0 = j * sw + q - g->pl;   /* w of the segment's first pixel */
                int64_t t_lo = w0 < 0 ? (-w0 + sw - 1) / sw : 0;
                int64_t t_hi = w0 > g->W - 1 ? 0 : (g->W - 1 - w0) / sw + 1;
                if (t_hi > seg) t_hi = seg;
                if (h < 0 || h >= g->H || t_lo > t_hi) t_lo = t_hi = seg;
                for (int64_t c = 0; c < C; ++c) {
                    RG_T *restrict dst = colsT + ((p * KW + q) * C + c) * ld + (m - m0);
                    const RG_T *restrict src = xn + (h * g->W + w0) * C + c;
                    for (int64_t t = 0; t < t_lo; ++t) dst[t] = 0;
                    if (sw * C == 1) {   /* unit stride: vector copies (a memmove call
                                            costs more than these runs of ~OW values) */
                        int64_t t = t_lo;
                        for (; t + RG_VL <= t_hi; t += RG_VL)
                            *(RG_F(vec) *)(dst + t) = *(const RG_F(vec) *)(src + t);
                        for (; t < t_hi; ++t) dst[t] = src[t];
                    } else {
                        for (int64_t t = t_lo; t < t_hi; ++t) dst[t] = src[t * sw * C];
                    }
                    for (int64_t t = t_hi; t < seg; ++t) dst[t] = 0;
                }
            }
        }
        m += seg;
        j += seg;
        if (j == g->OW) {
            j = 0;
            if (++i == g->OH) { i = 0; ++n; }
        }
    }
}

/* dx += col2im of a transposed dcols tile, dcolsT[k ld + (m - m0)]: the adjoint of
 * im2colT_pixels, with the same runs along an output row (a vector add for C = 1,
 * stride 1).  Whole images belong to the calling thread (see rg_conv2d_backward). */
RG_INLINE void RG_CAT(RG_F(col2imT_pixels), _body)(RG_T *restrict dx, const RG_T *restrict dcolsT,
                                                   int64_t ld, const rg_conv_geom *g,
                                                   int64_t m0, int64_t m1)
{
    const int64_t C = g->C, KW = g->KW, sw = g->sw;
    int64_t j = m0 % g->OW, i = (m0 / g->OW) % g->OH, n = m0 / g->OW / g->OH;
    for (int64_t m = m0; m < m1;) {
        const int64_t seg = g->OW - j < m1 - m ? g->OW - j : m1 - m;
        RG_T *dxn = dx + n * g->H * g->W * C;
        for (int64_t p = 0; p < g->KH; ++p) {
            const int64_t h = i * g->sh + p - g->pt;
            if (h < 0 || h >= g->H) continue;
            for (int64_t q = 0; q < KW; ++q) {
                const int64_t w0 = j * sw + q - g->pl;
                const int64_t t_lo = w0 < 0 ? (-w0 + sw - 1) / sw : 0;
                int64_t t_hi = w0 > g->W - 1 ? 0 : (g->W - 1 - w0) / sw + 1;
                if (t_hi > seg) t_hi = seg;
                for (int64_t c = 0; c < C; ++c) {
                    const RG_T *restrict src = dcolsT + ((p * KW + q) * C + c) * ld + (m - m0);
                    RG_T *restrict d = dxn + (h * g->W + w0) * C + c;
                    if (sw * C == 1) {
                        _Pragma("omp simd")
                        for (int64_t t = t_lo; t < t_hi; ++t) d[t] += src[t];
                    } else {
                        for (int64_t t = t_lo; t < t_hi; ++t) d[t * sw * C] += src[t];
                    }
                }
            }
        }
        m += seg;
        j += seg;
        if (j == g->OW) {
            j = 0;
            if (++i == g->OH) { i = 0; ++n; }
        }
    }
}

/* dx += col2im of the dcols rows of pixels [m0, m1): the adjoint of
 * im2col_pixels.  The (q, c) run of one patch row is contiguous in dcols and,
 * clipped to the valid q, in dx, so the inner loop is one vector add. */
RG_INLINE void RG_CAT(RG_F(col2im_pixels), _body)(RG_T *restrict dx, const RG_T *restrict dcols,
                                                  const rg_conv_geom *g, int64_t m0, int64_t m1)
{
    const int64_t C = g->C, KW = g->KW, K = g->KH * KW * C, row_len = KW * C;
    for (int64_t m = m0; m < m1; ++m) {
        const int64_t r = m / g->OW, j = m % g->OW, n = r / g->OH, i = r % g->OH;
        const int64_t w0 = j * g->sw - g->pl;
        const int64_t q_lo = w0 < 0 ? -w0 : 0;
        const int64_t q_hi = w0 + KW > g->W ? g->W - w0 : KW;
        const int64_t len = (q_hi - q_lo) * C;
        for (int64_t p = 0; p < g->KH; ++p) {
            const int64_t h = i * g->sh + p - g->pt;
            if (h < 0 || h >= g->H || len <= 0) continue;
            const RG_T *restrict s = dcols + (m - m0) * K + p * row_len + q_lo * C;
            RG_T *restrict d = dx + ((n * g->H + h) * g->W + w0 + q_lo) * C;
            _Pragma("omp simd")
            for (int64_t e = 0; e < len; ++e) d[e] += s[e];
        }
    }
}

#include "gemm_impl.h"
#include "conv_direct_impl.h"

/* RG_MULTIVERSION by hand, to add RG_NO_MEMCPY_CALLS: the copy tails are < 8 values. */
#if RG_HAVE_AVX2_PATH
RG_NO_MEMCPY_CALLS __attribute__((target("avx2,fma")))
static void RG_F(im2colT_pixels_avx2)(RG_T *restrict colsT, int64_t ld, const RG_T *restrict x,
                                      const rg_conv_geom *g, int64_t m0, int64_t m1)
{
    RG_CAT(RG_F(im2colT_pixels), _body)(colsT, ld, x, g, m0, m1);
}
#endif
RG_NO_MEMCPY_CALLS
static void RG_F(im2colT_pixels)(RG_T *restrict colsT, int64_t ld, const RG_T *restrict x,
                                 const rg_conv_geom *g, int64_t m0, int64_t m1)
{
#if RG_HAVE_AVX2_PATH
    if (rg_cpu_has_avx2_fma()) {
        RG_F(im2colT_pixels_avx2)(colsT, ld, x, g, m0, m1);
        return;
    }
#endif
    RG_CAT(RG_F(im2colT_pixels), _body)(colsT, ld, x, g, m0, m1);
}
RG_MULTIVERSION(RG_F(col2imT_pixels),
                (RG_T *restrict dx, const RG_T *restrict dcolsT, int64_t ld,
                 const rg_conv_geom *g, int64_t m0, int64_t m1),
                (dx, dcolsT, ld, g, m0, m1))
RG_MULTIVERSION(RG_F(col2im_pixels),
                (RG_T *restrict dx, const RG_T *restrict dcols, const rg_conv_geom *g,
                 int64_t m0, int64_t m1),
                (dx, dcols, g, m0, m1))

int64_t RG_F(rg_conv2d_workspace_size)(int64_t H, int64_t W, int64_t C, int64_t F, int64_t KH,
                                       int64_t KW, int64_t sh, int64_t sw, int64_t pt,
                                       int64_t pl, int64_t OH, int64_t OW, int n_threads)
{
    const rg_conv_geom g = { H, W, C, KH, KW, sh, sw, pt, pl, OH, OW };
    const rg_conv_plan P = rg_conv_make_plan(&g, F, RG_VL);
    return P.shared + (int64_t)n_threads * P.per_thread + RG_REDUCE_GROUPS * P.group_size;
}

/* The arguments of one call, shared by its team (rg_parallel). */
typedef struct {
    rg_conv_geom g;
    rg_conv_plan P;
    RG_T *y, *dx, *dwm, *db, *work, *group_sums;
    const RG_T *x, *b, *dy, *bp;
    int64_t N, F, G;
} RG_F(conv_call);

/* Direct forward (C = 1, stride 1): whole images per thread, a contiguous block each. */
static void RG_F(conv_forward_direct_team)(void *p, int t, int T)
{
    const RG_F(conv_call) *a = p;
    const rg_conv_geom *g = &a->g;
    const rg_conv_plan *P = &a->P;
    RG_T *xpad = a->work + P->shared + t * P->per_thread;
    int64_t n0, n1;
    rg_block(a->N, 1, t, T, &n0, &n1);
    RG_F(zero_run)(xpad, P->d_hp * P->d_ws);
    for (int64_t n = n0; n < n1; ++n) {
        RG_F(direct_fill_image)(xpad, a->x + n * g->H * g->W, g, P);
        RG_F(direct_forward_image)(a->y + n * g->OH * g->OW * a->F, xpad, a->work, a->b, g, P,
                                   a->F, xpad + P->off_tmp);
    }
}

/* Forward by im2col tiles: a contiguous block of tiles of output pixels per thread. */
RG_NO_MEMCPY_CALLS
static void RG_F(conv_forward_tiles_team)(void *p, int t, int T)
{
    const RG_F(conv_call) *a = p;
    const rg_conv_geom *g = &a->g;
    const rg_conv_plan *P = &a->P;
    const int64_t K = P->K, F = a->F, M = a->N * g->OH * g->OW, n_tiles = (M + P->mt - 1) / P->mt;
    RG_T *cols = a->work + P->shared + t * P->per_thread;
    int64_t tile0, tile1;
    rg_block(n_tiles, 1, t, T, &tile0, &tile1);
    for (int64_t tile = tile0; tile < tile1; ++tile) {
        const int64_t m0 = tile * P->mt, m1 = m0 + P->mt < M ? m0 + P->mt : M;
        RG_T *yt = a->y + m0 * F;
        for (int64_t m = 0; m < m1 - m0; ++m)
            for (int64_t f = 0; f < F; ++f) yt[m * F + f] = a->b[f];
        if (P->transposed) {
            RG_F(im2colT_pixels)(cols, P->mt, a->x, g, m0, m1);
            RG_F(gemm)(yt, F, cols, 1, P->mt, a->bp, P->ldb, m1 - m0, F, K, 1);
        } else {
            RG_F(im2col_pixels)(cols, a->x, g, m0, m1);
            RG_F(gemm)(yt, F, cols, K, 1, a->bp, P->ldb, m1 - m0, F, K, 1);
        }
    }
}

RG_NO_MEMCPY_CALLS
void RG_F(rg_conv2d_forward)(RG_T *y, RG_T *work, const RG_T *x, const RG_T *wm, const RG_T *b,
                             int64_t N, int64_t H, int64_t W, int64_t C, int64_t F, int64_t KH,
                             int64_t KW, int64_t sh, int64_t sw, int64_t pt, int64_t pl,
                             int64_t OH, int64_t OW, int n_threads)
{
    RG_F(conv_call) a = { .g = { H, W, C, KH, KW, sh, sw, pt, pl, OH, OW }, .y = y,
                          .work = work, .x = x, .b = b, .bp = work, .N = N, .F = F };
    a.P = rg_conv_make_plan(&a.g, F, RG_VL);
    const int64_t K = a.P.K, M = N * OH * OW;
    int nt = rg_threads_for(M * K * F, RG_CONV_GRAIN, n_threads);
    if (a.P.direct) {
        if (nt > N) nt = (int)N;
        RG_F(direct_pack_kernels)(work, wm, F, 1, K, F, a.P.d_f6);
        rg_parallel(nt, RG_F(conv_forward_direct_team), &a);
        return;
    }
    RG_T *bp = work;   /* wm with rows padded to ldb columns */
    for (int64_t k = 0; k < K; ++k) {
        for (int64_t f = 0; f < F; ++f) bp[k * a.P.ldb + f] = wm[k * F + f];
        for (int64_t f = F; f < a.P.ldb; ++f) bp[k * a.P.ldb + f] = 0;
    }
    rg_parallel(nt, RG_F(conv_forward_tiles_team), &a);
}

/* Backward of the image groups [grp0, grp1) of one thread: each group sums cols^T dy and
 * dy into its own partial sums (conv.c, "Threading"). */
RG_NO_MEMCPY_CALLS
static void RG_F(conv_backward_team)(void *p, int t, int T)
{
    const RG_F(conv_call) *a = p;
    const rg_conv_geom *g = &a->g;
    const rg_conv_plan *P = &a->P;
    const int64_t K = P->K, F = a->F, N = a->N, G = a->G, per_image = g->OH * g->OW;
    const int64_t H = g->H, W = g->W;
    const RG_T *x = a->x, *dy = a->dy, *bp = a->bp;
    RG_T *dx = a->dx;
    RG_T *cols = a->work + P->shared + t * P->per_thread;
    if (P->direct)   /* xpad and the dypad planes (conv_direct_impl.h) */
        RG_F(zero_run)(cols, P->off_dypad + P->d_lead + P->d_f6 * P->d_rows * P->d_wid);
    RG_T *dcols = cols + P->off_dcols;
    RG_T *dyt = cols + P->off_dyt;               /* dy tile, rows padded to ldb */
    RG_T *dyT = cols + P->off_dyT;               /* dy tile transposed (colsT layout) */
    int64_t grp0, grp1;
    rg_block(G, 1, t, T, &grp0, &grp1);
    for (int64_t grp = grp0; grp < grp1; ++grp) {
        RG_T *dw = a->group_sums + grp * P->group_size;      /* this group's cols^T dy */
        double *dbg = (double *)(dw + P->off_group_db);      /* and sum of dy, in double */
        memset(dw, 0, (size_t)(P->kpad * P->ldb) * sizeof(RG_T));
        for (int64_t f = 0; f < F; ++f) dbg[f] = 0.0;
        if (P->direct) {
            RG_T *xpad = cols, *dypad = cols + P->off_dypad + P->d_lead;
            for (int64_t n = N * grp / G; n < N * (grp + 1) / G; ++n) {
                RG_F(direct_fill_image)(xpad, x + n * H * W, g, P);
                RG_F(direct_fill_dy)(dypad, dbg, dy + n * per_image * F, g, P, F);
                RG_F(direct_kernel_grad_image)(dw, xpad, dypad, g, P, F);
                if (dx)
                    RG_F(direct_input_grad_image)(dx + n * H * W, dypad, bp, g, P, F,
                                                  cols + P->off_tmp);
            }
            continue;
        }
        const int64_t m_begin = (N * grp / G) * per_image;
        const int64_t m_end = (N * (grp + 1) / G) * per_image;
        for (int64_t m0 = m_begin; m0 < m_end; m0 += P->mt) {
            const int64_t m1 = m0 + P->mt < m_end ? m0 + P->mt : m_end, rows = m1 - m0;
            if (P->transposed) RG_F(im2colT_pixels)(cols, P->mt, x, g, m0, m1);
            else RG_F(im2col_pixels)(cols, x, g, m0, m1);
            for (int64_t m = 0; m < rows; ++m) {
                const RG_T *src = dy + (m0 + m) * F;
                for (int64_t f = 0; f < F; ++f) {
                    dyt[m * P->ldb + f] = src[f];
                    dbg[f] += (double)src[f];
                }
                for (int64_t f = F; f < P->ldb; ++f) dyt[m * P->ldb + f] = 0;
            }
            /* dw[k, f] += sum_m cols[m, k] dy[m, f]: A = cols^T; the rows k >= K
             * of the last block read past the tile's K rows or columns, into the
             * slack after it, and are never used */
            if (P->transposed) RG_F(gemm)(dw, P->ldb, cols, P->mt, 1, dyt, P->ldb, K, F, rows, 1);
            else RG_F(gemm)(dw, P->ldb, cols, 1, K, dyt, P->ldb, K, F, rows, 1);
            /* dcols = dy wm^T, then scattered back onto dx */
            if (!dx) continue;
            if (P->transposed) {
                /* dcolsT = wm dy^T: A = wm read from bp (rs 1, cs ldk; the rows
                 * k >= K of the last block read into the workspace after bp and
                 * are never stored), B = dy^T packed with rows of P->mtp */
                for (int64_t f = 0; f < F; ++f) {
                    RG_T *dst = dyT + f * P->mtp;
                    for (int64_t m = 0; m < rows; ++m) dst[m] = dyt[m * P->ldb + f];
                    for (int64_t m = rows; m < P->mtp; ++m) dst[m] = 0;
                }
                RG_F(gemm)(dcols, P->mt, bp, 1, P->ldk, dyT, P->mtp, K, rows, F, 0);
                RG_F(col2imT_pixels)(dx, dcols, P->mt, g, m0, m1);
            } else {
                RG_F(gemm)(dcols, K, dyt, P->ldb, 1, bp, P->ldk, rows, K, F, 0);
                RG_F(col2im_pixels)(dx, dcols, g, m0, m1);
            }
        }
    }
}

RG_NO_MEMCPY_CALLS
void RG_F(rg_conv2d_backward)(RG_T *dx, RG_T *dwm, RG_T *db, RG_T *work, const RG_T *dy,
                              const RG_T *x, const RG_T *wmt, int64_t N, int64_t H, int64_t W,
                              int64_t C, int64_t F, int64_t KH, int64_t KW, int64_t sh,
                              int64_t sw, int64_t pt, int64_t pl, int64_t OH, int64_t OW,
                              int n_threads)
{
    /* the batch is cut into G image groups whatever the thread count, each with
     * its own partial sums, so the reduction order never depends on it */
    RG_F(conv_call) a = { .g = { H, W, C, KH, KW, sh, sw, pt, pl, OH, OW }, .dx = dx,
                          .work = work, .x = x, .dy = dy, .bp = work, .N = N, .F = F,
                          .G = rg_groups(N) };
    a.P = rg_conv_make_plan(&a.g, F, RG_VL);
    const rg_conv_plan *P = &a.P;
    const int64_t K = P->K, G = a.G;
    a.group_sums = work + P->shared + (int64_t)n_threads * P->per_thread;
    int nt = rg_threads_for(N * OH * OW * K * F, RG_CONV_GRAIN, n_threads);
    if (nt > G) nt = (int)G;   /* threads own whole groups, so whole images of dx */
    RG_T *bp = work;           /* wm^T (F x K) with rows padded to ldk columns */
    if (P->direct) {
        RG_F(direct_pack_kernels)(bp, wmt, 1, K, K, F, P->d_f6);
    } else {
        for (int64_t f = 0; f < F; ++f) {
            for (int64_t k = 0; k < K; ++k) bp[f * P->ldk + k] = wmt[f * K + k];
            for (int64_t k = K; k < P->ldk; ++k) bp[f * P->ldk + k] = 0;
        }
        if (dx) memset(dx, 0, (size_t)(N * H * W * C) * sizeof(RG_T));
    }
    rg_parallel(nt, RG_F(conv_backward_team), &a);
    /* the per-group partial sums, added in group order */
    for (int64_t k = 0; k < K; ++k)
        for (int64_t f = 0; f < F; ++f) {
            RG_T sum = 0;
            for (int64_t grp = 0; grp < G; ++grp) sum += a.group_sums[grp * P->group_size +
                                                                      k * P->ldb + f];
            dwm[k * F + f] = sum;
        }
    for (int64_t f = 0; f < F; ++f) {
        double sum = 0.0;
        for (int64_t grp = 0; grp < G; ++grp)
            sum += ((const double *)(a.group_sums + grp * P->group_size + P->off_group_db))[f];
        db[f] = (RG_T)sum;
    }
}

#undef RG_VL
#undef RG_F
