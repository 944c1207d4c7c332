/*
 * norm_impl.h -- the normalisation kernels for one dtype.  Included by norm.c once with
 * RG_T=float, RG_SFX=f32 and once with RG_T=double, RG_SFX=f64.
 */
#define RG_F(name) RG_CAT(name, RG_CAT(_, RG_SFX))

/* ---- bodies (compiled for the baseline and for AVX2+FMA) ------------------------------- */

/* Batch statistics of one group of rows about the shift k[c] (x's first row): o[c] =
 * mean[c] - k[c] and m2[c] = sum over the rows of (x - mean[c])^2, by blocks of
 * RG_NORM_BLOCK rows (norm.c, "Precision"). */
RG_INLINE void RG_CAT(RG_F(bn_group_stats), _body)(double *restrict o, double *restrict m2,
                                                   const RG_T *restrict x,
                                                   const RG_T *restrict k, int64_t rows,
                                                   int64_t ch)
{
    double s1[RG_NORM_TILE], s2[RG_NORM_TILE];
    for (int64_t c = 0; c < ch; ++c) {
        o[c] = (double)x[c] - (double)k[c];
        m2[c] = 0.0;
    }
    for (int64_t r0 = 0; r0 < rows; r0 += RG_NORM_BLOCK) {
        const int64_t r1 = rows - r0 < RG_NORM_BLOCK ? rows : r0 + RG_NORM_BLOCK;
        const double inv = 1.0 / (double)r1;
        for (int64_t c0 = 0; c0 < ch; c0 += RG_NORM_TILE) {
            const int64_t w = ch - c0 < RG_NORM_TILE ? ch - c0 : RG_NORM_TILE;
            double *restrict mu = o + c0, *restrict q = m2 + c0;
            const RG_T *restrict kk = k + c0;
            for (int64_t j = 0; j < w; ++j) s1[j] = s2[j] = 0.0;
            for (int64_t r = r0; r < r1; ++r) {
                const RG_T *restrict xr = x + r * ch + c0;
                _Pragma("omp simd")
                for (int64_t j = 0; j < w; ++j) {
                    const double d = ((double)xr[j] - (double)kk[j]) - mu[j];
                    s1[j] += d;
                    s2[j] += d * d;
                }
            }
            _Pragma("omp simd")
            for (int64_t j = 0; j < w; ++j) {
                mu[j] += s1[j] * inv;
                q[j] += s2[j] - s1[j] * s1[j] * inv;
            }
        }
    }
}

/* s1[c] = sum dy, s2[c] = sum dy (x - mean[c]) over rows [0, rows); with `gk` (eval
 * backward) also dx = dy (gamma inv_std), the product rounded to RG_T as the reference's. */
RG_INLINE void RG_CAT(RG_F(bn_group_sums), _body)(double *restrict s1, double *restrict s2,
                                                  RG_T *restrict dx, const RG_T *restrict dy,
                                                  const RG_T *restrict x,
                                                  const RG_T *restrict mean,
                                                  const RG_T *restrict gamma,
                                                  const RG_T *restrict inv_std, int64_t rows,
                                                  int64_t ch)
{
    for (int64_t c = 0; c < ch; ++c) s1[c] = s2[c] = 0.0;
    for (int64_t r = 0; r < rows; ++r) {
        const RG_T *restrict gr = dy + r * ch, *restrict xr = x + r * ch;
        _Pragma("omp simd")
        for (int64_t c = 0; c < ch; ++c) {
            const RG_T d = xr[c] - mean[c];
            s1[c] += (double)gr[c];
            s2[c] += (double)gr[c] * (double)d;
        }
        if (dx) {
            RG_T *restrict dxr = dx + r * ch;
            _Pragma("omp simd")
            for (int64_t c = 0; c < ch; ++c) dxr[c] = gr[c] * (gamma[c] * inv_std[c]);
        }
    }
}

/* Over rows [0, rows) of channels [0, w) (row stride ch): the forward (dy NULL)
 * out = ((x - m[c]) - a[c]) s[c] + t[c]; the backward out = ((dy - t[c]) - (x - m[c]) s[c]) a[c]
 * (x - m and dy - t exact where x is near m and dy near t: what cancels, cancels first). */
