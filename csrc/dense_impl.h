/*
 * dense_impl.h -- the body of dense.c for one element type.  Included twice by
 * dense.c with RG_T = float, RG_SFX = f32 and RG_T = double, RG_SFX = f64.
 * The equations, blocking, threading and workspace are described in dense.c.
 */
#define RG_F(name) RG_CAT(RG_CAT(name, _), RG_SFX)
#define RG_VL ((int64_t)(RG_VEC_BYTES / sizeof(RG_T)))   /* lanes of one vector */

typedef RG_T RG_F(vec) __attribute__((vector_size(RG_VEC_BYTES), aligned(sizeof(RG_T))));

#include "gemm_impl.h"

/* Pack the B operand, a rows x cols matrix b(r, c) = src[r rs + c cs], into
 * panels of pw columns: dst[(p rows + r) pw + e] = b(r, p pw + e), zero past
 * the last column.  Only the (panel, row) pairs [begin, end) of the flattened
 * range [0, panels * rows) are written, so the threads can share the work.  For
 * W^T (cs = O) consecutive rows read the same cache lines one element further. */
static void RG_F(pack_panels)(RG_T *restrict dst, const RG_T *restrict src, int64_t rs,
                              int64_t cs, int64_t rows, int64_t cols, int64_t pw,
                              int64_t begin, int64_t end)
{
    int64_t p = begin / rows, r = begin % rows;
    for (int64_t t = begin; t < end; ++t) {
        const int64_t c0 = p * pw, width = cols - c0 < pw ? cols - c0 : pw;
        RG_T *restrict d = dst + t * pw;
        const RG_T *restrict s = src + r * rs + c0 * cs;
        int64_t e = 0;
        if (cs == 1) {
            for (; e < width; ++e) d[e] = s[e];
        } else {
            for (; e < width; ++e) d[e] = s[e * cs];
        }
        for (; e < pw; ++e) d[e] = 0;
        if (++r == rows) { r = 0; ++p; }
    }
}

/* Copy rows [0, rows) of a kc-column block of A, a(i, k) = a[i rs + k cs], into
 * micro-panels of RG_MR rows, dst[(blk kc + k) RG_MR + r] = a(blk RG_MR + r, k), the
 * rows past `rows` zero: the layout in which the micro-kernel reads A as one
 * sequential stream (rs 1, cs RG_MR). */
static void RG_F(pack_rows)(RG_T *restrict dst, const RG_T *restrict a, int64_t rs, int64_t cs,
                            int64_t rows, int64_t kc)
{
    for (int64_t i0 = 0; i0 < rows; i0 += RG_MR, dst += RG_MR * kc) {
        const int valid = (int)(rows - i0 < RG_MR ? rows - i0 : RG_MR);
        const RG_T *src = a + i0 * rs;
        for (int64_t k = 0; k < kc; ++k) {
            int r = 0;
            for (; r < valid; ++r) dst[k * RG_MR + r] = src[r * rs + k * cs];
            for (; r < RG_MR; ++r) dst[k * RG_MR + r] = 0;
        }
    }
}

/* Rows [i0, i1) of C = A B (acc = 0) or C += A B (acc = 1), C m x n with row
 * stride ldc, a(i, k) = a[i rs + k cs] for i < m, k < K, and B packed by
 * pack_panels with width pw.  i0 is a multiple of RG_MR and i1 one too or m.
 * Loop order: RG_DENSE_MC rows of A, then kc blocks, then panels; the
 * micro-kernel walks the row blocks for one kc x pw panel block.
 * A with rows along memory (cs = 1: x, dy) is read in place, but for the last,
 * partial row block, which is packed into `buf` because the micro-kernel reads
 * whole blocks.  A read down columns (x^T for dW: consecutive k are a row of x
 * apart, 4 KB for 1024 features, so the k loop would walk one L1 set) is packed
 * whole, RG_DENSE_MC x kc at a time, into `buf`, when at least three panels
 * reuse the copy (for one or two, LeNet's 10 or 84 outputs, the copy cost more
 * than it saved: measured 25 against 35 us for a 256 x 84 x 10 backward).
 * Each row of C gets the same operations in the same order whatever i0 and i1
 * are. */
