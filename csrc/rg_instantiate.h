/*
 * rg_instantiate.h -- compile a dtype template for float32 and float64.
 *
 * A kernel family writes its loops once, in <family>_impl.h, in terms of RG_T
 * (the element type) and RG_SFX (the name suffix, f32 or f64), then:
 *
 *     #define RG_TEMPLATE "activations_impl.h"
 *     #include "rg_instantiate.h"
 *
 * No include guard: each family includes it once with its own template.
 */
#ifndef RG_TEMPLATE
#error "define RG_TEMPLATE (the template header to instantiate) before including rg_instantiate.h"
#endif

#define RG_T float
#define RG_SFX f32
#include RG_TEMPLATE
#undef RG_T
#undef RG_SFX

#define RG_T double
#define RG_SFX f64
#include RG_TEMPLATE
#undef RG_T
#undef RG_SFX

#undef RG_TEMPLATE
