/*
 * kernels/cuda/op_sdpa_select.c — which path an sdpa call can take on the
 * CUDA backend (op_sdpa_internal.h). Pure C on tensor descriptors, no CUDA:
 * built in every configuration and unit-tested on the CPU.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "op_sdpa_internal.h"
#include "pictor/tensor_util.h"

/* Grid dims y and z (heads, batch) are at most 65535 (CUDA limit). */
#define GRID_YZ_MAX 65535

#define SAY(...)                                                                         \
    do {                                                                                 \
        if (why && whylen)                                                               \
            snprintf(why, whylen, __VA_ARGS__);                                          \
    } while (0)

static bool is_fp8(int dtype)
{
    return dtype == PICTOR_F8_E4M3 || dtype == PICTOR_F8_E5M2;
}

static bool is_half(int dtype)
{
    return dtype == PICTOR_BF16 || dtype == PICTOR_F16;
}

bool cuda_sdpa_parse_force(const char *s, enum cuda_sdpa_force *out)
{
    *out = CUDA_SDPA_FORCE_AUTO;
    if (!s || !s[0] || strcmp(s, "auto") == 0)
        return true;
    if (strcmp(s, "cudnn") == 0) {
        *out = CUDA_SDPA_FORCE_CUDNN;
        return true;
    }
    if (strcmp(s, "flash") == 0) {
        *out = CUDA_SDPA_FORCE_FLASH;
        return true;
    }
    return false;
}

bool cuda_sdpa_kernels_support(const struct pictor_op_args *a, char *why, size_t whylen)
{
    const pictor_tensor *q = a->u.sdpa.q, *v = a->u.sdpa.v, *m = a->u.sdpa.mask;

    if (q->shape[3] > CUDA_SDPA_MAX_HEAD_DIM || v->shape[3] > CUDA_SDPA_MAX_HEAD_DIM) {
        SAY("head dims q/k %lld, v %lld: the CUDA kernels take at most %d",
            (long long)q->shape[3], (long long)v->shape[3], CUDA_SDPA_MAX_HEAD_DIM);
        return false;
    }
    if (q->shape[0] > GRID_YZ_MAX || q->shape[1] > GRID_YZ_MAX) {
        SAY("batch %lld x heads %lld: at most %d each on CUDA", (long long)q->shape[0],
            (long long)q->shape[1], GRID_YZ_MAX);
        return false;
    }
    if (m && is_fp8(m->dtype) && m->row_scale) {
        SAY("an FP8 mask with per-row scales is not supported on CUDA");
        return false;
    }
    return true;
}

bool cuda_sdpa_flash_eligible(const struct pictor_op_args *a)
{
    const pictor_tensor *q = a->u.sdpa.q, *k = a->u.sdpa.k, *v = a->u.sdpa.v;
    int64_t D = q->shape[3];

    /* Lk == 0 (zeros out) is left to the SIMT kernel: nothing to stage. */
    return is_half(q->dtype) && k->dtype == q->dtype && v->dtype == q->dtype &&
           v->shape[3] == D && (D == 64 || D == 128) && k->shape[2] > 0 &&
           cuda_sdpa_kernels_support(a, NULL, 0);
}

/* Whether t's base and the strides of its dims longer than 1 are multiples
 * of CUDA_SDPA_ALIGN_BYTES, with a unit last stride. */
static bool rows_aligned(const pictor_tensor *t)
{
    int64_t es = (int64_t)pictor_dtype_size(t->dtype);

    if (t->ndim != 4 || (t->shape[3] > 1 && t->stride[3] != 1))
        return false;
    if ((uintptr_t)t->data % CUDA_SDPA_ALIGN_BYTES)
        return false;
    for (int d = 0; d < 3; d++)
        if (t->shape[d] > 1 && (t->stride[d] * es) % CUDA_SDPA_ALIGN_BYTES)
            return false;
    return true;
}

bool cuda_sdpa_flash_layout_ok(const pictor_tensor *t)
{
    return rows_aligned(t);
}

/* One cuDNN operand: the layout rules of cuda_sdpa_dnn_eligible. */
static bool dnn_operand_ok(const char *name, const pictor_tensor *t, int dtype, char *why,
                           size_t whylen)
{
    if (t->dtype != dtype) {
        SAY("%s is %s, q is %s", name, pictor_dtype_name(t->dtype), pictor_dtype_name(dtype));
        return false;
    }
    if (!rows_aligned(t)) {
        SAY("%s is not 16-byte aligned with a unit last stride", name);
        return false;
    }
    for (int d = 0; d < 3; d++) {
        if (t->shape[d] > 1 && t->stride[d] <= 0) {
            SAY("%s has stride %lld on dim %d", name, (long long)t->stride[d], d);
            return false;
        }
    }
    return true;
}

