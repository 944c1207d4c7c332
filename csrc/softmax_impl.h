/*
 * softmax_impl.h -- the softmax kernels for one dtype.  Included by softmax.c
 * once with RG_T=float, RG_SFX=f32 and once with RG_T=double, RG_SFX=f64.
 */
#define RG_F(name) RG_CAT(name, RG_CAT(_, RG_SFX))

/* Writes e^{x_c - m} to e[] and returns (m, sum_c e^{x_c - m}). */
RG_INLINE RG_T RG_F(rg_row_exp)(RG_T *restrict e, const RG_T *restrict x, int64_t cols, double *sum)
{
    RG_T m = x[0];
    _Pragma("omp simd reduction(max:m)")
    for (int64_t c = 1; c < cols; ++c) m = x[c] > m ? x[c] : m;
    double s = 0.0;
    _Pragma("omp simd reduction(+:s)")
    for (int64_t c = 0; c < cols; ++c) {
        const RG_T v = RG_F(rg_exp)(x[c] - m);
        e[c] = v;
        s += (double)v;
    }
    *sum = s;
    return m;
}

RG_INLINE void RG_CAT(RG_F(softmax_forward_rows), _body)(RG_T *restrict y, const RG_T *restrict x,
                                                          int64_t rows, int64_t cols)
{
    for (int64_t r = 0; r < rows; ++r) {
        double sum;
        RG_T *yr = y + r * cols;
        RG_F(rg_row_exp)(yr, x + r * cols, cols, &sum);
        const RG_T inv = (RG_T)(1.0 / sum);
        _Pragma("omp simd")
        for (int64_t c = 0; c < cols; ++c) yr[c] *= inv;
    }
}

RG_INLINE void RG_CAT(RG_F(softmax_backward_rows), _body)(RG_T *restrict dx, const RG_T *restrict dy,
                                                           const RG_T *restrict y, int64_t rows,
                                                           int64_t cols)
{
    for (int64_t r = 0; r < rows; ++r) {
        const RG_T *gr = dy + r * cols, *yr = y + r * cols;
        RG_T *dxr = dx + r * cols;
        double dot = 0.0;
        _Pragma("omp simd reduction(+:dot)")
        for (int64_t c = 0; c < cols; ++c) dot += (double)gr[c] * (double)yr[c];
        const RG_T d = (RG_T)dot;
        _Pragma("omp simd")
        for (int64_t c = 0; c < cols; ++c) dxr[c] = yr[c] * (gr[c] - d);
    }
}

RG_INLINE void RG_CAT(RG_F(softmax_xent_rows), _body)(RG_T *restrict grad, double *restrict row_loss,
                                                       const RG_T *restrict z, const RG_T *restrict t,
                                                       int64_t rows, int64_t cols, double inv_n)
{
    for (int64_t r = 0; r < rows; ++r) {
        const RG_T *zr = z + r * cols, *tr = t + r * cols;
        RG_T *gr = grad + r * cols;
        double sum;
        const RG_T m = RG_F(rg_row_exp)(gr, zr, cols, &sum);
        const double lse = (double)m + log(sum);
        const RG_T scale = (RG_T)(inv_n / sum), tscale = (RG_T)inv_n;
        double loss = 0.0;
        _Pragma("omp simd reduction(+:loss)")
        for (int64_t c = 0; c < cols; ++c) {
            loss += (double)tr[c] * (lse - (double)zr[c]);
            gr[c] = gr[c] * scale - tr[c] * tscale;
        }
        row_loss[r] = loss;
    }
}

RG_MULTIVERSION_WIDE(RG_F(softmax_forward_rows),
                (RG_T *restrict y, const RG_T *restrict x, int64_t rows, int64_t cols),
                (y, x, rows, cols))
RG_MULTIVERSION_WIDE(RG_F(softmax_backward_rows),
                (RG_T *restrict dx, const RG_T *restrict dy, const RG_T *restrict y, int64_t rows,
                 int64_t cols),
                (dx, dy, y, rows, cols))
RG_MULTIVERSION_WIDE(RG_F(softmax_xent_rows),
                (RG_T *restrict grad, double *restrict row_loss, const RG_T *restrict z,
                 const RG_T *restrict t, int64_t rows, int64_t cols, double inv_n),
                (grad, row_loss, z, t, rows, cols, inv_n))

typedef struct {
    RG_T *out;
    double *row_loss;
    const RG_T *in, *aux;   /* forward: x; backward: dy, y; cross-entropy: logits, targets */
    int64_t cols;
    double inv_n;
} RG_F(softmax_ctx);

static void RG_F(softmax_forward_range)(void *p, int64_t r0, int64_t r1, int t)
{
    const RG_F(softmax_ctx) *c = p;
    RG_F(softmax_forward_rows)(c->out + r0 * c->cols, c->in + r0 * c->cols, r1 - r0, c->cols);
}

static void RG_F(softmax_backward_range)(void *p, int64_t r0, int64_t r1, int t)
{
    const RG_F(softmax_ctx) *c = p;
    RG_F(softmax_backward_rows)(c->out + r0 * c->cols, c->in + r0 * c->cols,
                                c->aux + r0 * c->cols, r1 - r0, c->cols);
}

static void RG_F(softmax_xent_range)(void *p, int64_t r0, int64_t r1, int t)
{
    const RG_F(softmax_ctx) *c = p;
    RG_F(softmax_xent_rows)(c->out + r0 * c->cols, c->row_loss + r0, c->in + r0 * c->cols,
                            c->aux + r0 * c->cols, r1 - r0, c->cols, c->inv_n);
}

/* Rows in parallel, one static block of rows per thread. */
static void RG_F(softmax_run)(RG_F(softmax_ctx) *c, int64_t rows, rg_range_fn fn, int n_threads)
{
    rg_parallel_for(rows, 1, rg_threads_for(rows * c->cols, RG_GRAIN_TRANSCEND, n_threads), fn, c);
}

void RG_F(rg_softmax_forward)(RG_T *y, const RG_T *x, int64_t rows, int64_t cols, int n_threads)
{
    RG_F(softmax_ctx) c = { y, NULL, x, NULL, cols, 0.0 };
    RG_F(softmax_run)(&c, rows, RG_F(softmax_forward_range), n_threads);
}

void RG_F(rg_softmax_backward)(RG_T *dx, const RG_T *dy, const RG_T *y, int64_t rows, int64_t cols,
                               int n_threads)
{
    RG_F(softmax_ctx) c = { dx, NULL, dy, y, cols, 0.0 };
    RG_F(softmax_run)(&c, rows, RG_F(softmax_backward_range), n_threads);
}

void RG_F(rg_softmax_cross_entropy)(RG_T *grad, double *loss, double *row_loss, const RG_T *logits,
                                    const RG_T *targets, int64_t rows, int64_t cols, int n_threads)
{
    RG_F(softmax_ctx) c = { grad, row_loss, logits, targets, cols, 1.0 / (double)rows };
    RG_F(softmax_run)(&c, rows, RG_F(softmax_xent_range), n_threads);
    double total = 0.0;
    for (int64_t r = 0; r < rows; ++r) total += row_loss[r];
    *loss = total * c.inv_n;
}

#undef RG_F
