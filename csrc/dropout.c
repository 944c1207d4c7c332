/*
 * dropout.c -- inverted dropout's fused multiply, y = x * mask * scale.
 *
 * The layer draws the mask (1 keeps an element, 0 drops it) and passes
 * scale = 1 / (1 - rate); forward applies it to x, backward to dy (the same
 * formula: dy/dx = mask * scale).  The product is taken as (x * mask) * scale,
 * the NumPy reference's order, so both backends give the same bits (a dropped
 * inf or NaN stays NaN in both).
 * Layout: y, x, mask contiguous, n elements; mask bytes (NumPy bool or uint8).
 * Threading: rg_parallel_for over elements, RG_GRAIN_CHEAP.  Workspace: none.
 */
#include "rg_internal.h"

#define RG_TEMPLATE "dropout_impl.h"
#include "rg_instantiate.h"