static void RG_F(product)(RG_T *c, int64_t ldc, const RG_T *a, int64_t rs, int64_t cs,
                          const RG_T *bp, int64_t pw, int64_t m, int64_t n, int64_t K,
                          int64_t i0, int64_t i1, int acc, RG_T *buf)
{
    const int64_t m_full = m / RG_MR * RG_MR;   /* rows in whole RG_MR blocks */
    const int pack_all = cs != 1 && n > 2 * pw;
    for (int64_t ib = i0; ib < i1; ib += RG_DENSE_MC) {
        const int64_t ie = ib + RG_DENSE_MC < i1 ? ib + RG_DENSE_MC : i1;
        /* rows [ib, split) are read where they are, [split, ie) packed into buf */
        const int64_t split = pack_all ? ib : (ie < m_full ? ie : m_full);
        for (int64_t k0 = 0; k0 < K; k0 += RG_DENSE_KC) {
            const int64_t kc = K - k0 < RG_DENSE_KC ? K - k0 : RG_DENSE_KC;
            const int block_acc = acc || k0 > 0;
            if (ie > split)
                RG_F(pack_rows)(buf, a + split * rs + k0 * cs, rs, cs, ie - split, kc);
            for (int64_t j = 0; j < n; j += pw) {
                const int64_t nv = n - j < pw ? n - j : pw;
                const RG_T *b = bp + j * K + k0 * pw;   /* panel j / pw, row k0 */
                if (split > ib)
                    RG_F(gemm)(c + ib * ldc + j, ldc, a + ib * rs + k0 * cs, rs, cs, b, pw,
                               split - ib, nv, kc, block_acc);
                for (int64_t i = split; i < ie; i += RG_MR)
                    RG_F(gemm)(c + i * ldc + j, ldc, buf + (i - split) * kc, 1, RG_MR, b, pw,
                               ie - i < RG_MR ? ie - i : RG_MR, nv, kc, block_acc);
            }
        }
    }
}

/* db[o] = sum_n dy[n, o] for the columns [o0, o1), each summed in row order in double.
 * The rows are walked outermost over RG_DENSE_DB_CHUNK columns at a time, so the
 * additions of one row are independent (they vectorise) instead of one chain. */
static void RG_F(column_sums)(RG_T *restrict db, const RG_T *restrict dy, int64_t N, int64_t O,
                              int64_t o0, int64_t o1)
{
    for (int64_t c0 = o0; c0 < o1; c0 += RG_DENSE_DB_CHUNK) {
        const int64_t width = o1 - c0 < RG_DENSE_DB_CHUNK ? o1 - c0 : RG_DENSE_DB_CHUNK;
        double sum[RG_DENSE_DB_CHUNK] = { 0 };
        for (int64_t n = 0; n < N; ++n) {
            const RG_T *row = dy + n * O + c0;
            for (int64_t e = 0; e < width; ++e) sum[e] += (double)row[e];
        }
        for (int64_t e = 0; e < width; ++e) db[c0 + e] = (RG_T)sum[e];
    }
}

int64_t RG_F(rg_dense_workspace_size)(int64_t N, int64_t I, int64_t O, int n_threads)
{
    const rg_dense_plan P = rg_dense_make_plan(N, I, O, RG_VL);
    return P.packed + (int64_t)n_threads * P.buf;
}

/* The arguments of one call, shared by its team (rg_parallel). */
typedef struct {
    rg_dense_plan P;
    RG_T *y, *dx, *dw, *db, *work;
    const RG_T *x, *w, *b, *dy;
    int64_t N, I, O;
} RG_F(dense_call);

/* Forward: pack W (the (panel, row) pairs shared out), one barrier, then each thread its
 * contiguous run of RG_MR-row blocks of the batch. */
static void RG_F(dense_forward_team)(void *p, int t, int T)
{
    const RG_F(dense_call) *a = p;
    const rg_dense_plan *P = &a->P;
    const int64_t N = a->N, I = a->I, O = a->O;
    int64_t begin, end;
    rg_block(P->ld_out / P->pw_out * I, 1, t, T, &begin, &end);
    RG_F(pack_panels)(a->work, a->w, O, 1, I, O, P->pw_out, begin, end);
    rg_block((N + RG_MR - 1) / RG_MR, 1, t, T, &begin, &end);
    const int64_t i0 = begin * RG_MR, i1 = end * RG_MR < N ? end * RG_MR : N;
    for (int64_t i = i0; i < i1; ++i)
        for (int64_t o = 0; o < O; ++o) a->y[i * O + o] = a->b[o];
    rg_barrier();
    RG_F(product)(a->y, O, a->x, I, 1, a->work, P->pw_out, N, O, I, i0, i1, 1,
                  a->work + P->packed + t * P->buf);
}

