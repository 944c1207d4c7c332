/*
 * activations_impl.h -- the activation kernels for one dtype.  Included by
 * activations.c once with RG_T=float, RG_SFX=f32 and once with RG_T=double,
 * RG_SFX=f64, so each loop is written once.
 */
#define RG_F(name) RG_CAT(name, RG_CAT(_, RG_SFX))
#define RG_C(value) ((RG_T)(value))

/* y[i] = expr(v) with v = x[i] */
#define RG_MAP(expr)                                  \
    _Pragma("omp simd")                               \
    for (int64_t i = 0; i < n; ++i) {                 \
        const RG_T v = x[i];                          \
        y[i] = (expr);                                \
    }
/* dx[i] = expr, where expr may use g = dy[i] and v = x[i] (GRAD_X) or s = y[i]
 * (GRAD_Y); each kind loads only the array it needs. */
#define RG_MAP_GRAD_X(expr)                           \
    _Pragma("omp simd")                               \
    for (int64_t i = 0; i < n; ++i) {                 \
        const RG_T g = dy[i], v = x[i];               \
        dx[i] = (expr);                               \
    }
#define RG_MAP_GRAD_Y(expr)                           \
    _Pragma("omp simd")                               \
    for (int64_t i = 0; i < n; ++i) {                 \
        const RG_T g = dy[i], s = y[i];               \
        dx[i] = (expr);                               \
    }

/* Point functions shared by forward and backward.  rg_ncdf_pdf gives the normal
 * CDF Phi(z) = erfc(-z/sqrt2) / 2 (no cancellation in the negative tail, unlike
 * (1 + erf(z/sqrt2)) / 2) and the density. */
RG_INLINE RG_T RG_F(rg_ncdf)(RG_T v)
{
    RG_T dens;
    return RG_F(rg_ncdf_pdf)(v, &dens);
}

/* The tanh-GELU argument u = k (z + c z^3) of a z clamped to [-10, 10]: beyond,
 * tanh(u) is +-1 to the last bit in float64 already, and the clamp keeps z^3
 * from overflowing for huge z. */
RG_INLINE RG_T RG_F(rg_gelu_clip)(RG_T v) { return v < RG_C(-10) ? RG_C(-10) : (v > RG_C(10) ? RG_C(10) : v); }
RG_INLINE RG_T RG_F(rg_gelu_u)(RG_T c) { return RG_C(RG_GELU_K) * (c + RG_C(RG_GELU_C) * c * c * c); }

/* ds/dz of tanh-GELU, s = z (1 + t) / 2 with t = tanh(u):
 * ds/dz = (1 + t) / 2 + z (1 - t)(1 + t) k (1 + 3 c z^2) / 2. */
RG_INLINE RG_T RG_F(rg_gelu_tanh_grad)(RG_T v)
{
    const RG_T c = RG_F(rg_gelu_clip)(v);
    const RG_T t = RG_F(rg_tanh)(RG_F(rg_gelu_u)(c));
    return RG_C(0.5) * (RG_C(1) + t) + RG_C(0.5) * c * (RG_C(1) - t) * (RG_C(1) + t) * RG_C(RG_GELU_K) *
           (RG_C(1) + RG_C(3 * RG_GELU_C) * c * c);
}

/* ds/dz of s = z sigmoid(b z): sigma + b z sigma (1 - sigma). */
RG_INLINE RG_T RG_F(rg_swish_grad)(RG_T v, RG_T b)
{
    const RG_T sg = RG_F(rg_sigmoid)(b * v);
    return sg + b * v * sg * (RG_C(1) - sg);
}

/* ds/dz of erf-GELU: Phi(z) + z phi(z), phi the standard normal density. */
RG_INLINE RG_T RG_F(rg_gelu_erf_grad)(RG_T v)
{
    RG_T dens;
    const RG_T cdf = RG_F(rg_ncdf_pdf)(v, &dens);
    return cdf + v * dens;
}

