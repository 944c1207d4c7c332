/*
 * conv_direct_impl.h -- the direct convolution of single-channel images at stride 1 (LeNet's
 * first layer: 28x28x1 -> 6 filters of 5x5), for one element type.  Included by conv_impl.h,
 * whose prelude defines RG_F, RG_VL and RG_F(vec).
 *
 * Why a separate algorithm for C = 1.  With one channel a patch row is KW values (5), the
 * im2col tile is 25 times the image, and the GEMM vectorised over F = 6 filters fills 6 of 8
 * lanes: building the tile costs more than the multiply-adds (17% of peak, measured).  Here
 * the image is copied once into a zero-padded buffer and every loop is vectorised over the
 * output width instead, where x is contiguous:
 *
 *   forward  y[i, j, f]   = b[f] + sum_{p,q} xpad[i + p, j + q] K[f, p, q]
 *            (RG_DB filters x 2 vectors of j in registers; per (p, q) two unaligned loads of
 *            x, RG_DB broadcasts and 2 RG_DB FMAs)
 *   kernel   dK[f, p, q] = sum_{i,j} dy[i, j, f] xpad[i + p, j + q]
 *            (per (p, q), RG_DB vector accumulators over all i, j, summed across lanes once)
 *   input    dxpad[r, c] = sum_{p,q,f} dypad[f, r - p, c - q] K[f, p, q]
 *            (a gather, not a scatter: each dx vector is written once)
 * where dypad is dy transposed to (F, OH, OW) planes with KH - 1 zero rows and KW - 1 zero
 * columns on each side, so that lanes past the image edge multiply zeros.  Every buffer is
 * padded far enough that whole vectors can be read at the right edge (rg_conv_make_plan).
 * Per image the sums run in one fixed order, so, with conv.c's image groups, results do not
 * depend on the thread count.
 */
#define RG_DJ (2 * RG_VL)   /* output pixels of one register block */

/* The padded buffers of one thread are zeroed once per call (zero_run over the whole of
 * xpad and of the dypad planes); each image then overwrites only the interior, which
 * every image of the call covers identically, so the borders stay zero. */

/* The interior of xpad (hp x ws): xpad[h + pt, w + pl] = x[h, w] for the rows it holds. */
RG_INLINE void RG_F(direct_fill_image)(RG_T *restrict xpad, const RG_T *restrict xn,
                                       const rg_conv_geom *g, const rg_conv_plan *P)
{
    const int64_t h_end = g->H < P->d_hp - g->pt ? g->H : P->d_hp - g->pt;
    const int64_t wn = g->W < P->d_ws - g->pl ? g->W : P->d_ws - g->pl;
    for (int64_t h = 0; h < h_end; ++h) {
        RG_T *row = xpad + (h + g->pt) * P->d_ws + g->pl;
        for (int64_t w = 0; w < wn; ++w) row[w] = xn[h * g->W + w];
    }
}

/* The interior of the dypad planes (d_rows x d_wid each): dy[i, j, f] of image dyn
 * (OH, OW, F) at plane f, row i + KH - 1, column j + KW - 1; and dbg[f] += its sum. */
RG_INLINE void RG_F(direct_fill_dy)(RG_T *restrict dypad, double *restrict dbg,
                                    const RG_T *restrict dyn, const rg_conv_geom *g,
                                    const rg_conv_plan *P, int64_t F)
{
    const int64_t plane = P->d_rows * P->d_wid;
    for (int64_t i = 0; i < g->OH; ++i) {
        RG_T *row = dypad + (i + g->KH - 1) * P->d_wid + g->KW - 1;
        const RG_T *src = dyn + i * g->OW * F;
        for (int64_t j = 0; j < g->OW; ++j)
            for (int64_t f = 0; f < F; ++f) {
                row[f * plane + j] = src[j * F + f];
                dbg[f] += (double)src[j * F + f];
            }
    }
}

/* One image's output rows: y[i, j, :] for all i, j, from xpad and the packed kernels
 * wk[(p KW + q) f6 + f] (zeros for f >= F). */