void RG_F(rg_dense_forward)(RG_T *y, RG_T *work, const RG_T *x, const RG_T *w, const RG_T *b,
                            int64_t N, int64_t I, int64_t O, int n_threads)
{
    RG_F(dense_call) a = { .P = rg_dense_make_plan(N, I, O, RG_VL), .y = y, .work = work,
                           .x = x, .w = w, .b = b, .N = N, .I = I, .O = O };
    const int64_t row_blocks = (N + RG_MR - 1) / RG_MR;
    int nt = rg_threads_for(N * I * O, RG_DENSE_GRAIN, n_threads);
    if (nt > row_blocks) nt = (int)row_blocks;
    rg_parallel(nt, RG_F(dense_forward_team), &a);
}

/* Backward: pack dy and W^T and sum db (shared out), one barrier, then each thread its
 * run of batch blocks of dx and of feature blocks of dW. */
static void RG_F(dense_backward_team)(void *p, int t, int T)
{
    const RG_F(dense_call) *a = p;
    const rg_dense_plan *P = &a->P;
    const int64_t N = a->N, I = a->I, O = a->O;
    RG_T *dyp = a->work;                    /* dy in panels over O (the B of dW = x^T dy) */
    RG_T *wtp = a->work + N * P->ld_out;    /* W^T in panels over I (the B of dx = dy W^T) */
    RG_T *buf = a->work + P->packed + t * P->buf;
    int64_t begin, end;
    rg_block(P->ld_out / P->pw_out * N, 1, t, T, &begin, &end);
    RG_F(pack_panels)(dyp, a->dy, O, 1, N, O, P->pw_out, begin, end);
    rg_block(a->dx ? P->ld_in / P->pw_in * O : 0, 1, t, T, &begin, &end);
    RG_F(pack_panels)(wtp, a->w, 1, O, O, I, P->pw_in, begin, end);
    rg_block(O, 1, t, T, &begin, &end);
    RG_F(column_sums)(a->db, a->dy, N, O, begin, end);
    rg_barrier();
    if (a->dx) {
        rg_block((N + RG_MR - 1) / RG_MR, 1, t, T, &begin, &end);
        RG_F(product)(a->dx, I, a->dy, O, 1, wtp, P->pw_in, N, I, O, begin * RG_MR,
                      end * RG_MR < N ? end * RG_MR : N, 0, buf);
    }
    rg_block((I + RG_MR - 1) / RG_MR, 1, t, T, &begin, &end);
    RG_F(product)(a->dw, O, a->x, 1, I, dyp, P->pw_out, I, O, N, begin * RG_MR,
                  end * RG_MR < I ? end * RG_MR : I, 0, buf);
}

void RG_F(rg_dense_backward)(RG_T *dx, RG_T *dw, RG_T *db, RG_T *work, const RG_T *dy,
                             const RG_T *x, const RG_T *w, int64_t N, int64_t I, int64_t O,
                             int n_threads)
{
    RG_F(dense_call) a = { .P = rg_dense_make_plan(N, I, O, RG_VL), .dx = dx, .dw = dw,
                           .db = db, .work = work, .x = x, .w = w, .dy = dy, .N = N, .I = I,
                           .O = O };
    const int64_t batch_blocks = dx ? (N + RG_MR - 1) / RG_MR : 0;
    const int64_t feature_blocks = (I + RG_MR - 1) / RG_MR;
    int nt = rg_threads_for((dx ? 2 : 1) * N * I * O, RG_DENSE_GRAIN, n_threads);
    if (nt > batch_blocks && nt > feature_blocks)
        nt = (int)(batch_blocks > feature_blocks ? batch_blocks : feature_blocks);
    rg_parallel(nt, RG_F(dense_backward_team), &a);
}

#undef RG_VL
#undef RG_F
