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

    void rg_rrelu_forward_f32(float *y, const float *x, const float *slopes, int64_t n,
                              int n_threads)
    void rg_rrelu_forward_f64(double *y, const double *x, const double *slopes, int64_t n,
                              int n_threads)
    void rg_rrelu_backward_f32(float *dx, const float *dy, const float *x, const float *slopes,
                               int64_t n, int n_threads)
    void rg_rrelu_backward_f64(double *dx, const double *dy, const double *x,
                               const double *slopes, int64_t n, int n_threads)
    void rg_noisy_relu_forward_f32(float *y, const float *x, const float *noise, int64_t n,
                                   int n_threads)
    void rg_noisy_relu_forward_f64(double *y, const double *x, const double *noise, int64_t n,
                                   int n_threads)

    void rg_prelu_forward_f32(float *y, const float *x, const float *alpha, int64_t rows,
                              int64_t channels, int n_threads)
    void rg_prelu_forward_f64(double *y, const double *x, const double *alpha, int64_t rows,
                              int64_t channels, int n_threads)
    void rg_prelu_backward_f32(float *dx, float *dalpha, const float *dy, const float *x,
                               const float *alpha, double *work, int64_t rows, int64_t channels,
                               int n_threads)
    void rg_prelu_backward_f64(double *dx, double *dalpha, const double *dy, const double *x,
                               const double *alpha, double *work, int64_t rows,
                               int64_t channels, int n_threads)

    void rg_softmax_forward_f32(float *y, const float *x, int64_t rows, int64_t cols,
                                int n_threads)
    void rg_softmax_forward_f64(double *y, const double *x, int64_t rows, int64_t cols,
                                int n_threads)
    void rg_softmax_backward_f32(float *dx, const float *dy, const float *y, int64_t rows,
                                 int64_t cols, int n_threads)
    void rg_softmax_backward_f64(double *dx, const double *dy, const double *y, int64_t rows,
                                 int64_t cols, int n_threads)
    void rg_softmax_cross_entropy_f32(float *grad, double *loss, double *row_loss,
                                      const float *logits, const float *targets, int64_t rows,
                                      int64_t cols, int n_threads)
    void rg_softmax_cross_entropy_f64(double *grad, double *loss, double *row_loss,
                                      const double *logits, const double *targets,
                                      int64_t rows, int64_t cols, int n_threads)
