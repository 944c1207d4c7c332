/*
 * optimizers_impl.h -- the fused optimizer kernels for one dtype.  Included by
 * optimizers.c once with RG_T=float, RG_SFX=f32 and once with RG_T=double,
 * RG_SFX=f64, so each update loop is written once.
 */
#define RG_F(name) RG_CAT(name, RG_CAT(_, RG_SFX))
#define RG_C(value) ((RG_T)(value))

/* One update over n elements of one array.  p is the parameter, s1/s2 the
 * state arrays (NULL where the kind has fewer), g the gradient, c the constants
 * optim_constants forms for the kind.  Each element of every
 * array is loaded once and stored once; nothing else touches memory. */
RG_INLINE void RG_CAT(RG_F(optim_chunk), _body)(RG_T *restrict p, RG_T *restrict s1,
                                                RG_T *restrict s2, const RG_T *restrict g,
                                                int64_t n, int kind, const RG_T *restrict c)
{
    const RG_T c0 = c[0], c1 = c[1], c2 = c[2], c3 = c[3], c4 = c[4], c5 = c[5];
    switch (kind) {
    case RG_OPT_SGD:       /* c: lr */
        _Pragma("omp simd")
        for (int64_t i = 0; i < n; ++i) p[i] -= c0 * g[i];
        break;
    case RG_OPT_MOMENTUM:  /* c: lr, mu */
        _Pragma("omp simd")
        for (int64_t i = 0; i < n; ++i) {
            const RG_T v = c1 * s1[i] - c0 * g[i];
            s1[i] = v;
            p[i] += v;
        }
        break;
    case RG_OPT_NAG:       /* c: lr, mu */
        _Pragma("omp simd")
        for (int64_t i = 0; i < n; ++i) {
            const RG_T lg = c0 * g[i];
            const RG_T v = c1 * s1[i] - lg;
            s1[i] = v;
            p[i] += c1 * v - lg;
        }
        break;
    case RG_OPT_ADAGRAD:   /* c: lr, eps */
        _Pragma("omp simd")
        for (int64_t i = 0; i < n; ++i) {
            const RG_T gi = g[i];
            const RG_T acc = s1[i] + gi * gi;
            s1[i] = acc;
            p[i] -= c0 * gi / (RG_F(rg_sqrt)(acc) + c1);
        }
        break;
    case RG_OPT_RMSPROP:   /* c: lr, rho, 1 - rho, eps */
        _Pragma("omp simd")
        for (int64_t i = 0; i < n; ++i) {
            const RG_T gi = g[i];
            const RG_T acc = c1 * s1[i] + c2 * (gi * gi);
            s1[i] = acc;
            p[i] -= c0 * gi / (RG_F(rg_sqrt)(acc) + c3);
        }
        break;
    case RG_OPT_ADAM:      /* c: lr / bc1, b1, 1 - b1, b2, 1 - b2, eps; c6 = 1 / bc2 */
    case RG_OPT_ADAMW: {   /* the same, after p *= 1 - lr wd (c7) */
        const RG_T inv_bc2 = c[6], decay = kind == RG_OPT_ADAMW ? c[7] : RG_C(1);
        _Pragma("omp simd")
        for (int64_t i = 0; i < n; ++i) {
            const RG_T gi = g[i];
            const RG_T m = c1 * s1[i] + c2 * gi;
            const RG_T v = c3 * s2[i] + c4 * (gi * gi);
            s1[i] = m;
            s2[i] = v;
            p[i] = decay * p[i] - c0 * m / (RG_F(rg_sqrt)(v * inv_bc2) + c5);
        }
        break;
    }
    case RG_OPT_RADAM_SGD: /* c: lr / bc1, b1, 1 - b1, b2, 1 - b2 (rho_t <= 5: no rectification) */
        _Pragma("omp simd")
        for (int64_t i = 0; i < n; ++i) {
            const RG_T gi = g[i];
            const RG_T m = c1 * s1[i] + c2 * gi;
            s1[i] = m;
            s2[i] = c3 * s2[i] + c4 * (gi * gi);
            p[i] -= c0 * m;
        }
        break;
    case RG_OPT_ADAMAX:    /* c: lr_t, b1, 1 - b1, b2, eps */
        _Pragma("omp simd")
        for (int64_t i = 0; i < n; ++i) {
            const RG_T gi = g[i];
            const RG_T m = c1 * s1[i] + c2 * gi;
            const RG_T decayed = c3 * s2[i], ag = gi < 0 ? -gi : gi;
            const RG_T u = decayed > ag ? decayed : ag;
            s1[i] = m;
            s2[i] = u;
            p[i] -= c0 * m / (u + c4);
        }
        break;
    case RG_OPT_NADAM: {   /* c: coef_g, b1, 1 - b1, b2, 1 - b2, eps; c6 = 1 / bc2, c7 = coef_m */
        const RG_T inv_bc2 = c[6], coef_m = c[7];
        _Pragma("omp simd")
        for (int64_t i = 0; i < n; ++i) {
            const RG_T gi = g[i];
            const RG_T m = c1 * s1[i] + c2 * gi;
            const RG_T v = c3 * s2[i] + c4 * (gi * gi);
            s1[i] = m;
            s2[i] = v;
            p[i] -= (c0 * gi + coef_m * m) / (RG_F(rg_sqrt)(v * inv_bc2) + c5);
        }
        break;
    }
    case RG_OPT_LION:      /* c: lr, b1, 1 - b1, b2, 1 - b2, wd */
        _Pragma("omp simd")
        for (int64_t i = 0; i < n; ++i) {
            const RG_T gi = g[i], mi = s1[i];
            const RG_T u = c1 * mi + c2 * gi;
            /* u == u is false for NaN only: a NaN passes through, as np.sign does */
            const RG_T sign = u > 0 ? RG_C(1) : (u < 0 ? RG_C(-1) : (u == u ? RG_C(0) : u));
            p[i] -= c0 * (sign + c5 * p[i]);
            s1[i] = c3 * mi + c4 * gi;
        }
        break;
    default: break;
    }
}