RG_INLINE void RG_CAT(RG_F(bn_apply_rows), _body)(RG_T *restrict out, const RG_T *restrict x,
                                                  const RG_T *restrict dy,
                                                  const RG_T *restrict m,
                                                  const RG_T *restrict s,
                                                  const RG_T *restrict a,
                                                  const RG_T *restrict t, int64_t rows,
                                                  int64_t w, int64_t ch)
{
    for (int64_t r = 0; r < rows; ++r) {
        const RG_T *restrict xr = x + r * ch;
        RG_T *restrict o = out + r * ch;
        if (dy) {
            const RG_T *restrict gr = dy + r * ch;
            _Pragma("omp simd")
            for (int64_t c = 0; c < w; ++c) o[c] = ((gr[c] - t[c]) - (xr[c] - m[c]) * s[c]) * a[c];
        } else {
            _Pragma("omp simd")
            for (int64_t c = 0; c < w; ++c) o[c] = ((xr[c] - m[c]) - a[c]) * s[c] + t[c];
        }
    }
}

/* y = x scale[c] + shift[c] over rows [0, rows) of channels [0, w) (row stride ch). */
RG_INLINE void RG_CAT(RG_F(bn_scale_rows), _body)(RG_T *restrict y, const RG_T *restrict x,
                                                  const RG_T *restrict scale,
                                                  const RG_T *restrict shift, int64_t rows,
                                                  int64_t w, int64_t ch)
{
    for (int64_t r = 0; r < rows; ++r) {
        const RG_T *restrict xr = x + r * ch;
        RG_T *restrict yr = y + r * ch;
        _Pragma("omp simd")
        for (int64_t c = 0; c < w; ++c) yr[c] = xr[c] * scale[c] + shift[c];
    }
}

/* LayerNormalization forward of rows [0, rows) of D = cols values, each row's statistics
 * about its first value k (x - k is exact near the mean: norm.c, "Precision"). */
RG_INLINE void RG_CAT(RG_F(ln_forward_rows), _body)(RG_T *restrict y, RG_T *restrict mean,
                                                    RG_T *restrict inv_std,
                                                    const RG_T *restrict x,
                                                    const RG_T *restrict gamma,
                                                    const RG_T *restrict beta, double eps,
                                                    int64_t rows, int64_t cols)
{
    const double inv_d = 1.0 / (double)cols;
    for (int64_t r = 0; r < rows; ++r) {
        const RG_T *restrict xr = x + r * cols;
        RG_T *restrict yr = y + r * cols;
        const RG_T k = xr[0];
        double s = 0.0, q = 0.0;
        _Pragma("omp simd reduction(+:s)")
        for (int64_t j = 0; j < cols; ++j) s += (double)xr[j] - (double)k;
        const double o = s * inv_d;
        _Pragma("omp simd reduction(+:q)")
        for (int64_t j = 0; j < cols; ++j) {
            const double d = ((double)xr[j] - (double)k) - o;
            q += d * d;
        }
        const RG_T off = (RG_T)o, is = (RG_T)(1.0 / sqrt(q * inv_d + eps));
        mean[r] = (RG_T)((double)k + o);
        inv_std[r] = is;
        _Pragma("omp simd")
        for (int64_t j = 0; j < cols; ++j) yr[j] = ((xr[j] - k) - off) * is * gamma[j] + beta[j];
    }
}

/* LayerNormalization backward of rows [0, rows); dgamma and dbeta partial sums added into
 * accg, accb (cols doubles each). */
RG_INLINE void RG_CAT(RG_F(ln_backward_rows), _body)(RG_T *restrict dx, double *restrict accg,
                                                     double *restrict accb,
                                                     const RG_T *restrict dy,
                                                     const RG_T *restrict x,
                                                     const RG_T *restrict mean,
                                                     const RG_T *restrict inv_std,
                                                     const RG_T *restrict gamma, int64_t rows,
                                                     int64_t cols)
{
    const double inv_d = 1.0 / (double)cols;
    for (int64_t r = 0; r < rows; ++r) {
        const RG_T *restrict xr = x + r * cols, *restrict gr = dy + r * cols;
        RG_T *restrict dxr = dx + r * cols;
        const RG_T m = mean[r], k = inv_std[r];
        double sg = 0.0, sgx = 0.0;
        _Pragma("omp simd reduction(+:sg, sgx)")
        for (int64_t j = 0; j < cols; ++j) {
            const RG_T xh = (xr[j] - m) * k, g = gr[j] * gamma[j];
            sg += (double)g;
            sgx += (double)g * (double)xh;
            accg[j] += (double)gr[j] * (double)xh;
            accb[j] += (double)gr[j];
        }
        const RG_T u = (RG_T)(sg * inv_d), v = (RG_T)(sgx * inv_d);
        _Pragma("omp simd")
        for (int64_t j = 0; j < cols; ++j) {
            const RG_T xh = (xr[j] - m) * k;
            dxr[j] = ((gr[j] * gamma[j] - u) - xh * v) * k;
        }
    }
}