RG_INLINE void RG_CAT(RG_F(act_forward_chunk), _body)(RG_T *restrict y, const RG_T *restrict x, int64_t n,
                                                      int kind, RG_T a, RG_T b)
{
    switch (kind) {
    case RG_ACT_RELU:         RG_MAP(v < 0 ? RG_C(0) : v); break;   /* NaN passes through, as in NumPy */
    case RG_ACT_LEAKY_RELU:   RG_MAP(v > 0 ? v : a * v); break;
    case RG_ACT_SIGMOID:      RG_MAP(RG_F(rg_sigmoid)(v)); break;
    case RG_ACT_TANH:         RG_MAP(RG_F(rg_tanh)(v)); break;
    case RG_ACT_SOFTSIGN:     RG_MAP(v / (RG_C(1) + (v < 0 ? -v : v))); break;
    case RG_ACT_HARD_SIGMOID: {
        RG_MAP(v <= RG_C(-3) ? RG_C(0) : (v >= RG_C(3) ? RG_C(1) : v / RG_C(6) + RG_C(0.5)));
        break;
    }
    case RG_ACT_HARD_TANH:    RG_MAP(v < a ? a : (v > b ? b : v)); break;
    case RG_ACT_ELU:          RG_MAP(v > 0 ? v : a * RG_F(rg_expm1)(v)); break;
    case RG_ACT_SELU: {
        RG_MAP(RG_C(RG_SELU_LAMBDA) * (v > 0 ? v : RG_C(RG_SELU_ALPHA) * RG_F(rg_expm1)(v)));
        break;
    }
    case RG_ACT_GELU_ERF:     RG_MAP(v * RG_F(rg_ncdf)(v)); break;
    case RG_ACT_GELU_TANH: {
        RG_MAP(RG_C(0.5) * v * (RG_C(1) + RG_F(rg_tanh)(RG_F(rg_gelu_u)(RG_F(rg_gelu_clip)(v)))));
        break;
    }
    case RG_ACT_GELU_SIGMOID: RG_MAP(v * RG_F(rg_sigmoid)(RG_C(RG_GELU_SIGMOID_K) * v)); break;
    case RG_ACT_SWISH:        RG_MAP(v * RG_F(rg_sigmoid)(a * v)); break;
    default: break;
    }
}

RG_INLINE void RG_CAT(RG_F(act_backward_chunk), _body)(RG_T *restrict dx, const RG_T *restrict dy,
                                                       const RG_T *restrict x, const RG_T *restrict y,
                                                       int64_t n, int kind, RG_T a, RG_T b)
{
    switch (kind) {
    case RG_ACT_RELU:         RG_MAP_GRAD_X(v > 0 ? g : RG_C(0)); break;
    case RG_ACT_LEAKY_RELU:   RG_MAP_GRAD_X(v > 0 ? g : a * g); break;
    case RG_ACT_SIGMOID:      RG_MAP_GRAD_Y(g * (s * (RG_C(1) - s))); break;
    case RG_ACT_TANH:         RG_MAP_GRAD_Y(g * (RG_C(1) - s * s)); break;
    case RG_ACT_SOFTSIGN: {
        RG_MAP_GRAD_X(g / ((RG_C(1) + (v < 0 ? -v : v)) * (RG_C(1) + (v < 0 ? -v : v))));
        break;
    }
    case RG_ACT_HARD_SIGMOID: RG_MAP_GRAD_X(v > RG_C(-3) && v < RG_C(3) ? g / RG_C(6) : RG_C(0)); break;
    case RG_ACT_HARD_TANH:    RG_MAP_GRAD_X(v > a && v < b ? g : RG_C(0)); break;
    case RG_ACT_ELU:          RG_MAP_GRAD_X(v > 0 ? g : g * (a * RG_F(rg_exp_flushed)(v))); break;
    case RG_ACT_SELU: {
        RG_MAP_GRAD_X(g * (v > 0 ? RG_C(RG_SELU_LAMBDA)
                                 : RG_C(RG_SELU_LAMBDA * RG_SELU_ALPHA) * RG_F(rg_exp_flushed)(v)));
        break;
    }
    case RG_ACT_GELU_ERF:     RG_MAP_GRAD_X(g * RG_F(rg_gelu_erf_grad)(v)); break;
    case RG_ACT_GELU_TANH:    RG_MAP_GRAD_X(g * RG_F(rg_gelu_tanh_grad)(v)); break;
    case RG_ACT_GELU_SIGMOID: RG_MAP_GRAD_X(g * RG_F(rg_swish_grad)(v, RG_C(RG_GELU_SIGMOID_K))); break;
    case RG_ACT_SWISH:        RG_MAP_GRAD_X(g * RG_F(rg_swish_grad)(v, a)); break;
    default: break;
    }
}

