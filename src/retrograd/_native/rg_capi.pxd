# Declarations of the C API in csrc/retrograd.h, shared by every _native module.
from libc.stdint cimport int32_t, int64_t, uint8_t

cdef extern from "retrograd.h" nogil:
    int rg_openmp_enabled()
    int rg_default_num_threads()
    int rg_team_size(int n_threads)
    int rg_simd_level()
    const char *rg_compiler()
    int RG_SIMD_AVX2_FMA
    int RG_SIMD_AVX512
    int64_t RG_GRAIN_CHEAP
    int64_t RG_GRAIN_TRANSCEND
    int64_t RG_REDUCE_GROUPS

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


cdef extern from "retrograd.h" nogil:
    void rg_optim_sgd_f32(float *const *params, const float *const *grads, const int64_t *sizes,
                          int64_t n_arrays, double lr, int n_threads)
    void rg_optim_sgd_f64(double *const *params, const double *const *grads,
                          const int64_t *sizes, int64_t n_arrays, double lr, int n_threads)
    void rg_optim_momentum_f32(float *const *params, float *const *velocity,
                               const float *const *grads, const int64_t *sizes, int64_t n_arrays,
                               double lr, double momentum, int n_threads)
    void rg_optim_momentum_f64(double *const *params, double *const *velocity,
                               const double *const *grads, const int64_t *sizes,
                               int64_t n_arrays, double lr, double momentum, int n_threads)
    void rg_optim_nag_f32(float *const *params, float *const *velocity,
                          const float *const *grads, const int64_t *sizes, int64_t n_arrays,
                          double lr, double momentum, int n_threads)
    void rg_optim_nag_f64(double *const *params, double *const *velocity,
                          const double *const *grads, const int64_t *sizes, int64_t n_arrays,
                          double lr, double momentum, int n_threads)
    void rg_optim_adagrad_f32(float *const *params, float *const *accum,
                              const float *const *grads, const int64_t *sizes, int64_t n_arrays,
                              double lr, double eps, int n_threads)
    void rg_optim_adagrad_f64(double *const *params, double *const *accum,
                              const double *const *grads, const int64_t *sizes,
                              int64_t n_arrays, double lr, double eps, int n_threads)
    void rg_optim_rmsprop_f32(float *const *params, float *const *accum,
                              const float *const *grads, const int64_t *sizes, int64_t n_arrays,
                              double lr, double rho, double eps, int n_threads)
    void rg_optim_rmsprop_f64(double *const *params, double *const *accum,
                              const double *const *grads, const int64_t *sizes,
                              int64_t n_arrays, double lr, double rho, double eps, int n_threads)
    void rg_optim_adam_f32(float *const *params, float *const *m, float *const *v,
                           const float *const *grads, const int64_t *sizes, int64_t n_arrays,
                           double lr, double beta_1, double beta_2, double eps, double bc1,
                           double bc2, int n_threads)
    void rg_optim_adam_f64(double *const *params, double *const *m, double *const *v,
                           const double *const *grads, const int64_t *sizes, int64_t n_arrays,
                           double lr, double beta_1, double beta_2, double eps, double bc1,
                           double bc2, int n_threads)
    void rg_optim_adamax_f32(float *const *params, float *const *m, float *const *u,
                             const float *const *grads, const int64_t *sizes, int64_t n_arrays,
                             double lr_t, double beta_1, double beta_2, double eps,
                             int n_threads)
    void rg_optim_adamax_f64(double *const *params, double *const *m, double *const *u,
                             const double *const *grads, const int64_t *sizes, int64_t n_arrays,
                             double lr_t, double beta_1, double beta_2, double eps,
                             int n_threads)
    void rg_optim_nadam_f32(float *const *params, float *const *m, float *const *v,
                            const float *const *grads, const int64_t *sizes, int64_t n_arrays,
                            double coef_g, double coef_m, double beta_1, double beta_2,
                            double bc2, double eps, int n_threads)
    void rg_optim_nadam_f64(double *const *params, double *const *m, double *const *v,
                            const double *const *grads, const int64_t *sizes, int64_t n_arrays,
                            double coef_g, double coef_m, double beta_1, double beta_2,
                            double bc2, double eps, int n_threads)
    void rg_optim_adamw_f32(float *const *params, float *const *m, float *const *v,
                            const float *const *grads, const int64_t *sizes, int64_t n_arrays,
                            double lr, double beta_1, double beta_2, double eps,
                            double weight_decay, double bc1, double bc2, int n_threads)
    void rg_optim_adamw_f64(double *const *params, double *const *m, double *const *v,
                            const double *const *grads, const int64_t *sizes, int64_t n_arrays,
                            double lr, double beta_1, double beta_2, double eps,
                            double weight_decay, double bc1, double bc2, int n_threads)
    void rg_optim_radam_f32(float *const *params, float *const *m, float *const *v,
                            const float *const *grads, const int64_t *sizes, int64_t n_arrays,
                            double lr, double beta_1, double beta_2, double eps, double bc1,
                            double bc2, double rect, int n_threads)
    void rg_optim_radam_f64(double *const *params, double *const *m, double *const *v,
                            const double *const *grads, const int64_t *sizes, int64_t n_arrays,
                            double lr, double beta_1, double beta_2, double eps, double bc1,
                            double bc2, double rect, int n_threads)
    void rg_optim_lion_f32(float *const *params, float *const *m, const float *const *grads,
                           const int64_t *sizes, int64_t n_arrays, double lr, double beta_1,
                           double beta_2, double weight_decay, int n_threads)
    void rg_optim_lion_f64(double *const *params, double *const *m, const double *const *grads,
                           const int64_t *sizes, int64_t n_arrays, double lr, double beta_1,
                           double beta_2, double weight_decay, int n_threads)

