/*
 * conv.c -- 2-D convolution (NHWC), forward and backward, as tiles of im2col
 * times a register-blocked SIMD GEMM micro-kernel, all inside one OpenMP region.
 *
 * Equations (cross-correlation; xpad is x with pt zero rows on top and pl zero
 * columns on the left, and as many at the bottom/right as OH, OW imply):
 *   y[n, i, j, f]  = b[f] + sum_{c,p,q} xpad[n, i sh + p, j sw + q, c] K[f, c, p, q]
 *   dK[f, c, p, q] = sum_{n,i,j} dy[n, i, j, f] xpad[n, i sh + p, j sw + q, c]
 *   db[f]          = sum_{n,i,j} dy[n, i, j, f]
 *   dxpad[n, i sh + p, j sw + q, c] += sum_f dy[n, i, j, f] K[f, c, p, q]
 * As matrices, with K = KH KW C and one row per output pixel m = (n OH + i) OW + j:
 *   cols[m, (p, q, c)] = xpad[n, i sh + p, j sw + q, c],  wm[(p, q, c), f] = K[f, c, p, q]
 *   y = cols wm + b,   dwm = cols^T dy,   dcols = dy wm^T,   dx = col2im(dcols).
 *
 * Layouts (all contiguous): x, dx (N, H, W, C); y, dy (N, OH, OW, F);
 * wm, dwm (K, F) and wmt (F, K), the kernels reordered by the caller (a
 * transpose of F C KH KW values); b, db (F,).
 *
 * Why this algorithm for every shape.  The tile of cols (RG_CONV_TILE values,
 * L2-resident) is built and consumed by the same thread, so the whole-batch
 * cols matrix never exists and never crosses DRAM.  The micro-kernel keeps an
 * RG_MR x 2-vector block of outputs in registers and vectorises over output
 * channels; for narrow layers (F <= one vector: LeNet's 6) it uses one vector
 * so fewer lanes idle; for C = 6 (LeNet's second layer) a direct NHWC loop would
 * do the same multiply-adds with the same broadcasts, so the tiles serve.
 * Single-channel images at stride 1 (LeNet's first layer) are the exception:
 * their tile is 25 copies of the image and 6 filters fill 6 of 8 lanes, so they
 * take the direct kernels of conv_direct_impl.h, vectorised over the output
 * width.  Other layers whose patch row is short (KW C < RG_SHORT_RUN: 5 values in LeNet's first
 * layer) the tile is stored transposed, colsT (K x mt), so that im2col copies
 * runs along an output row instead of 5-value runs; the micro-kernel takes A
 * with any row and column stride, so both layouts feed the same GEMM.
 * A library GEMM (NumPy's OpenBLAS) was tried first: it runs on a second
 * thread pool, and alternating it with the OpenMP regions costs a scheduler
 * hand-off per call that made 2-thread runs up to 10x slower on a busy machine
 * (benchmarks/RESULTS.md, "Conv2D").
 *
 * Threading (rg_parallel: static, one parallel region per call):
 *   forward  : tiles of output pixels, a contiguous block per thread; a tile's
 *              results do not depend on the thread count.
 *   backward : the batch is cut into G = rg_groups(N) (at most RG_REDUCE_GROUPS) groups of whole
 *              images, whatever the thread count; each group sums cols^T dy and
 *              dy into its own partial sums, the threads take contiguous blocks
 *              of groups, and the G partial sums are added in group order.  So
 *              each dx element is written by one thread in pixel order and dK, db
 *              are summed in one fixed order: no result depends on the thread
 *              count.  At most G threads are used.
 * Workspace: `work`, rg_conv2d_workspace_size_<t>(H, W, C, F, KH, KW, sh, sw, pt, pl, OH, OW,
 * n_threads)
 * elements: the packed kernel matrix, per thread a cols tile, a dcols tile
 * and a dy tile, then per image group a K x F partial dK and F doubles, each part at a
 * multiple of 64 bytes from the start.  The caller keeps it between calls (native_ops
 * grows one buffer on demand) and starts it on a 64-byte boundary: any alignment is
 * correct, but vector loads that straddle cache lines cost up to a quarter of the
 * direct backward's time.
 * The caller (Cython) has checked every size: OH = (H + pt + pb - KH) / sh + 1
 * >= 1 and likewise OW, the array shapes, and the workspace length.
 */
#include <string.h>
#include "rg_internal.h"
#include "rg_gemm.h"

typedef struct {
    int64_t H, W, C, KH, KW, sh, sw, pt, pl, OH, OW;
} rg_conv_geom;

#define RG_CONV_TILE (1 << 15) /* cols elements per tile: 128 KB in float32, L2-resident */
#define RG_CONV_GRAIN (1 << 18)/* multiply-adds per thread below which one thread runs */
/* GCC turns short copy loops (a bias row, a dy row of F values) into memmove calls,
 * which cost more than the copy at these lengths (perf: 12% of LeNet conv1's time). */
#define RG_NO_MEMCPY_CALLS __attribute__((optimize("no-tree-loop-distribute-patterns")))
#define RG_SHORT_RUN 16        /* patch rows (KW C values) shorter than this use colsT */