RG_MULTIVERSION_WIDE(RG_F(act_forward_chunk),
                (RG_T *restrict y, const RG_T *restrict x, int64_t n, int kind, RG_T a, RG_T b),
                (y, x, n, kind, a, b))
RG_MULTIVERSION_WIDE(RG_F(act_backward_chunk),
                (RG_T *restrict dx, const RG_T *restrict dy, const RG_T *restrict x,
                 const RG_T *restrict y, int64_t n, int kind, RG_T a, RG_T b),
                (dx, dy, x, y, n, kind, a, b))

typedef struct {
    RG_T *out;
    const RG_T *dy, *x, *y;
    int kind;
    RG_T a, b;
} RG_F(act_ctx);

static void RG_F(act_forward_range)(void *p, int64_t begin, int64_t end, int t)
{
    const RG_F(act_ctx) *c = p;
    RG_F(act_forward_chunk)(c->out + begin, c->x + begin, end - begin, c->kind, c->a, c->b);
}

static void RG_F(act_backward_range)(void *p, int64_t begin, int64_t end, int t)
{
    const RG_F(act_ctx) *c = p;
    RG_F(act_backward_chunk)(c->out + begin, c->dy + begin, c->x ? c->x + begin : NULL,
                             c->y ? c->y + begin : NULL, end - begin, c->kind, c->a, c->b);
}

/* Transcendental kinds amortise a thread team on smaller arrays. */
static int64_t RG_F(act_grain)(int kind)
{
    return (kind == RG_ACT_RELU || kind == RG_ACT_LEAKY_RELU || kind == RG_ACT_HARD_SIGMOID ||
            kind == RG_ACT_HARD_TANH) ? RG_GRAIN_CHEAP : RG_GRAIN_TRANSCEND;
}

void RG_F(rg_activation_forward)(RG_T *y, const RG_T *x, int64_t n, int kind, double a, double b,
                                 int n_threads)
{
    RG_F(act_ctx) c = { y, NULL, x, NULL, kind, (RG_T)a, (RG_T)b };
    rg_parallel_for(n, 16, rg_threads_for(n, RG_F(act_grain)(kind), n_threads),
                    RG_F(act_forward_range), &c);
}

void RG_F(rg_activation_backward)(RG_T *dx, const RG_T *dy, const RG_T *x, const RG_T *y, int64_t n,
                                  int kind, double a, double b, int n_threads)
{
    RG_F(act_ctx) c = { dx, dy, x, y, kind, (RG_T)a, (RG_T)b };
    rg_parallel_for(n, 16, rg_threads_for(n, RG_F(act_grain)(kind), n_threads),
                    RG_F(act_backward_range), &c);
}

/* ---- activations with a second input array (RReLU slopes, NoisyReLU noise) ---- */
/* out[i] from u[i] (x or dy), the per-element w[i] and x[i]; see activations.c. */
RG_INLINE void RG_CAT(RG_F(aux_chunk), _body)(RG_T *restrict out, const RG_T *restrict u,
                                              const RG_T *restrict x, const RG_T *restrict w,
                                              int64_t n, int op)
{
    switch (op) {
    case RG_AUX_RRELU_FWD:
        _Pragma("omp simd")
        for (int64_t i = 0; i < n; ++i) out[i] = x[i] > 0 ? x[i] : w[i] * x[i];
        break;
    case RG_AUX_RRELU_BWD:
        _Pragma("omp simd")
        for (int64_t i = 0; i < n; ++i) out[i] = x[i] > 0 ? u[i] : w[i] * u[i];
        break;
    case RG_AUX_NOISY_FWD:
        _Pragma("omp simd")
        for (int64_t i = 0; i < n; ++i) {
            const RG_T t = x[i] + w[i] * RG_F(rg_sqrt)(RG_F(rg_sigmoid)(x[i]));
            out[i] = t < 0 ? RG_C(0) : t;   /* NaN passes through, as in NumPy */
        }
        break;
    default: break;
    }
}

