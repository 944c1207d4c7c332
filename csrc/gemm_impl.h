/*
 * gemm_impl.h -- the register-blocked SIMD GEMM micro-kernel shared by the kernel
 * families that multiply matrices (conv, dense), for one element type.  Included by
 * a family's <family>_impl.h after its prelude, which defines RG_F(name) (the name
 * with the type suffix), RG_VL (lanes of one vector) and the vector type RG_F(vec);
 * RG_VEC_BYTES and RG_MR come from rg_gemm.h.  Each translation unit gets its own
 * static copy, inlined into its callers.
 */
/* The GEMM micro-kernel: c[r, :] (+)= sum_k a(r, k) b[k, :] for r < RG_MR and
 * NV vectors of columns, a(r, k) = a[r rs + k cs] (so A may be row-major cols,
 * or cols transposed), b row-major with row stride ldb (padded with zeros to
 * whole vectors).  The RG_MR x NV accumulators stay in registers over the
 * whole k loop: per k, NV vector loads of B, RG_MR broadcasts and RG_MR NV
 * FMAs.  Only the first m_valid rows and n_valid columns are stored (c has
 * row stride ldc); with acc, c is added to instead of overwritten. */
#define RG_GEMM_TILE_BODY(NV)                                                              \
    RG_F(vec) s[RG_MR][NV];                                                                \
    for (int r = 0; r < RG_MR; ++r)                                                        \
        for (int v = 0; v < NV; ++v) s[r][v] = (RG_F(vec)){ 0 };                           \
    for (int64_t k = 0; k < kc; ++k) {                                                     \
        RG_F(vec) bv[NV];                                                                  \
        for (int v = 0; v < NV; ++v) bv[v] = *(const RG_F(vec) *)(b + k * ldb + v * RG_VL); \
        for (int r = 0; r < RG_MR; ++r) {                                                  \
            const RG_T av = a[r * rs + k * cs];                                            \
            for (int v = 0; v < NV; ++v) s[r][v] += av * bv[v];                            \
        }                                                                                  \
    }                                                                                      \
    for (int r = 0; r < m_valid; ++r) {                                                    \
        RG_T *cr = c + r * ldc;                                                            \
        if (n_valid == NV * RG_VL) {                                                       \
            for (int v = 0; v < NV; ++v) {                                                 \
                RG_F(vec) *cv = (RG_F(vec) *)(cr + v * RG_VL);                             \
                *cv = acc ? *cv + s[r][v] : s[r][v];                                       \
            }                                                                              \
            continue;                                                                      \
        }                                                                                  \
        RG_T row[NV * RG_VEC_BYTES / sizeof(RG_T)];                                        \
        for (int v = 0; v < NV; ++v) *(RG_F(vec) *)(row + v * RG_VL) = s[r][v];           \
        if (acc) { for (int64_t e = 0; e < n_valid; ++e) cr[e] += row[e]; }                \
        else { for (int64_t e = 0; e < n_valid; ++e) cr[e] = row[e]; }                     \
    }

RG_INLINE void RG_CAT(RG_F(gemm_tile1), _body)(RG_T *restrict c, int64_t ldc,
                                               const RG_T *restrict a, int64_t rs, int64_t cs,
                                               const RG_T *restrict b, int64_t ldb, int64_t kc,
                                               int m_valid, int64_t n_valid, int acc)
{
    RG_GEMM_TILE_BODY(1)
}

RG_INLINE void RG_CAT(RG_F(gemm_tile2), _body)(RG_T *restrict c, int64_t ldc,
                                               const RG_T *restrict a, int64_t rs, int64_t cs,
                                               const RG_T *restrict b, int64_t ldb, int64_t kc,
                                               int m_valid, int64_t n_valid, int acc)
{
    RG_GEMM_TILE_BODY(2)
}

/* c (m x n, row stride ldc) (+)= A (m x kc) B (kc x n): A's rows in blocks of
 * RG_MR (A must be readable for whole blocks: the callers pad it), B's columns
 * in blocks of 2 vectors, or 1 when n fits in one (the LeNet widths, 6 and
 * 16 filters, waste fewer lanes). */
RG_INLINE void RG_CAT(RG_F(gemm), _body)(RG_T *restrict c, int64_t ldc, const RG_T *restrict a,
                                         int64_t rs, int64_t cs, const RG_T *restrict b,
                                         int64_t ldb, int64_t m, int64_t n, int64_t kc, int acc)
{
    const int64_t nr = n <= RG_VL ? RG_VL : 2 * RG_VL;
    for (int64_t j = 0; j < n; j += nr) {
        const int64_t nv = n - j < nr ? n - j : nr;
        for (int64_t i = 0; i < m; i += RG_MR) {
            const int mv = (int)(m - i < RG_MR ? m - i : RG_MR);
            if (nr == RG_VL)
                RG_CAT(RG_F(gemm_tile1), _body)(c + i * ldc + j, ldc, a + i * rs, rs, cs, b + j,
                                                ldb, kc, mv, nv, acc);
            else
                RG_CAT(RG_F(gemm_tile2), _body)(c + i * ldc + j, ldc, a + i * rs, rs, cs, b + j,
                                                ldb, kc, mv, nv, acc);
        }
    }
}

RG_MULTIVERSION(RG_F(gemm),
                (RG_T *restrict c, int64_t ldc, const RG_T *restrict a, int64_t rs, int64_t cs,
                 const RG_T *restrict b, int64_t ldb, int64_t m, int64_t n, int64_t kc, int acc),
                (c, ldc, a, rs, cs, b, ldb, m, n, kc, acc))

#undef RG_GEMM_TILE_BODY