RG_MULTIVERSION(RG_F(bn_group_stats),
                (double *restrict o, double *restrict m2, const RG_T *restrict x,
                 const RG_T *restrict k, int64_t rows, int64_t ch),
                (o, m2, x, k, rows, ch))
RG_MULTIVERSION(RG_F(bn_group_sums),
                (double *restrict s1, double *restrict s2, RG_T *restrict dx,
                 const RG_T *restrict dy, const RG_T *restrict x, const RG_T *restrict mean,
                 const RG_T *restrict gamma, const RG_T *restrict inv_std, int64_t rows,
                 int64_t ch),
                (s1, s2, dx, dy, x, mean, gamma, inv_std, rows, ch))
RG_MULTIVERSION(RG_F(bn_apply_rows),
                (RG_T *restrict out, const RG_T *restrict x, const RG_T *restrict dy,
                 const RG_T *restrict m, const RG_T *restrict s, const RG_T *restrict a,
                 const RG_T *restrict t, int64_t rows, int64_t w, int64_t ch),
                (out, x, dy, m, s, a, t, rows, w, ch))
RG_MULTIVERSION(RG_F(bn_scale_rows),
                (RG_T *restrict y, const RG_T *restrict x, const RG_T *restrict scale,
                 const RG_T *restrict shift, int64_t rows, int64_t w, int64_t ch),
                (y, x, scale, shift, rows, w, ch))
RG_MULTIVERSION(RG_F(ln_forward_rows),
                (RG_T *restrict y, RG_T *restrict mean, RG_T *restrict inv_std,
                 const RG_T *restrict x, const RG_T *restrict gamma, const RG_T *restrict beta,
                 double eps, int64_t rows, int64_t cols),
                (y, mean, inv_std, x, gamma, beta, eps, rows, cols))
RG_MULTIVERSION(RG_F(ln_backward_rows),
                (RG_T *restrict dx, double *restrict accg, double *restrict accb,
                 const RG_T *restrict dy, const RG_T *restrict x, const RG_T *restrict mean,
                 const RG_T *restrict inv_std, const RG_T *restrict gamma, int64_t rows,
                 int64_t cols),
                (dx, accg, accb, dy, x, mean, inv_std, gamma, rows, cols))

/* ---- BatchNormalization ---------------------------------------------------------------- */

/* The arguments of one call, shared by its team. */
typedef struct {
    RG_T *out, *mean_out, *var_out, *dgamma, *dbeta;
    double *work;
    const RG_T *x, *dy, *gamma, *beta, *mean, *inv_std, *moving_mean, *moving_var;
    double eps;
    int64_t rows, ch, groups;
} RG_F(bn_call);

/* Rows [*r0, *r1) of group g. */
static void RG_F(bn_group_rows)(const RG_F(bn_call) *a, int64_t g, int64_t *r0, int64_t *r1)
{
    *r0 = a->rows * g / a->groups;
    *r1 = a->rows * (g + 1) / a->groups;
}

/* Threads for a reduction over the rows: by the work, at most one per group. */
static int RG_F(bn_threads)(int64_t rows, int64_t ch, int n_threads)
{
    const int nt = rg_threads_for(rows * ch, RG_GRAIN_CHEAP, n_threads);
    return nt < rg_groups(rows) ? nt : (int)rg_groups(rows);
}

/* Train forward.  Phase 1: each thread the statistics of its groups into work[g] (o, M2
 * about the shift x[0]).  Phase 2: each thread merges a block of channels over the groups
 * in group order, writes mean and var, and leaves s = gamma / sqrt(var + eps) and o in
 * work[0].  Phase 3: y = ((x - x[0]) - o) s + beta for a block of rows. */