RG_MULTIVERSION(RG_F(optim_chunk),
                (RG_T *restrict p, RG_T *restrict s1, RG_T *restrict s2, const RG_T *restrict g,
                 int64_t n, int kind, const RG_T *restrict c),
                (p, s1, s2, g, n, kind, c))

typedef struct {
    RG_T *const *p, *const *s1, *const *s2;
    const RG_T *const *g;
    const int64_t *sizes;
    int64_t n_arrays;
    int kind;
    RG_T c[RG_OPT_MAX_SCALARS];
} RG_F(optim_ctx);

/* Elements [begin, end) of the concatenation of all arrays: walk the arrays that
 * overlap the range and update the overlapping part of each. */
static void RG_F(optim_range)(void *ctx, int64_t begin, int64_t end, int t)
{
    const RG_F(optim_ctx) *c = ctx;
    int64_t offset = 0;
    for (int64_t a = 0; a < c->n_arrays && offset < end; ++a) {
        const int64_t size = c->sizes[a];
        const int64_t lo = begin > offset ? begin : offset;
        const int64_t hi = end < offset + size ? end : offset + size;
        if (lo < hi) {
            const int64_t k = lo - offset;
            RG_F(optim_chunk)(c->p[a] + k, c->s1 ? c->s1[a] + k : NULL,
                              c->s2 ? c->s2[a] + k : NULL, c->g[a] + k, hi - lo, c->kind, c->c);
        }
        offset += size;
    }
}

/* Run one update kind over every array: one parallel region for the whole list. */
static void RG_F(optim_run)(RG_F(optim_ctx) *c, int n_threads)
{
    int64_t total = 0;
    for (int64_t a = 0; a < c->n_arrays; ++a) total += c->sizes[a];
    rg_parallel_for(total, 16, rg_threads_for(total, RG_OPT_GRAIN(c->kind), n_threads),
                    RG_F(optim_range), c);
}

/* The moment constants shared by the Adam family: c1..c4 = b1, 1 - b1, b2, 1 - b2. */
static void RG_F(optim_moments)(RG_F(optim_ctx) *c, double beta_1, double beta_2)
{
    c->c[1] = RG_C(beta_1);
    c->c[2] = RG_C(1.0 - beta_1);
    c->c[3] = RG_C(beta_2);
    c->c[4] = RG_C(1.0 - beta_2);
}