RG_INLINE void RG_CAT(RG_F(direct_forward_image), _body)(RG_T *restrict yn,
                                                         const RG_T *restrict xpad,
                                                         const RG_T *restrict wk,
                                                         const RG_T *restrict b,
                                                         const rg_conv_geom *g,
                                                         const rg_conv_plan *P, int64_t F,
                                                         RG_T *restrict tmp)
{
    const int64_t KH = g->KH, KW = g->KW, f6 = P->d_f6;
    for (int64_t i = 0; i < g->OH; ++i) {
        const RG_T *xrow = xpad + i * P->d_ws;
        for (int64_t j0 = 0; j0 < g->OW; j0 += RG_DJ) {
            for (int64_t f0 = 0; f0 < F; f0 += RG_DB) {
                RG_F(vec) acc[RG_DB][2];
                for (int r = 0; r < RG_DB; ++r) {
                    const RG_T bias = f0 + r < F ? b[f0 + r] : 0;
                    acc[r][0] = acc[r][1] = (RG_F(vec)){ 0 } + bias;
                }
                for (int64_t p = 0; p < KH; ++p) {
                    const RG_T *xs = xrow + p * P->d_ws + j0;
                    const RG_T *wp = wk + p * KW * f6 + f0;
                    for (int64_t q = 0; q < KW; ++q) {
                        const RG_F(vec) x0 = *(const RG_F(vec) *)(xs + q);
                        const RG_F(vec) x1 = *(const RG_F(vec) *)(xs + q + RG_VL);
                        for (int r = 0; r < RG_DB; ++r) {
                            acc[r][0] += wp[q * f6 + r] * x0;
                            acc[r][1] += wp[q * f6 + r] * x1;
                        }
                    }
                }
                /* (filter, pixel) registers to NHWC (pixel, filter) through tmp */
                const int64_t nj = g->OW - j0 < RG_DJ ? g->OW - j0 : RG_DJ;
                const int64_t nf = F - f0 < RG_DB ? F - f0 : RG_DB;
                for (int r = 0; r < RG_DB; ++r) {
                    *(RG_F(vec) *)(tmp + r * RG_DJ) = acc[r][0];
                    *(RG_F(vec) *)(tmp + r * RG_DJ + RG_VL) = acc[r][1];
                }
                RG_T *yp = yn + (i * g->OW + j0) * F + f0;
                for (int64_t jj = 0; jj < nj; ++jj)
                    for (int64_t r = 0; r < nf; ++r) yp[jj * F + r] = tmp[r * RG_DJ + jj];
            }
        }
    }
}

/* dw[(p KW + q) ldb + f] += sum_{i,j} dy[i, j, f] xpad[i + p, j + q] for one image: per
 * (p, q, q + 1) and block of RG_DB filters, 2 RG_DB vector accumulators over all i, j (two
 * x loads and RG_DB dy loads per 2 RG_DB FMAs), summed across lanes at the end.  An odd
 * KW's last pair computes a column q = KW past the kernel (within xpad's slack) and drops it. */
RG_INLINE void RG_CAT(RG_F(direct_kernel_grad_image), _body)(RG_T *restrict dw,
                                                             const RG_T *restrict xpad,
                                                             const RG_T *restrict dypad,
                                                             const rg_conv_geom *g,
                                                             const rg_conv_plan *P, int64_t F)
{
    const int64_t plane = P->d_rows * P->d_wid, nv = (g->OW + RG_VL - 1) / RG_VL;
    const RG_T *dy0 = dypad + (g->KH - 1) * P->d_wid + g->KW - 1;   /* dy[0, 0] of plane 0 */
    RG_F(ivec) last_mask;   /* the lanes j < OW of the last vector of a row */
    for (int l = 0; l < RG_VL; ++l) last_mask[l] = (nv - 1) * RG_VL + l < g->OW ? -1 : 0;
    for (int64_t p = 0; p < g->KH; ++p)
        for (int64_t q = 0; q < g->KW; q += 2)
            for (int64_t f0 = 0; f0 < F; f0 += RG_DB) {
                RG_F(vec) acc[RG_DB][2];
                for (int r = 0; r < RG_DB; ++r) acc[r][0] = acc[r][1] = (RG_F(vec)){ 0 };
                for (int64_t i = 0; i < g->OH; ++i) {
                    const RG_T *xs = xpad + (i + p) * P->d_ws + q;
                    const RG_T *ds = dy0 + f0 * plane + i * P->d_wid;
                    for (int64_t v = 0; v < nv; ++v) {
                        RG_F(vec) x0 = *(const RG_F(vec) *)(xs + v * RG_VL);
                        RG_F(vec) x1 = *(const RG_F(vec) *)(xs + v * RG_VL + 1);
                        /* lanes j >= OW read real pixels (times dy = 0): zeroed, so that
                         * an infinite pixel there cannot make a NaN */
                        if (v == nv - 1) {
                            x0 = (RG_F(vec))((RG_F(ivec))x0 & last_mask);
                            x1 = (RG_F(vec))((RG_F(ivec))x1 & last_mask);
                        }
                        for (int r = 0; r < RG_DB; ++r) {
                            const RG_F(vec) d = *(const RG_F(vec) *)(ds + r * plane + v * RG_VL);
                            acc[r][0] += d * x0;
                            acc[r][1] += d * x1;
                        }
                    }
                }
                for (int64_t qq = 0; qq < 2 && q + qq < g->KW; ++qq)
                    for (int r = 0; r < RG_DB && f0 + r < F; ++r) {
                        RG_T s = 0;
                        for (int l = 0; l < RG_VL; ++l) s += acc[r][qq][l];
                        dw[(p * g->KW + q + qq) * P->ldb + f0 + r] += s;
                    }
            }
}

