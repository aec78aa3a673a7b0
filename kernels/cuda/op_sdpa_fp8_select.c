/*
 * kernels/cuda/op_sdpa_fp8_select.c — which FP8 attention calls cuDNN's
 * FP8 SDPA graph can express, and their plan keys (op_sdpa_fp8.h). Pure C
 * on tensor descriptors, no CUDA: built in every configuration and
 * unit-tested on the CPU (tests/unit/test_sdpa_fp8_dnn_plan.c).
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "op_sdpa_fp8.h"
#include "op_sdpa_internal.h"
#include "pictor/tensor_util.h"

#define SAY(...)                                                                         \
    do {                                                                                 \
        if (why && whylen)                                                               \
            snprintf(why, whylen, __VA_ARGS__);                                          \
    } while (0)

/* The probe's shape (op_sdpa_fp8.h): FLUX's head dim, one small tile. */
#define PROBE_L 128
#define PROBE_D 128

static bool is_float(int dtype)
{
    return dtype == PICTOR_F32 || dtype == PICTOR_F16 || dtype == PICTOR_BF16;
}

/* q or k: E4M3 codes with strides cuDNN can be told (16-byte multiples on
 * every dim longer than 1, unit head dim). */
static bool qk_ok(const char *name, const pictor_tensor *t, char *why, size_t whylen)
{
    if (t->dtype != PICTOR_F8_E4M3 || t->row_scale) {
        SAY("%s must be f8_e4m3 with a per-tensor scale only", name);
        return false;
    }
    if (t->stride[3] != 1) {
        SAY("%s's head dim stride is %lld, cuDNN needs 1", name, (long long)t->stride[3]);
        return false;
    }
    for (int d = 0; d < 3; d++) {
        if (t->shape[d] > 1 && (t->stride[d] <= 0 || t->stride[d] % CUDA_SDPA_FP8_ALIGN)) {
            SAY("%s's stride %lld along dim %d is not a positive multiple of %d bytes", name,
                (long long)t->stride[d], d, CUDA_SDPA_FP8_ALIGN);
            return false;
        }
    }
    return true;
}

/* v or o: float, read or written by the own kernels one head row at a time. */
static bool vo_ok(const char *name, const pictor_tensor *t, char *why, size_t whylen)
{
    if (!is_float(t->dtype)) {
        SAY("%s must be f32, f16 or bf16", name);
        return false;
    }
    if (t->stride[3] != 1) {
        SAY("%s's head dim stride is %lld, the kernels need 1", name, (long long)t->stride[3]);
        return false;
    }
    return true;
}

bool cuda_sdpa_fp8_eligible(const struct pictor_op_args *a, char *why, size_t whylen)
{
    const pictor_tensor *q = a->u.sdpa_fp8.q, *k = a->u.sdpa_fp8.k, *v = a->u.sdpa_fp8.v;
    const pictor_tensor *o = a->u.sdpa_fp8.o;
    int64_t D;

    if (q->ndim != 4 || k->ndim != 4 || v->ndim != 4 || o->ndim != 4) {
        SAY("q, k, v and o must be 4-D [B, H, L, D]");
        return false;
    }
    D = q->shape[3];
    if (D <= 0 || D % CUDA_SDPA_FP8_HEAD_DIM_MULTIPLE || D > CUDA_SDPA_FP8_MAX_HEAD_DIM) {
        SAY("head dim %lld: cuDNN's FP8 attention needs a multiple of %d up to %d",
            (long long)D, CUDA_SDPA_FP8_HEAD_DIM_MULTIPLE, CUDA_SDPA_FP8_MAX_HEAD_DIM);
        return false;
    }
    if (k->shape[3] != D || v->shape[3] != D || o->shape[3] != D) {
        SAY("k, v and o must have q's head dim %lld", (long long)D);
        return false;
    }
    return qk_ok("q", q, why, whylen) && qk_ok("k", k, why, whylen) &&
           vo_ok("v", v, why, whylen) && vo_ok("o", o, why, whylen);
}

void cuda_sdpa_fp8_key_of(const struct pictor_op_args *a, struct cuda_sdpa_fp8_key *key)
{
    const pictor_tensor *q = a->u.sdpa_fp8.q, *k = a->u.sdpa_fp8.k;

    memset(key, 0, sizeof *key);
    key->B = q->shape[0];
    key->H = q->shape[1];
    key->Lq = q->shape[2];
    key->Lk = k->shape[2];
    key->D = q->shape[3];
    cuda_sdpa_norm_strides(q, key->qs);
    cuda_sdpa_norm_strides(k, key->ks);
}

void cuda_sdpa_fp8_key_contig(int64_t B, int64_t H, int64_t Lq, int64_t Lk, int64_t D,
                              struct cuda_sdpa_fp8_key *key)
{
    pictor_tensor q = pictor_tensor_make(NULL, PICTOR_F8_E4M3, 4, (int64_t[]){ B, H, Lq, D });
    pictor_tensor k = pictor_tensor_make(NULL, PICTOR_F8_E4M3, 4, (int64_t[]){ B, H, Lk, D });

    memset(key, 0, sizeof *key);
    key->B = B;
    key->H = H;
    key->Lq = Lq;
    key->Lk = Lk;
    key->D = D;
    cuda_sdpa_norm_strides(&q, key->qs);
    cuda_sdpa_norm_strides(&k, key->ks);
}

void cuda_sdpa_fp8_probe_key(struct cuda_sdpa_fp8_key *key)
{
    cuda_sdpa_fp8_key_contig(1, 1, PROBE_L, PROBE_L, PROBE_D, key);
}

bool cuda_sdpa_fp8_base_aligned(const pictor_tensor *t)
{
    return (uintptr_t)t->data % CUDA_SDPA_FP8_ALIGN == 0;
}

bool cuda_sdpa_fp8_sm_ok(int sm)
{
    return sm == CUDA_SDPA_FP8_SM_HOPPER || sm == CUDA_SDPA_FP8_SM_BLACKWELL;
}
