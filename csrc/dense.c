/*
 * dense.c -- the dense (fully connected) layer, forward and backward, as
 * products on the register-blocked SIMD GEMM micro-kernel of gemm_impl.h,
 * each call in one OpenMP region.
 *
 * Equations, x (N, I), W (I, O), b (O,), dy (N, O):
 *   y  = x W + b         y[n, o]  = b[o] + sum_i x[n, i] W[i, o]
 *   dx = dy W^T          dx[n, i] = sum_o dy[n, o] W[i, o]
 *   dW = x^T dy          dW[i, o] = sum_n x[n, i] dy[n, o]
 *   db = sum_n dy        db[o]    = sum_n dy[n, o]
 * Layouts: every array contiguous row-major with the shapes above.
 *
 * Why not NumPy's BLAS.  OpenBLAS runs on its own thread pool; alternating it
 * with the OpenMP regions of conv, ReLU and pooling in one training step costs
 * a scheduler hand-off per call, and on a busy 2-core machine its spinning
 * threads made one LeNet-5 dense backward take 18 ms instead of ~0.1 ms.  Here
 * the products run on retrograd's own OpenMP threads (native_ops says why even
 * the largest layers stay here).
 *
 * Blocking of one product C (m x n) = A (m x K) B (K x n).  B is packed into
 * column panels of nr = one vector (n <= one vector: LeNet's 10 outputs waste
 * fewer lanes) or two vectors, each panel K rows of nr values, zero-padded, so
 * that a kc block of a panel (RG_DENSE_KC rows: 16 KB) is read from L1 by the
 * micro-kernel.  A is taken RG_DENSE_MC rows at a time, which stay in L2 while
 * every panel passes over them (the GotoBLAS loop order).  Where A's rows run
 * along memory (x, dy) it is read in place, with any row stride; only a last,
 * partial RG_MR-row block is copied, zero-padded, because the micro-kernel reads
 * whole blocks.  Where they run across it (x^T, the A of dW) and at least three
 * panels reuse it, the block is packed into RG_MR-row micro-panels first: read in
 * place, consecutive k would be a row of x apart and, for 1024 features (4 KB),
 * all fall in one L1 set.
 * db sums RG_DENSE_DB_CHUNK columns at a time row by row, so its additions
 * vectorise instead of forming one dependency chain per column.
 *
 * Threading (rg_parallel: static, one parallel region per call):
 *   packing : the (panel, row) pairs of B split evenly; then one barrier.
 *   y, dx   : each thread a contiguous run of RG_MR-row blocks of the batch.
 *   dW      : each thread a contiguous run of RG_MR-row blocks of dW's rows
 *             (input features); each element is summed over the whole batch
 *             by that one thread, in batch order.
 *   db      : each thread a contiguous run of columns, summed over the batch
 *             in row order in double.
 * So every output element is computed by one thread in an order fixed by the
 * shapes alone: results are bit-identical for every thread count.  dW needs no
 * reduction across threads, hence no per-group partial copies of it (16 of
 * them would be 64 MB for a 1024 x 1024 layer).
 * Threads: min(n_threads, multiply-adds / RG_DENSE_GRAIN, row blocks), so
 * small layers (LeNet's 84 -> 10) stay on the calling thread.
 *
 * Workspace: rg_dense_workspace_size_<t>(N, I, O, n_threads) elements: the
 * packed panels (forward: W; backward: dy, and W^T when dx is wanted), then per
 * thread RG_DENSE_MC x RG_DENSE_KC elements for the packed rows of A.  The
 * caller keeps it between calls (native_ops grows one buffer on demand) and
 * has checked every size (N, I, O >= 1, the array shapes, the workspace length).
 */
#include "rg_internal.h"
#include "rg_gemm.h"

#define RG_DENSE_KC 256   /* rows of a B panel per micro-kernel call: 256 x 16 floats = 16 KB */
#define RG_DENSE_MC 96    /* rows of A per pass over the panels: 96 KB of float32 at KC */
#define RG_DENSE_DB_CHUNK 64   /* columns of db summed together (their sums stay in L1) */

/* The workspace layout of one call (elements of the kernel's type). */
typedef struct {
    int64_t pw_out, ld_out;   /* panel width over O, and O padded to whole panels */
    int64_t pw_in, ld_in;     /* the same over I (the panels of W^T) */
    int64_t packed;           /* the packed panels, shared by the threads */
    int64_t buf;              /* one thread's packed rows of A */
} rg_dense_plan;

static int64_t rg_dense_round_up(int64_t v, int64_t to) { return (v + to - 1) / to * to; }

static rg_dense_plan rg_dense_make_plan(int64_t N, int64_t I, int64_t O, int64_t vl)
{
    rg_dense_plan P;
    P.pw_out = O <= vl ? vl : 2 * vl;
    P.ld_out = rg_dense_round_up(O, P.pw_out);
    P.pw_in = I <= vl ? vl : 2 * vl;
    P.ld_in = rg_dense_round_up(I, P.pw_in);
    const int64_t forward = I * P.ld_out, backward = N * P.ld_out + O * P.ld_in;
    /* 16-element rounding keeps the per-thread blocks 64-byte apart */
    P.packed = rg_dense_round_up(forward > backward ? forward : backward, 16);
    P.buf = rg_dense_round_up(RG_DENSE_MC * RG_DENSE_KC, 16);
    return P;
}

#define RG_TEMPLATE "dense_impl.h"
#include "rg_instantiate.h"
