/*
 * activations_impl.h -- the activation kernels for one dtype.  Included by
 * activations.c once with RG_T=float, RG_SFX=f32 and once with RG_T=double,
 * RG_SFX=f64, so each loop is written once.
 */
#define RG_F(name) RG_CAT(name, RG_CAT(_, RG_SFX))

/* y[i] = expr(v) with v = x[i] */
#define RG_MAP(expr)                                  \
    _Pragma("omp simd")                               \
    for (int64_t i = 0; i < n; ++i) {                 \
        const RG_T v = x[i];                          \
        y[i] = (expr);                                \
    }
/* dx[i] = dy[i] * deriv, where deriv may use v = x[i] and/or s = y[i] */
#define RG_MAP_GRAD_X(deriv)                          \
    _Pragma("omp simd")                               \
    for (int64_t i = 0; i < n; ++i) {                 \
        const RG_T v = x[i];                          \
        dx[i] = dy[i] * (deriv);                      \
    }
#define RG_MAP_GRAD_Y(deriv)                          \
    _Pragma("omp simd")                               \
    for (int64_t i = 0; i < n; ++i) {                 \
        const RG_T s = y[i];                          \
        dx[i] = dy[i] * (deriv);                      \
    }

RG_INLINE void RG_CAT(RG_F(act_forward_chunk), _body)(RG_T *restrict y, const RG_T *restrict x, int64_t n,
                                            int kind, RG_T a, RG_T b)
{
    switch (kind) {
    case RG_ACT_RELU:       RG_MAP(v > 0 ? v : (RG_T)0); break;
    case RG_ACT_LEAKY_RELU: RG_MAP(v > 0 ? v : a * v); break;
    case RG_ACT_SIGMOID:    RG_MAP(RG_F(rg_sigmoid)(v)); break;
    default: break;
    }
}

RG_INLINE void RG_CAT(RG_F(act_backward_chunk), _body)(RG_T *restrict dx, const RG_T *restrict dy,
                                             const RG_T *restrict x, const RG_T *restrict y,
                                             int64_t n, int kind, RG_T a, RG_T b)
{
    switch (kind) {
    case RG_ACT_RELU:       RG_MAP_GRAD_X(v > 0 ? (RG_T)1 : (RG_T)0); break;
    case RG_ACT_LEAKY_RELU: RG_MAP_GRAD_X(v > 0 ? (RG_T)1 : a); break;
    case RG_ACT_SIGMOID:    RG_MAP_GRAD_Y(s * ((RG_T)1 - s)); break;
    default: break;
    }
}

RG_MULTIVERSION(RG_F(act_forward_chunk),
                (RG_T *restrict y, const RG_T *restrict x, int64_t n, int kind, RG_T a, RG_T b),
                (y, x, n, kind, a, b))
RG_MULTIVERSION(RG_F(act_backward_chunk),
                (RG_T *restrict dx, const RG_T *restrict dy, const RG_T *restrict x,
                 const RG_T *restrict y, int64_t n, int kind, RG_T a, RG_T b),
                (dx, dy, x, y, n, kind, a, b))

typedef struct {
    RG_T *out;
    const RG_T *dy, *x, *y;
    int kind;
    RG_T a, b;
} RG_F(act_ctx);

static void RG_F(act_forward_range)(void *p, int64_t begin, int64_t end)
{
    const RG_F(act_ctx) *c = p;
    RG_F(act_forward_chunk)(c->out + begin, c->x + begin, end - begin, c->kind, c->a, c->b);
}

static void RG_F(act_backward_range)(void *p, int64_t begin, int64_t end)
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
    rg_parallel_range(n, RG_F(act_grain)(kind), n_threads, RG_F(act_forward_range), &c);
}

void RG_F(rg_activation_backward)(RG_T *dx, const RG_T *dy, const RG_T *x, const RG_T *y, int64_t n,
                                  int kind, double a, double b, int n_threads)
{
    RG_F(act_ctx) c = { dx, dy, x, y, kind, (RG_T)a, (RG_T)b };
    rg_parallel_range(n, RG_F(act_grain)(kind), n_threads, RG_F(act_backward_range), &c);
}

#undef RG_F
#undef RG_MAP
#undef RG_MAP_GRAD_X
#undef RG_MAP_GRAD_Y