static void RG_F(bn_train_forward_team)(void *p, int t, int T)
{
    const RG_F(bn_call) *a = p;
    const int64_t ch = a->ch;
    int64_t b0, b1;
    rg_block(a->groups, 1, t, T, &b0, &b1);
    for (int64_t g = b0; g < b1; ++g) {
        int64_t r0, r1;
        RG_F(bn_group_rows)(a, g, &r0, &r1);
        RG_F(bn_group_stats)(a->work + 2 * g * ch, a->work + (2 * g + 1) * ch, a->x + r0 * ch,
                             a->x, r1 - r0, ch);
    }
    rg_barrier();
    rg_block(ch, 1, t, T, &b0, &b1);
    for (int64_t c = b0; c < b1; ++c) {
        int64_t r0, r1;
        RG_F(bn_group_rows)(a, 0, &r0, &r1);
        double n = (double)(r1 - r0), o = a->work[c], m2 = a->work[ch + c];
        for (int64_t g = 1; g < a->groups; ++g) {
            RG_F(bn_group_rows)(a, g, &r0, &r1);
            const double nb = (double)(r1 - r0), n1 = n + nb;
            const double d = a->work[2 * g * ch + c] - o;
            o += d * (nb / n1);
            m2 += a->work[(2 * g + 1) * ch + c] + d * d * (n * nb / n1);
            n = n1;
        }
        const double var = m2 / n;
        a->mean_out[c] = (RG_T)((double)a->x[c] + o);
        a->var_out[c] = (RG_T)var;
        a->work[c] = (double)a->gamma[c] / sqrt(var + a->eps);
        a->work[ch + c] = o;
    }
    rg_barrier();
    rg_block(a->rows, 1, t, T, &b0, &b1);
    RG_T s[RG_NORM_TILE], off[RG_NORM_TILE];
    for (int64_t c0 = 0; c0 < ch; c0 += RG_NORM_TILE) {
        const int64_t w = ch - c0 < RG_NORM_TILE ? ch - c0 : RG_NORM_TILE;
        for (int64_t k = 0; k < w; ++k) {
            s[k] = (RG_T)a->work[c0 + k];
            off[k] = (RG_T)a->work[ch + c0 + k];
        }
        RG_F(bn_apply_rows)(a->out + b0 * ch + c0, a->x + b0 * ch + c0, NULL, a->x + c0, s, off,
                            a->beta + c0, b1 - b0, w, ch);
    }
}

void RG_F(rg_batch_norm_forward_train)(RG_T *y, RG_T *mean, RG_T *var, double *work,
                                       const RG_T *x, const RG_T *gamma, const RG_T *beta,
                                       double epsilon, int64_t rows, int64_t channels,
                                       int n_threads)
{
    RG_F(bn_call) a = { .out = y, .mean_out = mean, .var_out = var, .work = work, .x = x,
                        .gamma = gamma, .beta = beta, .eps = epsilon, .rows = rows,
                        .ch = channels, .groups = rg_groups(rows) };
    rg_parallel(RG_F(bn_threads)(rows, channels, n_threads), RG_F(bn_train_forward_team), &a);
}

/* Train backward.  Phase 1: each thread sum dy and sum dy (x - mean) of its groups into
 * work[g].  Phase 2: each thread merges a block of channels in group order, writes dgamma
 * and dbeta, and leaves the coefficients of dx = ((dy - u) - (x - mean) v) a in work[0]:
 * u = dbeta / n, v = inv_std dgamma / n (a = gamma inv_std).  Phase 3: dx for a block of
 * rows. */
static void RG_F(bn_backward_team)(void *p, int t, int T)
{
    const RG_F(bn_call) *a = p;
    const int64_t ch = a->ch;
    int64_t b0, b1;
    rg_block(a->groups, 1, t, T, &b0, &b1);
    for (int64_t g = b0; g < b1; ++g) {
        int64_t r0, r1;
        RG_F(bn_group_rows)(a, g, &r0, &r1);
        RG_F(bn_group_sums)(a->work + 2 * g * ch, a->work + (2 * g + 1) * ch, NULL,
                            a->dy + r0 * ch, a->x + r0 * ch, a->mean, a->gamma, a->inv_std,
                            r1 - r0, ch);
    }
    rg_barrier();
    rg_block(ch, 1, t, T, &b0, &b1);
    const double inv_n = 1.0 / (double)a->rows;
    for (int64_t c = b0; c < b1; ++c) {
        double s1, s2;
        rg_norm_totals(a->work, a->groups, ch, c, &s1, &s2);
        const double k = (double)a->inv_std[c], dgamma = k * s2;
        a->dbeta[c] = (RG_T)s1;
        a->dgamma[c] = (RG_T)dgamma;
        a->work[c] = k * dgamma * inv_n;
        a->work[ch + c] = s1 * inv_n;
    }
    rg_barrier();
    rg_block(a->rows, 1, t, T, &b0, &b1);
    RG_T s[RG_NORM_TILE], ga[RG_NORM_TILE], sh[RG_NORM_TILE];
    for (int64_t c0 = 0; c0 < ch; c0 += RG_NORM_TILE) {
        const int64_t w = ch - c0 < RG_NORM_TILE ? ch - c0 : RG_NORM_TILE;
        for (int64_t k = 0; k < w; ++k) {
            s[k] = (RG_T)a->work[c0 + k];
            sh[k] = (RG_T)a->work[ch + c0 + k];
            ga[k] = (RG_T)((double)a->gamma[c0 + k] * (double)a->inv_std[c0 + k]);
        }
        RG_F(bn_apply_rows)(a->out + b0 * ch + c0, a->x + b0 * ch + c0, a->dy + b0 * ch + c0,
                            a->mean + c0, s, ga, sh, b1 - b0, w, ch);
    }
}

