/*
 * rg_internal.h -- helpers shared by the kernel files; not part of the public API.
 *
 * Threading: every kernel runs its threads through the one helper below; no kernel
 * file holds an OpenMP directive other than `omp simd` (and `omp barrier` inside a
 * team function).  Its rules:
 *   - the thread count is decided by the work, never by the data: rg_threads_for gives
 *     min(n_threads, work / grain), at least 1, so a problem below two grains stays on
 *     the calling thread (starting a team costs more than a small loop);
 *   - schedules are static: thread t of T takes the contiguous block rg_block gives
 *     (the same split for the same T, no work stealing);
 *   - per-thread buffers are indexed by t (rg_parallel passes it);
 *   - a reduction across threads sums per-group partial results where the groups are
 *     fixed by the problem's size alone (at most RG_REDUCE_GROUPS of them, see
 *     rg_groups), then adds them in group order: threads take whole groups, so the
 *     result is the same bits for every thread count.
 * rg_parallel(nt, fn, ctx) runs fn(ctx, t, T) on a team of nt threads (on the calling
 * thread alone, without touching OpenMP, when nt <= 1); rg_parallel_for is the common
 * case of one block of items per thread.
 *
 * ISA dispatch: RG_MULTIVERSION compiles one always-inline body twice, once for
 * the x86-64 baseline and once with AVX2+FMA, and picks at run time with
 * __builtin_cpu_supports.  (GCC's target_clones does not vectorise the clone's
 * inlined callees, a plain target attribute on a wrapper does.)
 */
#ifndef RG_INTERNAL_H
#define RG_INTERNAL_H

#include <stdint.h>
#include <stddef.h>
#include "retrograd.h"

#define RG_INLINE static inline __attribute__((always_inline))
#define RG_CAT_(a, b) a##b
#define RG_CAT(a, b) RG_CAT_(a, b)

/* ---- threading ---------------------------------------------------------------- */
/* Number of threads worth using for `work` units of which each thread should get at
 * least `grain`: min(n_threads, work / grain), at least 1. */
int rg_threads_for(int64_t work, int64_t grain, int n_threads);

/* Thread t of T: its block [*begin, *end) of n items, whole multiples of `align` items
 * (the last block takes the remainder), contiguous and in thread order. */
RG_INLINE void rg_block(int64_t n, int64_t align, int t, int T, int64_t *begin, int64_t *end)
{
    const int64_t units = (n + align - 1) / align;
    const int64_t b = units * t / T * align, e = units * (t + 1) / T * align;
    *begin = b < n ? b : n;
    *end = e < n ? e : n;
}

typedef void (*rg_team_fn)(void *ctx, int t, int T);
/* fn(ctx, t, T) for t in [0, T) on a team of T <= nt threads (OpenMP may start fewer);
 * nt <= 1: fn(ctx, 0, 1) on the calling thread.  fn may synchronise with rg_barrier(). */
void rg_parallel(int nt, rg_team_fn fn, void *ctx);

#ifdef _OPENMP
#define rg_barrier() _Pragma("omp barrier")
#else
#define rg_barrier() ((void)0)
#endif

typedef void (*rg_range_fn)(void *ctx, int64_t begin, int64_t end, int t);
/* fn(ctx, begin, end, t) over [0, items) on up to nt threads, thread t taking its
 * rg_block(items, align) (no more threads than blocks; empty blocks are skipped). */
void rg_parallel_for(int64_t items, int64_t align, int nt, rg_range_fn fn, void *ctx);

/* Fixed-order reductions: groups of a problem of n items, independent of the thread
 * count, so partial sums per group added in group order give the same bits on any
 * number of threads (which take whole groups).  At most RG_REDUCE_GROUPS (retrograd.h)
 * threads help. */
RG_INLINE int64_t rg_groups(int64_t n) { return n < RG_REDUCE_GROUPS ? n : RG_REDUCE_GROUPS; }

/* 1 when the CPU runs the AVX2+FMA code paths. */
int rg_cpu_has_avx2_fma(void);
/* 1 when the CPU has AVX-512 F/DQ/VL/BW (used by RG_MULTIVERSION_WIDE). */
int rg_cpu_has_avx512(void);


#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define RG_HAVE_AVX2_PATH 1
/* Define name##_avx2 and name##_base from one body `name##_body(args)` and a
 * dispatcher `name(params)`.  `proto` is the parenthesised parameter list,
 * `args` the parenthesised argument list. */
#define RG_MULTIVERSION(name, proto, args)                                        \
    __attribute__((target("avx2,fma"))) static void RG_CAT(name, _avx2) proto {   \
        RG_CAT(name, _body) args;                                                 \
    }                                                                             \
    static void RG_CAT(name, _base) proto { RG_CAT(name, _body) args; }           \
    static void name proto {                                                      \
        if (rg_cpu_has_avx2_fma()) RG_CAT(name, _avx2) args;                      \
        else RG_CAT(name, _base) args;                                            \
    }
#else
#define RG_HAVE_AVX2_PATH 0
#define RG_MULTIVERSION(name, proto, args) \
    static void name proto { RG_CAT(name, _body) args; }
#endif

/* RG_MULTIVERSION_WIDE: RG_MULTIVERSION plus an AVX-512 clone with 512-bit
 * vectors, for the loops of transcendental functions.  Those are compute-bound
 * at 8 lanes (a float32 sigmoid is ~25 vector instructions per 8 values; two
 * threads would still be below the memory bandwidth), so 16 lanes make them
 * 1.4-2x faster where the CPU has AVX-512 (the same per-element arithmetic, so
 * the same results).  Memory-bound loops gain nothing from it, so the rest of
 * the library keeps RG_MULTIVERSION.  GCC only: the
 * prefer-vector-width target option is what makes it use zmm registers. */
#if RG_HAVE_AVX2_PATH && defined(__GNUC__) && !defined(__clang__)
#define RG_HAVE_AVX512_PATH 1
#define RG_MULTIVERSION_WIDE(name, proto, args)                                    \
    __attribute__((target("avx512f,avx512dq,avx512vl,avx512bw,avx2,fma,"           \
                          "prefer-vector-width=512")))                            \
    static void RG_CAT(name, _avx512) proto { RG_CAT(name, _body) args; }          \
    __attribute__((target("avx2,fma"))) static void RG_CAT(name, _avx2) proto {    \
        RG_CAT(name, _body) args;                                                  \
    }                                                                              \
    static void RG_CAT(name, _base) proto { RG_CAT(name, _body) args; }            \
    static void name proto {                                                       \
        if (rg_cpu_has_avx512()) RG_CAT(name, _avx512) args;                       \
        else if (rg_cpu_has_avx2_fma()) RG_CAT(name, _avx2) args;                  \
        else RG_CAT(name, _base) args;                                             \
    }
#else
#define RG_HAVE_AVX512_PATH 0
#define RG_MULTIVERSION_WIDE(name, proto, args) RG_MULTIVERSION(name, proto, args)
#endif

#endif /* RG_INTERNAL_H */