/* dx of one image (H x W, overwritten): dxpad[r, c] at r = h + pt, c = w + pl, for RG_DR
 * rows x 2 vectors of pixels at a time.  Per (f, q), each dypad row vector loaded serves
 * the up to KH output rows it reaches (row h takes dypad row h + pt - p + KH - 1 times
 * K[f, p, q]), so the 2 RG_DR accumulators make independent FMA chains. */
RG_INLINE void RG_CAT(RG_F(direct_input_grad_image), _body)(RG_T *restrict dxn,
                                                            const RG_T *restrict dypad,
                                                            const RG_T *restrict wk,
                                                            const rg_conv_geom *g,
                                                            const rg_conv_plan *P, int64_t F,
                                                            RG_T *restrict tmp)
{
    const int64_t KH = g->KH, KW = g->KW, f6 = P->d_f6, plane = P->d_rows * P->d_wid;
    for (int64_t h0 = 0; h0 < g->H; h0 += RG_DR) {
        for (int64_t w0 = 0; w0 < g->W; w0 += RG_DJ) {
            RG_F(vec) acc[RG_DR][2];
            for (int j = 0; j < RG_DR; ++j) acc[j][0] = acc[j][1] = (RG_F(vec)){ 0 };
            for (int64_t f = 0; f < F; ++f)
                for (int64_t q = 0; q < KW; ++q) {
                    const RG_T *col = dypad + f * plane + (h0 + g->pt) * P->d_wid + w0 + g->pl
                                      + KW - 1 - q;
                    const RG_T *wq = wk + q * f6 + f;   /* K[f, p, q] at wq[p KW f6] */
                    for (int64_t rr = 0; rr < RG_DR + KH - 1; ++rr) {
                        const RG_F(vec) v0 = *(const RG_F(vec) *)(col + rr * P->d_wid);
                        const RG_F(vec) v1 = *(const RG_F(vec) *)(col + rr * P->d_wid + RG_VL);
                        for (int j = 0; j < RG_DR; ++j) {
                            const int64_t p = j + KH - 1 - rr;
                            if (p < 0 || p >= KH) continue;
                            const RG_T wv = wq[p * KW * f6];
                            acc[j][0] += wv * v0;
                            acc[j][1] += wv * v1;
                        }
                    }
                }
            for (int j = 0; j < RG_DR && h0 + j < g->H; ++j) {
                RG_T *d = dxn + (h0 + j) * g->W + w0;
                if (g->W - w0 >= RG_DJ) {
                    *(RG_F(vec) *)d = acc[j][0];
                    *(RG_F(vec) *)(d + RG_VL) = acc[j][1];
                } else {
                    *(RG_F(vec) *)tmp = acc[j][0];
                    *(RG_F(vec) *)(tmp + RG_VL) = acc[j][1];
                    for (int64_t e = 0; e < g->W - w0; ++e) d[e] = tmp[e];
                }
            }
        }
    }
}

RG_MULTIVERSION(RG_F(direct_forward_image),
                (RG_T *restrict yn, const RG_T *restrict xpad, const RG_T *restrict wk,
                 const RG_T *restrict b, const rg_conv_geom *g, const rg_conv_plan *P,
                 int64_t F, RG_T *restrict tmp),
                (yn, xpad, wk, b, g, P, F, tmp))
RG_MULTIVERSION(RG_F(direct_kernel_grad_image),
                (RG_T *restrict dw, const RG_T *restrict xpad, const RG_T *restrict dypad,
                 const rg_conv_geom *g, const rg_conv_plan *P, int64_t F),
                (dw, xpad, dypad, g, P, F))
RG_MULTIVERSION(RG_F(direct_input_grad_image),
                (RG_T *restrict dxn, const RG_T *restrict dypad, const RG_T *restrict wk,
                 const rg_conv_geom *g, const rg_conv_plan *P, int64_t F, RG_T *restrict tmp),
                (dxn, dypad, wk, g, P, F, tmp))

/* wk[k f6 + f] = w[k ks + f fs] (k = p KW + q; wm has ks = F, fs = 1, wmt ks = 1, fs = K),
 * zeros for F <= f < f6. */
static void RG_F(direct_pack_kernels)(RG_T *wk, const RG_T *w, int64_t ks, int64_t fs,
                                      int64_t K, int64_t F, int64_t f6)
{
    for (int64_t k = 0; k < K; ++k)
        for (int64_t f = 0; f < f6; ++f) wk[k * f6 + f] = f < F ? w[k * ks + f * fs] : 0;
}

#undef RG_DJ
