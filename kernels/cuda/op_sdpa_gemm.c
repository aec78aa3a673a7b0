/*
 * kernels/cuda/op_sdpa_gemm.c — attention as two GEMMs around the softmax
 * kernel, for the calls neither cuDNN nor the flash kernel take and the
 * SIMT kernel would be slow on (the VAE mid-block: one head of 512
 * channels over 16384 tokens at 1024x1024; rules in op_sdpa_internal.h):
 *   S = scale * q k^T   (cuBLASLt, f32 output, f32 accumulation)
 *   P = softmax(S)      (softmax kernel, rounded into v's dtype)
 *   o = P v             (cuBLASLt)
 * over chunks of query rows so that S and P stay within
 * CUDA_SDPA_GEMM_BUDGET. Numerics: as the flash kernels, P is rounded to
 * 16 bits before the second product for bf16/f16 inputs; f32 stays f32.
 * Built only with CUDA (PICTOR_HAVE_CUDA).
 */
#ifdef PICTOR_HAVE_CUDA
#include <string.h>

#include "cuda_libs.h"
#include "op_sdpa_internal.h"
#include "pictor/tensor_util.h"

/* A contiguous [B, H, rows, Lk] tensor of dtype over device memory p. */
static pictor_tensor scores(void *p, int dtype, const pictor_tensor *q, int64_t rows,
                            int64_t Lk)
{
    pictor_tensor t = pictor_tensor_make(p, dtype, 4,
                                         (int64_t[]){ q->shape[0], q->shape[1], rows, Lk });

    t.device = q->device;
    t.device_index = q->device_index;
    return t;
}

int cuda_sdpa_gemm(struct cuda_ctx *ctx, const struct pictor_op_args *a, char *err,
                   size_t errlen)
{
    const pictor_tensor *q = a->u.sdpa.q, *k = a->u.sdpa.k, *v = a->u.sdpa.v;
    const int64_t Lq = q->shape[2], Lk = k->shape[2];
    const int64_t chunk = cuda_sdpa_gemm_chunk(a, CUDA_SDPA_GEMM_BUDGET);
    const int pdt = v->dtype; /* P's dtype: the second GEMM's operand */
    const bool p_in_s = pdt == PICTOR_F32;
    pictor_tensor s_full = scores(NULL, PICTOR_F32, q, chunk, Lk);
    pictor_tensor kt = pictor_tensor_transpose(k, 2, 3); /* [B, H, D, Lk] */
    void *sbuf = NULL, *pbuf = NULL;
    int rc;

    if ((rc = cuda_scratch_alloc(ctx, pictor_tensor_nbytes(&s_full), "sdpa scores", &sbuf, err,
                                 errlen)))
        return rc;
    if (!p_in_s) {
        pictor_tensor p_full = scores(NULL, pdt, q, chunk, Lk);

        if ((rc = cuda_scratch_alloc(ctx, pictor_tensor_nbytes(&p_full), "sdpa probabilities",
                                     &pbuf, err, errlen)))
            goto out;
    }
    for (int64_t q0 = 0; q0 < Lq && !rc; q0 += chunk) {
        int64_t n = Lq - q0 < chunk ? Lq - q0 : chunk;
        pictor_tensor qc = pictor_tensor_slice(q, 2, q0, n);
        pictor_tensor oc = pictor_tensor_slice(a->u.sdpa.o, 2, q0, n);
        pictor_tensor s = scores(sbuf, PICTOR_F32, q, n, Lk);
        pictor_tensor p = p_in_s ? s : scores(pbuf, pdt, q, n, Lk);
        struct pictor_op_args m1 = { .op = PICTOR_OP_MATMUL }, sm = { .op = PICTOR_OP_SOFTMAX };
        struct pictor_op_args m2 = { .op = PICTOR_OP_MATMUL };

        m1.u.matmul.a = &qc;
        m1.u.matmul.b = &kt;
        m1.u.matmul.alpha = a->u.sdpa.scale;
        m1.u.matmul.c = &s;
        sm.u.softmax.x = &s;
        sm.u.softmax.y = &p;
        m2.u.matmul.a = &p;
        m2.u.matmul.b = v;
        m2.u.matmul.alpha = 1.0f;
        m2.u.matmul.c = &oc;
        if (!(rc = cuda_op_matmul(ctx, &m1, err, errlen)) &&
            !(rc = cuda_op_softmax(ctx, &sm, err, errlen)))
            rc = cuda_op_matmul(ctx, &m2, err, errlen);
    }
out:
    cuda_scratch_free(ctx, pbuf); /* stream-ordered: after the kernels */
    cuda_scratch_free(ctx, sbuf);
    return rc;
}

#endif /* PICTOR_HAVE_CUDA */