RG_MULTIVERSION_WIDE(RG_F(aux_chunk),
                (RG_T *restrict out, const RG_T *restrict u, const RG_T *restrict x,
                 const RG_T *restrict w, int64_t n, int op),
                (out, u, x, w, n, op))

typedef struct {
    RG_T *out;
    const RG_T *u, *x, *w;
    int op;
} RG_F(aux_ctx);

static void RG_F(aux_range)(void *p, int64_t begin, int64_t end, int t)
{
    const RG_F(aux_ctx) *c = p;
    RG_F(aux_chunk)(c->out + begin, c->u + begin, c->x + begin, c->w + begin, end - begin, c->op);
}

static void RG_F(aux_run)(RG_F(aux_ctx) *c, int64_t n, int64_t grain, int n_threads)
{
    rg_parallel_for(n, 16, rg_threads_for(n, grain, n_threads), RG_F(aux_range), c);
}

void RG_F(rg_rrelu_forward)(RG_T *y, const RG_T *x, const RG_T *slopes, int64_t n, int n_threads)
{
    RG_F(aux_ctx) c = { y, x, x, slopes, RG_AUX_RRELU_FWD };
    RG_F(aux_run)(&c, n, RG_GRAIN_CHEAP, n_threads);
}

void RG_F(rg_rrelu_backward)(RG_T *dx, const RG_T *dy, const RG_T *x, const RG_T *slopes, int64_t n,
                             int n_threads)
{
    RG_F(aux_ctx) c = { dx, dy, x, slopes, RG_AUX_RRELU_BWD };
    RG_F(aux_run)(&c, n, RG_GRAIN_CHEAP, n_threads);
}

void RG_F(rg_noisy_relu_forward)(RG_T *y, const RG_T *x, const RG_T *noise, int64_t n, int n_threads)
{
    RG_F(aux_ctx) c = { y, x, x, noise, RG_AUX_NOISY_FWD };
    RG_F(aux_run)(&c, n, RG_GRAIN_TRANSCEND, n_threads);
}

/* ---- PReLU: slopes per channel (last axis) -------------------------------------- */

/* Rows [0, rows) of x viewed as (rows, channels). */
RG_INLINE void RG_CAT(RG_F(prelu_forward_chunk), _body)(RG_T *restrict y, const RG_T *restrict x,
                                                        const RG_T *restrict alpha, int64_t rows,
                                                        int64_t channels)
{
    if (channels == 1) {
        const RG_T a = alpha[0];
        _Pragma("omp simd")
        for (int64_t i = 0; i < rows; ++i) y[i] = x[i] > 0 ? x[i] : a * x[i];
        return;
    }
    for (int64_t r = 0; r < rows; ++r) {
        const RG_T *xr = x + r * channels;
        RG_T *yr = y + r * channels;
        _Pragma("omp simd")
        for (int64_t c = 0; c < channels; ++c) yr[c] = xr[c] > 0 ? xr[c] : alpha[c] * xr[c];
    }
}

/* dx for rows [0, rows), and acc[c] += sum over those rows of dy z where z <= 0. */
RG_INLINE void RG_CAT(RG_F(prelu_backward_chunk), _body)(RG_T *restrict dx, double *restrict acc,
                                                         const RG_T *restrict dy,
                                                         const RG_T *restrict x,
                                                         const RG_T *restrict alpha, int64_t rows,
                                                         int64_t channels)
{
    if (channels == 1) {
        const RG_T a = alpha[0];
        double sum = 0.0;
        _Pragma("omp simd reduction(+:sum)")
        for (int64_t i = 0; i < rows; ++i) {
            const int pos = x[i] > 0;
            dx[i] = pos ? dy[i] : a * dy[i];
            sum += pos ? 0.0 : (double)dy[i] * (double)x[i];
        }
        acc[0] += sum;
        return;
    }
    for (int64_t r = 0; r < rows; ++r) {
        const RG_T *xr = x + r * channels, *gr = dy + r * channels;
        RG_T *dxr = dx + r * channels;
        _Pragma("omp simd")
        for (int64_t c = 0; c < channels; ++c) {
            const int pos = xr[c] > 0;
            dxr[c] = pos ? gr[c] : alpha[c] * gr[c];
            acc[c] += pos ? 0.0 : (double)gr[c] * (double)xr[c];
        }
    }
}