cdef extern from "retrograd.h" nogil:
    int64_t rg_conv2d_workspace_size_f32(int64_t H, int64_t W, int64_t C, int64_t F,
                                         int64_t KH, int64_t KW, int64_t sh, int64_t sw,
                                         int64_t pt, int64_t pl, int64_t OH, int64_t OW,
                                         int n_threads)
    int64_t rg_conv2d_workspace_size_f64(int64_t H, int64_t W, int64_t C, int64_t F,
                                         int64_t KH, int64_t KW, int64_t sh, int64_t sw,
                                         int64_t pt, int64_t pl, int64_t OH, int64_t OW,
                                         int n_threads)
    void rg_conv2d_forward_f32(float *y, float *work, const float *x, const float *wm,
                               const float *b, int64_t N, int64_t H, int64_t W, int64_t C,
                               int64_t F, int64_t KH, int64_t KW, int64_t sh, int64_t sw,
                               int64_t pt, int64_t pl, int64_t OH, int64_t OW, int n_threads)
    void rg_conv2d_forward_f64(double *y, double *work, const double *x, const double *wm,
                               const double *b, int64_t N, int64_t H, int64_t W, int64_t C,
                               int64_t F, int64_t KH, int64_t KW, int64_t sh, int64_t sw,
                               int64_t pt, int64_t pl, int64_t OH, int64_t OW, int n_threads)
    void rg_conv2d_backward_f32(float *dx, float *dwm, float *db, float *work, const float *dy,
                                const float *x, const float *wmt, int64_t N, int64_t H,
                                int64_t W, int64_t C, int64_t F, int64_t KH, int64_t KW,
                                int64_t sh, int64_t sw, int64_t pt, int64_t pl, int64_t OH,
                                int64_t OW, int n_threads)
    void rg_conv2d_backward_f64(double *dx, double *dwm, double *db, double *work,
                                const double *dy, const double *x, const double *wmt,
                                int64_t N, int64_t H, int64_t W, int64_t C, int64_t F,
                                int64_t KH, int64_t KW, int64_t sh, int64_t sw, int64_t pt,
                                int64_t pl, int64_t OH, int64_t OW, int n_threads)