#define RG_DB 6                /* filters per register block of the direct C = 1 kernels */
#define RG_DR 4                /* dx rows per register block of the direct C = 1 kernels */
typedef int32_t rg_lane_int_f32;   /* the integer lane of each element type (bit masks) */
typedef int64_t rg_lane_int_f64;

/* The tile size and the workspace layout of one call (elements of the kernel's type). */
typedef struct {
    int64_t K;        /* KH KW C, the patch length */
    int64_t mt;       /* output pixels per tile, a multiple of RG_MR */
    int64_t ldb;      /* F padded to whole micro-kernel column blocks */
    int64_t ldk;      /* K padded likewise (wm^T as the B of dcols = dy wm^T) */
    int64_t kpad;     /* K padded to whole RG_MR row blocks (rows of dw) */
    int64_t shared;   /* the packed kernel matrix, shared by all threads */
    int64_t mtp;      /* mt padded to whole column blocks (dy^T, colsT layout) */
    int64_t per_thread, off_dcols, off_dyt, off_dyT;   /* one thread's tiles */
    int64_t group_size, off_group_db;         /* one image group's partial sums (backward) */
    int transposed;   /* the cols tile is stored as colsT (K x mt) */
    int direct;       /* C = 1, stride 1: conv_direct_impl.h instead of im2col tiles */
    int64_t d_f6;     /* direct: F rounded up to whole RG_DB filter blocks */
    int64_t d_hp, d_ws;      /* direct: rows and row stride of the padded image */
    int64_t d_rows, d_wid;   /* direct: rows and row stride of one padded dy plane */
    int64_t off_dypad, off_tmp;   /* direct: one thread's dypad planes and store buffer */
    int64_t d_lead;   /* direct: dypad starts this far past off_dypad, so that the interior
                       * column KW - 1 the kernel gradient reads is vector-aligned */
} rg_conv_plan;

static int64_t rg_round_up(int64_t v, int64_t to) { return (v + to - 1) / to * to; }

static rg_conv_plan rg_conv_make_plan(const rg_conv_geom *g, int64_t F, int64_t vl)
{
    const int64_t C = g->C, KH = g->KH, KW = g->KW;
    rg_conv_plan P;
    P.K = KH * KW * C;
    P.ldb = rg_round_up(F, F <= vl ? vl : 2 * vl);
    P.ldk = rg_round_up(P.K, P.K <= vl ? vl : 2 * vl);
    P.kpad = rg_round_up(P.K, RG_MR);
    int64_t mt = RG_CONV_TILE / P.K;
    mt = mt < RG_MR ? RG_MR : (mt > 4096 ? 4096 : mt);
    P.mt = mt / RG_MR * RG_MR;
    P.transposed = KW * C < RG_SHORT_RUN;
    /* 16-element rounding keeps every part (and the doubles at off_group_db) aligned;
     * the slack after a cols tile (kpad rows, RG_MR more values) is read by the
     * last row block of dw */
    const int64_t cols = rg_round_up(P.mt * P.kpad + RG_MR, 16);
    P.shared = rg_round_up(P.K * P.ldb > F * P.ldk ? P.K * P.ldb : F * P.ldk, 16);
    P.off_dcols = cols;
    P.off_dyt = 2 * cols;
    P.mtp = rg_round_up(P.mt, 2 * vl);
    P.off_dyT = P.off_dyt + rg_round_up(P.mt * P.ldb, 16);
    P.per_thread = P.off_dyT + rg_round_up(F * P.mtp, 16);
    P.off_group_db = rg_round_up(P.kpad * P.ldb, 16);
    P.group_size = P.off_group_db + rg_round_up(2 * F, 16);   /* F doubles, in RG_T units */
    P.direct = C == 1 && g->sh == 1 && g->sw == 1;
    if (P.direct) {
        /* widths: whole 2-vector blocks of output (forward) or input (dx) pixels, plus the
         * kernel's reach, plus a vector of slack; dy planes have RG_DR more rows for the
         * last block of dx rows */
        const int64_t ow_blocks = rg_round_up(g->OW, 2 * vl);
        const int64_t in_reach = g->pl + rg_round_up(g->W, 2 * vl);
        P.d_f6 = rg_round_up(F, RG_DB);
        P.d_hp = g->OH + KH - 1;
        P.d_ws = rg_round_up(ow_blocks + KW - 1 + vl, vl);
        P.d_rows = (g->OH > g->H + g->pt ? g->OH : g->H + g->pt) + 2 * (KH - 1) + RG_DR;
        P.d_wid = rg_round_up((ow_blocks > in_reach ? ow_blocks : in_reach) + 2 * KW + vl, vl);
        P.off_dypad = rg_round_up(P.d_hp * P.d_ws, 16);
        P.d_lead = rg_round_up(KW - 1, vl) - (KW - 1);
        P.off_tmp = P.off_dypad + rg_round_up(P.d_lead + P.d_f6 * P.d_rows * P.d_wid, 16);
        P.per_thread = P.off_tmp + rg_round_up(RG_DB * 2 * vl, 16);
        if (P.shared < P.K * P.d_f6) P.shared = rg_round_up(P.K * P.d_f6, 16);
    }
    return P;
}

#define RG_TEMPLATE "conv_impl.h"
#include "rg_instantiate.h"