RG_MULTIVERSION(RG_F(prelu_forward_chunk),
                (RG_T *restrict y, const RG_T *restrict x, const RG_T *restrict alpha,
                 int64_t rows, int64_t channels),
                (y, x, alpha, rows, channels))
RG_MULTIVERSION(RG_F(prelu_backward_chunk),
                (RG_T *restrict dx, double *restrict acc, const RG_T *restrict dy,
                 const RG_T *restrict x, const RG_T *restrict alpha, int64_t rows, int64_t channels),
                (dx, acc, dy, x, alpha, rows, channels))

typedef struct {
    RG_T *out;
    const RG_T *x, *alpha;
    int64_t channels;
} RG_F(prelu_ctx);

static void RG_F(prelu_forward_range)(void *p, int64_t begin, int64_t end, int t)
{
    const RG_F(prelu_ctx) *c = p;
    RG_F(prelu_forward_chunk)(c->out + begin * c->channels, c->x + begin * c->channels, c->alpha,
                              end - begin, c->channels);
}

void RG_F(rg_prelu_forward)(RG_T *y, const RG_T *x, const RG_T *alpha, int64_t rows, int64_t channels,
                            int n_threads)
{
    RG_F(prelu_ctx) c = { y, x, alpha, channels };
    rg_parallel_for(rows, 16, rg_threads_for(rows * channels, RG_GRAIN_CHEAP, n_threads),
                    RG_F(prelu_forward_range), &c);
}

typedef struct {
    RG_T *dx;
    double *work;
    const RG_T *dy, *x, *alpha;
    int64_t rows, channels, groups;
} RG_F(prelu_bwd_ctx);

/* Reduction groups [g0, g1): group g owns rows [rows g / G, rows (g+1) / G) and the
 * partial sums work[g * channels ...]. */
static void RG_F(prelu_backward_groups)(void *p, int64_t g0, int64_t g1, int t)
{
    const RG_F(prelu_bwd_ctx) *c = p;
    const int64_t ch = c->channels;
    for (int64_t g = g0; g < g1; ++g) {
        const int64_t r0 = c->rows * g / c->groups, r1 = c->rows * (g + 1) / c->groups;
        double *acc = c->work + g * ch;
        for (int64_t k = 0; k < ch; ++k) acc[k] = 0.0;
        RG_F(prelu_backward_chunk)(c->dx + r0 * ch, acc, c->dy + r0 * ch, c->x + r0 * ch,
                                   c->alpha, r1 - r0, ch);
    }
}

/* PReLU backward (see retrograd.h): dx = dy where z > 0 else alpha[c] dy, and
 * dalpha[c] = sum of dy z over the elements of channel c with z <= 0.
 * Threading: the rows form rg_groups(rows) contiguous groups whatever the thread count;
 * each group accumulates in double into its own row of `work`, the threads
 * (min(n_threads, elements / RG_GRAIN_CHEAP)) take contiguous runs of groups, and the
 * partial sums are added in group order: the same bits for every thread count.
 * Workspace: work, RG_REDUCE_GROUPS * channels doubles. */
void RG_F(rg_prelu_backward)(RG_T *dx, RG_T *dalpha, const RG_T *dy, const RG_T *x, const RG_T *alpha,
                             double *work, int64_t rows, int64_t channels, int n_threads)
{
    RG_F(prelu_bwd_ctx) c = { dx, work, dy, x, alpha, rows, channels, rg_groups(rows) };
    rg_parallel_for(c.groups, 1, rg_threads_for(rows * channels, RG_GRAIN_CHEAP, n_threads),
                    RG_F(prelu_backward_groups), &c);
    for (int64_t k = 0; k < channels; ++k) {
        double s = 0.0;
        for (int64_t g = 0; g < c.groups; ++g) s += work[g * channels + k];
        dalpha[k] = (RG_T)s;
    }
}

#undef RG_F
#undef RG_C
#undef RG_MAP
#undef RG_MAP_GRAD_X
#undef RG_MAP_GRAD_Y