bool cuda_sdpa_dnn_eligible(const struct pictor_op_args *a, char *why, size_t whylen)
{
    const pictor_tensor *q = a->u.sdpa.q, *k = a->u.sdpa.k, *v = a->u.sdpa.v;
    const pictor_tensor *o = a->u.sdpa.o;
    int64_t D = q->shape[3];

    if (a->u.sdpa.mask) {
        SAY("a mask (cuDNN %d's unified SDPA takes none)", CUDA_SDPA_DNN_MIN_VERSION);
        return false;
    }
    if (a->u.sdpa.causal) {
        SAY("causal (needs cuDNN 9.21's bounds on the unified SDPA op)");
        return false;
    }
    if (!is_half(q->dtype)) {
        SAY("q is %s (cuDNN's fused SDPA takes bf16/f16)", pictor_dtype_name(q->dtype));
        return false;
    }
    if (v->shape[3] != D || D % CUDA_SDPA_DNN_HEAD_DIM_MULTIPLE ||
        D > CUDA_SDPA_DNN_MAX_HEAD_DIM) {
        SAY("head dims %lld/%lld (cuDNN: equal, a multiple of %d, at most %d)", (long long)D,
            (long long)v->shape[3], CUDA_SDPA_DNN_HEAD_DIM_MULTIPLE,
            CUDA_SDPA_DNN_MAX_HEAD_DIM);
        return false;
    }
    if (q->shape[2] < 1 || k->shape[2] < 1) {
        SAY("an empty sequence (Lq %lld, Lk %lld)", (long long)q->shape[2],
            (long long)k->shape[2]);
        return false;
    }
    return dnn_operand_ok("q", q, q->dtype, why, whylen) &&
           dnn_operand_ok("k", k, q->dtype, why, whylen) &&
           dnn_operand_ok("v", v, q->dtype, why, whylen) &&
           dnn_operand_ok("o", o, q->dtype, why, whylen);
}

void cuda_sdpa_norm_strides(const pictor_tensor *t, int64_t out[4])
{
    for (int d = 3; d >= 0; d--) {
        if (t->shape[d] != 1)
            out[d] = t->stride[d];
        else
            out[d] = d == 3 ? 1 : t->shape[d + 1] * out[d + 1];
    }
}

void cuda_sdpa_dnn_key_of(const struct pictor_op_args *a, struct cuda_sdpa_dnn_key *key)
{
    const pictor_tensor *q = a->u.sdpa.q;

    memset(key, 0, sizeof *key);
    key->dtype = q->dtype;
    key->B = q->shape[0];
    key->H = q->shape[1];
    key->Lq = q->shape[2];
    key->Lk = a->u.sdpa.k->shape[2];
    key->D = q->shape[3];
    cuda_sdpa_norm_strides(q, key->qs);
    cuda_sdpa_norm_strides(a->u.sdpa.k, key->ks);
    cuda_sdpa_norm_strides(a->u.sdpa.v, key->vs);
    cuda_sdpa_norm_strides(a->u.sdpa.o, key->os);
}

/* The probe's shape (op_sdpa_internal.h). */
#define PROBE_L 128
#define PROBE_D 128

void cuda_sdpa_dnn_probe_key(struct cuda_sdpa_dnn_key *key)
{
    int64_t shape[4] = { 1, 1, PROBE_L, PROBE_D };
    pictor_tensor t = pictor_tensor_make(NULL, PICTOR_BF16, 4, shape);

    memset(key, 0, sizeof *key);
    key->dtype = PICTOR_BF16;
    key->B = 1;
    key->H = 1;
    key->Lq = PROBE_L;
    key->Lk = PROBE_L;
    key->D = PROBE_D;
    cuda_sdpa_norm_strides(&t, key->qs);
    memcpy(key->ks, key->qs, sizeof key->ks);
    memcpy(key->vs, key->qs, sizeof key->vs);
    memcpy(key->os, key->qs, sizeof key->os);
}

bool cuda_sdpa_gemm_eligible(const struct pictor_op_args *a)
{
    const pictor_tensor *q = a->u.sdpa.q, *k = a->u.sdpa.k, *v = a->u.sdpa.v, *o = a->u.sdpa.o;
    int dt = q->dtype;

    return !a->u.sdpa.mask && !a->u.sdpa.causal &&
           (dt == PICTOR_F32 || dt == PICTOR_F16 || dt == PICTOR_BF16) && k->dtype == dt &&
           v->dtype == dt && o->dtype == dt && k->shape[2] >= CUDA_SDPA_GEMM_MIN_KEYS;
}

int64_t cuda_sdpa_gemm_chunk(const struct pictor_op_args *a, size_t budget)
{
    const pictor_tensor *q = a->u.sdpa.q, *k = a->u.sdpa.k;
    uint64_t per_row = (uint64_t)q->shape[0] * (uint64_t)q->shape[1] * (uint64_t)k->shape[2] *
                       (4 + pictor_dtype_size(a->u.sdpa.v->dtype));
    int64_t rows = per_row ? (int64_t)(budget / per_row) : q->shape[2];

    if (rows > q->shape[2])
        rows = q->shape[2];
    if (rows > 64)
        rows -= rows % 64;
    return rows < 1 ? 1 : rows;
}
