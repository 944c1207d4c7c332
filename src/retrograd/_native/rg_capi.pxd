# Declarations of the C API in csrc/retrograd.h, shared by every _native module.
from libc.stdint cimport int64_t

cdef extern from "retrograd.h" nogil:
    int rg_openmp_enabled()
    int rg_default_num_threads()
    int rg_simd_level()
    const char *rg_compiler()
    int RG_SIMD_AVX2_FMA

    int RG_ACT_COUNT
    void rg_activation_forward_f32(float *y, const float *x, int64_t n,
                                   int kind, double a, double b, int n_threads)
    void rg_activation_forward_f64(double *y, const double *x, int64_t n,
                                   int kind, double a, double b, int n_threads)
    void rg_activation_backward_f32(float *dx, const float *dy, const float *x, const float *y,
                                    int64_t n, int kind, double a, double b, int n_threads)
    void rg_activation_backward_f64(double *dx, const double *dy, const double *x,
                                    const double *y, int64_t n, int kind, double a, double b,
                                    int n_threads)
