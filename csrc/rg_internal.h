/*
 * rg_internal.h -- helpers shared by the kernel files; not part of the public API.
 *
 * Threading: rg_parallel_range splits [0, n) into one contiguous, statically
 * assigned block per thread (block starts aligned to 16 elements) and calls fn
 * on each block.  Small problems (n < 2 * grain) run on the calling thread,
 * because starting an OpenMP team costs more than a tiny loop.  A given thread
 * count always produces the same split, so results are reproducible.
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

/* Inside a parallel region: the calling thread's index and the team's size (0 and 1 when
 * built without OpenMP). */
#ifdef _OPENMP
#include <omp.h>
#define RG_THREAD_ID() omp_get_thread_num()
#define RG_TEAM_SIZE() omp_get_num_threads()
#else
#define RG_THREAD_ID() 0
#define RG_TEAM_SIZE() 1
#endif

typedef void (*rg_range_fn)(void *ctx, int64_t begin, int64_t end);

/* Run fn(ctx, begin, end) over [0, n) on up to n_threads threads. */
void rg_parallel_range(int64_t n, int64_t grain, int n_threads, rg_range_fn fn, void *ctx);

/* Number of threads worth using for n items of which each thread should get at
 * least `grain`: min(n_threads, n / grain), at least 1. */
int rg_threads_for(int64_t n, int64_t grain, int n_threads);

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
