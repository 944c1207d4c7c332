/*
 * runtime.c -- thread pool front-end (OpenMP), CPU feature detection and the
 * build facts that retrograd.show_config() reports.
 *
 * Shared state: none but the two CPU-feature caches below (written with the same
 * value by whichever thread gets there first, through relaxed atomics).  Thread
 * counts arrive as arguments, never through OpenMP's global settings, so Python
 * threads calling kernels at the same time do not affect each other.
 */
#include <stdlib.h>
#include <string.h>
#include "rg_internal.h"
#ifdef _OPENMP
#include <omp.h>
#endif

#ifndef RG_COMPILER_ID
#define RG_COMPILER_ID "unknown"
#endif

int rg_openmp_enabled(void)
{
#ifdef _OPENMP
    return 1;
#else
    return 0;
#endif
}

int rg_default_num_threads(void)
{
#ifdef _OPENMP
    return omp_get_max_threads();
#else
    return 1;
#endif
}

/* The highest code path allowed by RETROGRAD_SIMD ("baseline", "avx2"; unset or
 * anything else: no cap).  It lets the tests run every path on one machine. */
static int rg_simd_cap(void)
{
    const char *cap = getenv("RETROGRAD_SIMD");
    if (cap && strcmp(cap, "baseline") == 0) return RG_SIMD_BASELINE;
    if (cap && strcmp(cap, "avx2") == 0) return RG_SIMD_AVX2_FMA;
    return RG_SIMD_AVX512;
}

int rg_cpu_has_avx2_fma(void)
{
#if RG_HAVE_AVX2_PATH
    static int cached = -1;   /* every thread computes the same value */
    int has = __atomic_load_n(&cached, __ATOMIC_RELAXED);
    if (has < 0) {
        __builtin_cpu_init();
        has = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
              rg_simd_cap() >= RG_SIMD_AVX2_FMA;
        __atomic_store_n(&cached, has, __ATOMIC_RELAXED);
    }
    return has;
#else
    return 0;
#endif
}

int rg_cpu_has_avx512(void)
{
#if RG_HAVE_AVX2_PATH
    static int cached = -1;   /* every thread computes the same value */
    int has = __atomic_load_n(&cached, __ATOMIC_RELAXED);
    if (has < 0) {
        __builtin_cpu_init();
        has = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
              __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512bw") &&
              rg_simd_cap() >= RG_SIMD_AVX512;
        __atomic_store_n(&cached, has, __ATOMIC_RELAXED);
    }
    return has;
#else
    return 0;
#endif
}

int rg_simd_level(void)
{
    if (RG_HAVE_AVX512_PATH && rg_cpu_has_avx512()) return RG_SIMD_AVX512;
    return rg_cpu_has_avx2_fma() ? RG_SIMD_AVX2_FMA : RG_SIMD_BASELINE;
}

const char *rg_compiler(void) { return RG_COMPILER_ID; }

int rg_threads_for(int64_t work, int64_t grain, int n_threads)
{
    int64_t t = grain > 0 ? work / grain : work;
    if (t > n_threads) t = n_threads;
    return t < 1 ? 1 : (int)t;
}

/* The only OpenMP parallel region of the library (rg_internal.h, "Threading"). */
void rg_parallel(int nt, rg_team_fn fn, void *ctx)
{
    if (nt <= 1) {
        fn(ctx, 0, 1);
        return;
    }
#ifdef _OPENMP
    #pragma omp parallel num_threads(nt)
    fn(ctx, omp_get_thread_num(), omp_get_num_threads());
#else
    fn(ctx, 0, 1);
#endif
}

typedef struct {
    int64_t items, align;
    rg_range_fn fn;
    void *ctx;
} rg_for_ctx;

static void rg_for_block(void *p, int t, int T)
{
    const rg_for_ctx *c = p;
    int64_t begin, end;
    rg_block(c->items, c->align, t, T, &begin, &end);
    if (begin < end) c->fn(c->ctx, begin, end, t);
}

void rg_parallel_for(int64_t items, int64_t align, int nt, rg_range_fn fn, void *ctx)
{
    if (items <= 0) return;
    const int64_t blocks = (items + align - 1) / align;
    if (nt > blocks) nt = (int)blocks;
    if (nt <= 1) {
        fn(ctx, 0, items, 0);
        return;
    }
    rg_for_ctx c = { items, align, fn, ctx };
    rg_parallel(nt, rg_for_block, &c);
}

/* thread 0 of the team (the caller) writes the team's size into the caller's int */
static void rg_team_size_fn(void *ctx, int t, int T)
{
    if (t == 0) *(int *)ctx = T;
}

/* The size of the OpenMP team that rg_parallel starts for a kernel called with n_threads
 * whose problem is large enough for all of them; every kernel asks OpenMP the same way,
 * through rg_parallel.  It is what OpenMP really gives, fewer threads than asked under
 * OMP_THREAD_LIMIT or OMP_DYNAMIC.  The tests use it to see that a thread count set
 * between training steps reaches OpenMP.  No state is kept, so concurrent callers share
 * nothing. */
int rg_team_size(int n_threads)
{
    int size = 1;
    rg_parallel(n_threads, rg_team_size_fn, &size);
    return size;
}