void RG_F(rg_batch_norm_backward)(RG_T *dx, RG_T *dgamma, RG_T *dbeta, double *work,
                                  const RG_T *dy, const RG_T *x, const RG_T *mean,
                                  const RG_T *inv_std, const RG_T *gamma, int64_t rows,
                                  int64_t channels, int n_threads)
{
    RG_F(bn_call) a = { .out = dx, .dgamma = dgamma, .dbeta = dbeta, .work = work, .x = x,
                        .dy = dy, .gamma = gamma, .mean = mean, .inv_std = inv_std,
                        .rows = rows, .ch = channels, .groups = rg_groups(rows) };
    rg_parallel(RG_F(bn_threads)(rows, channels, n_threads), RG_F(bn_backward_team), &a);
}

/* Eval backward: one pass, groups in parallel (dx and the partial sums together), then the
 * sums merged in group order on the calling thread. */
static void RG_F(bn_backward_eval_groups)(void *p, int64_t g0, int64_t g1, int t)
{
    const RG_F(bn_call) *a = p;
    const int64_t ch = a->ch;
    for (int64_t g = g0; g < g1; ++g) {
        int64_t r0, r1;
        RG_F(bn_group_rows)(a, g, &r0, &r1);
        RG_F(bn_group_sums)(a->work + 2 * g * ch, a->work + (2 * g + 1) * ch, a->out + r0 * ch,
                            a->dy + r0 * ch, a->x + r0 * ch, a->mean, a->gamma, a->inv_std,
                            r1 - r0, ch);
    }
}

/* The backward kernels of one pass: groups in parallel (fn leaves sums for dbeta in work[2 g]
 * and for dgamma in work[2 g + 1]), then dbeta and dgamma from them in group order, dgamma
 * scaled by inv_std[c] where `scaled` (BatchNormalization's sums of dy (x - mean)). */
static void RG_F(one_pass_backward)(RG_F(bn_call) *a, rg_range_fn fn, RG_T *dgamma, RG_T *dbeta,
                                    int scaled, int n_threads)
{
    rg_parallel_for(a->groups, 1, RG_F(bn_threads)(a->rows, a->ch, n_threads), fn, a);
    for (int64_t c = 0; c < a->ch; ++c) {
        double sb, sg;
        rg_norm_totals(a->work, a->groups, a->ch, c, &sb, &sg);
        dbeta[c] = (RG_T)sb;
        dgamma[c] = (RG_T)(scaled ? (double)a->inv_std[c] * sg : sg);
    }
}

void RG_F(rg_batch_norm_backward_eval)(RG_T *dx, RG_T *dgamma, RG_T *dbeta, double *work,
                                       const RG_T *dy, const RG_T *x, const RG_T *mean,
                                       const RG_T *inv_std, const RG_T *gamma, int64_t rows,
                                       int64_t channels, int n_threads)
{
    RG_F(bn_call) a = { .out = dx, .work = work, .x = x, .dy = dy, .gamma = gamma,
                        .mean = mean, .inv_std = inv_std, .rows = rows, .ch = channels,
                        .groups = rg_groups(rows) };
    RG_F(one_pass_backward)(&a, RG_F(bn_backward_eval_groups), dgamma, dbeta, 1, n_threads);
}

/* Eval forward: a block of rows per thread, scale and shift computed per thread into stack
 * tiles. */