cdef extern from "retrograd.h" nogil:
    void rg_pool_max2d_forward_f32(float *y, int32_t *indices, const float *x, int64_t n,
                                   int64_t h, int64_t w, int64_t c, int64_t ph, int64_t pw,
                                   int64_t sh, int64_t sw, int n_threads)
    int64_t rg_pool_max2d_backward_f32(float *dx, const float *dy, const int32_t *indices,
                                       int64_t n, int64_t h, int64_t w, int64_t c, int64_t ph,
                                       int64_t pw, int64_t sh, int64_t sw, int n_threads)
    void rg_pool_avg2d_forward_f32(float *y, const float *x, int64_t n, int64_t h, int64_t w,
                                   int64_t c, int64_t ph, int64_t pw, int64_t sh, int64_t sw,
                                   int n_threads)
    void rg_pool_avg2d_backward_f32(float *dx, const float *dy, int64_t n, int64_t h, int64_t w,
                                    int64_t c, int64_t ph, int64_t pw, int64_t sh, int64_t sw,
                                    int n_threads)
    void rg_pool_global_max_forward_f32(float *y, int32_t *indices, const float *x, int64_t n,
                                        int64_t hw, int64_t c, int n_threads)
    int64_t rg_pool_global_max_backward_f32(float *dx, const float *dy, const int32_t *indices,
                                            int64_t n, int64_t hw, int64_t c, int n_threads)
    void rg_pool_global_avg_forward_f32(float *y, const float *x, int64_t n, int64_t hw,
                                        int64_t c, int n_threads)
    void rg_pool_global_avg_backward_f32(float *dx, const float *dy, int64_t n, int64_t hw,
                                         int64_t c, int n_threads)
    void rg_pool_max2d_forward_f64(double *y, int32_t *indices, const double *x, int64_t n,
                                   int64_t h, int64_t w, int64_t c, int64_t ph, int64_t pw,
                                   int64_t sh, int64_t sw, int n_threads)
    int64_t rg_pool_max2d_backward_f64(double *dx, const double *dy, const int32_t *indices,
                                       int64_t n, int64_t h, int64_t w, int64_t c, int64_t ph,
                                       int64_t pw, int64_t sh, int64_t sw, int n_threads)
    void rg_pool_avg2d_forward_f64(double *y, const double *x, int64_t n, int64_t h, int64_t w,
                                   int64_t c, int64_t ph, int64_t pw, int64_t sh, int64_t sw,
                                   int n_threads)
    void rg_pool_avg2d_backward_f64(double *dx, const double *dy, int64_t n, int64_t h, int64_t w,
                                    int64_t c, int64_t ph, int64_t pw, int64_t sh, int64_t sw,
                                    int n_threads)
    void rg_pool_global_max_forward_f64(double *y, int32_t *indices, const double *x, int64_t n,
                                        int64_t hw, int64_t c, int n_threads)
    int64_t rg_pool_global_max_backward_f64(double *dx, const double *dy, const int32_t *indices,
                                            int64_t n, int64_t hw, int64_t c, int n_threads)
    void rg_pool_global_avg_forward_f64(double *y, const double *x, int64_t n, int64_t hw,
                                        int64_t c, int n_threads)
    void rg_pool_global_avg_backward_f64(double *dx, const double *dy, int64_t n, int64_t hw,
                                         int64_t c, int n_threads)
    void rg_dropout_apply_f32(float *y, const float *x, const uint8_t *mask, double scale,
                              int64_t n, int n_threads)
    void rg_dropout_apply_f64(double *y, const double *x, const uint8_t *mask, double scale,
                              int64_t n, int n_threads)

cdef extern from "retrograd.h" nogil:
    int64_t RG_DENSE_GRAIN
    int64_t rg_dense_workspace_size_f32(int64_t N, int64_t I, int64_t O, int n_threads)
    int64_t rg_dense_workspace_size_f64(int64_t N, int64_t I, int64_t O, int n_threads)
    void rg_dense_forward_f32(float *y, float *work, const float *x, const float *w,
                              const float *b, int64_t N, int64_t I, int64_t O, int n_threads)
    void rg_dense_forward_f64(double *y, double *work, const double *x, const double *w,
                              const double *b, int64_t N, int64_t I, int64_t O, int n_threads)
    void rg_dense_backward_f32(float *dx, float *dw, float *db, float *work, const float *dy,
                               const float *x, const float *w, int64_t N, int64_t I, int64_t O,
                               int n_threads)
    void rg_dense_backward_f64(double *dx, double *dw, double *db, double *work,
                               const double *dy, const double *x, const double *w, int64_t N,
                               int64_t I, int64_t O, int n_threads)
