/*
 * rg_gemm.h -- the shape of the GEMM micro-kernel (gemm_impl.h) shared by conv and dense.
 */
#ifndef RG_GEMM_H
#define RG_GEMM_H

#define RG_VEC_BYTES 32   /* the micro-kernel's vectors: AVX2 ymm (two xmm on the baseline) */
#define RG_MR 6           /* micro-kernel rows: 6 x 2 vector accumulators + 2 B vectors
                             + 1 broadcast fit the 16 ymm registers */
#endif