static void RG_F(bn_forward_eval_range)(void *p, int64_t r0, int64_t r1, int t)
{
    const RG_F(bn_call) *a = p;
    const int64_t ch = a->ch;
    RG_T scale[RG_NORM_TILE], shift[RG_NORM_TILE];
    for (int64_t c0 = 0; c0 < ch; c0 += RG_NORM_TILE) {
        const int64_t w = ch - c0 < RG_NORM_TILE ? ch - c0 : RG_NORM_TILE;
        for (int64_t k = 0; k < w; ++k) {
            const double s = (double)a->gamma[c0 + k] /
                             sqrt((double)a->moving_var[c0 + k] + a->eps);
            scale[k] = (RG_T)s;
            shift[k] = (RG_T)((double)a->beta[c0 + k] - (double)a->moving_mean[c0 + k] * s);
        }
        RG_F(bn_scale_rows)(a->out + r0 * ch + c0, a->x + r0 * ch + c0, scale, shift, r1 - r0,
                            w, ch);
    }
}

void RG_F(rg_batch_norm_forward_eval)(RG_T *y, const RG_T *x, const RG_T *gamma,
                                      const RG_T *beta, const RG_T *moving_mean,
                                      const RG_T *moving_var, double epsilon, int64_t rows,
                                      int64_t channels, int n_threads)
{
    RG_F(bn_call) a = { .out = y, .x = x, .gamma = gamma, .beta = beta,
                        .moving_mean = moving_mean, .moving_var = moving_var, .eps = epsilon,
                        .rows = rows, .ch = channels };
    rg_parallel_for(rows, 1, rg_threads_for(rows * channels, RG_GRAIN_CHEAP, n_threads),
                    RG_F(bn_forward_eval_range), &a);
}

/* ---- LayerNormalization ---------------------------------------------------------------- */

static void RG_F(ln_forward_range)(void *p, int64_t r0, int64_t r1, int t)
{
    const RG_F(bn_call) *a = p;
    const int64_t cols = a->ch;
    RG_F(ln_forward_rows)(a->out + r0 * cols, a->mean_out + r0, a->var_out + r0,
                          a->x + r0 * cols, a->gamma, a->beta, a->eps, r1 - r0, cols);
}

void RG_F(rg_layer_norm_forward)(RG_T *y, RG_T *mean, RG_T *inv_std, const RG_T *x,
                                 const RG_T *gamma, const RG_T *beta, double epsilon,
                                 int64_t rows, int64_t cols, int n_threads)
{
    RG_F(bn_call) a = { .out = y, .mean_out = mean, .var_out = inv_std, .x = x, .gamma = gamma,
                        .beta = beta, .eps = epsilon, .rows = rows, .ch = cols };
    rg_parallel_for(rows, 1, rg_threads_for(rows * cols, RG_GRAIN_CHEAP, n_threads),
                    RG_F(ln_forward_range), &a);
}

/* Groups [g0, g1): dx of their rows, and their partial dbeta, dgamma in work[2 g], [2 g + 1]. */
static void RG_F(ln_backward_groups)(void *p, int64_t g0, int64_t g1, int t)
{
    const RG_F(bn_call) *a = p;
    const int64_t cols = a->ch;
    for (int64_t g = g0; g < g1; ++g) {
        int64_t r0, r1;
        RG_F(bn_group_rows)(a, g, &r0, &r1);
        double *accb = a->work + 2 * g * cols, *accg = accb + cols;
        for (int64_t j = 0; j < 2 * cols; ++j) accb[j] = 0.0;
        RG_F(ln_backward_rows)(a->out + r0 * cols, accg, accb, a->dy + r0 * cols,
                               a->x + r0 * cols, a->mean + r0, a->inv_std + r0, a->gamma,
                               r1 - r0, cols);
    }
}

void RG_F(rg_layer_norm_backward)(RG_T *dx, RG_T *dgamma, RG_T *dbeta, double *work,
                                  const RG_T *dy, const RG_T *x, const RG_T *mean,
                                  const RG_T *inv_std, const RG_T *gamma, int64_t rows,
                                  int64_t cols, int n_threads)
{
    RG_F(bn_call) a = { .out = dx, .work = work, .x = x, .dy = dy, .gamma = gamma,
                        .mean = mean, .inv_std = inv_std, .rows = rows, .ch = cols,
                        .groups = rg_groups(rows) };
    RG_F(one_pass_backward)(&a, RG_F(ln_backward_groups), dgamma, dbeta, 0, n_threads);
}

#undef RG_F