/* The constants c[] of each update, formed in double and rounded once to RG_T, from the
 * scalars in the order of the kernel table's OPTIMIZERS entry (retrograd.h). */
static void RG_F(optim_constants)(RG_F(optim_ctx) *c, const double *s)
{
    RG_T *k = c->c;
    switch (c->kind) {
    case RG_OPT_SGD:        /* lr */
        k[0] = RG_C(s[0]);
        break;
    case RG_OPT_MOMENTUM:   /* lr, momentum */
    case RG_OPT_NAG:
        k[0] = RG_C(s[0]);
        k[1] = RG_C(s[1]);
        break;
    case RG_OPT_ADAGRAD:    /* lr, eps */
        k[0] = RG_C(s[0]);
        k[1] = RG_C(s[1]);
        break;
    case RG_OPT_RMSPROP:    /* lr, rho, eps */
        k[0] = RG_C(s[0]);
        k[1] = RG_C(s[1]);
        k[2] = RG_C(1.0 - s[1]);
        k[3] = RG_C(s[2]);
        break;
    case RG_OPT_ADAM:       /* lr, b1, b2, eps, bc1, bc2 */
        RG_F(optim_moments)(c, s[1], s[2]);
        k[0] = RG_C(s[0] / s[4]);
        k[5] = RG_C(s[3]);
        k[6] = RG_C(1.0 / s[5]);
        break;
    case RG_OPT_ADAMAX:     /* lr_t, b1, b2, eps */
        RG_F(optim_moments)(c, s[1], s[2]);
        k[0] = RG_C(s[0]);
        k[4] = RG_C(s[3]);   /* AdaMax has no (1 - b2) term */
        break;
    case RG_OPT_NADAM:      /* coef_g, coef_m, b1, b2, bc2, eps */
        RG_F(optim_moments)(c, s[2], s[3]);
        k[0] = RG_C(s[0]);
        k[5] = RG_C(s[5]);
        k[6] = RG_C(1.0 / s[4]);
        k[7] = RG_C(s[1]);
        break;
    case RG_OPT_ADAMW:      /* lr, b1, b2, eps, wd, bc1, bc2 */
        RG_F(optim_moments)(c, s[1], s[2]);
        k[0] = RG_C(s[0] / s[5]);
        k[5] = RG_C(s[3]);
        k[6] = RG_C(1.0 / s[6]);
        k[7] = RG_C(1.0 - s[0] * s[4]);
        break;
    case RG_OPT_RADAM:      /* lr, b1, b2, eps, bc1, bc2, rect */
        /* rectified: torch.optim.RAdam's form, p -= (lr rect sqrt(bc2) / bc1) m / (sqrt(v) +
         * eps), which is Adam's loop with the step folded into c0 and 1 / bc2 replaced by 1
         * (so eps is added to sqrt(v), not to sqrt(v / bc2)); otherwise plain momentum SGD
         * on m / bc1 (v is still accumulated) */
        RG_F(optim_moments)(c, s[1], s[2]);
        c->kind = s[6] > 0 ? RG_OPT_ADAM : RG_OPT_RADAM_SGD;
        k[0] = RG_C(s[6] > 0 ? s[0] * s[6] * sqrt(s[5]) / s[4] : s[0] / s[4]);
        k[5] = RG_C(s[3]);
        k[6] = RG_C(1.0);
        break;
    case RG_OPT_LION:       /* lr, b1, b2, wd */
        RG_F(optim_moments)(c, s[1], s[2]);
        k[0] = RG_C(s[0]);
        k[5] = RG_C(s[3]);
        break;
    default: break;
    }
}

void RG_F(rg_optim_step)(RG_T *const *params, RG_T *const *s1, RG_T *const *s2,
                         const RG_T *const *grads, const int64_t *sizes, int64_t n_arrays,
                         int kind, const double *scalars, int n_threads)
{
    RG_F(optim_ctx) c = { params, s1, s2, grads, sizes, n_arrays, kind, { 0 } };
    RG_F(optim_constants)(&c, scalars);
    RG_F(optim_run)(&c, n_threads);
}

#undef RG_F
#undef RG_C
