/*
 * pool.c -- 2-D pooling of NHWC images, forward and backward.
 *
 * x (N, H, W, C), windows of ph x pw taken every sh rows and sw columns, no
 * padding:  OH = (H - ph) / sh + 1,  OW = (W - pw) / sw + 1 (computed once, by the
 * caller, and passed in; (OH - 1) sh + ph <= H is all the kernels rely on);  y, dy,
 * indices (N, OH, OW, C).  Window (i, j) covers x[n, i*sh + p, j*sw + q, c], p < ph, q < pw.
 *   max      y = max_{p,q} x[...];  indices = p*pw + q of the FIRST maximum in
 *            row-major window order, a NaN counting as larger than any number
 *            (NumPy's argmax, so both backends pick the same element);
 *            dx[n, i*sh + p, j*sw + q, c] += dy where indices == p*pw + q
 *   avg      y = sum_{p,q} x[...] / (ph pw);  dx[...] += dy / (ph pw) for every (p, q)
 *   global   the window is the whole image (H*W positions, indices h*W + w):
 *            y, dy, indices (N, C)
 * Overlapping windows (stride < pool) add up in dx.  Each dx element receives
 * its contributions in the order of the NumPy reference (window offsets (p, q)
 * ascending, i.e. windows (i, j) descending), so the sums are the same bits.
 *
 * Layout: every array is contiguous NHWC (the channel axis innermost), so the
 * innermost loop of every kernel runs over channels, vectorised (omp simd; the
 * loops are compiled for x86-64 and AVX2+FMA, chosen at run time).
 * Threading: static contiguous blocks of work items, one per thread:
 *   forward                        items = output rows (n, i);  global: images n
 *   backward, sh >= ph             items = output rows (n, i): the input-row bands
 *                                  [i*sh, (i+1)*sh) they touch are disjoint
 *   backward, sh < ph (overlap)    items = images n, so no two threads write one dx
 *   global backward                items = input rows (n, h*W + w)
 * so no atomics, and every element is computed in the same order whatever the
 * thread count: results do not depend on it.  Problems below 2 * RG_GRAIN_CHEAP
 * element visits stay on the calling thread.
 * Backward kernels overwrite dx (zeroing first only where windows leave gaps or
 * overlap); the max backward kernels never index memory with `indices` (each
 * window position compares its own offset against them), so a corrupted index
 * cannot make them write out of bounds: they return the number of indices
 * outside [0, ph*pw) (global: [0, H*W)) so the caller can raise.
 * Workspace: none (a 256-value stack buffer per thread in the average backward).
 */
#include <string.h>
#include "rg_internal.h"

/* The geometry of one call, as the caller computed it (OH, OW come with the arguments:
 * the C code never derives them). */
typedef struct {
    int64_t n, h, w, c, oh, ow, ph, pw, sh, sw;
} rg_pool_geom;



/* Windows that tile the image exactly: every dx element belongs to one window. */
static int rg_pool_tiles(const rg_pool_geom *g)
{
    return g->sh == g->ph && g->sw == g->pw && g->oh * g->ph == g->h && g->ow * g->pw == g->w;
}

/* fn(ctx, begin, end, t) over [0, items) in one static contiguous block per thread;
 * `work` (element visits) decides how many threads are worth starting. */
static void rg_pool_run(int64_t items, int64_t work, int n_threads, rg_range_fn fn, void *ctx)
{
    rg_parallel_for(items, 1, rg_threads_for(work, RG_GRAIN_CHEAP, n_threads), fn, ctx);
}

/* Adds a thread's count of out-of-range indices to the kernel's total (an integer sum:
 * its order does not matter). */
static void rg_pool_add_bad(int64_t *total, int64_t bad)
{
    if (bad) __atomic_fetch_add(total, bad, __ATOMIC_RELAXED);
}

/* Narrow images (LeNet's 6 channels): fewer channels than a vector has lanes, windows that
 * tile each row, and rows short enough for the index tables of the *_narrow kernels. */
#define RG_POOL_NARROW_C 8
#define RG_POOL_ROW_MAX 4096
static int rg_pool_narrow(const rg_pool_geom *g)
{
    return g->c < RG_POOL_NARROW_C && g->sw == g->pw && g->ow * g->pw * g->c <= RG_POOL_ROW_MAX;
}

/* Channels per block of the average backward's dy / (ph pw) buffer. */
#define RG_POOL_CHUNK 256

#define RG_TEMPLATE "pool_impl.h"
#include "rg_instantiate.h"
