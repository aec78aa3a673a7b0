/*
 * tests/unit/ops_test_util.h — helpers shared by the CPU op tests
 * (test_ops_matmul/conv/norm/attention/embed.c): building host tensors of
 * any dtype from f32 values, strided views over bigger storage, reading any
 * tensor back in logical row-major order (f64, FP8 scales applied) and the
 * relative L2 error against a double reference.
 *
 * Everything is static inline; allocation failures abort the test binary
 * (a test has nothing better to do). Tensors made here own their storage
 * through `test_tensor.mem`; free with tt_free.
 */
#ifndef PICTOR_OPS_TEST_UTIL_H
#define PICTOR_OPS_TEST_UTIL_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../harness/test.h"
#include "pictor/convert.h"
#include "pictor/ops.h"
#include "pictor/tensor_util.h"

static inline void *tt_xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);

    if (!p) {
        fprintf(stderr, "out of memory (%zu bytes)\n", n);
        abort();
    }
    return p;
}

static inline int64_t tt_numel(int ndim, const int64_t *shape)
{
    int64_t n = 1;

    for (int i = 0; i < ndim; i++)
        n *= shape[i];
    return n;
}

/* Contiguous tensor of dtype holding vals (rounded to dtype; FP8 stores
 * vals / scale). vals may be NULL: uniform values in [-1, 1) from seed. */
static inline pictor_tensor tt_make(int dtype, int ndim, const int64_t *shape,
                                    const float *vals, uint64_t seed,
                                    float scale)
{
    int64_t n = tt_numel(ndim, shape);
    float *tmp = tt_xmalloc((size_t)n * sizeof(float));
    void *mem = tt_xmalloc((size_t)n * pictor_dtype_size(dtype));
    pictor_tensor t = pictor_tensor_make(mem, dtype, ndim, shape);

    if (vals)
        memcpy(tmp, vals, (size_t)n * sizeof(float));
    else
        test_fill_uniform(tmp, (size_t)n, seed, -1.0f, 1.0f);
    t.scale = scale;
    pictor_row_from_f32(mem, dtype, tmp, (size_t)n, scale, true);
    free(tmp);
    return t;
}

static inline pictor_tensor tt_rand(int dtype, int ndim, const int64_t *shape,
                                    uint64_t seed)
{
    return tt_make(dtype, ndim, shape, NULL, seed, 1.0f);
}

/* Uniform [lo, hi) values of dtype (a mean far from 0 checks a norm's
 * two-pass variance). */
static inline pictor_tensor tt_range(int dtype, int ndim, const int64_t *shape, uint64_t seed,
                                     float lo, float hi)
{
    int64_t n = tt_numel(ndim, shape);
    float *v = tt_xmalloc((size_t)n * sizeof(float));
    pictor_tensor t;

    test_fill_uniform(v, (size_t)n, seed, lo, hi);
    t = tt_make(dtype, ndim, shape, v, 0, 1.0f);
    free(v);
    return t;
}

static inline void tt_free(pictor_tensor *t)
{
    free(t->data);
    t->data = NULL;
}

/* Element idx (logical multi-index) of t as double. */
static inline double tt_get(const pictor_tensor *t, const int64_t *idx)
{
    int64_t off = 0;
    float v;

    for (int d = 0; d < t->ndim; d++)
        off += idx[d] * t->stride[d];
    pictor_row_to_f32(&v, (const char *)t->data +
                              off * (int64_t)pictor_dtype_size(t->dtype),
                      t->dtype, 1, t->scale);
    if (t->row_scale && t->ndim > 0 &&
        (t->dtype == PICTOR_F8_E4M3 || t->dtype == PICTOR_F8_E5M2))
        v *= t->row_scale[idx[0]];
    return v;
}

/* All of t in logical row-major order, as a malloc'd double array. */
static inline double *tt_to_f64(const pictor_tensor *t)
{
    int64_t n = pictor_tensor_numel(t), idx[PICTOR_MAX_DIMS] = { 0 };
    double *out = tt_xmalloc((size_t)n * sizeof(double));

    for (int64_t i = 0; i < n; i++) {
        int64_t rem = i;
        for (int d = t->ndim - 1; d >= 0; d--) {
            idx[d] = rem % t->shape[d];
            rem /= t->shape[d];
        }
        out[i] = tt_get(t, idx);
    }
    return out;
}

/* ||got - ref|| / ||ref|| with got read from a tensor of any layout. */
static inline double tt_rel_l2(const pictor_tensor *got, const double *ref)
{
    int64_t n = pictor_tensor_numel(got);
    double *g = tt_to_f64(got), num = 0, den = 0;

    for (int64_t i = 0; i < n; i++) {
        double d = g[i] - ref[i];
        num += d * d;
        den += ref[i] * ref[i];
    }
    free(g);
    if (isnan(num))
        return NAN;
    return den == 0 ? (num == 0 ? 0 : INFINITY) : sqrt(num / den);
}

/* Max |got - ref| (NaN if any NaN). */
static inline double tt_max_abs(const pictor_tensor *got, const double *ref)
{
    int64_t n = pictor_tensor_numel(got);
    double *g = tt_to_f64(got), m = 0;

    for (int64_t i = 0; i < n; i++) {
        double d = fabs(g[i] - ref[i]);
        if (isnan(d)) {
            m = NAN;
            break;
        }
        m = d > m ? d : m;
    }
    free(g);
    return m;
}

/* Storage of shape `store` with a permuted view: view.shape[i] =
 * store[perm[i]]. Free the storage with tt_free on the returned view. */
static inline pictor_tensor tt_rand_permuted(int dtype, int ndim,
                                             const int64_t *store,
                                             const int *perm, uint64_t seed)
{
    pictor_tensor s = tt_rand(dtype, ndim, store, seed);

    return pictor_tensor_permute(&s, perm);
}

/* Uninitialised (NaN-filled for f32) contiguous output. */
static inline pictor_tensor tt_out(int dtype, int ndim, const int64_t *shape)
{
    int64_t n = tt_numel(ndim, shape);
    pictor_tensor t = tt_make(dtype, ndim, shape, NULL, 1, 1.0f);

    if (dtype == PICTOR_F32)
        for (int64_t i = 0; i < n; i++)
            ((float *)t.data)[i] = NAN;
    return t;
}

#endif /* PICTOR_OPS_TEST_UTIL_H */
