/*
 * kernels/cuda/op_sdpa_route.c — the CUDA backend's sdpa slot: picks
 * cuDNN's fused SDPA, the tensor-core flash kernel, the GEMM route
 * (op_sdpa_gemm.c) or the SIMT kernel per call (rules in op_sdpa_internal.h), stages q/k/v the flash kernel cannot
 * read in place, and counts which path ran (pictor_cuda_stats).
 * Built only with CUDA (PICTOR_HAVE_CUDA).
 */
#ifdef PICTOR_HAVE_CUDA
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cuda_libs.h"
#include "op_sdpa_internal.h"
#include "pictor/tensor_util.h"

void cuda_sdpa_init(struct cuda_ctx *ctx)
{
    const char *env = getenv("PICTOR_SDPA");
    enum cuda_sdpa_force force;

    memset(&ctx->sdpa, 0, sizeof ctx->sdpa);
    /* An unknown value means auto; the description says so. */
    if (!cuda_sdpa_parse_force(env, &force))
        snprintf(ctx->sdpa.note, sizeof ctx->sdpa.note,
                 "PICTOR_SDPA=%.64s is not auto, cudnn or flash: auto", env);
    ctx->sdpa.force = force;
}

void cuda_sdpa_release(struct cuda_ctx *ctx)
{
    cuda_sdpa_dnn_release(ctx);
}

bool cuda_sdpa_supports(const struct pictor_op_args *a)
{
    return cuda_sdpa_kernels_support(a, NULL, 0);
}

/* A contiguous copy of t in stream-ordered scratch (*buf, freed by the
 * caller with cuda_scratch_free). */
static int stage(struct cuda_ctx *ctx, const pictor_tensor *t, pictor_tensor *out, void **buf,
                 char *err, size_t errlen)
{
    struct pictor_op_args c;
    int rc;

    *out = pictor_tensor_make(NULL, t->dtype, 4, t->shape);
    rc = cuda_scratch_alloc(ctx, pictor_tensor_nbytes(out), "sdpa operand", buf, err, errlen);
    if (rc)
        return rc;
    out->data = *buf;
    out->device = t->device;
    out->device_index = t->device_index;
    memset(&c, 0, sizeof c);
    c.op = PICTOR_OP_COPY;
    c.u.copy.src = t;
    c.u.copy.dst = out;
    return cuda_op_copy(ctx, &c, err, errlen);
}

/* The tensor-core kernel, q/k/v staged where their layout needs it. */
static int run_flash(struct cuda_ctx *ctx, const struct pictor_op_args *a, char *err,
                     size_t errlen)
{
    const pictor_tensor *in[3] = { a->u.sdpa.q, a->u.sdpa.k, a->u.sdpa.v }, *use[3];
    pictor_tensor staged[3];
    void *buf[3] = { NULL, NULL, NULL };
    int rc = PICTOR_OK;

    memcpy(use, in, sizeof use);
    for (int i = 0; i < 3 && !rc; i++) {
        if (cuda_sdpa_flash_layout_ok(in[i]))
            continue;
        rc = stage(ctx, in[i], &staged[i], &buf[i], err, errlen);
        use[i] = &staged[i];
        ctx->libs->stats.sdpa_staged++;
    }
    if (!rc)
        rc = cuda_sdpa_flash(ctx, a, use[0], use[1], use[2], err, errlen);
    if (!rc)
        ctx->libs->stats.sdpa_flash++;
    for (int i = 0; i < 3; i++)
        cuda_scratch_free(ctx, buf[i]); /* stream-ordered: after the kernel */
    return rc;
}

/* cuDNN for an eligible call: PICTOR_OK when it ran; otherwise an error
 * in err (the caller falls back unless cuDNN is forced). */
static int run_cudnn(struct cuda_ctx *ctx, const struct pictor_op_args *a, char *err,
                     size_t errlen)
{
    int rc = cuda_sdpa_dnn_probe(ctx, err, errlen);

    if (!rc)
        rc = cuda_sdpa_dnn_run(ctx, a, err, errlen);
    if (!rc)
        ctx->libs->stats.sdpa_cudnn++;
    return rc;
}

int cuda_op_sdpa(void *vctx, const struct pictor_op_args *a, char *err, size_t errlen)
{
    struct cuda_ctx *ctx = vctx;
    char why[256];
    int rc;

    if (pictor_tensor_numel(a->u.sdpa.o) == 0)
        return PICTOR_OK;
    if (!cuda_sdpa_kernels_support(a, why, sizeof why)) {
        snprintf(err, errlen, "sdpa: %s", why);
        return PICTOR_E_UNSUPPORTED;
    }
    ctx->libs->stats.sdpa_calls++;
    if (ctx->sdpa.force != CUDA_SDPA_FORCE_FLASH && cuda_sdpa_dnn_eligible(a, NULL, 0)) {
        rc = run_cudnn(ctx, a, err, errlen);
        if (!rc)
            return PICTOR_OK;
        if (ctx->sdpa.force == CUDA_SDPA_FORCE_CUDNN)
            return rc; /* err: the probe's or the plan's reason */
        /* auto: the own kernels take over; keep why for the description
         * (the probe's own verdict stays in the note). */
        if (ctx->sdpa.dnn > 0)
            snprintf(ctx->sdpa.note, sizeof ctx->sdpa.note, "latest cuDNN SDPA fallback: %.200s",
                     err);
        err[0] = '\0';
    }
    if (cuda_sdpa_flash_eligible(a))
        return run_flash(ctx, a, err, errlen);
    if (cuda_sdpa_gemm_eligible(a)) {
        rc = cuda_sdpa_gemm(ctx, a, err, errlen);
        if (!rc)
            ctx->libs->stats.sdpa_gemm++;
        return rc;
    }
    rc = cuda_sdpa_generic(ctx, a, err, errlen);
    if (!rc)
        ctx->libs->stats.sdpa_generic++;
    return rc;
}

#endif /* PICTOR_HAVE_CUDA */
